/**
 * `PacketBuffer`: the packet descriptor, after the kernel's `sk_buff` and
 * BSD's `mbuf`.
 *
 * ```
 *   head          data               tail          end
 *    |  headroom   |  linear data     |  tailroom   |   + fragments (scatter-gather pages)
 * ```
 *
 * One linear data area (a `SharedBytes`) with four offsets, `head` (always 0)
 * ≤ `data` ≤ `tail` ≤ `end`, followed by up to `MAX_FRAGMENTS` read-only
 * fragments. Headers are prepended with `push` and stripped with `pull`;
 * payload is appended with `put` and cut with `trim`. `clone` shares the
 * bytes (reference counted) and gets its own offsets and metadata; every
 * write goes through a method that first unshares the data area
 * (copy-on-write), so no clone ever sees another's change. `copy` owns all of
 * its bytes.
 *
 * Operations are plain synchronous methods (they run once per packet on the
 * hot path). One that would break an invariant returns a typed error and
 * changes nothing; success returns `undefined`.
 */
import {
  BufferReleased,
  HeadroomExceeded,
  InvalidLength,
  LengthExceeded,
  NonLinear,
  NotEmpty,
  OutOfRange,
  TailroomExceeded,
  TooManyFragments
} from "./errors.ts"
import { type Fragment, fragment, MAX_FRAGMENTS } from "./fragment.ts"
import { PacketMetadata } from "./metadata.ts"
import { SharedBytes } from "./shared-bytes.ts"

const NO_FRAGMENTS: ReadonlyArray<Fragment> = Object.freeze([])

/** True for a byte count or offset that the buffer can act on: a non-negative integer. */
const isCount = (n: number): boolean => Number.isInteger(n) && n >= 0

/** Receives one contiguous run of packet bytes: `bytes[start, end)`. */
export type SegmentVisitor = (bytes: Uint8Array, start: number, end: number) => void

/** The packet descriptor: a linear data area with head/data/tail/end, fragments and metadata. */
export class PacketBuffer {
  private storage: SharedBytes
  private dataOffset: number
  private tailOffset: number
  private frags: ReadonlyArray<Fragment>
  private fragBytes: number
  private released: boolean
  /** What the stack knows about this packet besides its bytes. */
  readonly meta: PacketMetadata

  private constructor(storage: SharedBytes, data: number, tail: number, meta: PacketMetadata) {
    this.storage = storage
    this.dataOffset = data
    this.tailOffset = tail
    this.frags = NO_FRAGMENTS
    this.fragBytes = 0
    this.released = false
    this.meta = meta
  }

  // ---------------------------------------------------------------- construction

  /** An empty buffer over a fresh `size`-byte data area (`data = tail = 0`; `reserve` headroom next). */
  static alloc(size: number): PacketBuffer {
    return new PacketBuffer(SharedBytes.alloc(size), 0, 0, new PacketMetadata())
  }

  /** A buffer whose data is a copy of `payload`, with `headroom` bytes before it and `tailroom` after. */
  static fromBytes(payload: Uint8Array, headroom = 0, tailroom = 0): PacketBuffer {
    const storage = SharedBytes.alloc(headroom + payload.length + tailroom)
    storage.bytes.set(payload, headroom)
    return new PacketBuffer(storage, headroom, headroom + payload.length, new PacketMetadata())
  }

  /** A buffer over `bytes` without copying: all of it is data, with no headroom. The buffer adopts the array. */
  static wrap(bytes: Uint8Array): PacketBuffer {
    return new PacketBuffer(new SharedBytes(bytes), 0, bytes.length, new PacketMetadata())
  }

  /** An empty buffer (`data = tail = 0`) over an existing storage, adopting the caller's reference. */
  static adopt(storage: SharedBytes): PacketBuffer {
    return new PacketBuffer(storage, 0, 0, new PacketMetadata())
  }

  /**
   * A buffer over an existing storage, adopting the caller's reference (a pool
   * or a driver that DMA'd a frame into it). `data` and `tail` must satisfy
   * `0 ≤ data ≤ tail ≤ storage.bytes.length`; otherwise an `OutOfRange`.
   */
  static fromStorage(storage: SharedBytes, data: number, tail: number): PacketBuffer | OutOfRange {
    if (!isCount(data) || !isCount(tail) || data > tail || tail > storage.bytes.length) {
      return new OutOfRange({ offset: data, length: tail - data, available: storage.bytes.length })
    }
    return new PacketBuffer(storage, data, tail, new PacketMetadata())
  }

  // ---------------------------------------------------------------- offsets

  /** Start of the data area: always 0. */
  get head(): number {
    return 0
  }
  /** Offset of the first byte of packet data. */
  get data(): number {
    return this.dataOffset
  }
  /** Offset just past the last byte of linear data. */
  get tail(): number {
    return this.tailOffset
  }
  /** Size of the data area. */
  get end(): number {
    return this.storage.bytes.length
  }
  /** Bytes free before `data`. */
  get headroom(): number {
    return this.dataOffset
  }
  /** Bytes free after `tail`. */
  get tailroom(): number {
    return this.storage.bytes.length - this.tailOffset
  }
  /** Total packet length: linear data plus fragments. */
  get length(): number {
    return this.tailOffset - this.dataOffset + this.fragBytes
  }
  /** Bytes of packet data in the linear area (the kernel's `skb_headlen`). */
  get headLength(): number {
    return this.tailOffset - this.dataOffset
  }
  /** Bytes of packet data in fragments (the kernel's `data_len`). */
  get fragmentLength(): number {
    return this.fragBytes
  }
  /** The fragments, in order. */
  get fragments(): ReadonlyArray<Fragment> {
    return this.frags
  }
  /** True when all packet data is in the linear area. */
  get isLinear(): boolean {
    return this.frags.length === 0
  }
  /** True when a clone shares the linear data area, so the next write copies it. */
  get isShared(): boolean {
    return this.storage.refs > 1
  }
  /** True once `release` was called; every operation then returns `BufferReleased`. */
  get isReleased(): boolean {
    return this.released
  }
  /**
   * The linear data area, for reading at `data + i`. Read-only by contract:
   * write through the `set*` methods or `writableBytes`, which copy a shared
   * area first.
   */
  get bytes(): Uint8Array {
    return this.storage.bytes
  }
  /** The storage behind the linear area (for pools and drivers). */
  get sharedStorage(): SharedBytes {
    return this.storage
  }

  // ---------------------------------------------------------------- head and tail

  /** Makes `n` bytes of headroom in an empty buffer (the kernel's `skb_reserve`). */
  reserve(n: number): InvalidLength | NotEmpty | TailroomExceeded | BufferReleased | undefined {
    if (this.released) return new BufferReleased()
    if (!isCount(n)) return new InvalidLength({ value: n })
    if (this.length !== 0) return new NotEmpty({ length: this.length })
    if (n > this.tailroom) return new TailroomExceeded({ requested: n, available: this.tailroom })
    this.dataOffset += n
    this.tailOffset += n
    return undefined
  }

  /** Prepends `n` bytes of header space: `data` moves back by `n` (the kernel's `skb_push`). */
  push(n: number): InvalidLength | HeadroomExceeded | BufferReleased | undefined {
    if (this.released) return new BufferReleased()
    if (!isCount(n)) return new InvalidLength({ value: n })
    if (n > this.dataOffset) return new HeadroomExceeded({ requested: n, available: this.dataOffset })
    this.dataOffset -= n
    return undefined
  }

  /**
   * Strips `n` bytes from the front: `data` moves forward by `n` (the kernel's
   * `skb_pull`). Past the linear data it consumes fragment bytes too.
   */
  pull(n: number): InvalidLength | LengthExceeded | BufferReleased | undefined {
    if (this.released) return new BufferReleased()
    if (!isCount(n)) return new InvalidLength({ value: n })
    if (n > this.length) return new LengthExceeded({ requested: n, available: this.length })
    const linear = this.tailOffset - this.dataOffset
    if (n <= linear) {
      this.dataOffset += n
    } else {
      this.dataOffset = this.tailOffset
      this.consumeFragments(n - linear)
    }
    return undefined
  }

  /**
   * Appends `n` bytes at the tail of the linear data (the kernel's `skb_put`).
   * The new bytes hold whatever the area held; write them next.
   */
  put(n: number): InvalidLength | NonLinear | TailroomExceeded | BufferReleased | undefined {
    if (this.released) return new BufferReleased()
    if (!isCount(n)) return new InvalidLength({ value: n })
    if (this.frags.length > 0) return new NonLinear({ fragments: this.frags.length })
    if (n > this.tailroom) return new TailroomExceeded({ requested: n, available: this.tailroom })
    this.tailOffset += n
    return undefined
  }

  /** Cuts the packet to `length` bytes, dropping fragments past it (the kernel's `pskb_trim`). */
  trim(length: number): InvalidLength | LengthExceeded | BufferReleased | undefined {
    if (this.released) return new BufferReleased()
    if (!isCount(length)) return new InvalidLength({ value: length })
    if (length > this.length) return new LengthExceeded({ requested: length, available: this.length })
    const linear = this.tailOffset - this.dataOffset
    if (length <= linear) {
      this.tailOffset = this.dataOffset + length
      this.releaseFragments()
      return undefined
    }
    let keep = length - linear
    const kept: Array<Fragment> = []
    for (const f of this.frags) {
      if (keep >= f.length) {
        kept.push(f)
        keep -= f.length
      } else if (keep > 0) {
        kept.push(fragment(f.storage, f.offset, keep))
        keep = 0
      } else {
        f.storage.release()
      }
    }
    this.frags = kept
    this.fragBytes = length - linear
    return undefined
  }

  // ---------------------------------------------------------------- clone, copy, copy-on-write

  /**
   * A new descriptor over the same bytes (the kernel's `skb_clone`): the data
   * area and fragments are shared and reference counted; offsets and metadata
   * are the clone's own. The first write on either side unshares.
   */
  clone(): PacketBuffer | BufferReleased {
    if (this.released) return new BufferReleased()
    this.storage.retain()
    const c = new PacketBuffer(this.storage, this.dataOffset, this.tailOffset, this.meta.clone())
    if (this.frags.length > 0) {
      const frags = this.frags
      for (let i = 0; i < frags.length; i++) frags[i].storage.retain()
      c.frags = frags.slice()
      c.fragBytes = this.fragBytes
    }
    return c
  }

  /**
   * A fully independent buffer (the kernel's `skb_copy`): same layout and
   * metadata, every byte, the fragments' included, in storage of its own.
   */
  copy(): PacketBuffer | BufferReleased {
    if (this.released) return new BufferReleased()
    const storage = SharedBytes.alloc(this.storage.bytes.length)
    storage.bytes.set(this.storage.bytes)
    const c = new PacketBuffer(storage, this.dataOffset, this.tailOffset, this.meta.clone())
    if (this.frags.length > 0) {
      c.frags = this.frags.map((f) => {
        const own = SharedBytes.alloc(f.length)
        own.bytes.set(f.storage.bytes.subarray(f.offset, f.offset + f.length))
        return fragment(own, 0, f.length)
      })
      c.fragBytes = this.fragBytes
    }
    return c
  }

  /**
   * Copy-on-write: when the linear data area is shared with a clone, gives this
   * buffer a private copy of it (same offsets). A no-op when not shared.
   */
  makeWritable(): BufferReleased | undefined {
    if (this.released) return new BufferReleased()
    if (this.storage.refs > 1) this.replaceStorage(this.storage.bytes.length)
    return undefined
  }

  /**
   * The linear data area, made private first, for emitters that write headers
   * in place at `data + i`.
   */
  writableBytes(): Uint8Array | BufferReleased {
    if (this.released) return new BufferReleased()
    if (this.storage.refs > 1) this.replaceStorage(this.storage.bytes.length)
    return this.storage.bytes
  }

  // ---------------------------------------------------------------- writes (offsets relative to data)

  /** Writes one byte at `offset` from `data`, within the linear data. */
  setUint8(offset: number, value: number): OutOfRange | BufferReleased | undefined {
    const err = this.checkWrite(offset, 1)
    if (err !== undefined) return err
    this.storage.bytes[this.dataOffset + offset] = value
    return undefined
  }

  /** Writes a big-endian 16-bit value at `offset` from `data`, within the linear data. */
  setUint16(offset: number, value: number): OutOfRange | BufferReleased | undefined {
    const err = this.checkWrite(offset, 2)
    if (err !== undefined) return err
    const b = this.storage.bytes
    const i = this.dataOffset + offset
    b[i] = value >>> 8
    b[i + 1] = value
    return undefined
  }

  /** Writes a big-endian 32-bit value at `offset` from `data`, within the linear data. */
  setUint32(offset: number, value: number): OutOfRange | BufferReleased | undefined {
    const err = this.checkWrite(offset, 4)
    if (err !== undefined) return err
    const b = this.storage.bytes
    const i = this.dataOffset + offset
    b[i] = value >>> 24
    b[i + 1] = value >>> 16
    b[i + 2] = value >>> 8
    b[i + 3] = value
    return undefined
  }

  /** Copies `source` in at `offset` from `data`, within the linear data. */
  setBytes(offset: number, source: Uint8Array): OutOfRange | BufferReleased | undefined {
    const err = this.checkWrite(offset, source.length)
    if (err !== undefined) return err
    this.storage.bytes.set(source, this.dataOffset + offset)
    return undefined
  }

  // ---------------------------------------------------------------- reads across fragments

  /**
   * Calls `visit` on each contiguous run of the packet bytes `[offset, offset + length)`
   * (relative to `data`), linear part first, then fragments, without copying.
   */
  forEachSegment(
    offset: number,
    length: number,
    visit: SegmentVisitor
  ): InvalidLength | LengthExceeded | BufferReleased | undefined {
    if (this.released) return new BufferReleased()
    if (!isCount(offset)) return new InvalidLength({ value: offset })
    if (!isCount(length)) return new InvalidLength({ value: length })
    if (offset + length > this.length) {
      return new LengthExceeded({ requested: offset + length, available: this.length })
    }
    let skip = offset
    let left = length
    const linear = this.tailOffset - this.dataOffset
    if (skip < linear) {
      const n = Math.min(linear - skip, left)
      if (n > 0) visit(this.storage.bytes, this.dataOffset + skip, this.dataOffset + skip + n)
      left -= n
      skip = 0
    } else {
      skip -= linear
    }
    for (let i = 0; left > 0 && i < this.frags.length; i++) {
      const f = this.frags[i]
      if (skip >= f.length) {
        skip -= f.length
        continue
      }
      const n = Math.min(f.length - skip, left)
      visit(f.storage.bytes, f.offset + skip, f.offset + skip + n)
      left -= n
      skip = 0
    }
    return undefined
  }

  /** Yields the packet's bytes as zero-copy views, linear part first, then each fragment. */
  *segments(): Generator<Uint8Array, void, undefined> {
    if (this.released) return
    if (this.tailOffset > this.dataOffset) yield this.storage.bytes.subarray(this.dataOffset, this.tailOffset)
    for (const f of this.frags) if (f.length > 0) yield f.storage.bytes.subarray(f.offset, f.offset + f.length)
  }

  /** Copies packet bytes `[offset, offset + length)` into `target` at `targetOffset`, across fragments. */
  copyOut(
    offset: number,
    length: number,
    target: Uint8Array,
    targetOffset = 0
  ): InvalidLength | LengthExceeded | OutOfRange | BufferReleased | undefined {
    if (!isCount(targetOffset) || targetOffset + length > target.length) {
      return new OutOfRange({ offset: targetOffset, length, available: target.length })
    }
    // The common case without a visitor: the range lies in the linear part.
    if (!this.released && isCount(offset) && isCount(length) && offset + length <= this.tailOffset - this.dataOffset) {
      const start = this.dataOffset + offset
      target.set(this.storage.bytes.subarray(start, start + length), targetOffset)
      return undefined
    }
    let at = targetOffset
    return this.forEachSegment(offset, length, (bytes, start, end) => {
      target.set(bytes.subarray(start, end), at)
      at += end - start
    })
  }

  /** A fresh array holding a copy of all packet bytes (empty once released). */
  toUint8Array(): Uint8Array {
    if (this.frags.length === 0 && !this.released) return this.storage.bytes.slice(this.dataOffset, this.tailOffset)
    const out = new Uint8Array(this.released ? 0 : this.length)
    this.copyOut(0, out.length, out)
    return out
  }

  // ---------------------------------------------------------------- fragments

  /**
   * Appends a fragment: `length` bytes of `storage` from `offset`. The packet
   * takes a new reference on the storage. An empty fragment adds nothing.
   */
  addFragment(
    storage: SharedBytes,
    offset: number,
    length: number
  ): InvalidLength | OutOfRange | TooManyFragments | BufferReleased | undefined {
    if (this.released) return new BufferReleased()
    if (!isCount(offset)) return new InvalidLength({ value: offset })
    if (!isCount(length)) return new InvalidLength({ value: length })
    if (offset + length > storage.bytes.length) {
      return new OutOfRange({ offset, length, available: storage.bytes.length })
    }
    if (length === 0) return undefined
    if (this.frags.length >= MAX_FRAGMENTS) return new TooManyFragments({ limit: MAX_FRAGMENTS })
    storage.retain()
    this.appendFragment(fragment(storage, offset, length))
    this.fragBytes += length
    return undefined
  }

  /** Adds `f` at the end of the fragment list (each buffer owns its list; the shared empty one is replaced). */
  private appendFragment(f: Fragment): void {
    if (this.frags === NO_FRAGMENTS) this.frags = [f]
    else (this.frags as Array<Fragment>).push(f)
  }

  /** Appends `bytes` as a fragment without copying; the packet adopts the array. An empty array adds nothing. */
  addFragmentBytes(bytes: Uint8Array): TooManyFragments | BufferReleased | undefined {
    if (this.released) return new BufferReleased()
    if (bytes.length === 0) return undefined
    if (this.frags.length >= MAX_FRAGMENTS) return new TooManyFragments({ limit: MAX_FRAGMENTS })
    this.appendFragment(fragment(new SharedBytes(bytes), 0, bytes.length))
    this.fragBytes += bytes.length
    return undefined
  }

  /**
   * Makes sure the first `n` bytes of packet data are in the linear area,
   * moving them out of fragments if needed (the kernel's `pskb_may_pull`), so
   * a header view can read them contiguously.
   */
  mayPull(n: number): InvalidLength | LengthExceeded | BufferReleased | undefined {
    if (this.released) return new BufferReleased()
    if (!isCount(n)) return new InvalidLength({ value: n })
    const linear = this.tailOffset - this.dataOffset
    if (n <= linear) return undefined
    if (n > this.length) return new LengthExceeded({ requested: n, available: this.length })
    const need = n - linear
    this.ensurePrivateTailroom(need)
    this.copyFromFragments(need, this.tailOffset)
    this.tailOffset += need
    this.consumeFragments(need)
    return undefined
  }

  /** Moves all fragment bytes into the linear area, growing it if needed (the kernel's `skb_linearize`). */
  linearize(): BufferReleased | undefined {
    if (this.released) return new BufferReleased()
    if (this.frags.length === 0) return undefined
    const need = this.fragBytes
    this.ensurePrivateTailroom(need)
    this.copyFromFragments(need, this.tailOffset)
    this.tailOffset += need
    this.releaseFragments()
    return undefined
  }

  // ---------------------------------------------------------------- header marks

  /** Records the current `data` as the start of the link-layer header. */
  resetMacHeader(): void {
    this.meta.macHeader = this.dataOffset
  }
  /** Records the current `data` as the start of the network-layer header. */
  resetNetworkHeader(): void {
    this.meta.networkHeader = this.dataOffset
  }
  /** Records the current `data` as the start of the transport-layer header. */
  resetTransportHeader(): void {
    this.meta.transportHeader = this.dataOffset
  }

  // ---------------------------------------------------------------- release

  /**
   * Drops this descriptor's references on its bytes; the last reference returns
   * pooled storage to its pool. A packet with a sender (`meta.txOwner`) gives
   * the sender its charge back. A second call returns `BufferReleased` and
   * changes nothing.
   */
  release(): BufferReleased | undefined {
    if (this.released) return new BufferReleased()
    this.released = true
    this.storage.release()
    this.releaseFragments()
    this.dataOffset = 0
    this.tailOffset = 0
    this.orphan()
    return undefined
  }

  /**
   * Gives the sender its charge back now (`meta.txOwner`, the kernel's
   * `skb_orphan`): the packet is handed on to an owner that is not its
   * sender's to account for. A no-op without a sender.
   */
  orphan(): void {
    const meta = this.meta
    const owner = meta.txOwner
    if (owner === undefined) return
    // The sender's destructor (`skb->destructor`): its charge comes back.
    const charge = meta.txCharge
    meta.txOwner = undefined
    meta.txCharge = 0
    owner.txDone(charge)
  }

  // ---------------------------------------------------------------- internals

  private checkWrite(offset: number, length: number): OutOfRange | BufferReleased | undefined {
    if (this.released) return new BufferReleased()
    const linear = this.tailOffset - this.dataOffset
    if (!isCount(offset) || offset + length > linear) {
      return new OutOfRange({ offset, length, available: linear })
    }
    if (this.storage.refs > 1) this.replaceStorage(this.storage.bytes.length)
    return undefined
  }

  /** Moves the linear area into a private storage of `size` bytes, keeping offsets. */
  private replaceStorage(size: number): void {
    const fresh = SharedBytes.alloc(size)
    fresh.bytes.set(this.storage.bytes.subarray(0, Math.min(size, this.tailOffset)))
    this.storage.release()
    this.storage = fresh
  }

  /** Makes the linear area private with at least `need` bytes of tailroom. */
  private ensurePrivateTailroom(need: number): void {
    const size = this.storage.bytes.length
    const grown = this.tailroom >= need ? size : this.tailOffset + need
    if (grown !== size || this.storage.refs > 1) this.replaceStorage(grown)
  }

  /** Copies the first `n` fragment bytes into the linear area at `to`. */
  private copyFromFragments(n: number, to: number): void {
    const target = this.storage.bytes
    let left = n
    let at = to
    for (const f of this.frags) {
      if (left === 0) break
      const take = Math.min(f.length, left)
      target.set(f.storage.bytes.subarray(f.offset, f.offset + take), at)
      at += take
      left -= take
    }
  }

  /** Drops the first `n` fragment bytes, releasing fragments that empty. */
  private consumeFragments(n: number): void {
    let left = n
    const kept: Array<Fragment> = []
    for (const f of this.frags) {
      if (left >= f.length) {
        left -= f.length
        f.storage.release()
      } else {
        kept.push(left > 0 ? fragment(f.storage, f.offset + left, f.length - left) : f)
        left = 0
      }
    }
    this.frags = kept.length === 0 ? NO_FRAGMENTS : kept
    this.fragBytes -= n
  }

  private releaseFragments(): void {
    // Indexed loops here and in `clone`: once per packet, and an array iterator is an allocation V8 does not always remove.
    const frags = this.frags
    for (let i = 0; i < frags.length; i++) frags[i].storage.release()
    this.frags = NO_FRAGMENTS
    this.fragBytes = 0
  }
}
