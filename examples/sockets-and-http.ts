import assert from "node:assert/strict"
import { EffectSocketServer, NetstackHttpClient, NetstackHttpServer, Sockets } from "@netstack/sockets"
import { CurrentHost, Network } from "@netstack/stack"
import { Effect, Layer, Stream } from "effect"
import * as HttpClient from "effect/http/HttpClient"
import { HttpServerRequest } from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Socket from "effect/socket/Socket"
import { SocketServer } from "effect/socket/SocketServer"

// Two hosts on one wire; b runs net channels (established TCP straight to its connection).
const program = Effect.gen(function*() {
  const net = Network.make()
  const a = yield* net.host("a")
  const b = yield* net.host("b", { netChannels: true })
  yield* net.link(a, b, { a: "10.0.0.1/24", b: "10.0.0.2/24" })
  const onA = Layer.provideMerge(Sockets.layer, Layer.succeed(CurrentHost)(a))
  const onB = Layer.provideMerge(Sockets.layer, Layer.succeed(CurrentHost)(b))

  // An Effect HTTP app, served by b over netstack, fetched by a with Effect's HttpClient.
  const app = Effect.map(HttpServerRequest, (request) => HttpServerResponse.text(`hello from b, you asked for ${request.url}`))
  yield* Effect.flatMap(NetstackHttpServer.make({ port: 80 }), (server) => server.serve(app)).pipe(Effect.provide(onB))
  const text = yield* HttpClient.get("http://10.0.0.2/greeting").pipe(
    Effect.flatMap((response) => response.text),
    Effect.provide(NetstackHttpClient.layer),
    Effect.provide(onA)
  )
  assert.equal(text, "hello from b, you asked for /greeting")

  // Code written against effect/socket's SocketServer runs unchanged: an upper-casing echo on b.
  const upperCase = Effect.gen(function*() {
    const server = yield* SocketServer
    yield* server.run((socket) =>
      Effect.scoped(Effect.gen(function*() {
        const pull = yield* Socket.readerBytes(socket)
        const writer = yield* socket.writer
        for (;;) {
          const chunks = yield* pull // fails with a close error at the client's FIN
          for (const chunk of chunks) yield* writer.write(new TextDecoder().decode(chunk).toUpperCase())
        }
      })).pipe(Effect.ignore)
    )
  })
  // Started at once (not on the next tick), so b listens on port 7 before a connects.
  const echo = upperCase.pipe(Effect.provideServiceEffect(SocketServer, EffectSocketServer.make({ port: 7 })), Effect.provide(onB))
  yield* Effect.forkChild(echo, { startImmediately: true })

  // a uses its Sockets service: a stream socket, written through a Sink and read as a Stream.
  const reply = yield* Effect.gen(function*() {
    const sockets = yield* Sockets
    const socket = yield* sockets.connect({ address: "10.0.0.2", port: 7 })
    yield* Stream.make("net", "stack").pipe(Stream.encodeText, Stream.run(socket.sink({ halfClose: true })))
    return yield* socket.stream().pipe(Stream.decodeText, Stream.mkString)
  }).pipe(Effect.provide(onA))
  assert.equal(reply, "NETSTACK")

  // b's established-flow segments took the fast path: classified in the driver, straight to the connection.
  assert.ok(b.channels.stats.fastPath > 0)
})

await Effect.runPromise(Effect.scoped(program))
