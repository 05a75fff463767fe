/**
 * Every typed error produced for real between two hosts, with its errno:
 * refused by the RST of a closed port, timed out on a partitioned wire,
 * reset by the peer's abortive close, address in use, network and host
 * unreachable, not connected, closed, invalid argument, and the ICMP port
 * unreachable a connected UDP socket hears as ECONNREFUSED.
 */
import { describe, expect, it } from "@effect/vitest"
import { advanceClock, whileClockAdvances } from "@netstack/stack"
import { Effect, Fiber, Result } from "effect"
import { pair } from "./support/pair.ts"

/** The reason and errno of a failed result. */
const failure = <A>(result: Result.Result<A, { readonly reason: string; readonly errno: string }>) =>
  Result.isFailure(result) ? { reason: result.failure.reason, errno: result.failure.errno } : "succeeded"

describe("socket errors", () => {
  it.effect("a closed port answers the SYN with RST: ECONNREFUSED", () =>
    Effect.gen(function*() {
      const { sa } = yield* pair()
      const result = yield* whileClockAdvances(Effect.scoped(sa.connect({ address: "10.0.0.2", port: 81 })))
      expect(failure(result)).toEqual({ reason: "connection-refused", errno: "ECONNREFUSED" })
    }))

  it.effect("SYNs into a partitioned wire: ETIMEDOUT after the SYN retries, or at the connect timeout", () =>
    Effect.gen(function*() {
      const { a, sa, wire } = yield* pair({ tcp: { synRetries: 2 } })
      // Resolve b's address first: with ARP unanswered the attempt would end as EHOSTUNREACH instead.
      expect((yield* whileClockAdvances(a.ping("10.0.0.2")))._tag).toBe("Success")
      wire.partition()
      // RFC 6298 §5.5: 1 s, then 2 s, then 4 s: given up 7 s after the first SYN.
      const retries = yield* whileClockAdvances(Effect.scoped(sa.connect({ address: "10.0.0.2", port: 80 })), 20_000, 10)
      expect(failure(retries)).toEqual({ reason: "timed-out", errno: "ETIMEDOUT" })
      const limited = yield* whileClockAdvances(Effect.scoped(sa.connect({ address: "10.0.0.2", port: 80 }, { timeout: "500 millis" })), 2_000, 10)
      expect(failure(limited)).toEqual({ reason: "timed-out", errno: "ETIMEDOUT" })
    }))

  it.effect("the peer's abortive close (SO_LINGER 0) resets the connection: ECONNRESET on receive and send", () =>
    Effect.gen(function*() {
      const { sa, sb } = yield* pair()
      const listener = yield* sb.listen({ port: 80 })
      const server = yield* Effect.forkChild(Effect.scoped(Effect.gen(function*() {
        const socket = yield* sb.accept(listener)
        yield* socket.setOptions({ linger: 0 })
      })))
      const result = yield* whileClockAdvances(Effect.scoped(Effect.gen(function*() {
        const socket = yield* sa.connect({ address: "10.0.0.2", port: 80 })
        yield* Fiber.join(server)
        const received = yield* Effect.result(sa.receive(socket))
        const sent = yield* Effect.result(sa.send(socket, new Uint8Array(10)))
        return { received: failure(received), sent: failure(sent) }
      })))
      expect(result).toEqual(Result.succeed({
        received: { reason: "connection-reset", errno: "ECONNRESET" },
        sent: { reason: "connection-reset", errno: "ECONNRESET" }
      }))
    }))

  it.effect("binding a port already bound: EADDRINUSE for listen and for UDP bind", () =>
    Effect.gen(function*() {
      const { sb } = yield* pair()
      yield* sb.listen({ port: 80 })
      expect(failure(yield* Effect.result(sb.listen({ port: 80 })))).toEqual({ reason: "address-in-use", errno: "EADDRINUSE" })
      yield* sb.bind({ port: 53 })
      expect(failure(yield* Effect.result(sb.bind({ port: 53 })))).toEqual({ reason: "address-in-use", errno: "EADDRINUSE" })
    }))

  it.effect("no route to the network: ENETUNREACH at once, for TCP and UDP", () =>
    Effect.gen(function*() {
      const { sa } = yield* pair()
      expect(failure(yield* Effect.result(sa.connect({ address: "192.168.7.1", port: 80 })))).toEqual({
        reason: "network-unreachable",
        errno: "ENETUNREACH"
      })
      const udp = yield* sa.bind()
      expect(failure(yield* Effect.result(sa.send(udp, new Uint8Array(4), { address: "192.168.7.1", port: 53 })))).toEqual({
        reason: "network-unreachable",
        errno: "ENETUNREACH"
      })
    }))

  it.effect("nobody answers ARP for the address: EHOSTUNREACH (RFC 1122 §2.3.2.1)", () =>
    Effect.gen(function*() {
      const { sa } = yield* pair()
      const result = yield* whileClockAdvances(Effect.scoped(sa.connect({ address: "10.0.0.3", port: 80 })), 20_000, 10)
      expect(failure(result)).toEqual({ reason: "host-unreachable", errno: "EHOSTUNREACH" })
    }))

  it.effect("not connected, closed, invalid argument: ENOTCONN, EBADF, EINVAL", () =>
    Effect.gen(function*() {
      const { sa } = yield* pair()
      const udp = yield* sa.bind()
      expect(failure(yield* Effect.result(udp.remoteAddress))).toEqual({ reason: "not-connected", errno: "ENOTCONN" })
      expect(failure(yield* Effect.result(sa.send(udp, new Uint8Array(1))))).toEqual({
        reason: "destination-required",
        errno: "EDESTADDRREQ"
      })
      yield* sa.close(udp)
      expect(failure(yield* Effect.result(sa.receive(udp)))).toEqual({ reason: "closed", errno: "EBADF" })
      expect(failure(yield* Effect.result(sa.connect({ address: "10.0.0.2", port: 70_000 })))).toEqual({
        reason: "invalid-argument",
        errno: "EINVAL"
      })
      expect(failure(yield* Effect.result(sa.connect({ address: "10.0.0", port: 80 })))).toEqual({
        reason: "invalid-argument",
        errno: "EINVAL"
      })
      expect(failure(yield* Effect.result(sa.bind({ port: 5 }, { receiveBuffer: -1 })))).toEqual({
        reason: "invalid-argument",
        errno: "EINVAL"
      })
    }))

  it.effect("a stream socket closed here: its blocked receive and later calls fail with EBADF", () =>
    Effect.gen(function*() {
      const { sa, sb } = yield* pair()
      const listener = yield* sb.listen({ port: 80 })
      yield* Effect.forkChild(Effect.scoped(Effect.andThen(sb.accept(listener), Effect.never)))
      const result = yield* whileClockAdvances(Effect.scoped(Effect.gen(function*() {
        const socket = yield* sa.connect({ address: "10.0.0.2", port: 80 })
        const reader = yield* Effect.forkChild(Effect.result(sa.receive(socket)))
        yield* advanceClock(5)
        yield* sa.close(socket)
        return { blocked: failure(yield* Fiber.join(reader)), later: failure(yield* Effect.result(sa.send(socket, new Uint8Array(1)))) }
      })))
      expect(result).toEqual(Result.succeed({
        blocked: { reason: "closed", errno: "EBADF" },
        later: { reason: "closed", errno: "EBADF" }
      }))
    }))

  it.effect("a connected UDP socket hears the peer's ICMP port unreachable as ECONNREFUSED (RFC 1122 §4.1.3.3)", () =>
    Effect.gen(function*() {
      const { sa } = yield* pair()
      const udp = yield* sa.bind()
      yield* udp.connect({ address: "10.0.0.2", port: 9 })
      yield* sa.send(udp, new Uint8Array(8))
      const result = yield* whileClockAdvances(sa.receive(udp), 1_000)
      expect(failure(result)).toEqual({ reason: "connection-refused", errno: "ECONNREFUSED" })
    }))
})
