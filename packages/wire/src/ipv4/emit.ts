/** Writes an IPv4 header in front of the datagram's payload, with its lengths and header checksum. */
import {
  type BufferReleased,
  type HeadroomExceeded,
  internetChecksum,
  InvalidLength,
  type PacketBuffer
} from "@netstack/buffers"
import { ipv4ToNumber } from "../addresses/ipv4.ts"
import { writeU16, writeU32 } from "../bytes.ts"
import { IPV4_MAX_OPTIONS_LENGTH } from "./options.ts"
import { IPV4_HEADER_LENGTH, IPV4_VERSION, type Ipv4Header } from "./schema.ts"

/** What the emitter needs: hot-path forms of the fields. Lengths and the checksum are computed. */
export interface Ipv4Fields {
  /** Differentiated Services codepoint, 6 bits. */
  readonly dscp: number
  /** ECN, 2 bits. */
  readonly ecn: number
  readonly identification: number
  /** The reserved flag; false unless testing RFC 3514. */
  readonly reservedFlag: boolean
  readonly dontFragment: boolean
  readonly moreFragments: boolean
  /** In units of 8 bytes. */
  readonly fragmentOffset: number
  readonly ttl: number
  readonly protocol: number
  /** Source address, unsigned 32 bits. */
  readonly source: number
  /** Destination address, unsigned 32 bits. */
  readonly destination: number
  /** Encoded options (see `encodeIpv4Options`), padded here with zeros to a multiple of 4; at most 40 bytes padded. */
  readonly options?: Uint8Array
}

/** The emitter fields of a typed header (its lengths and checksum are recomputed by the emitter). */
export const ipv4Fields = (header: Ipv4Header): Ipv4Fields => ({
  dscp: header.dscp,
  ecn: header.ecn,
  identification: header.identification,
  reservedFlag: header.reservedFlag,
  dontFragment: header.dontFragment,
  moreFragments: header.moreFragments,
  fragmentOffset: header.fragmentOffset,
  ttl: header.ttl,
  protocol: header.protocol,
  source: ipv4ToNumber(header.source),
  destination: ipv4ToNumber(header.destination),
  options: header.options
})

/**
 * Pushes an IPv4 header in front of `buffer.data` (the payload): the options
 * padded with End of Option List (zero) bytes to a multiple of 4 (RFC 791
 * §3.1, "Padding"), the IHL, the total length (header plus everything in the
 * buffer after the push), and the header checksum, always computed in
 * software over the header (RFC 791 §3.1, RFC 1071). Marks the network
 * header. Options over 40 bytes padded, or a total length over 65535, are an
 * `InvalidLength` and change nothing.
 */
export const emitIpv4 = (
  buffer: PacketBuffer,
  fields: Ipv4Fields
): HeadroomExceeded | InvalidLength | BufferReleased | undefined => {
  const optionsLength = fields.options === undefined ? 0 : fields.options.length
  const padded = (optionsLength + 3) & ~3
  if (padded > IPV4_MAX_OPTIONS_LENGTH) return new InvalidLength({ value: optionsLength })
  const headerLength = IPV4_HEADER_LENGTH + padded
  if (buffer.length + headerLength > 0xffff) return new InvalidLength({ value: buffer.length + headerLength })
  const pushed = buffer.push(headerLength)
  if (pushed !== undefined) return pushed
  const bytes = buffer.writableBytes()
  if (!(bytes instanceof Uint8Array)) return bytes
  const i = buffer.data
  bytes[i] = (IPV4_VERSION << 4) | (headerLength >>> 2)
  bytes[i + 1] = ((fields.dscp & 0x3f) << 2) | (fields.ecn & 0x03)
  writeU16(bytes, i + 2, buffer.length)
  writeU16(bytes, i + 4, fields.identification)
  writeU16(
    bytes,
    i + 6,
    (fields.reservedFlag ? 0x8000 : 0) |
      (fields.dontFragment ? 0x4000 : 0) |
      (fields.moreFragments ? 0x2000 : 0) |
      (fields.fragmentOffset & 0x1fff)
  )
  bytes[i + 8] = fields.ttl
  bytes[i + 9] = fields.protocol
  writeU16(bytes, i + 10, 0)
  writeU32(bytes, i + 12, fields.source)
  writeU32(bytes, i + 16, fields.destination)
  if (fields.options !== undefined && optionsLength > 0) {
    bytes.set(fields.options, i + IPV4_HEADER_LENGTH)
    bytes.fill(0, i + IPV4_HEADER_LENGTH + optionsLength, i + headerLength)
  }
  writeU16(bytes, i + 10, internetChecksum(bytes, i, i + headerLength))
  buffer.resetNetworkHeader()
  return undefined
}
