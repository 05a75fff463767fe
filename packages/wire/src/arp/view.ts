/** A checked, zero-copy view of an Ethernet/IPv4 ARP packet (RFC 826) inside a `PacketBuffer`. */
import type { PacketBuffer } from "@netstack/buffers"
import { ipv4ToString } from "../addresses/ipv4.ts"
import { macToString, readMac } from "../addresses/mac.ts"
import { readU16, readU32 } from "../bytes.ts"
import { ArpDefect } from "./defects.ts"
import {
  ARP_ETHERNET_IPV4,
  ARP_HARDWARE_ETHERNET,
  ARP_HARDWARE_LENGTH,
  ARP_PACKET_LENGTH,
  ARP_PROTOCOL_IPV4,
  ARP_PROTOCOL_LENGTH,
  type ArpPacket
} from "./schema.ts"

/** An Ethernet/IPv4 ARP packet inside a buffer. */
export class ArpView {
  /** The buffer the packet is in. */
  readonly buffer: PacketBuffer
  /** Index of the packet's first byte in `buffer.bytes`. */
  readonly start: number

  private constructor(buffer: PacketBuffer, start: number) {
    this.buffer = buffer
    this.start = start
  }

  /**
   * The packet at `offset` bytes past `buffer.data`, or the defect that
   * refuses it: `truncated` under 28 bytes, then `unsupported-hardware`
   * unless `ar$hrd` = 1 and `ar$hln` = 6, then `unsupported-protocol` unless
   * `ar$pro` = 0x0800 and `ar$pln` = 4 (RFC 826). Bytes after the 28 (Ethernet
   * padding) are ignored. Makes the 28 bytes linear if they straddle fragments.
   */
  static parse(buffer: PacketBuffer, offset = 0): ArpView | ArpDefect {
    const end = offset + ARP_PACKET_LENGTH
    if (!(offset >= 0) || buffer.length < end) return ArpDefect.truncated
    if (buffer.headLength < end && buffer.mayPull(end) !== undefined) return ArpDefect.truncated
    const bytes = buffer.bytes
    const start = buffer.data + offset
    if (readU16(bytes, start) !== ARP_HARDWARE_ETHERNET || bytes[start + 4] !== ARP_HARDWARE_LENGTH) {
      return ArpDefect["unsupported-hardware"]
    }
    if (readU16(bytes, start + 2) !== ARP_PROTOCOL_IPV4 || bytes[start + 5] !== ARP_PROTOCOL_LENGTH) {
      return ArpDefect["unsupported-protocol"]
    }
    return new ArpView(buffer, start)
  }

  /** `ar$op`: 1 request, 2 reply, anything else as sent. */
  get operation(): number {
    return readU16(this.buffer.bytes, this.start + 6)
  }
  /** `ar$sha`, 48 bits as a number. */
  get senderMac(): number {
    return readMac(this.buffer.bytes, this.start + 8)
  }
  /** `ar$spa`, as an unsigned 32-bit number. */
  get senderIpv4(): number {
    return readU32(this.buffer.bytes, this.start + 14)
  }
  /** `ar$tha`, 48 bits as a number. */
  get targetMac(): number {
    return readMac(this.buffer.bytes, this.start + 18)
  }
  /** `ar$tpa`, as an unsigned 32-bit number. */
  get targetIpv4(): number {
    return readU32(this.buffer.bytes, this.start + 24)
  }
  /** Always 28. */
  get headerLength(): number {
    return ARP_PACKET_LENGTH
  }

  /** The typed representation (allocates; off the hot path). */
  toHeader(): ArpPacket {
    return {
      ...ARP_ETHERNET_IPV4,
      operation: this.operation,
      senderMac: macToString(this.senderMac),
      senderIpv4: ipv4ToString(this.senderIpv4),
      targetMac: macToString(this.targetMac),
      targetIpv4: ipv4ToString(this.targetIpv4)
    }
  }
}
