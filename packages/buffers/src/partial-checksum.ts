/**
 * Software checksum fallback for `CHECKSUM_PARTIAL` packets (the kernel's
 * `skb_checksum_help`): when the device cannot checksum a packet the stack
 * left partial, the driver completes it here.
 */
import { BufferReleased, ChecksumStateMismatch, OutOfRange } from "./errors.ts"
import { finishChecksum, sumPacket } from "./checksum.ts"
import { ChecksumState } from "./metadata.ts"
import type { PacketBuffer } from "./packet-buffer.ts"

/**
 * Completes a partial checksum: sums the packet from `start` (an offset from
 * `head`, like the kernel's `csum_start`) to its end, including the
 * pseudo-header sum the stack left in the checksum field, stores the result at
 * `start + offset`, and sets the state to `None`. An RFC 768 UDP checksum that
 * comes out as zero is sent as 0xFFFF by the caller's choice of `zeroAs`.
 */
export const resolvePartialChecksum = (
  buffer: PacketBuffer,
  zeroAs = 0
): ChecksumStateMismatch | OutOfRange | BufferReleased | undefined => {
  if (buffer.isReleased) return new BufferReleased()
  const state = buffer.meta.checksum
  if (state._tag !== "Partial") return new ChecksumStateMismatch({ expected: "Partial", actual: state._tag })
  const from = state.start - buffer.data
  const field = from + state.offset
  if (from < 0 || field + 2 > buffer.headLength) {
    return new OutOfRange({ offset: field, length: 2, available: buffer.headLength })
  }
  const sum = sumPacket(buffer, from, buffer.length - from)
  if (sum === undefined) return new OutOfRange({ offset: from, length: buffer.length - from, available: buffer.length })
  const value = finishChecksum(sum)
  const err = buffer.setUint16(field, value === 0 ? zeroAs : value)
  if (err !== undefined) return err
  buffer.meta.checksum = ChecksumState.none
  return undefined
}
