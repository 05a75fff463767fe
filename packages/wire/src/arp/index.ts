/** ARP for IPv4 over Ethernet (RFC 826): Schema, codec, view, emitter. */
export { ArpPacketFromBytes } from "./codec.ts"
export { ArpDefect } from "./defects.ts"
export { type ArpFields, arpFields, emitArp } from "./emit.ts"
export {
  ARP_ETHERNET_IPV4,
  ARP_HARDWARE_ETHERNET,
  ARP_HARDWARE_LENGTH,
  ARP_PACKET_LENGTH,
  ARP_PROTOCOL_IPV4,
  ARP_PROTOCOL_LENGTH,
  ArpOperations,
  ArpPacket,
  formatArpPacket
} from "./schema.ts"
export { ArpView } from "./view.ts"
