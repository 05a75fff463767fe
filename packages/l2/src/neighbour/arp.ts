/**
 * ARP frames (RFC 826) and the fixed IPv4 → MAC mappings that need no
 * resolution (RFC 1112 §6.4 multicast, limited broadcast).
 */
import { PacketBuffer } from "@netstack/buffers"
import { ARP_PACKET_LENGTH, emitArp, emitEthernet, ETHERNET_HEADER_LENGTH, EtherTypes } from "@netstack/wire"

/** Headroom left in front of an ARP frame's Ethernet header: room for an 802.1Q tag and more. */
const ARP_FRAME_HEADROOM = 32

/** The Ethernet minimum frame without FCS (IEEE 802.3 §3.2.8); our NICs do not pad, so ARP frames are padded here. */
export const ETHERNET_MINIMUM_FRAME = 60

/** What an ARP frame carries, and where the Ethernet header sends it. */
export interface ArpFrameFields {
  /** 1 request, 2 reply (`ArpOperations`). */
  readonly operation: number
  /** Ethernet destination. */
  readonly destination: number
  /** `ar$sha` and the Ethernet source. */
  readonly senderMac: number
  /** `ar$spa`. */
  readonly senderIpv4: number
  /** `ar$tha` (0 in a broadcast request). */
  readonly targetMac: number
  /** `ar$tpa`. */
  readonly targetIpv4: number
}

/**
 * A complete ARP frame (Linux `arp_create`): Ethernet header, the 28-byte
 * ARP packet, zero padding to 60 bytes. `undefined` only if the buffer
 * refuses a write, which cannot happen with the sizes used here.
 */
export const buildArpFrame = (fields: ArpFrameFields): PacketBuffer | undefined => {
  const padding = ETHERNET_MINIMUM_FRAME - ETHERNET_HEADER_LENGTH - ARP_PACKET_LENGTH
  const frame = PacketBuffer.alloc(ARP_FRAME_HEADROOM + ETHERNET_HEADER_LENGTH + ARP_PACKET_LENGTH + padding)
  if (
    frame.reserve(ARP_FRAME_HEADROOM + ETHERNET_HEADER_LENGTH + ARP_PACKET_LENGTH) !== undefined ||
    frame.put(padding) !== undefined || // a fresh allocation is zeroed
    emitArp(frame, fields) !== undefined ||
    emitEthernet(frame, { destination: fields.destination, source: fields.senderMac, etherType: EtherTypes.arp }) !==
      undefined
  ) {
    frame.release()
    return undefined
  }
  frame.meta.protocol = EtherTypes.arp
  return frame
}

/** The MAC of an IPv4 multicast group: 01:00:5e and the group's low 23 bits (RFC 1112 §6.4, Linux `ip_eth_mc_map`). */
export const ipv4MulticastMac = (group: number): number => 0x01005e000000 + (group & 0x7fffff)

/** True for 224.0.0.0/4 (RFC 5771). */
export const isIpv4Multicast = (address: number): boolean => address >>> 28 === 14

/** True for 127.0.0.0/8 (RFC 1122 §3.2.1.3). */
export const isIpv4Loopback = (address: number): boolean => address >>> 24 === 127

/** The limited broadcast 255.255.255.255 (RFC 919). */
export const LIMITED_BROADCAST = 0xffffffff
