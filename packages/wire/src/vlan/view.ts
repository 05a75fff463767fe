/**
 * A checked, zero-copy view of an 802.1Q tag inside a `PacketBuffer`: the 4
 * bytes after an Ethernet header (or an outer tag) whose EtherType is 0x8100
 * or 0x88a8.
 */
import type { PacketBuffer } from "@netstack/buffers"
import { readU16 } from "../bytes.ts"
import { VlanDefect } from "./defects.ts"
import { VLAN_TAG_LENGTH, type VlanTag } from "./schema.ts"

/** An 802.1Q tag (TCI and inner EtherType) inside a buffer. */
export class VlanView {
  /** The buffer the tag is in. */
  readonly buffer: PacketBuffer
  /** Index of the TCI's first byte in `buffer.bytes`. */
  readonly start: number

  private constructor(buffer: PacketBuffer, start: number) {
    this.buffer = buffer
    this.start = start
  }

  /**
   * The tag whose TCI is at `offset` bytes past `buffer.data` (usually the
   * Ethernet view's `payloadOffset`), or the defect that refuses it. Makes the
   * 4 bytes linear if they straddle fragments. Every TCI is accepted,
   * VID 0 (priority tag) and 4095 (reserved) included (IEEE 802.1Q-2018 §9.6).
   */
  static parse(buffer: PacketBuffer, offset = 0): VlanView | VlanDefect {
    const end = offset + VLAN_TAG_LENGTH
    if (!(offset >= 0) || buffer.length < end) return VlanDefect.truncated
    if (buffer.headLength < end && buffer.mayPull(end) !== undefined) return VlanDefect.truncated
    return new VlanView(buffer, buffer.data + offset)
  }

  /** The 16-bit Tag Control Information (the form `PacketMetadata.vlanTag` holds). */
  get tci(): number {
    return readU16(this.buffer.bytes, this.start)
  }
  /** PCP: the priority code point, 0–7 (TCI bits 15–13). */
  get priority(): number {
    return this.buffer.bytes[this.start] >>> 5
  }
  /** DEI: drop eligible (TCI bit 12). */
  get dropEligible(): boolean {
    return (this.buffer.bytes[this.start] & 0x10) !== 0
  }
  /** VID, 0–4095 (TCI bits 11–0); 0 is a priority tag, 4095 reserved. */
  get vlanId(): number {
    return this.tci & 0xfff
  }
  /** The EtherType of the encapsulated frame (an 802.3 length when below 0x0600). */
  get etherType(): number {
    return readU16(this.buffer.bytes, this.start + 2)
  }
  /** Always 4. */
  get headerLength(): number {
    return VLAN_TAG_LENGTH
  }
  /** Offset from `buffer.data` of the first byte after the tag. */
  get payloadOffset(): number {
    return this.start + VLAN_TAG_LENGTH - this.buffer.data
  }

  /** The typed representation (allocates; off the hot path). */
  toHeader(): VlanTag {
    return {
      priority: this.priority,
      dropEligible: this.dropEligible,
      vlanId: this.vlanId,
      etherType: this.etherType
    }
  }
}
