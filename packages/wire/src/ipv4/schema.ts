/**
 * The IPv4 header (RFC 791 §3.1), with the Type of Service octet split into
 * DSCP and ECN (RFC 2474 §3, RFC 3168 §5):
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * |Version|  IHL  |   DSCP    |ECN|          Total Length         |
 * |         Identification        |Flags|      Fragment Offset    |
 * |  Time to Live |    Protocol   |         Header Checksum       |
 * |                       Source Address                          |
 * |                    Destination Address                        |
 * |                    Options                    |    Padding    |
 * ```
 *
 * The typed header keeps the options area as raw bytes (`options`, exactly
 * IHL × 4 − 20 bytes, padding included), so encoding a decoded header gives
 * back the same bytes; `decodeIpv4Options` reads them into a list. The IHL is
 * not a field of its own: it is `(20 + options.length) / 4`.
 */
import { Schema } from "effect"
import { Ipv4Address } from "../addresses/ipv4.ts"
import { Uint16, Uint8, UintBits } from "../fields.ts"
import { isHeaderDefect } from "../defect.ts"
import { decodeIpv4Options, formatIpv4Options, IPV4_MAX_OPTIONS_LENGTH } from "./options.ts"

/** Bytes in an IPv4 header without options (IHL 5). */
export const IPV4_HEADER_LENGTH = 20
/** Bytes in the longest IPv4 header (IHL 15). */
export const IPV4_MAX_HEADER_LENGTH = 60
/** The version field of IPv4. */
export const IPV4_VERSION: 4 = 4

/** Common IP protocol numbers (the IANA "Assigned Internet Protocol Numbers" registry). */
export const Ipv4Protocols = {
  icmp: 1,
  igmp: 2,
  tcp: 6,
  udp: 17,
  ipv6: 41,
  gre: 47,
  esp: 50,
  ah: 51,
  icmpv6: 58,
  sctp: 132
} as const

/** The tcpdump name of an IP protocol number (`unknown` for others). */
export const ipv4ProtocolName = (protocol: number): string => {
  switch (protocol) {
    case Ipv4Protocols.icmp:
      return "ICMP"
    case Ipv4Protocols.igmp:
      return "IGMP"
    case Ipv4Protocols.tcp:
      return "TCP"
    case Ipv4Protocols.udp:
      return "UDP"
    case Ipv4Protocols.ipv6:
      return "IPv6"
    case Ipv4Protocols.gre:
      return "GRE"
    case Ipv4Protocols.esp:
      return "ESP"
    case Ipv4Protocols.ah:
      return "AH"
    case Ipv4Protocols.icmpv6:
      return "ICMPv6"
    case Ipv4Protocols.sctp:
      return "SCTP"
    default:
      return "unknown"
  }
}

/**
 * The options area: a multiple of 4 bytes, at most 40 (RFC 791 §3.1, IHL),
 * whose options are well formed (each length at least 2 and within the area).
 */
export const Ipv4OptionsBytes = Schema.Uint8Array.check(
  Schema.isMaxLength(IPV4_MAX_OPTIONS_LENGTH),
  Schema.makeFilter((b: Uint8Array) => b.length % 4 === 0 || "a multiple of 4 bytes"),
  Schema.makeFilter((b: Uint8Array) => !isHeaderDefect(decodeIpv4Options(b)) || "well-formed options")
)

interface FormattedHeader {
  readonly dscp: number
  readonly ecn: number
  readonly totalLength: number
  readonly identification: number
  readonly reservedFlag: boolean
  readonly dontFragment: boolean
  readonly moreFragments: boolean
  readonly fragmentOffset: number
  readonly ttl: number
  readonly protocol: number
  readonly source: string
  readonly destination: string
  readonly options: Uint8Array
}

/**
 * tcpdump -v style, in this order:
 * `IP 10.0.0.1 > 10.0.0.2: proto UDP (17), ttl 64, id 4660, flags [DF], length 43`, with
 * `tos 0x2e` after the protocol when DSCP or ECN is set, `offset 1480` (bytes) before the flags
 * when the fragment offset is not 0, and `options (NOP,RA,EOL)` at the end when there are
 * options. Flags are tcpdump's: `+` (more fragments), `DF`, `rsvd`, or `none`.
 */
const formatIpv4Header = (h: FormattedHeader): string => {
  const tos = (h.dscp << 2) | h.ecn
  const flags = `${h.moreFragments ? "+" : ""}${h.dontFragment ? "DF" : ""}${h.reservedFlag ? "rsvd" : ""}` || "none"
  const parts = [
    `proto ${ipv4ProtocolName(h.protocol)} (${h.protocol})`,
    ...(tos !== 0 ? [`tos 0x${tos.toString(16)}`] : []),
    `ttl ${h.ttl}`,
    `id ${h.identification}`,
    ...(h.fragmentOffset !== 0 ? [`offset ${h.fragmentOffset * 8}`] : []),
    `flags [${flags}]`,
    `length ${h.totalLength}`
  ]
  if (h.options.length > 0) {
    const options = decodeIpv4Options(h.options)
    parts.push(`options (${isHeaderDefect(options) ? "bad" : formatIpv4Options(options)})`)
  }
  return `IP ${h.source} > ${h.destination}: ${parts.join(", ")}`
}

/** The IPv4 header's typed representation (RFC 791 §3.1). */
export const Ipv4Header = Schema.Struct({
  version: Schema.Literal(IPV4_VERSION),
  /** Differentiated Services codepoint, the high 6 bits of the old TOS octet (RFC 2474 §3). */
  dscp: UintBits(6),
  /** Explicit Congestion Notification, the low 2 bits of the old TOS octet (RFC 3168 §5). */
  ecn: UintBits(2),
  /** Header plus data, in bytes (at least the header length). */
  totalLength: Uint16,
  identification: Uint16,
  /** Bit 0 of the flags, reserved, must be zero (RFC 791 §3.1; the "evil bit" of RFC 3514). */
  reservedFlag: Schema.Boolean,
  /** DF, don't fragment. */
  dontFragment: Schema.Boolean,
  /** MF, more fragments. */
  moreFragments: Schema.Boolean,
  /** Where the fragment belongs in the datagram, in units of 8 bytes (13 bits). */
  fragmentOffset: UintBits(13),
  ttl: Uint8,
  protocol: Uint8,
  /** The header checksum as found (or to be written); the Schema does not verify it. */
  checksum: Uint16,
  source: Ipv4Address,
  destination: Ipv4Address,
  /** The options area, raw: exactly IHL × 4 − 20 bytes, padding included. */
  options: Ipv4OptionsBytes
})
  .check(
    Schema.makeFilter(
      (h) => h.totalLength >= IPV4_HEADER_LENGTH + h.options.length || "a total length of at least the header length"
    )
  )
  .pipe(Schema.overrideToFormatter(() => formatIpv4Header))
/** The IPv4 header's typed representation. */
export type Ipv4Header = typeof Ipv4Header.Type
