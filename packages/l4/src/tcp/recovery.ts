/**
 * What an acceptable ACK does to the sender (RFC 9293 §3.10.7.4 "fifth,
 * check the ACK field"), and loss recovery:
 *
 * - New data acknowledged: SND.UNA advances, the send buffer drops it, an
 *   RTT sample is taken from the timed segment (RFC 6298 §3, Karn's rule),
 *   the retransmission timer restarts or stops (RFC 6298 §5.2-5.3), and
 *   congestion control grows the window — or, in recovery, a partial ACK
 *   retransmits (RFC 6582 §3.2 step 4) and a full ACK ends recovery (step 3).
 * - Duplicate ACKs (RFC 5681 §2's definition) count towards fast
 *   retransmit: the third enters recovery (RFC 5681 §3.2; with SACK, also
 *   when the scoreboard says SND.UNA is lost, RFC 6675 §5) — NewReno
 *   (RFC 6582) without SACK, RFC 6675's pipe and NextSeg() with it.
 * - The retransmission timer (RFC 6298 §5.4-5.7): congestion control's
 *   loss window, exponential backoff, and going back to SND.UNA.
 */
import { TcpFlags } from "@netstack/wire"
import { flightSize, pushData, transmit, transmitNext } from "./output.ts"
import type { Segment } from "./segment.ts"
import { seqAdd, seqDiff, seqGe, seqGt, seqLt, seqMax, seqMin } from "./seq.ts"
import type { Tcb } from "./tcb.ts"
import { sendWindowRoom } from "./window.ts"

/** RFC 5681 §3.2: three duplicate ACKs trigger fast retransmit. */
const DUP_THRESH = 3

/**
 * Processes the ACK of an acceptable segment whose SEG.ACK is within
 * (SND.UNA − MAX.SND.WND, SND.MAX]: acknowledgment, SACK, RTT, congestion
 * control and recovery. `windowChanged` says whether the segment changed
 * the send window (a changed window makes it no duplicate ACK).
 */
export const processAck = (tcb: Tcb, seg: Segment, windowChanged: boolean): void => {
  const host = tcb.host
  const now = host.timers.now()
  const ack = seg.ack
  const priorFlight = flightSize(tcb)
  let newlySacked = 0
  const scoreboard = tcb.scoreboard
  const acked = seqDiff(ack, tcb.sndUna)
  if (scoreboard !== undefined && (seg.sackCount > 0 || acked > 0)) {
    const update = scoreboard.update(seqMax(ack, tcb.sndUna), tcb.sndMax, seg.sackBlocks.slice(0, seg.sackCount))
    newlySacked = update.newlySacked
    if (update.dsack) host.stats.TCPDSACKRecv++
    // The receiver dropped data it had SACKed (RFC 2018 §8): forget the SACK marks (Linux tcp_check_sack_reneging).
    if (update.reneging) scoreboard.clear()
  }
  if (acked > 0) {
    newData(tcb, ack, acked, now, priorFlight)
  } else if (isDuplicateAck(tcb, seg, windowChanged, newlySacked)) {
    tcb.dupAcks++
    if (!tcb.inRecovery) {
      const lost = scoreboard !== undefined && scoreboard.isLost(tcb.sndUna, tcb.mss)
      // RFC 6582 §3.2 step 2: only when the ACK covers more than `recover` (no second recovery for one window).
      if ((tcb.dupAcks >= DUP_THRESH || lost) && seqGt(ack, tcb.recoveryPoint)) enterRecovery(tcb, now, priorFlight)
    } else if (scoreboard === undefined) {
      // RFC 6582 §3.2 step 4 (RFC 5681 §3.2 step 4): each further duplicate ACK inflates cwnd by one segment.
      tcb.cc?.setCwnd(tcb.cc.cwnd + tcb.mss)
    }
  }
  if (tcb.inRecovery && tcb.scoreboard !== undefined) sendRecovery(tcb)
}

/** RFC 5681 §2 DUPLICATE ACKNOWLEDGMENT, or an ACK that SACKs new data (RFC 6675 §5: counted the same). */
const isDuplicateAck = (tcb: Tcb, seg: Segment, windowChanged: boolean, newlySacked: number): boolean => {
  if (tcb.sndUna === tcb.sndMax) return false // (a) nothing outstanding
  if (seg.ack !== tcb.sndUna) return false // (d)
  if (newlySacked > 0) return true
  return seg.length === 0 && (seg.flags & (TcpFlags.syn | TcpFlags.fin)) === 0 && !windowChanged // (b), (c), (e)
}

/** Cumulative acknowledgment of `acked` bytes of sequence space up to `ack`. */
const newData = (tcb: Tcb, ack: number, acked: number, now: number, priorFlight: number): void => {
  // The send buffer holds data only, [ISS + 1, sendEnd): the SYN and the FIN take sequence numbers, not bytes.
  // The first cumulative ACK acknowledges our SYN (RFC 9293 §3.10.7.4); a flag, since SND.UNA compared with ISS
  // wraps after 2^31 bytes.
  const acksSyn = !tcb.synAcked
  tcb.synAcked = true
  const from = acksSyn ? seqAdd(tcb.iss, 1) : tcb.sndUna
  const to = seqMin(ack, tcb.sendEnd)
  tcb.send.acknowledge(Math.max(0, seqDiff(to, from)))
  tcb.sndUna = ack
  if (seqLt(tcb.sndNxt, ack)) tcb.sndNxt = ack // after going back to SND.UNA, the ACK may pass SND.NXT
  // RFC 6298 §3 / Karn: sample the timed segment once it is acknowledged.
  let sample: number | undefined = undefined
  if (tcb.rtSeq !== undefined && seqGt(ack, tcb.rtSeq)) {
    sample = now - tcb.rtTime
    tcb.rtt.sample(sample)
    tcb.rtSeq = undefined
  }
  tcb.rtt.acknowledged()
  tcb.retransmits = 0
  tcb.dupAcks = 0
  tcb.unackedSince = tcb.sndUna === tcb.sndMax ? undefined : now
  // RFC 6298 §5.2-5.3: all acknowledged, stop the timer; else restart it.
  if (tcb.sndUna === tcb.sndMax) tcb.retransmitTimer.stop()
  else tcb.retransmitTimer.arm(tcb.rtt.rto)
  const cc = tcb.cc
  if (cc === undefined) return
  if (tcb.inRecovery) {
    if (seqGe(ack, tcb.recoveryPoint)) {
      // RFC 6582 §3.2 step 3 (full acknowledgment): cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS).
      const flight = flightSize(tcb)
      cc.setCwnd(Math.min(cc.ssthresh, Math.max(flight, tcb.mss) + tcb.mss))
      tcb.inRecovery = false
      cc.onRecoveryExit(now)
    } else if (tcb.scoreboard === undefined) {
      // RFC 6582 §3.2 step 4 (partial acknowledgment): retransmit the first unacknowledged segment, deflate cwnd by
      // the data acknowledged, add back one SMSS if at least one was acknowledged.
      retransmitHead(tcb)
      const deflated = cc.cwnd - acked + (acked >= tcb.mss ? tcb.mss : 0)
      cc.setCwnd(Math.max(deflated, tcb.mss))
    }
    return
  }
  if (acksSyn) return
  cc.onAck({
    now,
    ackedBytes: acked,
    rtt: sample,
    srtt: tcb.rtt.srtt,
    inFlight: priorFlight,
    cwndLimited: tcb.cwndLimited
  })
}

/** Fast retransmit (RFC 5681 §3.2 steps 2-3; RFC 6582 §3.2 step 2; RFC 6675 §5). */
const enterRecovery = (tcb: Tcb, now: number, flight: number): void => {
  const cc = tcb.cc
  if (cc === undefined) return
  const stats = tcb.host.stats
  stats.TCPFastRetrans++
  cc.onCongestion(now, flight)
  tcb.inRecovery = true
  tcb.recoveryPoint = tcb.sndMax
  tcb.highRxt = tcb.sndUna
  // The state is set before the retransmission goes: its ACK may be taken before `transmit` returns (`transmitNext`).
  if (tcb.scoreboard !== undefined) {
    // RFC 6675 §5 (4.2)-(4.3): cwnd = ssthresh, retransmit the first segment presumed lost, then NextSeg() while
    // pipe allows.
    stats.TCPSackRecovery++
    cc.setCwnd(cc.ssthresh)
    tcb.highRxt = seqAdd(tcb.sndUna, Math.min(tcb.mss, Math.max(1, seqDiff(tcb.sndMax, tcb.sndUna))))
    retransmitHead(tcb)
    return
  }
  stats.TCPRenoRecovery++
  cc.setCwnd(cc.ssthresh + DUP_THRESH * tcb.mss) // RFC 6582 §3.2 step 2: inflate by the segments that left
  retransmitHead(tcb)
}

/** Retransmits one segment at SND.UNA (the FIN alone if only it is outstanding). */
const retransmitHead = (tcb: Tcb): void => {
  const data = Math.min(tcb.mss, Math.max(0, seqDiff(tcb.sendEnd, tcb.sndUna)))
  const fin = tcb.finSent && data === seqDiff(tcb.sendEnd, tcb.sndUna)
  transmit(tcb, tcb.sndUna, data, (fin ? TcpFlags.fin : 0) | (data > 0 ? TcpFlags.psh : 0))
}

/** RFC 6675 §5 (C): while cwnd − pipe ≥ 1 SMSS, send NextSeg(). */
const sendRecovery = (tcb: Tcb): void => {
  const scoreboard = tcb.scoreboard
  const cc = tcb.cc
  if (scoreboard === undefined || cc === undefined) return
  for (let guard = 0; guard < 1024; guard++) {
    const pipe = scoreboard.pipe(tcb.sndUna, tcb.sndMax, tcb.highRxt, tcb.mss)
    if (cc.cwnd - pipe < tcb.mss) return
    const newAvailable = Math.max(0, Math.min(tcb.unsent, sendWindowRoom(tcb)))
    const next = scoreboard.nextSeg(tcb.sndUna, tcb.sndMax, tcb.highRxt, tcb.mss, newAvailable)
    if (next === undefined) return
    if (next.kind === "new") {
      const length = Math.min(next.length, newAvailable)
      if (length <= 0 || !transmitNext(tcb, length, TcpFlags.psh)) return
    } else {
      // HighRxt (RFC 6675 §2) moves before the segment goes, as SND.NXT does in `transmitNext`: input nested in the
      // send must not pick the same segment again.
      const prior = tcb.highRxt
      tcb.highRxt = seqMax(prior, seqAdd(next.seq, next.length))
      if (!transmit(tcb, next.seq, next.length, 0)) {
        tcb.highRxt = prior
        return
      }
    }
  }
}

/**
 * The retransmission timer expired with data outstanding (RFC 6298 §5.4-5.7,
 * RFC 5681 §3.1): loss window, backoff, recovery abandoned, and SND.NXT back
 * to SND.UNA so the lost window is sent again as cwnd grows (the SACKed parts
 * skipped). `recover` = HighData (RFC 6582 §3.2 step 1: no fast retransmit
 * for the ACKs this window still brings).
 */
export const retransmissionTimeout = (tcb: Tcb): void => {
  const host = tcb.host
  const now = host.timers.now()
  host.stats.TCPTimeouts++
  tcb.cc?.onTimeout(now, flightSize(tcb))
  tcb.rtt.expired()
  tcb.retransmits++
  tcb.inRecovery = false
  tcb.dupAcks = 0
  tcb.recoveryPoint = tcb.sndMax
  tcb.rtSeq = undefined
  tcb.sndNxt = tcb.sndUna
  // RFC 2018 §5.1: after a timeout the SACK marks are forgotten (the receiver may have reneged).
  tcb.scoreboard?.clear()
  tcb.retransmitTimer.stop()
  pushData(tcb)
  if (!tcb.retransmitTimer.armed && tcb.sndUna !== tcb.sndMax) tcb.retransmitTimer.arm(tcb.rtt.rto)
}
