/**
 * One tcpdump-like line per decoded frame (`tcpdump -n` style, absolute TCP
 * sequence numbers as with `-S`, no link-layer header as without `-e`):
 * `IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [S], seq 1000, win 65535, options
 * [mss 1460], length 0`. A header that could not be decoded ends the line
 * with `[|defect.name]`, as tcpdump's `[|proto]`.
 */
import { Schema } from "effect"
import { ARP_PACKET_LENGTH, formatArpPacket } from "../arp/schema.ts"
import { EthernetHeader } from "../ethernet/schema.ts"
import { Icmpv4Message } from "../icmpv4/schema.ts"
import { Icmpv6Message } from "../icmpv6/schema.ts"
import { Ipv4Header } from "../ipv4/schema.ts"
import { Ipv6Header } from "../ipv6/schema.ts"
import { formatTcpSummary } from "../tcp/schema.ts"
import type { DecodedFrame, DecodedLayer } from "./frame.ts"

const formatEthernet = Schema.toFormatter(EthernetHeader)
const formatIpv4 = Schema.toFormatter(Ipv4Header)
const formatIpv6 = Schema.toFormatter(Ipv6Header)
const formatIcmpv4 = Schema.toFormatter(Icmpv4Message)
const formatIcmpv6 = Schema.toFormatter(Icmpv6Message)

/** tcpdump's names of the IPv6 extension headers before the upper layer (`HBH `, `DSTOPT `, …). */
const extensionChain = (header: Ipv6Header): string =>
  header.extensionHeaders
    .map((e) => (e._tag === "HopByHop" ? "HBH " : e._tag === "DestinationOptions" ? "DSTOPT " : e._tag === "Routing" ? "RT6 " : ""))
    .join("")

/**
 * A later IPv4 fragment (offset not 0) as tcpdump -n prints it: it holds no
 * transport header, so only the protocol's number follows the addresses
 * (`print-ip.c`): `IP 10.0.0.1 > 10.0.0.2: ip-proto-17`.
 */
const formatLaterFragment = (h: Ipv4Header): string => `IP ${h.source} > ${h.destination}: ip-proto-${h.protocol}`

/** An IP packet without a decoded transport header: a later IPv4 fragment, or the header as its formatter prints it. */
const formatIpOnly = (network: DecodedLayer & { readonly layer: "ipv4" | "ipv6" }): string =>
  network.layer === "ipv6"
    ? formatIpv6(network.header)
    : network.header.fragmentOffset !== 0
    ? formatLaterFragment(network.header)
    : formatIpv4(network.header)

/**
 * The network and transport part of the line, from the layers after the link
 * layer and the bytes after the innermost of them (`payloadLength`). As in
 * tcpdump, the first fragment of a datagram is printed as a whole datagram
 * would be, from the transport header it holds: the lengths of ICMP and TCP
 * count the bytes in this fragment, UDP's is its header's length field.
 */
const formatNetwork = (layers: ReadonlyArray<DecodedLayer>, payloadLength: number): string | undefined => {
  const [network, transport] = layers
  if (network === undefined) return undefined
  switch (network.layer) {
    case "arp":
      // tcpdump's ARP length counts every byte after the link-layer header, Ethernet padding included.
      return formatArpPacket(network.header, ARP_PACKET_LENGTH + payloadLength)
    case "ipv4":
    case "ipv6": {
      const family = network.layer === "ipv4" ? "IP" : "IP6"
      const { source, destination } = network.header
      const chain = network.layer === "ipv6" ? extensionChain(network.header) : ""
      if (transport === undefined) return formatIpOnly(network)
      switch (transport.layer) {
        case "tcp": {
          const h = transport.header
          return `${family} ${source}.${h.sourcePort} > ${destination}.${h.destinationPort}: ${chain}${
            formatTcpSummary(h, transport.payloadLength)
          }`
        }
        case "udp": {
          const h = transport.header
          return `${family} ${source}.${h.sourcePort} > ${destination}.${h.destinationPort}: ${chain}UDP, length ${
            h.length - 8
          }`
        }
        case "icmpv4":
          return `${family} ${source} > ${destination}: ${formatIcmpv4(transport.header)}`
        case "icmpv6":
          return `${family} ${source} > ${destination}: ${chain}${formatIcmpv6(transport.header)}`
        default:
          return undefined
      }
    }
    default:
      return undefined
  }
}

/**
 * The frame as one line. As tcpdump without `-e`, 802.1Q tags are not shown:
 * the line starts with what they carry.
 */
export const formatFrame = (frame: DecodedFrame): string => {
  const [link, ...rest] = frame.layers
  const defect = frame.defect === undefined ? "" : ` [|${frame.defect.name}]`
  if (link === undefined || link.layer !== "ethernet") return `${frame.length} bytes${defect}`
  const network = formatNetwork(rest.filter((l) => l.layer !== "vlan"), frame.payloadLength)
  return `${network ?? formatEthernet(link.header)}${defect}`
}
