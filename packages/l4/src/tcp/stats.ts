/**
 * TCP counters with the names of `/proc/net/snmp` (`Tcp:`, RFC 4022's
 * TCP-MIB) and `/proc/net/netstat` (`TcpExt:`, Linux's names), so they read
 * as `nstat` and `netstat -s` print them.
 */

/** The `Tcp:` line of /proc/net/snmp, and the `TcpExt:` counters this stack keeps. */
export class TcpStats {
  // ---- Tcp: (RFC 4022)
  /** Connections that went SYN-SENT (connect). */
  ActiveOpens = 0
  /** Connections that went SYN-RECEIVED from LISTEN. */
  PassiveOpens = 0
  /** Connection attempts that failed (SYN-SENT/SYN-RECEIVED → CLOSED or LISTEN). */
  AttemptFails = 0
  /** ESTABLISHED or CLOSE-WAIT connections reset. */
  EstabResets = 0
  /** Segments received (including errors). */
  InSegs = 0
  /** Segments sent (excluding retransmissions of data). */
  OutSegs = 0
  /** Segments retransmitted. */
  RetransSegs = 0
  /** Segments received in error (bad checksum, bad header). */
  InErrs = 0
  /** Segments sent with RST. */
  OutRsts = 0
  /** Segments with a bad checksum. */
  InCsumErrors = 0

  // ---- TcpExt: (Linux)
  /** SYN cookies sent, accepted, refused. */
  SyncookiesSent = 0
  SyncookiesRecv = 0
  SyncookiesFailed = 0
  /** Connections that reached TIME-WAIT. */
  TW = 0
  /** Segments dropped by PAWS (RFC 7323 §5). */
  PAWSEstab = 0
  /** Times the accept queue was full. */
  ListenOverflows = 0
  /** SYNs dropped at a listener (overflow, no memory…). */
  ListenDrops = 0
  /** Delayed ACKs sent. */
  DelayedACKs = 0
  /** Fast retransmits (entering recovery). */
  TCPFastRetrans = 0
  /** Retransmissions after the retransmission timer expired. */
  TCPTimeouts = 0
  /** Loss recovery episodes with SACK (RFC 6675) and without (RFC 6582). */
  TCPSackRecovery = 0
  TCPRenoRecovery = 0
  /** Duplicate SACKs received (RFC 2883). */
  TCPDSACKRecv = 0
  /** Out-of-order segments queued. */
  TCPOFOQueue = 0
  /** Out-of-order segments dropped for lack of room. */
  TCPOFODrop = 0
  /** Challenge ACKs sent (RFC 5961). */
  TCPChallengeACK = 0
  /** SYNs received inside the window of a synchronized connection (RFC 5961 §4). */
  TCPSYNChallenge = 0
  /** Zero-window probes sent. */
  TCPWinProbe = 0
  /** Keepalive probes sent. */
  TCPKeepAlive = 0
  /** Connections aborted: by a timeout, by a close with unread data, by the user. */
  TCPAbortOnTimeout = 0
  TCPAbortOnClose = 0
  TCPAbortOnData = 0
  /** Segments the lookup found no connection or listener for (answered with RST). */
  NoSocket = 0
  /** Connections refused because the connection table is full. */
  TableFull = 0
}

/** Every counter as name → value. */
export const tcpCounters = (stats: TcpStats): Readonly<Record<string, number>> => ({ ...stats })
