/**
 * The retransmission timeout (RFC 6298): a smoothed round-trip time and its
 * variation from RTT samples, the RTO computed from them, clamped between a
 * configurable minimum and maximum, and doubled on each expiry
 * (exponential backoff, §5.5). Times are microseconds.
 */

/** RFC 6298 §2.1: the RTO before any sample: 1 second. */
export const INITIAL_RTO = 1_000_000

/** RFC 6298 §5.7: the RTO once data flows after a handshake whose SYN (or SYN-ACK) timed out: 3 seconds. */
export const FALLBACK_RTO = 3_000_000

/** RFC 6298 §2: G, the clock granularity (the host clock is exact: 1 µs). */
const GRANULARITY = 1
/** RFC 6298 §2: K = 4. */
const K = 4

/** Bounds of the RTO. */
export interface RtoBounds {
  /** RFC 6298 §2.4 says 1 s; Linux uses 200 ms (`TCP_RTO_MIN`), the default here. */
  readonly minRto: number
  /** RFC 6298 §2.5 allows at least 60 s; Linux `TCP_RTO_MAX` is 120 s, the default here. */
  readonly maxRto: number
}

/** The RTO bounds Linux uses. */
export const DEFAULT_RTO_BOUNDS: RtoBounds = { minRto: 200_000, maxRto: 120_000_000 }

/** RTT estimation and the RTO of one connection. */
export class RttEstimator {
  /** SRTT, or undefined before the first sample. */
  srtt: number | undefined = undefined
  /** RTTVAR. */
  rttvar = 0
  /** The smallest sample seen (for congestion control and `ss -i`). */
  minRtt: number | undefined = undefined
  /** The RTO without backoff. */
  private base = INITIAL_RTO
  /** Times the timer expired since the last new acknowledgment (RFC 6298 §5.5 backoff). */
  backoff = 0
  private readonly bounds: RtoBounds

  constructor(bounds: RtoBounds = DEFAULT_RTO_BOUNDS) {
    this.bounds = bounds
  }

  /**
   * The current RTO: the computed value raised to the minimum (RFC 6298
   * §2.4), then doubled per backoff (§5.5), at most the maximum (§2.5).
   * The doubling applies to the RTO in use, as Linux's `icsk_rto << 1`:
   * doubling a computed value below the minimum would leave the timer at
   * the minimum for several expiries (no backoff at all on a short path).
   */
  get rto(): number {
    const backedOff = Math.max(this.base, this.bounds.minRto) * 2 ** Math.min(this.backoff, 30)
    return Math.min(backedOff, this.bounds.maxRto)
  }

  /**
   * Takes a sample `r` (µs). RFC 6298 §2.2 for the first (SRTT = R, RTTVAR =
   * R/2), §2.3 after (RTTVAR = 3/4 RTTVAR + 1/4 |SRTT − R'|, SRTT = 7/8 SRTT
   * + 1/8 R'), then RTO = SRTT + max(G, K·RTTVAR). The caller applies Karn's
   * rule (§3: no sample from a retransmitted segment, unless timestamps
   * disambiguate, RFC 7323 §4).
   */
  sample(r: number): void {
    if (!(r >= 0) || !Number.isFinite(r)) return
    if (this.srtt === undefined) {
      this.srtt = r
      this.rttvar = r / 2
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r)
      this.srtt = 0.875 * this.srtt + 0.125 * r
    }
    this.minRtt = this.minRtt === undefined ? r : Math.min(this.minRtt, r)
    this.base = this.srtt + Math.max(GRANULARITY, K * this.rttvar)
  }

  /**
   * The handshake completed without a sample because its SYN or SYN-ACK
   * was retransmitted (Karn's rule): RFC 6298 §5.7 says the RTO MUST be
   * re-initialized to 3 seconds when data transmission begins (Linux
   * `TCP_TIMEOUT_FALLBACK` in `tcp_init_transfer`).
   */
  handshakeRetransmitted(): void {
    if (this.srtt === undefined) this.base = Math.max(this.base, FALLBACK_RTO)
  }

  /** The timer expired: double the RTO (RFC 6298 §5.5). */
  expired(): void {
    this.backoff++
  }

  /** New data was acknowledged: the backoff ends (RFC 6298 §5.7 note; Linux `icsk_backoff = 0`). */
  acknowledged(): void {
    this.backoff = 0
  }
}
