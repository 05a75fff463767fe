/** Writes a UDP header in front of the datagram's data, with its length and checksum. */
import type { BufferReleased, HeadroomExceeded, InvalidLength, PacketBuffer } from "@netstack/buffers"
import { writeU16 } from "../bytes.ts"
import { fillTransportChecksum, type TransportChecksum } from "../transport-checksum.ts"
import { UDP_HEADER_LENGTH } from "./schema.ts"

/** What the emitter needs. */
export interface UdpFields {
  readonly sourcePort: number
  readonly destinationPort: number
}

/**
 * Pushes an 8-byte UDP header in front of `buffer.data` (the data), sets the
 * length to header plus data, fills the checksum as `checksum` says (a
 * computed zero is sent as 0xFFFF, RFC 768), and marks the transport header.
 */
export const emitUdp = (
  buffer: PacketBuffer,
  fields: UdpFields,
  checksum: TransportChecksum
): HeadroomExceeded | InvalidLength | BufferReleased | undefined => {
  const pushed = buffer.push(UDP_HEADER_LENGTH)
  if (pushed !== undefined) return pushed
  const bytes = buffer.writableBytes()
  if (!(bytes instanceof Uint8Array)) return bytes
  const i = buffer.data
  writeU16(bytes, i, fields.sourcePort)
  writeU16(bytes, i + 2, fields.destinationPort)
  writeU16(bytes, i + 4, buffer.length)
  buffer.resetTransportHeader()
  fillTransportChecksum(buffer, bytes, 6, checksum, 0xffff)
  return undefined
}
