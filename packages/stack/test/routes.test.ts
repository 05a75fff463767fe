/**
 * Routing across whole hosts (RFC 1812 §5.2.4.3; Linux `fib_lookup`): the
 * longest matching prefix wins over the default route, the lowest metric
 * wins among routes to the same prefix, and removing a route moves the
 * traffic to the next one; what carried each packet is read from the wires'
 * counters. At a router, unreachable, prohibit and blackhole routes answer
 * host unreachable, administratively prohibited, or nothing (RFC 1812
 * §5.2.7.1), each counted. (No route at all is in ping.test.ts.)
 */
import { describe, expect, it } from "@effect/vitest"
import type { Wire } from "@netstack/device"
import { makeRoute } from "@netstack/l3"
import { advanceClock, Network, whileClockAdvances } from "@netstack/stack"
import { Duration, Effect } from "effect"
import { ip, triangle } from "./support/topology.ts"

const delay = { delay: Duration.millis(1) }

/**
 * h has two ways to the LAN 10.0.3.0/24 (d 10.0.3.1, e 10.0.3.200): eth0 to
 * r1 (10.0.1.0/24, wire w1) and eth1 to r2 (10.0.2.0/24, wire w2); r1, r2,
 * d and e share a hub. d and e answer h through the router of h's address.
 */
const twoPaths = Effect.gen(function*() {
  const net = Network.make()
  const h = yield* net.host("h")
  const r1 = yield* net.router("r1")
  const r2 = yield* net.router("r2")
  const d = yield* net.host("d")
  const e = yield* net.host("e")
  const w1 = (yield* net.link(h, r1, { a: "10.0.1.1/24", b: "10.0.1.254/24", impairments: delay })).wire
  const w2 = (yield* net.link(h, r2, { a: "10.0.2.1/24", b: "10.0.2.254/24", impairments: delay })).wire
  yield* net.lan([[r1, "10.0.3.254/24"], [r2, "10.0.3.253/24"], [d, "10.0.3.1/24"], [e, "10.0.3.200/24"]])
  for (const host of [d, e]) {
    host.addRoute({ destination: "10.0.1.0/24", via: "10.0.3.254" })
    host.addRoute({ destination: "10.0.2.0/24", via: "10.0.3.253" })
  }
  yield* advanceClock(5) // the NICs send the gratuitous ARPs of the new addresses
  return { h, r1, r2, d, e, w1, w2 }
})

/** Frames h sent into each wire during `effect`, and its result. */
const carriedBy = <A, E>(w1: Wire, w2: Wire, effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const before = [w1.counters("aToB").sent, w2.counters("aToB").sent]
    const result = yield* whileClockAdvances(effect)
    return { result, w1: w1.counters("aToB").sent - before[0], w2: w2.counters("aToB").sent - before[1] }
  })

describe("route selection", () => {
  it.effect("the lowest metric wins among routes to one prefix; deleting it moves the traffic to the next", () =>
    Effect.gen(function*() {
      const { h, r1, r2, w1, w2 } = yield* twoPaths
      h.addRoute({ destination: "10.0.3.0/24", via: "10.0.1.254", metric: 20 })
      h.addRoute({ destination: "10.0.3.0/24", via: "10.0.2.254", metric: 10 })
      const viaR2 = yield* carriedBy(w1, w2, h.ping("10.0.3.1"))
      expect(viaR2.result._tag === "Success" ? viaR2.result.success : viaR2.result.failure).toMatchObject({ from: "10.0.3.1", ttl: 63 })
      expect({ w1: viaR2.w1, w2: viaR2.w2 }).toEqual({ w1: 0, w2: 2 }) // ARP request for r2, then the echo request
      expect(r2.ipv4.stats.ForwDatagrams).toBe(2) // the request in, the reply out
      expect(r1.ipv4.stats.ForwDatagrams).toBe(0)

      expect(h.ipv4.fib.delete({ destination: ip("10.0.3.0"), prefixLength: 24, metric: 10 })).toBe(1)
      const viaR1 = yield* carriedBy(w1, w2, h.ping("10.0.3.1", { sequence: 2 }))
      expect(viaR1.result._tag).toBe("Success")
      expect({ w1: viaR1.w1, w2: viaR1.w2 }).toEqual({ w1: 2, w2: 0 })
      expect(r1.ipv4.stats.ForwDatagrams).toBe(2)
    }))

  it.effect("a more specific route wins over the default route (longest prefix match)", () =>
    Effect.gen(function*() {
      const { h, w1, w2 } = yield* twoPaths
      h.addRoute({ destination: "default", via: "10.0.1.254" })
      h.addRoute({ destination: "10.0.3.0/25", via: "10.0.2.254", metric: 100 })
      const inside = yield* carriedBy(w1, w2, h.ping("10.0.3.1"))
      expect(inside.result._tag).toBe("Success")
      expect({ w1: inside.w1, w2: inside.w2 }).toEqual({ w1: 0, w2: 2 })
      const outside = yield* carriedBy(w1, w2, h.ping("10.0.3.200"))
      expect(outside.result._tag === "Success" ? outside.result.success : outside.result.failure).toMatchObject({ from: "10.0.3.200" })
      expect({ w1: outside.w1, w2: outside.w2 }).toEqual({ w1: 2, w2: 0 })
      // a /32 beats both
      h.addRoute({ destination: "10.0.3.1/32", via: "10.0.1.254", metric: 500 })
      const host = yield* carriedBy(w1, w2, h.ping("10.0.3.1", { sequence: 2 }))
      expect(host.result._tag).toBe("Success")
      expect({ w1: host.w1, w2: host.w2 }).toEqual({ w1: 1, w2: 0 }) // r1 is resolved already: the echo request alone
    }))
})

describe("route types at a router", () => {
  it.effect("unreachable answers host unreachable, prohibit answers admin prohibited, blackhole is silent; each counted", () =>
    Effect.gen(function*() {
      const { a, r } = yield* triangle()
      const add = (destination: string, type: "unreachable" | "prohibit" | "blackhole") =>
        expect(r.ipv4.fib.add(makeRoute({ destination: ip(destination), prefixLength: 24, type }))).toBeUndefined()
      add("192.0.2.0", "unreachable")
      add("198.51.100.0", "prohibit")
      add("203.0.113.0", "blackhole")

      const unreachable = yield* whileClockAdvances(a.ping("192.0.2.1"))
      expect(unreachable._tag === "Failure" ? unreachable.failure : undefined).toMatchObject({
        reason: "unreachable",
        from: "10.0.1.254",
        detail: "ICMP type 3 code 1"
      })
      const prohibited = yield* whileClockAdvances(a.ping("198.51.100.1"))
      expect(prohibited._tag === "Failure" ? prohibited.failure : undefined).toMatchObject({
        reason: "unreachable",
        from: "10.0.1.254",
        detail: "ICMP type 3 code 13"
      })
      const blackholed = yield* whileClockAdvances(a.ping("203.0.113.1"))
      expect(blackholed._tag === "Failure" ? blackholed.failure.reason : undefined).toBe("timeout")
      expect(r.ipv4.stats.InNoRoutes).toBe(3)
      expect(r.icmp.stats.OutDestUnreachs).toBe(2)
      expect(r.link.drops.get("ipv4.no-route")).toBe(3)
    }))

  it.effect("the same route types on the sending host fail the send at once", () =>
    Effect.gen(function*() {
      const { a } = yield* triangle()
      for (const [destination, type] of [["192.0.2.0", "unreachable"], ["198.51.100.0", "prohibit"], ["203.0.113.0", "blackhole"]] as const) {
        expect(a.ipv4.fib.add(makeRoute({ destination: ip(destination), prefixLength: 24, type }))).toBeUndefined()
      }
      const details = []
      for (const destination of ["192.0.2.1", "198.51.100.1", "203.0.113.1"]) {
        const result = yield* whileClockAdvances(a.ping(destination))
        const failure = result._tag === "Failure" && result.failure._tag === "PingError" ? result.failure : undefined
        details.push(failure === undefined ? "other" : `${failure.reason}:${failure.detail ?? ""}`)
      }
      // EHOSTUNREACH, EACCES, and a blackhole's EINVAL reported as no route
      expect(details).toEqual(["send-failed:unreachable", "send-failed:prohibited", "send-failed:no-route"])
    }))
})
