/**
 * ICMPv6 messages (RFC 4443) and the Neighbor Discovery messages and options
 * (RFC 4861), whole: the typed message holds the 4-byte header (type, code,
 * checksum), the message body, and what follows it (echo data, the invoking
 * packet of an error, NDP options), so `encode(decode(bytes))` gives back the
 * bytes exactly. Reserved and unused fields are kept for the same reason.
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * |     Type      |     Code      |          Checksum             |
 * |                    (4 bytes, by type)                         |
 * |                    Message body ...                           |
 * ```
 *
 * Every message is at least 8 bytes (every type RFC 4443 and RFC 4861 define
 * is); an unknown type is kept as its type, code, the 4 bytes after the
 * checksum (`rest`) and the data. The checksum covers the IPv6 pseudo-header
 * (Next Header 58) and the message (RFC 4443 §2.3, RFC 8200 §8.1).
 *
 * The wire layer checks the layout only: lengths, and that NDP options have a
 * non-zero length and fit (RFC 4861 §4.6). The §6.1 and §7.1 validity rules
 * that depend on the IPv6 header or on state (hop limit 255, code 0, which
 * options may appear with an unspecified source) are the NDP layer's.
 *
 * NDP options of a known type whose length is not that option's (a
 * link-layer address option other than 8 bytes, as on a non-Ethernet link; a
 * Prefix Information other than 32 bytes; an MTU other than 8) are kept as
 * `UnknownNdpOption`: RFC 4861 asks receivers to ignore what they do not
 * understand rather than drop the packet.
 */
import { Schema } from "effect"
import { Ipv6Address, ipv6ToString } from "../addresses/ipv6.ts"
import { MacAddress } from "../addresses/mac.ts"
import { Uint16, Uint32, Uint8, UintBits } from "../fields.ts"

/** Bytes every ICMPv6 message has: type, code, checksum and 4 bytes by type (RFC 4443 §2.1). */
export const ICMPV6_HEADER_LENGTH = 8

/** ICMPv6 types (RFC 4443 §2.1, RFC 4861 §4). */
export const Icmpv6Types = {
  destinationUnreachable: 1,
  packetTooBig: 2,
  timeExceeded: 3,
  parameterProblem: 4,
  echoRequest: 128,
  echoReply: 129,
  routerSolicitation: 133,
  routerAdvertisement: 134,
  neighborSolicitation: 135,
  neighborAdvertisement: 136,
  redirect: 137
} as const

/** NDP option types (RFC 4861 §4.6). */
export const NdpOptionTypes = {
  sourceLinkLayerAddress: 1,
  targetLinkLayerAddress: 2,
  prefixInformation: 3,
  redirectedHeader: 4,
  mtu: 5
} as const

/** Where the NDP options of a message of `type` start (bytes from its first byte), or -1 for a type without options. */
export const ndpOptionsStart = (type: number): number => {
  switch (type) {
    case Icmpv6Types.routerSolicitation:
      return 8
    case Icmpv6Types.routerAdvertisement:
      return 16
    case Icmpv6Types.neighborSolicitation:
    case Icmpv6Types.neighborAdvertisement:
      return 24
    case Icmpv6Types.redirect:
      return 40
    default:
      return -1
  }
}

const isKnownType = (type: number): boolean =>
  (type >= 1 && type <= 4) || type === 128 || type === 129 || (type >= 133 && type <= 137)

/** True when an NDP option of `type` with `dataLength` bytes after type and length has a typed form here. */
export const isKnownNdpOptionForm = (type: number, dataLength: number): boolean => {
  switch (type) {
    case NdpOptionTypes.sourceLinkLayerAddress:
    case NdpOptionTypes.targetLinkLayerAddress:
    case NdpOptionTypes.mtu:
      return dataLength === 6
    case NdpOptionTypes.prefixInformation:
      return dataLength === 30
    case NdpOptionTypes.redirectedHeader:
      return true
    default:
      return false
  }
}

// ---------------------------------------------------------------- NDP options (RFC 4861 §4.6)

/** Source Link-Layer Address (type 1, length 1 on Ethernet, RFC 4861 §4.6.1, RFC 2464 §6). */
export const NdpSourceLinkLayerAddress = Schema.TaggedStruct("SourceLinkLayerAddress", { address: MacAddress })
/** Target Link-Layer Address (type 2, length 1 on Ethernet, RFC 4861 §4.6.1, RFC 2464 §6). */
export const NdpTargetLinkLayerAddress = Schema.TaggedStruct("TargetLinkLayerAddress", { address: MacAddress })
/**
 * Prefix Information (type 3, length 4, RFC 4861 §4.6.2): prefix length, the
 * L (on-link) and A (autonomous) flags, the six other flag bits (R of RFC 6275
 * and reserved) as a number, the lifetimes in seconds, Reserved2, the prefix.
 */
export const NdpPrefixInformation = Schema.TaggedStruct("PrefixInformation", {
  prefixLength: Uint8,
  onLink: Schema.Boolean,
  autonomous: Schema.Boolean,
  flags: UintBits(6),
  validLifetime: Uint32,
  preferredLifetime: Uint32,
  reserved: Uint32,
  prefix: Ipv6Address
})
/**
 * Redirected Header (type 4, RFC 4861 §4.6.3): 6 reserved bytes (as a
 * 48-bit number) and the start of the redirected packet, a multiple of 8 bytes.
 */
export const NdpRedirectedHeader = Schema.TaggedStruct("RedirectedHeader", {
  reserved: UintBits(48),
  packet: Schema.Uint8Array.check(
    Schema.makeFilter((p: Uint8Array) => (p.length % 8 === 0 && p.length <= 2032) || "a multiple of 8 bytes, at most 2032")
  )
})
/** MTU (type 5, length 1, RFC 4861 §4.6.4): 2 reserved bytes and the link MTU. */
export const NdpMtu = Schema.TaggedStruct("Mtu", { reserved: Uint16, mtu: Uint32 })
/** Any other option (or a known type with another length), kept as type and data (6 bytes less than a multiple of 8). */
export const NdpUnknownOption = Schema.TaggedStruct("UnknownNdpOption", {
  type: Uint8,
  data: Schema.Uint8Array.check(
    Schema.makeFilter(
      (d: Uint8Array) => (d.length % 8 === 6 && d.length <= 2038) || "6 bytes less than a multiple of 8, at most 2038"
    )
  )
}).check(Schema.makeFilter((o) => !isKnownNdpOptionForm(o.type, o.data.length) || "an option without a typed form"))

/** An NDP option (RFC 4861 §4.6). */
export const NdpOption = Schema.Union([
  NdpSourceLinkLayerAddress,
  NdpTargetLinkLayerAddress,
  NdpPrefixInformation,
  NdpRedirectedHeader,
  NdpMtu,
  NdpUnknownOption
])
/** An NDP option. */
export type NdpOption = typeof NdpOption.Type

/** Bytes an NDP option takes on the wire (a multiple of 8). */
export const ndpOptionLength = (option: typeof NdpOption.Encoded): number => {
  switch (option._tag) {
    case "SourceLinkLayerAddress":
    case "TargetLinkLayerAddress":
    case "Mtu":
      return 8
    case "PrefixInformation":
      return 32
    case "RedirectedHeader":
      return 8 + option.packet.length
    case "UnknownNdpOption":
      return 2 + option.data.length
  }
}

// ---------------------------------------------------------------- messages

const code = Uint8
const checksum = Uint16
const options = Schema.Array(NdpOption)

/** Echo Request (128, RFC 4443 §4.1): identifier, sequence number, data. */
export const Icmpv6EchoRequest = Schema.TaggedStruct("EchoRequest", {
  code,
  checksum,
  identifier: Uint16,
  sequence: Uint16,
  data: Schema.Uint8Array
})
/** Echo Reply (129, RFC 4443 §4.2): identifier, sequence number, data. */
export const Icmpv6EchoReply = Schema.TaggedStruct("EchoReply", {
  code,
  checksum,
  identifier: Uint16,
  sequence: Uint16,
  data: Schema.Uint8Array
})
/** Destination Unreachable (1, RFC 4443 §3.1): code 0–7, the unused word, the invoking packet. */
export const Icmpv6DestinationUnreachable = Schema.TaggedStruct("DestinationUnreachable", {
  code,
  checksum,
  unused: Uint32,
  invokingPacket: Schema.Uint8Array
})
/** Packet Too Big (2, RFC 4443 §3.2): the next-hop MTU, the invoking packet. */
export const Icmpv6PacketTooBig = Schema.TaggedStruct("PacketTooBig", {
  code,
  checksum,
  mtu: Uint32,
  invokingPacket: Schema.Uint8Array
})
/** Time Exceeded (3, RFC 4443 §3.3): code 0 (hop limit) or 1 (reassembly), the unused word, the invoking packet. */
export const Icmpv6TimeExceeded = Schema.TaggedStruct("TimeExceeded", {
  code,
  checksum,
  unused: Uint32,
  invokingPacket: Schema.Uint8Array
})
/** Parameter Problem (4, RFC 4443 §3.4): code, the pointer to the offending octet, the invoking packet. */
export const Icmpv6ParameterProblem = Schema.TaggedStruct("ParameterProblem", {
  code,
  checksum,
  pointer: Uint32,
  invokingPacket: Schema.Uint8Array
})
/** Router Solicitation (133, RFC 4861 §4.1): reserved word, options. */
export const Icmpv6RouterSolicitation = Schema.TaggedStruct("RouterSolicitation", {
  code,
  checksum,
  reserved: Uint32,
  options
})
/**
 * Router Advertisement (134, RFC 4861 §4.2): Cur Hop Limit, the M (managed)
 * and O (other configuration) flags, the six other flag bits (H, Prf, P of
 * RFC 6275, RFC 4191, RFC 4389, and reserved) as a number, Router Lifetime
 * (s), Reachable Time (ms), Retrans Timer (ms), options.
 */
export const Icmpv6RouterAdvertisement = Schema.TaggedStruct("RouterAdvertisement", {
  code,
  checksum,
  curHopLimit: Uint8,
  managed: Schema.Boolean,
  other: Schema.Boolean,
  flags: UintBits(6),
  routerLifetime: Uint16,
  reachableTime: Uint32,
  retransTimer: Uint32,
  options
})
/** Neighbor Solicitation (135, RFC 4861 §4.3): reserved word, target address, options. */
export const Icmpv6NeighborSolicitation = Schema.TaggedStruct("NeighborSolicitation", {
  code,
  checksum,
  reserved: Uint32,
  target: Ipv6Address,
  options
})
/** Neighbor Advertisement (136, RFC 4861 §4.4): the R, S, O flags, 29 reserved bits, target address, options. */
export const Icmpv6NeighborAdvertisement = Schema.TaggedStruct("NeighborAdvertisement", {
  code,
  checksum,
  router: Schema.Boolean,
  solicited: Schema.Boolean,
  override: Schema.Boolean,
  reserved: UintBits(29),
  target: Ipv6Address,
  options
})
/** Redirect (137, RFC 4861 §4.5): reserved word, target (the better first hop), destination, options. */
export const Icmpv6Redirect = Schema.TaggedStruct("Redirect", {
  code,
  checksum,
  reserved: Uint32,
  target: Ipv6Address,
  destination: Ipv6Address,
  options
})
/** A message of any other type: type, code, checksum, the 4 bytes after it as a number, the rest as data. */
export const Icmpv6Unknown = Schema.TaggedStruct("UnknownIcmpv6", {
  type: Uint8.check(Schema.makeFilter((t: number) => !isKnownType(t) || "a type without a typed form")),
  code,
  checksum,
  rest: Uint32,
  data: Schema.Uint8Array
})

const messages = [
  Icmpv6EchoRequest,
  Icmpv6EchoReply,
  Icmpv6DestinationUnreachable,
  Icmpv6PacketTooBig,
  Icmpv6TimeExceeded,
  Icmpv6ParameterProblem,
  Icmpv6RouterSolicitation,
  Icmpv6RouterAdvertisement,
  Icmpv6NeighborSolicitation,
  Icmpv6NeighborAdvertisement,
  Icmpv6Redirect,
  Icmpv6Unknown
] as const

/** A message in its encoded form (addresses as plain strings); every typed message is one. */
type AnyMessage = (typeof messages)[number]["Encoded"]

/** The ICMPv6 type number of a typed message (or of emitter fields, which carry the same tags). */
export const icmpv6Type = (
  message:
    | { readonly _tag: Exclude<AnyMessage["_tag"], "UnknownIcmpv6"> }
    | { readonly _tag: "UnknownIcmpv6"; readonly type: number }
): number => {
  switch (message._tag) {
    case "EchoRequest":
      return Icmpv6Types.echoRequest
    case "EchoReply":
      return Icmpv6Types.echoReply
    case "DestinationUnreachable":
      return Icmpv6Types.destinationUnreachable
    case "PacketTooBig":
      return Icmpv6Types.packetTooBig
    case "TimeExceeded":
      return Icmpv6Types.timeExceeded
    case "ParameterProblem":
      return Icmpv6Types.parameterProblem
    case "RouterSolicitation":
      return Icmpv6Types.routerSolicitation
    case "RouterAdvertisement":
      return Icmpv6Types.routerAdvertisement
    case "NeighborSolicitation":
      return Icmpv6Types.neighborSolicitation
    case "NeighborAdvertisement":
      return Icmpv6Types.neighborAdvertisement
    case "Redirect":
      return Icmpv6Types.redirect
    case "UnknownIcmpv6":
      return message.type
  }
}

const optionsLength = (list: ReadonlyArray<typeof NdpOption.Encoded>): number => {
  let n = 0
  for (const o of list) n += ndpOptionLength(o)
  return n
}

/** Bytes of a typed message on the wire. */
export const icmpv6MessageLength = (message: AnyMessage): number => {
  switch (message._tag) {
    case "EchoRequest":
    case "EchoReply":
    case "UnknownIcmpv6":
      return ICMPV6_HEADER_LENGTH + message.data.length
    case "DestinationUnreachable":
    case "PacketTooBig":
    case "TimeExceeded":
    case "ParameterProblem":
      return ICMPV6_HEADER_LENGTH + message.invokingPacket.length
    case "RouterSolicitation":
    case "RouterAdvertisement":
    case "NeighborSolicitation":
    case "NeighborAdvertisement":
    case "Redirect":
      return ndpOptionsStart(icmpv6Type(message)) + optionsLength(message.options)
  }
}

const destinationUnreachableText = (c: number): string => {
  switch (c) {
    case 0:
      return "unreachable route"
    case 1:
      return "unreachable prohibited"
    case 2:
      return "beyond scope"
    case 3:
      return "unreachable address"
    case 4:
      return "unreachable port"
    case 5:
      return "failed policy"
    case 6:
      return "reject route"
    case 7:
      return "source routing header error"
    default:
      return `code ${c}`
  }
}

const parameterProblemText = (c: number): string => {
  switch (c) {
    case 0:
      return "erroneous header field"
    case 1:
      return "next header"
    case 2:
      return "option"
    default:
      return `code ${c}`
  }
}

/**
 * For a port unreachable (code 4), the quoted packet's destination and port,
 * as tcpdump prints them: `, fd00::2 udp port 5002` (empty when the quote is
 * too short, has extension headers, or is neither TCP nor UDP).
 */
const quotedPort = (code: number, quoted: Uint8Array): string => {
  if (code !== 4 || quoted.length < 44 || quoted[0] >>> 4 !== 6) return ""
  const next = quoted[6]
  if (next !== 6 && next !== 17) return ""
  const port = (quoted[42] << 8) | quoted[43]
  return `, ${ipv6ToString(quoted, 24)} ${next === 6 ? "tcp" : "udp"} port ${port}`
}

/** tcpdump's names for the common types this module keeps as unknown. */
const unknownTypeText = (type: number): string => {
  switch (type) {
    case 130:
      return "multicast listener query"
    case 131:
      return "multicast listener report"
    case 132:
      return "multicast listener done"
    case 143:
      return "multicast listener report v2"
    default:
      return `unknown icmp6 type (${type})`
  }
}

/**
 * tcpdump style (its default, non-verbose lines): `ICMP6, echo request, id 1,
 * seq 2, length 64`, `ICMP6, neighbor solicitation, who has fe80::2, length
 * 32`, `ICMP6, neighbor advertisement, tgt is fe80::2, length 32`, `ICMP6,
 * router advertisement, length 64`, `ICMP6, redirect, 2001:db8::4 to fe80::3,
 * length 40` (destination, then target), `ICMP6, packet too big, mtu 1280,
 * length 1240`, `ICMP6, destination unreachable, unreachable port, fd00::2 udp port 5002, length 56`,
 * `ICMP6, time exceeded in-transit, length 56`, `ICMP6, parameter problem,
 * next header - octet 6, length 56`, `ICMP6, unknown icmp6 type (200), length
 * 8`. `length` is the message length. Where tcpdump prints the quoted packet
 * (destination unreachable), this prints the code's name only.
 */
const formatIcmpv6Message = (m: AnyMessage): string => {
  const length = `length ${icmpv6MessageLength(m)}`
  switch (m._tag) {
    case "EchoRequest":
      return `ICMP6, echo request, id ${m.identifier}, seq ${m.sequence}, ${length}`
    case "EchoReply":
      return `ICMP6, echo reply, id ${m.identifier}, seq ${m.sequence}, ${length}`
    case "DestinationUnreachable":
      return `ICMP6, destination unreachable, ${destinationUnreachableText(m.code)}${quotedPort(m.code, m.invokingPacket)}, ${length}`
    case "PacketTooBig":
      return `ICMP6, packet too big, mtu ${m.mtu}, ${length}`
    case "TimeExceeded":
      return m.code === 1
        ? `ICMP6, time exceeded in-transit (reassembly), ${length}`
        : `ICMP6, time exceeded in-transit, ${length}`
    case "ParameterProblem":
      return `ICMP6, parameter problem, ${parameterProblemText(m.code)} - octet ${m.pointer}, ${length}`
    case "RouterSolicitation":
      return `ICMP6, router solicitation, ${length}`
    case "RouterAdvertisement":
      return `ICMP6, router advertisement, ${length}`
    case "NeighborSolicitation":
      return `ICMP6, neighbor solicitation, who has ${m.target}, ${length}`
    case "NeighborAdvertisement":
      return `ICMP6, neighbor advertisement, tgt is ${m.target}, ${length}`
    case "Redirect":
      return `ICMP6, redirect, ${m.destination} to ${m.target}, ${length}`
    case "UnknownIcmpv6":
      // RFC 3810 §5.2: an MLDv2 report's low 16 rest-of-header bits count its records, as tcpdump prints.
      return m.type === 143
        ? `ICMP6, ${unknownTypeText(m.type)}, ${m.rest & 0xffff} group record(s), ${length}`
        : `ICMP6, ${unknownTypeText(m.type)}, ${length}`
  }
}

/** An ICMPv6 message's typed representation (RFC 4443, RFC 4861), whole. */
export const Icmpv6Message = Schema.Union(messages).pipe(Schema.overrideToFormatter(() => formatIcmpv6Message))
/** An ICMPv6 message's typed representation. */
export type Icmpv6Message = typeof Icmpv6Message.Type
