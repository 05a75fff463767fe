/**
 * What a connection needs from its host's TCP (the module in `tcp.ts`):
 * the network layer below, the host's timers and trace, the settings and
 * counters, the congestion control algorithm, a pool of header buffers, and
 * the callbacks that move a connection between the host's tables. The
 * connection modules (input, output, recovery, timers) reach everything
 * through `tcb.host`.
 */
import type { BufferPool } from "@netstack/buffers"
import type { NetTrace } from "@netstack/device"
import type { TimerQueue } from "@netstack/l2"
import type { Ipv4 } from "@netstack/l3"
import type { CongestionAlgorithm } from "./congestion/congestion-control.ts"
import type { TcpSettings } from "./settings.ts"
import type { TcpStats } from "./stats.ts"
import type { Segment } from "./segment.ts"
import type { PageRecycler } from "./page-recycler.ts"
import type { Scoreboard } from "./sack/index.ts"
import type { Tcb, TimerActions } from "./tcb.ts"

/** A host's TCP, as its connections see it. */
export interface TcpHost {
  readonly ipv4: Ipv4
  readonly timers: TimerQueue
  readonly trace: NetTrace
  readonly settings: TcpSettings
  readonly stats: TcpStats
  readonly congestion: CongestionAlgorithm
  /** Buffers for headers (segments carry their data as fragments of the send buffer's pages). */
  readonly headers: BufferPool
  /** Recycled send-buffer pages. */
  readonly pages: PageRecycler
  /** What the connection timers run. */
  readonly timerActions: TimerActions
  /** The connection completed its handshake (a passive one goes to its listener's accept queue). */
  readonly onEstablished: (tcb: Tcb) => void
  /** Whether a passive connection's listener has room in its accept queue. */
  readonly acceptRoom: (tcb: Tcb) => boolean
  /** A SACK scoreboard for a connection that agreed SACK. */
  readonly makeScoreboard: () => Scoreboard
  /**
   * Sends the RST that answers `seg` when there is no connection for it (RFC 9293 §3.10.7.1):
   * `<SEQ=SEG.ACK><CTL=RST>` if it had an ACK, else `<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>`.
   */
  readonly sendResetReply: (
    localAddress: number,
    remoteAddress: number,
    localPort: number,
    remotePort: number,
    seg: Segment
  ) => void
  /** The connection entered TIME-WAIT; false when the TIME-WAIT table is full (then it closes at once). */
  readonly onTimeWait: (tcb: Tcb) => boolean
  /** The connection is CLOSED: take it out of the tables. */
  readonly onClosed: (tcb: Tcb) => void
  /**
   * A throttled connection's segments completed (TCP small queues): the host
   * resumes its sending soon, outside the driver's completion path (Linux's
   * TSQ tasklet), once enough of what it queued is gone.
   */
  readonly outputCompleted: (tcb: Tcb) => void
  /**
   * In-order data is there to read (Linux's `sk_data_ready`): the host
   * wakes the connection's reader once the NAPI poll that brought it is
   * over. (A FIN, a reset or a close wakes it at once.)
   */
  readonly dataReady: (tcb: Tcb) => void
  /**
   * TCP input is running (a segment is being processed, and a fiber resumed
   * by a latch it opened runs inside it): no net channel may be run now.
   */
  readonly inInput: boolean
}
