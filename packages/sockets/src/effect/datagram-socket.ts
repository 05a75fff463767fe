/**
 * An `effect/socket` `DatagramSocket` over netstack UDP (the counterpart
 * of `NodeDatagramSocket.make`/`layer`), built on `makeFromBackingSocket`:
 * acquiring the reader binds a netstack UDP socket in the reader's scope
 * and a fiber there moves each received datagram into the interface's own
 * bounded queue; writes go out at once (UDP does not queue sends). ICMP
 * errors a connected socket receives (ECONNREFUSED…) reach `onError`.
 * Multicast groups are not supported (no IGMP in the stack).
 */
import { Effect, Layer } from "effect"
import { DatagramSocket } from "effect/socket"
import { ipv4ToString } from "@netstack/wire"
import type { EndpointInput } from "../address.ts"
import { type BindAddress, type DatagramOptions, type DatagramSocket as NetstackDatagramSocket } from "../datagram/datagram-socket.ts"
import type { NetstackSocketError } from "../errors.ts"
import { Sockets } from "../sockets.ts"

/** What the socket binds to, connects to, and how its queue behaves. */
export interface Options {
  /** Where to bind; an ephemeral port on every address by default. */
  readonly bind?: BindAddress | undefined
  /** connect(2): only this peer's datagrams are received, and writes without an address go to it. */
  readonly connect?: EndpointInput | undefined
  /** A default destination for writes without an address, without connecting. */
  readonly peer?: EndpointInput | undefined
  /** The netstack socket's options (SO_RCVBUF, IP_TTL, SO_BROADCAST, SO_REUSEADDR). */
  readonly socket?: DatagramOptions | undefined
  /** The interface's receive queue (in datagrams). */
  readonly receiveBuffer?: DatagramSocket.ReceiveBufferOptions | undefined
  /** Errors with no write left to fail (ICMP reports on a connected socket). */
  readonly onError?: ((error: DatagramSocket.DatagramSocketError) => void) | undefined
}

/** The interface's error kind of a socket error. */
const ioKind = (error: NetstackSocketError): DatagramSocket.IoErrorKind => {
  switch (error.reason) {
    case "message-too-big":
      return "MessageTooLarge"
    case "connection-refused":
      return "ConnectionRefused"
    case "permission-denied":
    case "not-permitted":
      return "PermissionDenied"
    case "network-unreachable":
    case "host-unreachable":
    case "host-down":
    case "not-on-network":
      return "Unreachable"
    default:
      return "Unknown"
  }
}

const openKind = (error: NetstackSocketError): DatagramSocket.DatagramSocketOpenError["kind"] =>
  error.reason === "address-in-use"
    ? "AddressInUse"
    : error.reason === "address-not-available"
    ? "AddressNotAvailable"
    : error.reason === "permission-denied"
    ? "PermissionDenied"
    : "Unknown"

const openError = (cause: NetstackSocketError): DatagramSocket.DatagramSocketError =>
  new DatagramSocket.DatagramSocketError({ reason: new DatagramSocket.DatagramSocketOpenError({ kind: openKind(cause), cause }) })

const writeError = (cause: NetstackSocketError): DatagramSocket.DatagramSocketError =>
  new DatagramSocket.DatagramSocketError({ reason: new DatagramSocket.DatagramSocketWriteError({ kind: ioKind(cause), cause }) })

const readError = (cause: NetstackSocketError): DatagramSocket.DatagramSocketError =>
  new DatagramSocket.DatagramSocketError({ reason: new DatagramSocket.DatagramSocketReadError({ kind: ioKind(cause), cause }) })

/** A backing address (`host` is dotted text for the interface to parse). */
const backing = (endpoint: EndpointInput): DatagramSocket.BackingAddress => ({
  host: typeof endpoint.address === "string" ? endpoint.address : ipv4ToString(endpoint.address),
  port: endpoint.port
})

/** The netstack socket as the interface's backing socket. */
const backingSocket = (
  socket: NetstackDatagramSocket,
  options: Options
): DatagramSocket.BackingSocket => {
  const sendOne = (payload: Uint8Array, destination: DatagramSocket.BackingAddress | undefined): DatagramSocket.DatagramSocketError | undefined => {
    const error = socket.trySend(payload, destination === undefined ? undefined : { address: destination.host, port: destination.port })
    return error === undefined ? undefined : writeError(error)
  }
  const local = socket.localAddress
  return {
    address: { host: local.address, port: local.port },
    ...(options.peer === undefined ? {} : { peer: backing(options.peer) }),
    connected: options.connect !== undefined,
    send: (payload, destination, done) => done(sendOne(payload, destination)),
    sendMany: (payloads, destinations, done) => {
      for (let i = 0; i < payloads.length; i++) {
        const payload = payloads[i]
        if (payload === undefined) continue
        const error = sendOne(payload, destinations[i])
        if (error !== undefined) return done(error, i)
      }
      done()
    },
    joinMulticast: () =>
      Effect.fail(
        new DatagramSocket.DatagramSocketError({
          reason: new DatagramSocket.DatagramSocketUnsupportedError({ capability: "multicast", runtime: "netstack" })
        })
      ),
    close: () => socket.socket.closeNow()
  }
}

/**
 * A `DatagramSocket` over netstack UDP on the current host: each reader
 * acquisition binds (and connects) a socket that lives as long as the
 * reader's scope.
 */
export const make = (options: Options = {}): Effect.Effect<DatagramSocket.DatagramSocket, never, Sockets> =>
  Effect.flatMap(Effect.service(Sockets), (sockets) =>
    DatagramSocket.makeFromBackingSocket(
      (events) =>
        Effect.gen(function*() {
          const socket = yield* Effect.mapError(sockets.bind(options.bind, options.socket), openError)
          if (options.connect !== undefined) yield* Effect.mapError(socket.connect(options.connect), openError)
          // The receive loop lives in the reader's scope: each datagram into the interface's queue.
          yield* Effect.forkScoped(Effect.gen(function*() {
            for (;;) {
              const received = yield* Effect.result(socket.receive)
              if (received._tag === "Success") {
                const d = received.success
                events.onPacket(d.data, d.from.address, d.from.port)
              } else if (received.failure.reason === "closed") {
                return events.onClose()
              } else {
                events.onError(readError(received.failure))
              }
            }
          }))
          return backingSocket(socket, options)
        }),
      {
        ...(options.receiveBuffer === undefined ? {} : { receiveBuffer: options.receiveBuffer }),
        ...(options.onError === undefined ? {} : { onError: options.onError })
      }
    ))

/** The `DatagramSocket` service over netstack UDP (NodeDatagramSocket.layer's counterpart). */
export const layer = (options: Options = {}): Layer.Layer<DatagramSocket.DatagramSocket, never, Sockets> =>
  Layer.effect(DatagramSocket.DatagramSocket, make(options))
