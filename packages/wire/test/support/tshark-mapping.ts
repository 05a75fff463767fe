/**
 * What tshark should report for a frame we decoded: each of our decoded
 * fields paired with the Wireshark field that names the same thing, and a
 * comparison that normalizes tshark's text (hex `0x…`, booleans `1`/`0`,
 * addresses in text). Used by the oracle tests on frames we emit and on
 * frames Linux sends.
 */
import type { Json } from "@netstack/wire"

/** One expectation: tshark field `field` holds `value` (first occurrence), or all of `values` in order. */
export type Expectation =
  | { readonly field: string; readonly value: number | string | boolean }
  | { readonly field: string; readonly values: ReadonlyArray<number> }
  | { readonly field: string; readonly present: boolean }

type JsonObject = { readonly [key: string]: Json }

const isObject = (j: Json | undefined): j is JsonObject => typeof j === "object" && j !== null && !Array.isArray(j)
const num = (o: JsonObject, key: string): number => (typeof o[key] === "number" ? (o[key] as number) : Number.NaN)
const str = (o: JsonObject, key: string): string => (typeof o[key] === "string" ? (o[key] as string) : "")
const bool = (o: JsonObject, key: string): boolean => o[key] === true
const list = (o: JsonObject, key: string): ReadonlyArray<JsonObject> => {
  const v = o[key]
  return Array.isArray(v) ? v.filter(isObject) : []
}

/** tshark's `*.checksum.status`: 1 good, 0 bad, 2 not present or not checked. */
const checksumStatus = (o: JsonObject): number =>
  o["checksumStatus"] === "valid" ? 1 : o["checksumStatus"] === "invalid" ? 0 : 2

const ethernet = (l: JsonObject, tagged: boolean): Array<Expectation> => [
  { field: "eth.dst", value: str(l, "destination") },
  { field: "eth.src", value: str(l, "source") },
  ...(tagged ? [] : [{ field: "eth.type", value: num(l, "etherType") }])
]

const vlan = (l: JsonObject): Array<Expectation> => [
  { field: "vlan.priority", value: num(l, "priority") },
  { field: "vlan.dei", value: bool(l, "dropEligible") },
  { field: "vlan.id", value: num(l, "vlanId") },
  { field: "vlan.etype", value: num(l, "etherType") }
]

const arp = (l: JsonObject): Array<Expectation> => [
  { field: "arp.hw.type", value: num(l, "hardwareType") },
  { field: "arp.proto.type", value: num(l, "protocolType") },
  { field: "arp.opcode", value: num(l, "operation") },
  { field: "arp.src.hw_mac", value: str(l, "senderMac") },
  { field: "arp.src.proto_ipv4", value: str(l, "senderIpv4") },
  { field: "arp.dst.hw_mac", value: str(l, "targetMac") },
  { field: "arp.dst.proto_ipv4", value: str(l, "targetIpv4") }
]

const ipv4 = (l: JsonObject): Array<Expectation> => [
  { field: "ip.version", value: num(l, "version") },
  { field: "ip.hdr_len", value: 20 + str(l, "options").length / 2 },
  { field: "ip.dsfield.dscp", value: num(l, "dscp") },
  { field: "ip.dsfield.ecn", value: num(l, "ecn") },
  { field: "ip.len", value: num(l, "totalLength") },
  { field: "ip.id", value: num(l, "identification") },
  { field: "ip.flags.rb", value: bool(l, "reservedFlag") },
  { field: "ip.flags.df", value: bool(l, "dontFragment") },
  { field: "ip.flags.mf", value: bool(l, "moreFragments") },
  // The 13-bit field, in 8-byte units as the header counts them (RFC 791 §3.1): tshark 4.0 reports that
  // value (185), though its packet details show bytes ("Fragment Offset: 1480").
  { field: "ip.frag_offset", value: num(l, "fragmentOffset") },
  { field: "ip.ttl", value: num(l, "ttl") },
  { field: "ip.proto", value: num(l, "protocol") },
  { field: "ip.checksum", value: num(l, "checksum") },
  { field: "ip.checksum.status", value: checksumStatus(l) },
  { field: "ip.src", value: str(l, "source") },
  { field: "ip.dst", value: str(l, "destination") }
]

const ipv6 = (l: JsonObject): Array<Expectation> => [
  { field: "ipv6.version", value: 6 },
  { field: "ipv6.tclass", value: num(l, "trafficClass") },
  { field: "ipv6.flow", value: num(l, "flowLabel") },
  { field: "ipv6.plen", value: num(l, "payloadLength") },
  { field: "ipv6.nxt", value: num(l, "nextHeader") },
  { field: "ipv6.hlim", value: num(l, "hopLimit") },
  { field: "ipv6.src", value: str(l, "source") },
  { field: "ipv6.dst", value: str(l, "destination") }
]

const icmpv4 = (l: JsonObject): Array<Expectation> => {
  const kind = str(l, "kind")
  return [
    { field: "icmp.type", value: num(l, "type") },
    { field: "icmp.code", value: num(l, "code") },
    { field: "icmp.checksum", value: num(l, "checksum") },
    { field: "icmp.checksum.status", value: checksumStatus(l) },
    ...(kind === "EchoRequest" || kind === "EchoReply"
      ? [{ field: "icmp.ident", value: num(l, "identifier") }, { field: "icmp.seq", value: num(l, "sequence") }]
      : []),
    ...(kind === "Redirect" ? [{ field: "icmp.redir_gw", value: str(l, "gateway") }] : []),
    ...(kind === "DestinationUnreachable" && typeof l["nextHopMtu"] === "number"
      ? [{ field: "icmp.mtu", value: num(l, "nextHopMtu") }]
      : [])
  ]
}

const icmpv6 = (l: JsonObject): Array<Expectation> => {
  const kind = str(l, "kind")
  const options = list(l, "options")
  const common: Array<Expectation> = [
    { field: "icmpv6.type", value: num(l, "type") },
    { field: "icmpv6.code", value: num(l, "code") },
    { field: "icmpv6.checksum", value: num(l, "checksum") },
    { field: "icmpv6.checksum.status", value: checksumStatus(l) }
  ]
  const optionTypes: Array<Expectation> = options.length === 0 ? [] : [{
    field: "icmpv6.opt.type",
    values: options.map((o) =>
      ({
        SourceLinkLayerAddress: 1,
        TargetLinkLayerAddress: 2,
        PrefixInformation: 3,
        RedirectedHeader: 4,
        Mtu: 5
      } as Record<string, number>)[str(o, "kind")] ?? num(o, "type")
    )
  }]
  switch (kind) {
    case "EchoRequest":
    case "EchoReply":
      return [
        ...common,
        { field: "icmpv6.echo.identifier", value: num(l, "identifier") },
        { field: "icmpv6.echo.sequence_number", value: num(l, "sequence") }
      ]
    case "PacketTooBig":
      return [...common, { field: "icmpv6.mtu", value: num(l, "mtu") }]
    case "ParameterProblem":
      return [...common, { field: "icmpv6.pointer", value: num(l, "pointer") }]
    case "NeighborSolicitation":
      return [...common, { field: "icmpv6.nd.ns.target_address", value: str(l, "target") }, ...optionTypes]
    case "NeighborAdvertisement":
      return [
        ...common,
        { field: "icmpv6.nd.na.target_address", value: str(l, "target") },
        { field: "icmpv6.nd.na.flag.r", value: bool(l, "router") },
        { field: "icmpv6.nd.na.flag.s", value: bool(l, "solicited") },
        { field: "icmpv6.nd.na.flag.o", value: bool(l, "override") },
        ...optionTypes
      ]
    case "RouterAdvertisement":
      return [
        ...common,
        { field: "icmpv6.nd.ra.cur_hop_limit", value: num(l, "curHopLimit") },
        { field: "icmpv6.nd.ra.flag.m", value: bool(l, "managed") },
        { field: "icmpv6.nd.ra.flag.o", value: bool(l, "other") },
        { field: "icmpv6.nd.ra.router_lifetime", value: num(l, "routerLifetime") },
        { field: "icmpv6.nd.ra.reachable_time", value: num(l, "reachableTime") },
        { field: "icmpv6.nd.ra.retrans_timer", value: num(l, "retransTimer") },
        ...optionTypes
      ]
    case "RouterSolicitation":
      return [...common, ...optionTypes]
    case "Redirect":
      return [
        ...common,
        { field: "icmpv6.nd.rd.target_address", value: str(l, "target") },
        { field: "icmpv6.rd.na.destination_address", value: str(l, "destination") },
        ...optionTypes
      ]
    default:
      return common
  }
}

const udp = (l: JsonObject): Array<Expectation> => [
  { field: "udp.srcport", value: num(l, "sourcePort") },
  { field: "udp.dstport", value: num(l, "destinationPort") },
  { field: "udp.length", value: num(l, "length") },
  { field: "udp.checksum", value: num(l, "checksum") },
  { field: "udp.checksum.status", value: checksumStatus(l) }
]

const tcpFlagBits: ReadonlyArray<readonly [string, number]> = [
  ["cwr", 0x80],
  ["ece", 0x40],
  ["urg", 0x20],
  ["ack", 0x10],
  ["psh", 0x08],
  ["rst", 0x04],
  ["syn", 0x02],
  ["fin", 0x01]
]

const tcp = (l: JsonObject): Array<Expectation> => {
  const flags = tcpFlagBits.reduce((f, [name, bit]) => (bool(l, name) ? f | bit : f), 0)
  const options = list(l, "options")
  const all = (kind: string) => options.filter((o) => str(o, "kind") === kind)
  // Every occurrence in order (an option may repeat; tshark shows each).
  const each = (field: string, kind: string, key: string): Array<Expectation> => {
    const found = all(kind)
    return found.length === 0 ? [] : [{ field, values: found.map((o) => num(o, key)) }]
  }
  const sack = options.filter((o) => str(o, "kind") === "Sack").flatMap((o) => list(o, "blocks"))
  return [
    { field: "tcp.srcport", value: num(l, "sourcePort") },
    { field: "tcp.dstport", value: num(l, "destinationPort") },
    { field: "tcp.seq_raw", value: num(l, "sequenceNumber") },
    { field: "tcp.ack_raw", value: num(l, "acknowledgmentNumber") },
    { field: "tcp.hdr_len", value: num(l, "dataOffset") * 4 },
    // Wireshark's 12-bit flags: the four reserved bits above the eight flags.
    { field: "tcp.flags", value: (num(l, "reserved") << 8) | flags },
    { field: "tcp.window_size_value", value: num(l, "window") },
    { field: "tcp.checksum", value: num(l, "checksum") },
    { field: "tcp.checksum.status", value: checksumStatus(l) },
    { field: "tcp.urgent_pointer", value: num(l, "urgentPointer") },
    { field: "tcp.len", value: num(l, "payloadLength") },
    { field: "tcp.options.sack_perm", present: options.some((o) => str(o, "kind") === "SackPermitted") },
    ...each("tcp.options.mss_val", "Mss", "value"),
    ...each("tcp.options.wscale.shift", "WindowScale", "shift"),
    ...each("tcp.options.timestamp.tsval", "Timestamps", "value"),
    ...each("tcp.options.timestamp.tsecr", "Timestamps", "echo"),
    ...(sack.length === 0 ? [] : [
      { field: "tcp.options.sack_le", values: sack.map((b) => num(b, "left")) },
      { field: "tcp.options.sack_re", values: sack.map((b) => num(b, "right")) }
    ])
  ]
}

/** What tshark should show for the frame `decoded` (our `frameToJson` output). */
export const expectedTsharkFields = (decoded: Json): ReadonlyArray<Expectation> => {
  if (!isObject(decoded)) return []
  const layers = list(decoded, "layers")
  const tagged = layers.some((l) => str(l, "layer") === "vlan")
  return layers.flatMap((l) => {
    switch (str(l, "layer")) {
      case "ethernet":
        return ethernet(l, tagged)
      case "vlan":
        return vlan(l)
      case "arp":
        return arp(l)
      case "ipv4":
        return ipv4(l)
      case "ipv6":
        return ipv6(l)
      case "icmpv4":
        return icmpv4(l)
      case "icmpv6":
        return icmpv6(l)
      case "udp":
        return udp(l)
      case "tcp":
        return tcp(l)
      default:
        return []
    }
  })
}

/** Every tshark field any expectation can name (to request with `-e`). */
export const TSHARK_FIELDS: ReadonlyArray<string> = [
    "eth.dst", "eth.src", "eth.type",
    "vlan.priority", "vlan.dei", "vlan.id", "vlan.etype",
    "arp.hw.type", "arp.proto.type", "arp.opcode", "arp.src.hw_mac", "arp.src.proto_ipv4", "arp.dst.hw_mac",
    "arp.dst.proto_ipv4",
    "ip.version", "ip.hdr_len", "ip.dsfield.dscp", "ip.dsfield.ecn", "ip.len", "ip.id", "ip.flags.rb", "ip.flags.df",
    "ip.flags.mf", "ip.frag_offset", "ip.ttl", "ip.proto", "ip.checksum", "ip.checksum.status", "ip.src", "ip.dst",
    "ipv6.version", "ipv6.tclass", "ipv6.flow", "ipv6.plen", "ipv6.nxt", "ipv6.hlim", "ipv6.src", "ipv6.dst",
    "icmp.type", "icmp.code", "icmp.checksum", "icmp.checksum.status", "icmp.ident", "icmp.seq", "icmp.redir_gw",
    "icmp.mtu",
    "icmpv6.type", "icmpv6.code", "icmpv6.checksum", "icmpv6.checksum.status", "icmpv6.echo.identifier",
    "icmpv6.echo.sequence_number", "icmpv6.mtu", "icmpv6.pointer", "icmpv6.nd.ns.target_address",
    "icmpv6.nd.na.target_address", "icmpv6.nd.na.flag.r", "icmpv6.nd.na.flag.s", "icmpv6.nd.na.flag.o",
    "icmpv6.nd.ra.cur_hop_limit", "icmpv6.nd.ra.flag.m", "icmpv6.nd.ra.flag.o", "icmpv6.nd.ra.router_lifetime",
    "icmpv6.nd.ra.reachable_time", "icmpv6.nd.ra.retrans_timer", "icmpv6.nd.rd.target_address",
    "icmpv6.rd.na.destination_address", "icmpv6.opt.type",
    "udp.srcport", "udp.dstport", "udp.length", "udp.checksum", "udp.checksum.status",
    "tcp.srcport", "tcp.dstport", "tcp.seq_raw", "tcp.ack_raw", "tcp.hdr_len", "tcp.flags", "tcp.window_size_value",
    "tcp.checksum", "tcp.checksum.status", "tcp.urgent_pointer", "tcp.len", "tcp.options.sack_perm",
    "tcp.options.mss_val", "tcp.options.wscale.shift", "tcp.options.timestamp.tsval", "tcp.options.timestamp.tsecr",
  "tcp.options.sack_le", "tcp.options.sack_re"
]

/** tshark text as a number: decimal or `0x` hex. */
const tsharkNumber = (text: string): number => Number(text)

/** The mismatches between `expectations` and tshark's `frame` (empty when they agree). */
export const mismatches = (
  expectations: ReadonlyArray<Expectation>,
  frame: Readonly<Record<string, ReadonlyArray<string>>>
): ReadonlyArray<string> =>
  expectations.flatMap((e) => {
    const got = frame[e.field] ?? []
    if ("present" in e) {
      return (got.length > 0) === e.present ? [] : [`${e.field}: expected ${e.present ? "present" : "absent"}, tshark ${JSON.stringify(got)}`]
    }
    if ("values" in e) {
      const actual = got.map(tsharkNumber)
      return JSON.stringify(actual) === JSON.stringify(e.values)
        ? []
        : [`${e.field}: ours ${JSON.stringify(e.values)}, tshark ${JSON.stringify(got)}`]
    }
    const first = got[0]
    const ok = first !== undefined && (
      typeof e.value === "number"
        ? tsharkNumber(first) === e.value
        : typeof e.value === "boolean"
        ? tsharkNumber(first) === (e.value ? 1 : 0) || first === (e.value ? "True" : "False")
        : first.toLowerCase() === e.value.toLowerCase()
    )
    return ok ? [] : [`${e.field}: ours ${JSON.stringify(e.value)}, tshark ${JSON.stringify(got)}`]
  })
