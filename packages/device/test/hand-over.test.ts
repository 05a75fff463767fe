/**
 * The skb hand-off: a wire direction without impairments (and a loopback)
 * gives a sent packet itself to the receiving NIC, as veth hands the skb to
 * its peer, instead of a frame copied out of it and into a posted buffer.
 * The packet is the receiver's from then on, with metadata of its own; the
 * sender's descriptor completes with nothing to release, and its charge
 * comes back when the driver cleans that descriptor. Bytes the sender still shares stay shared,
 * copy-on-write: they never change under the receiver, the receiver's writes
 * never reach the sender, and every storage goes back to its pool once both
 * sides let go.
 * Impaired directions, and what only a frame can carry, go as frames.
 */
import { assert, describe, expect, it } from "@effect/vitest"
import { BufferPool, ipv4PseudoHeaderSum, PacketBuffer } from "@netstack/buffers"
import { type Impairments, loopback, type MediumPort, micros, Nic, type NicDevice, type NicOptions, Wire } from "@netstack/device"
import { propertyRuns } from "@netstack/test-support"
import { emitEthernet, emitIpv4, emitUdp } from "@netstack/wire"
import { Duration, Effect, Random } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"

/** Where payloads live: pooled storage, so a test can see every reference come back. */
const payloadPool = () => BufferPool.make({ count: 64, size: 2048, maxCount: 4096 })

/**
 * A UDP/IPv4 frame whose `payload` bytes sit in a fragment from `pool` (the
 * headers in the linear part, as the stack builds them), with a partial or
 * no checksum.
 */
const udpPacket = (pool: BufferPool, payload: number, seed: number, checksum: "partial" | "none" = "partial"): PacketBuffer => {
  const data = pool.acquire()
  if (!(data instanceof PacketBuffer)) throw new Error("payload pool exhausted")
  data.put(payload)
  for (let i = 0; i < payload; i++) data.setUint8(i, (i * 13 + seed) & 0xff)
  const packet = PacketBuffer.alloc(192)
  packet.reserve(192)
  packet.addFragment(data.sharedStorage, data.data, payload)
  data.release()
  const length = 8 + payload
  const pseudoHeaderSum = ipv4PseudoHeaderSum(0x0a000001, 0x0a000002, 17, length)
  emitUdp(packet, { sourcePort: 1000, destinationPort: 2000 }, checksum === "none" ? { mode: "none" } : { mode: "partial", pseudoHeaderSum })
  emitIpv4(packet, {
    dscp: 0, ecn: 0, identification: seed & 0xffff, reservedFlag: false, dontFragment: true, moreFragments: false,
    fragmentOffset: 0, ttl: 64, protocol: 17, source: 0x0a000001, destination: 0x0a000002
  })
  emitEthernet(packet, { destination: 0x020000000002, source: 0x020000000001, etherType: 0x0800 })
  return packet
}

/** A NIC attached to `port` with `posted` receive buffers (64 bytes of headroom each) from `rxPool`. */
const nicOn = (port: MediumPort, mac: number, rxPool: BufferPool, posted: number, options: Partial<NicOptions> = {}) =>
  Effect.gen(function*() {
    const nic: NicDevice = yield* Nic.make({ mac, ...options })
    nic.attach(port)
    refill(nic, rxPool, posted)
    return nic
  })

/** Posts up to `count` buffers on the NIC's first receive ring, as the driver does: one a flip set aside there again, else a new one from `pool`. */
const refill = (nic: NicDevice, pool: BufferPool, count: number): void => {
  for (let i = 0; i < count; i++) {
    if (nic.rx[0].ring.repost()) continue
    const buffer = pool.acquire()
    if (!(buffer instanceof PacketBuffer)) return
    buffer.reserve(64)
    if (!nic.rx[0].ring.post(buffer)) {
      buffer.release()
      return
    }
  }
}

/** Puts `packets` on the NIC's first transmit ring, rings the doorbell, lets the engine run and completes them (releasing each). */
const transmit = (nic: NicDevice, packets: ReadonlyArray<PacketBuffer>) =>
  Effect.gen(function*() {
    const q = nic.tx[0]
    for (const p of packets) q.ring.fill(p)
    q.kick()
    yield* Effect.yieldNow
    for (let p = q.ring.clean(); p !== undefined; p = q.ring.clean()) p.release()
  })

/** Everything the NIC's first receive ring holds, taken in order. */
const takeAll = (nic: NicDevice): Array<PacketBuffer> => {
  const out: Array<PacketBuffer> = []
  for (let p = nic.rx[0].ring.take(); p !== undefined; p = nic.rx[0].ring.take()) out.push(p)
  return out
}

describe("the skb hand-off over a wire", () => {
  it.effect("gives the packet itself to the far NIC: nothing copied, its sender's charge back at the clean, its bytes back in the pool once both let go", () =>
    Effect.gen(function*() {
      const wire = yield* Wire.make()
      const payloads = payloadPool()
      const rxPool = BufferPool.make({ count: 8, size: 2048 })
      const a = yield* nicOn(wire.a, 0x020000000001, BufferPool.make({ count: 1, size: 2048 }), 0)
      const b = yield* nicOn(wire.b, 0x020000000002, rxPool, 4)
      const packet = udpPacket(payloads, 1000, 1)
      packet.meta.mark = 7
      packet.meta.priority = 3
      const charges: Array<number> = []
      packet.meta.txOwner = { txDone: (charge) => void charges.push(charge) }
      packet.meta.txCharge = 1000
      const expected = packet.toUint8Array()
      const shared = packet.fragments[0]?.storage
      const clone = packet.clone()
      if (!(clone instanceof PacketBuffer)) throw new Error("clone failed")
      a.tx[0].ring.fill(packet)
      a.tx[0].kick()
      yield* Effect.yieldNow
      // The sender's descriptor is done with nothing to release; its charge comes back when it is cleaned.
      expect({ done: a.tx[0].ring.done, charges: charges.length }).toEqual({ done: 1, charges: 0 })
      expect({ cleaned: a.tx[0].ring.clean(), count: a.tx[0].ring.cleaned }).toEqual({ cleaned: undefined, count: 1 })
      expect(charges).toEqual([1000])
      const [received, ...rest] = takeAll(b)
      expect(rest).toEqual([])
      // The very packet the sender put on its ring: no clone, no copy.
      expect(received).toBe(packet)
      if (received === undefined) throw new Error("nothing received")
      expect(received.meta.txOwner).toBeUndefined()
      expect(received.fragments[0]?.storage).toBe(shared)
      expect(received.toUint8Array()).toEqual(expected)
      // Metadata of its own: the receiver's, not the sender's partial checksum offsets.
      expect(received.meta.inputInterface).toBe(b.config.ifindex)
      expect([received.meta.mark, received.meta.priority]).toEqual([0, 0])
      expect(received.meta.checksum._tag).toBe("Partial")
      expect(b.stats()).toMatchObject({ rx_packets: 1, rx_handed_over: 1, rx_flipped: 0, rx_csum_trusted: 1 })
      expect(a.stats()).toMatchObject({ tx_packets: 1, tx_queue_0_wire_frames: 1 })
      expect(wire.counters("aToB")).toMatchObject({ sent: 1, delivered: 1 })
      // The displaced posted buffer waits on its descriptor in the receiver's ring, to be posted again.
      expect({ posted: b.rx[0].ring.posted, inUse: rxPool.stats().inUse }).toEqual({ posted: 3, inUse: 4 })
      // A write on the receiver's side copies its header first: the sender's clone keeps its bytes.
      received.setUint8(0, 0xff)
      expect(clone.toUint8Array()).toEqual(expected)
      clone.release()
      expect(payloads.stats().inUse).toBe(1)
      received.release()
      expect(payloads.stats().inUse).toBe(0)
    }))

  it.effect("an impaired direction sends frames, copied out of the packet, as before", () =>
    Effect.gen(function*() {
      const wire = yield* Wire.make({ aToB: { delay: Duration.millis(1) } })
      const payloads = payloadPool()
      const a = yield* nicOn(wire.a, 0x020000000001, BufferPool.make({ count: 1, size: 2048 }), 0)
      const b = yield* nicOn(wire.b, 0x020000000002, BufferPool.make({ count: 4, size: 2048 }), 4)
      const packet = udpPacket(payloads, 500, 2)
      const expected = packet.toUint8Array()
      yield* transmit(a, [packet])
      expect(payloads.stats().inUse).toBe(0)
      yield* TestClock.adjust(Duration.millis(1))
      const received = takeAll(b)
      expect(received.map((p) => p.toUint8Array())).toEqual([expected])
      expect(received[0]?.fragments).toEqual([])
      expect(b.stats()).toMatchObject({ rx_packets: 1, rx_handed_over: 0, rx_flipped: 1 })
    }))

  it.effect("a partial checksum for a NIC without rx checksumming is completed in a copy; the sender's bytes stay partial", () =>
    Effect.gen(function*() {
      const wire = yield* Wire.make()
      const payloads = payloadPool()
      const a = yield* nicOn(wire.a, 0x020000000001, BufferPool.make({ count: 1, size: 2048 }), 0)
      const b = yield* nicOn(wire.b, 0x020000000002, BufferPool.make({ count: 4, size: 2048 }), 4)
      // The far NIC takes checksum metadata when attached; it turns rx checksumming off afterwards.
      b.setOffloads({ rxChecksum: false })
      const packet = udpPacket(payloads, 300, 3)
      const before = packet.toUint8Array()
      const clone = packet.clone()
      if (!(clone instanceof PacketBuffer)) throw new Error("clone failed")
      yield* transmit(a, [packet])
      const [received] = takeAll(b)
      expect(received?.fragments).toEqual([])
      expect(clone.toUint8Array()).toEqual(before)
      expect(received?.toUint8Array()).not.toEqual(before)
      expect(b.stats()).toMatchObject({ rx_packets: 1, rx_handed_over: 0 })
      clone.release()
    }))
})

describe("the skb hand-off over a loopback", () => {
  it.effect("a packet sent comes back as itself, shared and not copied", () =>
    Effect.gen(function*() {
      const lo = loopback()
      const payloads = payloadPool()
      const nic = yield* nicOn(lo, 0x020000000001, BufferPool.make({ count: 4, size: 2048 }), 4)
      const packet = udpPacket(payloads, 200, 4)
      const shared = packet.fragments[0]?.storage
      const expected = packet.toUint8Array()
      yield* transmit(nic, [packet])
      const [received] = takeAll(nic)
      expect(received?.fragments[0]?.storage).toBe(shared)
      expect(received?.toUint8Array()).toEqual(expected)
      expect(lo.counters()).toMatchObject({ sent: 1, delivered: 1 })
      expect(nic.stats()).toMatchObject({ rx_handed_over: 1 })
    }))
})

/** Impairments for one stretch of the property: often none (packets handed over), else some that change how frames travel. */
const impairmentsArb: fc.Arbitrary<Impairments> = fc.oneof(
  fc.constant({}),
  fc.record(
    {
      loss: fc.double({ min: 0, max: 0.3, noNaN: true }),
      duplicate: fc.double({ min: 0, max: 0.3, noNaN: true }),
      delay: fc.integer({ min: 0, max: 2_000 }).map((us) => Duration.micros(BigInt(us)))
    },
    { requiredKeys: [] }
  )
)

/** One step: send packets, change the impairments, let time pass, or take what arrived (maybe writing into it). */
type Step =
  | { readonly _tag: "send"; readonly sizes: ReadonlyArray<number> }
  | { readonly _tag: "impair"; readonly impairments: Impairments }
  | { readonly _tag: "wait"; readonly micros: number }
  | { readonly _tag: "take"; readonly scribble: boolean }

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.array(fc.integer({ min: 0, max: 1400 }), { minLength: 1, maxLength: 6 }).map((sizes) => ({ _tag: "send" as const, sizes })) },
  { weight: 1, arbitrary: impairmentsArb.map((impairments) => ({ _tag: "impair" as const, impairments })) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 3_000 }).map((us) => ({ _tag: "wait" as const, micros: us })) },
  { weight: 2, arbitrary: fc.boolean().map((scribble) => ({ _tag: "take" as const, scribble })) }
)

describe("handed-over packets under changing impairments (property)", () => {
  it("every packet arrives with the bytes sent, the sender's pool memory is never changed under a receiver, and all of it comes back", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 0x7fffffff }), fc.array(stepArb, { maxLength: 60 }), async (seed, steps) => {
        const program = Effect.gen(function*() {
          const wire = yield* Wire.make()
          const payloads = payloadPool()
          const rxPool = BufferPool.make({ count: 64, size: 2048, maxCount: 4096 })
          const a = yield* nicOn(wire.a, 0x020000000001, BufferPool.make({ count: 1, size: 2048 }), 0)
          const b = yield* nicOn(wire.b, 0x020000000002, rxPool, 16)
          // What was sent, by IP identification; what arrived must be one of them, byte for byte.
          const sent = new Map<number, Uint8Array>()
          const held: Array<{ readonly packet: PacketBuffer; readonly bytes: Uint8Array }> = []
          let next = 0
          const take = (scribble: boolean) => {
            for (const packet of takeAll(b)) {
              const bytes = packet.toUint8Array()
              const id = ((bytes[18] ?? 0) << 8) | (bytes[19] ?? 0)
              assert.deepStrictEqual(bytes, sent.get(id), `packet ${id} arrived changed`)
              // A receiver that writes into what it got must not reach the sender (copy-on-write).
              if (scribble) packet.setUint8(0, 0xee)
              held.push({ packet, bytes: packet.toUint8Array() })
            }
            refill(b, rxPool, 16)
          }
          for (const step of steps) {
            if (step._tag === "send") {
              const packets = step.sizes.map((size) => {
                const id = next++ & 0xffff
                const packet = udpPacket(payloads, size, id)
                sent.set(id, packet.toUint8Array())
                return packet
              })
              // The sender lets go at completion and its pool hands the memory out again at once (new payloads).
              yield* transmit(a, packets)
            } else if (step._tag === "impair") {
              wire.setImpairments("aToB", step.impairments)
            } else if (step._tag === "wait") {
              yield* TestClock.adjust(micros(step.micros))
            } else {
              take(step.scribble)
            }
            // Whatever the sender did since, what a receiver holds is what it had.
            for (const h of held) assert.deepStrictEqual(h.packet.toUint8Array(), h.bytes, "held bytes changed under the receiver")
          }
          yield* TestClock.adjust(Duration.hours(1))
          take(false)
          for (const h of held) h.packet.release()
          for (const buffer of b.rx[0].ring.drain()) buffer.release()
          assert.strictEqual(payloads.stats().inUse, 0, "payload memory not given back")
          assert.strictEqual(rxPool.stats().inUse, 0, "receive buffers not given back")
        })
        await Effect.runPromise(program.pipe(Effect.scoped, Random.withSeed(seed), Effect.provide(TestClock.layer())))
      }),
      { numRuns: propertyRuns(100) }
    )
  })
})
