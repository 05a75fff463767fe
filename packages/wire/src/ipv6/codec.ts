/**
 * The Schema path for IPv6: bytes (the fixed header, the extension headers,
 * then the upper-layer data and any link padding) ⇄ `Ipv6Header`. Written
 * plainly with a `DataView`, independently of the view, walking the chain in
 * the order `defects.ts` lists.
 */
import { ipv6FromString, ipv6ToString } from "../addresses/ipv6.ts"
import { fromBytes } from "../codec.ts"
import type { HeaderDefect } from "../defect.ts"
import { Ipv6Defect } from "./defects.ts"
import {
  IPV6_HEADER_LENGTH,
  IPV6_MAX_EXTENSION_HEADERS,
  IPV6_MAX_PAYLOAD_LENGTH,
  type Ipv6ExtensionHeader,
  ipv6ExtensionHeaderLength,
  Ipv6Header,
  ipv6HeaderLength,
  Ipv6NextHeaders,
  type Ipv6Option,
  Ipv6OptionTypes
} from "./schema.ts"

type Decoded = typeof Ipv6Header.Encoded

/** The options of the Hop-by-Hop or Destination Options header at `at` (RFC 8200 §4.2), or a defect. */
const decodeOptions = (
  bytes: Uint8Array,
  view: DataView,
  start: number,
  end: number,
  inHopByHop: boolean,
  payloadLength: number,
  jumbos: { length: number }
): Array<Ipv6Option> | HeaderDefect => {
  const options: Array<Ipv6Option> = []
  let p = start
  while (p < end) {
    const type = bytes[p]
    if (type === Ipv6OptionTypes.pad1) {
      options.push({ _tag: "Pad1" })
      p += 1
      continue
    }
    if (p + 2 > end) return Ipv6Defect["bad-option-length"]
    const length = bytes[p + 1]
    if (p + 2 + length > end) return Ipv6Defect["bad-option-length"]
    const data = bytes.subarray(p + 2, p + 2 + length)
    if (type === Ipv6OptionTypes.padN) {
      if (data.some((b) => b !== 0)) return Ipv6Defect["bad-padding"]
      options.push({ _tag: "PadN", length })
    } else if (type === Ipv6OptionTypes.routerAlert) {
      // RFC 2711 §2.1: Opt Data Len = 2.
      if (length !== 2) return Ipv6Defect["bad-option"]
      options.push({ _tag: "RouterAlert", value: view.getUint16(p + 2) })
    } else if (type === Ipv6OptionTypes.jumboPayload) {
      // RFC 2675 §2: Opt Data Len = 4; §3: only in Hop-by-Hop, only once, with Payload Length 0, above 65535.
      if (length !== 4) return Ipv6Defect["bad-option"]
      const jumbo = view.getUint32(p + 2)
      if (!inHopByHop || jumbos.length >= 0 || payloadLength !== 0 || jumbo <= IPV6_MAX_PAYLOAD_LENGTH) {
        return Ipv6Defect["bad-jumbo"]
      }
      jumbos.length = jumbo
      options.push({ _tag: "JumboPayload", length: jumbo })
    } else {
      options.push({ _tag: "UnknownOption", type, data: data.slice() })
    }
    p += 2 + length
  }
  return options
}

/** Reads the fixed header and walks the extension-header chain (RFC 8200 §3, §4). */
const decodeIpv6 = (bytes: Uint8Array): Decoded | HeaderDefect => {
  const n = bytes.length
  if (n < IPV6_HEADER_LENGTH) return Ipv6Defect.truncated
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const word = view.getUint32(0)
  if (word >>> 28 !== 6) return Ipv6Defect["bad-version"]
  const payloadLength = view.getUint16(4)
  if (payloadLength > n - IPV6_HEADER_LENGTH) return Ipv6Defect["bad-payload-length"]
  const firstNextHeader = bytes[6]
  // RFC 2675 §3: Payload Length 0 with a Hop-by-Hop header announces a jumbogram; until its
  // Jumbo Payload option is read the Hop-by-Hop header may use the bytes present.
  const jumboCandidate = payloadLength === 0 && firstNextHeader === Ipv6NextHeaders.hopByHop
  let limit = jumboCandidate ? n : IPV6_HEADER_LENGTH + payloadLength
  const jumbos = { length: -1 }
  const extensionHeaders: Array<Ipv6ExtensionHeader> = []
  let nextHeader = firstNextHeader
  let at = IPV6_HEADER_LENGTH
  while (
    nextHeader === Ipv6NextHeaders.hopByHop ||
    nextHeader === Ipv6NextHeaders.destinationOptions ||
    nextHeader === Ipv6NextHeaders.routing ||
    nextHeader === Ipv6NextHeaders.fragment
  ) {
    if (extensionHeaders.length === IPV6_MAX_EXTENSION_HEADERS) return Ipv6Defect["too-many-extension-headers"]
    // RFC 8200 §4.1: Hop-by-Hop Options only immediately after the fixed header.
    if (nextHeader === Ipv6NextHeaders.hopByHop && extensionHeaders.length > 0) return Ipv6Defect["hop-by-hop-not-first"]
    if (nextHeader === Ipv6NextHeaders.fragment) {
      // RFC 8200 §4.5: fixed 8 bytes; the walk ends here, the rest is fragment data.
      if (at + 8 > limit) return Ipv6Defect["bad-extension-length"]
      if (jumbos.length >= 0) return Ipv6Defect["bad-jumbo"] // RFC 2675 §3
      const offsetWord = view.getUint16(at + 2)
      const fragment = {
        _tag: "Fragment" as const,
        nextHeader: bytes[at],
        reserved: bytes[at + 1],
        fragmentOffset: offsetWord >>> 3,
        reserved2: (offsetWord >>> 1) & 3,
        moreFragments: (offsetWord & 1) === 1,
        identification: view.getUint32(at + 4)
      }
      at += 8
      const dataLength = limit - at
      if (fragment.moreFragments && dataLength % 8 !== 0) return Ipv6Defect["bad-fragment"]
      if (fragment.fragmentOffset * 8 + dataLength > IPV6_MAX_PAYLOAD_LENGTH) return Ipv6Defect["bad-fragment"]
      extensionHeaders.push(fragment)
      nextHeader = fragment.nextHeader
      break
    }
    if (at + 2 > limit) return Ipv6Defect["bad-extension-length"]
    const size = (bytes[at + 1] + 1) * 8
    if (at + size > limit) return Ipv6Defect["bad-extension-length"]
    const headerNext = bytes[at]
    if (nextHeader === Ipv6NextHeaders.routing) {
      // RFC 8200 §4.4: routing type, segments left, type-specific data.
      extensionHeaders.push({
        _tag: "Routing",
        nextHeader: headerNext,
        routingType: bytes[at + 2],
        segmentsLeft: bytes[at + 3],
        data: bytes.slice(at + 4, at + size)
      })
    } else {
      const inHopByHop = nextHeader === Ipv6NextHeaders.hopByHop
      const options = decodeOptions(bytes, view, at + 2, at + size, inHopByHop, payloadLength, jumbos)
      if (!Array.isArray(options)) return options
      extensionHeaders.push(
        inHopByHop
          ? { _tag: "HopByHop", nextHeader: headerNext, options }
          : { _tag: "DestinationOptions", nextHeader: headerNext, options }
      )
      if (inHopByHop && jumboCandidate) {
        // RFC 2675 §3: Payload Length 0 and no Jumbo Payload option is an error.
        if (jumbos.length < 0) return Ipv6Defect["bad-jumbo"]
        if (jumbos.length > n - IPV6_HEADER_LENGTH) return Ipv6Defect["bad-payload-length"]
        limit = IPV6_HEADER_LENGTH + jumbos.length
      }
    }
    at += size
    nextHeader = headerNext
  }
  return {
    trafficClass: (word >>> 20) & 0xff,
    flowLabel: word & 0xfffff,
    payloadLength,
    nextHeader: firstNextHeader,
    hopLimit: bytes[7],
    source: ipv6ToString(bytes, 8),
    destination: ipv6ToString(bytes, 24),
    extensionHeaders
  }
}

/** Writes the options of a Hop-by-Hop or Destination Options header at `p`. */
const encodeOptions = (out: Uint8Array, view: DataView, p: number, options: ReadonlyArray<Ipv6Option>): void => {
  let at = p
  for (const o of options) {
    switch (o._tag) {
      case "Pad1":
        out[at] = Ipv6OptionTypes.pad1
        at += 1
        break
      case "PadN":
        out[at] = Ipv6OptionTypes.padN
        out[at + 1] = o.length
        at += 2 + o.length
        break
      case "RouterAlert":
        out[at] = Ipv6OptionTypes.routerAlert
        out[at + 1] = 2
        view.setUint16(at + 2, o.value)
        at += 4
        break
      case "JumboPayload":
        out[at] = Ipv6OptionTypes.jumboPayload
        out[at + 1] = 4
        view.setUint32(at + 2, o.length)
        at += 6
        break
      case "UnknownOption":
        out[at] = o.type
        out[at + 1] = o.data.length
        out.set(o.data, at + 2)
        at += 2 + o.data.length
        break
    }
  }
}

/** Writes the fixed header and each extension header with the Next Header fields it holds. */
const encodeIpv6 = (header: Decoded): Uint8Array => {
  const out = new Uint8Array(ipv6HeaderLength(header))
  const view = new DataView(out.buffer)
  view.setUint32(0, ((6 << 28) | (header.trafficClass << 20) | header.flowLabel) >>> 0)
  view.setUint16(4, header.payloadLength)
  out[6] = header.nextHeader
  out[7] = header.hopLimit
  out.set(ipv6FromString(header.source) ?? new Uint8Array(16), 8)
  out.set(ipv6FromString(header.destination) ?? new Uint8Array(16), 24)
  let at = IPV6_HEADER_LENGTH
  for (const e of header.extensionHeaders) {
    const size = ipv6ExtensionHeaderLength(e)
    out[at] = e.nextHeader
    switch (e._tag) {
      case "HopByHop":
      case "DestinationOptions":
        out[at + 1] = size / 8 - 1
        encodeOptions(out, view, at + 2, e.options)
        break
      case "Routing":
        out[at + 1] = size / 8 - 1
        out[at + 2] = e.routingType
        out[at + 3] = e.segmentsLeft
        out.set(e.data, at + 4)
        break
      case "Fragment":
        out[at + 1] = e.reserved
        view.setUint16(at + 2, (e.fragmentOffset << 3) | (e.reserved2 << 1) | (e.moreFragments ? 1 : 0))
        view.setUint32(at + 4, e.identification)
        break
    }
    at += size
  }
  return out
}

/**
 * Decodes an IPv6 header and its extension headers from the start of a packet
 * (the upper-layer data and any link padding may follow), or encodes one to
 * its bytes: the fixed header and the extension headers.
 */
export const Ipv6HeaderFromBytes = fromBytes(Ipv6Header, { decode: decodeIpv6, encode: encodeIpv6 })
