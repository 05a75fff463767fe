/**
 * Effect programs written against `effect/socket`'s interfaces (`Socket`,
 * `SocketServer`, `DatagramSocket`), unchanged, running over netstack: the
 * services come from this package's layers on two hosts joined by a wire.
 */
import { describe, expect, it } from "@effect/vitest"
import { EffectDatagramSocket, EffectSocket, EffectSocketServer, Sockets } from "@netstack/sockets"
import { CurrentHost, type Host, whileClockAdvances } from "@netstack/stack"
import { Effect, Fiber, Layer, Result, Stream } from "effect"
import { DatagramSocket, Socket, SocketServer } from "effect/socket"
import { pair, pattern } from "./support/pair.ts"

/** `Sockets` of `host`, built by `Sockets.layer` from `CurrentHost`. */
const socketsOf = (host: Host) => Sockets.layer.pipe(Layer.provide(Layer.succeed(CurrentHost, host)))

/** An echo server written against `SocketServer`: each connection's bytes go back until the peer's FIN. */
const echoServer = Effect.gen(function*() {
  const server = yield* SocketServer.SocketServer
  return yield* server.run((socket) =>
    Effect.gen(function*() {
      const { pull } = yield* socket.reader
      const writer = yield* socket.writer
      for (;;) yield* writer.writeAll(yield* pull)
    }).pipe(
      Effect.scoped,
      // The peer's FIN ends the reader with close code 1000: a normal end of the connection.
      Effect.catchIf((e) => e.reason._tag === "SocketCloseError" && e.reason.code === 1000, () => Effect.void)
    )
  )
})

/** A client written against `Socket`: streams `chunks` through `Socket.toChannel`, collects the echo to the close. */
const echoClient = (chunks: ReadonlyArray<Uint8Array | string>) =>
  Effect.gen(function*() {
    const socket = yield* Socket.Socket
    return yield* Stream.fromIterable(chunks).pipe(
      Stream.pipeThroughChannel(Socket.toChannel(socket)),
      Stream.catchIf(
        (e) => e.reason._tag === "SocketCloseError" && e.reason.code === 1000,
        () => Stream.empty
      ),
      Stream.runCollect
    )
  })

describe("effect/socket over netstack", () => {
  it.effect("SocketServer.run and Socket.toChannel echo over netstack TCP", () =>
    Effect.gen(function*() {
      const { a, b } = yield* pair()
      const serverLayer = EffectSocketServer.layer({ port: 7 }).pipe(Layer.provide(socketsOf(b)))
      const server = yield* Effect.forkChild(echoServer.pipe(Effect.provide(serverLayer)))
      const chunks = [pattern(3000, 1), "hello, netstack", pattern(70_000, 2)]
      const client = echoClient(chunks).pipe(
        Effect.provide(EffectSocket.layerNet({ host: "10.0.0.2", port: 7 }).pipe(Layer.provide(socketsOf(a))))
      )
      const result = yield* whileClockAdvances(client, 5_000)
      expect(result._tag).toBe("Success")
      if (result._tag !== "Success") return
      const echoed = Buffer.concat(result.success)
      const sent = Buffer.concat(chunks.map((c) => (typeof c === "string" ? new TextEncoder().encode(c) : c)))
      expect(echoed.equals(sent)).toBe(true)
      yield* Fiber.interrupt(server)
    }).pipe(Effect.scoped))

  it.effect("SocketServer's bound address, and a refused connect as SocketOpenError", () =>
    Effect.gen(function*() {
      const { a, b } = yield* pair()
      const address = yield* Effect.map(SocketServer.SocketServer, (s) => s.address).pipe(
        Effect.provide(EffectSocketServer.layer({ port: 8080 }).pipe(Layer.provide(socketsOf(b))))
      )
      expect(address._tag === "InetAddressV4" && address.port).toBe(8080)
      const refused = yield* whileClockAdvances(
        Effect.scoped(Effect.flatMap(Socket.Socket, (s) => s.reader)).pipe(
          Effect.provide(EffectSocket.layerNet({ host: "10.0.0.2", port: 81 }).pipe(Layer.provide(socketsOf(a))))
        )
      )
      expect(Result.isFailure(refused) && refused.failure.reason._tag).toBe("SocketOpenError")
      // The port is taken while the first server lives: opening a second fails with SocketServerOpenError.
      const second = yield* Effect.result(
        Effect.scoped(Effect.gen(function*() {
          const first = yield* EffectSocketServer.make({ port: 9090 })
          const again = yield* EffectSocketServer.make({ port: 9090 })
          return [first, again]
        })).pipe(Effect.provide(socketsOf(b)))
      )
      expect(Result.isFailure(second) && second.failure.reason._tag).toBe("SocketServerOpenError")
    }).pipe(Effect.scoped))

  it.effect("DatagramSocket: an echo written against the interface runs over netstack UDP", () =>
    Effect.gen(function*() {
      const { a, b } = yield* pair()
      const server = Effect.gen(function*() {
        const socket = yield* DatagramSocket.DatagramSocket
        const reader = yield* socket.reader
        const writer = yield* socket.writer
        for (;;) {
          const datagrams = yield* reader.pull
          for (const datagram of datagrams) yield* writer.write(datagram)
        }
      }).pipe(Effect.scoped, Effect.provide(EffectDatagramSocket.layer({ bind: { port: 7 } }).pipe(Layer.provide(socketsOf(b)))))
      yield* Effect.forkChild(server)
      const client = Effect.gen(function*() {
        const socket = yield* DatagramSocket.DatagramSocket
        const reader = yield* socket.reader
        const writer = yield* socket.writer
        yield* writer.write({ payload: "ping" })
        yield* writer.write({ payload: pattern(1000) })
        const replies: Array<DatagramSocket.Datagram> = []
        while (replies.length < 2) replies.push(...(yield* reader.pull))
        return replies.map((d) => ({ payload: d.payload, from: `${String(d.address.address)}:${d.address.port}` }))
      }).pipe(
        Effect.scoped,
        Effect.provide(EffectDatagramSocket.layer({ peer: { address: "10.0.0.2", port: 7 } }).pipe(Layer.provide(socketsOf(a))))
      )
      const result = yield* whileClockAdvances(client, 1_000)
      expect(result._tag).toBe("Success")
      if (result._tag !== "Success") return
      expect(result.success.map((r) => r.payload)).toEqual([new TextEncoder().encode("ping"), pattern(1000)])
      expect(result.success.every((r) => r.from.endsWith(":7") && r.from.includes("10.0.0.2"))).toBe(true)
    }).pipe(Effect.scoped))
})
