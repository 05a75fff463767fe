/**
 * The simulated NIC on its own (no driver): DMA into posted buffers and
 * counted misses, length and carrier drops, rx checksum offload, the transmit
 * engine (ordering, checksum completion, line-rate timing), carrier events
 * and ethtool-style counters. Deterministic under TestClock.
 */
import { describe, expect, it } from "@effect/vitest"
import { ipv4PseudoHeaderSum, PacketBuffer } from "@netstack/buffers"
import { Nic, type NicDevice, type NicOptions } from "@netstack/device"
import { decodeFrame, emitEthernet, emitIpv4, emitUdp } from "@netstack/wire"
import { Effect, Fiber, PubSub } from "effect"
import { TestClock } from "effect/testing"

/** A UDP/IPv4 frame with `payload` bytes; checksum full, partial or none. */
const udpFrame = (payload: number, checksum: "full" | "partial" | "none" = "full"): PacketBuffer => {
  const buffer = PacketBuffer.fromBytes(new Uint8Array(payload).fill(7), 64)
  const length = 8 + payload
  const pseudoHeaderSum = ipv4PseudoHeaderSum(0x0a000001, 0x0a000002, 17, length)
  emitUdp(buffer, { sourcePort: 1000, destinationPort: 2000 }, checksum === "none" ? { mode: "none" } : { mode: checksum, pseudoHeaderSum })
  emitIpv4(buffer, {
    dscp: 0, ecn: 0, identification: 1, reservedFlag: false, dontFragment: true, moreFragments: false,
    fragmentOffset: 0, ttl: 64, protocol: 17, source: 0x0a000001, destination: 0x0a000002
  })
  emitEthernet(buffer, { destination: 0x020000000002, source: 0x020000000001, etherType: 0x0800 })
  return buffer
}

/** A NIC with `posted` empty buffers on its rx ring, attached to a port that records what it sends. */
const nicWith = (options: Partial<NicOptions>, posted = 8) =>
  Effect.gen(function*() {
    const nic: NicDevice = yield* Nic.make({ mac: 0x020000000001, ...options })
    const sent: Array<Uint8Array> = []
    nic.attach({ send: (frame) => void sent.push(frame), attach: () => {} })
    for (let i = 0; i < posted; i++) {
      const b = PacketBuffer.alloc(2048)
      b.reserve(64)
      nic.rx[0].ring.post(b)
    }
    return { nic, sent }
  })

describe("NIC receive", () => {
  it.effect("DMAs frames into posted buffers in order and counts a frame with no buffer as missed", () =>
    Effect.gen(function*() {
      const { nic } = yield* nicWith({}, 2)
      const frames = [udpFrame(10), udpFrame(20), udpFrame(30)].map((f) => f.toUint8Array())
      for (const f of frames) nic.receive(f)
      const first = nic.rx[0].ring.take()
      const second = nic.rx[0].ring.take()
      expect([...(first?.toUint8Array() ?? [])]).toEqual([...frames[0]])
      expect([...(second?.toUint8Array() ?? [])]).toEqual([...frames[1]])
      expect(first?.headroom).toBe(64)
      expect(nic.rx[0].ring.take()).toBeUndefined()
      expect(nic.stats()).toMatchObject({ rx_packets: 2, rx_missed_errors: 1, rx_queue_0_missed: 1 })
    }))

  it.effect("drops and counts frames over the MTU, runts, and frames while the carrier is down; publishes carrier changes", () =>
    Effect.gen(function*() {
      const { nic } = yield* nicWith({ mtu: 100 })
      const events = yield* PubSub.subscribe(nic.carrier)
      nic.receive(new Uint8Array(100 + 18 + 1))
      nic.receive(new Uint8Array(13))
      nic.receive(udpFrame(100 - 28).toUint8Array())
      nic.setLink(false)
      nic.receive(udpFrame(10).toUint8Array())
      nic.setLink(true)
      expect(nic.stats()).toMatchObject({ rx_packets: 1, rx_length_errors: 2, rx_carrier_drops: 1 })
      expect((yield* PubSub.takeAll(events)).map((e) => e.up)).toEqual([false, true])
    }))

  it.effect("verifies transport checksums with rx offload on, and leaves them to software with it off", () =>
    Effect.gen(function*() {
      const { nic } = yield* nicWith({})
      const good = udpFrame(40).toUint8Array()
      const bad = good.slice()
      bad[bad.length - 1] ^= 1
      nic.receive(good)
      nic.receive(bad)
      nic.setOffloads({ rxChecksum: false })
      nic.receive(good)
      const states = [0, 1, 2].map(() => nic.rx[0].ring.take()?.meta.checksum._tag)
      expect(states).toEqual(["Unnecessary", "None", "None"])
      expect(nic.stats()).toMatchObject({ rx_csum_offload_good: 1, rx_csum_offload_errors: 1 })
    }))

  it.effect("stamps each frame with the interface index, and with the clock when rx timestamping is on", () =>
    Effect.gen(function*() {
      const { nic } = yield* nicWith({ ifindex: 7, rxTimestamps: true })
      yield* TestClock.adjust("3 millis")
      nic.receive(udpFrame(1).toUint8Array())
      const packet = nic.rx[0].ring.take()
      expect(packet?.meta.inputInterface).toBe(7)
      expect(packet?.meta.timestamp).toBe(3000)
      const { nic: plain } = yield* nicWith({ ifindex: 8 })
      plain.receive(udpFrame(1).toUint8Array())
      expect(plain.rx[0].ring.take()?.meta.timestamp).toBe(0)
    }))
})

describe("NIC transmit", () => {
  it.effect("sends ready descriptors in order on the doorbell, completes them and completes partial checksums", () =>
    Effect.gen(function*() {
      const { nic, sent } = yield* nicWith({})
      const q = nic.tx[0]
      const packets = [udpFrame(5, "partial"), udpFrame(6, "full"), udpFrame(7, "partial")]
      const expected = packets.map((p) => p.toUint8Array())
      for (const p of packets) q.ring.fill(p)
      q.kick()
      yield* Effect.yieldNow
      expect(sent).toHaveLength(3)
      sent.forEach((frame) => {
        const decoded = decodeFrame(PacketBuffer.wrap(frame.slice()))
        const udp = decoded.layers.find((l) => l.layer === "udp")
        expect(udp !== undefined && "checksum" in udp ? udp.checksum : "none").toBe("valid")
      })
      expect(sent[1]).toEqual(expected[1])
      expect(q.ring.done).toBe(3)
      expect([q.ring.clean(), q.ring.clean(), q.ring.clean()]).toEqual(packets)
      expect(nic.stats()).toMatchObject({ tx_packets: 3, tx_queue_0_wire_frames: 3 })
    }))

  it.effect("without tx checksum offload, refuses a partial checksum (the driver must complete it) and counts it", () =>
    Effect.gen(function*() {
      const { nic, sent } = yield* nicWith({ offloads: { txChecksum: false } })
      nic.tx[0].ring.fill(udpFrame(5, "partial"))
      nic.tx[0].kick()
      yield* Effect.yieldNow
      expect(sent).toHaveLength(0)
      expect(nic.stats()).toMatchObject({ tx_errors: 1, tx_packets: 0 })
      expect(nic.tx[0].ring.done).toBe(1)
    }))

  it.effect("transmits at line rate: a 1000-byte frame takes 8000 bits / rate", () =>
    Effect.gen(function*() {
      const { nic, sent } = yield* nicWith({ linkSpeed: 8_000_000 }) // 8 Mbit/s: 1 µs per bit
      const frame = udpFrame(1000 - 42)
      expect(frame.length).toBe(1000)
      nic.tx[0].ring.fill(frame)
      nic.tx[0].ring.fill(udpFrame(1000 - 42))
      nic.tx[0].kick()
      yield* Effect.yieldNow
      yield* TestClock.adjust("0.999 millis")
      expect(sent).toHaveLength(0)
      yield* TestClock.adjust("0.001 millis")
      expect(sent).toHaveLength(1)
      yield* TestClock.adjust("1 millis")
      expect(sent).toHaveLength(2)
    }))

  it.effect("drops and counts frames sent while the carrier is down", () =>
    Effect.gen(function*() {
      const { nic, sent } = yield* nicWith({})
      nic.setLink(false)
      nic.tx[0].ring.fill(udpFrame(5))
      nic.tx[0].kick()
      yield* Effect.yieldNow
      expect(sent).toHaveLength(0)
      expect(nic.stats()).toMatchObject({ tx_carrier_errors: 1 })
    }))

  it.effect("raises the queue's interrupt when descriptors complete", () =>
    Effect.gen(function*() {
      const { nic } = yield* nicWith({})
      const interrupts = yield* Effect.forkChild(nic.irqs[0].next)
      nic.tx[0].ring.fill(udpFrame(5))
      nic.tx[0].kick()
      yield* Fiber.join(interrupts)
      expect(nic.irqs[0].delivered).toBe(1)
    }))
})

describe("NIC configuration", () => {
  it.effect("refuses an impossible configuration with a typed error naming the field", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Nic.make({ mac: 1, rxQueues: 0 }))
      expect(error._tag).toBe("InvalidNicConfig")
      expect(error.field).toBe("rxQueues")
      const mtu = yield* Effect.flip(Nic.make({ mac: 1, mtu: 20 }))
      expect(mtu.field).toBe("mtu")
      // a frame threshold alone would strand the last frames of a burst
      const stranded = yield* Effect.flip(Nic.make({ mac: 1, coalescing: { rxFrames: 8 } }))
      expect(stranded.field).toBe("rxUsecs")
      const nic = yield* Nic.make({ mac: 1 })
      expect(nic.setCoalescing({ rxFrames: 8 })?._tag).toBe("InvalidNicConfig")
      expect(nic.setCoalescing({ rxFrames: 8, rxUsecs: 100 })).toBeUndefined()
    }))
})
