/**
 * Page flipping: a frame a sender lends with its memory (the NIC's transmit
 * DMA does, `release` given) reaches a NIC on an in-process medium without a
 * copy. It takes the place of the posted descriptors it would have filled,
 * their buffers are set aside on their descriptors, untouched, to be posted
 * there again, and the sender gets its memory back only once the
 * receiver has released every packet over it. Frames that are not lent, lack
 * the headroom the driver reserves, or find no posted buffer are handled as
 * before (copied, or missed and given back at once).
 */
import { assert, describe, expect, it } from "@effect/vitest"
import { BufferPool, DoubleRelease, LentBytes, PacketBuffer } from "@netstack/buffers"
import { type Impairments, micros, Nic, type NicDevice, RxRing, Wire } from "@netstack/device"
import { propertyRuns } from "@netstack/test-support"
import { Duration, Effect, Random } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"

const HEADROOM = 64

/** A frame of `length` bytes starting `offset` bytes into memory of its own (as the transmit DMA lays frames out). */
const lentFrame = (length: number, seed: number, offset = HEADROOM): Uint8Array => {
  const frame = new Uint8Array(new ArrayBuffer(Math.max(2048, offset + length)), offset, length)
  for (let i = 0; i < length; i++) frame[i] = (i * 7 + seed) & 0xff
  return frame
}

/**
 * Posts up to `count` empty buffers on `ring`, as the driver does: a buffer
 * a flip set aside on the descriptor again, else a new one from `pool` (as
 * many as it has), each with the driver's headroom.
 */
const postFrom = (pool: BufferPool, ring: RxRing, count: number): void => {
  for (let i = 0; i < count; i++) {
    if (ring.repost()) continue
    const buffer = pool.acquire()
    if (!(buffer instanceof PacketBuffer)) return
    buffer.reserve(HEADROOM)
    if (!ring.post(buffer)) {
      buffer.release()
      return
    }
  }
}

/** A NIC on end `b` of a plain wire, `posted` buffers from a pool on its ring. */
const flipBed = (posted: number) =>
  Effect.gen(function*() {
    const wire = yield* Wire.make()
    const nic: NicDevice = yield* Nic.make({ mac: 0x020000000002 })
    nic.attach(wire.b)
    const pool = BufferPool.make({ count: 16, size: 2048 })
    postFrom(pool, nic.rx[0].ring, posted)
    return { wire, nic, pool }
  })

describe("LentBytes", () => {
  it("gives its memory back once, when the last reference goes; a further release is a DoubleRelease", () => {
    let given = 0
    const storage = new LentBytes(new Uint8Array(16), () => given++)
    storage.retain()
    expect(storage.release()).toBeUndefined()
    expect(given).toBe(0)
    expect(storage.release()).toBeUndefined()
    expect(given).toBe(1)
    expect(storage.release()).toBeInstanceOf(DoubleRelease)
    expect(given).toBe(1)
  })
})

describe("RxRing.flip", () => {
  /** A buffer over lent memory holding a `length`-byte frame after `HEADROOM` bytes. */
  const lentPacket = (length: number): PacketBuffer => {
    const frame = lentFrame(length, 1)
    const packet = PacketBuffer.fromStorage(new LentBytes(new Uint8Array(frame.buffer), () => {}), HEADROOM, HEADROOM + length)
    if (!(packet instanceof PacketBuffer)) throw new Error("out of range")
    return packet
  }

  it("puts the frame in the next posted descriptor's place and sets the displaced buffer aside there, untouched, to be posted again", () => {
    const pool = BufferPool.make({ count: 3, size: 2048 })
    const ring = new RxRing(2)
    const first = pool.acquire()
    if (!(first instanceof PacketBuffer)) throw new Error("pool empty")
    first.reserve(HEADROOM)
    ring.post(first)
    postFrom(pool, ring, 1)
    const packet = lentPacket(100)
    expect(ring.flip(packet)).toBeUndefined()
    // Nothing went back to the pool: the displaced buffer waits on its descriptor.
    expect({ posted: ring.posted, done: ring.done, inUse: pool.stats().inUse }).toEqual({ posted: 1, done: 1, inUse: 2 })
    // Not posted again while its descriptor holds the frame.
    expect(ring.repost()).toBe(false)
    expect(ring.take()).toBe(packet)
    expect(ring.repost()).toBe(true)
    expect({ posted: ring.posted, free: ring.free, inUse: pool.stats().inUse }).toEqual({ posted: 2, free: 0, inUse: 2 })
    // The very buffer, as it was posted: headroom reserved, no data.
    expect(ring.drain()[0]).toBe(first)
    expect({ headroom: first.headroom, length: first.length, released: first.isReleased }).toEqual({
      headroom: HEADROOM,
      length: 0,
      released: false
    })
  })

  it("a new buffer posted where one was set aside sends that one back to its pool", () => {
    const pool = BufferPool.make({ count: 2, size: 2048 })
    const ring = new RxRing(1)
    postFrom(pool, ring, 1)
    expect(ring.flip(lentPacket(100))).toBeUndefined()
    ring.take()?.release()
    const fresh = pool.acquire()
    if (!(fresh instanceof PacketBuffer)) throw new Error("pool empty")
    fresh.reserve(HEADROOM)
    expect(ring.post(fresh)).toBe(true)
    expect({ posted: ring.posted, inUse: pool.stats().inUse }).toEqual({ posted: 1, inUse: 1 })
  })

  it("a frame longer than a posted buffer takes the descriptors it would fill, and comes back alone", () => {
    const pool = BufferPool.make({ count: 4, size: 512 })
    const ring = new RxRing(4)
    postFrom(pool, ring, 4)
    // 448 bytes of room per buffer after the headroom: 1000 bytes fill three.
    const packet = lentPacket(1000)
    expect(ring.flip(packet)).toBeUndefined()
    expect({ posted: ring.posted, done: ring.done, inUse: pool.stats().inUse }).toEqual({ posted: 1, done: 3, inUse: 4 })
    expect(ring.take()).toBe(packet)
    expect(packet.fragments).toHaveLength(0)
    expect({ done: ring.done, free: ring.free, multiBuffer: ring.multiBuffer }).toEqual({ done: 0, free: 3, multiBuffer: 0 })
    expect(ring.flip(lentPacket(1000))).toBe("no-descriptor")
    expect(ring.flip(lentPacket(4000))).toBe("too-long")
    expect({ posted: ring.posted, done: ring.done }).toEqual({ posted: 1, done: 0 })
    // The three displaced buffers go back on their descriptors; the pool hands out nothing more.
    postFrom(pool, ring, 3)
    expect({ posted: ring.posted, inUse: pool.stats().inUse, acquired: pool.stats().acquired }).toEqual({ posted: 4, inUse: 4, acquired: 4 })
  })

  it("refuses a frame with less headroom than the posted buffer reserves, and any frame without a posted buffer", () => {
    const pool = BufferPool.make({ count: 1, size: 2048 })
    const ring = new RxRing(2)
    const bare = PacketBuffer.wrap(new Uint8Array(100))
    expect(ring.flip(bare)).toBe("no-descriptor")
    postFrom(pool, ring, 1)
    expect(ring.flip(bare)).toBe("short-headroom")
    expect({ posted: ring.posted, done: ring.done }).toEqual({ posted: 1, done: 0 })
  })
})

describe("NIC receiving lent frames over a wire", () => {
  it.effect("keeps the frame's memory instead of copying it, and gives it back when the packet is released", () =>
    Effect.gen(function*() {
      const { wire, nic, pool } = yield* flipBed(4)
      const frame = lentFrame(200, 3)
      const expected = frame.slice()
      const released: Array<Uint8Array> = []
      wire.a.send(frame, (f) => released.push(f))
      expect(released).toEqual([])
      const packet = nic.rx[0].ring.take()
      if (packet === undefined) throw new Error("nothing received")
      expect(packet.sharedStorage.bytes.buffer).toBe(frame.buffer)
      expect(packet.headroom).toBe(HEADROOM)
      expect(packet.toUint8Array()).toEqual(expected)
      // The displaced posted buffer waits on its descriptor to be posted again; three are still posted.
      expect({ posted: nic.rx[0].ring.posted, inUse: pool.stats().inUse }).toEqual({ posted: 3, inUse: 4 })
      expect(nic.stats()).toMatchObject({ rx_packets: 1, rx_flipped: 1 })
      const clone = packet.clone()
      if (!(clone instanceof PacketBuffer)) throw new Error("clone failed")
      packet.release()
      expect(released).toEqual([])
      clone.release()
      expect(released).toEqual([frame])
    }))

  it.effect("copies frames that are not lent or lack headroom, and gives a missed frame back at once", () =>
    Effect.gen(function*() {
      const { wire, nic } = yield* flipBed(2)
      const released: Array<Uint8Array> = []
      const plain = lentFrame(100, 5)
      wire.a.send(plain)
      const noHeadroom = lentFrame(100, 6, 0)
      wire.a.send(noHeadroom, (f) => released.push(f))
      expect(released).toEqual([noHeadroom])
      const missed = lentFrame(100, 7)
      wire.a.send(missed, (f) => released.push(f))
      expect(released).toEqual([noHeadroom, missed])
      const taken = [nic.rx[0].ring.take(), nic.rx[0].ring.take()]
      for (const [i, sent] of [plain, noHeadroom].entries()) {
        const packet = taken[i]
        if (packet === undefined) throw new Error(`frame ${i} not received`)
        expect(packet.sharedStorage.bytes.buffer).not.toBe(sent.buffer)
        expect(packet.toUint8Array()).toEqual(sent)
      }
      expect(nic.stats()).toMatchObject({ rx_packets: 2, rx_flipped: 0, rx_missed_errors: 1 })
    }))

  it.effect("a corrupted copy travels instead of the lent frame, which goes back at once", () =>
    Effect.gen(function*() {
      const { wire, nic } = yield* flipBed(2)
      wire.setImpairments("aToB", { corrupt: 1 })
      const frame = lentFrame(100, 8)
      const released: Array<Uint8Array> = []
      wire.a.send(frame, (f) => released.push(f))
      expect(released).toEqual([frame])
      const packet = nic.rx[0].ring.take()
      expect(packet?.sharedStorage.bytes.buffer).not.toBe(frame.buffer)
      expect(nic.stats()).toMatchObject({ rx_packets: 1, rx_flipped: 0 })
    }))
})

/** Impairments that change how a frame travels: loss, duplication, corruption, delay, reordering. */
const impairmentsArb: fc.Arbitrary<Impairments> = fc.record(
  {
    loss: fc.double({ min: 0, max: 0.5, noNaN: true }),
    duplicate: fc.double({ min: 0, max: 0.5, noNaN: true }),
    corrupt: fc.double({ min: 0, max: 0.5, noNaN: true }),
    reorder: fc.double({ min: 0, max: 0.5, noNaN: true }),
    delay: fc.integer({ min: 0, max: 2_000 }).map((us) => Duration.micros(BigInt(us)))
  },
  { requiredKeys: [] }
)

/** One step of the property: send a lent frame, let time pass, or let the driver take and free packets. */
type Step =
  | { readonly _tag: "send"; readonly length: number }
  | { readonly _tag: "wait"; readonly micros: number }
  | { readonly _tag: "poll"; readonly clone: boolean }
  | { readonly _tag: "free"; readonly count: number }

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 14, max: 1514 }).map((length) => ({ _tag: "send" as const, length })) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 3_000 }).map((us) => ({ _tag: "wait" as const, micros: us })) },
  { weight: 2, arbitrary: fc.boolean().map((clone) => ({ _tag: "poll" as const, clone })) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 8 }).map((count) => ({ _tag: "free" as const, count })) }
)

describe("lent frame memory under impairments", () => {
  it("every lent frame comes back exactly once, and never while a packet over its memory is held", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 0x7fffffff }),
        impairmentsArb,
        fc.array(stepArb, { maxLength: 120 }),
        async (seed, impairments, steps) => {
          const program = Effect.gen(function*() {
            const { wire, nic, pool } = yield* flipBed(6)
            wire.setImpairments("aToB", impairments)
            const ring = nic.rx[0].ring
            const held: Array<PacketBuffer> = []
            const returns = new Map<ArrayBufferLike, number>()
            const sent: Array<ArrayBufferLike> = []
            const giveBack = (frame: Uint8Array) => {
              const memory = frame.buffer
              assert.isFalse(
                held.some((p) => p.sharedStorage.bytes.buffer === memory),
                "memory given back while a packet over it is held"
              )
              returns.set(memory, (returns.get(memory) ?? 0) + 1)
            }
            const free = (count: number) => {
              for (const packet of held.splice(0, count)) packet.release()
            }
            for (const [i, step] of steps.entries()) {
              if (step._tag === "send") {
                const frame = lentFrame(step.length, i)
                sent.push(frame.buffer)
                wire.a.send(frame, giveBack)
              } else if (step._tag === "wait") {
                yield* TestClock.adjust(micros(step.micros))
              } else if (step._tag === "poll") {
                for (let packet = ring.take(); packet !== undefined; packet = ring.take()) {
                  held.push(packet)
                  // A clone shares the memory: it comes back after the last of the two is released.
                  const clone = step.clone ? packet.clone() : undefined
                  if (clone instanceof PacketBuffer) held.push(clone)
                }
                postFrom(pool, ring, ring.free)
              } else {
                free(step.count)
              }
            }
            yield* TestClock.adjust(micros(3_600_000_000))
            for (let packet = ring.take(); packet !== undefined; packet = ring.take()) held.push(packet)
            free(held.length)
            for (const buffer of ring.drain()) buffer.release()
            for (const memory of sent) assert.strictEqual(returns.get(memory), 1, "a lent frame came back other than once")
            assert.strictEqual(pool.stats().inUse, 0, "a posted buffer was not returned to its pool")
          })
          await Effect.runPromise(program.pipe(Effect.scoped, Random.withSeed(seed), Effect.provide(TestClock.layer())))
        }
      ),
      { numRuns: propertyRuns(100) }
    )
  })
})
