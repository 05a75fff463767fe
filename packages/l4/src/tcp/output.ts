/**
 * Sending (Linux `tcp_output.c`): building a segment — a header in a small
 * pooled buffer, the data as fragments of the send buffer's pages, the
 * checksum left partial for the NIC — and deciding what to send.
 *
 * `pushData` is `tcp_write_xmit`: while the peer's window (RFC 9293
 * §3.8.6), the congestion window (RFC 5681) and Nagle's rule (RFC 9293
 * §3.7.4, RFC 1122 §4.2.3.4) allow, it sends the next bytes, as one TSO/GSO
 * super-packet of up to 64 KiB cut into MSS-sized segments by the device
 * (or the driver's software GSO), then the FIN once the data is out.
 */
import { ipv4PseudoHeaderSum, PacketBuffer } from "@netstack/buffers"
import { IPV4_HEADROOM, type SendError } from "@netstack/l3"
import { TcpFlags } from "@netstack/wire"
import type { TcpHost } from "./context.ts"
import type { SackBlock } from "./receive-buffer.ts"
import { flagNames, pushHeader, type SegmentOptions, segmentOptionsLength, type SynOptions } from "./segment.ts"
import { seqAdd, seqDiff, seqGt, seqLt, seqMax } from "./seq.ts"
import { type Tcb } from "./tcb.ts"
import { selectWindow, sendWindowRoom } from "./window.ts"

/** Room in front of a segment's header: IPv4 and link headers, and the largest TCP header. */
export const HEADER_HEADROOM = IPV4_HEADROOM + 60

/** The largest GSO super-packet: an IPv4 datagram's worth of data. */
const MAX_GSO_BYTES = 65535 - 20 - 60

/** Bytes of options every non-SYN segment carries with timestamps (NOP, NOP, TS). */
export const TIMESTAMP_OPTION_BYTES = 12

const ACK = TcpFlags.ack
const NO_SACK: ReadonlyArray<SackBlock> = []

/** Our TSval now (RFC 7323 §3: a clock in milliseconds, plus the connection's random offset §5.4). */
export const tsNow = (tcb: Tcb): number => (Math.floor(tcb.host.timers.now() / 1000) + tcb.tsOffset) >>> 0

/** A buffer with room for every header and no data, from the host's pool (or the heap when the pool is dry). */
export const headerBuffer = (host: TcpHost): PacketBuffer => {
  const pooled = host.headers.acquire()
  const packet = pooled instanceof PacketBuffer ? pooled : PacketBuffer.alloc(HEADER_HEADROOM)
  packet.reserve(HEADER_HEADROOM)
  return packet
}

/** The options of a non-SYN segment: timestamps if agreed, SACK blocks if any (RFC 2018 §4: at most 3 with timestamps). */
const segmentOptions = (tcb: Tcb, withSack: boolean): SegmentOptions | undefined => {
  const outOfOrder = tcb.outOfOrder
  let sack = NO_SACK
  if (withSack && tcb.sack && outOfOrder !== undefined) {
    sack = outOfOrder.sackBlocks(tcb.timestamps ? 3 : 4)
    tcb.releaseReassembly() // the gap filled and the D-SACK reported: nothing more to say
  }
  if (!tcb.timestamps && sack.length === 0) return undefined
  return { tsVal: tcb.timestamps ? tsNow(tcb) : undefined, tsEcr: tcb.tsRecent, sack }
}

/**
 * Sends `packet` (data, possibly none, already attached) as a segment
 * starting at `seq` with `flags`, our ACK and window, and `options`; hands it
 * to IPv4 with DF set (path MTU discovery, RFC 1191 §3). Returns the send
 * error, if any (the packet is gone either way).
 */
const emit = (
  tcb: Tcb,
  packet: PacketBuffer,
  seq: number,
  flags: number,
  options: SegmentOptions | SynOptions | undefined
): SendError | undefined => {
  const host = tcb.host
  const syn = (flags & TcpFlags.syn) !== 0
  const withAck = (flags & ACK) !== 0
  const window = selectWindow(tcb, syn)
  pushHeader(
    packet,
    {
      sourcePort: tcb.localPort,
      destinationPort: tcb.remotePort,
      seq,
      ack: withAck ? tcb.rcvNxt : 0,
      flags,
      window
    },
    options,
    ipv4PseudoHeaderSum(tcb.localAddress, tcb.remoteAddress, 6, 0)
  )
  if (withAck) {
    // This segment acknowledges everything received: no delayed ACK is owed (RFC 9293 §3.8.6.3).
    tcb.lastAckSent = tcb.rcvNxt
    tcb.unackedBytes = 0
    tcb.delayedAckTimer.stop()
  }
  host.stats.OutSegs++
  if (host.trace.enabled) host.trace.record("tcp-out", packet, tcb.toString(), `${flagNames(flags)} seq ${seq >>> 0}`)
  const error = host.ipv4.send(packet, {
    destination: tcb.remoteAddress,
    source: tcb.localAddress,
    protocol: 6,
    ttl: tcb.ttl,
    dontFragment: true
  })
  if (error !== undefined) onSendError(tcb, error)
  return error
}

/** A send refused by IPv4: a smaller path MTU lowers the MSS (RFC 1191 §6.4); anything else is a soft error. */
const onSendError = (tcb: Tcb, error: SendError): void => {
  if (error.reason === "message-too-big" && error.mtu !== undefined) lowerMss(tcb, error.mtu)
}

/** Lowers the MSS for a path MTU of `mtu` (RFC 1191 §6.4, RFC 9293 §3.7.2); the congestion window keeps its bytes. */
export const lowerMss = (tcb: Tcb, mtu: number): boolean => {
  const mss = Math.max(mtu - 40 - (tcb.timestamps ? TIMESTAMP_OPTION_BYTES : 0), 88)
  if (mss >= tcb.mss) return false
  tcb.mss = mss
  tcb.cc?.setMss(mss)
  return true
}

/**
 * Sends the data segment `[seq, seq + length)` of the send buffer (a GSO
 * super-packet when longer than the MSS) with `flags`. `length` may be 0 for
 * a bare FIN. Returns false when the data could not be attached.
 */
export const transmit = (tcb: Tcb, seq: number, length: number, flags: number): boolean => {
  const packet = headerBuffer(tcb.host)
  if (length > 0) {
    let attached = true
    tcb.send.runs(tcb.bufferOffset(seq), length, (run) => {
      if (packet.addFragment(run.storage, run.offset, run.length) !== undefined) attached = false
    })
    if (!attached || packet.length !== length) {
      packet.release()
      return false
    }
  }
  const options = segmentOptions(tcb, true)
  // SACK blocks on a data segment take room from its data (Linux `tcp_current_mss`): MSS counts the
  // timestamps only (RFC 9293 §3.7.1: the MSS excludes options), and the segment must fit the path MTU.
  const optionBytes = options === undefined ? 0 : segmentOptionsLength(options)
  const segmentMss = tcb.mss + (tcb.timestamps ? TIMESTAMP_OPTION_BYTES : 0) - optionBytes
  if (length > segmentMss) {
    packet.meta.gsoType = "tcpv4"
    packet.meta.gsoSize = segmentMss
    packet.meta.gsoSegments = Math.ceil(length / segmentMss)
  }
  if (length > 0) {
    // Charged to the connection until the driver lets the segment go (TCP small queues, see `pushData`).
    packet.meta.txOwner = tcb
    packet.meta.txCharge = length
    tcb.queuedBytes += length
  }
  const retransmission = seqLt(seq, tcb.sndMax)
  if (retransmission) {
    tcb.host.stats.RetransSegs += Math.max(1, Math.ceil(length / tcb.mss))
    // Karn's rule (RFC 6298 §3): a retransmitted segment is not timed.
    if (tcb.rtSeq !== undefined && !seqLt(tcb.rtSeq, seq)) tcb.rtSeq = undefined
  } else if (tcb.rtSeq === undefined && length > 0) {
    tcb.rtSeq = seq
    tcb.rtTime = tcb.host.timers.now()
  }
  const end = seqAdd(seq, length + ((flags & TcpFlags.fin) !== 0 ? 1 : 0))
  tcb.sndMax = seqMax(tcb.sndMax, end)
  tcb.lastSend = tcb.host.timers.now()
  if (tcb.unackedSince === undefined) tcb.unackedSince = tcb.lastSend
  // RFC 6298 §5.1: the timer runs once data is sent. Armed before the segment leaves: its ACK may be taken before
  // `emit` returns (see `transmitNext`) and stop it (§5.2), which arming afterwards would undo.
  if (!tcb.retransmitTimer.armed) tcb.retransmitTimer.arm(tcb.rtt.rto)
  emit(tcb, packet, seq, flags | ACK, options)
  return true
}

/**
 * Sends the next `length` bytes of the send buffer from SND.NXT (and the
 * FIN, when `flags` has it) and advances SND.NXT past them — before the
 * segment goes down, as `tcp_event_new_data_sent` does before Linux's
 * `tcp_transmit_skb` returns. Below TCP every step may run to its end at
 * once: over an in-process wire the segment reaches the peer, and the
 * peer's ACK comes back through this host's NAPI poll and TCP input, while
 * `emit` is still on the stack (Linux would hold that ACK on the socket's
 * backlog). That ACK sets SND.UNA, and SND.NXT if it lies below (RFC 9293
 * §3.10.7.4); SND.NXT advanced afterwards from where the ACK left it would
 * pass SND.MAX and the end of the data, and the connection would stall
 * with nothing to send, nothing in flight and its FIN never due. A
 * `pushData` nested in that input resumes at the new SND.NXT too, instead
 * of sending this segment a second time. False (SND.NXT unchanged) when the
 * data could not be attached.
 */
export const transmitNext = (tcb: Tcb, length: number, flags: number): boolean => {
  const seq = tcb.sndNxt
  // RFC 9293 §3.3.1: SND.NXT is the next sequence number to send; the segment takes [seq, seq + length (+ FIN)).
  tcb.sndNxt = seqAdd(seq, length + ((flags & TcpFlags.fin) !== 0 ? 1 : 0))
  if (transmit(tcb, seq, length, flags)) return true
  tcb.sndNxt = seq // nothing left: `transmit` refuses before it emits, so no ACK can have moved it
  return false
}

/**
 * Sends a bare ACK now (with SACK blocks when out-of-order data is queued).
 * Its sequence number is SND.MAX, RFC 9293's SND.NXT: a timeout here moves
 * `sndNxt` back to SND.UNA to resend from there (go-back-N), which RFC 9293
 * never does, and the peer may have received up to SND.MAX already. An ACK
 * carrying the rewound number would be unacceptable there (§3.10.7.4: below
 * RCV.NXT), its acknowledgment ignored — and when both ends are retransmitting
 * after timeouts, each would ignore the other's ACKs for good. Linux sends
 * `tcp_acceptable_seq`, its never-rewound `snd_nxt`.
 */
export const sendAck = (tcb: Tcb): void => {
  emit(tcb, headerBuffer(tcb.host), tcb.sndMax, ACK, segmentOptions(tcb, true))
}

/**
 * Sends a segment the peer must answer with an ACK but cannot take as data:
 * sequence SND.UNA − 1 (Linux `tcp_xmit_probe_skb`), for zero-window probes
 * (RFC 9293 §3.8.6.1) and keepalives (RFC 1122 §4.2.3.6).
 */
export const sendProbe = (tcb: Tcb): void => {
  emit(tcb, headerBuffer(tcb.host), seqAdd(tcb.sndUna, -1), ACK, segmentOptions(tcb, false))
}

/** The SYN options this host offers or accepts (RFC 9293 §3.7.1 MSS; RFC 7323 §2-3; RFC 2018 §2). */
const synOptions = (tcb: Tcb, echo: number): SynOptions => ({
  mss: tcb.rcvMss,
  wscale: tcb.state === "SYN-SENT" ? (tcb.host.settings.windowScaling ? tcb.rcvWscale : undefined) : tcb.windowScaling ? tcb.rcvWscale : undefined,
  sackPermitted: tcb.host.settings.sack && (tcb.state === "SYN-SENT" || tcb.sack),
  timestamps: tcb.host.settings.timestamps && (tcb.state === "SYN-SENT" || tcb.timestamps)
    ? { value: tsNow(tcb), echo }
    : undefined
})

/** Sends our SYN (SYN-SENT) or SYN-ACK (SYN-RECEIVED). */
export const sendSyn = (tcb: Tcb): void => {
  const synAck = tcb.state !== "SYN-SENT" // SYN-RECEIVED, or FIN-WAIT-1 after a CLOSE there
  if (seqGt(tcb.sndMax, tcb.iss)) tcb.host.stats.RetransSegs++
  tcb.sndMax = seqMax(tcb.sndMax, seqAdd(tcb.iss, 1))
  tcb.sndNxt = tcb.sndMax
  tcb.lastSend = tcb.host.timers.now()
  emit(tcb, headerBuffer(tcb.host), tcb.iss, synAck ? TcpFlags.syn | ACK : TcpFlags.syn, synOptions(tcb, synAck ? tcb.tsRecent : 0))
  if (!tcb.retransmitTimer.armed) tcb.retransmitTimer.arm(tcb.rtt.rto)
}

/** Sends RST (with ACK) for an aborted connection (RFC 9293 §3.10.5 ABORT: `<SEQ=SND.NXT><CTL=RST>`; SND.MAX, see `sendAck`). */
export const sendReset = (tcb: Tcb): void => {
  tcb.host.stats.OutRsts++
  emit(tcb, headerBuffer(tcb.host), tcb.sndMax, TcpFlags.rst | ACK, undefined)
}

/**
 * `tcp_write_xmit`: sends what the windows allow, then the FIN if due.
 * Returns whether the congestion window was the limit (for RFC 7661's
 * cwnd-limited test).
 */
export const pushData = (tcb: Tcb): boolean => {
  const state = tcb.state
  if (state !== "ESTABLISHED" && state !== "CLOSE-WAIT" && !(tcb.finQueued && (state === "FIN-WAIT-1" || state === "LAST-ACK" || state === "CLOSING"))) {
    return false
  }
  const cc = tcb.cc
  if (cc === undefined) {
    // Before the handshake completed (CLOSE in SYN-RECEIVED, RFC 9293 §3.10.4): no data, but the FIN goes now.
    if (tcb.unsent === 0 && tcb.finDue) transmitNext(tcb, 0, TcpFlags.fin)
    return false
  }
  const mss = tcb.mss
  let cwndLimited = false
  for (;;) {
    skipSacked(tcb)
    const unsent = tcb.unsent
    if (unsent === 0) {
      // RFC 9293 §3.10.4: after the data, the FIN (it needs no window: Linux `tcp_send_fin`).
      if (tcb.finDue) transmitNext(tcb, 0, TcpFlags.fin)
      break
    }
    const windowRoom = sendWindowRoom(tcb)
    const cwndRoom = cc.cwnd - flightSize(tcb)
    if (cwndRoom <= 0) {
      cwndLimited = true
      break
    }
    if (windowRoom <= 0) {
      // A zero window with nothing in flight: only the persist timer gets the window reopened (RFC 9293 §3.8.6.1).
      if (tcb.inFlight === 0) armPersist(tcb)
      break
    }
    // Whole segments, as many as cwnd allows (Linux counts cwnd in segments: `tcp_cwnd_test`).
    const cwndBytes = Math.max(mss, Math.ceil(cwndRoom / mss) * mss)
    let length = Math.min(unsent, windowRoom, cwndBytes, superPacketBytes(tcb))
    const retransmitting = seqLt(tcb.sndNxt, tcb.sndMax)
    if (retransmitting) length = Math.min(length, seqDiff(tcb.sndMax, tcb.sndNxt), nextSackedEdge(tcb) ?? length)
    else if (tcb.queuedBytes > outputLimit(tcb)) {
      // TCP small queues (Linux `tcp_small_queue_check`): with this much of its data still in the qdisc and the
      // device's ring, new data waits until segments complete (`Tcb.txDone`), so the queues below TCP stay short
      // and the data is sent while it is still in the cache. Something is queued, so a completion will come.
      tcb.tsqThrottled = true
      break
    }
    if (length < mss && length < unsent && !retransmitting) {
      // Sender SWS avoidance (RFC 9293 §3.8.6.2.1): a partial segment only when it is all the data, or nothing is in
      // flight (the "override" case), or the window is at least half the largest the peer offered.
      if (tcb.inFlight > 0 && windowRoom < tcb.maxSndWnd / 2) break
    }
    const nagle = length === unsent && tcb.inFlight > 0 && !tcb.noDelay && !tcb.finQueued && !retransmitting
    if (nagle && length < mss) {
      break // Nagle: a small segment waits for the outstanding data's ACK (RFC 9293 §3.7.4)
    }
    // The same rule for the last segment of a super-packet: its full segments go, a partial one at the end
    // waits (Linux `tcp_mss_split_point`), as it would have sent alone.
    if (nagle && length % mss !== 0) length -= length % mss
    const last = length === unsent
    const fin = last && tcb.finQueued
    if (!transmitNext(tcb, length, (last ? TcpFlags.psh : 0) | (fin ? TcpFlags.fin : 0))) break
  }
  return cwndLimited || flightSize(tcb) >= cc.cwnd
}

/** Bytes in flight for the congestion window: the SACK pipe in recovery (RFC 6675 §4), else SND.NXT − SND.UNA. */
export const flightSize = (tcb: Tcb): number => {
  const scoreboard = tcb.scoreboard
  if (tcb.inRecovery && scoreboard !== undefined) {
    return scoreboard.pipe(tcb.sndUna, tcb.sndMax, tcb.highRxt, tcb.mss)
  }
  return tcb.inFlight
}

/** How much one super-packet carries: as much as fits an IPv4 datagram, in whole segments. */
const superPacketBytes = (tcb: Tcb): number => Math.max(tcb.mss, Math.floor(MAX_GSO_BYTES / tcb.mss) * tcb.mss)

/** TCP small queues: the data one connection may have below TCP, `limitOutputBytes` but at least two super-packets. */
export const outputLimit = (tcb: Tcb): number => Math.max(tcb.host.settings.limitOutputBytes, 2 * superPacketBytes(tcb))

/** After a timeout SND.NXT goes back to SND.UNA: don't resend what the peer SACKed (Linux `tcp_mark_head_lost`). */
const skipSacked = (tcb: Tcb): void => {
  const scoreboard = tcb.scoreboard
  if (scoreboard === undefined || !seqLt(tcb.sndNxt, tcb.sndMax)) return
  for (const block of scoreboard.blocks()) {
    if (!seqLt(tcb.sndNxt, block.left) && seqLt(tcb.sndNxt, block.right)) tcb.sndNxt = block.right
  }
}

/** Bytes from SND.NXT to the next SACKed block, if any (a retransmission stops there). */
const nextSackedEdge = (tcb: Tcb): number | undefined => {
  const scoreboard = tcb.scoreboard
  if (scoreboard === undefined) return undefined
  for (const block of scoreboard.blocks()) {
    if (seqGt(block.left, tcb.sndNxt)) return seqDiff(block.left, tcb.sndNxt)
  }
  return undefined
}

/** Arms the persist timer (the retransmission timer in probe mode), if nothing else runs it. */
export const armPersist = (tcb: Tcb): void => {
  if (tcb.retransmitTimer.armed) return
  tcb.retransmitTimer.arm(tcb.rtt.rto)
}
