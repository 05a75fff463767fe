/**
 * The Schema path for IPv4: bytes ⇄ `Ipv4Header`, written plainly with a
 * `DataView`. Bytes are the header first; the payload and any link-layer
 * padding may follow (the total length must fit in them).
 *
 * Like the view's `parse`, decoding does not verify the header checksum: the
 * field is decoded as found. `Ipv4View.verifyChecksum` checks it on request
 * (the `bad-checksum` defect).
 */
import { ipv4ToNumber, ipv4ToString } from "../addresses/ipv4.ts"
import { fromBytes } from "../codec.ts"
import { isHeaderDefect } from "../defect.ts"
import { Ipv4Defect } from "./defects.ts"
import { decodeIpv4Options, encodeIpv4Options, Ipv4Options } from "./options.ts"
import { IPV4_HEADER_LENGTH, IPV4_VERSION, Ipv4Header } from "./schema.ts"

/** Decodes an IPv4 header from the start of a packet, or encodes one to its 20 to 60 bytes. */
export const Ipv4HeaderFromBytes = fromBytes(Ipv4Header, {
  decode: (bytes) => {
    // RFC 791 §3.1: the checks in the order the view makes them.
    if (bytes.length < IPV4_HEADER_LENGTH) return Ipv4Defect.truncated
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    const versionAndIhl = view.getUint8(0)
    if (versionAndIhl >> 4 !== IPV4_VERSION) return Ipv4Defect["bad-version"]
    const headerLength = (versionAndIhl & 0x0f) * 4
    if (headerLength < IPV4_HEADER_LENGTH) return Ipv4Defect["bad-header-length"]
    if (bytes.length < headerLength) return Ipv4Defect.truncated
    const totalLength = view.getUint16(2)
    if (totalLength < headerLength || totalLength > bytes.length) return Ipv4Defect["bad-total-length"]
    const options = bytes.slice(IPV4_HEADER_LENGTH, headerLength)
    if (isHeaderDefect(decodeIpv4Options(options))) return Ipv4Defect["bad-option"]
    const tos = view.getUint8(1)
    const flagsAndOffset = view.getUint16(6)
    return {
      version: IPV4_VERSION,
      dscp: tos >> 2,
      ecn: tos & 0x03,
      totalLength,
      identification: view.getUint16(4),
      reservedFlag: (flagsAndOffset & 0x8000) !== 0,
      dontFragment: (flagsAndOffset & 0x4000) !== 0,
      moreFragments: (flagsAndOffset & 0x2000) !== 0,
      fragmentOffset: flagsAndOffset & 0x1fff,
      ttl: view.getUint8(8),
      protocol: view.getUint8(9),
      checksum: view.getUint16(10),
      source: ipv4ToString(view.getUint32(12)),
      destination: ipv4ToString(view.getUint32(16)),
      options
    }
  },
  encode: (header) => {
    const out = new Uint8Array(IPV4_HEADER_LENGTH + header.options.length)
    const view = new DataView(out.buffer)
    view.setUint8(0, (IPV4_VERSION << 4) | (out.length / 4))
    view.setUint8(1, (header.dscp << 2) | header.ecn)
    view.setUint16(2, header.totalLength)
    view.setUint16(4, header.identification)
    view.setUint16(
      6,
      (header.reservedFlag ? 0x8000 : 0) |
        (header.dontFragment ? 0x4000 : 0) |
        (header.moreFragments ? 0x2000 : 0) |
        header.fragmentOffset
    )
    view.setUint8(8, header.ttl)
    view.setUint8(9, header.protocol)
    view.setUint16(10, header.checksum)
    view.setUint32(12, ipv4ToNumber(header.source as Ipv4Header["source"]))
    view.setUint32(16, ipv4ToNumber(header.destination as Ipv4Header["destination"]))
    out.set(header.options, IPV4_HEADER_LENGTH)
    return out
  }
})

/**
 * The options area alone ⇄ the list of decoded options. Decoding stops at
 * End of Option List (what follows is padding, not kept); encoding writes the
 * options exactly, unpadded (`padIpv4Options` pads). Malformed options are
 * `ipv4.bad-option`; a list longer than an options area can be (40 bytes)
 * is refused by the `Ipv4Options` checks.
 */
export const Ipv4OptionsFromBytes = fromBytes(Ipv4Options, {
  decode: (bytes) => decodeIpv4Options(bytes),
  encode: (options) => encodeIpv4Options(options as Ipv4Options)
})
