/** IEEE 802.1Q VLAN tag: Schema, codec, view, emitter. */
export { VlanTagFromBytes } from "./codec.ts"
export { VlanDefect } from "./defects.ts"
export { emitVlan, type VlanFields } from "./emit.ts"
export { isVlanEtherType, VLAN_TAG_LENGTH, VlanIds, VlanTag, vlanTci } from "./schema.ts"
export { VlanView } from "./view.ts"
