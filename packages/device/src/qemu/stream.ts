/**
 * QEMU's `-netdev stream` as a medium, over TCP or a Unix socket, as client
 * or server (QEMU docs, "-netdev stream,id=str[,server=on|off],addr.type=inet,
 * addr.host=host,addr.port=port" and "addr.type=unix,addr.path=path"):
 *
 *   qemu-system-x86_64 … -netdev stream,id=n0,server=off,addr.type=unix,addr.path=/tmp/ns.sock
 *     -device virtio-net,netdev=n0
 *
 * with `QemuStream.listen({ path: "/tmp/ns.sock" })` on this side puts the
 * guest's NIC and a netstack NIC on one link. A server takes one client at a
 * time (as QEMU's server mode); further clients are refused and counted
 * until it goes away. Framing and queues: {@link StreamPort}.
 */
import { createConnection, createServer, type Server, type Socket } from "node:net"
import { Effect, Latch, type Scope } from "effect"
import type { MediumPort } from "../medium/port.ts"
import { type MediumSocketError, socketErrorFrom } from "./errors.ts"
import { type StreamCloseReason, type StreamCounters, StreamPort, type StreamPortOptions } from "./stream-port.ts"

/** A stream endpoint: a Unix socket path, or a TCP host and port. */
export type StreamAddress = { readonly path: string } | { readonly host: string; readonly port: number }

/** A stream netdev as a medium port. */
export interface StreamMedium extends MediumPort {
  /** The address it listens on (the bound port when asked for port 0) or connected to. */
  readonly address: StreamAddress
  /** A snapshot of the counters. */
  readonly counters: () => StreamCounters
  /** True while a peer is connected. */
  readonly connected: () => boolean
  /** Why the last connection ended, if one did. */
  readonly closeReason: () => StreamCloseReason | undefined
  /** Waits until a peer is connected. */
  readonly awaitConnected: Effect.Effect<void>
  /** Waits until the current (or next) connection has ended. */
  readonly awaitDisconnected: Effect.Effect<void>
}

const addressText = (address: StreamAddress): string => ("path" in address ? address.path : `${address.host}:${address.port}`)

const mediumOf = (address: StreamAddress, stream: StreamPort): StreamMedium => ({
  ...stream.port(),
  address,
  counters: () => stream.counters(),
  connected: () => stream.connected,
  closeReason: () => stream.closeReason,
  awaitConnected: Latch.await(stream.connectedLatch),
  awaitDisconnected: Latch.await(stream.endedLatch)
})

/** Opens stream netdevs. */
export const QemuStream = {
  /**
   * Connects to a stream server (QEMU with `server=on`, or another netstack's
   * `listen`) and uses that connection until the scope closes. Fails with
   * `MediumSocketError` if the connection cannot be made.
   */
  connect: Effect.fn("QemuStream.connect")(function*(
    address: StreamAddress,
    options: StreamPortOptions = {}
  ): Effect.fn.Return<StreamMedium, MediumSocketError, Scope.Scope> {
    const stream = new StreamPort(options)
    const socket = yield* Effect.acquireRelease(
      Effect.callback<Socket, MediumSocketError>((resume) => {
        const socket = "path" in address
          ? createConnection({ path: address.path })
          : createConnection({ host: address.host, port: address.port })
        const onError = (error: Error) => resume(Effect.fail(socketErrorFrom("connect", addressText(address), error)))
        socket.once("error", onError)
        socket.once("connect", () => {
          socket.off("error", onError)
          resume(Effect.succeed(socket))
        })
        return Effect.sync(() => void socket.destroy())
      }),
      (socket) =>
        Effect.sync(() => {
          stream.close()
          socket.destroy()
        })
    )
    stream.adopt(socket)
    return mediumOf(address, stream)
  }),

  /**
   * Listens on `address` (a Unix socket path, which must not exist yet, or a
   * TCP host and port; port 0 picks one) for one client at a time, until the
   * scope closes. Fails with `MediumSocketError` if it cannot listen.
   */
  listen: Effect.fn("QemuStream.listen")(function*(
    address: StreamAddress,
    options: StreamPortOptions = {}
  ): Effect.fn.Return<StreamMedium, MediumSocketError, Scope.Scope> {
    const stream = new StreamPort(options)
    const server = yield* Effect.acquireRelease(
      Effect.callback<Server, MediumSocketError>((resume) => {
        const server = createServer({ noDelay: true }, (socket) => {
          if (stream.connected) {
            stream.rejected()
            socket.destroy()
            return
          }
          stream.adopt(socket)
        })
        const onError = (error: Error) => resume(Effect.fail(socketErrorFrom("listen", addressText(address), error)))
        server.once("error", onError)
        server.once("listening", () => {
          server.off("error", onError)
          // Later accept errors (EMFILE…) only cost that client; the server keeps listening.
          server.on("error", () => stream.rejected())
          resume(Effect.succeed(server))
        })
        if ("path" in address) server.listen(address.path)
        else server.listen(address.port, address.host)
        return Effect.sync(() => void server.close())
      }),
      (server) =>
        Effect.callback<void>((resume) => {
          stream.close()
          server.close(() => resume(Effect.void))
        })
    )
    const bound = server.address()
    const actual: StreamAddress = "path" in address || bound === null || typeof bound === "string"
      ? address
      : { host: address.host, port: bound.port }
    return mediumOf(actual, stream)
  })
}

