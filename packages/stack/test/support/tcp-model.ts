/**
 * A reference model of one TCP connection's state machine, written from
 * RFC 9293 (§3.3.2 figure 5, the user calls of §3.10.1-§3.10.5 and the
 * event processing of §3.10.7) with RFC 5961 (challenge ACKs, §3.2 RST,
 * §4.2 SYN, §5.2 ACK), RFC 1337 (TIME-WAIT ignores RSTs), RFC 1122
 * §4.2.2.13 (RST when received data is lost on CLOSE) and RFC 5681 §4.2
 * (immediate ACKs for out-of-order data) — not from the implementation.
 *
 * It is a small pure state machine: the state, SND.UNA/SND.NXT/RCV.NXT as
 * relative numbers (our ISS and the peer's ISN are 0), the data the
 * application wrote and has not read, and for every event (a user call, a
 * segment from the peer, time passing) the next state and what we must or
 * may send in reply, as an `Expectation`. The model-based test
 * (tcp-state-machine.model.test.ts) holds the real host to it.
 *
 * What the RFCs leave to the implementation is allowed, not prescribed:
 * when an ACK of in-order data goes out (at once or delayed, at most
 * 0.5 s: RFC 9293 §3.8.6.3), and which retransmissions congestion control
 * makes (RFC 5681, RFC 6582) — those may appear, but only inside
 * [SND.UNA, SND.NXT).
 *
 * Three things beyond the RFC text, all Linux's, are modelled as the stack
 * means them: a listener is a separate endpoint that outlives its children
 * (a connection that ends with the listener open shows as LISTEN); an
 * orphaned FIN-WAIT-2 (the application closed) ends after `finTimeout`
 * (tcp_fin_timeout); and in a simultaneous open whose SYN-ACKs cross, the
 * peer's SYN-ACK (SEG.SEQ = IRS, left of the window, but acknowledging our
 * SYN) completes the handshake, where the RFC's first check would answer it
 * with an ACK and wait for a retransmission (Linux tcp_validate_incoming).
 *
 * A CLOSE in SYN-RECEIVED sends the FIN before our SYN is acknowledged
 * (§3.10.4): FIN-WAIT-1 is synchronized, so from there on the segments are
 * processed as in any FIN-WAIT-1 (§3.5.2, §3.10.7.4: an ACK of nothing new is
 * ignored, one of data never sent is challenged; RFC 5961 §5.2), and the
 * ACK of our SYN completes the open (`connect` returns) in whatever state
 * the connection is then in.
 */

/** RFC 9293 §3.3.2's states. */
export type State =
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

/** Why the connection ended, as the application is told (RFC 9293's "connection reset", "connection refused"…). */
export type EndReason = "connection-refused" | "connection-reset" | "connection-aborted" | "timed-out"

/** The numbers the model needs from the host's configuration (times in ms). */
export interface ModelParameters {
  /** 2 MSL (RFC 9293 §3.10.7.4 TIME-WAIT). */
  readonly timeWait: number
  /** How long an orphaned FIN-WAIT-2 lasts (Linux tcp_fin_timeout). */
  readonly finTimeout: number
  /** The peer's window, which is also MAX.SND.WND (RFC 5961 §5.2): the peer always offers it. */
  readonly peerWindow: number
  /** A lower bound of our RCV.WND while the test runs (segments are placed well inside or far outside it). */
  readonly receiveWindow: number
  /** The most an ACK may be delayed (RFC 9293 §3.8.6.3: "MUST be less than 0.5 seconds"). */
  readonly ackDelay: number
}

/** A segment from the peer: tcpdump's flag letters, numbers relative to the peer's ISN (seq) and our ISS (ack). */
export interface PeerSegment {
  readonly flags: string
  readonly seq: number
  readonly ack: number
  /** Data bytes. */
  readonly length: number
}

/** A segment we must send, in one of several acceptable forms; numbers relative, as `PeerSegment`'s. */
export interface SegmentPattern {
  /** tcpdump's letters. */
  readonly flags: string
  readonly seq?: number
  /** The sequence number as sent, not relative (RFC 9293 §3.10.7.1's `<SEQ=0>`). */
  readonly rawSeq?: number
  readonly ack?: number
  readonly length?: number
}

/** One segment the event calls for, with the rule that calls for it. */
export interface Reply {
  readonly rule: string
  readonly forms: ReadonlyArray<SegmentPattern>
}

/** What an event obliges us to send and allows us to send. */
export interface Expectation {
  /** The rules that applied, in order (for failure messages). */
  readonly rules: Array<string>
  /** Segments that must be sent, in this order. */
  readonly replies: Array<Reply>
  /** An ACK of RCV.NXT must go out now (any segment with ACK = RCV.NXT does). */
  ackNow: boolean
  /** A pure ACK <SEQ=SND.NXT><ACK=RCV.NXT> may go out (a delayed ACK, a window update). */
  ackMay: boolean
  /** Retransmissions inside [SND.UNA, SND.NXT) may go out (congestion control's choice, or timeouts). */
  retransmitMay: boolean
  /** For a user call: whether it succeeds. */
  userResult: "ok" | "error" | undefined
}

/** A fresh expectation: nothing to send. */
const nothing = (): Expectation => ({
  rules: [],
  replies: [],
  ackNow: false,
  ackMay: false,
  retransmitMay: false,
  userResult: undefined
})

const has = (flags: string, letter: string): boolean => flags.includes(letter)

/** States in which the connection is synchronized (RFC 9293 §3.5.2). */
export const synchronizedStates: ReadonlyArray<State> = [
  "ESTABLISHED",
  "FIN-WAIT-1",
  "FIN-WAIT-2",
  "CLOSE-WAIT",
  "CLOSING",
  "LAST-ACK",
  "TIME-WAIT"
]

/** Whether `state` is synchronized. */
export const isSynchronizedState = (state: State): boolean => synchronizedStates.includes(state)

/** The reference model of one connection (and the listener it may come from). */
export class TcpModel {
  readonly params: ModelParameters
  state: State = "CLOSED"
  /** A listener is open on the port (passive OPEN). */
  listening = false
  /** How the connection was opened, once it was. */
  origin: "active" | "passive" | undefined = undefined
  /** A connection was opened on the port (the test makes one incarnation per run). */
  used = false
  /** The application holds the connection (after connect, or accept). */
  handle = false
  /** The connection reached ESTABLISHED at some point. */
  opened = false
  /** The connection's TCB is gone (CLOSED, or back to LISTEN). */
  deleted = false

  // ---- send side (relative to our ISS: the SYN is 0, data starts at 1)
  sndUna = 0
  sndNxt = 0
  /** Bytes the application wrote (data sequence numbers 1..written). */
  written = 0
  /** Our FIN went out (its sequence number is 1 + written). */
  finSent = false
  /** The application called CLOSE or shutdown: no more SENDs. */
  shutdown = false
  /** The application called CLOSE: no more RECEIVEs either (RFC 1122 §4.2.2.13). */
  closed = false

  // ---- receive side (relative to the peer's ISN)
  rcvNxt = 0
  /** Out-of-order data held (RFC 9293 §3.10.7.4 seventh: "held for later processing"), as [from, to). */
  ooo: Array<readonly [number, number]> = []
  /** The peer's FIN was taken (RCV.NXT passed it). */
  finReceived = false
  /** Data received in order and not yet read by the application. */
  unread = 0
  /** The sequence number of the next byte the application reads. */
  readNext = 1

  // ---- obligations and time
  /** In-order data was taken and its ACK not yet sent (it may be delayed, RFC 9293 §3.8.6.3). */
  ackOwed = false
  /** The test clock, ms. */
  now = 0
  timeWaitUntil: number | undefined = undefined
  finWait2Until: number | undefined = undefined
  /** Why the connection ended, if an error ended it. */
  error: EndReason | undefined = undefined

  constructor(params: ModelParameters) {
    this.params = params
  }

  /** SND.UNA < SND.NXT: a SYN, data or a FIN waits for its ACK. */
  get outstanding(): boolean {
    return this.sndUna < this.sndNxt
  }

  /** An active open whose SYN is not yet acknowledged: `connect` still waits (SYN-SENT, SYN-RECEIVED, or after a CLOSE there). */
  get connectPending(): boolean {
    return this.origin === "active" && !this.opened && !this.deleted
  }

  /** Our SYN went out and is not acknowledged: it (or the SYN-ACK) may be retransmitted. */
  get synUnacked(): boolean {
    return !this.deleted && this.sndNxt > 0 && this.sndUna === 0
  }

  /** Our FIN was sent and acknowledged. */
  get finAcked(): boolean {
    return this.finSent && this.sndUna > 1 + this.written
  }

  /** A one-line summary, for failure messages. */
  toString(): string {
    return `${this.state}${this.listening ? " (listening)" : ""} SND.UNA=${this.sndUna} SND.NXT=${this.sndNxt} RCV.NXT=${this.rcvNxt}` +
      ` written=${this.written} unread=${this.unread}${this.ooo.length > 0 ? ` ooo=${JSON.stringify(this.ooo)}` : ""}` +
      `${this.ackOwed ? " ack-owed" : ""}${this.closed ? " closed" : this.shutdown ? " shut-down" : ""} t=${this.now}`
  }

  // ------------------------------------------------------------------ replies

  /** `<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>`. */
  private ackReply(rule: string): Reply {
    return { rule, forms: [{ flags: ".", seq: this.sndNxt, ack: this.rcvNxt, length: 0 }] }
  }

  /** `<SEQ=SEG.ACK><CTL=RST>` (RFC 9293 §3.10.7.1-§3.10.7.4: the reply to an unacceptable ACK). */
  private resetForAck(seg: PeerSegment, rule: string): Reply {
    return { rule, forms: [{ flags: "R", seq: seg.ack, length: 0 }] }
  }

  /** `<SEQ=SND.NXT><CTL=RST>` (RFC 9293 §3.10.5 ABORT); the ACK bit may ride along. */
  private resetAtSndNxt(rule: string): Reply {
    return { rule, forms: [{ flags: "R", seq: this.sndNxt, length: 0 }, { flags: "R.", seq: this.sndNxt, ack: this.rcvNxt, length: 0 }] }
  }

  // ------------------------------------------------------------------ endings

  /** Deletes the TCB: CLOSED, or LISTEN when the listener it came from is still open. */
  private deleteTcb(error: EndReason | undefined): void {
    this.state = this.origin === "passive" && this.listening ? "LISTEN" : "CLOSED"
    this.deleted = true
    this.ooo = []
    this.ackOwed = false
    this.timeWaitUntil = undefined
    this.finWait2Until = undefined
    if (error !== undefined) {
      // RFC 9293 §3.10.7.4 (RST) / §3.10.5 (ABORT): "all segment queues should be flushed".
      this.error ??= error
      this.unread = 0
    }
  }

  private enterTimeWait(): void {
    this.state = "TIME-WAIT"
    this.timeWaitUntil = this.now + this.params.timeWait
    this.finWait2Until = undefined
  }

  private enterFinWait2(): void {
    this.state = "FIN-WAIT-2"
    if (this.closed) this.finWait2Until = this.now + this.params.finTimeout
  }

  // ------------------------------------------------------------------ user calls (RFC 9293 §3.10.1-§3.10.5)

  /** OPEN, passive (§3.10.1): LISTEN. */
  listen(): Expectation {
    const e = nothing()
    e.rules.push("§3.10.1 passive OPEN: LISTEN")
    this.listening = true
    this.state = "LISTEN"
    e.userResult = "ok"
    return e
  }

  /** OPEN, active (§3.10.1): `<SEQ=ISS><CTL=SYN>`, SND.UNA = ISS, SND.NXT = ISS + 1, SYN-SENT. */
  connect(): Expectation {
    const e = nothing()
    e.rules.push("§3.10.1 active OPEN: send <SEQ=ISS><CTL=SYN>, SYN-SENT")
    this.origin = "active"
    this.used = true
    this.handle = true
    this.state = "SYN-SENT"
    e.replies.push({ rule: "SYN", forms: [{ flags: "S", seq: 0, length: 0 }] })
    this.sndUna = 0
    this.sndNxt = 1
    return e
  }

  /** The application accepts the connection the listener completed. */
  accept(): Expectation {
    const e = nothing()
    e.rules.push("accept")
    this.handle = true
    e.userResult = "ok"
    return e
  }

  /** SEND (§3.10.2). */
  write(n: number): Expectation {
    const e = nothing()
    if ((this.state === "ESTABLISHED" || this.state === "CLOSE-WAIT") && !this.shutdown) {
      e.rules.push(`§3.10.2 SEND in ${this.state}: segmentize and send`)
      e.replies.push({
        rule: "data",
        forms: [{ flags: "P.", seq: this.sndNxt, ack: this.rcvNxt, length: n }, { flags: ".", seq: this.sndNxt, ack: this.rcvNxt, length: n }]
      })
      this.sndNxt += n
      this.written += n
      e.userResult = "ok"
    } else {
      // CLOSED: "connection does not exist" (or "reset"); FIN-WAIT-1 and later, or after CLOSE: "connection closing".
      e.rules.push(`§3.10.2 SEND in ${this.deleted ? "CLOSED" : this.state}${this.shutdown ? " after CLOSE" : ""}: error`)
      e.userResult = "error"
    }
    return e
  }

  /** RECEIVE (§3.10.3) of everything unread; a window update may follow (§3.8.6.2.2). Returns the bytes' first sequence number and count. */
  read(): { readonly expectation: Expectation; readonly from: number; readonly count: number } {
    const e = nothing()
    e.rules.push("§3.10.3 RECEIVE")
    const from = this.readNext
    const count = this.unread
    this.readNext += count
    this.unread = 0
    e.ackMay = true
    e.userResult = "ok"
    return { expectation: e, from, count }
  }

  /** The sending half of CLOSE (§3.10.4): our FIN, after the data. */
  shutdownSending(): Expectation {
    const e = nothing()
    if (this.deleted) {
      e.rules.push("§3.10.4 CLOSE in CLOSED: \"connection does not exist\", nothing sent")
      this.shutdown = true
      return e
    }
    if (this.shutdown) {
      e.rules.push(`§3.10.4 CLOSE again in ${this.state}: nothing more`)
      return e
    }
    this.shutdown = true
    switch (this.state) {
      case "SYN-SENT":
        e.rules.push("§3.10.4 CLOSE in SYN-SENT: delete the TCB")
        this.deleteTcb(undefined)
        return e
      case "SYN-RECEIVED":
        // Nothing can be queued: `write` refuses to send before ESTABLISHED (see the test's header).
        e.rules.push("§3.10.4 CLOSE in SYN-RECEIVED, no SENDs: send <SEQ=SND.NXT><ACK=RCV.NXT><CTL=FIN,ACK> at once, FIN-WAIT-1")
        this.sendFin(e)
        this.state = "FIN-WAIT-1"
        return e
      case "ESTABLISHED":
        e.rules.push(`§3.10.4 CLOSE in ${this.state}: send FIN, FIN-WAIT-1`)
        this.sendFin(e)
        this.state = "FIN-WAIT-1"
        return e
      case "CLOSE-WAIT":
        e.rules.push("§3.10.4 CLOSE in CLOSE-WAIT: send FIN, LAST-ACK")
        this.sendFin(e)
        this.state = "LAST-ACK"
        return e
      default:
        e.rules.push(`§3.10.4 CLOSE in ${this.state}: "connection closing", nothing sent`)
        return e
    }
  }

  private sendFin(e: Expectation): void {
    e.replies.push({ rule: "FIN", forms: [{ flags: "F.", seq: this.sndNxt, ack: this.rcvNxt, length: 0 }] })
    this.sndNxt += 1
    this.finSent = true
  }

  /** `shutdown()`: CLOSE's sending half; reading goes on. */
  shutdownCall(): Expectation {
    const e = this.shutdownSending()
    e.userResult = "ok"
    return e
  }

  /**
   * `close()`: CLOSE (§3.10.4), and the application reads no more. With
   * data received and unread, RFC 1122 §4.2.2.13 (RFC 9293 §3.6): "its TCP
   * SHOULD send a RST to show that data was lost" — an ABORT.
   */
  close(): Expectation {
    if (this.deleted || this.state === "TIME-WAIT") {
      const e = nothing()
      e.rules.push(`§3.10.4 CLOSE in ${this.deleted ? "CLOSED" : this.state}: nothing to do`)
      this.closed = true
      e.userResult = "ok"
      return e
    }
    this.closed = true
    if (this.unread > 0 && isSynchronizedState(this.state)) {
      const e = this.abortConnection()
      e.rules.unshift("RFC 1122 §4.2.2.13: CLOSE with received data unread: RST (as ABORT)")
      return e
    }
    const e = this.shutdownSending()
    if (this.state === "FIN-WAIT-2") this.finWait2Until = this.now + this.params.finTimeout
    e.userResult = "ok"
    return e
  }

  /** ABORT (§3.10.5). */
  abort(): Expectation {
    return this.abortConnection()
  }

  /**
   * The application gives up a `connect` still waiting (its fiber is
   * interrupted): the attempt is abandoned, as an ABORT (§3.10.5: nothing
   * sent in SYN-SENT; `<SEQ=SND.NXT><CTL=RST>` in SYN-RECEIVED).
   */
  interruptConnect(): Expectation {
    const e = this.abortConnection()
    e.rules.unshift("connect interrupted: the attempt is abandoned (ABORT)")
    e.userResult = undefined
    return e
  }

  private abortConnection(): Expectation {
    const e = nothing()
    e.userResult = "ok"
    if (this.deleted) {
      e.rules.push("§3.10.5 ABORT in CLOSED: nothing")
      return e
    }
    switch (this.state) {
      case "SYN-SENT":
        e.rules.push("§3.10.5 ABORT in SYN-SENT: delete the TCB, nothing sent")
        break
      case "SYN-RECEIVED":
      case "ESTABLISHED":
      case "FIN-WAIT-1":
      case "FIN-WAIT-2":
      case "CLOSE-WAIT":
        e.rules.push(`§3.10.5 ABORT in ${this.state}: send <SEQ=SND.NXT><CTL=RST>, delete the TCB`)
        e.replies.push(this.resetAtSndNxt("ABORT's RST"))
        break
      default:
        e.rules.push(`§3.10.5 ABORT in ${this.state}: delete the TCB, nothing sent`)
        break
    }
    this.deleteTcb("connection-aborted")
    return e
  }

  // ------------------------------------------------------------------ time

  /** `ms` pass (the caller makes sure nothing is outstanding, so no retransmission timer runs). */
  tick(ms: number): Expectation {
    const e = nothing()
    this.now += ms
    e.rules.push(`${ms} ms pass`)
    this.timers(e, ms)
    return e
  }

  /**
   * A long time passes: every retransmission runs out (RFC 9293 §3.8.3
   * R2: "close the connection"; for SYNs too) and every 2 MSL and
   * FIN-WAIT-2 timeout expires.
   */
  longTick(ms: number): Expectation {
    const e = nothing()
    this.now += ms
    e.rules.push(`${ms} ms pass`)
    if (this.outstanding && !this.deleted && this.state !== "TIME-WAIT") {
      e.rules.push(`§3.8.3 R2: retransmissions of [${this.sndUna}, ${this.sndNxt}) run out in ${this.state}: the connection is closed`)
      e.retransmitMay = true
      this.deleteTcb("timed-out")
      return e
    }
    this.timers(e, ms)
    return e
  }

  private timers(e: Expectation, ms: number): void {
    if (this.ackOwed) {
      if (ms >= this.params.ackDelay) {
        e.rules.push("§3.8.6.3: the delayed ACK is due (< 0.5 s)")
        e.ackNow = true
      } else {
        e.ackMay = true
      }
    }
    if (this.state === "TIME-WAIT" && this.timeWaitUntil !== undefined && this.now >= this.timeWaitUntil) {
      e.rules.push("§3.10.7.4: the 2 MSL time-wait timeout: delete the TCB")
      this.deleteTcb(undefined)
    }
    if (this.state === "FIN-WAIT-2" && this.finWait2Until !== undefined && this.now >= this.finWait2Until) {
      e.rules.push("orphaned FIN-WAIT-2 times out (Linux tcp_fin_timeout)")
      this.deleteTcb("timed-out")
    }
  }

  /** The ACK owed was sent (the test saw a segment acknowledging RCV.NXT). */
  ackSent(): void {
    this.ackOwed = false
  }

  // ------------------------------------------------------------------ SEGMENT ARRIVES (§3.10.7)

  /** A segment from the peer. */
  segmentArrives(seg: PeerSegment): Expectation {
    const e = nothing()
    if (this.state === "CLOSED") this.closedArrives(seg, e)
    else if (this.state === "LISTEN") this.listenArrives(seg, e)
    else if (this.state === "SYN-SENT") this.synSentArrives(seg, e)
    else this.otherArrives(seg, e)
    return e
  }

  /** §3.10.7.1 CLOSED. */
  private closedArrives(seg: PeerSegment, e: Expectation): void {
    const f = seg.flags
    if (has(f, "R")) {
      e.rules.push("§3.10.7.1 CLOSED: an incoming RST is discarded")
      return
    }
    if (has(f, ".")) {
      e.rules.push("§3.10.7.1 CLOSED: ACK on: <SEQ=SEG.ACK><CTL=RST>")
      e.replies.push(this.resetForAck(seg, "RST"))
      return
    }
    const segLen = seg.length + (has(f, "S") ? 1 : 0) + (has(f, "F") ? 1 : 0)
    e.rules.push("§3.10.7.1 CLOSED: ACK off: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>")
    e.replies.push({ rule: "RST,ACK", forms: [{ flags: "R.", rawSeq: 0, ack: seg.seq + segLen, length: 0 }] })
  }

  /** §3.10.7.2 LISTEN. */
  private listenArrives(seg: PeerSegment, e: Expectation): void {
    const f = seg.flags
    if (has(f, "R")) {
      e.rules.push("§3.10.7.2 LISTEN first: an incoming RST is ignored")
      return
    }
    if (has(f, ".")) {
      e.rules.push("§3.10.7.2 LISTEN second: any ACK: <SEQ=SEG.ACK><CTL=RST>")
      e.replies.push(this.resetForAck(seg, "RST"))
      return
    }
    if (has(f, "S")) {
      e.rules.push("§3.10.7.2 LISTEN third: SYN: RCV.NXT = SEG.SEQ + 1, send <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>, SYN-RECEIVED")
      this.origin = "passive"
      this.used = true
      this.deleted = false
      this.state = "SYN-RECEIVED"
      this.rcvNxt = seg.seq + 1
      this.readNext = this.rcvNxt
      this.sndUna = 0
      this.sndNxt = 1
      e.replies.push({ rule: "SYN-ACK", forms: [{ flags: "S.", seq: 0, ack: this.rcvNxt, length: 0 }] })
      return
    }
    e.rules.push("§3.10.7.2 LISTEN fourth: other text or control: drop")
  }

  /** §3.10.7.3 SYN-SENT. */
  private synSentArrives(seg: PeerSegment, e: Expectation): void {
    const f = seg.flags
    const ack = has(f, ".")
    // First, the ACK bit.
    if (ack && (seg.ack <= 0 || seg.ack > this.sndNxt)) {
      if (has(f, "R")) {
        e.rules.push("§3.10.7.3 first: unacceptable ACK with RST: drop")
      } else {
        e.rules.push("§3.10.7.3 first: SEG.ACK =< ISS or > SND.NXT: <SEQ=SEG.ACK><CTL=RST>")
        e.replies.push(this.resetForAck(seg, "RST"))
      }
      return
    }
    // Second, the RST bit (RFC 5961 §3.2 keeps it for SYN-SENT: valid when the ACK acknowledges the SYN).
    if (has(f, "R")) {
      if (ack) {
        e.rules.push("§3.10.7.3 second: RST with an acceptable ACK: \"connection reset\" (refused), CLOSED")
        this.deleteTcb("connection-refused")
      } else {
        e.rules.push("§3.10.7.3 second: RST without ACK: drop")
      }
      return
    }
    // Fourth, the SYN bit.
    if (has(f, "S")) {
      this.rcvNxt = seg.seq + 1
      this.readNext = this.rcvNxt
      if (ack) this.sndUna = seg.ack
      if (this.sndUna > 0) {
        e.rules.push("§3.10.7.3 fourth: SYN, our SYN acknowledged: ESTABLISHED, <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>")
        this.state = "ESTABLISHED"
        this.opened = true
        e.replies.push(this.ackReply("ACK of the SYN"))
      } else {
        e.rules.push("§3.10.7.3 fourth: SYN alone (simultaneous open): SYN-RECEIVED, <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>")
        this.state = "SYN-RECEIVED"
        e.replies.push({ rule: "SYN-ACK", forms: [{ flags: "S.", seq: 0, ack: this.rcvNxt, length: 0 }] })
      }
      return
    }
    e.rules.push("§3.10.7.3 fifth: neither SYN nor RST: drop")
  }

  /** RCV.NXT =< seq < RCV.NXT + RCV.WND, for a segment's first or last octet (§3.10.7.4's table). */
  private acceptable(seq: number, segLen: number): boolean {
    const inWindow = (n: number): boolean => n >= this.rcvNxt && n < this.rcvNxt + this.params.receiveWindow
    return segLen === 0 ? inWindow(seq) : inWindow(seq) || inWindow(seq + segLen - 1)
  }

  /** §3.10.7.4 SYN-RECEIVED and the synchronized states. */
  private otherArrives(seg: PeerSegment, e: Expectation): void {
    const f = seg.flags
    const syn = has(f, "S")
    const rst = has(f, "R")
    const fin = has(f, "F")
    const segLen = seg.length + (syn ? 1 : 0) + (fin ? 1 : 0)
    const state = this.state
    const synchronized = isSynchronizedState(state)
    // RFC 9293 §3.10.7.4 fourth: in SYN-RECEIVED from an active OPEN, a SYN is handled as in the synchronized states.
    const activeSynReceived = state === "SYN-RECEIVED" && this.origin === "active"

    // Simultaneous open, the SYN-ACKs crossing (§3.5 figure 8 line 6): the peer's SYN-ACK repeats its SYN at IRS and
    // acknowledges ours. Taken as the handshake's ACK (Linux); the only form the test sends is bare.
    if (activeSynReceived && has(f, "S") && has(f, ".") && !rst && !fin && seg.length === 0 && seg.seq === 0 &&
      seg.ack > this.sndUna && seg.ack <= this.sndNxt) {
      e.rules.push("simultaneous open, SYN-ACKs crossing: SEG.SEQ = IRS, SND.UNA < SEG.ACK =< SND.NXT: ESTABLISHED, nothing sent (Linux)")
      this.sndUna = seg.ack
      this.state = "ESTABLISHED"
      this.opened = true
      return
    }

    // First, check the sequence number.
    if (!this.acceptable(seg.seq, segLen)) {
      if (rst) {
        e.rules.push("§3.10.7.4 first (RFC 5961 §3.2 (1)): RST outside the window: drop silently")
      } else if (syn && (synchronized || activeSynReceived)) {
        e.rules.push(`§3.10.7.4 fourth (RFC 5961 §4.2): SYN in ${synchronized ? "a synchronized state" : "SYN-RECEIVED (active)"}, whatever its SEQ: challenge ACK`)
        e.replies.push(this.ackReply("challenge ACK"))
      } else {
        e.rules.push("§3.10.7.4 first: unacceptable segment: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, drop")
        e.replies.push(
          state === "SYN-RECEIVED"
            // Our SYN is unacknowledged: the ACK may come with it, as the SYN-ACK retransmitted.
            ? { rule: "ACK", forms: [{ flags: ".", seq: this.sndNxt, ack: this.rcvNxt, length: 0 }, { flags: "S.", seq: 0, ack: this.rcvNxt, length: 0 }] }
            : this.ackReply("ACK")
        )
        if (state === "TIME-WAIT" && fin) {
          e.rules.push("§3.10.7.4 TIME-WAIT: a retransmission of the remote FIN: acknowledge it, restart the 2 MSL timeout")
          this.timeWaitUntil = this.now + this.params.timeWait
        }
      }
      return
    }

    // Second, check the RST bit.
    if (rst) {
      if (state === "TIME-WAIT") {
        e.rules.push("RFC 1337 §3 (F1): TIME-WAIT ignores RST segments")
        return
      }
      if (seg.seq !== this.rcvNxt) {
        e.rules.push("§3.10.7.4 second (RFC 5961 §3.2 (3)): RST in the window, not at RCV.NXT: challenge ACK, drop")
        e.replies.push(this.ackReply("challenge ACK"))
        return
      }
      switch (state) {
        case "SYN-RECEIVED":
          if (this.origin === "passive") {
            e.rules.push("§3.10.7.4 second: RST in SYN-RECEIVED from a passive OPEN: return to LISTEN")
            this.deleteTcb(undefined)
          } else {
            e.rules.push("§3.10.7.4 second: RST in SYN-RECEIVED from an active OPEN: \"connection refused\", CLOSED")
            this.deleteTcb("connection-refused")
          }
          return
        case "CLOSING":
        case "LAST-ACK":
          e.rules.push(`§3.10.7.4 second: RST in ${state}: CLOSED`)
          this.deleteTcb(undefined)
          return
        default:
          e.rules.push(`§3.10.7.4 second: RST at RCV.NXT in ${state}: "connection reset", CLOSED`)
          this.deleteTcb("connection-reset")
          return
      }
    }

    // Fourth, check the SYN bit.
    if (syn) {
      if (state === "SYN-RECEIVED" && this.origin === "passive") {
        e.rules.push("§3.10.7.4 fourth: SYN in SYN-RECEIVED from a passive OPEN: return to LISTEN")
        this.deleteTcb(undefined)
        return
      }
      e.rules.push(`§3.10.7.4 fourth (RFC 5961 §4.2): SYN in ${synchronized ? "a synchronized state" : "SYN-RECEIVED (active)"}: challenge ACK, drop`)
      e.replies.push(this.ackReply("challenge ACK"))
      return
    }

    // Fifth, check the ACK field.
    if (!has(f, ".")) {
      e.rules.push("§3.10.7.4 fifth: ACK bit off: drop")
      return
    }
    if (state === "SYN-RECEIVED") {
      if (!(seg.ack > this.sndUna && seg.ack <= this.sndNxt)) {
        e.rules.push("§3.10.7.4 fifth: SYN-RECEIVED, unacceptable ACK: <SEQ=SEG.ACK><CTL=RST>")
        e.replies.push(this.resetForAck(seg, "RST"))
        return
      }
      e.rules.push("§3.10.7.4 fifth: SYN-RECEIVED, SND.UNA < SEG.ACK =< SND.NXT: ESTABLISHED")
      this.state = "ESTABLISHED"
      this.opened = true
    }
    if (seg.ack > this.sndNxt || seg.ack < this.sndUna - this.params.peerWindow) {
      e.rules.push("§3.10.7.4 fifth (RFC 5961 §5.2): SEG.ACK outside [SND.UNA − MAX.SND.WND, SND.NXT]: challenge ACK, drop")
      e.replies.push(this.ackReply("challenge ACK"))
      return
    }
    if (seg.ack > this.sndUna) this.sndUna = seg.ack
    if (!this.opened && this.sndUna > 0) {
      // After a CLOSE in SYN-RECEIVED: FIN-WAIT-1 (or CLOSING) takes the ACK of our SYN as ESTABLISHED would.
      e.rules.push(`§3.10.7.4 fifth: ${this.state}, our SYN acknowledged: the open completes (connect returns)`)
      this.opened = true
    }
    // Duplicate and partial ACKs may set off fast retransmit (RFC 5681 §3.2, RFC 6582): inside [SND.UNA, SND.NXT).
    if (this.outstanding) e.retransmitMay = true
    switch (this.state) {
      case "FIN-WAIT-1":
        if (this.finAcked) {
          e.rules.push("§3.10.7.4 fifth: FIN-WAIT-1, our FIN acknowledged: FIN-WAIT-2")
          this.enterFinWait2()
        }
        break
      case "CLOSING":
        if (this.finAcked) {
          e.rules.push("§3.10.7.4 fifth: CLOSING, our FIN acknowledged: TIME-WAIT")
          this.enterTimeWait()
        } else {
          e.rules.push("§3.10.7.4 fifth: CLOSING, our FIN not acknowledged: ignore the segment")
        }
        return
      case "LAST-ACK":
        if (this.finAcked) {
          e.rules.push("§3.10.7.4 fifth: LAST-ACK, our FIN acknowledged: delete the TCB, CLOSED")
          this.deleteTcb(undefined)
          return
        }
        break
      case "TIME-WAIT":
        if (fin) {
          e.rules.push("§3.10.7.4 fifth: TIME-WAIT, the remote FIN again: acknowledge it, restart the 2 MSL timeout")
          e.ackNow = true
          this.timeWaitUntil = this.now + this.params.timeWait
        } else {
          e.rules.push("§3.10.7.4 fifth: TIME-WAIT: nothing else can arrive")
        }
        return
      default:
        break
    }

    // Seventh, process the segment text.
    if (seg.length > 0) {
      const takesData = this.state === "ESTABLISHED" || this.state === "FIN-WAIT-1" || this.state === "FIN-WAIT-2"
      if (!takesData) {
        e.rules.push(`§3.10.7.4 seventh: text in ${this.state} (the FIN was received): ignore it`)
      } else if (this.closed) {
        e.rules.push("RFC 1122 §4.2.2.13 / RFC 9293 §3.6: new data after CLOSE: RST to show it was lost")
        e.replies.push(this.resetAtSndNxt("RST for data after CLOSE"))
        this.deleteTcb("connection-reset")
        return
      } else {
        this.takeData(seg, e)
      }
    }

    // Eighth, check the FIN bit (taken once in order: the text before it was all taken).
    if (fin && seg.seq + seg.length === this.rcvNxt && !this.finReceived) {
      this.rcvNxt += 1
      this.finReceived = true
      e.ackNow = true
      switch (this.state) {
        case "ESTABLISHED":
          e.rules.push("§3.10.7.4 eighth: FIN in ESTABLISHED: acknowledge it, CLOSE-WAIT")
          this.state = "CLOSE-WAIT"
          break
        case "FIN-WAIT-1":
          if (this.finAcked) {
            e.rules.push("§3.10.7.4 eighth: FIN in FIN-WAIT-1, our FIN acknowledged: TIME-WAIT")
            this.enterTimeWait()
          } else {
            e.rules.push("§3.10.7.4 eighth: FIN in FIN-WAIT-1, our FIN not acknowledged: CLOSING")
            this.state = "CLOSING"
          }
          break
        case "FIN-WAIT-2":
          e.rules.push("§3.10.7.4 eighth: FIN in FIN-WAIT-2: TIME-WAIT")
          this.enterTimeWait()
          break
        default:
          e.rules.push(`§3.10.7.4 eighth: FIN in ${this.state}: remain`)
          break
      }
    }
  }

  /**
   * §3.10.7.4 seventh: the part of the text at or past RCV.NXT; in order, it
   * moves RCV.NXT (and over any held data it reaches); out of order, it is
   * held. An ACK: at once for out-of-order data and for data that fills a
   * gap (RFC 5681 §4.2), otherwise owed (it may be delayed).
   */
  private takeData(seg: PeerSegment, e: Expectation): void {
    const from = Math.max(seg.seq, this.rcvNxt)
    const to = seg.seq + seg.length
    if (to <= this.rcvNxt) {
      e.rules.push("§3.10.7.4 seventh: no new text (only the FIN is new)")
      return
    }
    if (from > this.rcvNxt) {
      e.rules.push(`§3.10.7.4 seventh: out-of-order text [${from}, ${to}): held; RFC 5681 §4.2: immediate duplicate ACK`)
      this.ooo.push([from, to])
      e.ackNow = true
      return
    }
    const gap = this.ooo.length > 0
    const before = this.rcvNxt
    this.rcvNxt = to
    for (let merged = true; merged;) {
      merged = false
      for (const [a, b] of this.ooo) {
        if (a <= this.rcvNxt) {
          this.rcvNxt = Math.max(this.rcvNxt, b)
          merged = true
        }
      }
      this.ooo = this.ooo.filter(([a]) => a > this.rcvNxt)
    }
    this.unread += this.rcvNxt - before
    if (gap) {
      e.rules.push(`§3.10.7.4 seventh: text [${from}, ${to}) in order, RCV.NXT → ${this.rcvNxt}; RFC 5681 §4.2: it fills a gap: ACK at once`)
      e.ackNow = true
    } else {
      e.rules.push(`§3.10.7.4 seventh: text [${from}, ${to}) in order, RCV.NXT → ${this.rcvNxt}: ACK owed (may be delayed)`)
      this.ackOwed = true
      e.ackMay = true
    }
  }
}
