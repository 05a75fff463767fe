/**
 * A checked, zero-copy view of an IPv6 header and its extension-header chain
 * inside a `PacketBuffer`. `parse` walks the whole chain once (RFC 8200 §4),
 * validating as it goes, and keeps what the walk found in plain number
 * fields: no allocation besides the view.
 */
import { foldSum, type PacketBuffer } from "@netstack/buffers"
import { ipv6Equals, ipv6ToString } from "../addresses/ipv6.ts"
import { readU16, readU32 } from "../bytes.ts"
import { Ipv6Defect } from "./defects.ts"
import {
  IPV6_HEADER_LENGTH,
  IPV6_MAX_EXTENSION_HEADERS,
  IPV6_MAX_PAYLOAD_LENGTH,
  type Ipv6ExtensionHeader,
  type Ipv6Header,
  Ipv6NextHeaders,
  type Ipv6Option,
  Ipv6OptionTypes
} from "./schema.ts"

/** Makes packet bytes `[0, end)` (from `buffer.data`) linear; false if it cannot. */
const linear = (buffer: PacketBuffer, end: number): boolean =>
  buffer.headLength >= end || buffer.mayPull(end) === undefined

/** An IPv6 packet's headers inside a buffer. */
export class Ipv6View {
  /** The buffer the packet is in. */
  readonly buffer: PacketBuffer
  /** Index of the fixed header's first byte in `buffer.bytes`. */
  readonly start: number
  /** Index in `buffer.bytes` of the first byte after the extension headers. */
  private readonly upperStart: number
  /**
   * The protocol the chain ends at: the last Next Header (TCP 6, UDP 17,
   * ICMPv6 58, No Next Header 59, or any number the walk does not read as an
   * extension header). After a Fragment header, the Fragment header's Next
   * Header: what follows is fragment data (RFC 8200 §4.5).
   */
  readonly upperLayerProtocol: number
  /** How many extension headers the chain holds (at most `IPV6_MAX_EXTENSION_HEADERS`). */
  readonly extensionHeaderCount: number
  /** Index in `buffer.bytes` of the Fragment header, or -1. */
  private readonly fragmentStart: number
  /** Index in `buffer.bytes` of the first Routing header, or -1. */
  private readonly routingStart: number
  /** A jumbogram's Jumbo Payload length (RFC 2675), or -1. */
  readonly jumboPayloadLength: number
  /** The value of the Hop-by-Hop header's first Router Alert option (RFC 2711), or -1. */
  readonly routerAlert: number
  /**
   * The first option of the Hop-by-Hop header that is not recognized and whose
   * type does not say skip (RFC 8200 §4.2), as its offset from the start of the
   * fixed header (the Parameter Problem pointer, RFC 4443 §3.4), or -1. Its
   * type, `buffer.bytes[start + pointer]`, gives the action (`ipv6OptionAction`).
   */
  readonly hopByHopUnrecognizedOption: number
  /** The same as `hopByHopUnrecognizedOption`, for the Destination Options headers. */
  readonly destinationUnrecognizedOption: number

  private constructor(
    buffer: PacketBuffer,
    start: number,
    upperStart: number,
    upperLayerProtocol: number,
    extensionHeaderCount: number,
    fragmentStart: number,
    routingStart: number,
    jumboPayloadLength: number,
    routerAlert: number,
    hopByHopUnrecognizedOption: number,
    destinationUnrecognizedOption: number
  ) {
    this.buffer = buffer
    this.start = start
    this.upperStart = upperStart
    this.upperLayerProtocol = upperLayerProtocol
    this.extensionHeaderCount = extensionHeaderCount
    this.fragmentStart = fragmentStart
    this.routingStart = routingStart
    this.jumboPayloadLength = jumboPayloadLength
    this.routerAlert = routerAlert
    this.hopByHopUnrecognizedOption = hopByHopUnrecognizedOption
    this.destinationUnrecognizedOption = destinationUnrecognizedOption
  }

  /**
   * The packet at `offset` bytes past `buffer.data`, or the defect that
   * refuses it. The packet runs to the end of the buffer; bytes past the
   * payload length are link padding. Walks and validates the whole chain
   * (see `defects.ts` for the order), making each header linear as it goes.
   */
  static parse(buffer: PacketBuffer, offset = 0): Ipv6View | Ipv6Defect {
    if (!(offset >= 0)) return Ipv6Defect.truncated
    const n = buffer.length - offset
    if (n < IPV6_HEADER_LENGTH || !linear(buffer, offset + IPV6_HEADER_LENGTH)) return Ipv6Defect.truncated
    let bytes = buffer.bytes
    const start = buffer.data + offset
    // RFC 8200 §3: version 6.
    if (bytes[start] >>> 4 !== 6) return Ipv6Defect["bad-version"]
    const payloadLength = readU16(bytes, start + 4)
    if (payloadLength > n - IPV6_HEADER_LENGTH) return Ipv6Defect["bad-payload-length"]
    const firstNextHeader = bytes[start + 6]
    // RFC 2675 §3: Payload Length 0 with a Hop-by-Hop header announces a jumbogram.
    const jumboCandidate = payloadLength === 0 && firstNextHeader === Ipv6NextHeaders.hopByHop
    // Positions below are relative to `start`; `limit` is the end of the payload.
    let limit = jumboCandidate ? n : IPV6_HEADER_LENGTH + payloadLength
    let nextHeader = firstNextHeader
    let at = IPV6_HEADER_LENGTH
    let count = 0
    let jumbo = -1
    let fragmentStart = -1
    let routingStart = -1
    let routerAlert = -1
    let hopByHopUnrecognized = -1
    let destinationUnrecognized = -1
    for (;;) {
      const kind = nextHeader
      if (
        kind !== Ipv6NextHeaders.hopByHop &&
        kind !== Ipv6NextHeaders.destinationOptions &&
        kind !== Ipv6NextHeaders.routing &&
        kind !== Ipv6NextHeaders.fragment
      ) {
        break
      }
      if (count === IPV6_MAX_EXTENSION_HEADERS) return Ipv6Defect["too-many-extension-headers"]
      // RFC 8200 §4.1: Hop-by-Hop Options only immediately after the fixed header.
      if (kind === Ipv6NextHeaders.hopByHop && count > 0) return Ipv6Defect["hop-by-hop-not-first"]
      if (kind === Ipv6NextHeaders.fragment) {
        // RFC 8200 §4.5: 8 bytes; the walk ends with it.
        if (at + 8 > limit) return Ipv6Defect["bad-extension-length"]
        if (jumbo >= 0) return Ipv6Defect["bad-jumbo"]
        if (!linear(buffer, offset + at + 8)) return Ipv6Defect.truncated
        bytes = buffer.bytes
        const word = readU16(bytes, start + at + 2)
        fragmentStart = start + at
        nextHeader = bytes[start + at]
        at += 8
        count++
        const dataLength = limit - at
        if ((word & 1) === 1 && dataLength % 8 !== 0) return Ipv6Defect["bad-fragment"]
        if ((word >>> 3) * 8 + dataLength > IPV6_MAX_PAYLOAD_LENGTH) return Ipv6Defect["bad-fragment"]
        break
      }
      if (at + 2 > limit) return Ipv6Defect["bad-extension-length"]
      if (!linear(buffer, offset + at + 2)) return Ipv6Defect.truncated
      bytes = buffer.bytes
      const size = (bytes[start + at + 1] + 1) * 8
      if (at + size > limit) return Ipv6Defect["bad-extension-length"]
      if (!linear(buffer, offset + at + size)) return Ipv6Defect.truncated
      bytes = buffer.bytes
      if (kind === Ipv6NextHeaders.routing) {
        if (routingStart < 0) routingStart = start + at
      } else {
        // RFC 8200 §4.2: the TLV-encoded options fill the rest of the header.
        const inHopByHop = kind === Ipv6NextHeaders.hopByHop
        const end = at + size
        let p = at + 2
        while (p < end) {
          const type = bytes[start + p]
          if (type === Ipv6OptionTypes.pad1) {
            p++
            continue
          }
          if (p + 2 > end) return Ipv6Defect["bad-option-length"]
          const length = bytes[start + p + 1]
          if (p + 2 + length > end) return Ipv6Defect["bad-option-length"]
          if (type === Ipv6OptionTypes.padN) {
            for (let k = start + p + 2; k < start + p + 2 + length; k++) if (bytes[k] !== 0) return Ipv6Defect["bad-padding"]
          } else if (type === Ipv6OptionTypes.routerAlert) {
            if (length !== 2) return Ipv6Defect["bad-option"] // RFC 2711 §2.1
            if (inHopByHop && routerAlert < 0) routerAlert = readU16(bytes, start + p + 2)
          } else if (type === Ipv6OptionTypes.jumboPayload) {
            if (length !== 4) return Ipv6Defect["bad-option"] // RFC 2675 §2
            const value = readU32(bytes, start + p + 2)
            // RFC 2675 §3: only in Hop-by-Hop, once, with Payload Length 0, above 65535.
            if (!inHopByHop || jumbo >= 0 || payloadLength !== 0 || value <= IPV6_MAX_PAYLOAD_LENGTH) {
              return Ipv6Defect["bad-jumbo"]
            }
            jumbo = value
          } else if (type >>> 6 !== 0) {
            if (inHopByHop) {
              if (hopByHopUnrecognized < 0) hopByHopUnrecognized = p
            } else if (destinationUnrecognized < 0) {
              destinationUnrecognized = p
            }
          }
          p += 2 + length
        }
        if (inHopByHop && jumboCandidate) {
          if (jumbo < 0) return Ipv6Defect["bad-jumbo"] // RFC 2675 §3
          if (jumbo > n - IPV6_HEADER_LENGTH) return Ipv6Defect["bad-payload-length"]
          limit = IPV6_HEADER_LENGTH + jumbo
        }
      }
      nextHeader = bytes[start + at]
      at += size
      count++
    }
    return new Ipv6View(
      buffer,
      start,
      start + at,
      nextHeader,
      count,
      fragmentStart,
      routingStart,
      jumbo,
      routerAlert,
      hopByHopUnrecognized,
      destinationUnrecognized
    )
  }

  /** Traffic Class (RFC 8200 §7). */
  get trafficClass(): number {
    const b = this.buffer.bytes
    return ((b[this.start] & 0x0f) << 4) | (b[this.start + 1] >>> 4)
  }
  /** Flow Label, 20 bits (RFC 6437). */
  get flowLabel(): number {
    const b = this.buffer.bytes
    return ((b[this.start + 1] & 0x0f) << 16) | readU16(b, this.start + 2)
  }
  /**
   * Bytes after the fixed header, extension headers included: the Payload
   * Length field, or the Jumbo Payload length of a jumbogram (where the field
   * is 0). The packet ends at `40 + payloadLength`; bytes after it are link padding.
   */
  get payloadLength(): number {
    return this.jumboPayloadLength >= 0 ? this.jumboPayloadLength : readU16(this.buffer.bytes, this.start + 4)
  }
  /** True for a jumbogram (RFC 2675). */
  get isJumbogram(): boolean {
    return this.jumboPayloadLength >= 0
  }
  /** The fixed header's Next Header: the first extension header, or the upper-layer protocol. */
  get nextHeader(): number {
    return this.buffer.bytes[this.start + 6]
  }
  /** Hop Limit. */
  get hopLimit(): number {
    return this.buffer.bytes[this.start + 7]
  }
  /** Offset from `buffer.data` of the 16 source address bytes. */
  get sourceOffset(): number {
    return this.start + 8 - this.buffer.data
  }
  /** Offset from `buffer.data` of the 16 destination address bytes. */
  get destinationOffset(): number {
    return this.start + 24 - this.buffer.data
  }
  /** Whether the source address equals the 16 bytes at `address[at]`, compared in place. */
  sourceEquals(address: Uint8Array, at = 0): boolean {
    return ipv6Equals(this.buffer.bytes, this.start + 8, address, at)
  }
  /** Whether the destination address equals the 16 bytes at `address[at]`, compared in place. */
  destinationEquals(address: Uint8Array, at = 0): boolean {
    return ipv6Equals(this.buffer.bytes, this.start + 24, address, at)
  }
  /** Bytes of the fixed header and the extension headers. */
  get headerLength(): number {
    return this.upperStart - this.start
  }
  /** Offset from `buffer.data` of the upper-layer header (or, after a Fragment header, the fragment data). */
  get upperLayerOffset(): number {
    return this.upperStart - this.buffer.data
  }
  /** Bytes from `upperLayerOffset` to the end of the payload: the upper-layer length of the pseudo-header. */
  get upperLayerLength(): number {
    return IPV6_HEADER_LENGTH + this.payloadLength - this.headerLength
  }
  /** Offset from `buffer.data` of the Fragment header, or -1 when the packet is not a fragment. */
  get fragmentHeaderOffset(): number {
    return this.fragmentStart < 0 ? -1 : this.fragmentStart - this.buffer.data
  }
  /** True when the packet carries a Fragment header (RFC 8200 §4.5). */
  get isFragment(): boolean {
    return this.fragmentStart >= 0
  }
  /** The Fragment Offset in 8-byte units, 0 when not a fragment. */
  get fragmentOffset(): number {
    return this.fragmentStart < 0 ? 0 : readU16(this.buffer.bytes, this.fragmentStart + 2) >>> 3
  }
  /** The M flag (more fragments follow), false when not a fragment. */
  get moreFragments(): boolean {
    return this.fragmentStart >= 0 && (this.buffer.bytes[this.fragmentStart + 3] & 1) === 1
  }
  /** The fragment Identification, 0 when not a fragment. */
  get fragmentIdentification(): number {
    return this.fragmentStart < 0 ? 0 : readU32(this.buffer.bytes, this.fragmentStart + 4)
  }
  /** Offset from `buffer.data` of the first Routing header, or -1. */
  get routingHeaderOffset(): number {
    return this.routingStart < 0 ? -1 : this.routingStart - this.buffer.data
  }
  /** The first Routing header's Routing Type (RFC 8200 §4.4), or -1. */
  get routingType(): number {
    return this.routingStart < 0 ? -1 : this.buffer.bytes[this.routingStart + 2]
  }
  /** The first Routing header's Segments Left, or -1. */
  get segmentsLeft(): number {
    return this.routingStart < 0 ? -1 : this.buffer.bytes[this.routingStart + 3]
  }

  /**
   * The partial sum of the IPv6 pseudo-header (RFC 8200 §8.1) from the
   * addresses in place, for the upper-layer checksum: `length` defaults to
   * `upperLayerLength`, `nextHeader` to `upperLayerProtocol`. The destination
   * is the Destination Address field: at a receiver it is the final one.
   */
  pseudoHeaderSum(length = this.upperLayerLength, nextHeader = this.upperLayerProtocol): number {
    const b = this.buffer.bytes
    let sum = 0
    for (let i = this.start + 8; i < this.start + 40; i += 2) sum += (b[i] << 8) | b[i + 1]
    return foldSum(sum + Math.floor(length / 0x10000) + (length & 0xffff) + (nextHeader & 0xff))
  }

  /** The typed representation (allocates; off the hot path). */
  toHeader(): Ipv6Header {
    const b = this.buffer.bytes
    const s = this.start
    const extensionHeaders: Array<Ipv6ExtensionHeader> = []
    let kind = this.nextHeader
    let at = s + IPV6_HEADER_LENGTH
    for (let i = 0; i < this.extensionHeaderCount; i++) {
      const next = b[at]
      if (kind === Ipv6NextHeaders.fragment) {
        const word = readU16(b, at + 2)
        extensionHeaders.push({
          _tag: "Fragment",
          nextHeader: next,
          reserved: b[at + 1],
          fragmentOffset: word >>> 3,
          reserved2: (word >>> 1) & 3,
          moreFragments: (word & 1) === 1,
          identification: readU32(b, at + 4)
        })
        break
      }
      const size = (b[at + 1] + 1) * 8
      if (kind === Ipv6NextHeaders.routing) {
        extensionHeaders.push({
          _tag: "Routing",
          nextHeader: next,
          routingType: b[at + 2],
          segmentsLeft: b[at + 3],
          data: b.slice(at + 4, at + size)
        })
      } else {
        const options: Array<Ipv6Option> = []
        for (let p = at + 2; p < at + size; ) {
          const type = b[p]
          if (type === Ipv6OptionTypes.pad1) {
            options.push({ _tag: "Pad1" })
            p++
            continue
          }
          const length = b[p + 1]
          if (type === Ipv6OptionTypes.padN) options.push({ _tag: "PadN", length })
          else if (type === Ipv6OptionTypes.routerAlert) options.push({ _tag: "RouterAlert", value: readU16(b, p + 2) })
          else if (type === Ipv6OptionTypes.jumboPayload) options.push({ _tag: "JumboPayload", length: readU32(b, p + 2) })
          else options.push({ _tag: "UnknownOption", type, data: b.slice(p + 2, p + 2 + length) })
          p += 2 + length
        }
        extensionHeaders.push(
          kind === Ipv6NextHeaders.hopByHop
            ? { _tag: "HopByHop", nextHeader: next, options }
            : { _tag: "DestinationOptions", nextHeader: next, options }
        )
      }
      kind = next
      at += size
    }
    return {
      trafficClass: this.trafficClass,
      flowLabel: this.flowLabel,
      payloadLength: readU16(b, s + 4),
      nextHeader: this.nextHeader,
      hopLimit: this.hopLimit,
      source: ipv6ToString(b, s + 8),
      destination: ipv6ToString(b, s + 24),
      extensionHeaders
    }
  }
}
