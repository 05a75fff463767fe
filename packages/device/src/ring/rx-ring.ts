/**
 * A receive descriptor ring. Each descriptor is owned either by the driver or
 * by the device (the ownership bit): the driver posts empty buffers (handing
 * the descriptor to the device), the device "DMAs" an arriving frame into the
 * next posted buffer and hands the descriptor back marked done, and the
 * driver takes done descriptors in order. No posted buffer: the frame is
 * missed, as on real hardware.
 *
 * Mergeable receive buffers (virtio 1.2 §5.1.6.3.2 and §5.1.6.4,
 * `VIRTIO_NET_F_MRG_RXBUF`): a frame longer than one posted buffer is written
 * across as many consecutive posted buffers as it needs, and the first
 * descriptor records how many it used (`num_buffers`). When the posted
 * buffers cannot hold all of it, none is used and the frame is missed, so no
 * partial frame is ever left in the ring. The driver's `take` joins the
 * buffers of a frame into one packet, the later buffers' bytes as fragments
 * of the first without copying (Linux virtio_net's `receive_mergeable`).
 */
import { MAX_FRAGMENTS, type PacketBuffer } from "@netstack/buffers"

/** Descriptor states: driver-owned and empty, device-owned with a posted buffer, driver-owned holding a frame. */
const EMPTY = 0
const POSTED = 1
const DONE = 2

/** Why the device could not write a frame: not enough posted buffers, or a frame longer than the whole ring holds. */
export type DmaFailure = "no-descriptor" | "too-long"

/** A receive ring of `size` descriptors. */
export class RxRing {
  readonly size: number
  private readonly buffers: Array<PacketBuffer | undefined>
  private readonly states: Uint8Array
  /** On the first descriptor of a done frame: how many descriptors it spans (`num_buffers`); 0 on the others. */
  private readonly spans: Uint32Array
  /** Headroom and room (tailroom) of each descriptor's posted buffer, recorded when it was posted. */
  private readonly headrooms: Uint32Array
  private readonly rooms: Uint32Array
  /**
   * Posted buffers a flip set aside, untouched, each on its own descriptor:
   * `repost` puts one back when that descriptor is posted again.
   */
  private readonly shadows: Array<PacketBuffer | undefined>
  /** Next descriptor the driver posts into. */
  private postIndex = 0
  /** Next descriptor the device writes. */
  private deviceIndex = 0
  /** Next descriptor the driver takes. */
  private takeIndex = 0
  private postedCount = 0
  private doneCount = 0
  /**
   * Frames `take` gave back spread over more than one buffer (`multiBuffer`),
   * and of those the ones that spanned more buffers than a packet has
   * fragments (`copiedTails`), whose last buffers were copied into one
   * fragment (Linux chains a `frag_list` instead).
   */
  multiBuffer = 0
  copiedTails = 0

  constructor(size: number) {
    this.size = size
    this.buffers = new Array<PacketBuffer | undefined>(size).fill(undefined)
    this.states = new Uint8Array(size)
    this.spans = new Uint32Array(size)
    this.headrooms = new Uint32Array(size)
    this.rooms = new Uint32Array(size)
    this.shadows = new Array<PacketBuffer | undefined>(size).fill(undefined)
  }

  /** Descriptors holding a posted buffer (owned by the device). */
  get posted(): number {
    return this.postedCount
  }
  /** Descriptors holding (part of) a received frame not yet taken. */
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
    // A buffer set aside on this descriptor that the driver chose not to post again goes back to its pool.
    const shadow = this.shadows[i]
    if (shadow !== undefined) {
      this.shadows[i] = undefined
      shadow.release()
    }
    this.headrooms[i] = buffer.headroom
    this.rooms[i] = buffer.tailroom
    this.place(i, buffer)
    return true
  }

  /**
   * Driver: posts again, on the next descriptor, the buffer a flip set
   * aside there (see `flip`), exactly as it was posted, without touching it;
   * false (nothing done) when that descriptor is not free or has none.
   */
  repost(): boolean {
    const i = this.postIndex
    const shadow = this.shadows[i]
    if (this.states[i] !== EMPTY || shadow === undefined) return false
    this.shadows[i] = undefined
    this.place(i, shadow)
    return true
  }

  /** Posts `buffer` on descriptor `i` (the next one), its sizes already recorded. */
  private place(i: number, buffer: PacketBuffer): void {
    this.buffers[i] = buffer
    this.states[i] = POSTED
    this.postIndex = (i + 1) % this.size
    this.postedCount++
  }

  /**
   * Device: writes `frame` into the next posted buffer, or across the next
   * posted buffers when it is longer than one (each filled to its end, the
   * last with the rest), and marks them done. Returns the first buffer, for
   * the frame's metadata: its linear data is the frame's first bytes, all of
   * them when `headLength === frame.length`.
   */
  dma(frame: Uint8Array): PacketBuffer | DmaFailure {
    const first = this.deviceIndex
    const head = this.buffers[first]
    if (this.states[first] !== POSTED || head === undefined) return "no-descriptor"
    const length = frame.length
    const span = this.span(length)
    if (typeof span === "string") return span
    let at = 0
    for (let k = 0, i = first; k < span; k++, i = (i + 1) % this.size) {
      const buffer = this.buffers[i]
      if (buffer !== undefined) {
        const n = Math.min(buffer.tailroom, length - at)
        const offset = buffer.headLength
        buffer.put(n)
        buffer.setBytes(offset, n === length ? frame : frame.subarray(at, at + n))
        at += n
      }
      this.states[i] = DONE
      this.spans[i] = k === 0 ? span : 0
    }
    this.deviceIndex = (first + span) % this.size
    this.postedCount -= span
    this.doneCount += span
    return head
  }

  /**
   * Device: places `frame`, a buffer already holding a whole received frame
   * (memory a medium lent, see `FrameKeeper`), on the next posted descriptor
   * instead of writing it into that descriptor's buffer: the page flip of
   * Xen's netback. It takes as many posted descriptors as `dma` would (a
   * frame longer than a posted buffer still costs the descriptors it would
   * fill) and marks them done; `take` gives back `frame` alone. The posted
   * buffers it displaced are set aside on their descriptors, untouched (a
   * buffer posted long ago is cold in the CPU's caches: releasing it and
   * taking a new one from the pool cost some 5 % of an offloaded transfer),
   * for the driver to post again when it reaches them (`repost`). Not enough posted
   * descriptors: `"no-descriptor"` (or `"too-long"`, as `dma` says); less
   * headroom in front of `frame` than the driver reserved in the posted
   * buffer: `"short-headroom"` (the caller writes the frame instead). On
   * failure nothing changes and the caller still owns `frame`.
   */
  flip(frame: PacketBuffer): DmaFailure | "short-headroom" | undefined {
    const first = this.deviceIndex
    const head = this.buffers[first]
    if (this.states[first] !== POSTED || head === undefined) return "no-descriptor"
    if (frame.headroom < this.headrooms[first]) return "short-headroom"
    const span = this.span(frame.length)
    if (typeof span === "string") return span
    for (let k = 0, i = first; k < span; k++, i = (i + 1) % this.size) {
      this.shadows[i] = this.buffers[i]
      this.buffers[i] = k === 0 ? frame : undefined
      this.states[i] = DONE
      this.spans[i] = k === 0 ? span : 0
    }
    this.deviceIndex = (first + span) % this.size
    this.postedCount -= span
    this.doneCount += span
    return undefined
  }

  /** How many posted descriptors from the next one a `length`-byte frame fills, or why it cannot have them. */
  private span(length: number): number | DmaFailure {
    const first = this.rooms[this.deviceIndex]
    if (length <= first) return 1
    // Posted descriptors run on from `deviceIndex`: count those the frame needs.
    let room = first
    let span = 1
    for (let i = (this.deviceIndex + 1) % this.size; room < length && span < this.postedCount; i = (i + 1) % this.size) {
      room += this.rooms[i]
      span++
    }
    if (room < length) return first * this.size < length ? "too-long" : "no-descriptor"
    return span
  }

  /**
   * Driver: takes the next done frame, in ring order, as one packet, or
   * `undefined` if none is done. A frame spread over several buffers comes
   * back as its first buffer with the others' bytes as fragments (sharing
   * their storage; their own descriptors are released), so every caller sees
   * whole packets.
   */
  take(): PacketBuffer | undefined {
    const i = this.takeIndex
    if (this.states[i] !== DONE) return undefined
    const span = this.spans[i]
    const head = this.buffers[i]
    this.release(i)
    let spread = false
    for (let k = 1; k < span; k++) {
      const j = (i + k) % this.size
      const buffer = this.buffers[j]
      this.release(j)
      // A flipped frame's later descriptors hold no buffer.
      if (buffer === undefined) continue
      spread = true
      if (head === undefined) {
        buffer.release()
        continue
      }
      if (head.fragments.length === MAX_FRAGMENTS - 1 && k < span - 1) {
        // One fragment left and more than one buffer: the rest goes into it as a copy.
        const rest: Array<PacketBuffer> = [buffer]
        for (k++; k < span; k++) {
          const l = (i + k) % this.size
          const more = this.buffers[l]
          this.release(l)
          if (more !== undefined) rest.push(more)
        }
        this.copiedTails++
        head.addFragmentBytes(joined(rest))
        for (const b of rest) b.release()
        break
      }
      // The packet takes its own reference on the storage; the buffer's descriptor lets go of its one.
      head.addFragment(buffer.sharedStorage, buffer.data, buffer.headLength)
      buffer.release()
    }
    if (spread) this.multiBuffer++
    this.takeIndex = (i + span) % this.size
    return head
  }

  /** Driver: takes back every buffer (posted, done or set aside), e.g. at shutdown, leaving the ring empty. */
  drain(): ReadonlyArray<PacketBuffer> {
    const out: Array<PacketBuffer> = []
    for (let i = 0; i < this.size; i++) {
      const buffer = this.buffers[i]
      if (buffer !== undefined) out.push(buffer)
      const shadow = this.shadows[i]
      if (shadow !== undefined) out.push(shadow)
      this.buffers[i] = undefined
      this.shadows[i] = undefined
      this.states[i] = EMPTY
      this.spans[i] = 0
    }
    this.postIndex = this.deviceIndex = this.takeIndex = 0
    this.postedCount = this.doneCount = 0
    return out
  }

  /** Hands done descriptor `i` back to the driver, empty. */
  private release(i: number): void {
    this.buffers[i] = undefined
    this.states[i] = EMPTY
    this.spans[i] = 0
    this.doneCount--
  }
}

/** The bytes of `buffers`, one after another, in a fresh array. */
const joined = (buffers: ReadonlyArray<PacketBuffer>): Uint8Array => {
  const out = new Uint8Array(buffers.reduce((n, b) => n + b.length, 0))
  let at = 0
  for (const b of buffers) {
    b.copyOut(0, b.length, out, at)
    at += b.length
  }
  return out
}
