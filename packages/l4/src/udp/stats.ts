/**
 * UDP counters with the names of the `Udp:` line of Linux's /proc/net/snmp
 * (RFC 4113's UDP-MIB plus Linux's additions), counted where Linux counts
 * them (net/ipv4/udp.c).
 */

/** The `Udp:` line of /proc/net/snmp. */
export class UdpStats {
  /** Datagrams delivered to an application (Linux counts them when read, in `udp_recvmsg`). */
  InDatagrams = 0
  /** Unicast datagrams for a port no socket has (an ICMP port unreachable goes back). */
  NoPorts = 0
  /** Datagrams dropped for any other reason: too short, bad length, bad checksum, receive buffer full. */
  InErrors = 0
  /** Datagrams handed to IP. */
  OutDatagrams = 0
  /** Datagrams dropped because the socket's receive buffer was full (also in `InErrors`). */
  RcvbufErrors = 0
  /** Datagrams that could not be sent for want of buffer space (ENOBUFS). */
  SndbufErrors = 0
  /** Datagrams with a bad checksum (also in `InErrors`). */
  InCsumErrors = 0
  /** Broadcast or multicast datagrams no socket wanted (no ICMP error for them, RFC 1122 §4.1.3.1). */
  IgnoredMulti = 0
}

/** The counters as name → value (for printing and snapshots). */
export const udpCountersOf = (stats: UdpStats): Readonly<Record<string, number>> => ({ ...stats })
