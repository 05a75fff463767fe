/**
 * The Ethernet II header (DIX; IEEE 802.3 clause 3.2.6 when the type field
 * is ≥ 0x0600): destination and source MAC addresses and the EtherType. A
 * type field below 0x0600 is an 802.3 length, kept as a number.
 */
import { Schema } from "effect"
import { MacAddress } from "../addresses/mac.ts"
import { EtherType } from "../fields.ts"

/** Bytes in an Ethernet II header. */
export const ETHERNET_HEADER_LENGTH = 14

/** Well-known EtherTypes. */
export const EtherTypes = {
  ipv4: 0x0800,
  arp: 0x0806,
  vlan: 0x8100,
  ipv6: 0x86dd,
  qinq: 0x88a8
} as const

/** A type field below this is an IEEE 802.3 length, not an EtherType. */
export const ETHERTYPE_MINIMUM = 0x0600

/** The tcpdump name of an EtherType. */
export const etherTypeName = (etherType: number): string => {
  switch (etherType) {
    case EtherTypes.ipv4:
      return "IPv4"
    case EtherTypes.arp:
      return "ARP"
    case EtherTypes.vlan:
      return "802.1Q"
    case EtherTypes.ipv6:
      return "IPv6"
    case EtherTypes.qinq:
      return "802.1Q-QinQ"
    default:
      return "Unknown"
  }
}

/** tcpdump -e style: `02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806)`. */
const formatEthernetHeader = (h: { readonly destination: string; readonly source: string; readonly etherType: number }) =>
  h.etherType < ETHERTYPE_MINIMUM
    ? `${h.source} > ${h.destination}, 802.3, length ${h.etherType}`
    : `${h.source} > ${h.destination}, ethertype ${etherTypeName(h.etherType)} (0x${h.etherType.toString(16).padStart(4, "0")})`

/** The Ethernet II header's typed representation. */
export const EthernetHeader = Schema.Struct({
  destination: MacAddress,
  source: MacAddress,
  etherType: EtherType
}).pipe(Schema.overrideToFormatter(() => formatEthernetHeader))
/** The Ethernet II header's typed representation. */
export type EthernetHeader = typeof EthernetHeader.Type
