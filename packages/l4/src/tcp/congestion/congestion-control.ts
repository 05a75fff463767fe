/**
 * Congestion control (RFC 5681 §3): how much a connection may have in
 * flight. As in Linux (`struct tcp_congestion_ops`), the algorithm owns the
 * congestion window's growth on ACKs and its reduction on congestion, and
 * the connection's core owns loss detection and recovery (fast retransmit,
 * NewReno or SACK recovery, the retransmission timeout), calling the
 * algorithm at each event. An algorithm is chosen by Layer: provide
 * `CongestionControl` with `newReno` or `cubic`; without one a host uses
 * CUBIC, Linux's default.
 *
 * All sizes are bytes, all times microseconds on the host's clock.
 */
import { Context } from "effect"

/** What the core reports of an ACK that acknowledged new data outside loss recovery. */
export interface AckSample {
  /** When the ACK arrived. */
  readonly now: number
  /** Bytes newly acknowledged by the cumulative ACK (> 0). */
  readonly ackedBytes: number
  /** An RTT measured from this ACK (Karn's rule applied: never from a retransmission), or undefined. */
  readonly rtt: number | undefined
  /** The smoothed RTT (RFC 6298 SRTT), once there is one. */
  readonly srtt: number | undefined
  /** Bytes in flight before this ACK (RFC 5681 FlightSize). */
  readonly inFlight: number
  /**
   * Whether the window was in use: the sender had at least `cwnd` in flight,
   * or would have sent more but for `cwnd`. An application-limited sender
   * does not grow its window (RFC 7661 §4.1; Linux `tcp_is_cwnd_limited`).
   */
  readonly cwndLimited: boolean
}

/** The congestion state of one connection. */
export interface CongestionController {
  /** The algorithm's name (`reno`, `cubic`), as `ss -i` shows it. */
  readonly algorithm: string
  /** The congestion window (RFC 5681 cwnd), bytes. */
  readonly cwnd: number
  /** The slow-start threshold (RFC 5681 ssthresh), bytes. */
  readonly ssthresh: number
  /** Grows the window for an ACK of new data outside recovery: slow start below ssthresh, else congestion avoidance. */
  readonly onAck: (sample: AckSample) => void
  /**
   * Congestion was detected by fast retransmit (duplicate ACKs, SACK) or
   * ECN: sets ssthresh (RFC 5681 §3.2 step 2 for Reno; RFC 9438 §4.6 for
   * CUBIC) and leaves cwnd to the core's recovery, which sets it with
   * `setCwnd` (RFC 6582 inflation, or ssthresh with SACK, RFC 6675 §5).
   */
  readonly onCongestion: (now: number, inFlight: number) => void
  /** Loss recovery ended with a full ACK (RFC 6582 §3.2 step 3; RFC 6675 §5): the window continues from `cwnd`. */
  readonly onRecoveryExit: (now: number) => void
  /**
   * The retransmission timer expired (RFC 5681 §3.1, eq. 4; RFC 6298 §5.5):
   * ssthresh from the flight size, cwnd = the loss window (one segment).
   */
  readonly onTimeout: (now: number, inFlight: number) => void
  /** Sets cwnd (the core's loss recovery inflates and deflates it, RFC 6582 §3.2); at least one segment. */
  readonly setCwnd: (bytes: number) => void
  /** The sender's maximum segment size changed (path MTU discovery, RFC 1191): the window keeps its bytes. */
  readonly setMss: (mss: number) => void
  /** Restart after an idle period longer than the RTO (RFC 5681 §4.1): cwnd = min(cwnd, `restartWindow`). */
  readonly onIdleRestart: (now: number, restartWindow: number) => void
}

/** How a connection's controller starts. */
export interface CongestionStart {
  /** The sender's maximum segment size (SMSS), bytes. */
  readonly mss: number
  /** The initial window (RFC 6928: min(10·MSS, max(2·MSS, 14600))), bytes. */
  readonly initialWindow: number
  readonly now: number
}

/** A congestion control algorithm: makes one controller per connection. */
export interface CongestionAlgorithm {
  readonly name: string
  readonly make: (start: CongestionStart) => CongestionController
}

/** RFC 6928 §2: the initial window for a sender's MSS. */
export const initialWindow = (mss: number): number => Math.min(10 * mss, Math.max(2 * mss, 14600))

/**
 * The congestion control algorithm new connections use (Linux
 * `net.ipv4.tcp_congestion_control`): provide it with a layer
 * (`Layer.succeed(CongestionControl, newReno)`) to choose one; a host built
 * without it uses CUBIC (`Effect.serviceOption`).
 */
export class CongestionControl extends Context.Service<CongestionControl, CongestionAlgorithm>()(
  "@netstack/l4/CongestionControl"
) {}
