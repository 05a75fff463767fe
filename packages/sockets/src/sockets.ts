/**
 * The `Sockets` service: the socket calls of one host (network namespace),
 * built from `CurrentHost`. Every socket it opens is closed when the scope
 * it was opened in closes.
 *
 * @example
 * const echoOnce = Effect.gen(function*() {
 *   const sockets = yield* Sockets
 *   const listener = yield* sockets.listen({ port: 7 })
 *   const socket = yield* sockets.accept(listener)
 *   const data = yield* sockets.receive(socket)
 *   if (data !== undefined) yield* sockets.send(socket, data)
 * }).pipe(Effect.scoped, Effect.provide(Sockets.layer), Effect.provide(Host.layer({ name: "server" })))
 */
import { CurrentHost, type Host } from "@netstack/stack"
import { Context, Effect, Layer, type Scope } from "effect"
import type { AddressInput, EndpointInput } from "./address.ts"
import { bindDatagram, type BindAddress, type Datagram, type DatagramOptions, DatagramSocket } from "./datagram/datagram-socket.ts"
import type { NetstackSocketError } from "./errors.ts"
import { type Frame, openPacket, type PacketOptions, PacketSocket } from "./packet/packet-socket.ts"
import { awaitReadiness } from "./poll/await-readiness.ts"
import type { Interest, Pollable, Readiness } from "./poll/events.ts"
import { PollSet } from "./poll/poll-set.ts"
import { openRaw, type RawDatagram, type RawOptions, RawSocket } from "./raw/raw-socket.ts"
import { type ConnectOptions, connectStream } from "./stream/connect.ts"
import { type ListenAddress, type ListenOptions, listenStream, type StreamListener } from "./stream/listener.ts"
import { type ShutdownHow, StreamSocket } from "./stream/stream-socket.ts"

/** Every kind of socket. */
export type AnySocket = StreamSocket | StreamListener | DatagramSocket | RawSocket | PacketSocket

/** send(2) on any socket kind. */
export interface Send {
  (socket: StreamSocket, data: Uint8Array): Effect.Effect<void, NetstackSocketError>
  (socket: DatagramSocket, data: Uint8Array, to?: EndpointInput): Effect.Effect<void, NetstackSocketError>
  (socket: RawSocket, data: Uint8Array, to?: AddressInput): Effect.Effect<void, NetstackSocketError>
  (socket: PacketSocket, frame: Uint8Array, device?: string): Effect.Effect<void, NetstackSocketError>
}

/** recv(2) on any socket kind that receives. */
export interface Receive {
  (socket: StreamSocket, max?: number): Effect.Effect<Uint8Array | undefined, NetstackSocketError>
  (socket: DatagramSocket): Effect.Effect<Datagram, NetstackSocketError>
  (socket: RawSocket): Effect.Effect<RawDatagram, NetstackSocketError>
  (socket: PacketSocket): Effect.Effect<Frame, NetstackSocketError>
}

/** The socket calls of one host. */
export interface SocketsShape {
  /** The host (network namespace) the sockets live in. */
  readonly host: Host
  /** connect(2) of a stream (TCP) socket: the handshake done, options applied. */
  readonly connect: (to: EndpointInput, options?: ConnectOptions) => Effect.Effect<StreamSocket, NetstackSocketError, Scope.Scope>
  /** listen(2) on a stream socket bound to `at`. */
  readonly listen: (at: ListenAddress, options?: ListenOptions) => Effect.Effect<StreamListener, NetstackSocketError, Scope.Scope>
  /** accept(2): the next connection of `listener`, closed with the current scope. */
  readonly accept: (listener: StreamListener) => Effect.Effect<StreamSocket, NetstackSocketError, Scope.Scope>
  /** bind(2) of a datagram (UDP) socket (an ephemeral port without one). */
  readonly bind: (at?: BindAddress, options?: DatagramOptions) => Effect.Effect<DatagramSocket, NetstackSocketError, Scope.Scope>
  /** A raw IP socket of `protocol` (raw(7)). */
  readonly raw: (protocol: number, options?: RawOptions) => Effect.Effect<RawSocket, NetstackSocketError, Scope.Scope>
  /** A packet socket (packet(7)): whole frames of every device, or of one. */
  readonly packet: (options?: PacketOptions) => Effect.Effect<PacketSocket, NetstackSocketError, Scope.Scope>
  readonly send: Send
  readonly receive: Receive
  /** shutdown(2) of a stream socket. */
  readonly shutdown: (socket: StreamSocket, how?: ShutdownHow) => Effect.Effect<void, NetstackSocketError>
  /** close(2) of any socket (also done by its scope). */
  readonly close: (socket: AnySocket) => Effect.Effect<void>
  /** poll(2) of one socket: waits until it is ready for something in `interest` (or has an error, or hung up). */
  readonly poll: (socket: Pollable, interest: Interest) => Effect.Effect<Readiness>
  /** An empty epoll-like set. */
  readonly pollSet: <S extends Pollable = Pollable>() => Effect.Effect<PollSet<S>>
}

function send(socket: StreamSocket, data: Uint8Array): Effect.Effect<void, NetstackSocketError>
function send(socket: DatagramSocket, data: Uint8Array, to?: EndpointInput): Effect.Effect<void, NetstackSocketError>
function send(socket: RawSocket, data: Uint8Array, to?: AddressInput): Effect.Effect<void, NetstackSocketError>
function send(socket: PacketSocket, frame: Uint8Array, device?: string): Effect.Effect<void, NetstackSocketError>
function send(
  socket: StreamSocket | DatagramSocket | RawSocket | PacketSocket,
  data: Uint8Array,
  to?: EndpointInput | AddressInput
): Effect.Effect<void, NetstackSocketError> {
  if (socket instanceof StreamSocket) return socket.send(data)
  if (socket instanceof DatagramSocket) return socket.send(data, typeof to === "object" ? to : undefined)
  if (socket instanceof RawSocket) return socket.send(data, typeof to === "object" ? undefined : to)
  return socket.send(data, typeof to === "string" ? to : undefined)
}

function receive(socket: StreamSocket, max?: number): Effect.Effect<Uint8Array | undefined, NetstackSocketError>
function receive(socket: DatagramSocket): Effect.Effect<Datagram, NetstackSocketError>
function receive(socket: RawSocket): Effect.Effect<RawDatagram, NetstackSocketError>
function receive(socket: PacketSocket): Effect.Effect<Frame, NetstackSocketError>
function receive(
  socket: StreamSocket | DatagramSocket | RawSocket | PacketSocket,
  max?: number
): Effect.Effect<Uint8Array | undefined | Datagram | RawDatagram | Frame, NetstackSocketError> {
  if (socket instanceof StreamSocket) return socket.receive(max)
  return socket.receive
}

/** The socket calls of `host`. */
export const makeSockets = (host: Host): SocketsShape => ({
  host,
  connect: Effect.fn("Sockets.connect")(function*(to: EndpointInput, options?: ConnectOptions) {
    return yield* connectStream(host, to, options)
  }),
  listen: Effect.fn("Sockets.listen")(function*(at: ListenAddress, options?: ListenOptions) {
    return yield* listenStream(host, at, options)
  }),
  accept: (listener) => listener.accept,
  bind: Effect.fn("Sockets.bind")(function*(at?: BindAddress, options?: DatagramOptions) {
    return yield* bindDatagram(host, at, options)
  }),
  raw: Effect.fn("Sockets.raw")(function*(protocol: number, options?: RawOptions) {
    return yield* openRaw(host, protocol, options)
  }),
  packet: Effect.fn("Sockets.packet")(function*(options?: PacketOptions) {
    return yield* openPacket(host, options)
  }),
  send,
  receive,
  shutdown: (socket, how) => socket.shutdown(how),
  close: (socket) => socket.close,
  poll: awaitReadiness,
  pollSet: () => PollSet.make()
})

/** The socket API of the current host. */
export class Sockets extends Context.Service<Sockets, SocketsShape>()("@netstack/sockets/Sockets") {
  /** `Sockets` for the `CurrentHost`. */
  static readonly layer: Layer.Layer<Sockets, never, CurrentHost> = Layer.effect(
    Sockets,
    Effect.map(Effect.service(CurrentHost), (host) => Sockets.of(makeSockets(host)))
  )
}
