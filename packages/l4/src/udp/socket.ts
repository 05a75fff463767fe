/**
 * A UDP socket (the minimal API; the full socket API is in @netstack/sockets
 * later): its local binding, an optional peer (`connect`), SO_BROADCAST, the
 * path-MTU discovery mode, the bounded receive queue and the pending
 * asynchronous error (Linux `sk_err`).
 *
 * The softirq side (`deliver`, `reportError`) is synchronous and never
 * blocks; the application side is Effects: `receive` waits on the queue's
 * latch, `send` runs the output path at once.
 */
import { Effect, Latch } from "effect"
import type { PortBinding } from "../ports/index.ts"
import { UdpError } from "./errors.ts"
import { ReceiveQueue, type UdpDatagram } from "./receive-queue.ts"
import type { Udp } from "./udp.ts"

/**
 * When sent datagrams carry DF (Linux IP_MTU_DISCOVER): `want` (Linux's
 * default, IP_PMTUDISC_WANT) sets it on datagrams that fit the path MTU and
 * fragments larger ones; `do` always sets it (larger sends fail with
 * EMSGSIZE); `dont` never sets it.
 */
export type PmtuDiscovery = "want" | "do" | "dont"

/** An address and port. */
export interface UdpEndpoint {
  readonly address: number
  readonly port: number
}

/** A bound UDP socket. */
export class UdpSocket {
  /** SO_BROADCAST: may send to (and connect to) broadcast addresses. */
  broadcast: boolean
  /** IP_MTU_DISCOVER. */
  pmtuDiscovery: PmtuDiscovery
  /** IP_TTL for unicast and broadcast (undefined: the host's default); multicast uses `multicastTtl`. */
  ttl: number | undefined
  /** IP_MULTICAST_TTL (Linux default 1). */
  multicastTtl = 1
  /** Datagrams this socket dropped because its receive queue was full (Linux `sk_drops`). */
  drops = 0
  /** The receive queue. */
  readonly queue: ReceiveQueue
  /** The socket's port binding (owned by the UDP module). */
  readonly binding: PortBinding<UdpSocket>
  /** True when the application bound a specific address (Linux SOCK_BINDADDR_LOCK): disconnect keeps it. */
  readonly addressLocked: boolean
  private readonly udp: Udp
  private connectedTo: UdpEndpoint | undefined = undefined
  private pendingError: UdpError | undefined = undefined
  private isClosed = false

  /** Internal: sockets are made by `Udp.bind` / `Udp.open`. */
  constructor(
    udp: Udp,
    binding: (socket: UdpSocket) => PortBinding<UdpSocket>,
    options: {
      readonly addressLocked: boolean
      readonly receiveBuffer: number
      readonly broadcast: boolean
      readonly pmtuDiscovery: PmtuDiscovery
      readonly ttl: number | undefined
    }
  ) {
    this.udp = udp
    this.queue = new ReceiveQueue(options.receiveBuffer)
    this.addressLocked = options.addressLocked
    this.broadcast = options.broadcast
    this.pmtuDiscovery = options.pmtuDiscovery
    this.ttl = options.ttl
    this.binding = binding(this)
  }

  /** The local address (0: any of the host's) and port. */
  get local(): UdpEndpoint {
    return { address: this.binding.address, port: this.binding.port }
  }

  /** The peer of a connected socket. */
  get peer(): UdpEndpoint | undefined {
    return this.connectedTo
  }

  /** True once closed. */
  get closed(): boolean {
    return this.isClosed
  }

  /** SO_RCVBUF: bytes the receive queue may hold (each datagram charged its size plus an overhead). */
  get receiveBuffer(): number {
    return this.queue.capacity
  }

  set receiveBuffer(bytes: number) {
    this.queue.capacity = Math.max(0, Math.floor(bytes))
  }

  /**
   * Connects the socket (`connect(2)` on a datagram socket, Linux
   * `ip4_datagram_connect`): `send` without an address goes to the peer, and
   * only datagrams from the peer are received. A wildcard local address
   * becomes the route's source.
   */
  connect(address: number, port: number): Effect.Effect<void, UdpError> {
    return Effect.suspend(() => {
      const error = this.udp.connectSocket(this, address, port)
      return error === undefined ? Effect.void : Effect.fail(error)
    })
  }

  /** Dissolves the association (`connect` with AF_UNSPEC, Linux `__udp_disconnect`). */
  get disconnect(): Effect.Effect<void> {
    return Effect.sync(() => this.udp.disconnectSocket(this))
  }

  /** Sends `data` as one datagram to `to`, or to the peer of a connected socket. */
  send(data: Uint8Array, to?: UdpEndpoint): Effect.Effect<void, UdpError> {
    return Effect.suspend(() => {
      const error = this.trySend(data, to)
      return error === undefined ? Effect.void : Effect.fail(error)
    })
  }

  /** `send` as a plain call: the error, or undefined once the datagram is handed to IP. */
  trySend(data: Uint8Array, to?: UdpEndpoint): UdpError | undefined {
    return this.udp.sendFrom(this, data, to)
  }

  /**
   * The next datagram, waiting for one; a pending asynchronous error (an
   * ICMP error on a connected socket) is reported first, once.
   */
  get receive(): Effect.Effect<UdpDatagram, UdpError> {
    return Effect.suspend(() => this.receiveLoop())
  }

  /** The next datagram without waiting (MSG_DONTWAIT): undefined when none waits. */
  tryReceive(): UdpDatagram | UdpError | undefined {
    const error = this.takeError()
    if (error !== undefined) return error
    const datagram = this.queue.poll()
    if (datagram !== undefined) {
      this.udp.stats.InDatagrams++
      return datagram
    }
    return this.isClosed ? new UdpError({ reason: "closed" }) : undefined
  }

  /** Closes the socket: its port is free again, waiting datagrams are dropped, waiting readers fail. */
  get close(): Effect.Effect<void> {
    return Effect.sync(() => this.closeNow())
  }

  /** `close` as a plain call. */
  closeNow(): void {
    if (this.isClosed) return
    this.isClosed = true
    this.udp.closeSocket(this)
    this.queue.clear()
    Latch.openUnsafe(this.queue.ready)
  }

  // ------------------------------------------------------------------ for the UDP module

  /** Internal: sets or clears the peer. */
  setPeer(peer: UdpEndpoint | undefined): void {
    this.connectedTo = peer
  }

  /** Internal: an asynchronous error for the next receive or send (Linux `sk_err` + `sk_error_report`). */
  reportError(error: UdpError): void {
    this.pendingError = error
    Latch.openUnsafe(this.queue.ready)
  }

  /** The pending asynchronous error, left in place (what poll reports as POLLERR before a call takes it). */
  peekError(): UdpError | undefined {
    return this.pendingError
  }

  /** Internal: takes the pending error (Linux `sock_error`: read and clear). */
  takeError(): UdpError | undefined {
    const error = this.pendingError
    this.pendingError = undefined
    return error
  }

  private receiveLoop(): Effect.Effect<UdpDatagram, UdpError> {
    const ready = this.tryReceive()
    if (ready instanceof UdpError) return Effect.fail(ready)
    if (ready !== undefined) return Effect.succeed(ready)
    Latch.closeUnsafe(this.queue.ready)
    return Effect.flatMap(Latch.await(this.queue.ready), () => this.receiveLoop())
  }
}
