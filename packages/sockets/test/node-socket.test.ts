/**
 * `NetSocket`, the Node `Duplex` over a netstack TCP connection, between
 * two hosts on a wire under TestClock: an echo through `stream.pipeline`,
 * half-close both ways, backpressure from a paused reader down to TCP's
 * window, and Node-style error codes.
 */
import { describe, expect, it } from "@effect/vitest"
import { NetSocket, NetSocketError } from "@netstack/sockets"
import { advanceClock, type Host, Network, whileClockAdvances } from "@netstack/stack"
import { Duration, Effect, Fiber, type Scope } from "effect"
import { constants } from "node:os"
import { Readable } from "node:stream"
import { pipeline } from "node:stream/promises"

const pair = Effect.gen(function*() {
  const net = Network.make()
  const a = yield* net.host("a")
  const b = yield* net.host("b")
  yield* net.link(a, b, { a: "10.0.0.1/24", b: "10.0.0.2/24", impairments: { delay: Duration.millis(1) } })
  return { a, b }
})

const pattern = (n: number, seed = 3): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed + (i >> 8)) & 0xff)

/** Everything `readable` yields until its end, or the error that ended it. */
const collect = (readable: Readable): Effect.Effect<Uint8Array, Error> =>
  Effect.callback<Uint8Array, Error>((resume) => {
    const chunks: Array<Uint8Array> = []
    readable.on("data", (chunk: Uint8Array) => chunks.push(chunk))
    readable.once("end", () => resume(Effect.succeed(Buffer.concat(chunks))))
    readable.once("error", (error) => resume(Effect.fail(error)))
    readable.resume() // even one paused explicitly
  })

/** The next `name` event of `emitter` (its first argument). */
const next = (emitter: NodeJS.EventEmitter, name: string): Effect.Effect<unknown> =>
  Effect.callback<unknown>((resume) => {
    emitter.once(name, (value: unknown) => resume(Effect.succeed(value)))
  })

/** Writes `data` and waits until the socket took it. */
const write = (socket: NetSocket, data: Uint8Array | string): Effect.Effect<void, Error> =>
  Effect.callback<void, Error>((resume) => {
    socket.write(data, (error) => resume(error ? Effect.fail(error) : Effect.void))
  })

/** The server side: the next accepted connection on `host:port`, as a socket. */
const acceptOne = (host: Host, port: number, options: { readonly allowHalfOpen?: boolean } = {}): Effect.Effect<
  Effect.Effect<NetSocket, unknown>,
  unknown,
  Scope.Scope
> =>
  Effect.gen(function*() {
    const listener = yield* host.listen(port)
    const fiber = yield* Effect.forkChild(Effect.flatMap(listener.accept, (connection) => NetSocket.make(connection, options)))
    return Fiber.join(fiber)
  })

describe("NetSocket", () => {
  it.effect("echoes 300 KB through stream.pipeline on both ends", () =>
    Effect.gen(function*() {
      const { a, b } = yield* pair
      const accepted = yield* acceptOne(b, 7)
      const context = yield* Effect.context<never>()
      const client = NetSocket.connect(a, "10.0.0.2", 7, context)
      expect(client.connecting).toBe(true)
      const data = pattern(300_000)
      const result = yield* whileClockAdvances(Effect.gen(function*() {
        const server = yield* accepted
        const echo = Effect.promise(() => pipeline(server, server))
        const send = Effect.promise(() => pipeline(Readable.from([data.subarray(0, 100_000), data.subarray(100_000)]), client))
        const [received] = yield* Effect.all([collect(client), send, echo], { concurrency: "unbounded" })
        return { received, server }
      }))
      expect(result._tag).toBe("Success")
      if (result._tag !== "Success") return
      expect(Buffer.compare(result.success.received, data)).toBe(0)
      expect(client.bytesWritten).toBe(data.length)
      expect(result.success.server.bytesRead).toBe(data.length)
      expect(client.remoteAddress).toBe("10.0.0.2")
      expect(client.localAddress).toBe("10.0.0.1")
      expect(result.success.server.remotePort).toBe(client.localPort)
    }))

  it.effect("writes before the handshake are queued and sent once connected", () =>
    Effect.gen(function*() {
      const { a, b } = yield* pair
      const accepted = yield* acceptOne(b, 7)
      const client = NetSocket.connect(a, "10.0.0.2", 7, yield* Effect.context<never>())
      const events: Array<string> = []
      client.on("connect", () => events.push(`connect:${client.connecting}`))
      client.on("ready", () => events.push("ready"))
      client.end("early bytes")
      const result = yield* whileClockAdvances(Effect.flatMap(accepted, collect))
      expect(result._tag === "Success" ? Buffer.from(result.success).toString() : result).toBe("early bytes")
      expect(events).toEqual(["connect:false", "ready"])
    }))

  it.effect("half-close: the client's end() is a FIN, and the server still answers", () =>
    Effect.gen(function*() {
      const { a, b } = yield* pair
      const accepted = yield* acceptOne(b, 7, { allowHalfOpen: true })
      const client = NetSocket.connect(a, "10.0.0.2", 7, yield* Effect.context<never>(), { allowHalfOpen: true })
      const result = yield* whileClockAdvances(Effect.gen(function*() {
        const server = yield* accepted
        const reply = Effect.forkChild(collect(client))
        const replyFiber = yield* reply
        client.end("question")
        const question = yield* collect(server) // ends with the client's FIN
        expect(server.writable).toBe(true) // only the peer's half is closed
        expect(server.tcp?.state).toBe("CLOSE-WAIT")
        yield* write(server, "answer to ")
        server.end(Buffer.from(question))
        return yield* Fiber.join(replyFiber)
      }))
      expect(result._tag === "Success" ? Buffer.from(result.success).toString() : result).toBe("answer to question")
    }))

  it.effect("half-close: the server's end() first, then the client sends and ends", () =>
    Effect.gen(function*() {
      const { a, b } = yield* pair
      const accepted = yield* acceptOne(b, 7, { allowHalfOpen: true })
      const client = NetSocket.connect(a, "10.0.0.2", 7, yield* Effect.context<never>(), { allowHalfOpen: true })
      const result = yield* whileClockAdvances(Effect.gen(function*() {
        const server = yield* accepted
        const fromClient = yield* Effect.forkChild(collect(server))
        server.end("banner")
        const banner = yield* collect(client)
        expect(client.writable).toBe(true)
        client.end(`got ${Buffer.from(banner).toString()}`)
        return yield* Fiber.join(fromClient)
      }))
      expect(result._tag === "Success" ? Buffer.from(result.success).toString() : result).toBe("got banner")
    }))

  it.effect("a paused reader stops reading: TCP's window closes and the writer waits; resuming delivers every byte", () =>
    Effect.gen(function*() {
      const { a, b } = yield* pair
      const accepted = yield* acceptOne(b, 7)
      const hwm = 16 * 1024
      const client = NetSocket.connect(a, "10.0.0.2", 7, yield* Effect.context<never>(), {
        readableHighWaterMark: hwm,
        readSize: 4096
      })
      client.pause()
      const data = pattern(4 * 1024 * 1024)
      const server = yield* whileClockAdvances(accepted).pipe(Effect.flatMap((r) => r._tag === "Success" ? Effect.succeed(r.success) : Effect.die(r.failure)))
      let accepted_ = 0
      const writer = yield* Effect.forkChild(Effect.gen(function*() {
        for (let at = 0; at < data.length; at += 64 * 1024) {
          const chunk = data.subarray(at, at + 64 * 1024)
          yield* write(server, chunk)
          accepted_ += chunk.length
        }
        server.end()
      }))
      client.read(0) // start the flow into the paused socket's buffer
      yield* advanceClock(500)
      const clientTcp = client.tcp
      const serverTcp = server.tcp
      expect(clientTcp === undefined || serverTcp === undefined).toBe(false)
      if (clientTcp === undefined || serverTcp === undefined) return
      // Node buffers at most a high-water mark (plus the read that crossed it) above TCP…
      expect(client.readableLength).toBeGreaterThan(0)
      expect(client.readableLength).toBeLessThanOrEqual(hwm + 4096)
      // …the receive buffer is full and offers a zero window (RFC 9293 §3.8.6.2)…
      expect(clientTcp.info().receiveWindow).toBe(0)
      // …and the writer waits with its send buffer full: about 2 MiB (both 1 MiB buffers) of the 4 MiB went anywhere.
      expect(writer.pollUnsafe()).toBeUndefined()
      expect(accepted_).toBeLessThan(3 * 1024 * 1024)
      // Every byte TCP took waits in one place: the reader's buffer, the receive buffer, or the send buffer (which
      // also holds the part of the 64 KiB write in progress that fitted).
      const buffered = client.readableLength + clientTcp.info().unread + serverTcp.info().unsent + serverTcp.info().inFlight
      expect(buffered).toBeGreaterThanOrEqual(accepted_)
      expect(buffered).toBeLessThan(accepted_ + 64 * 1024)
      const received = yield* whileClockAdvances(collect(client), 60_000)
      expect(received._tag).toBe("Success")
      if (received._tag === "Success") expect(Buffer.compare(received.success, data)).toBe(0)
      yield* Fiber.join(writer)
    }))

  it.effect("connecting to a closed port fails with ECONNREFUSED, as net.connect reports it", () =>
    Effect.gen(function*() {
      const { a } = yield* pair
      const client = NetSocket.connect(a, "10.0.0.2", 81, yield* Effect.context<never>())
      const closed = Effect.forkChild(next(client, "close"))
      const closedFiber = yield* closed
      const result = yield* whileClockAdvances(next(client, "error"))
      expect(result._tag).toBe("Success")
      if (result._tag !== "Success") return
      const error = result.success
      expect(error).toBeInstanceOf(NetSocketError)
      expect(error).toBeInstanceOf(Error)
      if (!(error instanceof NetSocketError)) return
      expect(error.code).toBe("ECONNREFUSED")
      expect(error.errno).toBe(-constants.errno.ECONNREFUSED) // as libuv reports it (-111 on Linux)
      expect(error.syscall).toBe("connect")
      expect(error.message).toBe("connect ECONNREFUSED 10.0.0.2:81")
      expect(yield* Fiber.join(closedFiber)).toBe(true) // 'close' with hadError
      expect(client.destroyed).toBe(true)
    }))

  it.effect("a peer's abort is ECONNRESET on read; destroy(error) sends the RST", () =>
    Effect.gen(function*() {
      const { a, b } = yield* pair
      const accepted = yield* acceptOne(b, 7)
      const client = NetSocket.connect(a, "10.0.0.2", 7, yield* Effect.context<never>())
      const result = yield* whileClockAdvances(Effect.gen(function*() {
        const server = yield* accepted
        const failure = yield* Effect.forkChild(Effect.flip(collect(client)))
        yield* write(server, "partial")
        const serverError = next(server, "error")
        server.destroy(new Error("handler crashed"))
        expect(yield* serverError).toMatchObject({ message: "handler crashed" })
        return yield* Fiber.join(failure)
      }))
      expect(result._tag).toBe("Success")
      if (result._tag !== "Success") return
      expect(result.success).toBeInstanceOf(NetSocketError)
      expect(result.success).toMatchObject({ code: "ECONNRESET", syscall: "read", errno: -constants.errno.ECONNRESET })
      expect(b.tcp.stats.OutRsts).toBeGreaterThan(0)
    }))

  it.effect("destroy() once every write was taken by TCP closes gracefully: the peer gets all data and its end", () =>
    Effect.gen(function*() {
      const { a, b } = yield* pair
      const accepted = yield* acceptOne(b, 7)
      const client = NetSocket.connect(a, "10.0.0.2", 7, yield* Effect.context<never>())
      const data = pattern(200_000)
      const result = yield* whileClockAdvances(Effect.gen(function*() {
        const server = yield* accepted
        const received = yield* Effect.forkChild(collect(client))
        yield* write(server, data)
        server.destroy()
        return yield* Fiber.join(received)
      }))
      expect(result._tag).toBe("Success")
      if (result._tag === "Success") expect(Buffer.compare(result.success, data)).toBe(0)
      expect(b.tcp.stats.OutRsts).toBe(0)
    }))

  it.effect("setKeepAlive(true) sends keepalive probes on an idle connection (RFC 1122 §4.2.3.6); false stops them", () =>
    Effect.gen(function*() {
      const { a, b } = yield* pair
      const accepted = yield* acceptOne(b, 7)
      const client = NetSocket.connect(a, "10.0.0.2", 7, yield* Effect.context<never>())
      client.setKeepAlive(true) // before the handshake: applied once connected
      const server = yield* whileClockAdvances(accepted).pipe(Effect.flatMap((r) => r._tag === "Success" ? Effect.succeed(r.success) : Effect.die(r.failure)))
      yield* advanceClock(2 * 3600 * 1000 + 10_000, 1000) // tcp_keepalive_time (2 h) of silence, in 1 s steps
      const probes = a.tcp.stats.TCPKeepAlive
      expect(probes).toBeGreaterThan(0)
      client.setKeepAlive(true) // no change: the timer is not re-armed
      client.setKeepAlive(false)
      yield* advanceClock(4 * 3600 * 1000, 1000)
      expect(a.tcp.stats.TCPKeepAlive).toBe(probes)
      expect(client.destroyed).toBe(false)
      client.destroy()
      server.destroy()
    }))

  it.effect("setTimeout emits 'timeout' after the idle time on the host's clock, and activity postpones it", () =>
    Effect.gen(function*() {
      const { a, b } = yield* pair
      const accepted = yield* acceptOne(b, 7)
      const client = NetSocket.connect(a, "10.0.0.2", 7, yield* Effect.context<never>())
      const server = yield* whileClockAdvances(accepted).pipe(Effect.flatMap((r) => r._tag === "Success" ? Effect.succeed(r.success) : Effect.die(r.failure)))
      let timeouts = 0
      client.setTimeout(1000, () => timeouts++)
      yield* advanceClock(600)
      server.write("ping")
      yield* advanceClock(600) // data arrived 600 ms in: the idle period started again
      expect(timeouts).toBe(0)
      yield* advanceClock(600)
      expect(timeouts).toBe(1)
      yield* advanceClock(3000) // once per idle period
      expect(timeouts).toBe(1)
      expect(client.destroyed).toBe(false)
      client.destroy()
    }))
})
