/**
 * The learning bridge: learning and forwarding out exactly one port,
 * flooding unknown unicast and group frames, filtering (never reflecting to
 * the ingress port), ageing, stations moving, local delivery to the bridge's
 * own address, static entries, the FDB limit, port management, and hosts
 * exchanging frames through it. Real NICs, drivers and wires, under TestClock.
 */
import { describe, expect, it } from "@effect/vitest"
import type { NetDevice } from "@netstack/l2"
import { BridgeDevice, BridgeError, type FdbCounters, ForwardingDatabase } from "@netstack/l2"
import { stubDevice } from "@netstack/l2/testing"
import { BROADCAST_MAC } from "@netstack/wire"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import { type EndHost, frame, makeBridgedLan } from "./support/bridged-lan.ts"
import { addInterface, makeHost, settle } from "./support/lan.ts"

const send = (from: EndHost, destination: number, tag: number, source = from.mac): void =>
  from.host.link.transmit(from.eth, frame(destination, source, tag))

const SECOND = 1_000_000

describe("bridge learning and forwarding", () => {
  it.effect("floods an unknown destination, learns the source, then forwards out exactly one port", () =>
    Effect.gen(function*() {
      const lan = yield* makeBridgedLan(4)
      const [a, b] = lan.hosts
      send(a, b.mac, 1) // B unknown: flooded to every port but A's
      yield* settle
      expect(lan.egress(1)).toEqual(["eth1", "eth2", "eth3"])
      expect(lan.bridge.lookup(a.mac)?.port?.name).toBe("eth0")
      send(b, a.mac, 2) // A learned: out eth0 only
      yield* settle
      expect(lan.egress(2)).toEqual(["eth0"])
      send(a, b.mac, 3) // B learned now: out eth1 only
      yield* settle
      expect(lan.egress(3)).toEqual(["eth1"])
      expect(b.received.map((r) => r.tag)).toEqual([1, 3])
      expect(a.received.map((r) => r.tag)).toEqual([2])
      const c = lan.bridge.counters
      expect({ flooded: c.flooded, forwarded: c.forwarded, learned: c.learned, filtered: c.filtered }).toEqual({
        flooded: 1,
        forwarded: 2,
        learned: 2,
        filtered: 0
      })
      // the flooded frame reached the other hosts too, which dropped it as for another host
      expect(lan.hosts[2].host.link.drops.get("l2.otherhost")).toBe(1)
      expect(lan.local).toEqual([]) // unicast for others never goes up to the bridge's own stack
    }))

  it.effect("floods broadcast and multicast to every other port and delivers them locally", () =>
    Effect.gen(function*() {
      const lan = yield* makeBridgedLan(4)
      const [, , c] = lan.hosts
      send(c, BROADCAST_MAC, 7)
      send(c, 0x01005e000001, 8)
      yield* settle
      expect(lan.egress(7)).toEqual(["eth0", "eth1", "eth3"])
      expect(lan.egress(8)).toEqual(["eth0", "eth1", "eth3"])
      for (const i of [0, 1, 3]) {
        expect(lan.hosts[i].received.map((r) => [r.tag, r.packetType])).toEqual([[7, "broadcast"], [8, "multicast"]])
      }
      expect(c.received).toEqual([])
      expect(lan.local.map((l) => [l.device, l.tag, l.packetType])).toEqual([["br0", 7, "broadcast"], ["br0", 8, "multicast"]])
      expect(lan.bridge.counters.flooded).toBe(2)
      expect(lan.bridge.counters.deliveredLocally).toBe(2)
    }))

  it.effect("never sends a frame back out the port it came in on: a destination on the ingress port is filtered", () =>
    Effect.gen(function*() {
      const lan = yield* makeBridgedLan(3)
      const [a] = lan.hosts
      const behindA = 0x0200000000a2 // a second station on A's segment
      send(a, BROADCAST_MAC, 1) // learns A on eth0
      send(a, a.mac, 2, behindA) // A2 -> A: both on eth0
      yield* settle
      expect(lan.egress(1)).toEqual(["eth1", "eth2"])
      expect(lan.egress(2)).toEqual([])
      expect(lan.bridge.counters.filtered).toBe(1)
      expect(lan.bridge.lookup(behindA)?.port?.name).toBe("eth0")
      // no frame of any kind ever left through its ingress port
      expect(lan.taps.filter((s) => s.direction === "out" && s.device === "eth0")).toEqual([])
    }))

  it.effect("re-learns a station that moved to another port", () =>
    Effect.gen(function*() {
      const lan = yield* makeBridgedLan(3)
      const [a, b, c] = lan.hosts
      send(a, BROADCAST_MAC, 1)
      yield* settle
      expect(lan.bridge.lookup(a.mac)?.port?.name).toBe("eth0")
      send(b, BROADCAST_MAC, 2, a.mac) // A's address now shows up behind eth1
      yield* settle
      expect(lan.bridge.lookup(a.mac)?.port?.name).toBe("eth1")
      expect(lan.bridge.counters.moved).toBe(1)
      send(c, a.mac, 3)
      yield* settle
      expect(lan.egress(3)).toEqual(["eth1"])
    }))

  it.effect("ages out entries not refreshed within the ageing time, then floods again", () =>
    Effect.gen(function*() {
      const lan = yield* makeBridgedLan(3) // default 300 s
      const [a, b] = lan.hosts
      send(a, BROADCAST_MAC, 1)
      yield* settle
      yield* TestClock.adjust("299 seconds")
      send(b, a.mac, 2)
      yield* settle
      expect(lan.egress(2)).toEqual(["eth0"])
      yield* TestClock.adjust("1 seconds")
      yield* settle
      expect(lan.bridge.lookup(a.mac)).toBeUndefined()
      expect(lan.bridge.fdb().filter((e) => e.kind === "dynamic").map((e) => e.mac)).toEqual([b.mac])
      expect(lan.bridge.counters.aged).toBe(1)
      send(b, a.mac, 3)
      yield* settle
      expect(lan.egress(3)).toEqual(["eth0", "eth2"])
      // B was last seen at 300 s: it goes at 600 s, not before
      yield* TestClock.adjust("299 seconds")
      expect(lan.bridge.lookup(b.mac)?.port?.name).toBe("eth1")
      yield* TestClock.adjust("1 seconds")
      yield* settle
      expect(lan.bridge.lookup(b.mac)).toBeUndefined()
      expect(lan.bridge.learnedCount).toBe(0)
      expect(lan.bridge.counters.aged).toBe(2)
    }))

  it.effect("keeps an entry that is refreshed by traffic, and a shorter ageing time applies at once", () =>
    Effect.gen(function*() {
      const lan = yield* makeBridgedLan(2, { ageingTimeMicros: 10 * SECOND })
      const [a] = lan.hosts
      for (let i = 0; i < 5; i++) {
        send(a, BROADCAST_MAC, i)
        yield* settle
        yield* TestClock.adjust("6 seconds")
      }
      expect(lan.bridge.lookup(a.mac)?.port?.name).toBe("eth0")
      expect(lan.bridge.counters.aged).toBe(0)
      expect(lan.bridge.setAgeingTime(5 * SECOND)).toBeUndefined()
      expect(lan.bridge.lookup(a.mac)).toBeUndefined()
      expect(lan.bridge.counters.aged).toBe(1)
      expect(lan.bridge.setAgeingTime(-1)).toBeInstanceOf(BridgeError)
    }))
})

describe("bridge local delivery and transmit", () => {
  it.effect("delivers frames for the bridge's own address to a protocol handler, as received on the bridge", () =>
    Effect.gen(function*() {
      const BR = 0x02000000bb01
      const lan = yield* makeBridgedLan(3, { mac: BR })
      const [a] = lan.hosts
      send(a, BR, 5)
      yield* settle
      expect(lan.local).toEqual([{ device: "br0", direction: "rx", destination: BR, source: a.mac, tag: 5, packetType: "host" }])
      expect(lan.egress(5)).toEqual([])
      expect(lan.taps.filter((s) => s.tag === 5).map((s) => `${s.device} ${s.direction}`)).toEqual(["eth0 in", "br0 in"])
      expect(lan.bridge.stats.rxPackets).toBe(1)
      expect(lan.bridge.counters.deliveredLocally).toBe(1)
    }))

  it.effect("sends the bridge's own frames by the FDB, or floods them to every port", () =>
    Effect.gen(function*() {
      const BR = 0x02000000bb01
      const lan = yield* makeBridgedLan(3, { mac: BR })
      const [a, b] = lan.hosts
      lan.sw.link.transmit(lan.bridge, frame(b.mac, BR, 1)) // unknown: every port
      yield* settle
      expect(lan.egress(1)).toEqual(["eth0", "eth1", "eth2"])
      send(b, BR, 2)
      yield* settle
      lan.sw.link.transmit(lan.bridge, frame(b.mac, BR, 3)) // learned: eth1 only
      lan.sw.link.transmit(lan.bridge, frame(BROADCAST_MAC, BR, 4))
      yield* settle
      expect(lan.egress(3)).toEqual(["eth1"])
      expect(lan.egress(4)).toEqual(["eth0", "eth1", "eth2"])
      expect(a.received.map((r) => r.tag)).toEqual([4])
      expect(b.received.map((r) => r.tag)).toEqual([1, 3, 4])
      expect(lan.bridge.stats.txPackets).toBe(3)
      // taps saw each frame on the bridge, then on the ports it left by
      expect(lan.taps.filter((s) => s.tag === 3).map((s) => `${s.device} ${s.direction}`)).toEqual(["br0 out", "eth1 out"])
    }))

  it.effect("a promiscuous bridge also delivers what it forwards", () =>
    Effect.gen(function*() {
      const lan = yield* makeBridgedLan(2)
      const [a, b] = lan.hosts
      lan.bridge.promiscuous = true
      send(a, b.mac, 1)
      yield* settle
      expect(lan.egress(1)).toEqual(["eth1"])
      expect(lan.local.map((l) => [l.tag, l.packetType])).toEqual([[1, "otherhost"]])
    }))

  it.effect("the bridge's address is the lowest port address unless set", () =>
    Effect.gen(function*() {
      const lan = yield* makeBridgedLan(3)
      expect(lan.bridge.mac).toBe(0x02000000ff01)
      expect(lan.bridge.mtu).toBe(1500)
      expect(lan.bridge.carrier()).toBe(true)
    }))
})

describe("bridge filtering rules", () => {
  it.effect("drops frames with a group or zero source address, and PAUSE frames", () =>
    Effect.gen(function*() {
      const lan = yield* makeBridgedLan(3)
      const [a] = lan.hosts
      send(a, BROADCAST_MAC, 1, 0x010000000001)
      send(a, BROADCAST_MAC, 2, 0)
      send(a, 0x0180c2000001, 3)
      yield* settle
      expect(lan.egress(1)).toEqual([])
      expect(lan.egress(2)).toEqual([])
      expect(lan.egress(3)).toEqual([])
      expect(lan.sw.link.drops.get("bridge.invalid-source")).toBe(2)
      expect(lan.sw.link.drops.get("bridge.pause-frame")).toBe(1)
      expect(lan.ports[0].stats.rxDropped).toBe(3)
      expect(lan.bridge.learnedCount).toBe(0)
    }))

  it.effect("does not forward IEEE 802.1D reserved link-local frames: they go to the port's own protocols", () =>
    Effect.gen(function*() {
      const lan = yield* makeBridgedLan(3)
      const [a] = lan.hosts
      send(a, 0x0180c200000e, 4) // LLDP
      send(a, 0x0180c2000000, 5) // STP group address: no STP here, so flooded
      yield* settle
      expect(lan.egress(4)).toEqual([])
      expect(lan.local.filter((l) => l.tag === 4).map((l) => [l.device, l.packetType])).toEqual([["eth0", "multicast"]])
      expect(lan.egress(5)).toEqual(["eth1", "eth2"])
      expect(lan.bridge.counters.passedToPort).toBe(1)
    }))

  it.effect("static entries are neither moved by learning nor aged; removing one floods again", () =>
    Effect.gen(function*() {
      const lan = yield* makeBridgedLan(3)
      const [a, b, c] = lan.hosts
      const S = 0x0200000000cc
      expect(lan.bridge.addStaticEntry(S, lan.ports[2])).toBeUndefined()
      send(a, BROADCAST_MAC, 1, S) // S seen on eth0: ignored, S is static on eth2
      yield* settle
      yield* TestClock.adjust("1 hour")
      send(b, S, 2)
      yield* settle
      expect(lan.egress(2)).toEqual(["eth2"])
      expect(lan.bridge.lookup(S)?.kind).toBe("static")
      expect(lan.bridge.removeEntry(S)).toBeUndefined()
      send(b, S, 3)
      yield* settle
      expect(lan.egress(3)).toEqual(["eth0", "eth2"])
      // 2 and 3 reached C's segment (where S is said to be) but were for S: C's stack dropped them
      expect(c.received.map((r) => r.tag)).toEqual([1])
      expect(c.host.link.drops.get("l2.otherhost")).toBe(2)
      expect(lan.bridge.addStaticEntry(BROADCAST_MAC, lan.ports[0])?.reason).toBe("bad-address")
      expect(lan.bridge.removeEntry(lan.ports[0].mac)?.reason).toBe("not-found") // local entries stay
    }))

  it.effect("learns at most maxLearned addresses, counting the rest, and floods to those", () =>
    Effect.gen(function*() {
      const lan = yield* makeBridgedLan(3, { maxLearned: 2 })
      const [a, b] = lan.hosts
      for (let i = 0; i < 4; i++) send(a, BROADCAST_MAC, i, 0x020000001000 + i)
      yield* settle
      expect(lan.bridge.learnedCount).toBe(2)
      expect(lan.bridge.counters.learnLimitHits).toBe(2)
      send(b, 0x020000001003, 9)
      yield* settle
      expect(lan.egress(9)).toEqual(["eth0", "eth2"])
    }))
})

describe("bridge ports", () => {
  it.effect("refuses bridges, loopbacks, busy devices and unknown devices; removing a port unhooks and flushes it", () =>
    Effect.gen(function*() {
      const lan = yield* makeBridgedLan(2)
      const other = yield* BridgeDevice.make({ link: lan.sw.link, timers: lan.sw.timers })
      expect(other.name).toBe("br1")
      expect(lan.bridge.addPort(lan.bridge)?.reason).toBe("loop")
      expect(lan.bridge.addPort(other)?.reason).toBe("loop")
      expect(other.addPort(lan.ports[0])?.reason).toBe("busy")
      const stranger = yield* addInterface(yield* makeHost(), { mac: 0x020000000777 })
      expect(lan.bridge.addPort(stranger)?.reason).toBe("unknown-device")
      const loopback = stubDevice(lan.ports[0].name, lan.ports[0].ifindex, { kind: "loopback" })
      expect(lan.bridge.addPort(loopback)?.reason).toBe("not-ethernet")
      expect(lan.ports[0].promiscuous).toBe(true)

      const [a, b] = lan.hosts
      send(a, BROADCAST_MAC, 1)
      yield* settle
      expect(lan.bridge.removePort(lan.ports[0])).toBeUndefined()
      expect(lan.ports[0].rxHandler).toBeUndefined()
      expect(lan.ports[0].promiscuous).toBe(false)
      expect(lan.bridge.lookup(a.mac)).toBeUndefined()
      expect(lan.bridge.removePort(lan.ports[0])?.reason).toBe("not-a-port")
      // eth0 is a plain interface again: frames arriving on it go to the switch's own protocols
      send(a, lan.ports[0].mac, 2)
      send(b, BROADCAST_MAC, 3)
      yield* settle
      expect(lan.local.filter((l) => l.tag === 2).map((l) => l.device)).toEqual(["eth0"])
      expect(lan.egress(3)).toEqual([])
      expect(other.addPort(lan.ports[0])).toBeUndefined()
    }))

  it.effect("make refuses a taken name, a group address and a bad ageing time", () =>
    Effect.gen(function*() {
      const host = yield* makeHost()
      yield* BridgeDevice.make({ link: host.link, timers: host.timers, name: "sw" })
      const make = (options: Partial<Parameters<typeof BridgeDevice.make>[0]>) =>
        Effect.flip(BridgeDevice.make({ link: host.link, timers: host.timers, ...options }))
      const reasons = [
        yield* make({ name: "sw" }),
        yield* make({ mac: BROADCAST_MAC }),
        yield* make({ ageingTimeMicros: Number.NaN }),
        yield* make({ maxLearned: 1.5 })
      ].map((e) => e.reason)
      expect(reasons).toEqual(["name-taken", "bad-address", "bad-ageing-time", "bad-limit"])
    }))

  it.effect("bridge fdb show", () =>
    Effect.gen(function*() {
      const lan = yield* makeBridgedLan(2, { mac: 0x02000000bb01 })
      const [a] = lan.hosts
      send(a, BROADCAST_MAC, 1)
      yield* settle
      yield* TestClock.adjust("3 seconds")
      expect(lan.bridge.addStaticEntry(0x0200000000cc, lan.ports[1])).toBeUndefined()
      expect(lan.bridge.formatFdb()).toBe([
        "02:00:00:00:00:01 dev eth0 master br0",
        "02:00:00:00:00:cc dev eth1 master br0 static",
        "02:00:00:00:bb:01 dev br0 master br0 permanent",
        "02:00:00:00:ff:01 dev eth0 master br0 permanent",
        "02:00:00:00:ff:02 dev eth1 master br0 permanent"
      ].join("\n"))
      expect(lan.bridge.formatFdb({ statistics: true }).split("\n")[0]).toBe("02:00:00:00:00:01 dev eth0 used 3/3 master br0")
    }))
})

describe("hosts on a bridge", () => {
  it.effect("four hosts exchange frames: each gets exactly the frames sent to it, once", () =>
    Effect.gen(function*() {
      const lan = yield* makeBridgedLan(4)
      let tag = 0
      for (const from of lan.hosts) {
        for (const to of lan.hosts) {
          if (from === to) continue
          send(from, to.mac, tag++)
          yield* settle
        }
      }
      for (const to of lan.hosts) {
        expect(to.received.map((r) => [r.source, r.packetType])).toEqual(
          lan.hosts.filter((h) => h !== to).map((h) => [h.mac, "host"])
        )
      }
      // a frame is flooded only while its destination has not sent anything yet:
      // host 0 floods to 1, 2, 3; host 1 to 2, 3; host 2 to 3; host 3's frames all go out one port
      const c = lan.bridge.counters
      expect(c.flooded + c.forwarded).toBe(12)
      expect(c.flooded).toBe(6)
      expect(lan.bridge.learnedCount).toBe(4)
      expect(lan.bridge.fdb().filter((e) => e.kind === "dynamic").map((e) => [e.mac, e.port?.name])).toEqual(
        lan.hosts.map((h, i) => [h.mac, `eth${i}`])
      )
      expect(lan.sw.link.drops.total).toBe(0)
    }))
})

describe("forwarding database model", () => {
  // the model: per address, the last port and time it was seen; at most maxLearned entries; expired ones
  // are absent to lookups and make room only once swept or re-learned
  it("agrees with a simple model under random learning, lookups and time", () => {
    const ports: ReadonlyArray<NetDevice> = [0, 1, 2].map((i) => stubDevice(`p${i}`, i + 1, { mac: 0x020000009000 + i }))
    const op = fc.oneof(
      fc.record({ kind: fc.constant("learn" as const), mac: fc.integer({ min: 1, max: 6 }), port: fc.integer({ min: 0, max: 2 }) }),
      fc.record({ kind: fc.constant("tick" as const), micros: fc.integer({ min: 0, max: 40 }) }),
      fc.record({ kind: fc.constant("expire" as const) })
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.integer({ min: 1, max: 6 }), (ops, maxLearned) => {
        const counters: FdbCounters = { learned: 0, moved: 0, aged: 0, learnLimitHits: 0, ownAddressSeen: 0 }
        const fdb = new ForwardingDatabase(counters, 50, maxLearned)
        const model = new Map<number, { port: number; at: number }>()
        let now = 0
        const live = (at: number) => now - at < 50
        for (const o of ops) {
          if (o.kind === "tick") now += o.micros
          else if (o.kind === "expire") {
            fdb.expire(now)
            for (const [mac, m] of [...model]) if (!live(m.at)) model.delete(mac)
          }
          else {
            const known = model.get(o.mac)
            if (known !== undefined && !live(known.at)) model.delete(o.mac)
            if (model.has(o.mac) || model.size < maxLearned) model.set(o.mac, { port: o.port, at: now })
            fdb.learn(o.mac, ports[o.port], now)
          }
          // the table never holds more dynamic entries than the bound
          if (fdb.learnedCount > maxLearned) return false
          for (let mac = 1; mac <= 6; mac++) {
            const m = model.get(mac)
            const expected = m !== undefined && live(m.at) ? ports[m.port] : undefined
            if (fdb.find(mac, now)?.port !== expected) return false
          }
        }
        return true
      })
    )
  })
})
