/**
 * The IEEE 802.1Q tag (IEEE 802.1Q-2018 §9.6): after the TPID (the outer
 * EtherType, 0x8100 for a C-TAG, 0x88a8 for an S-TAG, §9.5) come 2 bytes of
 * Tag Control Information — PCP (3 bits, the priority), DEI (1 bit, drop
 * eligible) and VID (12 bits, the VLAN identifier) — and then the
 * EtherType of the encapsulated frame. The TPID belongs to the Ethernet
 * header in front; this "tag" is the 4 bytes after it.
 *
 * VIDs 0 and 4095 are special (§9.6, Table 9-2): VID 0 is the null VID of a
 * priority-tagged frame (the tag carries only PCP and DEI; the frame belongs
 * to the port's VLAN), VID 4095 is reserved and must not be configured or
 * transmitted by a bridge. The wire format accepts both: they parse and
 * round-trip like any other VID, and it is for the bridge or the VLAN device
 * (in `l2`) to treat 0 as "untagged with priority" and to drop 4095.
 */
import { Schema } from "effect"
import { ETHERTYPE_MINIMUM, etherTypeName, EtherTypes } from "../ethernet/schema.ts"
import { EtherType, UintBits } from "../fields.ts"

/** Bytes in a VLAN tag after its TPID: the TCI and the inner EtherType. */
export const VLAN_TAG_LENGTH = 4

/** The special VLAN identifiers (IEEE 802.1Q-2018 §9.6, Table 9-2). */
export const VlanIds = {
  /** The null VID: a priority-tagged frame, carrying only PCP and DEI. */
  priorityTag: 0,
  /** The default PVID of a bridge port. */
  default: 1,
  /** Reserved: not configured in a filtering database, not transmitted in a tag header. */
  reserved: 4095
} as const

/** True for an EtherType that announces a VLAN tag: a C-TAG (0x8100) or an S-TAG (0x88a8, 802.1ad). */
export const isVlanEtherType = (etherType: number): boolean =>
  etherType === EtherTypes.vlan || etherType === EtherTypes.qinq

/**
 * The 16-bit TCI of a tag (§9.6): PCP in bits 15–13, DEI in bit 12, VID in
 * bits 11–0. Out-of-range fields are masked to their width. This is the form
 * `PacketMetadata.vlanTag` holds.
 */
export const vlanTci = (tag: { readonly priority: number; readonly dropEligible: boolean; readonly vlanId: number }): number =>
  ((tag.priority & 0x7) << 13) | (tag.dropEligible ? 0x1000 : 0) | (tag.vlanId & 0xfff)

/**
 * tcpdump style (`print-ether.c`): `vlan 100, p 3, ethertype IPv4 (0x0800)`,
 * with `, DEI` after the priority when the DEI bit is set, and `802.3, length
 * N` when the inner type field is an 802.3 length.
 */
const formatVlanTag = (t: {
  readonly priority: number
  readonly dropEligible: boolean
  readonly vlanId: number
  readonly etherType: number
}) => {
  const head = `vlan ${t.vlanId}, p ${t.priority}${t.dropEligible ? ", DEI" : ""}`
  return t.etherType < ETHERTYPE_MINIMUM
    ? `${head}, 802.3, length ${t.etherType}`
    : `${head}, ethertype ${etherTypeName(t.etherType)} (0x${t.etherType.toString(16).padStart(4, "0")})`
}

/** The 802.1Q tag's typed representation (IEEE 802.1Q-2018 §9.6). */
export const VlanTag = Schema.Struct({
  /** PCP: the priority code point, 0–7. */
  priority: UintBits(3),
  /** DEI: the frame may be dropped first under congestion. */
  dropEligible: Schema.Boolean,
  /** VID, 0–4095. 0 (priority tag) and 4095 (reserved) are accepted; see the module comment. */
  vlanId: UintBits(12),
  /** The EtherType of the encapsulated frame (an 802.3 length when below 0x0600). */
  etherType: EtherType
}).pipe(Schema.overrideToFormatter(() => formatVlanTag))
/** The 802.1Q tag's typed representation. */
export type VlanTag = typeof VlanTag.Type
