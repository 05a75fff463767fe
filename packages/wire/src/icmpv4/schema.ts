/**
 * ICMPv4 messages (RFC 792; next-hop MTU RFC 1191 §4): an 8-byte header
 * (type, code, checksum, 4 bytes whose meaning depends on the type) and the
 * message body, which runs to the end of the IP payload (ICMP has no length
 * field). The checksum covers the whole message, with no pseudo-header.
 *
 * The typed representation is a union by message kind. A message gets a
 * typed kind only when every one of its bytes fits that kind (code 0 for
 * echo, the unused bytes zero for the errors, a destination-unreachable code
 * of 0 to 15); anything else, unknown types included, is kept as `Other`
 * with its type, code and raw rest of header, so decoding then encoding is
 * byte-exact. (Bytes that RFC 792 calls unused but RFC 4884 gives a length,
 * when non-zero, make a message `Other` too.)
 */
import { Schema } from "effect"
import { Ipv4Address, ipv4FromString, ipv4ToString } from "../addresses/ipv4.ts"
import { Uint16, Uint32, Uint8, UintBits } from "../fields.ts"

/** Bytes in the ICMPv4 header: type, code, checksum, rest of header. */
export const ICMPV4_HEADER_LENGTH = 8

/** ICMPv4 message types (RFC 792; RFC 1256 for router advertisement and solicitation; RFC 950 for address mask). */
export const Icmpv4Types = {
  echoReply: 0,
  destinationUnreachable: 3,
  sourceQuench: 4,
  redirect: 5,
  echoRequest: 8,
  routerAdvertisement: 9,
  routerSolicitation: 10,
  timeExceeded: 11,
  parameterProblem: 12,
  timestampRequest: 13,
  timestampReply: 14,
  informationRequest: 15,
  informationReply: 16,
  addressMaskRequest: 17,
  addressMaskReply: 18
} as const

/** Destination unreachable codes (RFC 792; RFC 1122 §3.2.2.1; RFC 1812 §5.2.7.1). */
export const Icmpv4UnreachableCodes = {
  net: 0,
  host: 1,
  protocol: 2,
  port: 3,
  fragmentationNeeded: 4,
  sourceRouteFailed: 5,
  netUnknown: 6,
  hostUnknown: 7,
  sourceHostIsolated: 8,
  netProhibited: 9,
  hostProhibited: 10,
  netTos: 11,
  hostTos: 12,
  communicationProhibited: 13,
  hostPrecedenceViolation: 14,
  precedenceCutoff: 15
} as const

/** Time exceeded codes (RFC 792). */
export const Icmpv4TimeExceededCodes = { ttl: 0, reassembly: 1 } as const

/** Redirect codes (RFC 792). */
export const Icmpv4RedirectCodes = { net: 0, host: 1, tosNet: 2, tosHost: 3 } as const

/** The tags of the typed message kinds. */
export type Icmpv4Kind =
  | "EchoReply"
  | "EchoRequest"
  | "DestinationUnreachable"
  | "TimeExceeded"
  | "Redirect"
  | "ParameterProblem"
  | "Other"

/**
 * Which typed kind a message of this type, code and rest of header (the 4
 * bytes after the checksum, as an unsigned 32-bit number) decodes to:
 * - echo reply (0) and echo request (8) with code 0: `rest` is identifier and sequence (RFC 792);
 * - destination unreachable (3) with a code of 0 to 15 and `rest` unused (zero), except that for
 *   code 4 its low 16 bits are the next-hop MTU (RFC 1191 §4);
 * - time exceeded (11) with `rest` unused (zero);
 * - redirect (5): `rest` is the gateway address;
 * - parameter problem (12): `rest` is the pointer octet and three unused (zero) bytes;
 * - anything else: `Other`.
 */
export const icmpv4Kind = (type: number, code: number, rest: number): Icmpv4Kind => {
  switch (type) {
    case Icmpv4Types.echoReply:
      return code === 0 ? "EchoReply" : "Other"
    case Icmpv4Types.echoRequest:
      return code === 0 ? "EchoRequest" : "Other"
    case Icmpv4Types.destinationUnreachable:
      if (code > 15) return "Other"
      return (code === Icmpv4UnreachableCodes.fragmentationNeeded ? rest >>> 16 : rest) === 0
        ? "DestinationUnreachable"
        : "Other"
    case Icmpv4Types.timeExceeded:
      return rest === 0 ? "TimeExceeded" : "Other"
    case Icmpv4Types.redirect:
      return "Redirect"
    case Icmpv4Types.parameterProblem:
      return (rest & 0x00ffffff) === 0 ? "ParameterProblem" : "Other"
    default:
      return "Other"
  }
}

const EchoFields = {
  checksum: Uint16,
  identifier: Uint16,
  sequence: Uint16,
  /** The echo data, returned unchanged in the reply. */
  data: Schema.Uint8Array
}

/** Echo reply (type 0, code 0; RFC 792). */
export const Icmpv4EchoReply = Schema.TaggedStruct("EchoReply", EchoFields)
/** Echo request (type 8, code 0; RFC 792). */
export const Icmpv4EchoRequest = Schema.TaggedStruct("EchoRequest", EchoFields)

/**
 * Destination unreachable (type 3; RFC 792), codes 0 to 15. For code 4,
 * "fragmentation needed and DF set", `nextHopMtu` is the MTU of the next-hop
 * network (RFC 1191 §4; zero from a router that predates it); it is present
 * for code 4 only. `invoking` is the start of the datagram that caused it.
 */
export const Icmpv4DestinationUnreachable = Schema.TaggedStruct("DestinationUnreachable", {
  code: UintBits(4),
  checksum: Uint16,
  nextHopMtu: Schema.optionalKey(Uint16),
  invoking: Schema.Uint8Array
}).check(
  Schema.makeFilter(
    (m) =>
      (m.code === Icmpv4UnreachableCodes.fragmentationNeeded) === (m.nextHopMtu !== undefined) ||
      "a next-hop MTU for code 4 (fragmentation needed) only"
  )
)

/** Time exceeded (type 11; RFC 792): code 0 TTL exceeded in transit, 1 fragment reassembly time exceeded. */
export const Icmpv4TimeExceeded = Schema.TaggedStruct("TimeExceeded", {
  code: Uint8,
  checksum: Uint16,
  invoking: Schema.Uint8Array
})

/** Redirect (type 5; RFC 792): the gateway to use for the invoking datagram's destination. */
export const Icmpv4Redirect = Schema.TaggedStruct("Redirect", {
  code: Uint8,
  checksum: Uint16,
  gateway: Ipv4Address,
  invoking: Schema.Uint8Array
})

/** Parameter problem (type 12; RFC 792): `pointer` is the octet of the invoking datagram where the error was found. */
export const Icmpv4ParameterProblem = Schema.TaggedStruct("ParameterProblem", {
  code: Uint8,
  checksum: Uint16,
  pointer: Uint8,
  invoking: Schema.Uint8Array
})

/**
 * Any other message, kept whole: type, code, the 4-byte rest of header (as
 * an unsigned 32-bit number) and the data. A value that would decode as one
 * of the typed kinds is not canonical and is refused.
 */
export const Icmpv4Other = Schema.TaggedStruct("Other", {
  type: Uint8,
  code: Uint8,
  checksum: Uint16,
  restOfHeader: Uint32,
  data: Schema.Uint8Array
}).check(
  Schema.makeFilter(
    (m) => icmpv4Kind(m.type, m.code, m.restOfHeader) === "Other" || "a message that fits none of the typed kinds"
  )
)

const u16 = (b: Uint8Array, i: number): number => (b[i] << 8) | b[i + 1]
const u32 = (b: Uint8Array, i: number): number => ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0

/**
 * What the formatter reads of a quoted datagram, as tcpdump does: the
 * destination and protocol when the 20 bytes of a header are there, and the
 * destination port at IHL × 4 + 2 when those bytes are there too (the
 * version is not checked).
 */
const quoted = (
  b: Uint8Array
): { readonly destination: string; readonly protocol: number; readonly port: number | undefined } | undefined => {
  if (b.length < 20) return undefined
  const headerLength = (b[0] & 0x0f) * 4
  return {
    destination: ipv4ToString(u32(b, 16)),
    protocol: b[9],
    port: b.length >= headerLength + 4 ? u16(b, headerLength + 2) : undefined
  }
}

/** `template` with `%s` replaced by `address`, or dropped (with its space) when there is none. */
const fill = (template: string, address: string | undefined): string =>
  address === undefined ? template.replace(/%s ?/, "") : template.replace("%s", address)

/** tcpdump's destination-unreachable texts (print-icmp.c), `%s` standing for the quoted destination. */
const UNREACHABLE: ReadonlyArray<string> = [
  "net %s unreachable",
  "host %s unreachable",
  "%s protocol unreachable",
  "%s port unreachable",
  "%s unreachable - need to frag",
  "%s unreachable - source route failed",
  "net %s unreachable - unknown",
  "host %s unreachable - unknown",
  "%s unreachable - source host isolated",
  "net %s unreachable - admin prohibited",
  "host %s unreachable - admin prohibited",
  "net %s unreachable - tos prohibited",
  "host %s unreachable - tos prohibited",
  "host %s unreachable - admin prohibited filter",
  "host %s unreachable - host precedence violation",
  "host %s unreachable - precedence cutoff"
]

const unreachableText = (code: number, nextHopMtu: number | undefined, invoking: Uint8Array): string => {
  const inner = quoted(invoking)
  const destination = inner?.destination
  switch (code) {
    case Icmpv4UnreachableCodes.protocol:
      return inner === undefined ? "protocol unreachable" : `${inner.destination} protocol ${inner.protocol} unreachable`
    case Icmpv4UnreachableCodes.port: {
      if (inner === undefined) return "port unreachable"
      const name = inner.protocol === 6 ? "tcp" : inner.protocol === 17 ? "udp" : `protocol ${inner.protocol}`
      return inner.port === undefined
        ? `${inner.destination} ${name} port unreachable`
        : `${inner.destination} ${name} port ${inner.port} unreachable`
    }
    case Icmpv4UnreachableCodes.fragmentationNeeded: {
      const text = fill(UNREACHABLE[code], destination)
      return nextHopMtu === undefined || nextHopMtu === 0 ? text : `${text} (mtu ${nextHopMtu})`
    }
    default:
      return fill(UNREACHABLE[code] ?? `#${code} %s unreachable`, destination)
  }
}

const REDIRECT: ReadonlyArray<string> = ["redirect %s to net", "redirect %s to host", "redirect-tos %s to net", "redirect-tos %s to host"]

/** tcpdump names of the query and other types (print-icmp.c's `icmp2str`), `type-#n` for unknown ones. */
const typeName = (type: number): string => {
  switch (type) {
    case Icmpv4Types.sourceQuench:
      return "source quench"
    case Icmpv4Types.routerAdvertisement:
      return "router advertisement"
    case Icmpv4Types.routerSolicitation:
      return "router solicitation"
    case Icmpv4Types.timestampRequest:
      return "time stamp request"
    case Icmpv4Types.timestampReply:
      return "time stamp reply"
    case Icmpv4Types.informationRequest:
      return "information request"
    case Icmpv4Types.informationReply:
      return "information reply"
    case Icmpv4Types.addressMaskRequest:
      return "address mask request"
    case Icmpv4Types.addressMaskReply:
      return "address mask reply"
    default:
      return `type-#${type}`
  }
}

/**
 * tcpdump's text (print-icmp.c, `tcpdump -n`) of a message with this type,
 * code, rest of header and body, without the `ICMP ` prefix and the length.
 */
const describe = (type: number, code: number, rest: number, body: Uint8Array): string => {
  switch (type) {
    case Icmpv4Types.echoReply:
    case Icmpv4Types.echoRequest:
      return `echo ${type === Icmpv4Types.echoReply ? "reply" : "request"}, id ${rest >>> 16}, seq ${rest & 0xffff}`
    case Icmpv4Types.destinationUnreachable:
      return unreachableText(code, code === Icmpv4UnreachableCodes.fragmentationNeeded ? rest & 0xffff : undefined, body)
    case Icmpv4Types.timeExceeded:
      return code === Icmpv4TimeExceededCodes.ttl
        ? "time exceeded in-transit"
        : code === Icmpv4TimeExceededCodes.reassembly
          ? "ip reassembly time exceeded"
          : `time exceeded-#${code}`
    case Icmpv4Types.redirect:
      return `${fill(REDIRECT[code] ?? `redirect-#${code} %s to`, quoted(body)?.destination)} ${ipv4ToString(rest)}`
    case Icmpv4Types.parameterProblem:
      return code === 0 ? `parameter problem - octet ${rest >>> 24}` : `parameter problem - code ${code}`
    default:
      return `${typeName(type)}${code === 0 ? "" : `, code ${code}`}`
  }
}

/** The message as the formatter sees it (the union's Type, without brands). */
type FormattedMessage =
  | { readonly _tag: "EchoReply" | "EchoRequest"; readonly identifier: number; readonly sequence: number; readonly data: Uint8Array }
  | { readonly _tag: "DestinationUnreachable"; readonly code: number; readonly nextHopMtu?: number; readonly invoking: Uint8Array }
  | { readonly _tag: "TimeExceeded"; readonly code: number; readonly invoking: Uint8Array }
  | { readonly _tag: "Redirect"; readonly code: number; readonly gateway: string; readonly invoking: Uint8Array }
  | { readonly _tag: "ParameterProblem"; readonly code: number; readonly pointer: number; readonly invoking: Uint8Array }
  | { readonly _tag: "Other"; readonly type: number; readonly code: number; readonly restOfHeader: number; readonly data: Uint8Array }

/**
 * tcpdump style (`tcpdump -n`), one line, `ICMP <what>, length <ICMP message length>`:
 * `ICMP echo request, id 1, seq 2, length 64`;
 * `ICMP 10.0.0.2 udp port 7 unreachable, length 36` (the address, protocol and port read from the
 * quoted datagram, left out when it is too short to hold them: `ICMP port unreachable, length 8`);
 * `ICMP 10.0.0.2 unreachable - need to frag (mtu 1400), length 36`;
 * `ICMP time exceeded in-transit, length 36`; `ICMP ip reassembly time exceeded, length 36`;
 * `ICMP redirect 10.0.0.2 to host 10.0.0.254, length 36`;
 * `ICMP parameter problem - octet 20, length 36` (`parameter problem - code 1` for a non-zero code);
 * `ICMP time stamp request, length 20`, `ICMP type-#42, code 1, length 8` for the rest.
 * An `Other` message of a known type is rendered as that type (tcpdump ignores the unused bytes).
 * Where tcpdump would print `[|icmp]` for a quoted datagram too short to read, this prints the
 * text without the quoted address; where it decodes the body of the query types (time stamp,
 * address mask, router advertisement), this prints only their name, and the code when not 0.
 */
const formatIcmpv4Message = (m: FormattedMessage): string => {
  const body = "invoking" in m ? m.invoking : m.data
  const length = `length ${ICMPV4_HEADER_LENGTH + body.length}`
  switch (m._tag) {
    case "EchoReply":
    case "EchoRequest":
      return `ICMP ${describe(m._tag === "EchoReply" ? 0 : 8, 0, ((m.identifier << 16) | m.sequence) >>> 0, body)}, ${length}`
    case "DestinationUnreachable":
      return `ICMP ${describe(Icmpv4Types.destinationUnreachable, m.code, m.nextHopMtu ?? 0, body)}, ${length}`
    case "TimeExceeded":
      return `ICMP ${describe(Icmpv4Types.timeExceeded, m.code, 0, body)}, ${length}`
    case "Redirect":
      return `ICMP ${describe(Icmpv4Types.redirect, m.code, ipv4FromString(m.gateway) ?? 0, body)}, ${length}`
    case "ParameterProblem":
      return `ICMP ${describe(Icmpv4Types.parameterProblem, m.code, (m.pointer << 24) >>> 0, body)}, ${length}`
    case "Other":
      return `ICMP ${describe(m.type, m.code, m.restOfHeader, body)}, ${length}`
  }
}

/** An ICMPv4 message's typed representation: a union by kind (`_tag`). */
export const Icmpv4Message = Schema.Union([
  Icmpv4EchoReply,
  Icmpv4EchoRequest,
  Icmpv4DestinationUnreachable,
  Icmpv4TimeExceeded,
  Icmpv4Redirect,
  Icmpv4ParameterProblem,
  Icmpv4Other
]).pipe(Schema.overrideToFormatter(() => formatIcmpv4Message))
/** An ICMPv4 message's typed representation. */
export type Icmpv4Message = typeof Icmpv4Message.Type

/** Bytes of the message after its 8-byte header: echo data, the invoking datagram, or other data. */
export const icmpv4Body = (m: Icmpv4Message): Uint8Array => ("invoking" in m ? m.invoking : m.data)
