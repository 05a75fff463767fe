/**
 * The driver on a simulated NIC, under TestClock: interrupts to NAPI to the
 * handler; coalescing; no receive livelock under overload; transmit with
 * queue stop and wake; software GSO and checksum fallback; GRO on receive;
 * busy polling; tracepoints; and the same driver on a mock NIC.
 */
import { describe, expect, it } from "@effect/vitest"
import { ipv4PseudoHeaderSum, PacketBuffer } from "@netstack/buffers"
import { CurrentNetTrace, loopback, MockNic, MockNicControl, NetTrace, Nic, type NicDevice } from "@netstack/device"
import { Driver, ReceiveHandler, Softirq } from "@netstack/driver"
import { decodeFrame, emitEthernet, emitIpv4, emitTcp } from "@netstack/wire"
import { Clock, Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { flowAndSequence, makeRig, settle, tcpFrame, udpFrame } from "./support/rig.ts"

/** Delivers `count` frames to `nic`, one every `gapMicros` of virtual time. */
const offer = (nic: NicDevice, count: number, gapMicros: number, frame: (i: number) => Uint8Array) =>
  Effect.gen(function*() {
    for (let i = 0; i < count; i++) {
      nic.receive(frame(i))
      yield* TestClock.adjust(`${gapMicros / 1000} millis`)
    }
    yield* TestClock.adjust("10 millis")
    yield* settle
  })

describe("receive path", () => {
  it.effect("delivers every frame in order: interrupt, NAPI poll, handler; buffers go back to the pool", () =>
    Effect.gen(function*() {
      const rig = yield* makeRig()
      const frames = Array.from({ length: 100 }, (_, i) => udpFrame(1, i).toUint8Array())
      for (const f of frames) rig.nic.receive(f)
      yield* settle
      expect(rig.received.map((r) => r.bytes)).toEqual(frames)
      expect(rig.received.every((r) => r.checksum === "Unnecessary")).toBe(true)
      expect(rig.driver.stats.interrupts).toBeGreaterThanOrEqual(1)
      expect(rig.nic.stats()).toMatchObject({ rx_packets: 100, rx_missed_errors: 0 })
      // the ring was refilled as NAPI took buffers, so a second burst is received too
      for (const f of frames) rig.nic.receive(f)
      yield* settle
      expect(rig.received).toHaveLength(200)
    }))

  it.effect("a pool that runs dry leaves the ring short; the refill is retried, so the ring recovers once buffers return", () =>
    Effect.gen(function*() {
      // The handler keeps every packet, as a reassembly queue or a socket does; the pool may grow from 8 to 12.
      const held: Array<PacketBuffer> = []
      const nic = yield* Nic.make({ mac: 0x020000000001, rxRingSize: 8 })
      const driver = yield* Driver.make({ rxBuffers: 8, rxBuffersMax: 12 }).pipe(
        Effect.provideService(Nic, nic),
        Effect.provideService(Softirq, yield* Softirq.make()),
        Effect.provideService(ReceiveHandler, { receive: (p: PacketBuffer) => void held.push(p) })
      )
      const burst = (n: number) =>
        Effect.gen(function*() {
          for (let i = 0; i < n; i++) nic.receive(udpFrame(1, i).toUint8Array())
          yield* settle
        })
      yield* burst(10) // 8 posted: 8 received, 2 missed; the refill grows the pool to 12 and posts 4
      expect({ held: held.length, posted: nic.rx[0].ring.posted }).toEqual({ held: 8, posted: 4 })
      yield* burst(6) // 4 received, 2 missed; now every buffer is held and the ring is empty
      expect({ held: held.length, posted: nic.rx[0].ring.posted }).toEqual({ held: 12, posted: 0 })
      yield* burst(3) // an empty ring receives nothing: no interrupt, no poll, no refill from NAPI
      expect(nic.stats()).toMatchObject({ rx_packets: 12, rx_missed_errors: 7 })
      expect(driver.stats.rxAllocFailures).toBeGreaterThan(0)
      for (const p of held.splice(0)) p.release()
      yield* TestClock.adjust("1 millis") // the retry refills the ring from the returned buffers
      yield* settle
      expect(nic.rx[0].ring.posted).toBe(8)
      expect(driver.stats.rxRefillRetries).toBeGreaterThanOrEqual(1)
      yield* burst(5)
      expect(nic.stats()).toMatchObject({ rx_packets: 17, rx_missed_errors: 7 })
      expect(held).toHaveLength(5)
    }))

  it.effect("coalescing cuts interrupts by the configured factor", () =>
    Effect.gen(function*() {
      const frames = (i: number) => udpFrame(1, i).toUint8Array()
      const interrupts = (coalescing: { rxUsecs?: number; rxFrames?: number }) =>
        Effect.gen(function*() {
          const rig = yield* makeRig({ coalescing })
          yield* offer(rig.nic, 1000, 5, frames)
          expect(rig.received).toHaveLength(1000)
          return rig.nic.irqs[0].delivered
        }).pipe(Effect.scoped)
      const none = yield* interrupts({})
      const byTime = yield* interrupts({ rxUsecs: 50 })
      const byCount = yield* interrupts({ rxFrames: 16, rxUsecs: 1000 })
      expect(none).toBe(1000)
      // 5 µs apart, 50 µs of wait: ten frames per interrupt (eleven when one lands on the timer's instant).
      const factor = none / byTime
      expect(factor).toBeGreaterThan(10 * 0.85)
      expect(factor).toBeLessThan(10 * 1.15)
      // 16 frames take 80 µs, well inside 1000 µs: the count triggers; the last 8 go by the timer.
      expect(byCount).toBe(Math.ceil(1000 / 16))
    }))

  it.effect("under more load than the CPU can take, interrupts stay bounded and losses are only counted ring drops", () =>
    Effect.gen(function*() {
      // 2 µs of CPU per packet: 500k packets/s; offered: 1M packets/s for 20 ms.
      const rig = yield* makeRig({ rxRingSize: 256 }, {}, { costPerPacketMicros: 2 })
      const offered = 20_000
      yield* offer(rig.nic, offered, 1, (i) => udpFrame(i % 8, i).toUint8Array())
      const missed = rig.nic.errors.rxMissedErrors
      expect(rig.received.length + missed).toBe(offered)
      expect(missed).toBeGreaterThan(offered / 3)
      expect(rig.nic.irqs[0].delivered).toBeLessThan(offered / 100)
      expect(rig.softirq.stats.timeSqueeze).toBeGreaterThan(0)
      // what was delivered is what the CPU could process in the time: about half
      expect(rig.received.length).toBeGreaterThan(offered * 0.45)
    }))

  it.effect("merges in-order TCP segments with GRO and keeps every payload byte", () =>
    Effect.gen(function*() {
      const rig = yield* makeRig()
      const segments = Array.from({ length: 10 }, (_, i) => tcpSegment(1000 + 100 * i, 100, i === 9))
      for (const s of segments) rig.nic.receive(s)
      yield* settle
      expect(rig.received).toHaveLength(1)
      expect(rig.received[0].gsoSegments).toBe(10)
      expect(rig.received[0].bytes.length).toBe(54 + 1000)
      const off = yield* makeRig({}, { gro: (batch) => batch })
      for (const s of segments) off.nic.receive(s)
      yield* settle
      expect(off.received).toHaveLength(10)
    }))

  it.effect("busy polling: the interrupt stays masked and the caller polls", () =>
    Effect.gen(function*() {
      const rig = yield* makeRig()
      rig.driver.setBusyPolling(0, true)
      for (let i = 0; i < 10; i++) rig.nic.receive(udpFrame(1, i).toUint8Array())
      yield* settle
      expect(rig.received).toHaveLength(0)
      expect(rig.driver.stats.interrupts).toBe(0)
      expect(rig.driver.busyPoll(0, 4)).toBe(4)
      expect(rig.driver.busyPoll(0)).toBe(6)
      expect(rig.received.map((r) => flowAndSequence(r.bytes).sequence)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
      rig.driver.setBusyPolling(0, false)
      rig.nic.receive(udpFrame(1, 10).toUint8Array())
      yield* settle
      expect(rig.received).toHaveLength(11)
    }))
})

/** A TCP/IPv4 frame of one flow: `payload` bytes at sequence number `seq`. */
const tcpSegment = (seq: number, payload: number, psh = false): Uint8Array => {
  const buffer = PacketBuffer.fromBytes(new Uint8Array(payload).fill(seq & 0xff), 128)
  const src = 0x0a000001
  const dst = 0x0a000002
  emitTcp(buffer, {
    sourcePort: 5000, destinationPort: 80, sequenceNumber: seq, acknowledgmentNumber: 1,
    flags: psh ? 0x18 : 0x10, window: 1000, urgentPointer: 0, options: []
  }, { mode: "full", pseudoHeaderSum: ipv4PseudoHeaderSum(src, dst, 6, 20 + payload) })
  emitIpv4(buffer, {
    dscp: 0, ecn: 0, identification: seq / 100, reservedFlag: false, dontFragment: true, moreFragments: false,
    fragmentOffset: 0, ttl: 64, protocol: 6, source: src, destination: dst
  })
  emitEthernet(buffer, { destination: 0x020000000001, source: 0x020000000002, etherType: 0x0800 })
  return buffer.toUint8Array()
}

/** A TCP super-packet of `segments` × `mss` bytes, as TCP hands one to the driver. */
const superPacket = (segments: number, mss: number): PacketBuffer => {
  const buffer = tcpFrame(segments * mss, 1, 0x18)
  buffer.meta.gsoType = "tcpv4"
  buffer.meta.gsoSize = mss
  buffer.meta.gsoSegments = segments
  return buffer
}

describe("transmit path", () => {
  it.effect("segments a super-packet in software without TSO, and lets the NIC do it with TSO", () =>
    Effect.gen(function*() {
      for (const tso of [false, true]) {
        const rig = yield* makeRig({ offloads: { tso } })
        const wire: Array<Uint8Array> = []
        rig.nic.attach({ send: (f) => void wire.push(f), attach: () => {} })
        expect(rig.driver.xmit(superPacket(5, 200))).toBe("sent")
        yield* settle
        expect(wire).toHaveLength(5)
        for (const frame of wire) {
          const decoded = decodeFrame(PacketBuffer.wrap(frame.slice()))
          const tcp = decoded.layers.find((l) => l.layer === "tcp")
          expect(tcp !== undefined && "checksum" in tcp ? tcp.checksum : "none").toBe("valid")
        }
        expect(rig.driver.stats.gsoSegments).toBe(tso ? 0 : 5)
        expect(rig.nic.stats().tx_queue_0_wire_frames).toBe(5)
      }
    }))

  it.effect("completes a partial checksum in software without tx checksum offload", () =>
    Effect.gen(function*() {
      const rig = yield* makeRig({ offloads: { txChecksum: false } })
      const wire: Array<Uint8Array> = []
      rig.nic.attach({ send: (f) => void wire.push(f), attach: () => {} })
      rig.driver.xmit(udpFrame(1, 1, 10, "partial"))
      yield* settle
      expect(rig.driver.stats.swChecksums).toBe(1)
      const udp = decodeFrame(PacketBuffer.wrap(wire[0].slice())).layers.find((l) => l.layer === "udp")
      expect(udp !== undefined && "checksum" in udp ? udp.checksum : "none").toBe("valid")
    }))

  it.effect("stops the queue when the ring is full, and wakes it when completions are cleaned", () =>
    Effect.gen(function*() {
      // 8 Mbit/s: a 60-byte frame takes 60 µs on the wire, so the ring fills.
      const rig = yield* makeRig({ txRingSize: 8, linkSpeed: 8_000_000 }, { wakeThreshold: 4 })
      const wire: Array<Uint8Array> = []
      rig.nic.attach({ send: (f) => void wire.push(f), attach: () => {} })
      const results = Array.from({ length: 10 }, (_, i) => rig.driver.xmit(udpFrame(1, i, 10)))
      expect(results.filter((r) => r === "sent")).toHaveLength(8)
      expect(results.slice(8)).toEqual(["busy", "busy"])
      expect(rig.driver.isStopped(0)).toBe(true)
      const woken = yield* Effect.forkChild(rig.driver.awaitWake(0))
      yield* TestClock.adjust("1 millis")
      yield* settle
      expect(woken.pollUnsafe()).toBeDefined()
      expect(rig.driver.isStopped(0)).toBe(false)
      expect(rig.driver.stats).toMatchObject({ queueStops: 1, queueWakes: 1, txBusy: 2, txCompleted: 8 })
      expect(wire.map((f) => flowAndSequence(f).sequence)).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    }))
})

describe("tracepoints", () => {
  it.effect("show a received packet's path and a sent packet's path; off, they record nothing", () =>
    Effect.gen(function*() {
      const trace = new NetTrace()
      const clock = yield* Clock.Clock
      const rig = yield* makeRig().pipe(Effect.provideService(CurrentNetTrace, trace))
      rig.nic.attach({ send: () => {}, attach: () => {} })
      rig.nic.receive(udpFrame(1, 1).toUint8Array())
      rig.driver.xmit(udpFrame(1, 2))
      yield* settle
      expect(trace.records()).toEqual([])
      trace.enable(clock)
      rig.nic.receive(udpFrame(1, 3).toUint8Array())
      rig.driver.xmit(udpFrame(1, 4))
      yield* settle
      const rxId = rig.received[1].traceId
      expect(trace.path(rxId).map((r) => r.stage)).toEqual(["device-rx", "napi-poll", "receive"])
      const txIds = [...new Set(trace.records().map((r) => r.packet))].filter((id) => id !== rxId)
      expect(txIds).toHaveLength(1)
      expect(trace.path(txIds[0]).map((r) => r.stage)).toEqual(["xmit", "device-tx", "tx-completion"])
    }))
})

describe("loopback", () => {
  it.effect("a NIC on a loopback medium receives what it sends, and GRO's tracepoint names the merge", () =>
    Effect.gen(function*() {
      const trace = new NetTrace()
      trace.enable(yield* Clock.Clock)
      const rig = yield* makeRig().pipe(Effect.provideService(CurrentNetTrace, trace))
      rig.nic.attach(loopback())
      expect(rig.driver.xmit(udpFrame(3, 1))).toBe("sent")
      for (let i = 0; i < 4; i++) rig.nic.receive(tcpSegment(1000 + 100 * i, 100, i === 3))
      yield* settle
      // The doorbell is answered in the sender's own turn, so the looped-back frame is on the ring before the four.
      expect(rig.received.map((r) => r.gsoSegments)).toEqual([0, 4])
      expect(flowAndSequence(rig.received[0].bytes)).toEqual({ flow: 3, sequence: 1 })
      const merged = trace.path(rig.received[1].traceId)
      expect(merged.map((r) => r.stage)).toEqual(["device-rx", "napi-poll", "gro", "receive"])
      expect(merged[2].detail).toBe("merged 4")
    }))
})

describe("mock NIC by Layer substitution", () => {
  it.effect("the same driver runs on a mock NIC: injected frames reach the handler, sent frames are recorded", () =>
    Effect.gen(function*() {
      const got: Array<Uint8Array> = []
      const handler = Layer.succeed(ReceiveHandler, {
        receive: (p: PacketBuffer) => {
          got.push(p.toUint8Array())
          p.release()
        }
      })
      const layer = Driver.layer().pipe(
        Layer.provideMerge(Layer.mergeAll(MockNic.layer({ mac: 1 }), Softirq.layer(), handler))
      )
      yield* Effect.gen(function*() {
        const driver = yield* Driver
        const control = yield* MockNicControl
        const nic = yield* Nic
        const frames = [udpFrame(1, 1), udpFrame(1, 2)].map((f) => f.toUint8Array())
        for (const f of frames) control.inject(f)
        yield* settle
        expect(got).toEqual(frames)
        driver.xmit(udpFrame(2, 9))
        yield* settle
        expect(control.transmitted.map((f) => flowAndSequence(f))).toEqual([{ flow: 2, sequence: 9 }])
        expect(nic.name).toBe("eth0")
      }).pipe(Effect.provide(layer))
    }))
})
