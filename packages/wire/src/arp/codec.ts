/** The Schema path for ARP: bytes ⇄ `ArpPacket`, written plainly with a `DataView`. */
import { fromBytes } from "../codec.ts"
import { ArpDefect } from "./defects.ts"
import {
  ARP_ETHERNET_IPV4,
  ARP_HARDWARE_ETHERNET,
  ARP_HARDWARE_LENGTH,
  ARP_PACKET_LENGTH,
  ARP_PROTOCOL_IPV4,
  ARP_PROTOCOL_LENGTH,
  ArpPacket
} from "./schema.ts"

const hexPairs = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(":")
const dotted = (bytes: Uint8Array): string => Array.from(bytes, (b) => String(b)).join(".")

/**
 * Decodes an Ethernet/IPv4 ARP packet (RFC 826) from the start of the bytes
 * (link-layer padding may follow), or encodes one to its 28 bytes.
 */
export const ArpPacketFromBytes = fromBytes(ArpPacket, {
  decode: (bytes) => {
    if (bytes.length < ARP_PACKET_LENGTH) return ArpDefect.truncated
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    if (view.getUint16(0) !== ARP_HARDWARE_ETHERNET || view.getUint8(4) !== ARP_HARDWARE_LENGTH) {
      return ArpDefect["unsupported-hardware"]
    }
    if (view.getUint16(2) !== ARP_PROTOCOL_IPV4 || view.getUint8(5) !== ARP_PROTOCOL_LENGTH) {
      return ArpDefect["unsupported-protocol"]
    }
    return {
      ...ARP_ETHERNET_IPV4,
      operation: view.getUint16(6),
      senderMac: hexPairs(bytes.subarray(8, 14)),
      senderIpv4: dotted(bytes.subarray(14, 18)),
      targetMac: hexPairs(bytes.subarray(18, 24)),
      targetIpv4: dotted(bytes.subarray(24, 28))
    }
  },
  encode: (packet) => {
    const out = new Uint8Array(ARP_PACKET_LENGTH)
    const view = new DataView(out.buffer)
    view.setUint16(0, packet.hardwareType)
    view.setUint16(2, packet.protocolType)
    view.setUint8(4, packet.hardwareLength)
    view.setUint8(5, packet.protocolLength)
    view.setUint16(6, packet.operation)
    packet.senderMac.split(":").forEach((pair, i) => view.setUint8(8 + i, Number.parseInt(pair, 16)))
    packet.senderIpv4.split(".").forEach((octet, i) => view.setUint8(14 + i, Number(octet)))
    packet.targetMac.split(":").forEach((pair, i) => view.setUint8(18 + i, Number.parseInt(pair, 16)))
    packet.targetIpv4.split(".").forEach((octet, i) => view.setUint8(24 + i, Number(octet)))
    return out
  }
})
