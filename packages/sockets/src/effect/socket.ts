/**
 * A netstack TCP connection as an `effect/socket` `Socket`, so Effect code
 * written against that interface (`Socket.toChannel`, `Socket.toStream`,
 * `reader`/`writer`) runs over the stack unchanged; and the `Socket`
 * service provided by connecting to a host and port over netstack, as
 * `NodeSocket.layerNet` does over Node's `net`.
 *
 * As `NodeSocket.fromDuplex`: acquiring the reader opens the connection in
 * the reader's scope; each pull receives one chunk (nothing is read until
 * the consumer pulls, so the receive window gives end-to-end
 * backpressure); the peer's FIN fails the pull with close code 1000, and
 * closing the reader's scope fails a suspended pull with 1006. Writes wait
 * for a connection, then for room in the send buffer; releasing the writer
 * scope half-closes (FIN); a `CloseEvent` closes the connection.
 */
import { Effect, Latch, Layer, type Scope } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import { Socket } from "effect/socket"
import type { AddressInput } from "../address.ts"
import type { NetstackSocketError } from "../errors.ts"
import { Sockets } from "../sockets.ts"
import type { ConnectOptions } from "../stream/connect.ts"
import { DEFAULT_READ_SIZE, type StreamSocket } from "../stream/stream-socket.ts"

/** Where `makeNet` connects, with the socket options and a time limit for the handshake. */
export interface NetOptions extends Omit<ConnectOptions, "timeout"> {
  readonly host: AddressInput
  readonly port: number
  /** Give up the handshake after this long: `SocketOpenError` of kind `Timeout`. */
  readonly openTimeout?: ConnectOptions["timeout"]
  /** Most bytes one pull returns (default 64 KiB). */
  readonly chunkSize?: number | undefined
}

const encoder = new TextEncoder()

const closeError = (code: number, reason?: string): Socket.SocketError =>
  new Socket.SocketError({ reason: new Socket.SocketCloseError({ code, ...(reason === undefined ? {} : { closeReason: reason }) }) })

const writeError = (cause: NetstackSocketError): Socket.SocketError =>
  new Socket.SocketError({ reason: new Socket.SocketWriteError({ cause }) })

/**
 * A `Socket` whose reader acquisition runs `open` in the reader's scope
 * (the connection, and whatever `open` registers there, lasts as long as
 * that scope).
 */
export const fromOpen = (
  open: Effect.Effect<StreamSocket, Socket.SocketError, Scope.Scope>,
  options: { readonly chunkSize?: number | undefined } = {}
): Socket.Socket => {
  const chunkSize = options.chunkSize ?? DEFAULT_READ_SIZE
  const connected = Latch.makeUnsafe(false)
  let current: StreamSocket | undefined = undefined
  /** Why reading ended, once it did: the reader's pulls fail with it. */
  let failure: Socket.SocketError | undefined = undefined

  const reader: Socket.Socket["reader"] = Effect.gen(function*() {
    const socket = yield* open
    failure = undefined
    // Runs before `open`'s own finalizers (the close): a pull blocked in another fiber then fails with 1006.
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        failure ??= closeError(1006)
        Latch.closeUnsafe(connected)
        current = undefined
      })
    )
    current = socket
    Latch.openUnsafe(connected)
    const pull: Effect.Effect<NonEmptyReadonlyArray<Uint8Array>, Socket.SocketError> = Effect.suspend(() => {
      if (failure !== undefined) return Effect.fail(failure)
      return socket.receive(chunkSize).pipe(
        Effect.matchEffect({
          onSuccess: (chunk): Effect.Effect<NonEmptyReadonlyArray<Uint8Array>, Socket.SocketError> => {
            if (chunk !== undefined) return Effect.succeed([chunk])
            failure ??= closeError(1000) // the peer's FIN: a clean close
            return Effect.fail(failure)
          },
          onFailure: (error) => {
            if (failure === undefined && error.reason !== "closed") {
              failure = new Socket.SocketError({ reason: new Socket.SocketReadError({ cause: error }) })
            }
            return Effect.fail(failure ?? closeError(1006))
          }
        })
      )
    })
    return { pull, upgrade: Socket.SocketUpgradeError.unsupported }
  })

  const send = (socket: StreamSocket, chunk: Uint8Array | string): Effect.Effect<void, Socket.SocketError> =>
    Effect.mapError(socket.send(typeof chunk === "string" ? encoder.encode(chunk) : chunk), writeError)

  const write = (chunk: Uint8Array | string | Socket.CloseEvent): Effect.Effect<void, Socket.SocketError> =>
    Effect.suspend(() => {
      const socket = current
      if (socket === undefined) return Latch.whenOpen(connected, write(chunk))
      if (Socket.isCloseEvent(chunk)) {
        failure ??= closeError(chunk.code, chunk.reason)
        return socket.close
      }
      return send(socket, chunk)
    })

  const writeAll = (chunks: NonEmptyReadonlyArray<Uint8Array | string>): Effect.Effect<void, Socket.SocketError> =>
    Effect.suspend(() => {
      const socket = current
      if (socket === undefined) return Latch.whenOpen(connected, writeAll(chunks))
      return Effect.forEach(chunks, (chunk) => send(socket, chunk), { discard: true })
    })

  const writer: Socket.Socket["writer"] = Effect.acquireRelease(
    Effect.succeed({ write, writeAll }),
    () => current === undefined ? Effect.void : Effect.ignore(current.shutdown("write"))
  )

  return Socket.make({ reader, writer })
}

/** An already connected `StreamSocket` as a `Socket`; the connection is closed when a reader's scope closes. */
export const fromStreamSocket = (socket: StreamSocket, options: { readonly chunkSize?: number | undefined } = {}): Socket.Socket =>
  fromOpen(Effect.acquireRelease(Effect.succeed(socket), (s) => s.close), options)

/**
 * A `Socket` whose reader acquisition connects to `options.host:port`
 * over netstack (NodeSocket.makeNet's counterpart). A refused, timed-out
 * or unreachable connect fails the reader with `SocketOpenError`.
 */
export const makeNet = (options: NetOptions): Effect.Effect<Socket.Socket, never, Sockets> =>
  Effect.map(Effect.service(Sockets), (sockets) => {
    const { host, port, openTimeout, chunkSize, ...connect } = options
    const open = sockets.connect({ address: host, port }, { ...connect, ...(openTimeout === undefined ? {} : { timeout: openTimeout }) }).pipe(
      Effect.mapError((cause) =>
        new Socket.SocketError({
          reason: new Socket.SocketOpenError({ kind: cause.reason === "timed-out" ? "Timeout" : "Unknown", cause })
        })
      )
    )
    return fromOpen(open, { chunkSize })
  })

/** The `Socket` service, connecting to `options.host:port` over netstack (NodeSocket.layerNet's counterpart). */
export const layerNet = (options: NetOptions): Layer.Layer<Socket.Socket, never, Sockets> =>
  Layer.effect(Socket.Socket, makeNet(options))
