/**
 * CUBIC congestion control (RFC 9438), Linux's default.
 *
 * The RFC counts windows in segments and time in seconds; here windows are
 * bytes and the host clock is microseconds, so with SMSS in bytes:
 * - W_cubic(t) = C·SMSS·(t − K)³ + W_max                (§4.2 eq. 1)
 * - K = ∛((W_max − cwnd_epoch) / (C·SMSS))              (§4.2 eq. 2), seconds
 * - W_est += α_cubic·SMSS·ackedBytes / cwnd              (§4.3 eq. 4)
 * - growth: one SMSS per SMSS·cwnd/(target − cwnd) bytes acknowledged, i.e.
 *   (target − cwnd)/cwnd segments per segment acknowledged (§4.4, §4.5),
 *   counted in bytes so a delayed or stretch ACK counts for what it covers.
 *
 * Choices where the RFC leaves room, each tested:
 * - ssthresh = cwnd·β_cubic (as Linux `bictcp_recalc_ssthresh`; §4.6 allows
 *   cwnd instead of flight_size when the window cannot grow while it is not
 *   used, which `cwndLimited` ensures);
 * - in the Reno-friendly region (§4.3) the window grows toward W_est at the
 *   same per-ACK rate as toward the cubic target, rather than jumping to it
 *   (Linux `tcp_friendliness` likewise only raises the growth rate): the
 *   target is max(W_cubic(t + RTT), W_est), bounded to [cwnd, 1.5·cwnd];
 * - slow start is Reno's with byte counting (§4.10 allows it): HyStart++
 *   (RFC 9406) is not implemented;
 * - spurious congestion undo (§4.9) is not implemented (the core has no
 *   undo event).
 */
import type { AckSample, CongestionAlgorithm, CongestionController, CongestionStart } from "./congestion-control.ts"
import { AckCredit, INFINITE_SSTHRESH, isByteCount, isSegmentSize, slowStartGrowth } from "./window-growth.ts"

/** C, the scaling constant of the cubic function, segments/s³ (RFC 9438 §5.1). */
export const CUBIC_C = 0.4
/** β_cubic, the multiplicative decrease factor (RFC 9438 §4.6). */
export const CUBIC_BETA = 0.7
/** α_cubic = 3·(1 − β)/(1 + β), W_est's additive increase per RTT (RFC 9438 §4.3 eq. 3). */
export const CUBIC_ALPHA = (3 * (1 - CUBIC_BETA)) / (1 + CUBIC_BETA)
/** The largest target relative to cwnd: growth stays below slow start's (RFC 9438 §4.2). */
const MAX_TARGET_RATIO = 1.5
const MICROS = 1_000_000

/** ssthresh after a congestion event: max(cwnd·β_cubic, 2·SMSS) (RFC 9438 §4.6), integer bytes. */
export const cubicSsthresh = (cwnd: number, mss: number): number => Math.max(Math.floor((cwnd * 7) / 10), 2 * mss)

/** One connection's CUBIC state. Read-only views of the RFC's variables are exposed for tests and `ss -i`-style reports. */
export class CubicController implements CongestionController {
  /** Linux's name for the algorithm. */
  readonly algorithm = "cubic"
  private window: number
  private threshold = INFINITE_SSTHRESH
  private smss: number
  private readonly credit = new AckCredit()
  /** W_max in bytes; 0 while undefined (no reduction yet, or after an RTO: §4.8, §4.10). */
  private maxWindow = 0
  /** cwnd_prior: cwnd when ssthresh was last set (§4.3, α_cubic becomes 1 once W_est reaches it). */
  private priorWindow = 0
  /** K, seconds. */
  private kSeconds = 0
  /** t_epoch, µs; valid while `inEpoch`. */
  private epoch = 0
  private inEpoch = false
  /** cwnd_epoch, bytes. */
  private epochWindow = 0
  /** W_est, bytes. */
  private renoWindow = 0
  /** ACKs came while the sender was application-limited, since `appLimitedSince` (RFC 9438 §5.8). */
  private appLimited = false
  private appLimitedSince = 0
  /** When the last ACK of new data came (the start of an idle period). */
  private lastAckAt: number
  private afterTimeout = false
  private timeoutPending = false

  constructor(start: CongestionStart) {
    this.smss = isSegmentSize(start.mss) ? start.mss : 536
    this.window = Math.max(this.smss, isByteCount(start.initialWindow) ? Math.floor(start.initialWindow) : 0)
    this.lastAckAt = Number.isFinite(start.now) ? start.now : 0
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

  /** W_max, bytes (undefined before the first reduction, and after an RTO until the next epoch starts). */
  get wMax(): number | undefined {
    return this.maxWindow > 0 ? this.maxWindow : undefined
  }

  /** cwnd_prior, bytes (undefined before the first reduction). */
  get cwndPrior(): number | undefined {
    return this.priorWindow > 0 ? this.priorWindow : undefined
  }

  /** K of the current epoch, seconds. */
  get k(): number {
    return this.kSeconds
  }

  /** t_epoch of the current congestion-avoidance stage, µs, or undefined before its first ACK. */
  get epochStart(): number | undefined {
    return this.inEpoch ? this.epoch : undefined
  }

  /** cwnd_epoch, bytes, or undefined outside an epoch. */
  get cwndEpoch(): number | undefined {
    return this.inEpoch ? this.epochWindow : undefined
  }

  /** W_est, bytes, or undefined outside an epoch. */
  get wEst(): number | undefined {
    return this.inEpoch ? this.renoWindow : undefined
  }

  /** W_cubic(t) of the current epoch, bytes, at `t` seconds after t_epoch (RFC 9438 §4.2 eq. 1). */
  wCubic(t: number): number {
    const d = t - this.kSeconds
    return CUBIC_C * this.smss * d * d * d + this.maxWindow
  }

  onAck(sample: AckSample): void {
    const acked = sample.ackedBytes
    const now = sample.now
    if (!(isByteCount(acked) && acked > 0) || !Number.isFinite(now)) return
    this.timeoutPending = false
    this.lastAckAt = now
    if (!sample.cwndLimited) {
      // RFC 9438 §5.8: no growth while application-limited; the period is left out of t below.
      if (!this.appLimited) {
        this.appLimited = true
        this.appLimitedSince = now
      }
      return
    }
    if (this.appLimited) this.endAppLimited(now)
    let rest = acked
    if (this.window < this.threshold) {
      // RFC 9438 §4.10: Reno's slow start (RFC 3465 ABC, L = 2·SMSS, 1·SMSS after an RTO).
      const limit = (this.afterTimeout ? 1 : 2) * this.smss
      const growth = slowStartGrowth(this.window, this.threshold, acked, limit)
      this.window += growth
      if (this.window < this.threshold) return
      this.afterTimeout = false
      rest = acked - growth
      if (rest <= 0) return
    }
    this.congestionAvoidance(now, rest, rttSeconds(sample))
  }

  onCongestion(_now: number, _inFlight: number): void {
    this.reduce()
    this.afterTimeout = false
    this.timeoutPending = false
  }

  onRecoveryExit(_now: number): void {
    // RFC 9438 §4.6: cwnd after recovery is ssthresh, set by the core; the epoch starts at the next ACK.
    this.timeoutPending = false
  }

  onTimeout(_now: number, _inFlight: number): void {
    // RFC 9438 §4.8: ssthresh as in §4.6 (kept on a repeated RTO, RFC 5681 §3.1), cwnd = 1 SMSS,
    // and the next congestion-avoidance stage starts with W_max = cwnd_epoch and K = 0.
    if (!this.timeoutPending) this.reduce()
    this.maxWindow = 0
    this.inEpoch = false
    this.window = this.smss
    this.credit.reset()
    this.afterTimeout = true
    this.timeoutPending = true
  }

  setCwnd(bytes: number): void {
    if (!isByteCount(bytes)) return
    this.window = Math.max(this.smss, Math.floor(bytes))
    this.credit.reset()
  }

  setMss(mss: number): void {
    if (!isSegmentSize(mss)) return
    this.smss = mss
    this.window = Math.max(this.window, mss)
    this.threshold = Math.max(this.threshold, 2 * mss)
    // W_cubic's slope is C segments/s³: with a new segment size the curve starts afresh from
    // this window at the next ACK (K recomputed in the new unit; W_max keeps its bytes).
    this.inEpoch = false
  }

  onIdleRestart(now: number, restartWindow: number): void {
    if (!isByteCount(restartWindow)) return
    const restart = Math.max(this.smss, Math.floor(restartWindow))
    if (restart < this.window) {
      // RFC 5681 §4.1 with Linux tcp_cwnd_restart's ssthresh (see new-reno.ts). A smaller
      // window starts a new congestion-avoidance stage: W_max stays, K is computed afresh.
      this.threshold = Math.max(this.threshold, Math.floor((this.window * 3) / 4))
      this.window = restart
      this.credit.reset()
      this.inEpoch = false
      this.appLimited = false
    } else if (this.inEpoch && !this.appLimited && Number.isFinite(now)) {
      // The window stays: the idle time since the last ACK is left out of t (RFC 9438 §5.8; Linux
      // cubictcp_cwnd_event moves epoch_start forward by the time since the last send). After
      // application-limited ACKs the idle time is already inside that period, which ends at the
      // next window-limited ACK.
      this.epoch = Math.min(now, this.epoch + Math.max(0, now - this.lastAckAt))
    }
  }

  /** §4.6 multiplicative decrease with §4.7 fast convergence; cwnd is the core's to set. */
  private reduce(): void {
    const cwnd = this.window
    // §4.7: a reduction below the last W_max means the saturation point fell: release more.
    this.maxWindow = cwnd < this.maxWindow ? Math.floor((cwnd * 17) / 20) : cwnd // (1 + β)/2 = 0.85
    this.priorWindow = cwnd
    this.threshold = cubicSsthresh(cwnd, this.smss)
    this.inEpoch = false
    this.appLimited = false
    this.credit.reset()
  }

  /** RFC 9438 §5.8: t leaves out the time the window was not updated for being application-limited. */
  private endAppLimited(now: number): void {
    this.appLimited = false
    if (this.inEpoch) this.epoch = Math.min(now, this.epoch + Math.max(0, now - this.appLimitedSince))
  }

  /** The first ACK of a congestion-avoidance stage (RFC 9438 §4.2, §4.3, §4.8, §4.10). */
  private startEpoch(now: number): void {
    this.inEpoch = true
    this.epoch = now
    this.epochWindow = this.window
    this.renoWindow = this.window
    this.credit.reset()
    if (this.maxWindow <= this.window) {
      // No W_max (no loss yet, or after an RTO), or the window is already past it: the curve's
      // plateau is here (§4.8, §4.10; Linux bictcp_update sets K = 0 and origin = cwnd).
      this.maxWindow = this.window
      this.kSeconds = 0
      if (this.priorWindow === 0) this.priorWindow = this.window
    } else {
      this.kSeconds = Math.cbrt((this.maxWindow - this.window) / (CUBIC_C * this.smss))
    }
  }

  private congestionAvoidance(now: number, acked: number, rtt: number): void {
    if (!this.inEpoch) this.startEpoch(now)
    const cwnd = this.window
    // §4.3: W_est grows by α_cubic segments per window acknowledged; α_cubic = 1 once W_est ≥ cwnd_prior.
    const alpha = this.renoWindow >= this.priorWindow ? 1 : CUBIC_ALPHA
    this.renoWindow += (alpha * this.smss * acked) / cwnd
    // §4.2: the target one RTT ahead, bounded to [cwnd, 1.5·cwnd]; §4.3: at least W_est.
    const t = Math.max(0, now - this.epoch) / MICROS
    const target = Math.min(Math.max(this.wCubic(t + rtt), this.renoWindow, cwnd), MAX_TARGET_RATIO * cwnd)
    // §4.4, §4.5: cwnd += (target − cwnd)/cwnd per segment acknowledged.
    const per = target > cwnd ? (this.smss * cwnd) / (target - cwnd) : Number.POSITIVE_INFINITY
    this.window += this.credit.grow(acked, per, this.smss)
  }
}

/** The RTT the target looks ahead by: SRTT (RFC 9438 §4.2), else this ACK's sample, else none; seconds. */
const rttSeconds = (sample: AckSample): number => {
  const rtt = sample.srtt ?? sample.rtt
  return rtt !== undefined && Number.isFinite(rtt) && rtt > 0 ? rtt / MICROS : 0
}

/** CUBIC (RFC 9438), named "cubic" as in Linux. */
export const cubic: CongestionAlgorithm = {
  name: "cubic",
  make: (start) => new CubicController(start)
}
