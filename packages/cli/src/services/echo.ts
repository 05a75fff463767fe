/** The echo (RFC 862) and discard (RFC 863) services over any `SocketServer`. */
import { Effect } from "effect"
import * as Socket from "effect/socket/Socket"
import { SocketServer } from "effect/socket/SocketServer"

/** RFC 862: every byte a client sends is sent back, until it closes. */
export const serveEcho = Effect.gen(function*() {
  const server = yield* SocketServer
  return yield* server.run((socket) =>
    Effect.scoped(Effect.gen(function*() {
      const pull = yield* Socket.readerBytes(socket)
      const writer = yield* socket.writer
      while (true) {
        const chunks = yield* pull
        yield* writer.writeAll(chunks)
      }
    })).pipe(Effect.ignore)
  )
})

/** RFC 863: everything a client sends is read and thrown away, until it closes. */
export const serveDiscard = Effect.gen(function*() {
  const server = yield* SocketServer
  return yield* server.run((socket) =>
    Effect.scoped(Effect.gen(function*() {
      const pull = yield* Socket.readerBytes(socket)
      while (true) yield* pull
    })).pipe(Effect.ignore)
  )
})
