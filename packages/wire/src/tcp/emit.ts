/** Writes a TCP header and its options in front of the segment's data, with its data offset and checksum. */
import { type BufferReleased, type HeadroomExceeded, InvalidLength, type PacketBuffer } from "@netstack/buffers"
import { writeU16, writeU32 } from "../bytes.ts"
import { fillTransportChecksum, type TransportChecksum } from "../transport-checksum.ts"
import {
  TCP_HEADER_LENGTH,
  TCP_MAX_OPTIONS_LENGTH,
  tcpFlagsByte,
  type TcpHeader,
  type TcpOption,
  TcpOptionKinds,
  TcpOptionLengths,
  tcpOptionsLength
} from "./schema.ts"

/** What the emitter needs: hot-path forms of the fields. */
export interface TcpFields {
  readonly sourcePort: number
  readonly destinationPort: number
  readonly sequenceNumber: number
  readonly acknowledgmentNumber: number
  /** The flag byte: an OR of `TcpFlags` values. */
  readonly flags: number
  /** The 4 reserved bits; 0 when absent (RFC 9293 §3.1: senders send zero). */
  readonly reserved?: number
  readonly window: number
  readonly urgentPointer: number
  /**
   * The options, written in order. When they do not end on a 32-bit
   * boundary the emitter pads with zero bytes (RFC 9293 §3.1: "The padding is
   * composed of zeros"), which a receiver reads as an EOL and its padding. To
   * align options themselves, put NOPs in the list (`nop,nop,TS ...`).
   */
  readonly options: ReadonlyArray<TcpOption>
}

/** The emitter fields of a typed header (its `dataOffset` and `checksum` are recomputed by the emitter). */
export const tcpFields = (header: TcpHeader): TcpFields => ({
  sourcePort: header.sourcePort,
  destinationPort: header.destinationPort,
  sequenceNumber: header.sequenceNumber,
  acknowledgmentNumber: header.acknowledgmentNumber,
  flags: tcpFlagsByte(header),
  reserved: header.reserved,
  window: header.window,
  urgentPointer: header.urgentPointer,
  options: header.options
})

/** Writes `options` at `bytes[i]`, returning the index past them. RFC 9293 §3.2, RFC 7323, RFC 2018. */
const writeOptions = (bytes: Uint8Array, at: number, options: ReadonlyArray<TcpOption>): number => {
  let i = at
  for (const o of options) {
    switch (o._tag) {
      case "Eol":
        bytes[i++] = TcpOptionKinds.eol
        bytes.set(o.padding, i)
        i += o.padding.length
        break
      case "Nop":
        bytes[i++] = TcpOptionKinds.nop
        break
      case "Mss":
        bytes[i] = TcpOptionKinds.mss
        bytes[i + 1] = TcpOptionLengths.mss
        writeU16(bytes, i + 2, o.value)
        i += TcpOptionLengths.mss
        break
      case "WindowScale":
        bytes[i] = TcpOptionKinds.windowScale
        bytes[i + 1] = TcpOptionLengths.windowScale
        bytes[i + 2] = o.shift
        i += TcpOptionLengths.windowScale
        break
      case "SackPermitted":
        bytes[i] = TcpOptionKinds.sackPermitted
        bytes[i + 1] = TcpOptionLengths.sackPermitted
        i += TcpOptionLengths.sackPermitted
        break
      case "Sack":
        bytes[i] = TcpOptionKinds.sack
        bytes[i + 1] = 2 + 8 * o.blocks.length
        i += 2
        for (const block of o.blocks) {
          writeU32(bytes, i, block.left)
          writeU32(bytes, i + 4, block.right)
          i += 8
        }
        break
      case "Timestamps":
        bytes[i] = TcpOptionKinds.timestamps
        bytes[i + 1] = TcpOptionLengths.timestamps
        writeU32(bytes, i + 2, o.value)
        writeU32(bytes, i + 6, o.echo)
        i += TcpOptionLengths.timestamps
        break
      case "Unknown":
        bytes[i] = o.kind
        bytes[i + 1] = 2 + o.data.length
        bytes.set(o.data, i + 2)
        i += 2 + o.data.length
        break
    }
  }
  return i
}

/**
 * Pushes a TCP header with `fields.options` in front of `buffer.data` (the
 * data), pads the options with zeros to a multiple of 4 bytes, sets the data
 * offset, fills the checksum as `checksum` says (its pseudo-header sum
 * computed with the segment length: header, options and data; a computed
 * zero is sent as zero, TCP having no "no checksum" value) and marks the
 * transport header. Options longer than 40 bytes once padded give an
 * `InvalidLength` (carrying their length) and change nothing.
 */
export const emitTcp = (
  buffer: PacketBuffer,
  fields: TcpFields,
  checksum: TransportChecksum
): HeadroomExceeded | InvalidLength | BufferReleased | undefined => {
  const optionsLength = (tcpOptionsLength(fields.options) + 3) & ~3
  if (optionsLength > TCP_MAX_OPTIONS_LENGTH) return new InvalidLength({ value: optionsLength })
  const headerLength = TCP_HEADER_LENGTH + optionsLength
  const pushed = buffer.push(headerLength)
  if (pushed !== undefined) return pushed
  const bytes = buffer.writableBytes()
  if (!(bytes instanceof Uint8Array)) return bytes
  const i = buffer.data
  writeU16(bytes, i, fields.sourcePort)
  writeU16(bytes, i + 2, fields.destinationPort)
  writeU32(bytes, i + 4, fields.sequenceNumber)
  writeU32(bytes, i + 8, fields.acknowledgmentNumber)
  bytes[i + 12] = ((headerLength >>> 2) << 4) | ((fields.reserved ?? 0) & 0x0f)
  bytes[i + 13] = fields.flags
  writeU16(bytes, i + 14, fields.window)
  writeU16(bytes, i + 18, fields.urgentPointer)
  // RFC 9293 §3.1: the header padding is zeros.
  bytes.fill(0, writeOptions(bytes, i + TCP_HEADER_LENGTH, fields.options), i + headerLength)
  buffer.resetTransportHeader()
  fillTransportChecksum(buffer, bytes, 16, checksum, 0)
  return undefined
}
