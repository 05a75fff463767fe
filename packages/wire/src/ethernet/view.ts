/**
 * A checked, zero-copy view of an Ethernet II header inside a `PacketBuffer`:
 * `parse` validates once, then getters read fields straight from the bytes.
 */
import type { PacketBuffer } from "@netstack/buffers"
import { readU16 } from "../bytes.ts"
import { macToString, readMac } from "../addresses/mac.ts"
import { EthernetDefect } from "./defects.ts"
import { ETHERNET_HEADER_LENGTH, type EthernetHeader } from "./schema.ts"

/** An Ethernet II header inside a buffer. */
export class EthernetView {
  /** The buffer the header is in. */
  readonly buffer: PacketBuffer
  /** Index of the header's first byte in `buffer.bytes`. */
  readonly start: number

  private constructor(buffer: PacketBuffer, start: number) {
    this.buffer = buffer
    this.start = start
  }

  /**
   * The header at `offset` bytes past `buffer.data`, or the defect that refuses
   * it. Makes the 14 header bytes linear if they straddle fragments.
   */
  static parse(buffer: PacketBuffer, offset = 0): EthernetView | EthernetDefect {
    const end = offset + ETHERNET_HEADER_LENGTH
    if (!(offset >= 0) || buffer.length < end) return EthernetDefect.truncated
    if (buffer.headLength < end && buffer.mayPull(end) !== undefined) return EthernetDefect.truncated
    return new EthernetView(buffer, buffer.data + offset)
  }

  /** Destination address (48 bits as a number). */
  get destination(): number {
    return readMac(this.buffer.bytes, this.start)
  }
  /** Source address (48 bits as a number). */
  get source(): number {
    return readMac(this.buffer.bytes, this.start + 6)
  }
  /** EtherType, or an 802.3 length when below 0x0600. */
  get etherType(): number {
    return readU16(this.buffer.bytes, this.start + 12)
  }
  /** Always 14. */
  get headerLength(): number {
    return ETHERNET_HEADER_LENGTH
  }
  /** Offset from `buffer.data` of the first byte after the header. */
  get payloadOffset(): number {
    return this.start + ETHERNET_HEADER_LENGTH - this.buffer.data
  }

  /** The typed representation (allocates; off the hot path). */
  toHeader(): EthernetHeader {
    return {
      destination: macToString(this.destination),
      source: macToString(this.source),
      etherType: this.etherType
    }
  }
}
