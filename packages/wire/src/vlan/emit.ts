/** Writes an 802.1Q tag (TCI and inner EtherType) into a buffer's headroom. */
import type { BufferReleased, HeadroomExceeded, InvalidLength, PacketBuffer } from "@netstack/buffers"
import { writeU16 } from "../bytes.ts"
import { VLAN_TAG_LENGTH, vlanTci } from "./schema.ts"

/** What the emitter needs. A typed `VlanTag` is one as it is. */
export interface VlanFields {
  /** PCP, 0–7. */
  readonly priority: number
  /** DEI. */
  readonly dropEligible: boolean
  /** VID, 0–4095. */
  readonly vlanId: number
  /** The EtherType of the encapsulated frame. */
  readonly etherType: number
}

/**
 * Pushes the 4 bytes of a tag, TCI then inner EtherType (IEEE 802.1Q-2018
 * §9.6), in front of `buffer.data`. The caller then emits the Ethernet header
 * with EtherType 0x8100 (or 0x88a8), which marks the MAC header; this
 * emitter marks nothing. Out-of-range fields are masked to their widths.
 */
export const emitVlan = (
  buffer: PacketBuffer,
  fields: VlanFields
): HeadroomExceeded | InvalidLength | BufferReleased | undefined => {
  const pushed = buffer.push(VLAN_TAG_LENGTH)
  if (pushed !== undefined) return pushed
  const bytes = buffer.writableBytes()
  if (!(bytes instanceof Uint8Array)) return bytes
  const i = buffer.data
  writeU16(bytes, i, vlanTci(fields))
  writeU16(bytes, i + 2, fields.etherType)
  return undefined
}
