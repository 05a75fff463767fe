/** The Schema path for Ethernet: bytes ⇄ `EthernetHeader`, written plainly with a `DataView`. */
import { fromBytes } from "../codec.ts"
import { EthernetDefect } from "./defects.ts"
import { ETHERNET_HEADER_LENGTH, EthernetHeader } from "./schema.ts"

const hexPairs = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(":")

/** Decodes an Ethernet header from the start of a frame, or encodes one to its 14 bytes. */
export const EthernetHeaderFromBytes = fromBytes(EthernetHeader, {
  decode: (bytes) => {
    if (bytes.length < ETHERNET_HEADER_LENGTH) return EthernetDefect.truncated
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    return {
      destination: hexPairs(bytes.subarray(0, 6)),
      source: hexPairs(bytes.subarray(6, 12)),
      etherType: view.getUint16(12)
    }
  },
  encode: (header) => {
    const out = new Uint8Array(ETHERNET_HEADER_LENGTH)
    header.destination.split(":").forEach((pair, i) => (out[i] = Number.parseInt(pair, 16)))
    header.source.split(":").forEach((pair, i) => (out[6 + i] = Number.parseInt(pair, 16)))
    new DataView(out.buffer).setUint16(12, header.etherType)
    return out
  }
})
