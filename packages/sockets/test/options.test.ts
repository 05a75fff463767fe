/**
 * Socket options observably taking effect between two hosts: TCP_NODELAY
 * (small writes go out at once instead of waiting for the ACK, RFC 896),
 * SO_LINGER (0: close sends RST; a time: close waits for the FIN's ACK up
 * to it), SO_SNDBUF/SO_RCVBUF bound the data queued at each end,
 * SO_KEEPALIVE ends a silent connection, SO_REUSEADDR lets a restarted
 * server listen beside its TIME-WAIT connections, IP_TTL in the IP header.
 */
import { describe, expect, it } from "@effect/vitest"
import { advanceClock, whileClockAdvances } from "@netstack/stack"
import { Clock, Effect, Result } from "effect"
import { FIN, pair, pattern, RST, sentFrames, tcpFlags } from "./support/pair.ts"

/** TCP payload bytes of an Ethernet/IPv4/TCP frame (0 for anything else). */
const tcpPayload = (frame: Uint8Array): number => {
  if (tcpFlags(frame) === undefined) return 0
  const ihl = ((frame[14] ?? 0) & 0x0f) * 4
  const total = ((frame[16] ?? 0) << 8) | (frame[17] ?? 0)
  const dataOffset = ((frame[14 + ihl + 12] ?? 0) >> 4) * 4
  return total - ihl - dataOffset
}

describe("socket options", () => {
  it.effect("TCP_NODELAY: ten small writes leave at once as ten segments; with Nagle only the first does", () =>
    Effect.gen(function*() {
      const { sa, sb, a, devA } = yield* pair()
      yield* sb.listen({ port: 80 })
      const frames = sentFrames(a, devA)
      const segmentsAtOnce = (noDelay: boolean) =>
        Effect.gen(function*() {
          const socket = yield* sa.connect({ address: "10.0.0.2", port: 80 }, { noDelay })
          const before = frames.filter((f) => tcpPayload(f) > 0).length
          for (let i = 0; i < 10; i++) yield* sa.send(socket, pattern(10, i))
          return frames.filter((f) => tcpPayload(f) > 0).length - before
        })
      const nagle = yield* whileClockAdvances(Effect.scoped(segmentsAtOnce(false)))
      const noDelay = yield* whileClockAdvances(Effect.scoped(segmentsAtOnce(true)))
      // RFC 896 / RFC 1122 §4.2.3.4: while data is unacknowledged, small segments wait.
      expect(nagle).toEqual(Result.succeed(1))
      expect(noDelay).toEqual(Result.succeed(10))
    }))

  it.effect("SO_LINGER 0: close sends RST (abortive); without it close sends FIN", () =>
    Effect.gen(function*() {
      const { sa, sb, a, devA } = yield* pair()
      const listener = yield* sb.listen({ port: 80 })
      yield* Effect.forkChild(Effect.forever(Effect.scoped(Effect.andThen(sb.accept(listener), Effect.sleep(10_000)))))
      const frames = sentFrames(a, devA)
      const closeWith = (linger: number | undefined) =>
        Effect.gen(function*() {
          const socket = yield* Effect.scoped(sa.connect({ address: "10.0.0.2", port: 80 }, { linger }))
          yield* advanceClock(5)
          return socket.state
        })
      const before = frames.length
      const graceful = yield* whileClockAdvances(closeWith(undefined))
      const flagsGraceful = frames.slice(before).map((f) => tcpFlags(f) ?? 0)
      const middle = frames.length
      const abortive = yield* whileClockAdvances(closeWith(0))
      const flagsAbortive = frames.slice(middle).map((f) => tcpFlags(f) ?? 0)
      expect(flagsGraceful.some((f) => (f & FIN) !== 0)).toBe(true)
      expect(flagsGraceful.some((f) => (f & RST) !== 0)).toBe(false)
      expect(graceful).toEqual(Result.succeed("FIN-WAIT-2"))
      // RFC 9293 §3.10.5 ABORT: <SEQ=SND.NXT><CTL=RST>, and the connection is CLOSED at once.
      expect(flagsAbortive.some((f) => (f & RST) !== 0)).toBe(true)
      expect(flagsAbortive.some((f) => (f & FIN) !== 0)).toBe(false)
      expect(abortive).toEqual(Result.succeed("CLOSED"))
    }))

  it.effect("SO_LINGER with a time: close waits for the FIN's ACK, and no longer than the linger time", () =>
    Effect.gen(function*() {
      const { sa, sb, wire } = yield* pair({ delayMillis: 20 })
      const listener = yield* sb.listen({ port: 80 })
      yield* Effect.forkChild(Effect.forever(Effect.scoped(Effect.andThen(sb.accept(listener), Effect.sleep(60_000)))))
      const timedClose = (partition: boolean) =>
        Effect.scoped(Effect.gen(function*() {
          const socket = yield* sa.connect({ address: "10.0.0.2", port: 80 })
          yield* socket.setOptions({ linger: "300 millis" })
          if (partition) wire.partition()
          const start = yield* Clock.currentTimeMillis
          yield* socket.close
          const took = (yield* Clock.currentTimeMillis) - start
          wire.heal()
          return { took, state: socket.state }
        }))
      const answered = yield* whileClockAdvances(timedClose(false))
      const silent = yield* whileClockAdvances(timedClose(true))
      // The FIN's ACK comes back after one round trip (2 × 20 ms).
      expect(answered).toEqual(Result.succeed({ took: 40, state: "FIN-WAIT-2" }))
      // No ACK: close returns at the linger time, the FIN still unacknowledged.
      expect(silent).toEqual(Result.succeed({ took: 300, state: "FIN-WAIT-1" }))
    }))

  it.effect("SO_SNDBUF and SO_RCVBUF bound what is queued: a writer to a reader that never reads stops", () =>
    Effect.gen(function*() {
      const { sa, sb } = yield* pair()
      const sendBuffer = 32 * 1024
      const receiveBuffer = 96 * 1024
      const listener = yield* sb.listen({ port: 80 }, { receiveBuffer })
      const queuedWith = (options: { readonly sendBuffer?: number }) =>
        whileClockAdvances(Effect.scoped(Effect.gen(function*() {
          const client = yield* sa.connect({ address: "10.0.0.2", port: 80 }, options)
          const server = yield* sb.accept(listener)
          const writer = yield* Effect.forkChild(sa.send(client, pattern(1024 * 1024)))
          yield* advanceClock(500)
          return {
            queued: client.connection.tcb.send.length,
            unread: server.connection.tcb.receive.length,
            writerDone: writer.pollUnsafe() !== undefined,
            sendBuffer: client.options.sendBuffer,
            receiveBuffer: server.options.receiveBuffer
          }
        })), 2_000)
      const bounded = yield* queuedWith({ sendBuffer })
      expect(bounded._tag).toBe("Success")
      if (bounded._tag !== "Success") return
      const { queued, unread, writerDone } = bounded.success
      expect(bounded.success.sendBuffer).toBe(sendBuffer)
      expect(bounded.success.receiveBuffer).toBe(receiveBuffer)
      // The writer blocks: its send buffer is full (or, once ACKs freed some, short of the third of it that
      // wakes a writer: Linux `sk_stream_write_space`) and the reader's window is closed.
      expect(writerDone).toBe(false)
      expect(queued).toBeLessThanOrEqual(sendBuffer)
      expect(queued).toBeGreaterThan((2 * sendBuffer) / 3)
      expect(unread).toBeGreaterThan(receiveBuffer / 2)
      // Each window offered is rounded up to the window scale's unit (RFC 7323 §2.3) and never taken back, so
      // the data taken in may pass SO_RCVBUF by a few such units (as on Linux), never by a segment.
      expect(unread).toBeLessThanOrEqual(receiveBuffer + 1460)
      // With the host's defaults (1 MiB each) the whole megabyte is queued and the writer is done.
      const unbounded = yield* whileClockAdvances(Effect.scoped(Effect.gen(function*() {
        const client = yield* sa.connect({ address: "10.0.0.2", port: 80 })
        yield* sb.accept(listener)
        yield* sa.send(client, pattern(1024 * 1024))
        return client.connection.tcb.send.length
      })), 2_000)
      expect(unbounded._tag === "Success" && unbounded.success).toBeGreaterThan(receiveBuffer + sendBuffer)
    }))

  it.effect("SO_KEEPALIVE: a silent peer ends the connection with ETIMEDOUT after the probes; without it the connection stays", () =>
    Effect.gen(function*() {
      const { sa, sb, wire } = yield* pair({ tcp: { keepaliveTime: 1_000_000, keepaliveInterval: 500_000, keepaliveProbes: 3 } })
      const listener = yield* sb.listen({ port: 80 })
      yield* Effect.forkChild(Effect.forever(Effect.scoped(Effect.andThen(sb.accept(listener), Effect.never))))
      const result = yield* whileClockAdvances(Effect.scoped(Effect.gen(function*() {
        const probing = yield* sa.connect({ address: "10.0.0.2", port: 80 })
        const quiet = yield* sa.connect({ address: "10.0.0.2", port: 80 })
        yield* probing.setOptions({ keepalive: true })
        wire.partition()
        // RFC 1122 §4.2.3.6: idle 1 s, then 3 probes 0.5 s apart, unanswered.
        const received = yield* Effect.result(sa.receive(probing))
        return {
          error: Result.isFailure(received) ? received.failure.errno : "none",
          readiness: probing.readiness(),
          quiet: quiet.state,
          options: probing.options.keepalive
        }
      })), 10_000, 10)
      expect(result).toEqual(Result.succeed({
        error: "ETIMEDOUT",
        readiness: { readable: true, writable: true, error: true, hangup: true, peerClosed: true },
        quiet: "ESTABLISHED",
        options: true
      }))
    }))

  it.effect("SO_REUSEADDR: a restarted server listens again beside its TIME-WAIT connection; without it EADDRINUSE", () =>
    Effect.gen(function*() {
      const { sa, sb } = yield* pair()
      const result = yield* whileClockAdvances(Effect.gen(function*() {
        yield* Effect.scoped(Effect.gen(function*() {
          const listener = yield* sb.listen({ port: 80 }, { reuseAddress: true })
          const client = yield* sa.connect({ address: "10.0.0.2", port: 80 })
          const server = yield* sb.accept(listener)
          // The server closes first: its end goes to TIME-WAIT (RFC 9293 §3.10.7.4), holding port 80.
          yield* sb.close(server)
          yield* advanceClock(10)
          yield* sa.close(client)
          yield* advanceClock(10)
          return server.state
        }))
        const without = yield* Effect.result(Effect.scoped(sb.listen({ port: 80 })))
        const withReuse = yield* Effect.result(Effect.scoped(sb.listen({ port: 80 }, { reuseAddress: true })))
        return { without: Result.isFailure(without) ? without.failure.errno : "listening", withReuse: withReuse._tag }
      }))
      expect(result).toEqual(Result.succeed({ without: "EADDRINUSE", withReuse: "Success" }))
      // Datagram sockets share a port when both ask.
      const shared = yield* Effect.result(Effect.andThen(sb.bind({ port: 53 }, { reuseAddress: true }), sb.bind({ port: 53 }, { reuseAddress: true })))
      expect(shared._tag).toBe("Success")
    }))

  it.effect("IP_TTL: the TTL a UDP, raw or TCP socket asks for is in the IP header sent, the SYN included", () =>
    Effect.gen(function*() {
      const { a, b, sa, sb, devA, devB } = yield* pair()
      const frames = sentFrames(a, devA)
      const bFrames = sentFrames(b, devB)
      // Resolve ARP first so the datagrams leave at once.
      yield* whileClockAdvances(a.ping("10.0.0.2"))
      const udp = yield* sa.bind({}, { ttl: 7 })
      yield* sa.send(udp, pattern(20), { address: "10.0.0.2", port: 9 })
      const plain = yield* sa.bind()
      yield* sa.send(plain, pattern(20), { address: "10.0.0.2", port: 9 })
      const raw = yield* sa.raw(253, { ttl: 3 })
      yield* sa.send(raw, pattern(20), "10.0.0.2")
      yield* udp.setOptions({ ttl: 200 })
      yield* sa.send(udp, pattern(20), { address: "10.0.0.2", port: 9 })
      const ipFrames = frames.filter((f) => f[12] === 0x08 && f[13] === 0x00 && (f[23] === 17 || f[23] === 253))
      expect(ipFrames.map((f) => [f[23], f[22]])).toEqual([[17, 7], [17, 64], [253, 3], [17, 200]])
      // TCP: the SYN and everything after it carry the connection's TTL; setsockopt changes it from then on.
      yield* sb.listen({ port: 80 }, { ttl: 33 })
      const tcpOptions = yield* whileClockAdvances(Effect.scoped(Effect.gen(function*() {
        const tcp = yield* sa.connect({ address: "10.0.0.2", port: 80 }, { ttl: 9 })
        yield* sa.send(tcp, pattern(10))
        yield* Effect.sleep("10 millis")
        yield* tcp.setOptions({ ttl: 99 })
        yield* sa.send(tcp, pattern(10))
        yield* Effect.sleep("50 millis")
        return tcp.options
      })))
      const tcpTtls = frames.filter((f) => f[12] === 0x08 && f[13] === 0x00 && f[23] === 6).map((f) => f[22])
      expect(tcpTtls[0]).toBe(9) // the SYN
      // 9 for the handshake's ACK and the first data, then 99 from the setsockopt on, never 9 again
      const switched = tcpTtls.indexOf(99)
      expect(switched).toBeGreaterThanOrEqual(3)
      expect(tcpTtls.slice(0, switched).every((t) => t === 9)).toBe(true)
      expect(tcpTtls.slice(switched).every((t) => t === 99)).toBe(true)
      expect(Result.isSuccess(tcpOptions) && tcpOptions.success.ttl).toBe(99)
      const received = bFrames.filter((f) => f[12] === 0x08 && f[13] === 0x00 && f[23] === 6)
      expect(new Set(received.map((f) => f[22]))).toEqual(new Set([33])) // b's accepted connection inherits the listener's TTL
    }))
})
