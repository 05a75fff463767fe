/**
 * The Transmission Control Block (RFC 9293 §3.3.1): everything a
 * connection remembers — its state, the send and receive sequence variables,
 * the options agreed in the handshake, the RTT estimator and congestion
 * state, its buffers and timers, and what the application waits on. The
 * behaviour lives in the modules that act on it (input, output, recovery,
 * timers).
 */
import type { TxOwner } from "@netstack/buffers"
import type { Latch } from "effect"
import { type ChannelConsumerKind, ChannelWaiters } from "./channel-waiters.ts"
import type { CongestionController } from "./congestion/congestion-control.ts"
import type { TcpHost } from "./context.ts"
import type { Listener } from "./listener.ts"
import type { FourTuple, TcpBinding } from "./lookup.ts"
import { ReassemblyQueue, ReceiveBuffer } from "./receive-buffer.ts"
import type { Scoreboard } from "./sack/index.ts"
import { RttEstimator } from "./rtt.ts"
import { SendBuffer } from "./send-buffer.ts"
import type { TcpError } from "./settings.ts"
import { LightLatch } from "./light-latch.ts"
import { ConnectionTimer } from "./timer.ts"

/** Connection states (RFC 9293 §3.3.2), with RFC 9293's names. */
export type TcpState =
  | "CLOSED"
  | "LISTEN"
  | "SYN-SENT"
  | "SYN-RECEIVED"
  | "ESTABLISHED"
  | "FIN-WAIT-1"
  | "FIN-WAIT-2"
  | "CLOSE-WAIT"
  | "CLOSING"
  | "LAST-ACK"
  | "TIME-WAIT"

/** States in which the connection is synchronized (RFC 9293 §3.5.2: after the handshake). */
export const isSynchronized = (state: TcpState): boolean =>
  state !== "CLOSED" && state !== "LISTEN" && state !== "SYN-SENT" && state !== "SYN-RECEIVED"


/**
 * States in which the peer's data is still taken (RFC 9293 §3.10.7.4,
 * "seventh, process the segment text": ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2):
 * a connection has a net channel only in these.
 */
export const isReceiving = (state: TcpState): boolean =>
  state === "ESTABLISHED" || state === "FIN-WAIT-1" || state === "FIN-WAIT-2"

/**
 * A connection's net channel (Van Jacobson / OSv net channels), as the
 * connection sees it: the channel is told once when the connection stops
 * receiving (the peer's FIN: CLOSE-WAIT, CLOSING, TIME-WAIT; or CLOSED by a
 * reset, an abort or a timeout), and the connection forgets it. Meanwhile
 * the fibers waiting on the connection run what it queues
 * (`channel-waiters.ts`).
 */
export interface ConnectionChannel {
  /** The connection stopped receiving: the channel stops taking packets; what it holds is still processed. */
  readonly leave: () => void
  /** Packets queued, not yet run through TCP input. */
  readonly size: number
  /**
   * Runs every packet queued now through TCP input in the caller's fiber (a
   * `kind`), in order; how many. Never inside TCP input (`TcpHost.inInput`).
   */
  readonly drain: (kind: ChannelConsumerKind) => number
  /** Leaves what is queued to the channel's own consumer fiber (it runs once the caller yields). */
  readonly wakeConsumer: () => void
}

/** The callbacks a connection's timers run (the timers module supplies them). */
export interface TimerActions {
  readonly retransmit: (tcb: Tcb) => void
  readonly delayedAck: (tcb: Tcb) => void
  readonly keepalive: (tcb: Tcb) => void
  readonly timeWait: (tcb: Tcb) => void
}

/** One connection's TCB. */
export class Tcb implements FourTuple, TxOwner {
  /** The host's TCP. */
  readonly host: TcpHost
  private currentState: TcpState = "CLOSED"
  /** Its net channel, while it receives (`isReceiving`) and the host runs net channels. */
  channel: ConnectionChannel | undefined = undefined
  /** Its net-channel waiters, once a fiber waited (see `channelWaiters`). */
  private waiters: ChannelWaiters | undefined = undefined
  readonly localAddress: number
  readonly localPort: number
  readonly remoteAddress: number
  readonly remotePort: number
  /** Opened by a listener (passive open). */
  passive = false
  /** The listener that made it, until the application accepts it. */
  listener: Listener | undefined = undefined
  /** Its hold on the local port (released when it closes). */
  binding: TcpBinding | undefined = undefined
  /** The peer and we both sent Window Scale (RFC 7323 §2.2): windows are scaled. */
  windowScaling = false

  // ---- send sequence variables (RFC 9293 §3.3.1)
  /** Initial send sequence number. */
  iss = 0
  /** Oldest unacknowledged sequence number. */
  sndUna = 0
  /** Next sequence number to send (rewound to SND.UNA by a retransmission timeout). */
  sndNxt = 0
  /** Highest sequence number sent plus one (RFC 6675 HighData); ACKs are valid up to it. */
  sndMax = 0
  /** Send window: the peer's advertised window, scaled (bytes). */
  sndWnd = 0
  /** The largest window the peer has advertised (RFC 5961 §5.2 MAX.SND.WND; sender SWS avoidance). */
  maxSndWnd = 0
  /** Segment sequence and acknowledgment numbers of the last window update. */
  sndWl1 = 0
  sndWl2 = 0

  // ---- receive sequence variables
  /** Initial receive sequence number. */
  irs = 0
  /** Next sequence number expected. */
  rcvNxt = 0
  /** The right edge of the window last advertised (RCV.NXT + RCV.WND then); never moved left (RFC 9293 §3.8.6). */
  rcvAdv = 0
  /** RCV.NXT when the last ACK was sent (RFC 7323 §4.3 Last.ACK.sent). */
  lastAckSent = 0

  // ---- options agreed in the handshake
  /** Our maximum segment size for sending: the peer's MSS, the path MTU, minus the options we always send. */
  mss = 536
  /** The MSS we announced (what we expect to receive). */
  rcvMss = 536
  /** Shift applied to windows the peer sends (its Window Scale option, RFC 7323 §2.2), 0 without. */
  sndWscale = 0
  /** Shift we apply to windows we send. */
  rcvWscale = 0
  /** Both sides sent Timestamps (RFC 7323 §3). */
  timestamps = false
  /** TS.Recent and when it was set (µs) (RFC 7323 §4.3, §5.5). */
  tsRecent = 0
  tsRecentAge = 0
  /** Random offset of our TSval clock (RFC 7323 §5.4). */
  tsOffset = 0
  /** Both sides sent SACK-Permitted (RFC 2018 §2). */
  sack = false

  // ---- data
  /** The sequence number after the last byte the application wrote (where a FIN goes). */
  sendEnd = 0
  /**
   * Our SYN has been acknowledged. A flag, not `SND.UNA > ISS`: that
   * comparison turns false again once 2^31 bytes have been sent, because
   * sequence numbers compare modulo 2^32 (RFC 9293 §3.4).
   */
  synAcked = false
  readonly send: SendBuffer
  readonly receive: ReceiveBuffer
  /**
   * The out-of-order queue, while it holds data or a D-SACK to report: made
   * by the first segment that arrives out of order (or twice), let go once
   * the gap is filled (see `reassembly`).
   */
  outOfOrder: ReassemblyQueue | undefined = undefined
  /** The application closed its sending side: a FIN follows the data (RFC 9293 §3.10.4). */
  finQueued = false
  /** The FIN was received and taken in order (end of the peer's data). */
  finReceived = false
  /** Where the peer's FIN is, once a segment carried it (it may wait for a gap below to fill). */
  finSeqReceived: number | undefined = undefined
  /** The application will not read any more (close): more data from the peer resets the connection. */
  readClosed = false
  /** The application let go of the connection entirely (closed it); the stack finishes the FIN exchange alone. */
  orphan = false
  /** Disable Nagle (TCP_NODELAY). */
  noDelay = false

  // ---- RTT, congestion and loss recovery
  readonly rtt: RttEstimator
  /** Congestion control, made once the MSS is known (at ESTABLISHED). */
  cc: CongestionController | undefined = undefined
  /** The timed segment: its sequence number and send time, or undefined (Karn's rule: not a retransmission). */
  rtSeq: number | undefined = undefined
  rtTime = 0
  /** Consecutive duplicate ACKs (RFC 5681 §3.2). */
  dupAcks = 0
  /** In loss recovery (fast recovery, RFC 6582; SACK recovery, RFC 6675). */
  inRecovery = false
  /** RFC 6582 `recover` / RFC 6675 RecoveryPoint: HighData when recovery began. */
  recoveryPoint = 0
  /** RFC 6675 HighRxt: the highest sequence number retransmitted in this recovery. */
  highRxt = 0
  /** The SACK scoreboard, when SACK was agreed. */
  scoreboard: Scoreboard | undefined = undefined
  /** The sender was limited by cwnd when it last sent (RFC 7661). */
  cwndLimited = false
  /** Times the retransmission timer expired in a row (for `retries` and SYN retries). */
  retransmits = 0
  /** When data was last sent (µs), for the idle restart (RFC 5681 §4.1) and keepalives. */
  lastSend = 0
  /** When a segment was last received (µs), for keepalives. */
  lastReceive = 0
  /** Keepalive probes sent without an answer. */
  keepaliveProbes = 0
  /** Keepalives on (SO_KEEPALIVE). */
  keepalive = false
  /** Abort if sent data stays unacknowledged this long (RFC 5482 User Timeout, TCP_USER_TIMEOUT), µs. */
  userTimeout: number | undefined = undefined
  /** IP_TTL of the segments sent; undefined: the host default (RFC 1122 §3.2.1.7). */
  ttl: number | undefined = undefined
  /** When the oldest unacknowledged data was first sent (for the user timeout). */
  unackedSince: number | undefined = undefined

  // ---- TCP small queues (Linux `tcp_small_queue_check`, `tcp_wfree`)
  /** Data bytes of this connection's segments handed to IP and not yet released by the driver (`sk_wmem_alloc`). */
  queuedBytes = 0
  /** Sending stopped with too much queued below TCP; the host resumes it as segments complete (`TSQ_THROTTLED`). */
  tsqThrottled = false
  /** Its reader is to be woken when the NAPI poll ends (`TcpHost.dataReady`). */
  readerWakeQueued = false
  /** Its reader's parked array is full: it is woken as soon as the segment being taken in is done (`TcpHost.dataReady`). */
  readerFullQueued = false

  // ---- ACK generation (RFC 9293 §3.8.6.3, RFC 1122 §4.2.3.2)
  /** Bytes received since the last ACK sent. */
  unackedBytes = 0
  /** ACK every segment for this many more segments (Linux's quick-ack mode at the start). */
  quickAcks = 16

  // ---- timers
  readonly retransmitTimer: ConnectionTimer<Tcb>
  readonly delayedAckTimer: ConnectionTimer<Tcb>
  /** The keepalive and TIME-WAIT timers, once used (see `keepaliveTimer`, `timeWaitTimer`). */
  private keepaliveTimerMade: ConnectionTimer<Tcb> | undefined = undefined
  private timeWaitTimerMade: ConnectionTimer<Tcb> | undefined = undefined

  // ---- what the application waits on
  /** Open when there is data to read, EOF or an error. */
  readonly readable: Latch.Latch = new LightLatch(false)
  /** Open when the send buffer has room or there is an error. */
  readonly writable: Latch.Latch = new LightLatch(true)
  /** Open once the connection is established or has failed (connect waits on it). */
  readonly opened: Latch.Latch = new LightLatch(false)
  /** Open once the connection is CLOSED (or TIME-WAIT). */
  readonly closed: Latch.Latch = new LightLatch(false)
  /** The error that ended the connection (ECONNRESET, ETIMEDOUT…), reported to every waiter. */
  error: TcpError | undefined = undefined
  /** The last ICMP error (RFC 1122 §4.2.3.9 soft error), reported if the connection times out. */
  softError: TcpError | undefined = undefined

  constructor(host: TcpHost, tuple: FourTuple) {
    const settings = host.settings
    const timers = host.timers
    const actions = host.timerActions
    this.host = host
    this.localAddress = tuple.localAddress
    this.localPort = tuple.localPort
    this.remoteAddress = tuple.remoteAddress
    this.remotePort = tuple.remotePort
    this.send = new SendBuffer(settings.sendBuffer, host.pages)
    this.receive = new ReceiveBuffer(settings.receiveBuffer, host.pages)
    this.rtt = new RttEstimator(settings) // the settings carry the RTO bounds: shared, not copied per connection
    this.retransmitTimer = new ConnectionTimer<Tcb>(timers, this, actions.retransmit)
    this.delayedAckTimer = new ConnectionTimer<Tcb>(timers, this, actions.delayedAck)
  }

  /** The fibers waiting on it that run its net channel when the channel wakes them (readers, writers, pollers). */
  get channelWaiters(): ChannelWaiters {
    return this.waiters ??= new ChannelWaiters()
  }

  /** The keepalive timer (RFC 1122 §4.2.3.6), made when first used: most connections never have keepalives. */
  get keepaliveTimer(): ConnectionTimer<Tcb> {
    return this.keepaliveTimerMade ??= new ConnectionTimer<Tcb>(this.host.timers, this, this.host.timerActions.keepalive)
  }

  /** The TIME-WAIT (and orphaned FIN-WAIT-2) timer, made when first used: at the end of the connection. */
  get timeWaitTimer(): ConnectionTimer<Tcb> {
    return this.timeWaitTimerMade ??= new ConnectionTimer<Tcb>(this.host.timers, this, this.host.timerActions.timeWait)
  }

  /** Stops the keepalive timer, if it was ever made. */
  stopKeepalive(): void {
    this.keepaliveTimerMade?.stop()
  }

  /** Stops the retransmission, delayed-ACK and keepalive timers (entering TIME-WAIT), making none. */
  stopTransmitTimers(): void {
    this.retransmitTimer.stop()
    this.keepaliveTimerMade?.stop()
    this.delayedAckTimer.stop()
  }

  /** Stops every timer and drops their queue entries (the connection is CLOSED), making none. */
  disposeTimers(): void {
    this.retransmitTimer.dispose()
    this.delayedAckTimer.dispose()
    this.keepaliveTimerMade?.dispose()
    this.timeWaitTimerMade?.dispose()
  }

  /** The out-of-order queue, made if there is none (it takes as much as the receive buffer). */
  get reassembly(): ReassemblyQueue {
    return this.outOfOrder ??= new ReassemblyQueue(this.receive.capacity)
  }

  /** Lets the out-of-order queue go if it holds nothing (no data, no D-SACK to report). */
  releaseReassembly(): void {
    if (this.outOfOrder?.isIdle === true) this.outOfOrder = undefined
  }

  /** The connection's state (RFC 9293 §3.3.2). */
  get state(): TcpState {
    return this.currentState
  }

  /** Every state change passes here, so leaving the receiving states, wherever it happens, closes the net channel. */
  set state(next: TcpState) {
    this.currentState = next
    const channel = this.channel
    if (channel !== undefined && !isReceiving(next)) {
      this.channel = undefined
      channel.leave()
    }
  }

  /** Bytes sent and not yet acknowledged (sequence space, SYN and FIN included). */
  get inFlight(): number {
    return (this.sndNxt - this.sndUna) >>> 0
  }

  /** Bytes written and not yet sent. */
  get unsent(): number {
    return Math.max(0, (this.sendEnd - this.sndNxt) | 0)
  }

  /** The FIN is due: the application shut down sending and SND.NXT has reached the end of its data. */
  get finDue(): boolean {
    return this.finQueued && this.sndNxt === this.sendEnd
  }

  /** The FIN was sent (its sequence number is below SND.MAX). */
  get finSent(): boolean {
    return this.finQueued && ((this.sndMax - this.sendEnd) | 0) > 0
  }

  /** Our FIN was acknowledged. */
  get finAcked(): boolean {
    return this.finQueued && ((this.sndUna - this.sendEnd) | 0) > 0
  }

  /**
   * The offset in the send buffer of data sequence number `seq`: the buffer
   * starts at SND.UNA, or at ISS + 1 while the SYN is unacknowledged.
   */
  bufferOffset(seq: number): number {
    const front = this.synAcked ? this.sndUna : (this.iss + 1) >>> 0
    return (seq - front) | 0
  }

  /** One of this connection's segments was transmitted or dropped (its `TxOwner` destructor, `tcp_wfree`). */
  txDone(charge: number): void {
    this.queuedBytes -= charge
    if (this.tsqThrottled) this.host.outputCompleted(this)
  }

  /** `a.b.c.d:p → a.b.c.d:p`, for errors and traces. */
  toString(): string {
    const ip = (a: number): string => `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`
    return `${ip(this.localAddress)}:${this.localPort} → ${ip(this.remoteAddress)}:${this.remotePort}`
  }
}
