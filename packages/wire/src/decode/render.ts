/**
 * One tcpdump-like line per decoded frame (`tcpdump -n` style, absolute TCP
 * sequence numbers as with `-S`): `IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [S],
 * seq 1000, win 65535, options [mss 1460], length 0`. A header that could not
 * be decoded ends the line with `[|defect.name]`, as tcpdump's `[|proto]`.
 */
import { Schema } from "effect"
import { ArpPacket } from "../arp/schema.ts"
import { EthernetHeader } from "../ethernet/schema.ts"
import { Icmpv4Message } from "../icmpv4/schema.ts"
import { Icmpv6Message } from "../icmpv6/schema.ts"
import { Ipv4Header } from "../ipv4/schema.ts"
import { Ipv6Header } from "../ipv6/schema.ts"
import { formatTcpSummary } from "../tcp/schema.ts"
import { VlanTag } from "../vlan/schema.ts"
import type { DecodedFrame, DecodedLayer } from "./frame.ts"

const formatEthernet = Schema.toFormatter(EthernetHeader)
const formatVlan = Schema.toFormatter(VlanTag)
const formatArp = Schema.toFormatter(ArpPacket)
const formatIpv4 = Schema.toFormatter(Ipv4Header)
const formatIpv6 = Schema.toFormatter(Ipv6Header)
const formatIcmpv4 = Schema.toFormatter(Icmpv4Message)
const formatIcmpv6 = Schema.toFormatter(Icmpv6Message)

/** tcpdump's names of the IPv6 extension headers before the upper layer (`HBH `, `DSTOPT `, …). */
const extensionChain = (header: Ipv6Header): string =>
  header.extensionHeaders
    .map((e) => (e._tag === "HopByHop" ? "HBH " : e._tag === "DestinationOptions" ? "DSTOPT " : e._tag === "Routing" ? "RT6 " : ""))
    .join("")

/** The network and transport part of the line, from the layers after the link layer. */
const formatNetwork = (layers: ReadonlyArray<DecodedLayer>): string | undefined => {
  const [network, transport] = layers
  if (network === undefined) return undefined
  switch (network.layer) {
    case "arp":
      return formatArp(network.header)
    case "ipv4":
    case "ipv6": {
      const family = network.layer === "ipv4" ? "IP" : "IP6"
      const { source, destination } = network.header
      const chain = network.layer === "ipv6" ? extensionChain(network.header) : ""
      if (transport === undefined) {
        return network.layer === "ipv4" ? formatIpv4(network.header) : formatIpv6(network.header)
      }
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

/** The frame as one line. */
export const formatFrame = (frame: DecodedFrame): string => {
  const [link, ...rest] = frame.layers
  const defect = frame.defect === undefined ? "" : ` [|${frame.defect.name}]`
  if (link === undefined || link.layer !== "ethernet") return `${frame.length} bytes${defect}`
  const tags = rest.flatMap((l) => (l.layer === "vlan" ? [`${formatVlan(l.header)}: `] : [])).join("")
  const network = formatNetwork(rest.filter((l) => l.layer !== "vlan"))
  return `${tags}${network ?? formatEthernet(link.header)}${defect}`
}
