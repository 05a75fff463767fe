/**
 * A listening stream socket: listen(2) (RFC 9293 §3.10.1 passive OPEN) and
 * accept(2). Connections that completed their handshake wait in the l4
 * listener's accept queue (bounded by the backlog) until accepted; each
 * accepted socket inherits the listener's options, as Linux's children do,
 * and is closed with the scope `accept` runs in.
 */
import type { TcpListener } from "@netstack/l4"
import { TcpConnection } from "@netstack/l4"
import type { Host } from "@netstack/stack"
import { Effect, Latch, Scope } from "effect"
import { type AddressInput, formatEndpoint, parseAddress, checkPort, type SocketAddress, socketAddress } from "../address.ts"
import { fromTcpError, type NetstackSocketError, socketError } from "../errors.ts"
import { awaitLatch, UseSignal } from "../internal/latches.ts"
import { checkOptions, refuseOptions, type SocketOptions } from "../options.ts"
import { awaitReadiness } from "../poll/await-readiness.ts"
import { type Interest, type Pollable, PollBits, type PollSource, type Readiness, readinessOf } from "../poll/events.ts"
import { applyStreamOptions, STREAM_OPTIONS, StreamSocket } from "./stream-socket.ts"

/** Where to listen. */
export interface ListenAddress {
  /** Local address; default 0.0.0.0 (every address of the host). */
  readonly address?: AddressInput | undefined
  readonly port: number
}

/** What `listen` takes: the options accepted connections inherit, and the backlog. */
export interface ListenOptions extends SocketOptions {
  /** Connections that may wait to be accepted (listen(2)'s backlog; default 128). */
  readonly backlog?: number | undefined
}

/** A listening TCP socket. */
export class StreamListener implements Pollable {
  /** The l4 listener. */
  readonly listener: TcpListener
  readonly pollSource: PollSource
  private readonly inherited: SocketOptions
  private readonly lingerMillis: number | undefined
  private isClosed = false
  private readonly use = new UseSignal()

  /** Internal: made by `Sockets.listen`. */
  constructor(listener: TcpListener, inherited: SocketOptions, lingerMillis: number | undefined) {
    this.listener = listener
    this.inherited = inherited
    this.lingerMillis = lingerMillis
    this.pollSource = {
      mask: () => this.mask(),
      changed: () => this.changed(),
      used: () => this.use.next
    }
  }

  /** The address and port listened on. */
  get localAddress(): SocketAddress {
    return socketAddress(this.listener.localAddress, this.listener.localPort)
  }

  /** True once closed. */
  get closed(): boolean {
    return this.isClosed || this.listener.listener.closed
  }

  /**
   * accept(2): the oldest connection that completed its handshake, waiting
   * for one; the socket is closed with the current scope. EBADF once the
   * listener is closed.
   */
  get accept(): Effect.Effect<StreamSocket, NetstackSocketError, Scope.Scope> {
    const self = this
    const queue = this.listener.listener
    return Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        for (;;) {
          if (self.closed) return yield* socketError("closed", { operation: "accept" })
          const tcb = queue.take()
          if (tcb !== undefined) {
            tcb.listener = undefined
            const connection = new TcpConnection(tcb)
            applyStreamOptions(connection, { sendBuffer: self.inherited.sendBuffer, receiveBuffer: self.inherited.receiveBuffer })
            const socket = new StreamSocket(connection, self.lingerMillis)
            yield* Scope.addFinalizer(yield* Effect.scope, socket.close)
            self.use.raise()
            return socket
          }
          // Only the wait may be interrupted: a connection taken is always handed out or closed.
          yield* restore(awaitLatch(queue.ready))
        }
      })
    )
  }

  /** Stops listening: no new connections; those not yet accepted are reset. Idempotent; run when its scope closes. */
  get close(): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.isClosed) return Effect.void
      this.isClosed = true
      this.use.raise()
      return this.listener.close()
    })
  }

  /** What the listener is ready for: `readable` while a connection waits to be accepted. */
  readiness(): Readiness {
    return readinessOf(this.mask())
  }

  /** Waits until a connection waits (or the listener is closed). */
  awaitReadiness(interest: Interest): Effect.Effect<Readiness> {
    return awaitReadiness(this, interest)
  }

  /** Linux `inet_csk_listen_poll`: EPOLLIN while the accept queue holds a connection; EPOLLHUP once closed. */
  private mask(): number {
    if (this.closed) return PollBits.hangup
    return this.listener.listener.queue.length > 0 ? PollBits.readable : 0
  }

  private changed(): Effect.Effect<void> {
    return Effect.suspend(() => {
      const queue = this.listener.listener
      if (this.closed || queue.queue.length > 0) return this.use.next
      Latch.closeUnsafe(queue.ready)
      return Effect.raceFirst(awaitLatch(queue.ready), this.use.next)
    })
  }
}

/** listen(2) on `at` from `host`; stops listening with the scope. */
export const listenStream = (
  host: Host,
  at: ListenAddress,
  options: ListenOptions = {}
): Effect.Effect<StreamListener, NetstackSocketError, Scope.Scope> =>
  Effect.gen(function*() {
    const { backlog, ...socketOptions } = options
    const local = at.address === undefined ? 0 : parseAddress(at.address, { operation: "listen" })
    if (typeof local !== "number") return yield* local
    const where = { operation: "listen", address: formatEndpoint(local, at.port) }
    const port = checkPort(at.port, false, where)
    if (typeof port !== "number") return yield* port
    const refused = refuseOptions(socketOptions, STREAM_OPTIONS, where)
    if (refused !== undefined) return yield* refused
    const checked = checkOptions(socketOptions, where)
    if (!("lingerMillis" in checked)) return yield* checked
    if (backlog !== undefined && (!Number.isInteger(backlog) || backlog < 0)) {
      return yield* socketError("invalid-argument", { ...where, detail: `backlog ${backlog}` })
    }
    const listener = yield* Effect.mapError(
      host.listen(port, {
        localAddress: local,
        ...(backlog === undefined ? {} : { backlog }),
        ...(socketOptions.reuseAddress === undefined ? {} : { reuseAddress: socketOptions.reuseAddress }),
        ...(socketOptions.noDelay === undefined ? {} : { noDelay: socketOptions.noDelay }),
        ...(socketOptions.keepalive === undefined ? {} : { keepalive: socketOptions.keepalive }),
        ...(socketOptions.ttl === undefined ? {} : { ttl: socketOptions.ttl })
      }),
      (e) => fromTcpError(e, where)
    )
    const socket = new StreamListener(listener, socketOptions, checked.lingerMillis)
    yield* Scope.addFinalizer(yield* Effect.scope, socket.close)
    return socket
  })
