/**
 * The transmit DMA: copies each frame out of its packet buffer into memory
 * the medium may keep (a wire holds frames while they are delayed). Frame
 * memory is recycled: the medium gives a frame back (`release`, see
 * `MediumPort.send`) once it is delivered or dropped, and the next frame of
 * that size class reuses it — allocating large typed arrays costs far more
 * than copying into them (page faults and GC pressure). Tiny frames are
 * copied with `slice`, which is cheapest for them.
 *
 * A frame starts `FRAME_HEADROOM` bytes into its memory, so a receiver that
 * keeps the memory instead of copying the frame (see `FrameKeeper`) has the
 * headroom a driver reserves in its own receive buffers.
 */
import type { PacketBuffer } from "@netstack/buffers"

/** Frames up to this size are copied with `slice` and not recycled. */
const SMALL_FRAME = 128
/** Size classes are multiples of this. */
const CLASS_STEP = 2048
/** Bytes left free in front of each recycled frame (the driver's NET_SKB_PAD). */
export const FRAME_HEADROOM = 64
/** Free buffers kept per size class; beyond it released memory is left to the GC. */
const MAX_FREE_PER_CLASS = 512

/** Copies frames out of packet buffers for a medium, reusing released frame memory. */
export class TxDma {
  private readonly free = new Map<number, Array<ArrayBuffer>>()
  /** Frames that needed fresh memory (no released buffer of their class was free). */
  allocations = 0

  /** A copy of the packet's bytes (the frame on the wire), which the medium owns until it releases it. */
  copy(packet: PacketBuffer): Uint8Array {
    const length = packet.length
    if (length <= SMALL_FRAME) return packet.toUint8Array()
    const size = Math.ceil((FRAME_HEADROOM + length) / CLASS_STEP) * CLASS_STEP
    let memory = this.free.get(size)?.pop()
    if (memory === undefined) {
      memory = new ArrayBuffer(size)
      this.allocations++
    }
    const frame = new Uint8Array(memory, FRAME_HEADROOM, length)
    packet.copyOut(0, length, frame)
    return frame
  }

  /** Takes a frame back from the medium (`MediumPort.send`'s release): its memory serves the next frame of its class. */
  readonly release = (frame: Uint8Array): void => {
    const memory = frame.buffer
    const size = memory.byteLength
    if (!(memory instanceof ArrayBuffer) || frame.byteOffset !== FRAME_HEADROOM || size % CLASS_STEP !== 0 || frame.length <= SMALL_FRAME) return
    let list = this.free.get(size)
    if (list === undefined) {
      list = []
      this.free.set(size, list)
    }
    if (list.length < MAX_FREE_PER_CLASS) list.push(memory)
  }
}
