/**
 * The IPv6 header (RFC 8200 §3) and its extension-header chain (RFC 8200 §4):
 * Hop-by-Hop Options (0) and Destination Options (60) with their TLV options
 * (§4.2: Pad1, PadN, Router Alert RFC 2711, Jumbo Payload RFC 2675, others kept
 * as type and data), Routing (43, §4.4) and Fragment (44, §4.5).
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * |Version| Traffic Class |           Flow Label                  |
 * |         Payload Length        |  Next Header  |   Hop Limit   |
 * |                     Source Address (16 bytes)                 |
 * |                  Destination Address (16 bytes)               |
 * ```
 *
 * The typed header holds the fixed fields (the version is always 6 and is not
 * a field) and the extension headers in wire order, each with its own Next
 * Header field, so `encode(decode(bytes))` gives back the header bytes exactly.
 *
 * Rules every decoded header satisfies (and the Schema checks, so a typed
 * header always encodes to bytes that decode back to it):
 *
 * - The chain is consistent: each Next Header names the header after it; the
 *   chain ends at a protocol that is not one of 0, 43, 44, 60, or at a Fragment
 *   header (what follows a Fragment header is fragment data, RFC 8200 §4.5,
 *   read again after reassembly).
 * - Hop-by-Hop Options comes first if at all (RFC 8200 §4.1).
 * - At most `IPV6_MAX_EXTENSION_HEADERS` (16) extension headers: RFC 8200 sets
 *   no limit, but a chain of hundreds of 8-byte headers is only ever an
 *   attack, so the walk stops and refuses the packet after 16 (more than any
 *   legitimate packet carries: one of each kind, Destination Options twice).
 * - The options of a Hop-by-Hop or Destination Options header fill it exactly
 *   (padding is explicit, as Pad1 and PadN options); PadN carries zeros (RFC
 *   8200 §4.2; RFC 4942 §2.1.9.5 advises checking, as Linux does).
 * - Extension headers lie within the payload; the payload length does not
 *   exceed the bytes present (link padding after it is allowed).
 * - Jumbograms (RFC 2675) are accepted: Payload Length 0, Next Header 0, and a
 *   Jumbo Payload option in the Hop-by-Hop header holding a length above
 *   65,535. The typed header keeps `payloadLength: 0` and the option; the
 *   view's `payloadLength` is the jumbo length. The §3 errors are refused as
 *   `bad-jumbo`: the option with a non-zero Payload Length, a jumbo length
 *   ≤ 65,535, the option outside Hop-by-Hop or twice, the option together with
 *   a Fragment header, and Payload Length 0 with a Hop-by-Hop header but no
 *   option.
 * - A fragment (RFC 8200 §4.5) with M set carries a multiple of 8 bytes, and
 *   its offset plus its length stays within 65,535 bytes.
 */
import { Schema } from "effect"
import { Ipv6Address } from "../addresses/ipv6.ts"
import { Uint16, Uint32, Uint8, UintBits } from "../fields.ts"

/** Bytes in the fixed IPv6 header (RFC 8200 §3). */
export const IPV6_HEADER_LENGTH = 40

/** The most extension headers a packet may carry before it is refused (see the module comment). */
export const IPV6_MAX_EXTENSION_HEADERS = 16

/** Bytes in a Fragment header (RFC 8200 §4.5). */
export const IPV6_FRAGMENT_HEADER_LENGTH = 8

/** The largest Payload Length without a Jumbo Payload option (RFC 2675 §2). */
export const IPV6_MAX_PAYLOAD_LENGTH = 0xffff

/** Next Header values (IANA "Assigned Internet Protocol Numbers") this module names. */
export const Ipv6NextHeaders = {
  hopByHop: 0,
  tcp: 6,
  udp: 17,
  routing: 43,
  fragment: 44,
  icmpv6: 58,
  noNextHeader: 59,
  destinationOptions: 60
} as const

/** Option types of Hop-by-Hop and Destination Options headers (RFC 8200 §4.2, RFC 2711, RFC 2675). */
export const Ipv6OptionTypes = {
  pad1: 0x00,
  padN: 0x01,
  routerAlert: 0x05,
  jumboPayload: 0xc2
} as const

/** True for the Next Header values that the chain walk reads as extension headers (0, 43, 44, 60). */
export const isIpv6ExtensionHeader = (nextHeader: number): boolean =>
  nextHeader === Ipv6NextHeaders.hopByHop ||
  nextHeader === Ipv6NextHeaders.routing ||
  nextHeader === Ipv6NextHeaders.fragment ||
  nextHeader === Ipv6NextHeaders.destinationOptions

const isKnownOptionType = (type: number): boolean =>
  type === Ipv6OptionTypes.pad1 ||
  type === Ipv6OptionTypes.padN ||
  type === Ipv6OptionTypes.routerAlert ||
  type === Ipv6OptionTypes.jumboPayload

/**
 * What a node must do with an option it does not recognize, from the two
 * high bits of its type (RFC 8200 §4.2): `skip` (00), `discard` (01),
 * `discard-and-report` (10: discard and send ICMPv6 Parameter Problem code 2
 * whatever the destination), `discard-and-report-unless-multicast` (11: the
 * same, only when the destination is not multicast).
 */
export type Ipv6OptionAction = "skip" | "discard" | "discard-and-report" | "discard-and-report-unless-multicast"

/** The action for an unrecognized option of type `type` (RFC 8200 §4.2, the two high bits). */
export const ipv6OptionAction = (type: number): Ipv6OptionAction => {
  switch ((type >>> 6) & 3) {
    case 0:
      return "skip"
    case 1:
      return "discard"
    case 2:
      return "discard-and-report"
    default:
      return "discard-and-report-unless-multicast"
  }
}

/** Whether the option's data may change en route (RFC 8200 §4.2, the third-highest bit of the type). */
export const ipv6OptionMayChange = (type: number): boolean => (type & 0x20) !== 0

// ---------------------------------------------------------------- options (RFC 8200 §4.2)

/** Pad1 (type 0): one byte of padding, no length or data. */
export const Ipv6Pad1Option = Schema.TaggedStruct("Pad1", {})
/** PadN (type 1): `length` bytes of zero data, two or more bytes of padding in all. */
export const Ipv6PadNOption = Schema.TaggedStruct("PadN", { length: Uint8 })
/** Router Alert (type 5, RFC 2711): a 16-bit value (0 = MLD, 1 = RSVP, 2 = Active Networks). */
export const Ipv6RouterAlertOption = Schema.TaggedStruct("RouterAlert", { value: Uint16 })
/** Jumbo Payload (type 0xC2, RFC 2675 §2): the payload length when it exceeds 65,535. */
export const Ipv6JumboPayloadOption = Schema.TaggedStruct("JumboPayload", { length: Uint32 })
/** Any other option, kept as its type and data (see `ipv6OptionAction` for what its type asks). */
export const Ipv6UnknownOption = Schema.TaggedStruct("UnknownOption", {
  type: Uint8.check(Schema.makeFilter((t: number) => !isKnownOptionType(t) || "an option type other than 0, 1, 5, 0xC2")),
  data: Schema.Uint8Array.check(Schema.isMaxLength(255))
})

/** An option of a Hop-by-Hop or Destination Options header (RFC 8200 §4.2). */
export const Ipv6Option = Schema.Union([
  Ipv6Pad1Option,
  Ipv6PadNOption,
  Ipv6RouterAlertOption,
  Ipv6JumboPayloadOption,
  Ipv6UnknownOption
])
/** An option of a Hop-by-Hop or Destination Options header. */
export type Ipv6Option = typeof Ipv6Option.Type

/** Bytes an option takes on the wire: 1 for Pad1, else type, length and data. */
export const ipv6OptionLength = (option: Ipv6Option): number => {
  switch (option._tag) {
    case "Pad1":
      return 1
    case "PadN":
      return 2 + option.length
    case "RouterAlert":
      return 4
    case "JumboPayload":
      return 6
    case "UnknownOption":
      return 2 + option.data.length
  }
}

/** Bytes the options take, plus the 2-byte Next Header and Hdr Ext Len fields in front. */
const optionsHeaderLength = (options: ReadonlyArray<Ipv6Option>): number => {
  let n = 2
  for (const option of options) n += ipv6OptionLength(option)
  return n
}

/** The options fill the header exactly: 2 + options is a multiple of 8, at most 2048 bytes (RFC 8200 §4.3, §4.6). */
const optionsFillHeader = Schema.makeFilter((options: ReadonlyArray<Ipv6Option>) => {
  const n = optionsHeaderLength(options)
  return (n % 8 === 0 && n <= 2048) || "options filling the header to a multiple of 8 bytes (at most 2048)"
})

// ---------------------------------------------------------------- extension headers (RFC 8200 §4)

/** Hop-by-Hop Options header (Next Header 0, RFC 8200 §4.3): options every node on the path examines. */
export const Ipv6HopByHopHeader = Schema.TaggedStruct("HopByHop", {
  nextHeader: Uint8,
  options: Schema.Array(Ipv6Option).check(optionsFillHeader)
})
/** Destination Options header (Next Header 60, RFC 8200 §4.6): options for the destination(s). */
export const Ipv6DestinationOptionsHeader = Schema.TaggedStruct("DestinationOptions", {
  nextHeader: Uint8,
  options: Schema.Array(Ipv6Option).check(optionsFillHeader)
})
/**
 * Routing header (Next Header 43, RFC 8200 §4.4): routing type, segments left
 * and the type-specific data as bytes (4 bytes less than a multiple of 8, so
 * the header is a multiple of 8, at most 2044).
 */
export const Ipv6RoutingHeader = Schema.TaggedStruct("Routing", {
  nextHeader: Uint8,
  routingType: Uint8,
  segmentsLeft: Uint8,
  data: Schema.Uint8Array.check(
    Schema.makeFilter(
      (data: Uint8Array) => (data.length % 8 === 4 && data.length <= 2044) || "4 bytes less than a multiple of 8, at most 2044"
    )
  )
})
/**
 * Fragment header (Next Header 44, RFC 8200 §4.5): fragment offset in 8-byte
 * units, the M (more fragments) flag, the identification, and the two
 * reserved fields (8 and 2 bits), kept so the header re-encodes exactly.
 */
export const Ipv6FragmentHeader = Schema.TaggedStruct("Fragment", {
  nextHeader: Uint8,
  reserved: Uint8,
  fragmentOffset: UintBits(13),
  reserved2: UintBits(2),
  moreFragments: Schema.Boolean,
  identification: Uint32
})

/** An IPv6 extension header, as the chain walk reads it. */
export const Ipv6ExtensionHeader = Schema.Union([
  Ipv6HopByHopHeader,
  Ipv6DestinationOptionsHeader,
  Ipv6RoutingHeader,
  Ipv6FragmentHeader
])
/** An IPv6 extension header. */
export type Ipv6ExtensionHeader = typeof Ipv6ExtensionHeader.Type

/** The Next Header value that announces an extension header of this kind. */
export const ipv6ExtensionHeaderNumber = (tag: Ipv6ExtensionHeader["_tag"]): number => {
  switch (tag) {
    case "HopByHop":
      return Ipv6NextHeaders.hopByHop
    case "DestinationOptions":
      return Ipv6NextHeaders.destinationOptions
    case "Routing":
      return Ipv6NextHeaders.routing
    case "Fragment":
      return Ipv6NextHeaders.fragment
  }
}

/** Bytes an extension header takes on the wire. */
export const ipv6ExtensionHeaderLength = (header: Ipv6ExtensionHeader): number => {
  switch (header._tag) {
    case "HopByHop":
    case "DestinationOptions":
      return optionsHeaderLength(header.options)
    case "Routing":
      return 4 + header.data.length
    case "Fragment":
      return IPV6_FRAGMENT_HEADER_LENGTH
  }
}

// ---------------------------------------------------------------- the header

/** The fields of the typed header the checks and the formatter read. */
interface Ipv6HeaderShape {
  readonly trafficClass: number
  readonly flowLabel: number
  readonly payloadLength: number
  readonly nextHeader: number
  readonly hopLimit: number
  readonly source: string
  readonly destination: string
  readonly extensionHeaders: ReadonlyArray<Ipv6ExtensionHeader>
}

/** The jumbo length of the header's Jumbo Payload option, or -1 (RFC 2675). */
const jumboLength = (h: Ipv6HeaderShape): number => {
  for (const e of h.extensionHeaders) {
    if (e._tag === "HopByHop") for (const o of e.options) if (o._tag === "JumboPayload") return o.length
  }
  return -1
}

/** Why a typed header could not have been decoded (the rules of the module comment), or `undefined`. */
const ipv6HeaderProblem = (h: Ipv6HeaderShape): string | undefined => {
  const chain = h.extensionHeaders
  if (chain.length > IPV6_MAX_EXTENSION_HEADERS) return `at most ${IPV6_MAX_EXTENSION_HEADERS} extension headers`
  let nextHeader = h.nextHeader
  let extensionLength = 0
  let jumbos = 0
  for (let i = 0; i < chain.length; i++) {
    const e = chain[i]
    if (nextHeader !== ipv6ExtensionHeaderNumber(e._tag)) return "each Next Header naming the header after it"
    if (e._tag === "HopByHop" && i > 0) return "Hop-by-Hop Options only right after the fixed header"
    if (e._tag === "Fragment" && i !== chain.length - 1) return "no extension header after a Fragment header"
    if (e._tag === "HopByHop" || e._tag === "DestinationOptions") {
      for (const o of e.options) {
        if (o._tag !== "JumboPayload") continue
        if (e._tag !== "HopByHop") return "a Jumbo Payload option only in the Hop-by-Hop header"
        jumbos++
      }
    }
    extensionLength += ipv6ExtensionHeaderLength(e)
    nextHeader = e.nextHeader
  }
  const last = chain[chain.length - 1]
  if ((last === undefined || last._tag !== "Fragment") && isIpv6ExtensionHeader(nextHeader)) {
    return "a chain ending at an upper-layer protocol"
  }
  let payloadLength = h.payloadLength
  if (jumbos > 1) return "at most one Jumbo Payload option"
  if (jumbos === 1) {
    const jumbo = jumboLength(h)
    if (h.payloadLength !== 0) return "Payload Length 0 with a Jumbo Payload option"
    if (jumbo <= IPV6_MAX_PAYLOAD_LENGTH) return "a jumbo length above 65535"
    if (last !== undefined && last._tag === "Fragment") return "no Fragment header in a jumbogram"
    payloadLength = jumbo
  }
  if (extensionLength > payloadLength) return "extension headers within the payload"
  if (last !== undefined && last._tag === "Fragment") {
    const dataLength = payloadLength - extensionLength
    if (last.moreFragments && dataLength % 8 !== 0) return "a non-last fragment carrying a multiple of 8 bytes"
    if (last.fragmentOffset * 8 + dataLength > IPV6_MAX_PAYLOAD_LENGTH) return "a fragment ending within 65535 bytes"
  }
  return undefined
}

/** The tcpdump name of an upper-layer protocol number. */
export const ipv6ProtocolName = (protocol: number): string => {
  switch (protocol) {
    case Ipv6NextHeaders.tcp:
      return "TCP"
    case Ipv6NextHeaders.udp:
      return "UDP"
    case Ipv6NextHeaders.icmpv6:
      return "ICMP6"
    case Ipv6NextHeaders.noNextHeader:
      return "no next header"
    default:
      return `ip-proto-${protocol}`
  }
}

/**
 * tcpdump style, the chain of extension headers as tcpdump names them, then
 * the upper-layer protocol and the fixed fields:
 * `IP6 fe80::1 > ff02::1: ICMP6, hlim 255, length 32`,
 * `IP6 fe80::1 > ff02::16: HBH ICMP6, hlim 1, length 36`,
 * `IP6 2001:db8::1 > 2001:db8::2: frag (0|1232) UDP, hlim 64, length 1240`,
 * `IP6 2001:db8::1 > 2001:db8::2: frag (1232|8), hlim 64, length 16` (a
 * later fragment: what follows is not a header, so no protocol, as tcpdump).
 * `class 0x..` and `flowlabel 0x.....` appear before `hlim` when not zero.
 * `length` is the payload length (the jumbo length of a jumbogram).
 */
const formatIpv6Header = (h: Ipv6HeaderShape): string => {
  const jumbo = jumboLength(h)
  const payloadLength = jumbo >= 0 ? jumbo : h.payloadLength
  const parts: Array<string> = []
  let offset = 0
  let protocol = h.nextHeader
  let laterFragment = false
  for (const e of h.extensionHeaders) {
    offset += ipv6ExtensionHeaderLength(e)
    protocol = e.nextHeader
    switch (e._tag) {
      case "HopByHop":
        parts.push("HBH")
        break
      case "DestinationOptions":
        parts.push("DSTOPT")
        break
      case "Routing":
        parts.push(`RT6 (type=${e.routingType}, segleft=${e.segmentsLeft})`)
        break
      case "Fragment":
        parts.push(`frag (${e.fragmentOffset * 8}|${payloadLength - offset})`)
        laterFragment = e.fragmentOffset !== 0
        break
    }
  }
  const chain = parts.length === 0 ? "" : `${parts.join(" ")}${laterFragment ? "" : " "}`
  const upper = laterFragment ? "" : ipv6ProtocolName(protocol)
  const extras = [
    ...(h.trafficClass !== 0 ? [`class 0x${h.trafficClass.toString(16).padStart(2, "0")}`] : []),
    ...(h.flowLabel !== 0 ? [`flowlabel 0x${h.flowLabel.toString(16).padStart(5, "0")}`] : []),
    `hlim ${h.hopLimit}`,
    `length ${payloadLength}`
  ]
  return `IP6 ${h.source} > ${h.destination}: ${chain}${upper}, ${extras.join(", ")}`
}

/** The IPv6 header's typed representation: the fixed header (RFC 8200 §3) and the extension headers (§4). */
export const Ipv6Header = Schema.Struct({
  /** Traffic Class (RFC 8200 §7; DSCP and ECN, RFC 2474, RFC 3168). */
  trafficClass: Uint8,
  /** Flow Label, 20 bits (RFC 8200 §6, RFC 6437). */
  flowLabel: UintBits(20),
  /** Payload Length: bytes after the fixed header, extension headers included; 0 in a jumbogram. */
  payloadLength: Uint16,
  /** Next Header of the fixed header: the first extension header or the upper-layer protocol. */
  nextHeader: Uint8,
  /** Hop Limit. */
  hopLimit: Uint8,
  source: Ipv6Address,
  destination: Ipv6Address,
  /** The extension headers, in wire order. */
  extensionHeaders: Schema.Array(Ipv6ExtensionHeader)
})
  .check(Schema.makeFilter((h: Ipv6HeaderShape) => ipv6HeaderProblem(h) ?? true))
  .pipe(Schema.overrideToFormatter(() => formatIpv6Header))
/** The IPv6 header's typed representation. */
export type Ipv6Header = typeof Ipv6Header.Type

/** The upper-layer protocol of a typed header: the last Next Header of its chain. */
export const ipv6UpperLayerProtocol = (header: {
  readonly nextHeader: number
  readonly extensionHeaders: ReadonlyArray<Ipv6ExtensionHeader>
}): number => {
  const last = header.extensionHeaders[header.extensionHeaders.length - 1]
  return last === undefined ? header.nextHeader : last.nextHeader
}

/** Bytes of a typed header on the wire: 40 plus its extension headers. */
export const ipv6HeaderLength = (header: { readonly extensionHeaders: ReadonlyArray<Ipv6ExtensionHeader> }): number => {
  let n = IPV6_HEADER_LENGTH
  for (const e of header.extensionHeaders) n += ipv6ExtensionHeaderLength(e)
  return n
}
