/**
 * The link layer core: packet types and dispatch by EtherType, drops counted
 * by reason, VLAN sub-interfaces both ways, taps, the qdisc holding frames
 * while the driver's queue is stopped, and host timers. Real NICs and
 * drivers underneath, under TestClock.
 */
import { describe, expect, it } from "@effect/vitest"
import { PacketBuffer } from "@netstack/buffers"
import type { NetDevice } from "@netstack/l2"
import { TimerQueue } from "@netstack/l2"
import { emitEthernet } from "@netstack/wire"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { addInterface, connect, makeHost, settle } from "./support/lan.ts"

const A = 0x020000000001
const B = 0x020000000002
const EXPERIMENTAL = 0x88b5 // IEEE 802 local experimental EtherType

/** A frame to `destination` of EtherType `etherType` carrying `payload`. */
const frame = (destination: number, source: number, etherType: number, payload: ReadonlyArray<number>): PacketBuffer => {
  const buffer = PacketBuffer.fromBytes(Uint8Array.from(payload), 64)
  emitEthernet(buffer, { destination, source, etherType })
  return buffer
}

/** Two hosts on a wire; `b` records what its handler for the experimental EtherType receives. */
const pair = Effect.gen(function*() {
  const a = yield* makeHost()
  const b = yield* makeHost()
  const ethA = yield* addInterface(a, { mac: A })
  const ethB = yield* addInterface(b, { mac: B })
  yield* connect(ethA, ethB)
  const got: Array<{ bytes: ReadonlyArray<number>; type: string; device: string; vlan: number | undefined }> = []
  b.link.addProtocol(EXPERIMENTAL, (p, device: NetDevice) => {
    got.push({ bytes: [...p.toUint8Array()], type: p.meta.packetType, device: device.name, vlan: p.meta.vlanTag })
    p.release()
  })
  return { a, b, ethA, ethB, got }
})

describe("link layer receive", () => {
  it.effect("strips the Ethernet header, sets the packet type and dispatches by EtherType", () =>
    Effect.gen(function*() {
      const { a, b, ethA, got } = yield* pair
      a.link.transmit(ethA, frame(B, A, EXPERIMENTAL, [1, 2, 3]))
      a.link.transmit(ethA, frame(0xffffffffffff, A, EXPERIMENTAL, [4]))
      a.link.transmit(ethA, frame(0x01005e000001, A, EXPERIMENTAL, [5]))
      yield* settle
      expect(got).toEqual([
        { bytes: [1, 2, 3], type: "host", device: "eth0", vlan: undefined },
        { bytes: [4], type: "broadcast", device: "eth0", vlan: undefined },
        { bytes: [5], type: "multicast", device: "eth0", vlan: undefined }
      ])
      expect(b.link.drops.total).toBe(0)
    }))

  it.effect("drops frames for other hosts unless promiscuous, and unknown EtherTypes, counting each reason", () =>
    Effect.gen(function*() {
      const { a, b, ethA, ethB, got } = yield* pair
      a.link.transmit(ethA, frame(0x020000000099, A, EXPERIMENTAL, [1]))
      a.link.transmit(ethA, frame(B, A, 0x1234, [2]))
      yield* settle
      expect(got).toHaveLength(0)
      expect(b.link.drops.snapshot()).toEqual({ "l2.otherhost": 1, "l2.unknown-ethertype": 1 })
      ethB.promiscuous = true
      a.link.transmit(ethA, frame(0x020000000099, A, EXPERIMENTAL, [3]))
      yield* settle
      expect(got.map((g) => g.type)).toEqual(["otherhost"])
      ethB.up = false
      a.link.transmit(ethA, frame(B, A, EXPERIMENTAL, [4]))
      yield* settle
      expect(b.link.drops.get("l2.device-down")).toBe(1)
      expect(ethB.stats.rxDropped).toBe(3)
    }))

  it.effect("VLAN sub-interfaces tag on the way out and demultiplex by VID on the way in", () =>
    Effect.gen(function*() {
      const { a, b, ethA, ethB, got } = yield* pair
      const vlanA = a.link.addVlan(ethA, 100)
      b.link.addVlan(ethB, 100)
      const seen: Array<ReadonlyArray<number>> = []
      b.link.addTap((f, device, direction) => {
        if (direction === "in" && device.name === "eth0") seen.push([...f.toUint8Array().subarray(12, 18)])
      })
      vlanA.priority = 5
      a.link.transmit(vlanA, frame(B, A, EXPERIMENTAL, [7, 7]))
      yield* settle
      // on the wire: TPID 0x8100, PCP 5 / VID 100, then the inner EtherType
      expect(seen).toEqual([[0x81, 0x00, 0xa0, 0x64, 0x88, 0xb5]])
      expect(got).toEqual([{ bytes: [7, 7], type: "host", device: "eth0.100", vlan: 0xa064 }])
      // a VID nobody configured is dropped and counted
      const vlan200 = a.link.addVlan(ethA, 200)
      a.link.transmit(vlan200, frame(B, A, EXPERIMENTAL, [8]))
      yield* settle
      expect(b.link.drops.get("vlan.unknown-vid")).toBe(1)
    }))

  it.effect("taps see every frame in and out on every interface", () =>
    Effect.gen(function*() {
      const { a, b, ethA } = yield* pair
      const log: Array<string> = []
      const stop = a.link.addTap((f, d, dir) => void log.push(`a ${d.name} ${dir} ${f.length}`))
      b.link.addTap((f, d, dir) => void log.push(`b ${d.name} ${dir} ${f.length}`))
      a.link.transmit(ethA, frame(B, A, EXPERIMENTAL, [1, 2]))
      yield* settle
      stop()
      a.link.transmit(ethA, frame(B, A, EXPERIMENTAL, [1, 2, 3]))
      yield* settle
      expect(log).toEqual(["a eth0 out 16", "b eth0 in 16", "b eth0 in 17"])
    }))
})

describe("qdisc", () => {
  it.effect("holds frames in order while the driver's queue is stopped, and drops past txqueuelen", () =>
    Effect.gen(function*() {
      const a = yield* makeHost()
      const b = yield* makeHost()
      // 8 Mbit/s with an 8-descriptor ring: the ring fills at once
      const ethA = yield* addInterface(a, { mac: A, txRingSize: 8, linkSpeed: 8_000_000 })
      const ethB = yield* addInterface(b, { mac: B })
      yield* connect(ethA, ethB)
      const got: Array<number> = []
      b.link.addProtocol(EXPERIMENTAL, (p) => {
        got.push(p.toUint8Array()[0])
        p.release()
      })
      for (let i = 0; i < 50; i++) a.link.transmit(ethA, frame(B, A, EXPERIMENTAL, [i, ...new Array(45).fill(0)]))
      expect(ethA.qdisc.length).toBeGreaterThan(0)
      yield* TestClock.adjust("100 millis")
      yield* settle
      expect(got).toEqual(Array.from({ length: 50 }, (_, i) => i))
      expect(ethA.qdisc.drops).toBe(0)
      expect(ethA.stats.txPackets).toBe(50)
    }))
})

describe("timers", () => {
  it.effect("run each callback at its time, in order, and never run a cancelled one", () =>
    Effect.gen(function*() {
      const timers = yield* TimerQueue.make()
      const log: Array<string> = []
      timers.after(3000, () => log.push(`c ${timers.now()}`))
      timers.after(1000, () => log.push(`a ${timers.now()}`))
      const cancelled = timers.after(2000, () => log.push("never"))
      timers.after(1000, () => log.push(`b ${timers.now()}`))
      timers.cancel(cancelled)
      yield* TestClock.adjust("0.999 millis")
      expect(log).toEqual([])
      yield* TestClock.adjust("0.001 millis")
      expect(log).toEqual(["a 1000", "b 1000"])
      // a sooner timer scheduled while the fiber sleeps for a later one still runs on time
      timers.after(500, () => log.push(`d ${timers.now()}`))
      yield* TestClock.adjust("0.5 millis")
      expect(log).toEqual(["a 1000", "b 1000", "d 1500"])
      yield* TestClock.adjust("10 millis")
      expect(log).toEqual(["a 1000", "b 1000", "d 1500", "c 3000"])
    }))
})
