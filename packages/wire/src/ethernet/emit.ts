/** Writes an Ethernet II header into a buffer's headroom. */
import type { BufferReleased, HeadroomExceeded, InvalidLength, PacketBuffer } from "@netstack/buffers"
import { macToNumber, writeMac } from "../addresses/mac.ts"
import { writeU16 } from "../bytes.ts"
import { ETHERNET_HEADER_LENGTH, type EthernetHeader } from "./schema.ts"

/** What the emitter needs: hot-path forms of the fields. */
export interface EthernetFields {
  /** Destination address, 48 bits as a number. */
  readonly destination: number
  /** Source address, 48 bits as a number. */
  readonly source: number
  /** EtherType. */
  readonly etherType: number
}

/** The emitter fields of a typed header. */
export const ethernetFields = (header: EthernetHeader): EthernetFields => ({
  destination: macToNumber(header.destination),
  source: macToNumber(header.source),
  etherType: header.etherType
})

/** Pushes a 14-byte Ethernet header in front of `buffer.data` and marks it as the MAC header. */
export const emitEthernet = (
  buffer: PacketBuffer,
  fields: EthernetFields
): HeadroomExceeded | InvalidLength | BufferReleased | undefined => {
  const pushed = buffer.push(ETHERNET_HEADER_LENGTH)
  if (pushed !== undefined) return pushed
  const bytes = buffer.writableBytes()
  if (!(bytes instanceof Uint8Array)) return bytes
  const i = buffer.data
  writeMac(bytes, i, fields.destination)
  writeMac(bytes, i + 6, fields.source)
  writeU16(bytes, i + 12, fields.etherType)
  buffer.resetMacHeader()
  return undefined
}

