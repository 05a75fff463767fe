/** Writes an Ethernet/IPv4 ARP packet into a buffer's headroom. */
import type { BufferReleased, HeadroomExceeded, InvalidLength, PacketBuffer } from "@netstack/buffers"
import { ipv4ToNumber } from "../addresses/ipv4.ts"
import { macToNumber, writeMac } from "../addresses/mac.ts"
import { writeU16, writeU32 } from "../bytes.ts"
import {
  ARP_HARDWARE_ETHERNET,
  ARP_HARDWARE_LENGTH,
  ARP_PACKET_LENGTH,
  ARP_PROTOCOL_IPV4,
  ARP_PROTOCOL_LENGTH,
  type ArpPacket
} from "./schema.ts"

/** What the emitter needs: the operation and the hot-path forms of the four addresses. */
export interface ArpFields {
  /** `ar$op`: 1 request, 2 reply. */
  readonly operation: number
  /** `ar$sha`, 48 bits as a number. */
  readonly senderMac: number
  /** `ar$spa`, an unsigned 32-bit number. */
  readonly senderIpv4: number
  /** `ar$tha`, 48 bits as a number (0 in a request). */
  readonly targetMac: number
  /** `ar$tpa`, an unsigned 32-bit number. */
  readonly targetIpv4: number
}

/** The emitter fields of a typed packet. */
export const arpFields = (packet: ArpPacket): ArpFields => ({
  operation: packet.operation,
  senderMac: macToNumber(packet.senderMac),
  senderIpv4: ipv4ToNumber(packet.senderIpv4),
  targetMac: macToNumber(packet.targetMac),
  targetIpv4: ipv4ToNumber(packet.targetIpv4)
})

/**
 * Pushes a 28-byte ARP packet (RFC 826: hardware type 1, protocol type
 * 0x0800, lengths 6 and 4, then `fields`) in front of `buffer.data` and marks
 * it as the network header, as Linux's `arp_create` does. The caller then
 * emits the Ethernet header with EtherType 0x0806 (and pads the frame to the
 * Ethernet minimum if its device does not).
 */
export const emitArp = (
  buffer: PacketBuffer,
  fields: ArpFields
): HeadroomExceeded | InvalidLength | BufferReleased | undefined => {
  const pushed = buffer.push(ARP_PACKET_LENGTH)
  if (pushed !== undefined) return pushed
  const bytes = buffer.writableBytes()
  if (!(bytes instanceof Uint8Array)) return bytes
  const i = buffer.data
  writeU16(bytes, i, ARP_HARDWARE_ETHERNET)
  writeU16(bytes, i + 2, ARP_PROTOCOL_IPV4)
  bytes[i + 4] = ARP_HARDWARE_LENGTH
  bytes[i + 5] = ARP_PROTOCOL_LENGTH
  writeU16(bytes, i + 6, fields.operation)
  writeMac(bytes, i + 8, fields.senderMac)
  writeU32(bytes, i + 14, fields.senderIpv4)
  writeMac(bytes, i + 18, fields.targetMac)
  writeU32(bytes, i + 24, fields.targetIpv4)
  buffer.resetNetworkHeader()
  return undefined
}
