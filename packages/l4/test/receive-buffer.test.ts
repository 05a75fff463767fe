/**
 * The receive buffer's parked reader (Linux's `ucopy`): in-order bytes that
 * arrive while a reader waits with its own array go straight into it, the
 * rest behind them in the pages; a reader that gives up waiting gets its
 * bytes put back in front, so the stream stays whole and in order.
 */
import { describe, expect, it } from "@effect/vitest"
import { PacketBuffer } from "@netstack/buffers"
import { propertyRuns } from "@netstack/test-support"
import fc from "fast-check"
import { PageRecycler } from "../src/tcp/page-recycler.ts"
import { ReceiveBuffer } from "../src/tcp/receive-buffer.ts"

const recycler = () => new PageRecycler(64 * 1024)

/** `n` bytes counting up from `from` (mod 256), so order and gaps show. */
const bytesFrom = (from: number, n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff)

/** Everything `buffer` holds, read out with `readInto`. */
const drain = (buffer: ReceiveBuffer): Uint8Array => {
  const out = new Uint8Array(buffer.length)
  expect(buffer.readInto(out)).toBe(out.length)
  return out
}

describe("ReceiveBuffer: a parked reader", () => {
  it("takes in-order bytes straight into the reader's array, and what does not fit into the pages behind it", () => {
    const buffer = new ReceiveBuffer(1 << 20, recycler())
    const target = new Uint8Array(1000)
    expect(buffer.park(target, 100)).toBe(true)
    const packet = PacketBuffer.wrap(bytesFrom(0, 1200))
    buffer.appendPacket(packet, 200, 1000) // stream bytes 200..1199
    expect(buffer.parkedBytes(target, 100)).toBe(900)
    expect(buffer.length).toBe(100) // the 100 that did not fit
    expect(buffer.free).toBe((1 << 20) - 100)
    expect(target.subarray(100)).toEqual(bytesFrom(200, 900))
    // The reader takes its array: the parked bytes count first, then the pages fill what room is left.
    const more = new Uint8Array(1000)
    expect(buffer.readInto(target, 100)).toBe(900)
    expect(buffer.parkedBytes(target, 100)).toBe(0)
    expect(buffer.readInto(more)).toBe(100)
    expect(more.subarray(0, 100)).toEqual(bytesFrom(1100, 100))
  })

  it("parks one reader at a time, and none while unread data waits", () => {
    const buffer = new ReceiveBuffer(1 << 16, recycler())
    const first = new Uint8Array(10)
    expect(buffer.park(first, 0)).toBe(true)
    expect(buffer.park(new Uint8Array(10), 0)).toBe(false)
    buffer.unpark(first, 0)
    buffer.appendBytes(bytesFrom(0, 5))
    expect(buffer.park(new Uint8Array(10), 0)).toBe(false)
    expect(buffer.park(new Uint8Array(10), 10)).toBe(false) // no room at all
  })

  it("puts a parked reader's bytes back in front of later ones when it stops waiting", () => {
    const buffer = new ReceiveBuffer(1 << 20, recycler())
    const target = new Uint8Array(300)
    expect(buffer.park(target, 0)).toBe(true)
    buffer.appendBytes(bytesFrom(0, 250))
    buffer.appendBytes(bytesFrom(250, 100)) // 50 more fit, 50 go to the pages
    expect(buffer.parkedBytes(target, 0)).toBe(300)
    buffer.unpark(new Uint8Array(300), 0) // not the parked array: nothing happens
    expect(buffer.parkedBytes(target, 0)).toBe(300)
    buffer.unpark(target, 0)
    expect(buffer.parkedBytes(target, 0)).toBe(0)
    expect(drain(buffer)).toEqual(bytesFrom(0, 350))
  })

  it("drops the parked bytes with everything else on clear (a reset ends reading)", () => {
    const buffer = new ReceiveBuffer(1 << 16, recycler())
    const target = new Uint8Array(100)
    buffer.park(target, 0)
    buffer.appendBytes(bytesFrom(0, 150))
    buffer.clear()
    expect(buffer.parkedBytes(target, 0)).toBe(0)
    expect(buffer.length).toBe(0)
    buffer.unpark(target, 0)
    expect(buffer.length).toBe(0)
  })

  it("keeps the stream whole and in order whatever the reads, parks and give-ups (property)", () => {
    type Step =
      | { readonly kind: "append"; readonly n: number; readonly viaPacket: boolean }
      | { readonly kind: "park"; readonly size: number; readonly at: number }
      | { readonly kind: "take" }
      | { readonly kind: "giveUp" }
      | { readonly kind: "read"; readonly max: number }
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.record({ kind: fc.constant("append" as const), n: fc.integer({ min: 1, max: 70_000 }), viaPacket: fc.boolean() }),
      fc.record({ kind: fc.constant("park" as const), size: fc.integer({ min: 1, max: 90_000 }), at: fc.integer({ min: 0, max: 100 }) }),
      fc.record({ kind: fc.constant("take" as const) }),
      fc.record({ kind: fc.constant("giveUp" as const) }),
      fc.record({ kind: fc.constant("read" as const), max: fc.integer({ min: 1, max: 100_000 }) })
    )
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const buffer = new ReceiveBuffer(1 << 22, recycler())
        let written = 0
        const received: Array<Uint8Array> = []
        let parked: { readonly target: Uint8Array; readonly at: number } | undefined
        for (const s of steps) {
          if (s.kind === "append") {
            const bytes = bytesFrom(written, s.n)
            if (s.viaPacket) buffer.appendPacket(PacketBuffer.wrap(bytes), 0, s.n)
            else buffer.appendBytes(bytes)
            written += s.n
          } else if (s.kind === "park") {
            if (parked !== undefined) continue
            const target = new Uint8Array(s.size + s.at)
            if (buffer.park(target, s.at)) parked = { target, at: s.at }
          } else if (s.kind === "take" && parked !== undefined) {
            const n = buffer.readInto(parked.target, parked.at)
            received.push(parked.target.slice(parked.at, parked.at + n))
            parked = undefined
          } else if (s.kind === "giveUp" && parked !== undefined) {
            buffer.unpark(parked.target, parked.at)
            parked = undefined
          } else if (s.kind === "read" && parked === undefined) {
            received.push(buffer.read(s.max).slice())
          }
        }
        if (parked !== undefined) buffer.unpark(parked.target, parked.at)
        received.push(drain(buffer))
        const all = new Uint8Array(received.reduce((n, r) => n + r.length, 0))
        let at = 0
        for (const r of received) {
          all.set(r, at)
          at += r.length
        }
        expect(all).toEqual(bytesFrom(0, written))
      }),
      { numRuns: propertyRuns(200) }
    )
  })
})
