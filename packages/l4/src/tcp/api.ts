/**
 * The minimal connection API (RFC 9293 §3.9's user calls: OPEN, SEND,
 * RECEIVE, CLOSE, ABORT, STATUS) as Effects, for tests, benchmarks and the
 * socket layer built on it. Reads and writes wait on the connection's
 * latches (the buffers give backpressure: a write waits while the send
 * buffer is full, a read while nothing has arrived); the protocol work runs
 * synchronously, in the caller's fiber for sends and in the softirq for
 * arrivals, as in a kernel, or, for what a net channel queued, in the
 * fiber waiting on the connection (`awaitAsChannelConsumer`).
 */
import { Effect, Latch, Scope } from "effect"
import { awaitAsChannelConsumer } from "./channel-waiters.ts"
import { initialWindow } from "./congestion/congestion-control.ts"
import { done } from "./lifecycle.ts"
import type { Listener } from "./listener.ts"
import { pushData, sendAck, sendReset } from "./output.ts"
import type { ReceiveBuffer } from "./receive-buffer.ts"
import { seqAdd } from "./seq.ts"
import { TcpError } from "./settings.ts"
import { isSynchronized, type Tcb, type TcpState } from "./tcb.ts"
import type { ConnectOptions, ListenOptions, Tcp } from "./tcp.ts"
import { receiveSpace, receiveWindow } from "./window.ts"

/** What `ss -ti` shows of a connection. */
export interface TcpInfo {
  readonly state: TcpState
  readonly mss: number
  readonly cwnd: number | undefined
  readonly ssthresh: number | undefined
  readonly srtt: number | undefined
  readonly rto: number
  readonly sendWindow: number
  readonly receiveWindow: number
  readonly inFlight: number
  readonly unsent: number
  readonly unread: number
  readonly retransmits: number
  readonly congestion: string | undefined
  readonly sack: boolean
  readonly timestamps: boolean
  readonly windowScale: readonly [send: number, receive: number]
}

/** A connection, as the application holds it. */
export class TcpConnection {
  /** The TCB (for tests and the socket layer). */
  readonly tcb: Tcb

  constructor(tcb: Tcb) {
    this.tcb = tcb
  }

  get localAddress(): number {
    return this.tcb.localAddress
  }
  get localPort(): number {
    return this.tcb.localPort
  }
  get remoteAddress(): number {
    return this.tcb.remoteAddress
  }
  get remotePort(): number {
    return this.tcb.remotePort
  }
  get state(): TcpState {
    return this.tcb.state
  }

  /**
   * SEND (RFC 9293 §3.10.2): copies `data` into the send buffer and sends
   * what the windows allow, waiting while the buffer is full. Fails once the
   * connection is reset or timed out, or after `shutdown`/`close` (EPIPE).
   */
  write(data: Uint8Array): Effect.Effect<void, TcpError> {
    const tcb = this.tcb
    // The common case, everything fitting in the send buffer at once, runs without a generator.
    return Effect.suspend(() => {
      const refused = sendRefusal(tcb)
      if (refused !== undefined) return refused
      const from = sendWhatFits(tcb, data, 0)
      return from === data.length ? Effect.void : writeRest(tcb, data, from)
    })
  }

  /**
   * RECEIVE (RFC 9293 §3.10.3): up to `max` bytes in order, waiting for
   * them; `undefined` at the end of the peer's data (its FIN). The bytes are
   * the caller's to keep.
   */
  read(max = 64 * 1024): Effect.Effect<Uint8Array | undefined, TcpError> {
    return receiveWith(this.tcb, (receive) => receive.read(max))
  }

  /**
   * RECEIVE into the caller's array: waits for data, copies as much as fits
   * from `at`, and returns how many bytes; `undefined` at the end of the
   * peer's data. No array is allocated for the data (the buffer's pages are recycled).
   */
  readInto(target: Uint8Array, at = 0): Effect.Effect<number | undefined, TcpError> {
    return receiveWith(this.tcb, (receive) => receive.readInto(target, at), { target, at })
  }

  /** Reads everything until the peer's FIN. */
  readAll(): Effect.Effect<Uint8Array, TcpError> {
    const connection = this
    return Effect.gen(function*() {
      const chunks: Array<Uint8Array> = []
      let total = 0
      for (;;) {
        const chunk = yield* connection.read()
        if (chunk === undefined) break
        chunks.push(chunk)
        total += chunk.length
      }
      const out = new Uint8Array(total)
      let at = 0
      for (const chunk of chunks) {
        out.set(chunk, at)
        at += chunk.length
      }
      return out
    })
  }

  /** Half-close (shutdown(SHUT_WR), RFC 9293 §3.10.4): a FIN follows the data written; reading goes on. */
  shutdown(): Effect.Effect<void> {
    const tcb = this.tcb
    return Effect.sync(() => shutdownSending(tcb))
  }

  /**
   * CLOSE (RFC 9293 §3.10.4): no more reading or writing. The FIN exchange
   * finishes in the background; with unread data the connection is reset
   * instead (RFC 2525 §2.17, Linux `TCPAbortOnClose`). Returns at once.
   */
  close(): Effect.Effect<void> {
    const tcb = this.tcb
    return Effect.sync(() => closeConnection(tcb))
  }

  /** ABORT (RFC 9293 §3.10.5): RST now; everything queued is dropped. */
  abort(): Effect.Effect<void> {
    const tcb = this.tcb
    return Effect.sync(() => abortConnection(tcb))
  }

  /** Waits until the connection is gone (CLOSED, or TIME-WAIT). */
  get whenClosed(): Effect.Effect<void> {
    return Latch.await(this.tcb.closed)
  }

  /** TCP_NODELAY. */
  setNoDelay(on: boolean): void {
    this.tcb.noDelay = on
    if (on) this.tcb.cwndLimited = pushData(this.tcb)
  }

  /** IP_TTL: the time to live of the segments sent from now on (1–255); undefined restores the host's default. */
  setTtl(ttl: number | undefined): void {
    this.tcb.ttl = ttl === undefined ? undefined : Math.min(255, Math.max(1, Math.floor(ttl)))
  }

  /**
   * SO_KEEPALIVE (RFC 1122 §4.2.3.6): on an open connection the first probe
   * is due `keepaliveTime` after now; off stops the timer.
   */
  setKeepalive(on: boolean): void {
    const tcb = this.tcb
    tcb.keepalive = on
    if (!on) return tcb.stopKeepalive()
    if (tcb.state === "ESTABLISHED" || tcb.state === "CLOSE-WAIT") tcb.keepaliveTimer.arm(tcb.host.settings.keepaliveTime)
  }

  /**
   * SO_SNDBUF: the bytes the send buffer may hold (at least one byte). Room
   * it gains wakes a waiting writer (Linux `sk_stream_write_space`).
   */
  setSendBuffer(bytes: number): void {
    const tcb = this.tcb
    tcb.send.capacity = Math.max(1, Math.floor(bytes))
    if (tcb.send.writeSpace) Latch.openUnsafe(tcb.writable)
  }

  /**
   * SO_RCVBUF: the bytes the receive buffer (and the out-of-order queue) may
   * hold, which bounds the window offered from now on; a window already
   * offered is never taken back (RFC 9293 §3.8.6.2.2). A larger buffer is
   * announced at once.
   */
  setReceiveBuffer(bytes: number): void {
    const tcb = this.tcb
    const capacity = Math.max(1, Math.floor(bytes))
    tcb.receive.capacity = capacity
    if (tcb.outOfOrder !== undefined) tcb.outOfOrder.capacityBytes = capacity
    windowUpdate(tcb)
  }

  /** STATUS (RFC 9293 §3.10.6), as `ss -ti` shows it. */
  info(): TcpInfo {
    const tcb = this.tcb
    return {
      state: tcb.state,
      mss: tcb.mss,
      cwnd: tcb.cc?.cwnd,
      ssthresh: tcb.cc?.ssthresh,
      srtt: tcb.rtt.srtt,
      rto: tcb.rtt.rto,
      sendWindow: tcb.sndWnd,
      receiveWindow: receiveWindow(tcb),
      inFlight: tcb.inFlight,
      unsent: tcb.unsent,
      unread: tcb.receive.length,
      retransmits: tcb.retransmits,
      congestion: tcb.cc?.algorithm,
      sack: tcb.sack,
      timestamps: tcb.timestamps,
      windowScale: [tcb.sndWscale, tcb.rcvWscale]
    }
  }
}

/** Why a write cannot go on now, if it cannot. */
const sendRefusal = (tcb: Tcb): TcpError | undefined => {
  if (tcb.error !== undefined) return tcb.error
  if (tcb.finQueued) return new TcpError({ reason: "broken-pipe", detail: tcb.toString() })
  if (tcb.state !== "ESTABLISHED" && tcb.state !== "CLOSE-WAIT") return new TcpError({ reason: "not-connected", detail: tcb.toString() })
  return undefined
}

/** Copies what the send buffer takes of `data` from `from` and sends what the windows allow; how far `data` is taken. */
const sendWhatFits = (tcb: Tcb, data: Uint8Array, from: number): number => {
  const taken = tcb.send.write(data, from)
  if (taken === 0) return from
  tcb.sendEnd = seqAdd(tcb.sendEnd, taken)
  restartAfterIdle(tcb)
  tcb.cwndLimited = pushData(tcb)
  return from + taken
}

/** SEND's wait: the rest of `data` from `from`, written as the send buffer frees space. */
const writeRest = (tcb: Tcb, data: Uint8Array, start: number): Effect.Effect<void, TcpError> =>
  Effect.gen(function*() {
    let from = start
    while (from < data.length) {
      if (tcb.send.free === 0) {
        Latch.closeUnsafe(tcb.writable)
        // The ACKs that free space may be queued on the connection's net channel: this writer runs them.
        yield* awaitAsChannelConsumer(tcb, "writer", tcb.writable, Latch.await(tcb.writable))
      }
      const refused = sendRefusal(tcb)
      if (refused !== undefined) return yield* refused
      from = sendWhatFits(tcb, data, from)
    }
  })

/** RFC 5681 §4.1: after an idle period longer than the RTO, cwnd restarts from the initial window. */
const restartAfterIdle = (tcb: Tcb): void => {
  const cc = tcb.cc
  if (cc === undefined || tcb.inFlight !== 0 || tcb.lastSend === 0) return
  const now = tcb.host.timers.now()
  if (now - tcb.lastSend > tcb.rtt.rto) cc.onIdleRestart(now, initialWindow(tcb.mss))
}

/**
 * After a read made room: offer the larger window now if it at least doubles
 * the one offered (Linux `tcp_cleanup_rbuf`), so a sender held by a small or
 * zero window learns at once (RFC 9293 §3.8.6.2.2).
 */
const windowUpdate = (tcb: Tcb): void => {
  if (tcb.state !== "ESTABLISHED" && tcb.state !== "FIN-WAIT-1" && tcb.state !== "FIN-WAIT-2") return
  const offered = receiveWindow(tcb)
  const possible = receiveSpace(tcb)
  if (possible >= 2 * offered && possible - offered >= tcb.rcvMss) sendAck(tcb)
}

/** Queues the FIN (RFC 9293 §3.10.4 CLOSE's sending half) and moves to FIN-WAIT-1 or LAST-ACK. */
const shutdownSending = (tcb: Tcb): void => {
  if (tcb.finQueued) return
  switch (tcb.state) {
    case "SYN-SENT":
      return done(tcb) // nothing was sent: the attempt just ends
    case "SYN-RECEIVED":
    case "ESTABLISHED":
      tcb.finQueued = true
      tcb.state = "FIN-WAIT-1"
      break
    case "CLOSE-WAIT":
      tcb.finQueued = true
      tcb.state = "LAST-ACK"
      break
    default:
      return
  }
  tcb.cwndLimited = pushData(tcb)
}

const closeConnection = (tcb: Tcb): void => {
  if (tcb.state === "CLOSED" || tcb.state === "TIME-WAIT") return
  tcb.orphan = true
  tcb.readClosed = true
  if (tcb.receive.length > 0 && isSynchronized(tcb.state)) {
    tcb.host.stats.TCPAbortOnClose++
    return abortConnection(tcb)
  }
  shutdownSending(tcb)
  if (tcb.state === "FIN-WAIT-2") tcb.timeWaitTimer.arm(tcb.host.settings.finTimeout)
}

/** RFC 9293 §3.10.5 ABORT: the states whose peer is told by `<SEQ=SND.NXT><CTL=RST>` (not CLOSING, LAST-ACK, TIME-WAIT). */
const ABORT_SENDS_RESET: ReadonlySet<TcpState> = new Set(["SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT"])

/** The caller's array of a `readInto`: while it waits, data arriving in order goes straight into it (`ReceiveBuffer.park`). */
interface ReadTarget {
  readonly target: Uint8Array
  readonly at: number
}

/**
 * RECEIVE's wait: takes in-order data with `take` once there is some (and
 * updates the window the read opened), or ends with the connection's error,
 * or `undefined` after the peer's FIN. With a `direct` array, the wait parks
 * it; however the wait ends, the array is parked no more and bytes copied
 * into it that `take` did not claim go back to the receive buffer.
 */
const receiveWith = <A>(
  tcb: Tcb,
  take: (receive: ReceiveBuffer) => A,
  direct?: ReadTarget
): Effect.Effect<A | undefined, TcpError> => {
  const receive = tcb.receive
  // Data already waiting is taken at once: no generator runs and no array is parked.
  return Effect.suspend(() => receive.length === 0 ? awaitReceive(tcb, take, direct) : Effect.succeed(takeNow(tcb, take)))
}

/** Takes in-order data with `take` and offers the window the read opened. */
const takeNow = <A>(tcb: Tcb, take: (receive: ReceiveBuffer) => A): A => {
  const taken = take(tcb.receive)
  windowUpdate(tcb)
  return taken
}

/** RECEIVE with nothing to take yet: parks `direct` (if any) and waits (see `receiveWith`). */
const awaitReceive = <A>(
  tcb: Tcb,
  take: (receive: ReceiveBuffer) => A,
  direct: ReadTarget | undefined
): Effect.Effect<A | undefined, TcpError> => {
  const receive = tcb.receive
  const receiving = Effect.gen(function*() {
    for (;;) {
      if (receive.length > 0 || (direct !== undefined && receive.parkedBytes(direct.target, direct.at) > 0)) return takeNow(tcb, take)
      if (tcb.error !== undefined) return yield* tcb.error
      if (tcb.finReceived || tcb.state === "CLOSED") return undefined
      Latch.closeUnsafe(tcb.readable)
      if (direct !== undefined) receive.park(direct.target, direct.at)
      // The data may be queued on the connection's net channel: this reader runs it (OSv's `soreceive`).
      yield* awaitAsChannelConsumer(tcb, "reader", tcb.readable, Latch.await(tcb.readable))
    }
  })
  return direct === undefined ? receiving : Effect.ensuring(receiving, Effect.sync(() => receive.unpark(direct.target, direct.at)))
}

const abortConnection = (tcb: Tcb): void => {
  if (tcb.state === "CLOSED") return
  // In CLOSING, LAST-ACK and TIME-WAIT the peer has closed too: ABORT just deletes the TCB (as Linux `tcp_need_reset`).
  if (ABORT_SENDS_RESET.has(tcb.state)) sendReset(tcb)
  done(tcb, new TcpError({ reason: "connection-aborted", detail: tcb.toString() }))
}

/** A listening endpoint, as the application holds it. */
export class TcpListener {
  readonly listener: Listener
  private readonly tcp: Tcp

  constructor(tcp: Tcp, listener: Listener) {
    this.tcp = tcp
    this.listener = listener
  }

  get localPort(): number {
    return this.listener.localPort
  }
  get localAddress(): number {
    return this.listener.localAddress
  }

  /** Waits for the next connection that completed its handshake. */
  get accept(): Effect.Effect<TcpConnection, TcpError> {
    const listener = this.listener
    return Effect.gen(function*() {
      for (;;) {
        if (listener.closed) return yield* new TcpError({ reason: "invalid-argument", detail: "accept on a closed listener" })
        const tcb = listener.take()
        if (tcb !== undefined) {
          tcb.listener = undefined
          return new TcpConnection(tcb)
        }
        yield* Latch.await(listener.ready)
      }
    })
  }

  /** Stops listening; connections not yet accepted are reset. */
  close(): Effect.Effect<void> {
    const tcp = this.tcp
    const listener = this.listener
    return Effect.sync(() => {
      tcp.closeListener(listener, abortConnection)
      Latch.openUnsafe(listener.ready)
    })
  }
}

/**
 * OPEN, active (RFC 9293 §3.10.1): connects to `address:port` and waits for
 * the handshake; the connection is closed (gracefully) with the scope.
 *
 * `Effect.acquireRelease` would do, but its finalizer keeps the whole
 * acquiring effect and five closure scopes alive for as long as the
 * connection is open (about 900 bytes a connection); the finalizer added
 * here holds the connection alone.
 */
export const connect = (
  tcp: Tcp,
  address: number,
  port: number,
  options: ConnectOptions = {}
): Effect.Effect<TcpConnection, TcpError, Scope.Scope> =>
  // The handshake may take minutes (SYN retransmissions): waiting for it can be interrupted, which
  // abandons the attempt (`openActive`); adding the finalizer cannot be.
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(Effect.scope, (scope) =>
      Effect.tap(restore(openActive(tcp, address, port, options)), (connection) =>
        Scope.addFinalizerExit(scope, closeOnExit(connection))))
  )

/** Starts an active open and waits for its handshake. */
const openActive = (tcp: Tcp, address: number, port: number, options: ConnectOptions): Effect.Effect<TcpConnection, TcpError> =>
  Effect.suspend(() => {
    const tcb = tcp.connect(address, port, options)
    if (tcb instanceof TcpError) return Effect.fail(tcb)
    return Effect.flatMap(
      Effect.onInterrupt(Latch.await(tcb.opened), () => Effect.sync(() => abortConnection(tcb))),
      () => handshakeOutcome(tcb)
    )
  })

/** The connection once the handshake is over: open, or the error that ended it. */
const handshakeOutcome = (tcb: Tcb): Effect.Effect<TcpConnection, TcpError> => {
  if (tcb.error !== undefined) return Effect.fail(tcb.error)
  if (tcb.state === "CLOSED") return Effect.fail(new TcpError({ reason: "connection-aborted", detail: tcb.toString() }))
  return Effect.succeed(new TcpConnection(tcb))
}

/** A scope finalizer that closes `connection` (its only capture). */
const closeOnExit = (connection: TcpConnection) => (): Effect.Effect<void> => connection.close()

/** OPEN, passive (RFC 9293 §3.10.1): listens on `port`; stops listening with the scope. */
export const listen = (
  tcp: Tcp,
  port: number,
  options: ListenOptions = {}
): Effect.Effect<TcpListener, TcpError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.suspend(() => {
      const listener = tcp.listen(port, options)
      return listener instanceof TcpError ? Effect.fail(listener) : Effect.succeed(new TcpListener(tcp, listener))
    }),
    (listener) => listener.close()
  )
