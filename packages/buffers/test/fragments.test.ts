/**
 * Scatter-gather fragments: iteration, copy-out, mayPull and linearize work
 * on any split of the same bytes and agree with the flat array.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { LengthExceeded, MAX_FRAGMENTS, OutOfRange, PacketBuffer, SharedBytes, TooManyFragments } from "@netstack/buffers"

/** A buffer holding `bytes`: the first `linear` in the linear area, the rest split at `cuts`. */
const split = (bytes: Uint8Array, linear: number, cuts: ReadonlyArray<number>): PacketBuffer => {
  const head = Math.min(linear, bytes.length)
  const buffer = PacketBuffer.fromBytes(bytes.subarray(0, head), 4, 0)
  const points = [...new Set(cuts.map((c) => head + (c % (bytes.length - head + 1))))].sort((a, b) => a - b)
  let from = head
  for (const p of [...points, bytes.length]) {
    if (p > from) buffer.addFragmentBytes(bytes.slice(from, p))
    from = Math.max(from, p)
  }
  return buffer
}

const splitArb = fc
  .record({
    bytes: fc.integer({ min: 0, max: 200 }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
    linear: fc.integer({ min: 0, max: 60 }),
    cuts: fc.array(fc.nat(), { maxLength: 8 })
  })
  .map(({ bytes, cuts, linear }) => ({ bytes, buffer: split(bytes, linear, cuts) }))

describe("fragments", () => {
  it("segments, copyOut and toUint8Array see the bytes in order", () => {
    fc.assert(
      fc.property(splitArb, fc.nat(), fc.nat(), ({ buffer, bytes }, a, b) => {
        expect(buffer.length).toBe(bytes.length)
        const joined = [...buffer.segments()].flatMap((s) => [...s])
        expect(joined).toEqual([...bytes])
        const offset = a % (bytes.length + 1)
        const length = b % (bytes.length - offset + 1)
        const out = new Uint8Array(length + 2)
        expect(buffer.copyOut(offset, length, out, 1)).toBeUndefined()
        expect([...out.subarray(1, 1 + length)]).toEqual([...bytes.subarray(offset, offset + length)])
        expect(buffer.copyOut(offset, bytes.length - offset + 1, new Uint8Array(500))).toBeInstanceOf(LengthExceeded)
        expect(buffer.copyOut(0, 3, new Uint8Array(2))).toBeInstanceOf(OutOfRange)
      })
    )
  })

  it("mayPull makes the first n bytes linear and keeps the packet bytes", () => {
    fc.assert(
      fc.property(splitArb, fc.nat(), ({ buffer, bytes }, k) => {
        const n = k % (bytes.length + 1)
        expect(buffer.mayPull(n)).toBeUndefined()
        expect(buffer.headLength).toBeGreaterThanOrEqual(n)
        expect([...buffer.bytes.subarray(buffer.data, buffer.data + n)]).toEqual([...bytes.subarray(0, n)])
        expect([...buffer.toUint8Array()]).toEqual([...bytes])
        expect(buffer.mayPull(bytes.length + 1)).toBeInstanceOf(LengthExceeded)
      })
    )
  })

  it("linearize moves every fragment byte into the linear area, keeping headroom", () => {
    fc.assert(
      fc.property(splitArb, ({ buffer, bytes }) => {
        const headroom = buffer.headroom
        expect(buffer.linearize()).toBeUndefined()
        expect(buffer.isLinear).toBe(true)
        expect(buffer.headroom).toBe(headroom)
        expect([...buffer.bytes.subarray(buffer.data, buffer.tail)]).toEqual([...bytes])
      })
    )
  })

  it("pull and trim cut through fragments", () => {
    fc.assert(
      fc.property(splitArb, fc.nat(), fc.nat(), ({ buffer, bytes }, a, b) => {
        const pulled = a % (bytes.length + 1)
        expect(buffer.pull(pulled)).toBeUndefined()
        const kept = b % (bytes.length - pulled + 1)
        expect(buffer.trim(kept)).toBeUndefined()
        expect([...buffer.toUint8Array()]).toEqual([...bytes.subarray(pulled, pulled + kept)])
        expect(buffer.fragments.every((f) => f.length > 0)).toBe(true)
      })
    )
  })

  it("holds at most MAX_FRAGMENTS fragments and releases each page it drops", () => {
    const buffer = PacketBuffer.alloc(0)
    const pages = Array.from({ length: MAX_FRAGMENTS }, () => new SharedBytes(new Uint8Array(4)))
    for (const p of pages) expect(buffer.addFragment(p, 0, 4)).toBeUndefined()
    expect(buffer.addFragmentBytes(new Uint8Array(1))).toBeInstanceOf(TooManyFragments)
    expect(buffer.addFragment(pages[0], 2, 3)).toBeInstanceOf(OutOfRange)
    expect(pages.every((p) => p.refs === 2)).toBe(true)
    buffer.trim(6)
    expect(pages.map((p) => p.refs).slice(0, 3)).toEqual([2, 2, 1])
    buffer.pull(5)
    expect(pages[0].refs).toBe(1)
    expect(pages[1].refs).toBe(2)
    buffer.release()
    expect(pages.every((p) => p.refs === 1)).toBe(true)
  })
})
