/**
 * The transmit DMA: copies each frame out of its packet buffer into memory
 * the medium may keep (a wire holds frames while they are delayed). Small
 * frames get their own array; larger ones are carved from 64 KiB slabs, so a
 * 1500-byte frame costs a copy and a view instead of a fresh `ArrayBuffer`.
 * A slab is never written twice: when it is full a new one is started, and
 * the old one lives until the medium drops its last frame.
 */
import type { PacketBuffer } from "@netstack/buffers"

/** Frames up to this size are copied with `slice` (cheapest for small arrays). */
const SMALL_FRAME = 128
/** Slab size; frames above a quarter of it get their own allocation. */
const SLAB_BYTES = 64 * 1024

/** Copies frames out of packet buffers for a medium. */
export class TxDma {
  private slab = new Uint8Array(0)
  private used = 0

  /** A copy of the packet's bytes (the frame on the wire), which the medium owns. */
  copy(packet: PacketBuffer): Uint8Array {
    const length = packet.length
    if (length <= SMALL_FRAME || length > SLAB_BYTES / 4) return packet.toUint8Array()
    if (this.used + length > this.slab.length) {
      this.slab = new Uint8Array(SLAB_BYTES)
      this.used = 0
    }
    const frame = this.slab.subarray(this.used, this.used + length)
    packet.copyOut(0, length, frame)
    this.used += (length + 7) & ~7 // keep each frame 8-byte aligned, as the checksum's 32-bit loads like
    return frame
  }
}
