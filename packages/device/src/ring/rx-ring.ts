/**
 * A receive descriptor ring. Each descriptor is owned either by the driver or
 * by the device (the ownership bit): the driver posts empty buffers (handing
 * the descriptor to the device), the device "DMAs" an arriving frame into the
 * next posted buffer and hands the descriptor back marked done, and the
 * driver takes done descriptors in order. No posted buffer: the frame is
 * missed, as on real hardware.
 */
import type { PacketBuffer } from "@netstack/buffers"

/** Descriptor states: driver-owned and empty, device-owned with a posted buffer, driver-owned holding a frame. */
const EMPTY = 0
const POSTED = 1
const DONE = 2

/** Why the device could not write a frame: no posted buffer, or a buffer too small for it. */
export type DmaFailure = "no-descriptor" | "too-long"

/** A receive ring of `size` descriptors. */
export class RxRing {
  readonly size: number
  private readonly buffers: Array<PacketBuffer | undefined>
  private readonly states: Uint8Array
  /** Next descriptor the driver posts into. */
  private postIndex = 0
  /** Next descriptor the device writes. */
  private deviceIndex = 0
  /** Next descriptor the driver takes. */
  private takeIndex = 0
  private postedCount = 0
  private doneCount = 0

  constructor(size: number) {
    this.size = size
    this.buffers = new Array<PacketBuffer | undefined>(size).fill(undefined)
    this.states = new Uint8Array(size)
  }

  /** Descriptors holding a posted buffer (owned by the device). */
  get posted(): number {
    return this.postedCount
  }
  /** Descriptors holding a received frame not yet taken. */
  get done(): number {
    return this.doneCount
  }
  /** Descriptors the driver could post into now. */
  get free(): number {
    return this.size - this.postedCount - this.doneCount
  }

  /** Driver: hands an empty buffer to the device on the next descriptor. False when no descriptor is free. */
  post(buffer: PacketBuffer): boolean {
    const i = this.postIndex
    if (this.states[i] !== EMPTY) return false
    this.buffers[i] = buffer
    this.states[i] = POSTED
    this.postIndex = (i + 1) % this.size
    this.postedCount++
    return true
  }

  /** Device: writes `frame` into the next posted buffer and marks it done; the buffer is returned for metadata. */
  dma(frame: Uint8Array): PacketBuffer | DmaFailure {
    const i = this.deviceIndex
    const buffer = this.buffers[i]
    if (this.states[i] !== POSTED || buffer === undefined) return "no-descriptor"
    if (frame.length > buffer.tailroom) return "too-long"
    buffer.put(frame.length)
    buffer.setBytes(0, frame)
    this.states[i] = DONE
    this.deviceIndex = (i + 1) % this.size
    this.postedCount--
    this.doneCount++
    return buffer
  }

  /** Driver: takes the next done descriptor's buffer, in ring order, or `undefined` if it is not done yet. */
  take(): PacketBuffer | undefined {
    const i = this.takeIndex
    if (this.states[i] !== DONE) return undefined
    const buffer = this.buffers[i]
    this.buffers[i] = undefined
    this.states[i] = EMPTY
    this.takeIndex = (i + 1) % this.size
    this.doneCount--
    return buffer
  }

  /** Driver: takes back every buffer (posted or done), e.g. at shutdown, leaving the ring empty. */
  drain(): ReadonlyArray<PacketBuffer> {
    const out: Array<PacketBuffer> = []
    for (let i = 0; i < this.size; i++) {
      const buffer = this.buffers[i]
      if (buffer !== undefined) out.push(buffer)
      this.buffers[i] = undefined
      this.states[i] = EMPTY
    }
    this.postIndex = this.deviceIndex = this.takeIndex = 0
    this.postedCount = this.doneCount = 0
    return out
  }
}
