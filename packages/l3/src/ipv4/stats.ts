/**
 * IPv4 and ICMP counters with the names `/proc/net/snmp` (RFC 4293's
 * IP-MIB, RFC 2011) and `netstat -s` use.
 */

/** The `Ip:` and `IpExt:` lines of /proc/net/snmp. */
export class IpStats {
  InReceives = 0
  InHdrErrors = 0
  InAddrErrors = 0
  ForwDatagrams = 0
  InUnknownProtos = 0
  InDiscards = 0
  InDelivers = 0
  OutRequests = 0
  OutDiscards = 0
  OutNoRoutes = 0
  FragOKs = 0
  FragFails = 0
  FragCreates = 0
  InNoRoutes = 0
  InTruncatedPkts = 0
  InCsumErrors = 0
}

/** The `Icmp:` line of /proc/net/snmp. */
export class IcmpStats {
  InMsgs = 0
  InErrors = 0
  InCsumErrors = 0
  InDestUnreachs = 0
  InTimeExcds = 0
  InParmProbs = 0
  InRedirects = 0
  InEchos = 0
  InEchoReps = 0
  OutMsgs = 0
  OutErrors = 0
  OutRateLimited = 0
  OutDestUnreachs = 0
  OutTimeExcds = 0
  OutParmProbs = 0
  OutEchos = 0
  OutEchoReps = 0
}

/** A counters object as name → value (for printing and snapshots). */
export const countersOf = (stats: IpStats | IcmpStats): Readonly<Record<string, number>> => ({ ...stats })
