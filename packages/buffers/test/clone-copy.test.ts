/**
 * Clones share bytes but never see each other's writes (copy-on-write);
 * their offsets and metadata are their own; copies are fully independent.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { PacketBuffer, SharedBytes } from "@netstack/buffers"

const mustClone = (b: PacketBuffer): PacketBuffer => {
  const c = b.clone()
  if (!(c instanceof PacketBuffer)) throw new Error("clone of a live buffer failed")
  return c
}
const mustCopy = (b: PacketBuffer): PacketBuffer => {
  const c = b.copy()
  if (!(c instanceof PacketBuffer)) throw new Error("copy of a live buffer failed")
  return c
}

/** A write through the API, at an offset relative to data. */
type Write = { readonly side: "original" | "clone"; readonly offset: number; readonly bytes: Uint8Array }

describe("clone", () => {
  it("shares the bytes until a write, and no side ever sees the other's writes", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.array(
          fc.record({
            side: fc.constantFrom("original" as const, "clone" as const),
            offset: fc.integer({ min: 0, max: 63 }),
            bytes: fc.uint8Array({ minLength: 1, maxLength: 8 })
          }),
          { maxLength: 10 }
        ),
        (payload, writes: ReadonlyArray<Write>) => {
          const original = PacketBuffer.fromBytes(payload, 16, 16)
          const clone = mustClone(original)
          expect(clone.bytes).toBe(original.bytes)
          expect(original.isShared && clone.isShared).toBe(true)
          const expected = { original: [...payload], clone: [...payload] }
          for (const w of writes) {
            const target = w.side === "original" ? original : clone
            const err = target.setBytes(w.offset, w.bytes)
            if (w.offset + w.bytes.length <= payload.length) {
              expect(err).toBeUndefined()
              expected[w.side].splice(w.offset, w.bytes.length, ...w.bytes)
            } else {
              expect(err?._tag).toBe("OutOfRange")
            }
            expect([...original.toUint8Array()]).toEqual(expected.original)
            expect([...clone.toUint8Array()]).toEqual(expected.clone)
          }
          const wrote = (side: Write["side"]) =>
            writes.some((w) => w.side === side && w.offset + w.bytes.length <= payload.length)
          // only a write unshares: with no successful write the two still share one area
          expect(original.bytes === clone.bytes).toBe(!wrote("original") && !wrote("clone"))
        }
      )
    )
  })

  it("has offsets and metadata of its own", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 32 }), fc.integer({ min: 0, max: 32 }), (pushN, pullN) => {
        const original = PacketBuffer.fromBytes(new Uint8Array(32), 32, 8)
        original.meta.mark = 7
        const clone = mustClone(original)
        clone.push(pushN)
        original.pull(pullN)
        clone.meta.mark = 9
        clone.meta.priority = 3
        expect(original.data).toBe(32 + pullN)
        expect(clone.data).toBe(32 - pushN)
        expect(original.meta.mark).toBe(7)
        expect(original.meta.priority).toBe(0)
      })
    )
  })

  it("shares fragments by reference and releases them only with the last holder", () => {
    const page = new SharedBytes(Uint8Array.of(1, 2, 3, 4, 5, 6))
    const original = PacketBuffer.alloc(8)
    original.addFragment(page, 1, 4)
    expect(page.refs).toBe(2)
    const clone = mustClone(original)
    expect(page.refs).toBe(3)
    clone.pull(2)
    expect([...clone.toUint8Array()]).toEqual([4, 5])
    expect([...original.toUint8Array()]).toEqual([2, 3, 4, 5])
    original.release()
    expect(page.refs).toBe(2)
    clone.release()
    expect(page.refs).toBe(1)
  })

  it("makeWritable unshares the area only when shared", () => {
    const original = PacketBuffer.fromBytes(Uint8Array.of(1, 2, 3), 2)
    const area = original.bytes
    expect(original.makeWritable()).toBeUndefined()
    expect(original.bytes).toBe(area)
    const clone = mustClone(original)
    clone.makeWritable()
    expect(clone.bytes).not.toBe(area)
    expect(original.isShared || clone.isShared).toBe(false)
    expect([...clone.toUint8Array()]).toEqual([1, 2, 3])
    const writable = original.writableBytes()
    expect(writable).toBe(area)
  })
})

describe("copy", () => {
  it("is fully independent: writes, pulls and releases on one never touch the other", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 16 }), { maxLength: 4 }),
        fc.integer({ min: 0, max: 63 }),
        (linear, fragments, at) => {
          const original = PacketBuffer.fromBytes(linear, 8, 0)
          for (const f of fragments) original.addFragmentBytes(f.slice())
          original.meta.protocol = 0x0800
          const copy = mustCopy(original)
          const expected = [...original.toUint8Array()]
          expect([...copy.toUint8Array()]).toEqual(expected)
          expect([copy.data, copy.tail, copy.end, copy.fragments.length]).toEqual([
            original.data,
            original.tail,
            original.end,
            original.fragments.length
          ])
          expect(copy.meta.protocol).toBe(0x0800)
          expect(copy.isShared).toBe(false)
          copy.fragments.forEach((f, i) => expect(f.storage).not.toBe(original.fragments[i].storage))
          // mutate and release the original every way we can
          original.setUint8(Math.min(at, linear.length - 1), 0xff ^ linear[Math.min(at, linear.length - 1)])
          original.fragments.forEach((f) => f.storage.bytes.fill(0xee))
          original.meta.protocol = 0x86dd
          original.pull(Math.min(at, original.length))
          original.release()
          expect([...copy.toUint8Array()]).toEqual(expected)
          expect(copy.meta.protocol).toBe(0x0800)
        }
      )
    )
  })
})
