/**
 * TCP for one host (Linux `tcp_ipv4.c`): protocol 6 of its IPv4.
 *
 * Receive (`tcp_v4_rcv`): checksum (unless the NIC verified it), header,
 * then the connection by 4-tuple (every state from SYN-SENT to TIME-WAIT),
 * else a listener (RFC 9293 §3.10.7.2: SYN → a SYN-RECEIVED child or, when
 * the SYN backlog is full, a SYN cookie, RFC 4987 §3.6), else the RST of
 * RFC 9293 §3.10.7.1. Segments to broadcast or multicast addresses are
 * dropped (RFC 1122 §4.2.3.10). Two ways in share all of it: `receive`
 * from IPv4 (the slow path) and `receiveSegment` from a net channel's
 * consumers (the fast path: a fiber waiting on the connection, or the
 * channel's consumer fiber; never inside TCP input, `inInput`); before the
 * slow path runs a segment, what the flow's channel still holds is run
 * first (`TcpChannelHooks`).
 *
 * ICMP errors about our segments (RFC 1122 §4.2.3.9, RFC 5927): after
 * checking the quoted sequence number lies in SND.UNA..SND.MAX,
 * fragmentation needed lowers the MSS (RFC 1191), and an unreachable aborts
 * a connection attempt (as Linux does) or is kept as a soft error.
 */
import { BufferPool, ChecksumState, finishChecksum, ipv4PseudoHeaderSum, type PacketBuffer, sumPacket } from "@netstack/buffers"
import type { NetTrace } from "@netstack/device"
import type { DropCounters, TimerQueue } from "@netstack/l2"
import type { Ipv4, ReceivedDatagram, TransportError } from "@netstack/l3"
import { readU16, readU32, TcpFlags, TcpView } from "@netstack/wire"
import { Latch } from "effect"
import { EphemeralPorts } from "../ports/ephemeral.ts"
import type { CongestionAlgorithm } from "./congestion/congestion-control.ts"
import type { TcpHost } from "./context.ts"
import { acceptSynOptions, DEFAULT_MSS, mtuReduced, segmentArrives, setupSack } from "./input.ts"
import { IsnGenerator } from "./isn.ts"
import { done, established } from "./lifecycle.ts"
import { type ConnectionDefaults, Listener } from "./listener.ts"
import { type FourTuple, TcpTables } from "./lookup.ts"
import { HEADER_HEADROOM, headerBuffer, outputLimit, pushData, sendSyn } from "./output.ts"
import { makeSegment, pushHeader, readSegment, type Segment, sequenceLength } from "./segment.ts"
import { seqAdd, seqGe, seqGt, seqLt } from "./seq.ts"
import { DEFAULT_TCP_SETTINGS, TcpError, type TcpSettings } from "./settings.ts"
import { TcpStats } from "./stats.ts"
import { SynCookies } from "./syn-cookies.ts"
import { isReceiving, Tcb } from "./tcb.ts"
import { timerActions } from "./timers.ts"
import { PageRecycler } from "./page-recycler.ts"
import { SEND_PAGE_BYTES } from "./send-buffer.ts"
import { Scoreboard } from "./sack/index.ts"

const SYN = TcpFlags.syn
const ACK = TcpFlags.ack
const RST = TcpFlags.rst

/** How a host's TCP is built. */
export interface TcpOptions {
  readonly ipv4: Ipv4
  readonly timers: TimerQueue
  readonly trace: NetTrace
  /** Where drops are counted by reason (the host's link layer's). */
  readonly drops: DropCounters
  /** Uniform in [0, 1): the host's seeded random source (ISN and cookie keys, hash secrets, ports). */
  readonly random: () => number
  readonly congestion: CongestionAlgorithm
  readonly settings?: Partial<TcpSettings>
  /** The host's ephemeral port allocator, shared with UDP as Linux shares `ip_local_port_range`; TCP's own by default. */
  readonly ephemeral?: EphemeralPorts
}

/** What `connect` may set. */
export interface ConnectOptions {
  /** Local address (default: the route's preferred source, RFC 1122 §3.3.4.3). */
  readonly localAddress?: number
  /** Local port (default: an ephemeral port, RFC 6056). */
  readonly localPort?: number
  readonly noDelay?: boolean
  readonly keepalive?: boolean
  /** RFC 5482 user timeout (µs). */
  readonly userTimeout?: number
  /** IP_TTL of every segment, the SYN included (default: the host's, 64). */
  readonly ttl?: number
}

/** What `listen` may set. */
export interface ListenOptions {
  /** Local address (default 0.0.0.0: every address). */
  readonly localAddress?: number
  /** Accept queue length (default 128, Linux's SOMAXCONN is 4096). */
  readonly backlog?: number
  /** SO_REUSEADDR. */
  readonly reuseAddress?: boolean
  readonly noDelay?: boolean
  readonly keepalive?: boolean
  readonly userTimeout?: number
  /** IP_TTL the accepted connections inherit. */
  readonly ttl?: number
}

/**
 * What a host's net channels (Van Jacobson / OSv) ask of its TCP: to hear
 * when a connection completes its handshake (to give it a channel, which
 * the connection drops itself when it stops receiving, `Tcb.channel`), and to run
 * a connection's queued fast-path segments before the slow path delivers
 * one of the same flow (a FIN, an RST, anything the classifier refused), so
 * TCP sees every flow's segments in the order they arrived.
 */
export interface TcpChannelHooks {
  /** `tcb` completed its handshake (ESTABLISHED, or FIN-WAIT-1 after a CLOSE in SYN-RECEIVED) and has no channel. */
  readonly open: (tcb: Tcb) => void
  /**
   * The slow path is about to run TCP input for a segment of this 4-tuple
   * (from this host's side): process what its channel still holds first.
   */
  readonly beforeInput: (localAddress: number, localPort: number, remoteAddress: number, remotePort: number) => void
}

/** The smallest window shift that fits `buffer` in the 16-bit window field (RFC 7323 §2.2), at most 14. */
const windowShiftFor = (buffer: number): number => {
  let shift = 0
  while (shift < 14 && buffer > 0xffff * 2 ** shift) shift++
  return shift
}

/** A host's TCP. */
export class Tcp implements TcpHost {
  readonly ipv4: Ipv4
  readonly timers: TimerQueue
  readonly trace: NetTrace
  readonly settings: TcpSettings
  readonly stats = new TcpStats()
  readonly congestion: CongestionAlgorithm
  readonly headers = BufferPool.make({ count: 256, size: HEADER_HEADROOM, maxCount: 65536 })
  readonly timerActions = timerActions
  readonly pages = new PageRecycler(SEND_PAGE_BYTES)
  readonly tables: TcpTables<Tcb, Listener>
  readonly ephemeral: EphemeralPorts
  readonly isn: IsnGenerator
  readonly cookies: SynCookies
  /** The arriving segment being processed (one at a time). */
  private readonly seg: Segment = makeSegment()
  private readonly drops: DropCounters
  /** The host's net channels, while they run. */
  private channelHooks: TcpChannelHooks | undefined = undefined
  /** Nesting depth of TCP input (a net channel flushed before a slow-path segment runs inside it). */
  private inputDepth = 0
  /** Throttled connections whose queues drained, waiting for `resumeThrottled` (Linux's TSQ tasklet list). */
  private readonly tsqReady: Array<Tcb> = []
  private tsqScheduled = false
  /** Connections with data for their readers, to wake when the NAPI poll is over (`dataReady`). */
  private readonly readersToWake: Array<Tcb> = []
  /** Connections whose reader's parked array filled up, to wake once the current segment is taken in (`dataReady`). */
  private readonly fullReaders: Array<Tcb> = []

  private constructor(options: TcpOptions) {
    this.ipv4 = options.ipv4
    this.timers = options.timers
    this.trace = options.trace
    this.drops = options.drops
    this.congestion = options.congestion
    this.settings = { ...DEFAULT_TCP_SETTINGS, ...options.settings }
    this.tables = new TcpTables<Tcb, Listener>(options.random, { maxEntries: this.settings.maxConnections })
    this.ephemeral = options.ephemeral ?? EphemeralPorts.makeDefault(options.random)
    this.isn = new IsnGenerator(options.random)
    this.cookies = new SynCookies(options.random, { windowScaling: this.settings.windowScaling, sack: this.settings.sack })
  }

  /** TCP for `options.ipv4`, registered as its protocol 6. */
  static attach(options: TcpOptions): Tcp {
    const tcp = new Tcp(options)
    options.ipv4.registerProtocol(6, {
      receive: (packet, datagram) => tcp.receive(packet, datagram),
      error: (error) => tcp.icmpError(error)
    })
    return tcp
  }

  // ------------------------------------------------------------------ receive

  /** A segment for this host from IPv4 (the slow path): data at the TCP header. TCP owns the packet from here. */
  receive(packet: PacketBuffer, datagram: ReceivedDatagram): void {
    this.input(packet, datagram.source, datagram.destination, datagram.broadcast, true)
  }

  /**
   * TCP input for a segment that took a net channel's fast path (`tcp_v4_rcv`
   * without the IP layer): `packet` at the TCP header, trimmed to the
   * datagram's length, with the IPv4 `source` and `destination` (unicast and
   * local: the classifier checked). The same code as the slow path from here.
   */
  receiveSegment(packet: PacketBuffer, source: number, destination: number): void {
    this.input(packet, source, destination, false, false)
  }

  /** Hands the host's net channels the hooks they need (undefined: channels off). */
  setChannelHooks(hooks: TcpChannelHooks | undefined): void {
    this.channelHooks = hooks
  }

  /**
   * A throttled connection's segment completed (`TcpHost.outputCompleted`):
   * once half of its small-queue limit is gone it is resumed at the end of
   * the NAPI poll that completed it (`TimerQueue.soon`; from the timer fiber
   * outside a poll), never inside the driver's completion path, as Linux's
   * `tcp_wfree` hands the socket to the TSQ tasklet.
   */
  outputCompleted(tcb: Tcb): void {
    if (!tcb.tsqThrottled || tcb.queuedBytes > outputLimit(tcb) / 2) return
    tcb.tsqThrottled = false
    this.tsqReady.push(tcb)
    if (this.tsqScheduled) return
    this.tsqScheduled = true
    this.timers.soon(this.resumeThrottled)
  }

  /** Sends what the throttled connections now may (`tcp_tsq_handler`). */
  private readonly resumeThrottled = (): void => {
    this.tsqScheduled = false
    const ready = this.tsqReady.splice(0)
    for (const tcb of ready) tcb.cwndLimited = pushData(tcb)
  }

  /**
   * Data is there to read (`TcpHost.dataReady`): the reader is woken when
   * the current NAPI poll ends, after every segment of the batch was taken
   * in (one wake-up, one read, one window update for all of them), as a
   * kernel's reader runs once the softirq is done. At once outside a poll.
   * A reader whose parked array is full is woken sooner, once the segment
   * that filled it is taken in: the rest of the batch would otherwise go to
   * the receive buffer's pages and be copied twice, where the reader, parked
   * again with the array emptied, takes it in one copy.
   */
  dataReady(tcb: Tcb): void {
    if (!tcb.readerFullQueued && tcb.receive.parkedFull) {
      tcb.readerFullQueued = true
      this.fullReaders.push(tcb)
    }
    if (tcb.readerWakeQueued) return
    tcb.readerWakeQueued = true
    this.readersToWake.push(tcb)
    if (this.readersToWake.length === 1) this.timers.afterBatch(this.wakeReaders)
  }

  private readonly wakeReaders = (): void => {
    for (const tcb of this.readersToWake.splice(0)) {
      tcb.readerWakeQueued = false
      Latch.openUnsafe(tcb.readable)
    }
  }

  /** TCP input is running: see `TcpHost.inInput`. */
  get inInput(): boolean {
    return this.inputDepth > 0
  }

  private input(packet: PacketBuffer, source: number, destination: number, broadcast: boolean, slowPath: boolean): void {
    this.inputDepth++
    try {
      this.segmentInput(packet, source, destination, broadcast, slowPath)
    } finally {
      this.inputDepth--
    }
    if (this.inputDepth === 0 && this.fullReaders.length > 0) this.wakeFullReaders()
  }

  /** Wakes the readers whose parked arrays filled up (see `dataReady`), between two segments. */
  private wakeFullReaders(): void {
    for (const tcb of this.fullReaders.splice(0)) {
      tcb.readerFullQueued = false
      Latch.openUnsafe(tcb.readable)
    }
  }

  private segmentInput(packet: PacketBuffer, source: number, destination: number, broadcast: boolean, slowPath: boolean): void {
    // Net channels: segments of this flow still queued on its channel arrived first; TCP takes them first (the
    // ports read raw: a segment too short for them belongs to no flow, and is dropped below).
    const hooks = this.channelHooks
    if (slowPath && hooks !== undefined && packet.headLength >= 4) {
      const bytes = packet.bytes
      const at = packet.data
      hooks.beforeInput(destination, readU16(bytes, at + 2), source, readU16(bytes, at))
    }
    const stats = this.stats
    stats.InSegs++
    if (this.trace.enabled) this.trace.record("tcp-rcv", packet, "tcp", slowPath ? "slow" : "channel")
    if (broadcast) return this.drop(packet) // RFC 1122 §4.2.3.10: TCP is unicast
    // The checksum first, over the raw segment (as `tcp_v4_rcv` does): a damaged segment is a checksum
    // error whatever its damage looks like, never a malformed header (RFC 9293 §3.1; RFC 1122 §4.2.2.7).
    if (!ChecksumState.trusted(packet.meta.checksum)) {
      const sum = sumPacket(packet, 0, packet.length, ipv4PseudoHeaderSum(source, destination, 6, packet.length))
      if (sum === undefined || finishChecksum(sum) !== 0) {
        stats.InCsumErrors++
        stats.InErrs++
        return this.drop(packet, "tcp.bad-checksum")
      }
    }
    const view = TcpView.parse(packet)
    if (!(view instanceof TcpView)) {
      stats.InErrs++
      return this.drop(packet, view.name)
    }
    const seg = readSegment(this.seg, view)
    const local = destination
    const remote = source
    const localPort = view.destinationPort
    const remotePort = view.sourcePort
    const tcb = this.tables.established.lookup(local, localPort, remote, remotePort)
    // The established table first: the listener is looked up only for what it has no connection for.
    if (tcb !== undefined && (tcb.state !== "TIME-WAIT" || !this.reopensTimeWait(tcb, seg))) return segmentArrives(tcb, seg, packet)
    const listener = this.tables.listeners.lookup(local, localPort)
    if (tcb !== undefined) {
      // RFC 6191 / RFC 1122 §4.2.2.13: a new SYN may end TIME-WAIT, for a listener to take it. With no listener
      // there is nothing to reopen: TIME-WAIT "MUST linger" and the SYN gets its challenge ACK (RFC 5961 §4.2).
      if (listener === undefined || listener.closed) return segmentArrives(tcb, seg, packet)
      done(tcb)
    }
    if (listener !== undefined && !listener.closed) return this.listenerArrives(listener, seg, packet, local, remote, localPort, remotePort)
    // CLOSED (RFC 9293 §3.10.7.1): an RST is dropped; anything else is answered with an RST.
    if ((seg.flags & RST) === 0) {
      stats.NoSocket++
      this.sendResetReply(local, remote, localPort, remotePort, seg)
    }
    this.drop(packet)
  }

  /**
   * RFC 6191 §2 (timestamps) / RFC 1122 §4.2.2.13: a SYN in TIME-WAIT starts
   * a new incarnation if its sequence number (or timestamp) is beyond the old one's.
   */
  private reopensTimeWait(tcb: Tcb, seg: Segment): boolean {
    if ((seg.flags & (SYN | ACK | RST)) !== SYN) return false
    if (tcb.timestamps && seg.hasTimestamps) return ((seg.tsVal - tcb.tsRecent) | 0) > 0
    return seqGt(seg.seq, tcb.rcvNxt)
  }

  // ------------------------------------------------------------------ LISTEN (RFC 9293 §3.10.7.2)

  private listenerArrives(
    listener: Listener,
    seg: Segment,
    packet: PacketBuffer,
    local: number,
    remote: number,
    localPort: number,
    remotePort: number
  ): void {
    const flags = seg.flags
    const tuple: FourTuple = { localAddress: local, localPort, remoteAddress: remote, remotePort }
    if ((flags & RST) !== 0) return this.drop(packet)
    if ((flags & ACK) !== 0) {
      // An ACK for a listener: the end of a SYN-cookie handshake (RFC 4987 §3.6), or stray: RST.
      if ((flags & SYN) === 0 && this.settings.synCookies !== "never") {
        const child = this.cookieAck(listener, tuple, seg)
        if (child !== undefined) return segmentArrives(child, seg, packet)
      }
      this.sendResetReply(local, remote, localPort, remotePort, seg)
      return this.drop(packet)
    }
    if ((flags & SYN) === 0) return this.drop(packet)
    this.synArrives(listener, tuple, seg)
    this.drop(packet)
  }

  /** A SYN for a listener: a SYN-RECEIVED child, a SYN cookie, or a drop (counted). */
  private synArrives(listener: Listener, tuple: FourTuple, seg: Segment): void {
    const stats = this.stats
    // Linux `tcp_conn_request`: a full accept queue drops the SYN.
    if (!listener.hasRoom) {
      stats.ListenOverflows++
      stats.ListenDrops++
      return
    }
    const synQueueFull = listener.pending >= Math.max(this.settings.maxSynBacklog, listener.backlog)
    if (this.settings.synCookies === "always" || (synQueueFull && this.settings.synCookies === "overflow")) {
      return this.sendCookie(listener, tuple, seg)
    }
    if (synQueueFull) {
      stats.ListenDrops++
      return
    }
    const tcb = this.child(listener, tuple, seg, this.isn.isn(tuple.localAddress, tuple.localPort, tuple.remoteAddress, tuple.remotePort, this.timers.now()))
    if (this.tables.established.insert(tuple, tcb) !== "inserted") {
      stats.TableFull++
      stats.ListenDrops++
      return
    }
    tcb.binding = this.inheritBinding(listener, tuple.localAddress)
    listener.pending++
    tcb.listener = listener
    stats.PassiveOpens++
    sendSyn(tcb)
  }

  /** A child TCB for `seg`'s SYN, in SYN-RECEIVED, with the agreed options (not yet in any table). */
  private child(listener: Listener, tuple: FourTuple, seg: Segment, iss: number): Tcb {
    const tcb = new Tcb(this, tuple)
    tcb.passive = true
    tcb.state = "SYN-RECEIVED"
    tcb.irs = seg.seq
    tcb.rcvNxt = seqAdd(seg.seq, 1)
    const mtu = this.ipv4.pathMtuTo(tuple.remoteAddress)
    tcb.rcvMss = mtu - 40
    tcb.rcvWscale = this.settings.windowScaling ? windowShiftFor(this.settings.receiveBuffer) : 0
    acceptSynOptions(tcb, seg, mtu)
    this.startSequence(tcb, iss)
    tcb.sndWnd = seg.window
    tcb.maxSndWnd = seg.window
    tcb.sndWl1 = seg.seq
    this.applyDefaults(tcb, listener.defaults)
    return tcb
  }

  /** RFC 4987 §3.6: answer a SYN with a cookie SYN-ACK and keep nothing. */
  private sendCookie(listener: Listener, tuple: FourTuple, seg: Segment): void {
    const now = this.timers.now()
    const cookie = this.cookies.make(tuple, seg.seq, seg.mss > 0 ? seg.mss : DEFAULT_MSS, now)
    const tcb = this.child(listener, tuple, seg, cookie.isn)
    if (tcb.timestamps) {
      // The SYN's options ride in the low bits of our TSval (Linux `cookie_init_timestamp`).
      const raw = Math.floor(now / 1000) >>> 0
      const ts = this.cookies.timestamp(raw, {
        ...(tcb.windowScaling ? { wscale: tcb.sndWscale } : {}),
        sackOk: tcb.sack,
        ecn: false
      })
      tcb.tsOffset = (tcb.tsOffset + ts - raw) >>> 0
    }
    this.stats.SyncookiesSent++
    sendSyn(tcb)
    tcb.retransmitTimer.dispose() // stateless: nothing to retransmit; the client retries
  }

  /** The ACK that completes a cookie handshake: an ESTABLISHED child, or undefined (counted) if the cookie fails. */
  private cookieAck(listener: Listener, tuple: FourTuple, seg: Segment): Tcb | undefined {
    const now = this.timers.now()
    const stats = this.stats
    const check = this.cookies.check(tuple, seg.ack, seqAdd(seg.seq, -1), now)
    if (check === undefined) {
      stats.SyncookiesFailed++
      return undefined
    }
    const offset = this.isn.timestampOffset(tuple.localAddress, tuple.remoteAddress)
    const options = seg.hasTimestamps ? this.cookies.decodeTimestamp((seg.tsEcr - offset) >>> 0) : { sackOk: false, ecn: false }
    if (options === undefined || !listener.hasRoom) {
      stats.SyncookiesFailed++
      return undefined
    }
    const tcb = new Tcb(this, tuple)
    tcb.passive = true
    tcb.irs = seqAdd(seg.seq, -1)
    tcb.rcvNxt = seg.seq
    const mtu = this.ipv4.pathMtuTo(tuple.remoteAddress)
    tcb.rcvMss = mtu - 40
    tcb.windowScaling = this.settings.windowScaling && options.wscale !== undefined
    tcb.sndWscale = tcb.windowScaling ? options.wscale ?? 0 : 0
    tcb.rcvWscale = tcb.windowScaling ? windowShiftFor(this.settings.receiveBuffer) : 0
    tcb.timestamps = this.settings.timestamps && seg.hasTimestamps
    tcb.tsRecent = seg.tsVal
    tcb.tsRecentAge = now
    tcb.sack = this.settings.sack && options.sackOk
    tcb.mss = Math.min(check.mss, mtu - 40) - (tcb.timestamps ? 12 : 0)
    this.startSequence(tcb, seqAdd(seg.ack, -1))
    // The SYN-ACK went out and is acknowledged: SND.UNA = SND.NXT = ISS + 1 (left at ISS, the ACK itself would be
    // "above SND.NXT" and challenged, RFC 5961 §5.2, and the first data would go out at the SYN's number).
    tcb.sndUna = seg.ack
    tcb.synAcked = true
    tcb.sndNxt = seg.ack
    tcb.sndMax = seg.ack
    tcb.rcvAdv = seqAdd(tcb.rcvNxt, Math.min(0xffff, this.settings.receiveBuffer)) // what the SYN-ACK offered
    tcb.sndWnd = seg.window * 2 ** tcb.sndWscale
    tcb.maxSndWnd = tcb.sndWnd
    tcb.sndWl1 = seg.seq
    tcb.sndWl2 = seg.ack
    this.applyDefaults(tcb, listener.defaults)
    if (this.tables.established.insert(tuple, tcb) !== "inserted") {
      stats.TableFull++
      return undefined
    }
    tcb.binding = this.inheritBinding(listener, tuple.localAddress)
    tcb.listener = listener
    listener.pending++ // `established` moves it from pending to the queue
    stats.SyncookiesRecv++
    stats.PassiveOpens++
    setupSack(tcb)
    established(tcb)
    return tcb
  }

  /** The child holds the listener's port on its own address (Linux `inet_inherit_port`). */
  private inheritBinding(listener: Listener, localAddress: number) {
    const inherited = this.tables.ports.inherit(listener.binding, localAddress)
    return inherited === "full" ? undefined : inherited
  }

  // ------------------------------------------------------------------ connect (RFC 9293 §3.10.1 active OPEN)

  /** Starts an active open to `remoteAddress:remotePort`: a SYN-SENT connection, or why it cannot start. */
  connect(remoteAddress: number, remotePort: number, options: ConnectOptions = {}): Tcb | TcpError {
    const detail = `connect ${ipString(remoteAddress)}:${remotePort}`
    if (!Number.isInteger(remotePort) || remotePort <= 0 || remotePort > 0xffff) {
      return new TcpError({ reason: "invalid-argument", detail })
    }
    const localAddress = options.localAddress ?? this.ipv4.sourceAddressFor(remoteAddress)
    if (localAddress === undefined) return new TcpError({ reason: "network-unreachable", detail })
    const tables = this.tables
    let localPort = options.localPort
    if (localPort === undefined) {
      const port = this.ephemeral.allocate(
        { localAddress, remoteAddress, remotePort },
        (candidate) => !tables.isFourTupleFree(localAddress, candidate, remoteAddress, remotePort)
      )
      if (typeof port !== "number") return new TcpError({ reason: "address-not-available", detail })
      localPort = port
    } else if (!tables.isFourTupleFree(localAddress, localPort, remoteAddress, remotePort)) {
      return new TcpError({ reason: "address-in-use", detail })
    }
    const binding = tables.ports.bindConnect(localAddress, localPort)
    if (typeof binding === "string") {
      return new TcpError({ reason: binding === "full" ? "address-not-available" : "address-in-use", detail })
    }
    const tuple: FourTuple = { localAddress, localPort, remoteAddress, remotePort }
    const tcb = new Tcb(this, tuple)
    tcb.binding = binding
    tcb.rcvMss = this.ipv4.pathMtuTo(remoteAddress) - 40
    tcb.mss = Math.min(tcb.rcvMss, DEFAULT_MSS)
    tcb.rcvWscale = this.settings.windowScaling ? windowShiftFor(this.settings.receiveBuffer) : 0
    this.startSequence(tcb, this.isn.isn(localAddress, localPort, remoteAddress, remotePort, this.timers.now()))
    this.applyDefaults(tcb, {
      noDelay: options.noDelay ?? false,
      keepalive: options.keepalive ?? false,
      userTimeout: options.userTimeout,
      ttl: options.ttl
    })
    if (tables.established.insert(tuple, tcb) !== "inserted") {
      tables.ports.release(binding)
      this.stats.TableFull++
      return new TcpError({ reason: "connection-aborted", detail: `${detail}: connection table full` })
    }
    tcb.state = "SYN-SENT"
    this.stats.ActiveOpens++
    sendSyn(tcb)
    return tcb
  }

  /** Sets ISS and the send variables around it, and the connection's timestamp offset (RFC 7323 §5.4). */
  private startSequence(tcb: Tcb, iss: number): void {
    tcb.iss = iss
    tcb.sndUna = iss
    tcb.sndNxt = iss
    tcb.sndMax = iss
    tcb.sendEnd = seqAdd(iss, 1)
    tcb.recoveryPoint = iss
    tcb.tsOffset = this.isn.timestampOffset(tcb.localAddress, tcb.remoteAddress)
  }

  private applyDefaults(tcb: Tcb, defaults: ConnectionDefaults): void {
    tcb.noDelay = defaults.noDelay
    tcb.keepalive = defaults.keepalive
    tcb.userTimeout = defaults.userTimeout
    tcb.ttl = defaults.ttl
  }

  // ------------------------------------------------------------------ listen

  /** A listener on `port` (0.0.0.0 by default), or why not (EADDRINUSE). */
  listen(port: number, options: ListenOptions = {}): Listener | TcpError {
    const localAddress = options.localAddress ?? 0
    const detail = `listen ${ipString(localAddress)}:${port}`
    if (!Number.isInteger(port) || port <= 0 || port > 0xffff) return new TcpError({ reason: "invalid-argument", detail })
    const binding = this.tables.ports.bind(localAddress, port, { reuseAddress: options.reuseAddress ?? false })
    if (typeof binding === "string") return new TcpError({ reason: "address-in-use", detail })
    if (!this.tables.ports.listen(binding)) {
      this.tables.ports.release(binding)
      return new TcpError({ reason: "address-in-use", detail })
    }
    const listener = new Listener(binding, localAddress, port, Math.max(1, options.backlog ?? 128), {
      noDelay: options.noDelay ?? false,
      keepalive: options.keepalive ?? false,
      userTimeout: options.userTimeout,
      ttl: options.ttl
    })
    if (this.tables.listeners.insert(localAddress, port, listener) !== "inserted") {
      this.tables.ports.release(binding)
      return new TcpError({ reason: "address-in-use", detail })
    }
    return listener
  }

  /** Stops listening: no new connections; those not yet accepted are reset (Linux `inet_csk_listen_stop`). */
  closeListener(listener: Listener, reset: (tcb: Tcb) => void): void {
    if (listener.closed) return
    listener.closed = true
    this.tables.listeners.remove(listener.localAddress, listener.localPort, listener)
    this.tables.ports.release(listener.binding)
    for (const tcb of [...listener.queue]) reset(tcb)
  }

  // ------------------------------------------------------------------ ICMP errors (RFC 1122 §4.2.3.9, RFC 5927)

  /** An ICMP error quoting one of our segments. */
  icmpError(error: TransportError): void {
    const q = error.quoted
    if (q.length < 8) return
    const tcb = this.tables.established.lookup(error.source, readU16(q, 0), error.destination, readU16(q, 2))
    if (tcb === undefined) return
    // RFC 5927 §4.1: believe it only if the quoted sequence number is one we have outstanding.
    const seq = readU32(q, 4)
    if (!(seqGe(seq, tcb.sndUna) && seqLt(seq, seqAdd(tcb.sndMax, tcb.sndMax === tcb.sndUna ? 1 : 0)))) return
    if (error.type === 3 && error.code === 4) {
      if (error.mtu !== undefined) mtuReduced(tcb, error.mtu)
      return
    }
    const reason = error.type === 3 && (error.code === 2 || error.code === 3)
      ? "connection-refused"
      : error.type === 3 && (error.code === 0 || error.code === 6 || error.code === 9 || error.code === 11)
      ? "network-unreachable"
      : "host-unreachable"
    const problem = new TcpError({ reason, detail: `ICMP type ${error.type} code ${error.code} from ${ipString(error.from)}` })
    // Linux `tcp_v4_err`: an attempt in progress fails at once; later the error is soft, reported on a timeout.
    if (tcb.state === "SYN-SENT" || (tcb.state === "SYN-RECEIVED" && !tcb.passive)) done(tcb, problem)
    else tcb.softError = problem
  }

  // ------------------------------------------------------------------ TcpHost

  onEstablished(tcb: Tcb): void {
    // Its net channel (a CLOSE in SYN-RECEIVED completes the handshake in FIN-WAIT-1, which still receives).
    if (this.channelHooks !== undefined && isReceiving(tcb.state)) this.channelHooks.open(tcb)
    tcb.listener?.enqueue(tcb)
  }

  acceptRoom(tcb: Tcb): boolean {
    const listener = tcb.listener
    if (listener === undefined || listener.hasRoom) return true
    this.stats.ListenOverflows++
    return false
  }

  onTimeWait(tcb: Tcb): boolean {
    return this.tables.established.enterTimeWait(tcb, tcb) === "replaced"
  }

  onClosed(tcb: Tcb): void {
    this.tables.established.remove(tcb, tcb)
    if (tcb.binding !== undefined) {
      this.tables.ports.release(tcb.binding)
      tcb.binding = undefined
    }
    if (tcb.listener !== undefined) {
      tcb.listener.forget(tcb)
      tcb.listener = undefined
    }
  }

  makeScoreboard(): Scoreboard {
    return new Scoreboard()
  }

  sendResetReply(localAddress: number, remoteAddress: number, localPort: number, remotePort: number, seg: Segment): void {
    const withAck = (seg.flags & ACK) !== 0
    const packet = headerBuffer(this)
    pushHeader(
      packet,
      {
        sourcePort: localPort,
        destinationPort: remotePort,
        seq: withAck ? seg.ack : 0,
        ack: withAck ? 0 : seqAdd(seg.seq, sequenceLength(seg)),
        flags: withAck ? RST : RST | ACK,
        window: 0
      },
      undefined,
      ipv4PseudoHeaderSum(localAddress, remoteAddress, 6, 0)
    )
    this.stats.OutRsts++
    this.stats.OutSegs++
    this.ipv4.send(packet, { destination: remoteAddress, source: localAddress, protocol: 6 })
  }

  private drop(packet: PacketBuffer, reason?: string): void {
    if (reason !== undefined) this.drops.count(reason)
    packet.release()
  }
}

/** `a.b.c.d` (for error details). */
const ipString = (a: number): string => `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`
