/**
 * An `effect/socket` `SocketServer` listening on netstack (the counterpart
 * of `NodeSocketServer.make`/`layer`): it listens when built (a refused
 * listen fails with `SocketServerOpenError`), connections completed before
 * `run` wait in the accept queue (bounded by the backlog), and `run` hands
 * each accepted connection to the handler as a `Socket` in its own fiber.
 * Stopping `run` interrupts the handlers and closes their connections;
 * releasing the server's scope stops listening.
 */
import { Effect, Exit, Layer, Result, Scope } from "effect"
import { NetAddress } from "effect/net"
import { type Socket, SocketServer } from "effect/socket"
import type { AddressInput } from "../address.ts"
import { Sockets } from "../sockets.ts"
import type { ListenOptions } from "../stream/listener.ts"
import { fromStreamSocket } from "./socket.ts"

/** Where to listen, with the options accepted connections inherit. */
export interface ServerOptions extends ListenOptions {
  readonly port: number
  /** Default 0.0.0.0. */
  readonly address?: AddressInput | undefined
}

const serverError = (reason: SocketServer.SocketServerErrorReason): SocketServer.SocketServerError =>
  new SocketServer.SocketServerError({ reason })

/** A `SocketServer` listening on `options.port` of the current host; stops listening with the scope. */
export const make = (
  options: ServerOptions
): Effect.Effect<SocketServer.SocketServer["Service"], SocketServer.SocketServerError, Sockets | Scope.Scope> =>
  Effect.gen(function*() {
    const sockets = yield* Sockets
    const { port, address, ...listenOptions } = options
    const listener = yield* sockets.listen({ port, address }, listenOptions).pipe(
      Effect.mapError((cause) => serverError(new SocketServer.SocketServerOpenError({ cause })))
    )
    const local = listener.localAddress
    const bound = NetAddress.inetAddressFromIpString(local.address, local.port)
    if (Result.isFailure(bound)) return yield* serverError(new SocketServer.SocketServerOpenError({ cause: bound.failure }))

    const run = <R, E, _>(handler: (socket: Socket.Socket) => Effect.Effect<_, E, R>): Effect.Effect<never, SocketServer.SocketServerError, R> =>
      Effect.gen(function*() {
        const scope = yield* Scope.make()
        return yield* Effect.gen(function*() {
          for (;;) {
            // Each connection lives in its own scope: closed when its handler ends, or when `run` stops.
            const connection = yield* Scope.fork(scope)
            const socket = yield* Scope.provide(listener.accept, connection).pipe(
              Effect.mapError((cause) => serverError(new SocketServer.SocketServerUnknownError({ cause })))
            )
            yield* handler(fromStreamSocket(socket)).pipe(
              Effect.ignoreCause({ log: "Unhandled", message: "Unhandled error in SocketServer" }),
              Effect.ensuring(Scope.close(connection, Exit.void)),
              Effect.forkIn(scope)
            )
          }
        }).pipe(Effect.ensuring(Scope.close(scope, Exit.void)))
      })

    return SocketServer.SocketServer.of({ address: bound.success, run })
  })

/** The `SocketServer` service listening on `options.port` over netstack (NodeSocketServer.layer's counterpart). */
export const layer = (options: ServerOptions): Layer.Layer<SocketServer.SocketServer, SocketServer.SocketServerError, Sockets> =>
  Layer.effect(SocketServer.SocketServer, make(options))
