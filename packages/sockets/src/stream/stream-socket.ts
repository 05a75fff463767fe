/**
 * A connected stream (TCP) socket: send and receive with the buffers'
 * backpressure (a send waits while the send buffer is full, a receive
 * while nothing has arrived), shutdown of either direction, close with
 * SO_LINGER, socket options, readiness as `tcp_poll` computes it, and the
 * data as a `Stream` (reads pulled only on demand) and a `Sink`.
 *
 * The protocol work is l4's (`TcpConnection`); this layer waits on the
 * connection's latches itself so that a `close` from another fiber wakes a
 * blocked send or receive with EBADF, as closing a descriptor does. Every
 * wait (send, receive, poll, a lingering close) is a consumer of the
 * connection's net channel (`awaitAsChannelConsumer`): what the channel
 * queued is run in the waiting fiber, as OSv's `soreceive`, `sosend` and
 * `poll` do.
 */
import { awaitAsChannelConsumer, drainChannel, type TcpConnection, type TcpInfo, type TcpState } from "@netstack/l4"
import { Cause, Effect, Latch, Sink, Stream } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import { type SocketAddress, socketAddress } from "../address.ts"
import { fromTcpError, type NetstackSocketError, socketError } from "../errors.ts"
import { awaitLatch, awaitAny, UseSignal } from "../internal/latches.ts"
import { checkOptions, refuseOptions, type SocketOptions } from "../options.ts"
import { awaitReadiness } from "../poll/await-readiness.ts"
import { type Interest, type Pollable, PollBits, type PollSource, type Readiness, readinessOf } from "../poll/events.ts"

/** Which direction `shutdown` ends (shutdown(2)'s SHUT_RD, SHUT_WR, SHUT_RDWR). */
export type ShutdownHow = "read" | "write" | "both"

/** The options a stream socket takes. */
export const STREAM_OPTIONS = ["sendBuffer", "receiveBuffer", "noDelay", "keepalive", "reuseAddress", "linger", "ttl"] as const

/** Default bytes a receive or a stream chunk takes at most. */
export const DEFAULT_READ_SIZE = 64 * 1024

const { readable: IN, writable: OUT, error: ERR, hangup: HUP, peerClosed: RDHUP } = PollBits

/** The states a send may go on in (RFC 9293 §3.10.2: ESTABLISHED and CLOSE-WAIT). */
const canSend = (state: TcpState): boolean => state === "ESTABLISHED" || state === "CLOSE-WAIT"

/** The states `close` with a linger time waits in: our FIN is not yet acknowledged (Linux `sk_stream_wait_close`). */
const finPending = (state: TcpState): boolean => state === "FIN-WAIT-1" || state === "CLOSING" || state === "LAST-ACK"

/** A connected TCP socket. */
export class StreamSocket implements Pollable {
  /** The l4 connection (its TCB, `info()`, …). */
  readonly connection: TcpConnection
  readonly pollSource: PollSource
  private lingerMillis: number | undefined
  private readShut = false
  private isClosed = false
  private readonly use = new UseSignal()

  /** Internal: sockets are made by `Sockets.connect` and `StreamListener.accept`. */
  constructor(connection: TcpConnection, lingerMillis: number | undefined) {
    this.connection = connection
    this.lingerMillis = lingerMillis
    this.pollSource = {
      mask: () => this.mask(),
      changed: (interest) => this.changed(interest),
      used: () => this.use.next
    }
  }

  /** The local address and port (getsockname). */
  get localAddress(): SocketAddress {
    return socketAddress(this.connection.localAddress, this.connection.localPort)
  }

  /** The peer's address and port (getpeername). */
  get remoteAddress(): SocketAddress {
    return socketAddress(this.connection.remoteAddress, this.connection.remotePort)
  }

  /** The connection's state (RFC 9293 §3.3.2). */
  get state(): TcpState {
    return this.connection.state
  }

  /** True once `close` was called (later calls fail with EBADF). */
  get closed(): boolean {
    return this.isClosed
  }

  /** `ss -ti`'s view of the connection. */
  info(): TcpInfo {
    return this.connection.info()
  }

  // ------------------------------------------------------------------ data

  /**
   * Sends all of `data` (send(2) on a blocking socket): copies what fits in
   * the send buffer and waits for room for the rest. Fails with EPIPE after
   * shutdown, ECONNRESET/ETIMEDOUT once the connection failed, EBADF after close.
   */
  send(data: Uint8Array): Effect.Effect<void, NetstackSocketError> {
    const self = this
    const tcb = this.connection.tcb
    return Effect.gen(function*() {
      let from = 0
      while (from < data.length) {
        if (self.isClosed) return yield* socketError("closed", { operation: "send" })
        if (tcb.error !== undefined) return yield* fromTcpError(tcb.error, { operation: "send" })
        if (tcb.finQueued) return yield* socketError("broken-pipe", { operation: "send", detail: tcb.toString() })
        if (!canSend(tcb.state)) return yield* socketError("not-connected", { operation: "send", detail: tcb.toString() })
        const free = tcb.send.free
        if (free > 0) {
          const end = Math.min(data.length, from + free)
          // It fits: l4 copies it into the send buffer and sends what the windows allow, without waiting.
          yield* Effect.mapError(self.connection.write(data.subarray(from, end)), (e) => fromTcpError(e, { operation: "send" }))
          from = end
          self.use.raise()
        } else {
          Latch.closeUnsafe(tcb.writable)
          yield* awaitAsChannelConsumer(tcb, "writer", tcb.writable, awaitLatch(tcb.writable))
        }
      }
    })
  }

  /**
   * Receives up to `max` bytes in order, waiting for some (recv(2)); undefined
   * at the end of the peer's data (its FIN) or after `shutdown("read")`.
   */
  receive(max: number = DEFAULT_READ_SIZE): Effect.Effect<Uint8Array | undefined, NetstackSocketError> {
    const self = this
    const tcb = this.connection.tcb
    return Effect.gen(function*() {
      for (;;) {
        if (self.isClosed) return yield* socketError("closed", { operation: "receive" })
        if (self.readShut) return undefined
        if (tcb.receive.length > 0 || tcb.error !== undefined || tcb.finReceived || tcb.state === "CLOSED") {
          const chunk = yield* Effect.mapError(self.connection.read(max), (e) => fromTcpError(e, { operation: "receive" }))
          self.use.raise()
          return chunk
        }
        Latch.closeUnsafe(tcb.readable)
        yield* awaitAsChannelConsumer(tcb, "reader", tcb.readable, awaitLatch(tcb.readable))
      }
    })
  }

  /**
   * The data received, as a stream: each pull receives one chunk of at most
   * `chunkSize` bytes, so nothing is read until the consumer asks (the
   * receive buffer fills and the window closes meanwhile); ends at the
   * peer's FIN.
   */
  stream(options: { readonly chunkSize?: number } = {}): Stream.Stream<Uint8Array, NetstackSocketError> {
    const size = options.chunkSize ?? DEFAULT_READ_SIZE
    const pull = Effect.flatMap(
      this.receive(size),
      (chunk): Effect.Effect<NonEmptyReadonlyArray<Uint8Array>, NetstackSocketError | Cause.Done> =>
        chunk === undefined ? Cause.done() : Effect.succeed([chunk])
    )
    return Stream.fromPull(Effect.succeed(pull))
  }

  /**
   * A sink that sends every chunk, each send waiting while the send buffer
   * is full (so a slow network slows the producer); with `halfClose` it
   * sends the FIN when the stream ends (shutdown(SHUT_WR)).
   */
  sink(options: { readonly halfClose?: boolean } = {}): Sink.Sink<void, Uint8Array, never, NetstackSocketError> {
    const sends = Sink.forEachArray((chunks: NonEmptyReadonlyArray<Uint8Array>) =>
      Effect.forEach(chunks, (chunk) => this.send(chunk), { discard: true })
    )
    return options.halfClose === true ? Sink.mapEffect(sends, () => this.shutdown("write")) : sends
  }

  // ------------------------------------------------------------------ ending

  /**
   * shutdown(2): `write` sends the FIN after the data written (RFC 9293
   * §3.10.4, half-close); `read` makes receives return the end of data;
   * `both` does both. ENOTCONN once the connection is gone.
   */
  shutdown(how: ShutdownHow = "write"): Effect.Effect<void, NetstackSocketError> {
    return Effect.suspend(() => {
      const tcb = this.connection.tcb
      if (this.isClosed) return Effect.fail(socketError("closed", { operation: "shutdown" }))
      if (tcb.state === "CLOSED") return Effect.fail(socketError("not-connected", { operation: "shutdown", detail: tcb.toString() }))
      if (how !== "write") {
        this.readShut = true
        Latch.openUnsafe(tcb.readable)
      }
      this.use.raise()
      return how === "read" ? Effect.void : this.connection.shutdown()
    })
  }

  /**
   * close(2), as SO_LINGER says: without it the FIN exchange finishes in the
   * background and close returns at once; with zero the connection is reset
   * (RFC 9293 §3.10.5 ABORT: RST, queued data dropped); with a time close
   * waits up to it for the FIN to be acknowledged. Blocked sends and
   * receives fail with EBADF. Idempotent; run when the socket's scope closes.
   */
  get close(): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.isClosed) return Effect.void
      this.isClosed = true
      const tcb = this.connection.tcb
      // Wake this socket's blocked calls: they see the socket closed.
      Latch.openUnsafe(tcb.readable)
      Latch.openUnsafe(tcb.writable)
      this.use.raise()
      const linger = this.lingerMillis
      if (linger === 0) return this.connection.abort()
      if (linger === undefined) return this.connection.close()
      return this.connection.close().pipe(
        Effect.andThen(Effect.timeoutOption(this.finAcknowledged(), linger)),
        Effect.asVoid
      )
    })
  }

  /** ABORT (RFC 9293 §3.10.5): RST now, whatever SO_LINGER says; then closed. */
  get abort(): Effect.Effect<void> {
    return Effect.suspend(() => {
      this.lingerMillis = 0
      return this.close
    })
  }

  /** Ends once our FIN is acknowledged or the connection is gone. */
  private finAcknowledged(): Effect.Effect<void> {
    const tcb = this.connection.tcb
    return Effect.gen(function*() {
      while (finPending(tcb.state)) {
        Latch.closeUnsafe(tcb.writable)
        // The ACK of our FIN may be queued on the net channel (FIN-WAIT-1 still receives).
        yield* awaitAsChannelConsumer(tcb, "writer", tcb.writable, awaitAny([tcb.writable, tcb.closed]))
      }
    })
  }

  // ------------------------------------------------------------------ options

  /**
   * setsockopt(2): SO_SNDBUF, SO_RCVBUF, TCP_NODELAY, SO_KEEPALIVE,
   * SO_REUSEADDR (it matters only at bind), SO_LINGER and IP_TTL.
   */
  setOptions(options: SocketOptions): Effect.Effect<void, NetstackSocketError> {
    return Effect.suspend(() => {
      const context = { operation: "setsockopt" }
      if (this.isClosed) return Effect.fail(socketError("closed", context))
      const refused = refuseOptions(options, STREAM_OPTIONS, context)
      if (refused !== undefined) return Effect.fail(refused)
      const checked = checkOptions(options, context)
      if (!("lingerMillis" in checked)) return Effect.fail(checked)
      applyStreamOptions(this.connection, options)
      if (options.linger !== undefined) this.lingerMillis = checked.lingerMillis
      return Effect.void
    })
  }

  /** The options in force (getsockopt(2)). */
  get options(): SocketOptions {
    const tcb = this.connection.tcb
    return {
      sendBuffer: tcb.send.capacity,
      receiveBuffer: tcb.receive.capacity,
      noDelay: tcb.noDelay,
      keepalive: tcb.keepalive,
      ...(tcb.ttl === undefined ? {} : { ttl: tcb.ttl }),
      ...(this.lingerMillis === undefined ? {} : { linger: this.lingerMillis })
    }
  }

  // ------------------------------------------------------------------ readiness

  /** What the socket is ready for now (poll(2) with every event asked for). */
  readiness(): Readiness {
    return readinessOf(this.mask())
  }

  /** Waits until the socket is ready for something in `interest` (or has an error or hung up); level-triggered. */
  awaitReadiness(interest: Interest): Effect.Effect<Readiness> {
    return awaitReadiness(this, interest)
  }

  /**
   * Linux `tcp_poll`: EPOLLIN with data, the peer's FIN or a read shutdown
   * (RCV_SHUTDOWN, which also gives EPOLLRDHUP); EPOLLOUT when the free
   * send space is at least half the queued bytes (`sk_stream_is_writeable`),
   * or at once after SEND_SHUTDOWN (a send fails without waiting); EPOLLERR
   * with an error; EPOLLHUP when both directions are shut or the connection
   * is CLOSED; a closed socket reports EPOLLHUP. What the connection's net
   * channel queued is run first (OSv's `sopoll` flushes the channel), so the
   * readiness is the one after it (nothing is run when called inside TCP input).
   */
  private mask(): number {
    if (this.isClosed) return HUP
    const tcb = this.connection.tcb
    drainChannel(tcb, "poller")
    const state = tcb.state
    const gone = state === "CLOSED"
    const receiveShut = tcb.finReceived || this.readShut || gone
    const sendShut = tcb.finQueued || gone
    let mask = 0
    if (tcb.error !== undefined) mask |= ERR
    if ((receiveShut && sendShut) || gone) mask |= HUP
    if (receiveShut) mask |= IN | RDHUP
    if (tcb.receive.length > 0) mask |= IN
    if (sendShut) mask |= OUT
    else if (canSend(state) && tcb.send.writeSpace) mask |= OUT
    return mask
  }

  /** The latches whose opening may change the bits of `interest` that are down now. */
  private changed(interest: number): Effect.Effect<void> {
    return Effect.suspend(() => {
      const tcb = this.connection.tcb
      const mask = this.mask()
      const latches: Array<Latch.Latch> = []
      // Closed here or CLOSED: nothing more can happen but the application's own calls.
      if (this.isClosed || tcb.state === "CLOSED") return this.use.next
      if ((mask & IN) === 0) {
        Latch.closeUnsafe(tcb.readable) // opened by data, the FIN, an error, the end
        latches.push(tcb.readable)
      }
      if ((interest & OUT) !== 0 && (mask & OUT) === 0) {
        Latch.closeUnsafe(tcb.writable) // opened by acknowledged data and by the end
        latches.push(tcb.writable)
      }
      if (!Latch.isOpen(tcb.closed)) latches.push(tcb.closed) // an error or the end while the other bits are up
      const wait = Effect.raceFirst(awaitAny(latches), this.use.next)
      // The poller is a consumer of the connection's net channel, woken through its readable or writable latch
      // (never `closed`: opening that would tell `whenClosed` the connection is gone).
      const wake = latches[0] === tcb.closed ? undefined : latches[0]
      return wake === undefined ? wait : awaitAsChannelConsumer(tcb, "poller", wake, wait)
    })
  }
}

/** SO_SNDBUF, SO_RCVBUF, TCP_NODELAY, SO_KEEPALIVE and IP_TTL onto an l4 connection. */
export const applyStreamOptions = (connection: TcpConnection, options: SocketOptions): void => {
  if (options.sendBuffer !== undefined) connection.setSendBuffer(options.sendBuffer)
  if (options.receiveBuffer !== undefined) connection.setReceiveBuffer(options.receiveBuffer)
  if (options.noDelay !== undefined) connection.setNoDelay(options.noDelay)
  if (options.keepalive !== undefined) connection.setKeepalive(options.keepalive)
  if (options.ttl !== undefined) connection.setTtl(options.ttl)
}
