/**
 * ARP for IPv4 over Ethernet (RFC 826, "Packet format"): hardware type
 * (`ar$hrd`, 1 = Ethernet), protocol type (`ar$pro`, 0x0800 = IPv4), hardware
 * and protocol address lengths (`ar$hln` 6, `ar$pln` 4), the operation
 * (`ar$op`), then sender and target hardware and protocol addresses: 28
 * bytes. Operation codes are an IANA registry (RFC 5494 §2): 1 request and
 * 2 reply (RFC 826); other values (RARP's 3/4, InARP's 8/9, …) are kept as
 * numbers.
 *
 * A gratuitous ARP (an ARP Announcement, RFC 5227 §2.3 and §3) is a request
 * whose sender and target protocol addresses are equal; nothing here treats
 * it specially.
 */
import { Schema } from "effect"
import { Ipv4Address } from "../addresses/ipv4.ts"
import { MacAddress } from "../addresses/mac.ts"
import { Uint16 } from "../fields.ts"

/** Bytes in an Ethernet/IPv4 ARP packet: 8 fixed bytes and 2 × (6 + 4) of addresses (RFC 826). */
export const ARP_PACKET_LENGTH = 28

/** `ar$hrd` for Ethernet (IANA ARP hardware types; RFC 826 `ares_hrd$Ethernet`). */
export const ARP_HARDWARE_ETHERNET = 1
/** `ar$pro` for IPv4: its EtherType (RFC 826). */
export const ARP_PROTOCOL_IPV4 = 0x0800
/** `ar$hln` for Ethernet: a 6-byte MAC address. */
export const ARP_HARDWARE_LENGTH = 6
/** `ar$pln` for IPv4: a 4-byte address. */
export const ARP_PROTOCOL_LENGTH = 4

/** The ARP operation codes this stack speaks (RFC 826; registry in RFC 5494 §2). */
export const ArpOperations = {
  request: 1,
  reply: 2
} as const

/** The four fixed fields of every Ethernet/IPv4 ARP packet, to spread into a typed `ArpPacket`. */
export const ARP_ETHERNET_IPV4 = {
  hardwareType: ARP_HARDWARE_ETHERNET,
  protocolType: ARP_PROTOCOL_IPV4,
  hardwareLength: ARP_HARDWARE_LENGTH,
  protocolLength: ARP_PROTOCOL_LENGTH
} as const

const ArpPacketStruct = Schema.Struct({
  /** `ar$hrd`: always 1 (Ethernet). */
  hardwareType: Schema.Literal(ARP_HARDWARE_ETHERNET),
  /** `ar$pro`: always 0x0800 (IPv4). */
  protocolType: Schema.Literal(ARP_PROTOCOL_IPV4),
  /** `ar$hln`: always 6. */
  hardwareLength: Schema.Literal(ARP_HARDWARE_LENGTH),
  /** `ar$pln`: always 4. */
  protocolLength: Schema.Literal(ARP_PROTOCOL_LENGTH),
  /** `ar$op`: 1 request, 2 reply; any other value is kept. */
  operation: Uint16,
  /** `ar$sha`. */
  senderMac: MacAddress,
  /** `ar$spa`. */
  senderIpv4: Ipv4Address,
  /** `ar$tha` (all zeros in a request, by convention). */
  targetMac: MacAddress,
  /** `ar$tpa`. */
  targetIpv4: Ipv4Address
})

/** The packet's fields, as the formatter reads them. */
type ArpFieldsShown = typeof ArpPacketStruct.Type

/** Operation codes of RARP (RFC 903), InARP (RFC 2390) and ATMARP's NAK (RFC 2225), which tcpdump names. */
const OtherOperations = {
  reverseRequest: 3,
  reverseReply: 4,
  inverseRequest: 8,
  inverseReply: 9,
  nak: 10
} as const

/** The names tcpdump gives ARP operations (`print-arp.c`'s `arpop_values`). */
const OPERATION_NAMES: ReadonlyMap<number, string> = new Map([
  [ArpOperations.request, "Request"],
  [ArpOperations.reply, "Reply"],
  [OtherOperations.reverseRequest, "Reverse Request"],
  [OtherOperations.reverseReply, "Reverse Reply"],
  [OtherOperations.inverseRequest, "Inverse Request"],
  [OtherOperations.inverseReply, "Inverse Reply"],
  [OtherOperations.nak, "NACK Reply"]
])

/** What tcpdump prints after the operation's name, for the operations whose addresses it prints. */
const operationText = (p: ArpFieldsShown): string | undefined => {
  switch (p.operation) {
    case ArpOperations.request: {
      const tha = p.targetMac === "00:00:00:00:00:00" ? "" : ` (${p.targetMac})`
      return `who-has ${p.targetIpv4}${tha} tell ${p.senderIpv4}`
    }
    case ArpOperations.reply:
      return `${p.senderIpv4} is-at ${p.senderMac}`
    case OtherOperations.reverseRequest:
    case OtherOperations.inverseRequest:
      return `who-is ${p.targetMac} tell ${p.senderMac}`
    case OtherOperations.reverseReply:
      return `${p.targetMac} at ${p.targetIpv4}`
    case OtherOperations.inverseReply:
      return `${p.senderMac} at ${p.senderIpv4}`
    default:
      return undefined
  }
}

/**
 * The packet as `tcpdump -n` prints it (`print-arp.c`, without `-e`), where
 * `length` is what tcpdump calls the length: every byte after the link-layer
 * header (and any 802.1Q tags), Ethernet padding included (46 in a padded
 * 60-byte frame). `ARP, Request who-has 10.0.0.2 tell 10.0.0.1, length 46`
 * (with ` (tha)` after the target when `tha` is not all zeros), `ARP, Reply
 * 10.0.0.2 is-at 02:00:00:00:00:02, length 46`, the RARP and InARP operations
 * (`Reverse Request who-is 02:…:02 tell 02:…:01`, `Reverse Reply 02:…:02 at
 * 10.0.0.2`, `Inverse Request …`, `Inverse Reply 02:…:01 at 10.0.0.1`), and
 * for any other operation only the first line tcpdump prints, `ARP, Unknown
 * (7) ` (or `ARP, NACK Reply `), the hex dump it puts on the lines below left out.
 */
export const formatArpPacket = (p: ArpFieldsShown, length: number = ARP_PACKET_LENGTH): string => {
  const name = OPERATION_NAMES.get(p.operation) ?? `Unknown (${p.operation})`
  const text = operationText(p)
  return text === undefined ? `ARP, ${name} ` : `ARP, ${name} ${text}, length ${length}`
}

/** The typed representation of an Ethernet/IPv4 ARP packet (RFC 826). */
export const ArpPacket = ArpPacketStruct.pipe(Schema.overrideToFormatter(() => (p: ArpFieldsShown) => formatArpPacket(p)))
/** The typed representation of an Ethernet/IPv4 ARP packet. */
export type ArpPacket = typeof ArpPacket.Type
