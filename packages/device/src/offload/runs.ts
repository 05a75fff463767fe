/**
 * Where a range of packet bytes lives: the contiguous runs of storage behind
 * `[offset, offset + length)` of a `PacketBuffer` (linear area first, then
 * each fragment), as `(storage, start, length)` windows that another packet
 * can take as fragments without copying (what the kernel's `skb_segment` and
 * `skb_gro_receive` do with `skb_frag_t`s).
 */
import type { PacketBuffer, SharedBytes } from "@netstack/buffers"

/** Receives one run: `length` bytes of `storage.bytes` from `start`. */
export type StorageRunVisitor = (storage: SharedBytes, start: number, length: number) => void

/**
 * Calls `visit` on each storage run of packet bytes `[offset, offset + length)`
 * (offsets from `packet.data`), in order. Returns the number of runs, or -1
 * (visiting nothing) when the range is outside the packet or the packet was
 * released.
 */
export const forEachStorageRun = (
  packet: PacketBuffer,
  offset: number,
  length: number,
  visit: StorageRunVisitor | undefined
): number => {
  if (packet.isReleased || !(offset >= 0) || !(length >= 0) || offset + length > packet.length) return -1
  let skip = offset
  let left = length
  let runs = 0
  const linear = packet.headLength
  if (skip < linear) {
    const n = Math.min(linear - skip, left)
    if (n > 0) {
      if (visit !== undefined) visit(packet.sharedStorage, packet.data + skip, n)
      runs++
      left -= n
    }
    skip = 0
  } else {
    skip -= linear
  }
  const fragments = packet.fragments
  for (let i = 0; left > 0 && i < fragments.length; i++) {
    const f = fragments[i]
    if (skip >= f.length) {
      skip -= f.length
      continue
    }
    const n = Math.min(f.length - skip, left)
    if (visit !== undefined) visit(f.storage, f.offset + skip, n)
    runs++
    left -= n
    skip = 0
  }
  return runs
}

/**
 * How many storage runs packet bytes `[offset, offset + length)` span (-1 when
 * out of range): `forEachStorageRun` without a visitor.
 */
export const countStorageRuns = (packet: PacketBuffer, offset: number, length: number): number =>
  forEachStorageRun(packet, offset, length, undefined)
