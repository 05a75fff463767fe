/**
 * The UDP header (RFC 768): source and destination ports, the length of
 * header plus data, and the checksum over a pseudo-header, the header and
 * the data (zero means "no checksum" over IPv4; RFC 768, RFC 8200 §8.1 forbids
 * it over IPv6).
 */
import { Schema } from "effect"
import { Port, Uint16 } from "../fields.ts"

/** Bytes in a UDP header. */
export const UDP_HEADER_LENGTH = 8

/** tcpdump style: `UDP 40000 > 53, length 23` (the length of the data). */
const formatUdpHeader = (h: { readonly sourcePort: number; readonly destinationPort: number; readonly length: number }) =>
  `UDP ${h.sourcePort} > ${h.destinationPort}, length ${h.length - UDP_HEADER_LENGTH}`

/** The UDP header's typed representation. */
export const UdpHeader = Schema.Struct({
  sourcePort: Port,
  destinationPort: Port,
  /** Header plus data, in bytes: at least 8. */
  length: Uint16.check(Schema.isGreaterThanOrEqualTo(UDP_HEADER_LENGTH)),
  checksum: Uint16
}).pipe(Schema.overrideToFormatter(() => formatUdpHeader))
/** The UDP header's typed representation. */
export type UdpHeader = typeof UdpHeader.Type
