/** Writes an ICMPv4 header in front of the message body, with its checksum. */
import type { BufferReleased, HeadroomExceeded, InvalidLength, PacketBuffer } from "@netstack/buffers"
import { ipv4ToNumber } from "../addresses/ipv4.ts"
import { writeU32 } from "../bytes.ts"
import { fillTransportChecksum, type TransportChecksum } from "../transport-checksum.ts"
import { ICMPV4_HEADER_LENGTH, type Icmpv4Message, Icmpv4Types } from "./schema.ts"

/** What the emitter needs: type, code and the 4 bytes after the checksum. */
export interface Icmpv4Fields {
  readonly type: number
  readonly code: number
  /** Bytes 4–7 as an unsigned 32-bit number: identifier and sequence, gateway, pointer, MTU, or unused (0). */
  readonly restOfHeader: number
}

/**
 * How the emitter fills the checksum: in software (`full`), or `partial`,
 * for the device or `resolvePartialChecksum` to finish (ICMP has no
 * pseudo-header, so the field starts at zero and the sum runs from the ICMP
 * header to the end of the packet).
 */
export type Icmpv4Checksum = "full" | "partial"

const FULL: TransportChecksum = { mode: "full", pseudoHeaderSum: 0 }
const PARTIAL: TransportChecksum = { mode: "partial", pseudoHeaderSum: 0 }

/** The emitter fields of a typed message (its body goes in the buffer: see `icmpv4Body`). */
export const icmpv4Fields = (m: Icmpv4Message): Icmpv4Fields => {
  switch (m._tag) {
    case "EchoReply":
    case "EchoRequest":
      return {
        type: m._tag === "EchoReply" ? Icmpv4Types.echoReply : Icmpv4Types.echoRequest,
        code: 0,
        restOfHeader: ((m.identifier << 16) | m.sequence) >>> 0
      }
    case "DestinationUnreachable":
      return { type: Icmpv4Types.destinationUnreachable, code: m.code, restOfHeader: m.nextHopMtu ?? 0 }
    case "TimeExceeded":
      return { type: Icmpv4Types.timeExceeded, code: m.code, restOfHeader: 0 }
    case "Redirect":
      return { type: Icmpv4Types.redirect, code: m.code, restOfHeader: ipv4ToNumber(m.gateway) }
    case "ParameterProblem":
      return { type: Icmpv4Types.parameterProblem, code: m.code, restOfHeader: (m.pointer << 24) >>> 0 }
    case "Other":
      return { type: m.type, code: m.code, restOfHeader: m.restOfHeader }
  }
}

/**
 * Pushes an 8-byte ICMPv4 header in front of `buffer.data` (the body: echo
 * data or the invoking datagram), fills the checksum over the whole message
 * (RFC 792), in full or partially, and marks the transport header.
 */
export const emitIcmpv4 = (
  buffer: PacketBuffer,
  fields: Icmpv4Fields,
  checksum: Icmpv4Checksum = "full"
): HeadroomExceeded | InvalidLength | BufferReleased | undefined => {
  const pushed = buffer.push(ICMPV4_HEADER_LENGTH)
  if (pushed !== undefined) return pushed
  const bytes = buffer.writableBytes()
  if (!(bytes instanceof Uint8Array)) return bytes
  const i = buffer.data
  bytes[i] = fields.type
  bytes[i + 1] = fields.code
  writeU32(bytes, i + 4, fields.restOfHeader)
  buffer.resetTransportHeader()
  // A computed zero is sent as zero: ICMP gives 0x0000 no special meaning.
  fillTransportChecksum(buffer, bytes, 2, checksum === "full" ? FULL : PARTIAL, 0)
  return undefined
}
