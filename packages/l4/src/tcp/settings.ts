/**
 * The TCP settings of a host (Linux's `net.ipv4.tcp_*` sysctls and socket
 * options' defaults), with Linux's defaults, and the errors a connection
 * reports to the application (their errno in comments).
 */
import { Schema } from "effect"
import { DEFAULT_RTO_BOUNDS } from "./rtt.ts"

/** TCP settings; every time in microseconds. */
export interface TcpSettings {
  /** Send buffer per connection (SO_SNDBUF), bytes. */
  readonly sendBuffer: number
  /** Receive buffer per connection (SO_RCVBUF): bounds the advertised window, bytes. */
  readonly receiveBuffer: number
  /** Lower bound of the RTO (Linux TCP_RTO_MIN 200 ms; RFC 6298 §2.4 says 1 s). */
  readonly minRto: number
  /** Upper bound of the RTO (Linux TCP_RTO_MAX 120 s). */
  readonly maxRto: number
  /** SYN retransmissions before connect gives up (tcp_syn_retries, 6: about 127 s). */
  readonly synRetries: number
  /** SYN-ACK retransmissions (tcp_synack_retries, 5). */
  readonly synAckRetries: number
  /** Retransmissions of data before the connection is aborted (tcp_retries2, 15). */
  readonly retries: number
  /** Time in TIME-WAIT: 2 × MSL (Linux TCP_TIMEWAIT_LEN, 60 s). */
  readonly timeWait: number
  /** Most a delayed ACK waits (Linux TCP_DELACK_MAX 200 ms; RFC 9293 §3.8.6.3: under 0.5 s). */
  readonly delayedAck: number
  /** Idle time before the first keepalive probe (tcp_keepalive_time, 2 h; RFC 1122 §4.2.3.6). */
  readonly keepaliveTime: number
  /** Between keepalive probes (tcp_keepalive_intvl, 75 s). */
  readonly keepaliveInterval: number
  /** Unanswered probes before the connection is dropped (tcp_keepalive_probes, 9). */
  readonly keepaliveProbes: number
  /** Time an orphaned connection may stay in FIN-WAIT-2 (tcp_fin_timeout, 60 s). */
  readonly finTimeout: number
  /** Offer window scaling (RFC 7323 §2), timestamps (§3) and SACK (RFC 2018). */
  readonly windowScaling: boolean
  readonly timestamps: boolean
  readonly sack: boolean
  /** SYN cookies (tcp_syncookies): `overflow` (1, the default: when the SYN queue is full), `always` (2), `never` (0). */
  readonly synCookies: "overflow" | "always" | "never"
  /** SYN-RECEIVED connections a listener may hold (tcp_max_syn_backlog, 256, or the listen backlog if larger). */
  readonly maxSynBacklog: number
  /** Connections (all states but LISTEN) a host may hold. */
  readonly maxConnections: number
  /**
   * TCP small queues (Linux `tcp_limit_output_bytes`): the most data bytes
   * one connection may have queued below TCP (qdisc, driver, NIC ring) before
   * it waits for some to be transmitted; at least two full super-packets.
   */
  readonly limitOutputBytes: number
}

/** Linux's defaults (buffers sized for fast in-process links). */
export const DEFAULT_TCP_SETTINGS: TcpSettings = {
  sendBuffer: 1024 * 1024,
  receiveBuffer: 1024 * 1024,
  minRto: DEFAULT_RTO_BOUNDS.minRto,
  maxRto: DEFAULT_RTO_BOUNDS.maxRto,
  synRetries: 6,
  synAckRetries: 5,
  retries: 15,
  timeWait: 60_000_000,
  delayedAck: 40_000,
  keepaliveTime: 7_200_000_000,
  keepaliveInterval: 75_000_000,
  keepaliveProbes: 9,
  finTimeout: 60_000_000,
  windowScaling: true,
  timestamps: true,
  sack: true,
  synCookies: "overflow",
  maxSynBacklog: 256,
  maxConnections: 1_000_000,
  limitOutputBytes: 256 * 1024
}

/** Why a TCP operation failed. */
export class TcpError extends Schema.TaggedError<TcpError>()("TcpError", {
  reason: Schema.Literals([
    "connection-refused", // ECONNREFUSED: RST in answer to our SYN, or ICMP port unreachable
    "connection-reset", // ECONNRESET: RST on a synchronized connection
    "timed-out", // ETIMEDOUT: retransmissions, keepalives or the user timeout ran out
    "network-unreachable", // ENETUNREACH
    "host-unreachable", // EHOSTUNREACH
    "address-in-use", // EADDRINUSE
    "address-not-available", // EADDRNOTAVAIL: no local address, or no free ephemeral port
    "connection-aborted", // ECONNABORTED: aborted here (abort(), a full table)
    "broken-pipe", // EPIPE: write after shutdown
    "not-connected", // ENOTCONN
    "invalid-argument" // EINVAL
  ]),
  /** What was being done, e.g. `connect 10.0.0.2:80`. */
  detail: Schema.optional(Schema.String)
}) {}
