/** The Schema path for the 802.1Q tag: bytes (starting at the TCI) ⇄ `VlanTag`, written plainly with a `DataView`. */
import { fromBytes } from "../codec.ts"
import { VlanDefect } from "./defects.ts"
import { VLAN_TAG_LENGTH, VlanTag } from "./schema.ts"

/** Decodes a VLAN tag (TCI and inner EtherType, IEEE 802.1Q-2018 §9.6) from the start of the bytes, or encodes one to its 4 bytes. */
export const VlanTagFromBytes = fromBytes(VlanTag, {
  decode: (bytes) => {
    if (bytes.length < VLAN_TAG_LENGTH) return VlanDefect.truncated
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    const tci = view.getUint16(0)
    return {
      priority: Math.floor(tci / 8192),
      dropEligible: Math.floor(tci / 4096) % 2 === 1,
      vlanId: tci % 4096,
      etherType: view.getUint16(2)
    }
  },
  encode: (tag) => {
    const out = new Uint8Array(VLAN_TAG_LENGTH)
    const view = new DataView(out.buffer)
    view.setUint16(0, tag.priority * 8192 + (tag.dropEligible ? 4096 : 0) + tag.vlanId)
    view.setUint16(2, tag.etherType)
    return out
  }
})
