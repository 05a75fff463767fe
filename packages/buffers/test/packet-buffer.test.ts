/**
 * Model-based properties of `PacketBuffer`: any sequence of operations keeps
 * head ≤ data ≤ tail ≤ end, matches a plain-array reference model byte for
 * byte, and an operation the model refuses returns a typed error and changes
 * nothing.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import {
  BufferReleased,
  HeadroomExceeded,
  InvalidLength,
  LengthExceeded,
  MAX_FRAGMENTS,
  NonLinear,
  NotEmpty,
  OutOfRange,
  PacketBuffer,
  TailroomExceeded
} from "@netstack/buffers"

/** The reference: the data area as a plain array, two offsets, and fragments as arrays. */
interface Model {
  area: Array<number>
  data: number
  tail: number
  frags: Array<Array<number>>
}

const modelLength = (m: Model): number => m.tail - m.data + m.frags.reduce((n, f) => n + f.length, 0)
const modelBytes = (m: Model): Array<number> => [...m.area.slice(m.data, m.tail), ...m.frags.flat()]

/** Drops the first `n` fragment bytes from the model. */
const consumeModelFragments = (m: Model, n: number): void => {
  let left = n
  while (left > 0) {
    const f = m.frags[0]
    if (f.length <= left) {
      left -= f.length
      m.frags.shift()
    } else {
      m.frags[0] = f.slice(left)
      left = 0
    }
  }
}

/** Moves `n` fragment bytes to the linear tail, growing the area if the tailroom is short. */
const pullModelFragments = (m: Model, n: number): void => {
  const moved = m.frags.flat().slice(0, n)
  if (m.area.length - m.tail < n) m.area.length = m.tail + n
  for (let i = 0; i < n; i++) m.area[m.tail + i] = moved[i]
  m.tail += n
  consumeModelFragments(m, n)
}

type Op =
  | { readonly op: "reserve"; readonly n: number }
  | { readonly op: "push"; readonly n: number; readonly fill: number }
  | { readonly op: "pull"; readonly n: number }
  | { readonly op: "put"; readonly n: number; readonly fill: number }
  | { readonly op: "trim"; readonly n: number }
  | { readonly op: "fragment"; readonly bytes: Uint8Array }
  | { readonly op: "mayPull"; readonly n: number }
  | { readonly op: "linearize" }
  | { readonly op: "write"; readonly offset: number; readonly bytes: Uint8Array }

const count = fc.oneof(fc.integer({ min: 0, max: 80 }), fc.integer({ min: -3, max: 300 }))
const byte = fc.integer({ min: 0, max: 255 })
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant("reserve" as const), n: count }),
  fc.record({ op: fc.constant("push" as const), n: count, fill: byte }),
  fc.record({ op: fc.constant("pull" as const), n: count }),
  fc.record({ op: fc.constant("put" as const), n: count, fill: byte }),
  fc.record({ op: fc.constant("trim" as const), n: count }),
  fc.record({ op: fc.constant("fragment" as const), bytes: fc.uint8Array({ maxLength: 40 }) }),
  fc.record({ op: fc.constant("mayPull" as const), n: count }),
  fc.record({ op: fc.constant("linearize" as const) }),
  fc.record({ op: fc.constant("write" as const), offset: count, bytes: fc.uint8Array({ maxLength: 24 }) })
)

/** What the model says an operation does: `ok` and the model updated, or the error's tag and no change. */
const applyModel = (m: Model, o: Op): string | undefined => {
  const isCount = (n: number) => Number.isInteger(n) && n >= 0
  const length = modelLength(m)
  switch (o.op) {
    case "reserve":
      if (!isCount(o.n)) return "InvalidLength"
      if (length !== 0) return "NotEmpty"
      if (o.n > m.area.length - m.tail) return "TailroomExceeded"
      m.data += o.n
      m.tail += o.n
      return undefined
    case "push":
      if (!isCount(o.n)) return "InvalidLength"
      if (o.n > m.data) return "HeadroomExceeded"
      m.data -= o.n
      for (let i = 0; i < o.n; i++) m.area[m.data + i] = o.fill
      return undefined
    case "pull":
      if (!isCount(o.n)) return "InvalidLength"
      if (o.n > length) return "LengthExceeded"
      if (o.n <= m.tail - m.data) m.data += o.n
      else {
        consumeModelFragments(m, o.n - (m.tail - m.data))
        m.data = m.tail
      }
      return undefined
    case "put":
      if (!isCount(o.n)) return "InvalidLength"
      if (m.frags.length > 0) return "NonLinear"
      if (o.n > m.area.length - m.tail) return "TailroomExceeded"
      for (let i = 0; i < o.n; i++) m.area[m.tail + i] = o.fill
      m.tail += o.n
      return undefined
    case "trim": {
      if (!isCount(o.n)) return "InvalidLength"
      if (o.n > length) return "LengthExceeded"
      const linear = m.tail - m.data
      if (o.n <= linear) {
        m.tail = m.data + o.n
        m.frags = []
      } else {
        const kept = m.frags.flat().slice(0, o.n - linear)
        let at = 0
        const frags: Array<Array<number>> = []
        for (const f of m.frags) {
          if (at >= kept.length) break
          frags.push(kept.slice(at, at + f.length))
          at += f.length
        }
        m.frags = frags
      }
      return undefined
    }
    case "fragment":
      if (o.bytes.length === 0) return undefined
      if (m.frags.length >= MAX_FRAGMENTS) return "TooManyFragments"
      m.frags.push([...o.bytes])
      return undefined
    case "mayPull":
      if (!isCount(o.n)) return "InvalidLength"
      if (o.n <= m.tail - m.data) return undefined
      if (o.n > length) return "LengthExceeded"
      pullModelFragments(m, o.n - (m.tail - m.data))
      return undefined
    case "linearize":
      if (m.frags.length > 0) pullModelFragments(m, length - (m.tail - m.data))
      return undefined
    case "write":
      if (!isCount(o.offset) || o.offset + o.bytes.length > m.tail - m.data) return "OutOfRange"
      for (let i = 0; i < o.bytes.length; i++) m.area[m.data + o.offset + i] = o.bytes[i]
      return undefined
  }
}

/** Runs an operation on the real buffer; returns the error's tag, if any. */
const applyReal = (b: PacketBuffer, o: Op): string | undefined => {
  switch (o.op) {
    case "reserve":
      return b.reserve(o.n)?._tag
    case "push": {
      const err = b.push(o.n)
      if (err !== undefined) return err._tag
      return b.setBytes(0, new Uint8Array(o.n).fill(o.fill))?._tag
    }
    case "pull":
      return b.pull(o.n)?._tag
    case "put": {
      const before = b.headLength
      const err = b.put(o.n)
      if (err !== undefined) return err._tag
      return b.setBytes(before, new Uint8Array(o.n).fill(o.fill))?._tag
    }
    case "trim":
      return b.trim(o.n)?._tag
    case "fragment":
      return b.addFragmentBytes(o.bytes.slice())?._tag
    case "mayPull":
      return b.mayPull(o.n)?._tag
    case "linearize":
      return b.linearize()?._tag
    case "write":
      return b.setBytes(o.offset, o.bytes)?._tag
  }
}

interface Snapshot {
  readonly data: number
  readonly tail: number
  readonly end: number
  readonly length: number
  readonly fragments: number
  readonly bytes: Array<number>
  readonly area: Array<number>
}
const snapshot = (b: PacketBuffer): Snapshot => ({
  data: b.data,
  tail: b.tail,
  end: b.end,
  length: b.length,
  fragments: b.fragments.length,
  bytes: [...b.toUint8Array()],
  area: [...b.bytes]
})

describe("PacketBuffer", () => {
  it("keeps head ≤ data ≤ tail ≤ end and matches the reference model after any operations", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 256 }), fc.array(opArb, { maxLength: 40 }), (size, ops) => {
        const buffer = PacketBuffer.alloc(size)
        const model: Model = { area: new Array<number>(size).fill(0), data: 0, tail: 0, frags: [] }
        for (const o of ops) {
          const before = snapshot(buffer)
          const expected = applyModel(model, o)
          const actual = applyReal(buffer, o)
          expect(actual, JSON.stringify(o)).toBe(expected)
          if (actual !== undefined) expect(snapshot(buffer)).toEqual(before)
          expect(buffer.head).toBe(0)
          expect(buffer.head <= buffer.data && buffer.data <= buffer.tail && buffer.tail <= buffer.end).toBe(true)
          expect(buffer.data).toBe(model.data)
          expect(buffer.tail).toBe(model.tail)
          expect(buffer.end).toBe(model.area.length)
          expect(buffer.length).toBe(modelLength(model))
          expect(buffer.headroom + buffer.headLength + buffer.tailroom).toBe(buffer.end)
          expect([...buffer.toUint8Array()]).toEqual(modelBytes(model))
        }
      })
    )
  })

  it("push then pull restores offsets and bytes", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.integer({ min: 0, max: 64 }),
        fc.integer({ min: 0, max: 64 }),
        (payload, headroom, n) => {
          const buffer = PacketBuffer.fromBytes(payload, headroom)
          const before = snapshot(buffer)
          const pushed = buffer.push(n)
          if (n > headroom) {
            expect(pushed).toBeInstanceOf(HeadroomExceeded)
          } else {
            expect(pushed).toBeUndefined()
            expect(buffer.length).toBe(payload.length + n)
            expect(buffer.pull(n)).toBeUndefined()
          }
          expect(snapshot(buffer)).toEqual(before)
        }
      )
    )
  })

  it("returns each named error for each refused operation", () => {
    const b = PacketBuffer.fromBytes(new Uint8Array(10), 4, 2)
    expect(b.push(5)).toBeInstanceOf(HeadroomExceeded)
    expect(b.put(3)).toBeInstanceOf(TailroomExceeded)
    expect(b.pull(11)).toBeInstanceOf(LengthExceeded)
    expect(b.trim(11)).toBeInstanceOf(LengthExceeded)
    expect(b.push(-1)).toBeInstanceOf(InvalidLength)
    expect(b.push(1.5)).toBeInstanceOf(InvalidLength)
    expect(b.pull(Number.NaN)).toBeInstanceOf(InvalidLength)
    expect(b.reserve(1)).toBeInstanceOf(NotEmpty)
    expect(b.setUint32(8, 1)).toBeInstanceOf(OutOfRange)
    expect(b.addFragmentBytes(new Uint8Array(3))).toBeUndefined()
    expect(b.put(1)).toBeInstanceOf(NonLinear)
    expect(b.release()).toBeUndefined()
    expect(b.release()).toBeInstanceOf(BufferReleased)
    expect(b.push(1)).toBeInstanceOf(BufferReleased)
    expect(b.clone()).toBeInstanceOf(BufferReleased)
    expect(b.copy()).toBeInstanceOf(BufferReleased)
    expect(b.toUint8Array().length).toBe(0)
  })

  it("writes big-endian values relative to data", () => {
    const b = PacketBuffer.alloc(16)
    b.reserve(4)
    b.put(8)
    expect(b.setUint8(0, 0xab)).toBeUndefined()
    expect(b.setUint16(1, 0x1234)).toBeUndefined()
    expect(b.setUint32(3, 0xdeadbeef)).toBeUndefined()
    expect([...b.toUint8Array()]).toEqual([0xab, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0])
    expect(b.bytes[4]).toBe(0xab)
  })

  it("records header offsets from head, so they survive push and pull", () => {
    const b = PacketBuffer.fromBytes(new Uint8Array(40), 14)
    b.resetNetworkHeader()
    b.push(14)
    b.resetMacHeader()
    b.pull(34)
    b.resetTransportHeader()
    expect([b.meta.macHeader, b.meta.networkHeader, b.meta.transportHeader]).toEqual([0, 14, 34])
  })

  it("wraps an array without copying and adopts storage at given offsets", () => {
    const bytes = Uint8Array.of(1, 2, 3, 4)
    const wrapped = PacketBuffer.wrap(bytes)
    expect(wrapped.bytes).toBe(bytes)
    expect([wrapped.data, wrapped.tail, wrapped.length]).toEqual([0, 4, 4])
    const adopted = PacketBuffer.fromStorage(wrapped.sharedStorage, 1, 3)
    expect(adopted).toBeInstanceOf(PacketBuffer)
    expect(PacketBuffer.fromStorage(wrapped.sharedStorage, 3, 5)).toBeInstanceOf(OutOfRange)
  })
})
