/**
 * Reno congestion control (RFC 5681 §3.1), the growth and reduction half of
 * NewReno: the core's loss recovery (RFC 6582, RFC 6675) drives the window
 * between `onCongestion` and `onRecoveryExit`. Linux calls it "reno".
 *
 * Choices, each tested in `test/congestion.test.ts`:
 * - slow start counts bytes (RFC 3465 §2.2, Appropriate Byte Counting) with
 *   the limit L = 2·SMSS per ACK, and L = 1·SMSS in the slow start after a
 *   retransmission timeout (RFC 3465 §2.3; FreeBSD `newreno_ack_received`);
 * - congestion avoidance counts bytes (RFC 3465 §2.1, allowed by RFC 5681
 *   §3.1): one SMSS per cwnd's worth of acknowledged bytes, exactly +1 SMSS
 *   per round trip of full-window ACKs;
 * - the window grows only while it limits the sender (RFC 7661 §4.1; Linux
 *   `tcp_is_cwnd_limited`).
 */
import type { AckSample, CongestionAlgorithm, CongestionController, CongestionStart } from "./congestion-control.ts"
import { AckCredit, INFINITE_SSTHRESH, isByteCount, isSegmentSize, slowStartGrowth } from "./window-growth.ts"

/** RFC 5681 eq. (4): ssthresh = max(FlightSize / 2, 2·SMSS). */
export const renoSsthresh = (flightSize: number, mss: number): number => Math.max(Math.floor(flightSize / 2), 2 * mss)

/** One connection's Reno state: cwnd, ssthresh and the byte counter. */
export class RenoController implements CongestionController {
  /** Linux's name for the algorithm. */
  readonly algorithm = "reno"
  private window: number
  private threshold = INFINITE_SSTHRESH
  private smss: number
  private readonly avoidance = new AckCredit()
  /** In the slow start after an RTO: the ABC limit is 1·SMSS (RFC 3465 §2.3). */
  private afterTimeout = false
  /** An RTO fired and no ACK of new data came since: a further RTO keeps ssthresh (RFC 5681 §3.1). */
  private timeoutPending = false

  constructor(start: CongestionStart) {
    this.smss = isSegmentSize(start.mss) ? start.mss : 536
    this.window = Math.max(this.smss, isByteCount(start.initialWindow) ? Math.floor(start.initialWindow) : 0)
  }

  /** The congestion window, bytes. */
  get cwnd(): number {
    return this.window
  }

  /** The slow-start threshold, bytes. */
  get ssthresh(): number {
    return this.threshold
  }

  /** The sender's MSS this controller counts in. */
  get mss(): number {
    return this.smss
  }

  /** Bytes acknowledged toward the next congestion-avoidance increment (RFC 3465 `bytes_acked`). */
  get bytesAcked(): number {
    return this.avoidance.credit
  }

  onAck(sample: AckSample): void {
    const acked = sample.ackedBytes
    if (!(isByteCount(acked) && acked > 0)) return
    this.timeoutPending = false
    // RFC 7661 §4.1 / Linux tcp_is_cwnd_limited: an application-limited sender does not grow.
    if (!sample.cwndLimited) return
    let rest = acked
    if (this.window < this.threshold) {
      // RFC 3465 §2.2: cwnd += min(N, L·SMSS); L = 2, or 1 after an RTO (§2.3).
      const limit = (this.afterTimeout ? 1 : 2) * this.smss
      const growth = slowStartGrowth(this.window, this.threshold, acked, limit)
      this.window += growth
      if (this.window < this.threshold) return
      // Slow start is over; the rest of this ACK counts for congestion avoidance (Linux tcp_reno_cong_avoid).
      this.afterTimeout = false
      rest = acked - growth
      if (rest <= 0) return
    }
    // RFC 5681 §3.1 eq. (3) by byte counting (RFC 3465 §2.1): +1 SMSS per cwnd bytes acknowledged.
    this.window += this.avoidance.grow(rest, this.window, this.smss)
  }

  onCongestion(_now: number, inFlight: number): void {
    // RFC 5681 §3.2 step 2, eq. (4). The core sets cwnd for recovery (RFC 6582 §3.2, RFC 6675 §5).
    this.threshold = renoSsthresh(isByteCount(inFlight) ? inFlight : this.window, this.smss)
    this.avoidance.reset()
    this.afterTimeout = false
    this.timeoutPending = false
  }

  onRecoveryExit(_now: number): void {
    // RFC 6582 §3.2 step 3 is the core's (it sets cwnd); growth continues from there.
    this.timeoutPending = false
  }

  onTimeout(_now: number, inFlight: number): void {
    // RFC 5681 §3.1: eq. (4), but held constant when the segment was already retransmitted by the
    // timer (Linux tcp_enter_loss recomputes ssthresh only on the first RTO of a loss episode).
    if (!this.timeoutPending) this.threshold = renoSsthresh(isByteCount(inFlight) ? inFlight : this.window, this.smss)
    // The loss window: one segment (RFC 5681 §3.1).
    this.window = this.smss
    this.avoidance.reset()
    this.afterTimeout = true
    this.timeoutPending = true
  }

  setCwnd(bytes: number): void {
    if (!isByteCount(bytes)) return
    this.window = Math.max(this.smss, Math.floor(bytes))
    this.avoidance.reset()
  }

  setMss(mss: number): void {
    if (!isSegmentSize(mss)) return
    this.smss = mss
    // The window keeps its bytes; it never falls below one segment nor ssthresh below two.
    this.window = Math.max(this.window, mss)
    this.threshold = Math.max(this.threshold, 2 * mss)
  }

  onIdleRestart(_now: number, restartWindow: number): void {
    if (!isByteCount(restartWindow)) return
    const restart = Math.max(this.smss, Math.floor(restartWindow))
    if (restart >= this.window) return
    // RFC 5681 is silent on ssthresh here; Linux tcp_cwnd_restart keeps 3/4 of the old window
    // in ssthresh (tcp_current_ssthresh; RFC 2861 §3) so slow start regains it quickly.
    this.threshold = Math.max(this.threshold, Math.floor((this.window * 3) / 4))
    // RFC 5681 §4.1: cwnd = min(RW, cwnd).
    this.window = restart
    this.avoidance.reset()
  }
}

/** Reno (RFC 5681), named "reno" as in Linux. */
export const newReno: CongestionAlgorithm = {
  name: "reno",
  make: (start) => new RenoController(start)
}
