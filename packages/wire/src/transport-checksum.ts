/**
 * How an emitter fills a transport checksum (UDP, TCP, ICMPv6): not at all,
 * fully in software, or partially, leaving the device (or the driver's
 * software fallback, `resolvePartialChecksum`) to finish it, as the kernel's
 * `CHECKSUM_PARTIAL`.
 */
import { ChecksumState, finishChecksum, type PacketBuffer, sumPacket } from "@netstack/buffers"
import { writeU16 } from "./bytes.ts"

/**
 * The checksum choice. `pseudoHeaderSum` is the partial sum of the IP
 * pseudo-header, computed with the transport length (header plus data).
 */
export type TransportChecksum =
  | { readonly mode: "none" }
  | { readonly mode: "full"; readonly pseudoHeaderSum: number }
  | { readonly mode: "partial"; readonly pseudoHeaderSum: number }

/** No checksum (the field stays zero). */
export const noChecksum: TransportChecksum = { mode: "none" }

/**
 * Fills the checksum field at `fieldOffset` from the header start at
 * `buffer.data`, over the whole rest of the buffer. `zeroAs` is what a
 * computed zero is sent as (0xFFFF for UDP, RFC 768).
 */
export const fillTransportChecksum = (
  buffer: PacketBuffer,
  bytes: Uint8Array,
  fieldOffset: number,
  checksum: TransportChecksum,
  zeroAs: number
): void => {
  const field = buffer.data + fieldOffset
  if (checksum.mode === "none") {
    writeU16(bytes, field, 0)
  } else if (checksum.mode === "partial") {
    // The field holds the pseudo-header sum; the device sums from the header on and stores the complement.
    writeU16(bytes, field, checksum.pseudoHeaderSum)
    buffer.meta.checksum = ChecksumState.partial(buffer.data, fieldOffset)
  } else {
    writeU16(bytes, field, 0)
    const value = finishChecksum(sumPacket(buffer, 0, buffer.length, checksum.pseudoHeaderSum) ?? 0)
    writeU16(bytes, field, value === 0 ? zeroAs : value)
    buffer.meta.checksum = ChecksumState.none
  }
}
