/**
 * Hosts joined by a learning bridge (`Network.bridge`): they ping each
 * other; the bridge learns each host's MAC on the port it is wired to; once
 * learned, a unicast frame reaches only its destination's NIC (before that,
 * ARP broadcasts are flooded to all); the bridge's own address answers; and
 * wires, hubs and bridges mix in one topology with a router between them.
 * Real NICs, drivers and wires, under TestClock.
 */
import { describe, expect, it } from "@effect/vitest"
import type { EthernetDevice } from "@netstack/l2"
import { Network, whileClockAdvances } from "@netstack/stack"
import { Duration, Effect } from "effect"

const delay = { delay: Duration.millis(1) }

/** Frames each interface's NIC has received so far. */
const received = (devices: ReadonlyArray<EthernetDevice>): ReadonlyArray<number> =>
  devices.map((d) => d.driver.nic.stats()["rx_packets"] ?? 0)

const minus = (after: ReadonlyArray<number>, before: ReadonlyArray<number>): ReadonlyArray<number> =>
  after.map((n, i) => n - (before[i] ?? 0))

/** Four hosts h0..h3 (10.0.0.1..4/24) on one bridge, 1 ms wires; the bridge itself is 10.0.0.254. */
const fourOnABridge = Effect.gen(function*() {
  const net = Network.make()
  const hosts = [yield* net.host("h0"), yield* net.host("h1"), yield* net.host("h2"), yield* net.host("h3")]
  const lan = yield* net.bridge("sw", hosts.map((h, i) => [h, `10.0.0.${i + 1}/24`] as const), {
    impairments: delay,
    address: "10.0.0.254/24"
  })
  return { net, hosts, lan }
})

describe("hosts on a bridge", () => {
  it.effect("ping each other; the bridge learns every MAC on its port; learned unicast reaches only its destination", () =>
    Effect.gen(function*() {
      const { hosts, lan } = yield* fourOnABridge
      expect(lan.bridge.ports).toEqual(lan.ports)
      // the first ping: h0's ARP request is broadcast, so the bridge floods it to every other port
      const before = received(lan.devices)
      const first = yield* whileClockAdvances(hosts[0].ping("10.0.0.2"))
      expect(first._tag === "Success" ? first.success : undefined).toMatchObject({ from: "10.0.0.2", ttl: 64, intact: true })
      const flooded = minus(received(lan.devices), before)
      expect(flooded[2]).toBeGreaterThanOrEqual(1)
      expect(flooded[3]).toBeGreaterThanOrEqual(1)

      // every host pings every other one
      for (const [i, from] of hosts.entries()) {
        for (const j of hosts.keys()) {
          if (i === j) continue
          const result = yield* whileClockAdvances(from.ping(`10.0.0.${j + 1}`, { sequence: 10 * i + j }))
          expect(result._tag === "Success" ? result.success : result.failure, `h${i} → h${j}`).toMatchObject({
            from: `10.0.0.${j + 1}`,
            intact: true
          })
        }
      }
      // the FDB: each host's MAC on the port wired to it, each port's own MAC local
      for (const [i, device] of lan.devices.entries()) {
        expect(lan.bridge.lookup(device.mac)).toMatchObject({ kind: "dynamic", port: lan.ports[i] })
        expect(lan.bridge.lookup(lan.ports[i].mac)).toMatchObject({ kind: "local" })
      }
      expect(lan.bridge.learnedCount).toBe(4)

      // learned: h0 → h1 and back touches h0's and h1's NICs only, one frame each
      const counters = lan.bridge.counters
      const floodedBefore = counters.flooded
      const forwardedBefore = counters.forwarded
      const quiet = received(lan.devices)
      const again = yield* whileClockAdvances(hosts[0].ping("10.0.0.2", { sequence: 99 }))
      expect(again._tag).toBe("Success")
      expect(minus(received(lan.devices), quiet)).toEqual([1, 1, 0, 0])
      expect(counters.flooded).toBe(floodedBefore)
      expect(counters.forwarded).toBe(forwardedBefore + 2)
      expect(counters.filtered).toBe(0)
      // the bystanders saw only broadcasts (the ARP requests), never a frame for another host
      for (const bystander of [hosts[2], hosts[3]]) expect(bystander.link.drops.get("l2.otherhost")).toBe(0)
    }))

  it.effect("the bridge's own address answers, as an interface of the switch", () =>
    Effect.gen(function*() {
      const { hosts, lan } = yield* fourOnABridge
      const result = yield* whileClockAdvances(hosts[3].ping("10.0.0.254"))
      expect(result._tag === "Success" ? result.success : undefined).toMatchObject({ from: "10.0.0.254", intact: true })
      expect(lan.switch.icmp.stats.InEchos).toBe(1)
      expect(lan.bridge.counters.deliveredLocally).toBeGreaterThanOrEqual(2) // the ARP request and the echo request
    }))

  it.effect("wires, hubs and bridges in one network: a host on a bridge pings one on a hub through a router", () =>
    Effect.gen(function*() {
      const net = Network.make()
      const h0 = yield* net.host("h0")
      const h1 = yield* net.host("h1")
      const r = yield* net.router("r")
      const c = yield* net.host("c")
      const d = yield* net.host("d")
      const lan = yield* net.bridge("sw", [[h0, "10.0.1.1/24"], [h1, "10.0.1.2/24"], [r, "10.0.1.254/24"]], { impairments: delay })
      yield* net.link(r, c, { a: "10.0.2.254/24", b: "10.0.2.1/24", impairments: delay })
      yield* net.lan([[c, "10.0.3.1/24"], [d, "10.0.3.2/24"]], { impairments: delay })
      h0.addRoute({ destination: "default", via: "10.0.1.254" })
      c.addRoute({ destination: "10.0.1.0/24", via: "10.0.2.254" })
      r.addRoute({ destination: "10.0.3.0/24", via: "10.0.2.1" })
      d.addRoute({ destination: "default", via: "10.0.3.1" })
      c.ipv4.forwarding = true
      const result = yield* whileClockAdvances(h0.ping("10.0.3.2"))
      expect(result._tag === "Success" ? result.success : result.failure).toMatchObject({ from: "10.0.3.2", ttl: 62, intact: true })
      expect(net.hosts().map((h) => h.name)).toEqual(["h0", "h1", "r", "c", "d", "sw"])
      expect(lan.bridge.lookup(lan.devices[2].mac)?.port).toBe(lan.ports[2])
      expect(h1.icmp.stats.InEchos).toBe(0)
    }))
})
