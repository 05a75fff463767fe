/**
 * Hosts and a router in one process, under TestClock: ping across the
 * router (ARP first, queued requests released in order), TTL expiry, no
 * route, fragmentation with reassembly, DF with fragmentation-needed and the
 * path-MTU cache, ARP failure as host unreachable, and each filter verdict.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { Network, whileClockAdvances } from "@netstack/stack"
import { counters, ip, triangle } from "./support/topology.ts"

describe("ping across a router", () => {
  it.effect("resolves ARP, forwards, and replies with the round trip of four 1 ms hops plus ARP", () =>
    Effect.gen(function*() {
      const { a, b, r } = yield* triangle()
      const first = yield* whileClockAdvances(a.ping("10.0.2.1"))
      expect(first._tag).toBe("Success")
      if (first._tag === "Success") {
        expect(first.success).toMatchObject({ from: "10.0.2.1", bytes: 64, ttl: 63, intact: true })
        // ARP (2 round trips of 1 ms on each side) then the echo (4 hops of 1 ms)
        expect(first.success.rttMicros).toBeGreaterThanOrEqual(4000)
      }
      const second = yield* whileClockAdvances(a.ping("10.0.2.1", { sequence: 2 }))
      expect(second._tag === "Success" ? second.success.rttMicros : -1).toBe(4000)
      expect(r.ipv4.stats.ForwDatagrams).toBe(4)
      expect(b.icmp.stats.InEchos).toBe(2)
      expect(b.icmp.stats.OutEchoReps).toBe(2)
    }))

  it.effect("sends requests queued during ARP resolution, in order", () =>
    Effect.gen(function*() {
      const { a } = yield* triangle()
      const pings = yield* Effect.forkChild(
        Effect.all(Array.from({ length: 5 }, (_, i) => a.ping("10.0.1.254", { sequence: i + 1 })), { concurrency: "unbounded" })
      )
      for (let i = 0; i < 20; i++) yield* TestClock.adjust("1 millis")
      const replies = yield* Fiber.join(pings)
      expect(replies.map((reply) => reply.sequence)).toEqual([1, 2, 3, 4, 5])
    }))

  it.effect("a TTL that expires at the router comes back as time exceeded from the router", () =>
    Effect.gen(function*() {
      const { a, r } = yield* triangle()
      const result = yield* whileClockAdvances(a.ping("10.0.2.1", { ttl: 1 }))
      expect(result._tag === "Failure" ? result.failure : undefined).toMatchObject({ reason: "time-exceeded", from: "10.0.1.254" })
      expect(r.icmp.stats.OutTimeExcds).toBe(1)
      // counted as a header error (Linux ip_forward's too_many_hops), not as a discard of a good datagram
      expect(r.ipv4.stats).toMatchObject({ InHdrErrors: 1, InDiscards: 0, ForwDatagrams: 0 })
    }))

  it.effect("no route: the sender is told at once; a router without a route answers net unreachable", () =>
    Effect.gen(function*() {
      const net = Network.make()
      const a = yield* net.host("a")
      const r = yield* net.router("r")
      yield* net.link(a, r, { a: "10.0.1.1/24", b: "10.0.1.254/24" })
      const local = yield* whileClockAdvances(a.ping("192.0.2.1"))
      expect(local._tag === "Failure" ? local.failure : undefined).toMatchObject({ reason: "send-failed", detail: "no-route" })
      a.addRoute({ destination: "default", via: "10.0.1.254" })
      const remote = yield* whileClockAdvances(a.ping("192.0.2.1"))
      expect(remote._tag === "Failure" ? remote.failure : undefined).toMatchObject({ reason: "unreachable", from: "10.0.1.254", detail: "ICMP type 3 code 0" })
      expect(r.ipv4.stats.InNoRoutes).toBe(1)
    }))

  it.effect("an address nobody answers ARP for gives host unreachable after three requests", () =>
    Effect.gen(function*() {
      const { a } = yield* triangle()
      const result = yield* whileClockAdvances(a.ping("10.0.1.77", { timeout: "10 seconds" }))
      expect(result._tag === "Failure" ? result.failure : undefined).toMatchObject({ reason: "unreachable", detail: "ICMP type 3 code 1" })
    }))
})

describe("fragmentation", () => {
  it.effect("a ping larger than the MTU is fragmented, reassembled and answered intact", () =>
    Effect.gen(function*() {
      const { a, b, r } = yield* triangle({ mtuRB: 576 })
      const result = yield* whileClockAdvances(a.ping("10.0.2.1", { size: 4000 }))
      expect(result._tag === "Success" ? result.success : undefined).toMatchObject({ bytes: 4008, intact: true })
      expect(a.ipv4.stats.FragOKs).toBe(1)
      expect(r.ipv4.stats.FragOKs).toBe(3) // the router refragmented each of a's three fragments (1500, 1500, 1068 bytes) for the 576-byte link
      expect(b.ipv4.stats.FragOKs).toBe(1) // b's reply left in 576-byte fragments, which r forwarded as they were
      expect(b.ipv4.reassembler.stats.ReasmOKs).toBeGreaterThanOrEqual(1)
    }))

  it.effect("DF over a smaller MTU: the router answers fragmentation needed with the next-hop MTU, the sender caches it", () =>
    Effect.gen(function*() {
      const { a, r } = yield* triangle({ mtuRB: 576 })
      const result = yield* whileClockAdvances(a.ping("10.0.2.1", { size: 1000, dontFragment: true }))
      expect(result._tag === "Failure" ? result.failure : undefined).toMatchObject({
        reason: "unreachable",
        detail: "ICMP type 3 code 4",
        icmpType: 3,
        icmpCode: 4,
        mtu: 576,
        from: "10.0.1.254"
      })
      // ip_forward refused it before forwarding it: not counted as forwarded (RFC 1812 §5.2.6)
      expect(r.ipv4.stats).toMatchObject({ ForwDatagrams: 0, FragFails: 1, InDiscards: 0 })
      expect(a.ipv4.pmtu.get(ip("10.0.2.1"), a.timers.now())).toBe(576)
      // the next DF ping larger than the cached path MTU fails locally, before anything is counted as sent
      const sent = { ip: a.ipv4.stats.OutRequests, icmp: a.icmp.stats.OutEchos }
      const again = yield* whileClockAdvances(a.ping("10.0.2.1", { size: 1000, dontFragment: true }))
      expect(again._tag === "Failure" ? again.failure : undefined).toMatchObject({ reason: "send-failed", detail: "message-too-big", mtu: 576 })
      expect({ ip: a.ipv4.stats.OutRequests, icmp: a.icmp.stats.OutEchos }).toEqual(sent)
      // one that fits the path MTU goes through
      const fits = yield* whileClockAdvances(a.ping("10.0.2.1", { size: 500, dontFragment: true }))
      expect(fits._tag === "Success" ? fits.success.intact : false).toBe(true)
    }))
})

describe("filter hooks", () => {
  it.effect("each verdict: accept passes, drop is silent, reject answers; the rules count", () =>
    Effect.gen(function*() {
      const { a, r, b } = yield* triangle()
      expect((yield* whileClockAdvances(a.ping("10.0.2.1")))._tag).toBe("Success")

      r.ipv4.filter.append("forward", { match: { protocol: 1, destination: { address: ip("10.0.2.1"), prefixLength: 32 } }, verdict: "drop" })
      const dropped = yield* whileClockAdvances(a.ping("10.0.2.1", { sequence: 2 }))
      expect(dropped._tag === "Failure" ? dropped.failure.reason : "").toBe("timeout")

      r.ipv4.filter.flush("forward")
      r.ipv4.filter.append("forward", { match: { protocol: 1 }, verdict: "reject", rejectWith: "icmp-admin-prohibited" })
      const rejected = yield* whileClockAdvances(a.ping("10.0.2.1", { sequence: 3 }))
      expect(rejected._tag === "Failure" ? rejected.failure : undefined).toMatchObject({ reason: "unreachable", detail: "ICMP type 3 code 13" })

      r.ipv4.filter.flush("forward")
      b.ipv4.filter.append("input", { match: { protocol: 1 }, verdict: "drop" })
      expect((yield* whileClockAdvances(a.ping("10.0.2.1", { sequence: 4 })))._tag).toBe("Failure")
      expect(b.ipv4.filter.list("input")[0]?.packets).toBe(1)

      a.ipv4.filter.append("output", { match: { protocol: 1 }, verdict: "drop" })
      const local = yield* whileClockAdvances(a.ping("10.0.2.1", { sequence: 5 }))
      expect(local._tag === "Failure" ? local.failure : undefined).toMatchObject({ reason: "send-failed", detail: "filtered" })
      expect(counters(a).drops["filter.output.drop"]).toBe(1)
    }))
})

describe("loopback", () => {
  it.effect("a host pings itself through lo", () =>
    Effect.gen(function*() {
      const net = Network.make()
      const a = yield* net.host("a")
      const result = yield* whileClockAdvances(a.ping("127.0.0.1"))
      expect(result._tag === "Success" ? result.success : undefined).toMatchObject({ from: "127.0.0.1", intact: true })
    }))
})
