/**
 * SEGMENT ARRIVES (RFC 9293 §3.10.7) for a connection past LISTEN: the
 * SYN-SENT rules (§3.10.7.3) and, for every other state, the eight steps of
 * §3.10.7.4 — sequence number check (with PAWS, RFC 7323 §5), RST (with RFC
 * 5961 §3's exact-match rule and challenge ACKs), SYN (RFC 5961 §4), ACK
 * (RFC 5961 §5's window and the state changes it causes), data, FIN — then
 * the ACK this segment calls for (RFC 9293 §3.8.6.3: at once for
 * out-of-order data, every second full segment, or a FIN; otherwise delayed)
 * and whatever the new windows let us send.
 */
import type { PacketBuffer } from "@netstack/buffers"
import { TcpFlags } from "@netstack/wire"
import { Latch } from "effect"
import { done, enterTimeWait, established } from "./lifecycle.ts"
import { lowerMss, pushData, sendAck, sendReset, sendSyn, TIMESTAMP_OPTION_BYTES } from "./output.ts"
import { processAck } from "./recovery.ts"
import { type Segment } from "./segment.ts"
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt } from "./seq.ts"
import { TcpError } from "./settings.ts"
import { isSynchronized, type Tcb, type TcpState } from "./tcb.ts"
import { receiveWindow } from "./window.ts"

const SYN = TcpFlags.syn
const ACK = TcpFlags.ack
const RST = TcpFlags.rst
const FIN = TcpFlags.fin

/** The state now (read again after a call that may have changed it; TypeScript's narrowing cannot know). */
const stateOf = (tcb: Tcb): TcpState => tcb.state

/** RFC 7323 §5.5: a TS.Recent idle for 24 days is too old to reject anything with. */
const PAWS_IDLE_LIMIT = 24 * 24 * 3600 * 1_000_000

/** RFC 7323 §2.3: a shift above 14 is used as 14. */
const MAX_WSCALE = 14

/** RFC 9293 §3.7.1: the MSS assumed when the peer sends none. */
export const DEFAULT_MSS = 536

/** What the caller should do with a segment `segmentArrives` could not use. */
export type ArrivalResult = "consumed" | "reset-sent"

/**
 * Processes `seg` (its bytes in `packet`, which this function releases) for
 * `tcb` in any state but LISTEN and CLOSED.
 */
export const segmentArrives = (tcb: Tcb, seg: Segment, packet: PacketBuffer): void => {
  const now = tcb.host.timers.now()
  tcb.lastReceive = now
  tcb.keepaliveProbes = 0
  if (tcb.state === "SYN-SENT") synSent(tcb, seg, packet)
  else synchronizedOrReceived(tcb, seg, packet, now)
  packet.release()
}

// ------------------------------------------------------------------ options agreed in the handshake

/**
 * Takes the peer's SYN options (RFC 9293 §3.7.1 MSS; RFC 7323 §2.2 Window
 * Scale, §3.2 Timestamps: each used only if both sides sent it; RFC 2018
 * §2 SACK-Permitted) and sets the sending MSS: the peer's, limited by our
 * path MTU, less the timestamps option every segment will carry.
 */
export const acceptSynOptions = (tcb: Tcb, seg: Segment, pathMtu: number): void => {
  const settings = tcb.host.settings
  // Window scaling only when both sides sent the option (RFC 7323 §2.2); we always offer it when enabled.
  tcb.windowScaling = settings.windowScaling && seg.wscale >= 0
  if (tcb.windowScaling) {
    tcb.sndWscale = Math.min(seg.wscale, MAX_WSCALE)
  } else {
    tcb.sndWscale = 0
    tcb.rcvWscale = 0
  }
  tcb.timestamps = settings.timestamps && seg.hasTimestamps
  if (tcb.timestamps) {
    tcb.tsRecent = seg.tsVal
    tcb.tsRecentAge = tcb.host.timers.now()
  }
  tcb.sack = settings.sack && seg.sackPermitted
  const peerMss = seg.mss > 0 ? seg.mss : DEFAULT_MSS
  tcb.mss = Math.max(88, Math.min(peerMss, pathMtu - 40) - (tcb.timestamps ? TIMESTAMP_OPTION_BYTES : 0))
}

/** The peer's window from a segment, scaled (a SYN's is never scaled, RFC 7323 §2.2). */
const peerWindow = (tcb: Tcb, seg: Segment): number =>
  (seg.flags & SYN) !== 0 ? seg.window : seg.window * 2 ** tcb.sndWscale

/** Records the send window from `seg` (RFC 9293 §3.10.7.4: SND.WND, SND.WL1, SND.WL2). */
const takeWindow = (tcb: Tcb, seg: Segment): void => {
  tcb.sndWnd = peerWindow(tcb, seg)
  tcb.sndWl1 = seg.seq
  tcb.sndWl2 = seg.ack
  if (tcb.sndWnd > tcb.maxSndWnd) tcb.maxSndWnd = tcb.sndWnd
}

// ------------------------------------------------------------------ SYN-SENT (RFC 9293 §3.10.7.3)

const synSent = (tcb: Tcb, seg: Segment, packet: PacketBuffer): void => {
  const flags = seg.flags
  // First, the ACK: it must acknowledge our SYN and nothing more.
  const hasAck = (flags & ACK) !== 0
  if (hasAck && (seqLe(seg.ack, tcb.iss) || seqGt(seg.ack, tcb.sndMax))) {
    if ((flags & RST) === 0) resetFor(tcb, seg)
    return
  }
  // Second, RST: only with an acceptable ACK (RFC 5961 §3.2 keeps this rule for SYN-SENT).
  if ((flags & RST) !== 0) {
    if (hasAck) done(tcb, new TcpError({ reason: "connection-refused", detail: tcb.toString() }))
    return
  }
  if ((flags & SYN) === 0) return
  // Fourth, SYN.
  tcb.irs = seg.seq
  tcb.rcvNxt = seqAdd(seg.seq, 1)
  acceptSynOptions(tcb, seg, tcb.host.ipv4.pathMtuTo(tcb.remoteAddress))
  if (hasAck) {
    tcb.sndUna = seg.ack
    tcb.synAcked = true
    tcb.retransmitTimer.stop()
    tcb.rtt.acknowledged()
    // Karn's rule: the handshake is timed only when the SYN went once.
    if (tcb.retransmits === 0) tcb.rtt.sample(tcb.host.timers.now() - tcb.lastSend)
    else tcb.rtt.handshakeRetransmitted()
    tcb.rcvAdv = seqAdd(tcb.rcvNxt, Math.min(0xffff, tcb.receive.free)) // what our SYN offered
    takeWindow(tcb, seg)
    setupSack(tcb)
    established(tcb)
    // Data (rare) in the SYN-ACK is taken like any in-order data.
    if (seg.length > 0) acceptData(tcb, seg, packet)
    sendAck(tcb)
    pushData(tcb)
    return
  }
  // A SYN without ACK: simultaneous open (RFC 9293 §3.5, figure 8).
  tcb.state = "SYN-RECEIVED"
  tcb.retransmitTimer.stop()
  takeWindow(tcb, seg)
  sendSyn(tcb)
}

/** Makes the SACK scoreboard when SACK was agreed. */
export const setupSack = (tcb: Tcb): void => {
  if (tcb.sack && tcb.scoreboard === undefined) tcb.scoreboard = tcb.host.makeScoreboard()
}

// ------------------------------------------------------------------ the other states (RFC 9293 §3.10.7.4)

/** RFC 9293 §3.10.7.4's acceptability table, against the window we advertised. */
const acceptable = (tcb: Tcb, seq: number, length: number): boolean => {
  const window = receiveWindow(tcb)
  const rcvNxt = tcb.rcvNxt
  if (length === 0) return window === 0 ? seq === rcvNxt : seqGe(seq, rcvNxt) && seqLt(seq, seqAdd(rcvNxt, window))
  if (window === 0) return false
  const end = seqAdd(rcvNxt, window)
  return (seqGe(seq, rcvNxt) && seqLt(seq, end)) || (seqGe(seqAdd(seq, length - 1), rcvNxt) && seqLt(seqAdd(seq, length - 1), end))
}

/** RFC 5961 §3.2/§4.2/§5.2: an ACK that makes the peer prove it is in the window. */
const challengeAck = (tcb: Tcb): void => {
  tcb.host.stats.TCPChallengeACK++
  sendAck(tcb)
}

/** RFC 5961 §4.2: a SYN in a synchronized state, in the window or not, gets a challenge ACK (Linux `syn_challenge`). */
const synChallenge = (tcb: Tcb): void => {
  tcb.host.stats.TCPSYNChallenge++
  challengeAck(tcb)
}

const synchronizedOrReceived = (tcb: Tcb, seg: Segment, packet: PacketBuffer, now: number): void => {
  const flags = seg.flags
  const stats = tcb.host.stats
  const segLength = seg.length + ((flags & SYN) !== 0 ? 1 : 0) + ((flags & FIN) !== 0 ? 1 : 0)

  // A retransmitted SYN to a passive SYN-RECEIVED: the SYN-ACK was lost; send it again (Linux `tcp_check_req`).
  // An active SYN-RECEIVED (simultaneous open) handles a SYN as the synchronized states do: a challenge ACK
  // below (RFC 9293 §3.10.7.4 fourth, RFC 5961 §4.2; Linux too).
  if (tcb.state === "SYN-RECEIVED" && tcb.passive && (flags & SYN) !== 0 && (flags & ACK) === 0 && seg.seq === tcb.irs) {
    return sendSyn(tcb)
  }

  // RFC 7323 §3.2: with timestamps agreed, a segment without them is dropped (RST excepted, and SYN: a
  // new connection's SYN need not carry them, and RFC 5961 §4.2 answers it with a challenge ACK below).
  if (tcb.timestamps && !seg.hasTimestamps && (flags & (RST | SYN)) === 0 && isSynchronized(tcb.state)) return
  // PAWS (RFC 7323 §5.3 R1-R3): an older TSval than TS.Recent marks an old duplicate.
  if (tcb.timestamps && seg.hasTimestamps && (flags & RST) === 0 && ((seg.tsVal - tcb.tsRecent) | 0) < 0) {
    if (now - tcb.tsRecentAge <= PAWS_IDLE_LIMIT) {
      stats.PAWSEstab++
      sendAck(tcb)
      return
    }
    tcb.tsRecent = seg.tsVal // R3's exception: TS.Recent went stale (24 days idle)
  }

  // Simultaneous open whose SYN-ACKs cross (RFC 9293 §3.5 figure 8, line 6): the peer's SYN-ACK repeats its
  // SYN (SEG.SEQ = IRS, left of the window) but acknowledges ours. Taken as the ACK that completes the
  // handshake, as Linux does (its SYN_RECV exception to the RFC 5961 §4.2 challenge): a peer that does the
  // same sends no further ACK, and the strict reading would wait for a SYN-ACK retransmission.
  // SEG.ACK acknowledges something new and nothing unsent (SND.UNA < SEG.ACK =< SND.NXT): in SYN-RECEIVED, our SYN.
  const acksNew = seqGt(seg.ack, tcb.sndUna) && seqLe(seg.ack, tcb.sndMax)
  const crossedSynAck = tcb.state === "SYN-RECEIVED" && !tcb.passive && (flags & (SYN | ACK | RST)) === (SYN | ACK) &&
    seg.seq === tcb.irs && acksNew

  // First: sequence number.
  if (!crossedSynAck && !acceptable(tcb, seg.seq, segLength)) {
    if ((flags & RST) === 0) {
      // RFC 5961 §4.2: a SYN is challenged whatever its sequence number (the ACK below is that challenge).
      if ((flags & SYN) !== 0 && isSynchronized(tcb.state)) return synChallenge(tcb)
      // A retransmitted FIN in TIME-WAIT is acknowledged and restarts the 2 MSL wait.
      if (tcb.state === "TIME-WAIT" && (flags & FIN) !== 0) tcb.timeWaitTimer.arm(tcb.host.settings.timeWait)
      // RFC 2883 §4 (Linux `tcp_send_dupack`): data wholly below RCV.NXT was received twice: the ACK reports it
      // in a D-SACK block, so the sender learns its retransmission was unnecessary.
      const dataEnd = seqAdd(seg.seq, seg.length)
      if (tcb.sack && seg.length > 0 && seqLe(dataEnd, tcb.rcvNxt)) tcb.reassembly.duplicate(seg.seq, dataEnd)
      sendAck(tcb)
    }
    return
  }
  // RFC 7323 §4.3: TS.Recent from a segment that covers Last.ACK.sent.
  if (tcb.timestamps && seg.hasTimestamps && seqLe(seg.seq, tcb.lastAckSent)) {
    tcb.tsRecent = seg.tsVal
    tcb.tsRecentAge = now
  }

  // Second: RST (RFC 5961 §3.2: only an exact match resets; one elsewhere in the window gets a challenge ACK).
  if ((flags & RST) !== 0) {
    // RFC 1337 §3 (F1): TIME-WAIT ignores every RST, so it does not challenge one either (as Linux, tcp_rfc1337).
    if (tcb.state === "TIME-WAIT") return
    if (seg.seq !== tcb.rcvNxt) return challengeAck(tcb)
    return resetArrived(tcb)
  }

  // Fourth: SYN in a synchronized state (RFC 5961 §4.2): challenge ACK.
  if ((flags & SYN) !== 0 && !crossedSynAck) {
    if (tcb.state === "SYN-RECEIVED" && tcb.passive) return resetAbandon(tcb) // RFC 9293: back to LISTEN
    return synChallenge(tcb)
  }

  // Fifth: ACK.
  if ((flags & ACK) === 0) return
  // The handshake's ACK: in SYN-RECEIVED, or in FIN-WAIT-1 (or CLOSING) after a CLOSE in SYN-RECEIVED (no
  // controller yet). Those are synchronized states (RFC 9293 §3.5.2): there an ACK that does not acknowledge our
  // SYN is processed as in ESTABLISHED (§3.10.7.4 fifth: a duplicate ignored, RFC 5961 §5.2 below), not reset.
  if (tcb.state === "SYN-RECEIVED" || (tcb.cc === undefined && acksNew)) {
    if (!acksNew) return resetFor(tcb, seg)
    // The accept queue full: drop the ACK and stay in SYN-RECEIVED (Linux, tcp_abort_on_overflow = 0).
    if (tcb.passive && !tcb.host.acceptRoom(tcb)) return
    if (tcb.retransmits === 0) tcb.rtt.sample(now - tcb.lastSend)
    else tcb.rtt.handshakeRetransmitted()
    takeWindow(tcb, seg)
    setupSack(tcb)
    established(tcb)
    if (stateOf(tcb) === "CLOSED") return
  }
  // RFC 5961 §5.2: SEG.ACK must lie in [SND.UNA − MAX.SND.WND, SND.NXT].
  if (seqGt(seg.ack, tcb.sndMax)) return challengeAck(tcb)
  if (seqLt(seg.ack, seqAdd(tcb.sndUna, -Math.max(tcb.maxSndWnd, 1)))) return challengeAck(tcb)
  let windowChanged = false
  // The window is taken from the newest segment (RFC 9293 §3.10.7.4: SND.WL1/SND.WL2).
  if (seqGe(seg.ack, tcb.sndUna) && (seqLt(tcb.sndWl1, seg.seq) || (tcb.sndWl1 === seg.seq && seqLe(tcb.sndWl2, seg.ack)))) {
    const window = peerWindow(tcb, seg)
    windowChanged = window !== tcb.sndWnd
    takeWindow(tcb, seg)
  }
  const before = tcb.sndUna
  processAck(tcb, seg, windowChanged)
  if (tcb.state === "CLOSED") return
  if (tcb.sndUna === tcb.sndMax) persistAnswered(tcb)
  if (tcb.sndUna !== before && tcb.send.writeSpace) Latch.openUnsafe(tcb.writable)
  if (tcb.finAcked) {
    if (tcb.state === "FIN-WAIT-1") {
      tcb.state = "FIN-WAIT-2"
      if (tcb.orphan) tcb.timeWaitTimer.arm(tcb.host.settings.finTimeout)
    } else if (tcb.state === "CLOSING") {
      return enterTimeWait(tcb)
    } else if (tcb.state === "LAST-ACK") {
      return done(tcb)
    }
  }
  if (tcb.state === "TIME-WAIT") {
    // Only a retransmitted FIN can arrive: acknowledge it and restart the 2 MSL wait.
    if ((flags & FIN) !== 0) {
      sendAck(tcb)
      tcb.timeWaitTimer.arm(tcb.host.settings.timeWait)
    }
    return
  }

  // Sixth (URG) is not acted on: urgent data is delivered inline (RFC 6093 §4).
  // Seventh: segment text.
  let ackNow = false
  if (seg.length > 0) {
    if (tcb.state === "ESTABLISHED" || tcb.state === "FIN-WAIT-1" || tcb.state === "FIN-WAIT-2") {
      if (tcb.readClosed) {
        // Data for an application that closed: Linux resets (`TCPAbortOnData`; RFC 9293 §3.10.4 note, RFC 2525).
        stats.TCPAbortOnData++
        sendReset(tcb)
        return done(tcb, new TcpError({ reason: "connection-reset", detail: tcb.toString() }))
      }
      ackNow = acceptData(tcb, seg, packet)
    }
  }
  // Eighth: FIN (taken once RCV.NXT reaches it, which may be later, after a gap fills).
  if ((flags & FIN) !== 0) tcb.finSeqReceived ??= seqAdd(seg.seq, seg.length)
  if (tcb.finSeqReceived !== undefined && !tcb.finReceived && tcb.rcvNxt === tcb.finSeqReceived) {
    finArrived(tcb)
    ackNow = true
  }
  const state = stateOf(tcb)
  if (state === "CLOSED" || state === "TIME-WAIT") {
    if (ackNow) sendAck(tcb)
    return
  }
  tcb.cwndLimited = pushData(tcb)
  acknowledge(tcb, ackNow)
}

/**
 * An acceptable ACK with nothing outstanding: if the persist timer is
 * probing a zero window, the peer answered. RFC 1122 §4.2.2.17: the window
 * may stay closed indefinitely, and as long as the receiver acknowledges
 * the probes the connection MUST stay open, so the count toward `retries`
 * starts over (Linux `icsk_probes_out = 0` in `tcp_ack`); the probes keep
 * backing off. A window that opened ends probing: the backoff is cleared and
 * the probe timer stopped, so the data now sent gets a fresh RTO (Linux
 * `tcp_ack_probe`).
 */
const persistAnswered = (tcb: Tcb): void => {
  tcb.retransmits = 0
  if (tcb.sndWnd > 0 && tcb.unsent > 0 && tcb.retransmitTimer.armed) {
    tcb.rtt.acknowledged()
    tcb.retransmitTimer.stop()
  }
}

/**
 * Takes in-order data (trimmed to RCV.NXT and the window) into the receive
 * buffer, out-of-order data into the reassembly queue; returns whether an
 * ACK is due at once (out of order, or a gap just filled: RFC 5681 §4.2).
 */
const acceptData = (tcb: Tcb, seg: Segment, packet: PacketBuffer): boolean => {
  const stats = tcb.host.stats
  let seq = seg.seq
  let offset = seg.payloadOffset
  let length = seg.length
  // Trim what was received before (RFC 9293 §3.10.7.4: "the segment is trimmed").
  const old = seqDiff(tcb.rcvNxt, seq)
  if (old > 0) {
    if (old >= length) {
      // Reported only where SACK was agreed (`segmentOptions`): elsewhere the queue is not made for it.
      if (tcb.sack) tcb.reassembly.duplicate(seq, seqAdd(seq, length))
      return true // a duplicate: ACK at once (with a D-SACK), RFC 2883 §4
    }
    seq = tcb.rcvNxt
    offset += old
    length -= old
  }
  // Trim what lies beyond the window offered.
  const room = seqDiff(seqAdd(tcb.rcvNxt, receiveWindow(tcb)), seq)
  if (length > room) length = Math.max(0, room)
  if (length === 0) return true
  if (seq !== tcb.rcvNxt) {
    const result = tcb.reassembly.insert(seq, packet, offset, length, tcb.rcvNxt)
    if (result === "queued") stats.TCPOFOQueue++
    else if (result === "pruned") stats.TCPOFODrop++
    return true
  }
  const outOfOrder = tcb.outOfOrder
  const gapWasOpen = outOfOrder !== undefined && !outOfOrder.isEmpty
  tcb.receive.appendPacket(packet, offset, length)
  tcb.rcvNxt = seqAdd(tcb.rcvNxt, length)
  tcb.unackedBytes += length
  if (gapWasOpen) {
    tcb.rcvNxt = outOfOrder.drain(tcb.rcvNxt, (bytes) => {
      tcb.receive.appendBytes(bytes)
      tcb.unackedBytes += bytes.length
    })
    tcb.releaseReassembly()
  }
  tcb.host.dataReady(tcb)
  return gapWasOpen
}

/** The peer's FIN is in order: end of its data (RFC 9293 §3.10.7.4 "eighth, check the FIN bit"). */
const finArrived = (tcb: Tcb): void => {
  tcb.finReceived = true
  tcb.rcvNxt = seqAdd(tcb.rcvNxt, 1)
  Latch.openUnsafe(tcb.readable)
  switch (tcb.state) {
    case "SYN-RECEIVED":
    case "ESTABLISHED":
      tcb.state = "CLOSE-WAIT"
      break
    case "FIN-WAIT-1":
      if (tcb.finAcked) enterTimeWait(tcb)
      else tcb.state = "CLOSING"
      break
    case "FIN-WAIT-2":
      enterTimeWait(tcb)
      break
    default:
      break
  }
}

/**
 * The ACK a received segment calls for (RFC 9293 §3.8.6.3, RFC 1122
 * §4.2.3.2, Linux `__tcp_ack_snd_check`): at once when asked, in quick-ack
 * mode, or for at least two full segments received; otherwise after the
 * delayed-ACK time.
 */
const acknowledge = (tcb: Tcb, now: boolean): void => {
  if (tcb.unackedBytes === 0 && !now) return
  // RFC 5681 §4.2 "every second full-sized segment": a full segment carries the MSS we announced less the options
  // every segment carries (RFC 9293 §3.7.1: the sender decreases its data by its TCP options; with timestamps,
  // 12 bytes). Linux measures `rcv_mss` from the segments received, to the same effect.
  const fullSegment = tcb.rcvMss - (tcb.timestamps ? TIMESTAMP_OPTION_BYTES : 0)
  if (now || tcb.unackedBytes >= 2 * fullSegment || tcb.quickAcks > 0) {
    if (tcb.quickAcks > 0) tcb.quickAcks--
    sendAck(tcb)
    return
  }
  tcb.delayedAckTimer.ensure(tcb.host.settings.delayedAck)
}

/** An acceptable RST (RFC 9293 §3.10.7.4 "second, check the RST bit"). */
const resetArrived = (tcb: Tcb): void => {
  switch (tcb.state) {
    case "SYN-RECEIVED":
      if (tcb.passive) return resetAbandon(tcb)
      return done(tcb, new TcpError({ reason: "connection-refused", detail: tcb.toString() }))
    case "TIME-WAIT":
      return // RFC 1337 §3: ignore RSTs in TIME-WAIT (no "TIME-WAIT assassination")
    case "CLOSING":
    case "LAST-ACK":
      return done(tcb)
    default:
      return done(tcb, new TcpError({ reason: "connection-reset", detail: tcb.toString() }))
  }
}

/** A passive SYN-RECEIVED connection ends quietly; its listener carries on (RFC 9293: "return to LISTEN"). */
const resetAbandon = (tcb: Tcb): void => {
  done(tcb, new TcpError({ reason: "connection-reset", detail: tcb.toString() }))
}

/** RFC 9293 §3.10.7.3/§3.10.7.4: an unacceptable ACK in SYN-SENT or SYN-RECEIVED gets `<SEQ=SEG.ACK><CTL=RST>`. */
const resetFor = (tcb: Tcb, seg: Segment): void => {
  tcb.host.sendResetReply(tcb.localAddress, tcb.remoteAddress, tcb.localPort, tcb.remotePort, seg)
}

/** The path MTU lowered by an ICMP fragmentation needed (RFC 1191 §6.4; RFC 5927 §7): resend what was too big. */
export const mtuReduced = (tcb: Tcb, mtu: number): void => {
  if (!isSynchronized(tcb.state) || !lowerMss(tcb, mtu)) return
  // Linux `tcp_simple_retransmit`: the segments in flight were probably dropped; send them again at the new size.
  tcb.sndNxt = tcb.sndUna
  tcb.rtSeq = undefined
  pushData(tcb)
}
