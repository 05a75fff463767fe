/**
 * A datagram (UDP) socket: bind(2), connect(2) to a default peer, sendto and
 * recvfrom of whole datagrams, the bounded receive queue (SO_RCVBUF: what
 * does not fit is dropped and counted, never queued without bound),
 * IP_TTL, SO_BROADCAST, readiness (`udp_poll`), and the datagrams as a
 * `Stream` and a `Sink`. The protocol work is l4's `UdpSocket`.
 */
import type { UdpSocket } from "@netstack/l4"
import { UdpError } from "@netstack/l4"
import type { Host } from "@netstack/stack"
import { ipv4ToString } from "@netstack/wire"
import { Cause, Effect, Latch, Scope, Sink, Stream } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import { type AddressInput, type EndpointInput, formatEndpoint, parseAddress, parseEndpoint, type SocketAddress, socketAddress } from "../address.ts"
import { fromUdpError, type NetstackSocketError, socketError } from "../errors.ts"
import { awaitLatch, UseSignal } from "../internal/latches.ts"
import { checkOptions, refuseOptions, type SocketOptions } from "../options.ts"
import { awaitReadiness } from "../poll/await-readiness.ts"
import { type Interest, type Pollable, PollBits, type PollSource, type Readiness, readinessOf } from "../poll/events.ts"

/** A received datagram. */
export interface Datagram {
  /** The data: a copy the application owns. */
  readonly data: Uint8Array
  /** Who sent it. */
  readonly from: SocketAddress
  /** The address it was sent to (IP_PKTINFO's `ipi_addr`): ours, or a broadcast or multicast address. */
  readonly to: string
}

/** Where to bind. */
export interface BindAddress {
  /** Local address; default 0.0.0.0 (every address of the host). */
  readonly address?: AddressInput | undefined
  /** Local port; default (or 0) an ephemeral one (RFC 6056). */
  readonly port?: number | undefined
}

/** What `bind` takes. */
export interface DatagramOptions extends SocketOptions {
  /** SO_BROADCAST: may send to broadcast addresses. */
  readonly broadcast?: boolean | undefined
}

/** The options a datagram socket takes (SO_SNDBUF is accepted: UDP sends are handed to IP at once, nothing queues). */
export const DATAGRAM_OPTIONS = ["sendBuffer", "receiveBuffer", "reuseAddress", "ttl"] as const

/** A bound UDP socket. */
export class DatagramSocket implements Pollable {
  /** The l4 socket. */
  readonly socket: UdpSocket
  readonly pollSource: PollSource
  private sendBuffer: number | undefined
  private readonly use = new UseSignal()

  /** Internal: made by `Sockets.bind`. */
  constructor(socket: UdpSocket, sendBuffer: number | undefined) {
    this.socket = socket
    this.sendBuffer = sendBuffer
    this.pollSource = {
      mask: () => this.mask(),
      changed: () => this.changed(),
      used: () => this.use.next
    }
  }

  /** The bound address and port (getsockname). */
  get localAddress(): SocketAddress {
    const local = this.socket.local
    return socketAddress(local.address, local.port)
  }

  /** The peer of a connected socket (getpeername); ENOTCONN when not connected. */
  get remoteAddress(): Effect.Effect<SocketAddress, NetstackSocketError> {
    return Effect.suspend(() => {
      const peer = this.socket.peer
      return peer === undefined
        ? Effect.fail(socketError("not-connected", { operation: "getpeername" }))
        : Effect.succeed(socketAddress(peer.address, peer.port))
    })
  }

  /** Datagrams dropped because the receive queue was full (Linux `sk_drops`). */
  get drops(): number {
    return this.socket.drops
  }

  /** True once closed. */
  get closed(): boolean {
    return this.socket.closed
  }

  /** connect(2): `send` without an address goes to `to`, and only datagrams from `to` are received. */
  connect(to: EndpointInput): Effect.Effect<void, NetstackSocketError> {
    return Effect.suspend(() => {
      const peer = parseEndpoint(to, false, { operation: "connect" })
      if (!("port" in peer)) return Effect.fail(peer)
      const address = formatEndpoint(peer.address, peer.port)
      return Effect.mapError(this.socket.connect(peer.address, peer.port), (e) => fromUdpError(e, { operation: "connect", address }))
    })
  }

  /** Dissolves the association (connect(2) with AF_UNSPEC). */
  get disconnect(): Effect.Effect<void> {
    return this.socket.disconnect
  }

  /**
   * sendto(2): `data` as one datagram to `to`, or to the peer of a connected
   * socket (EDESTADDRREQ without either); a pending ICMP error (ECONNREFUSED…)
   * on a connected socket is reported first.
   */
  send(data: Uint8Array, to?: EndpointInput): Effect.Effect<void, NetstackSocketError> {
    return Effect.suspend(() => {
      const error = this.trySend(data, to)
      return error === undefined ? Effect.void : Effect.fail(error)
    })
  }

  /** `send` as a plain call (it never waits): the error, or undefined once the datagram is handed to IP. */
  trySend(data: Uint8Array, to?: EndpointInput): NetstackSocketError | undefined {
    let target: { readonly address: number; readonly port: number } | undefined = undefined
    if (to !== undefined) {
      const parsed = parseEndpoint(to, false, { operation: "send" })
      if (!("port" in parsed)) return parsed
      target = parsed
    }
    const error = this.socket.trySend(data, target)
    this.use.raise()
    if (error === undefined) return undefined
    return fromUdpError(error, { operation: "send", address: target === undefined ? undefined : formatEndpoint(target.address, target.port) })
  }

  /**
   * recvfrom(2): the next datagram, waiting for one; a pending ICMP error on
   * a connected socket is reported first, once. EBADF once closed.
   */
  get receive(): Effect.Effect<Datagram, NetstackSocketError> {
    return Effect.map(
      Effect.mapError(this.socket.receive, (e) => fromUdpError(e, { operation: "receive" })),
      (d) => {
        this.use.raise()
        return { data: d.data, from: socketAddress(d.from.address, d.from.port), to: ipv4ToString(d.to) }
      }
    )
  }

  /** The next datagram if one waits (MSG_DONTWAIT), else undefined. */
  tryReceive(): Datagram | NetstackSocketError | undefined {
    const d = this.socket.tryReceive()
    if (d === undefined) return undefined
    if (d instanceof UdpError) return fromUdpError(d, { operation: "receive" })
    this.use.raise()
    return { data: d.data, from: socketAddress(d.from.address, d.from.port), to: ipv4ToString(d.to) }
  }

  /** The datagrams received, one pull per datagram asked for; never ends by itself. */
  stream(): Stream.Stream<Datagram, NetstackSocketError> {
    const pull = Effect.map(this.receive, (d): NonEmptyReadonlyArray<Datagram> => [d])
    return Stream.fromPull(Effect.succeed(pull as Effect.Effect<NonEmptyReadonlyArray<Datagram>, NetstackSocketError | Cause.Done>))
  }

  /** A sink sending each chunk as one datagram to `to` (or the connected peer). */
  sink(to?: EndpointInput): Sink.Sink<void, Uint8Array, never, NetstackSocketError> {
    return Sink.forEach((data: Uint8Array) => this.send(data, to))
  }

  /** Closes the socket: its port is free, waiting datagrams are dropped, a blocked receive fails (EBADF). Idempotent. */
  get close(): Effect.Effect<void> {
    return Effect.suspend(() => {
      this.use.raise()
      return this.socket.close
    })
  }

  /** setsockopt(2): SO_RCVBUF (the queue's bound), IP_TTL; SO_SNDBUF is kept but bounds nothing (no send queue). */
  setOptions(options: SocketOptions & { readonly broadcast?: boolean | undefined }): Effect.Effect<void, NetstackSocketError> {
    return Effect.suspend(() => {
      const context = { operation: "setsockopt" }
      if (this.socket.closed) return Effect.fail(socketError("closed", context))
      const { broadcast, ...rest } = options
      const refused = refuseOptions(rest, DATAGRAM_OPTIONS, context)
      if (refused !== undefined) return Effect.fail(refused)
      const checked = checkOptions(rest, context)
      if (!("lingerMillis" in checked)) return Effect.fail(checked)
      if (rest.receiveBuffer !== undefined) this.socket.receiveBuffer = rest.receiveBuffer
      if (rest.sendBuffer !== undefined) this.sendBuffer = rest.sendBuffer
      if (rest.ttl !== undefined) this.socket.ttl = rest.ttl
      if (broadcast !== undefined) this.socket.broadcast = broadcast
      return Effect.void
    })
  }

  /** The options in force. */
  get options(): DatagramOptions {
    return {
      receiveBuffer: this.socket.receiveBuffer,
      broadcast: this.socket.broadcast,
      ...(this.sendBuffer === undefined ? {} : { sendBuffer: this.sendBuffer }),
      ...(this.socket.ttl === undefined ? {} : { ttl: this.socket.ttl })
    }
  }

  /** What the socket is ready for now. */
  readiness(): Readiness {
    return readinessOf(this.mask())
  }

  /** Waits until the socket is ready for something in `interest` (or has an error, or is closed). */
  awaitReadiness(interest: Interest): Effect.Effect<Readiness> {
    return awaitReadiness(this, interest)
  }

  /**
   * Linux `udp_poll`/`datagram_poll`: EPOLLIN while a datagram waits;
   * EPOLLERR with a pending ICMP error (a connected socket's ECONNREFUSED…);
   * EPOLLOUT always (sends are handed to IP at once); closed: EPOLLHUP.
   */
  private mask(): number {
    const socket = this.socket
    if (socket.closed) return PollBits.hangup
    let mask = PollBits.writable
    if (socket.queue.length > 0) mask |= PollBits.readable
    if (socket.peekError() !== undefined) mask |= PollBits.error
    return mask
  }

  private changed(): Effect.Effect<void> {
    return Effect.suspend(() => {
      const socket = this.socket
      const ready = socket.queue.ready
      if (socket.closed || socket.queue.length > 0 || socket.peekError() !== undefined) return this.use.next
      Latch.closeUnsafe(ready) // opened by a datagram, an ICMP error, the close
      return Effect.raceFirst(awaitLatch(ready), this.use.next)
    })
  }
}

/** bind(2) of a UDP socket on `host`; closed with the scope. */
export const bindDatagram = (
  host: Host,
  at: BindAddress = {},
  options: DatagramOptions = {}
): Effect.Effect<DatagramSocket, NetstackSocketError, Scope.Scope> =>
  Effect.gen(function*() {
    const { broadcast, ...socketOptions } = options
    const address = at.address === undefined ? 0 : parseAddress(at.address, { operation: "bind" })
    if (typeof address !== "number") return yield* address
    const port = at.port ?? 0
    const where = { operation: "bind", address: formatEndpoint(address, port) }
    const refused = refuseOptions(socketOptions, DATAGRAM_OPTIONS, where)
    if (refused !== undefined) return yield* refused
    const checked = checkOptions(socketOptions, where)
    if (!("lingerMillis" in checked)) return yield* checked
    const udp = host.udp.open({
      address,
      port,
      ...(socketOptions.reuseAddress === undefined ? {} : { reuseAddress: socketOptions.reuseAddress }),
      ...(broadcast === undefined ? {} : { broadcast }),
      ...(socketOptions.receiveBuffer === undefined ? {} : { receiveBuffer: socketOptions.receiveBuffer }),
      ...(socketOptions.ttl === undefined ? {} : { ttl: socketOptions.ttl })
    })
    if (udp instanceof UdpError) return yield* fromUdpError(udp, where)
    const socket = new DatagramSocket(udp, socketOptions.sendBuffer)
    yield* Scope.addFinalizer(yield* Effect.scope, socket.close)
    return socket
  })
