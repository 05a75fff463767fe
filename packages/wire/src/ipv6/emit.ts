/** Writes an IPv6 header and its extension headers into a buffer's headroom. */
import { type BufferReleased, type HeadroomExceeded, InvalidLength, type PacketBuffer } from "@netstack/buffers"
import { ipv6ToBytes } from "../addresses/ipv6.ts"
import { writeU16, writeU32 } from "../bytes.ts"
import {
  IPV6_FRAGMENT_HEADER_LENGTH,
  IPV6_HEADER_LENGTH,
  IPV6_MAX_PAYLOAD_LENGTH,
  ipv6ExtensionHeaderNumber,
  type Ipv6Header,
  type Ipv6Option,
  ipv6OptionLength,
  Ipv6OptionTypes,
  ipv6UpperLayerProtocol
} from "./schema.ts"

/** An extension header to emit: the typed header without its Next Header, which the emitter fills. */
export type Ipv6ExtensionFields =
  | {
    readonly _tag: "HopByHop" | "DestinationOptions"
    /** The options; the emitter pads them with Pad1 or PadN to a multiple of 8 bytes (RFC 8200 §4.2). */
    readonly options: ReadonlyArray<Ipv6Option>
  }
  | {
    readonly _tag: "Routing"
    readonly routingType: number
    readonly segmentsLeft: number
    /** Type-specific data, 4 bytes less than a multiple of 8 (RFC 8200 §4.4). */
    readonly data: Uint8Array
  }
  | {
    readonly _tag: "Fragment"
    /** In 8-byte units. */
    readonly fragmentOffset: number
    readonly moreFragments: boolean
    readonly identification: number
    /** The 8-bit reserved field, 0 unless given. */
    readonly reserved?: number
    /** The 2-bit reserved field, 0 unless given. */
    readonly reserved2?: number
  }

/** What the emitter needs: hot-path forms of the fields. */
export interface Ipv6Fields {
  readonly trafficClass: number
  readonly flowLabel: number
  readonly hopLimit: number
  /** The 16 source address bytes. */
  readonly source: Uint8Array
  /** The 16 destination address bytes. */
  readonly destination: Uint8Array
  /** The upper-layer protocol: the Next Header of the last extension header (or of the fixed header). */
  readonly protocol: number
  /** Extension headers in wire order (RFC 8200 §4.1 recommends the order); none unless given. */
  readonly extensionHeaders?: ReadonlyArray<Ipv6ExtensionFields>
}

/** The emitter fields of a typed header. */
export const ipv6Fields = (header: Ipv6Header): Ipv6Fields => ({
  trafficClass: header.trafficClass,
  flowLabel: header.flowLabel,
  hopLimit: header.hopLimit,
  source: ipv6ToBytes(header.source),
  destination: ipv6ToBytes(header.destination),
  protocol: ipv6UpperLayerProtocol(header),
  extensionHeaders: header.extensionHeaders
})

const NO_EXTENSIONS: ReadonlyArray<Ipv6ExtensionFields> = []


/** Bytes of the options plus the 2-byte header prefix, before padding. */
const unpaddedOptionsLength = (options: ReadonlyArray<Ipv6Option>): number => {
  let n = 2
  for (const o of options) n += ipv6OptionLength(o)
  return n
}

/** Bytes the extension header takes on the wire (options padded), or -1 if it cannot be written. */
const sizeOf = (e: Ipv6ExtensionFields): number => {
  switch (e._tag) {
    case "HopByHop":
    case "DestinationOptions": {
      const size = Math.ceil(unpaddedOptionsLength(e.options) / 8) * 8
      return size <= 2048 ? size : -1
    }
    case "Routing":
      return e.data.length % 8 === 4 && e.data.length <= 2044 ? 4 + e.data.length : -1
    case "Fragment":
      return IPV6_FRAGMENT_HEADER_LENGTH
  }
}

/** Writes options at `bytes[p, end)`, then Pad1 or PadN up to `end`; returns the index of the jumbo length, or -1. */
const writeOptions = (bytes: Uint8Array, p: number, end: number, options: ReadonlyArray<Ipv6Option>): number => {
  let at = p
  let jumboAt = -1
  for (const o of options) {
    switch (o._tag) {
      case "Pad1":
        bytes[at++] = Ipv6OptionTypes.pad1
        break
      case "PadN":
        bytes[at] = Ipv6OptionTypes.padN
        bytes[at + 1] = o.length
        bytes.fill(0, at + 2, at + 2 + o.length)
        at += 2 + o.length
        break
      case "RouterAlert":
        bytes[at] = Ipv6OptionTypes.routerAlert
        bytes[at + 1] = 2
        writeU16(bytes, at + 2, o.value)
        at += 4
        break
      case "JumboPayload":
        bytes[at] = Ipv6OptionTypes.jumboPayload
        bytes[at + 1] = 4
        jumboAt = at + 2
        writeU32(bytes, at + 2, o.length)
        at += 6
        break
      case "UnknownOption":
        bytes[at] = o.type
        bytes[at + 1] = o.data.length
        bytes.set(o.data, at + 2)
        at += 2 + o.data.length
        break
    }
  }
  // RFC 8200 §4.2: Pad1 for one byte of padding, PadN for more.
  if (end - at === 1) {
    bytes[at] = Ipv6OptionTypes.pad1
  } else if (end - at >= 2) {
    bytes[at] = Ipv6OptionTypes.padN
    bytes[at + 1] = end - at - 2
    bytes.fill(0, at + 2, end)
  }
  return jumboAt
}

const hasJumbo = (e: Ipv6ExtensionFields | undefined): boolean =>
  e !== undefined && e._tag === "HopByHop" && e.options.some((o) => o._tag === "JumboPayload")

/**
 * Pushes the extension headers and the 40-byte fixed header in front of
 * `buffer.data` (the upper-layer header and data), fills the Payload Length
 * from the buffer and each Next Header from the chain, and marks the network
 * header. A payload above 65,535 bytes needs a Jumbo Payload option in a
 * leading Hop-by-Hop header: the emitter then writes Payload Length 0 and the
 * length into the option (RFC 2675 §2), whatever the option held. Returns
 * `InvalidLength` (changing nothing) for a payload too long without that
 * option, a jumbo option on a payload of 65,535 bytes or fewer, options
 * longer than 2046 bytes, or Routing data of the wrong length.
 */
export const emitIpv6 = (
  buffer: PacketBuffer,
  fields: Ipv6Fields
): HeadroomExceeded | InvalidLength | BufferReleased | undefined => {
  const chain = fields.extensionHeaders ?? NO_EXTENSIONS
  let extensionLength = 0
  for (const e of chain) {
    const size = sizeOf(e)
    if (size < 0) {
      return new InvalidLength({
        value: e._tag === "Routing" ? e.data.length : e._tag === "Fragment" ? 8 : unpaddedOptionsLength(e.options)
      })
    }
    extensionLength += size
  }
  const payloadLength = buffer.length + extensionLength
  const jumbo = hasJumbo(chain[0])
  if (jumbo ? payloadLength <= IPV6_MAX_PAYLOAD_LENGTH : payloadLength > IPV6_MAX_PAYLOAD_LENGTH) {
    return new InvalidLength({ value: payloadLength })
  }
  const pushed = buffer.push(IPV6_HEADER_LENGTH + extensionLength)
  if (pushed !== undefined) return pushed
  const bytes = buffer.writableBytes()
  if (!(bytes instanceof Uint8Array)) return bytes
  const i = buffer.data
  // RFC 8200 §3: version, traffic class, flow label, payload length, next header, hop limit, addresses.
  writeU32(bytes, i, ((6 << 28) | ((fields.trafficClass & 0xff) << 20) | (fields.flowLabel & 0xfffff)) >>> 0)
  writeU16(bytes, i + 4, jumbo ? 0 : payloadLength)
  bytes[i + 6] = chain.length > 0 ? ipv6ExtensionHeaderNumber(chain[0]._tag) : fields.protocol
  bytes[i + 7] = fields.hopLimit
  bytes.set(fields.source.subarray(0, 16), i + 8)
  bytes.set(fields.destination.subarray(0, 16), i + 24)
  let at = i + IPV6_HEADER_LENGTH
  for (let k = 0; k < chain.length; k++) {
    const e = chain[k]
    const size = sizeOf(e)
    const next = chain[k + 1]
    bytes[at] = next === undefined ? fields.protocol : ipv6ExtensionHeaderNumber(next._tag)
    switch (e._tag) {
      case "HopByHop":
      case "DestinationOptions": {
        bytes[at + 1] = size / 8 - 1
        const jumboAt = writeOptions(bytes, at + 2, at + size, e.options)
        if (jumboAt >= 0 && k === 0 && e._tag === "HopByHop") writeU32(bytes, jumboAt, payloadLength)
        break
      }
      case "Routing":
        bytes[at + 1] = size / 8 - 1
        bytes[at + 2] = e.routingType
        bytes[at + 3] = e.segmentsLeft
        bytes.set(e.data, at + 4)
        break
      case "Fragment":
        bytes[at + 1] = e.reserved ?? 0
        writeU16(bytes, at + 2, ((e.fragmentOffset & 0x1fff) << 3) | (((e.reserved2 ?? 0) & 3) << 1) | (e.moreFragments ? 1 : 0))
        writeU32(bytes, at + 4, e.identification)
        break
    }
    at += size
  }
  buffer.resetNetworkHeader()
  return undefined
}
