/** The Schema path for UDP: bytes ⇄ `UdpHeader` (bytes = header and data; the length is checked against them). */
import { fromBytes } from "../codec.ts"
import { UdpDefect } from "./defects.ts"
import { UDP_HEADER_LENGTH, UdpHeader } from "./schema.ts"

/** Decodes a UDP header from the start of a datagram, or encodes one to its 8 bytes. */
export const UdpHeaderFromBytes = fromBytes(UdpHeader, {
  decode: (bytes) => {
    if (bytes.length < UDP_HEADER_LENGTH) return UdpDefect.truncated
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    const length = view.getUint16(4)
    if (length < UDP_HEADER_LENGTH || length > bytes.length) return UdpDefect["bad-length"]
    return {
      sourcePort: view.getUint16(0),
      destinationPort: view.getUint16(2),
      length,
      checksum: view.getUint16(6)
    }
  },
  encode: (header) => {
    const out = new Uint8Array(UDP_HEADER_LENGTH)
    const view = new DataView(out.buffer)
    view.setUint16(0, header.sourcePort)
    view.setUint16(2, header.destinationPort)
    view.setUint16(4, header.length)
    view.setUint16(6, header.checksum)
    return out
  }
})
