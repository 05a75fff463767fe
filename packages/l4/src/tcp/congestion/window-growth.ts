/**
 * The two ways a congestion window grows on an ACK, shared by Reno and
 * CUBIC: slow start with Appropriate Byte Counting (RFC 3465) and additive
 * increase by byte counting (RFC 5681 §3.1; Linux `tcp_cong_avoid_ai`).
 * Plain functions and one small counter: no allocation per ACK.
 */

/**
 * The initial ssthresh, "arbitrarily high" (RFC 5681 §3.1): Linux's
 * `TCP_INFINITE_SSTHRESH` (0x7fffffff), here in bytes.
 */
export const INFINITE_SSTHRESH = 0x7fffffff

/**
 * RFC 3465 §2.2–2.3 (Appropriate Byte Counting) slow start: the window
 * grows by the bytes acknowledged, at most `limit` (L·SMSS: L = 2 normally,
 * L = 1 in the slow start that follows a retransmission timeout), and never
 * past ssthresh (Linux `tcp_slow_start` stops at ssthresh and hands the rest
 * of the ACK to congestion avoidance). Returns the growth in bytes.
 */
export const slowStartGrowth = (cwnd: number, ssthresh: number, acked: number, limit: number): number =>
  Math.max(0, Math.min(acked, limit, ssthresh - cwnd))

/**
 * Additive increase by byte counting: one SMSS of growth for every `per`
 * bytes acknowledged (RFC 3465 §2.1 with `per` = cwnd is RFC 5681's
 * "cwnd += SMSS·SMSS/cwnd per RTT"; CUBIC passes SMSS·cwnd/(target − cwnd),
 * RFC 9438 §4.4–4.5). The bytes acknowledged so far carry between ACKs, as
 * Linux's `snd_cwnd_cnt` in `tcp_cong_avoid_ai`; credit left from a larger
 * `per` buys one segment, then starts over (Linux: "apply them gently").
 */
export class AckCredit {
  private bytes = 0

  /** Forgets the credit (after the window was set from outside: a reduction, a restart). */
  reset(): void {
    this.bytes = 0
  }

  /** The bytes acknowledged toward the next increment. */
  get credit(): number {
    return this.bytes
  }

  /** Counts `acked` bytes; returns the growth in bytes (whole segments of `mss`). */
  grow(acked: number, per: number, mss: number): number {
    let growth = 0
    if (this.bytes >= per) {
      this.bytes = 0
      growth = mss
    }
    this.bytes += acked
    if (this.bytes >= per) {
      const segments = Math.floor(this.bytes / per)
      this.bytes -= segments * per
      growth += segments * mss
    }
    return growth
  }
}

/** A byte count the core passed is usable: finite and not negative. */
export const isByteCount = (n: number): boolean => Number.isFinite(n) && n >= 0

/** A segment size the core passed is usable: a positive integer. */
export const isSegmentSize = (n: number): boolean => Number.isInteger(n) && n > 0
