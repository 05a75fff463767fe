/**
 * `SharedBytes`: a reference-counted data area. A `PacketBuffer`'s linear
 * part and each of its fragments point into one; clones share it, and the
 * last release hands it back to its owner (a pool), if it has one.
 */
import { DoubleRelease } from "./errors.ts"

/** Who takes a storage back when its last reference is released (a `BufferPool`). */
export interface StorageOwner {
  /** Called once when the reference count of `storage` drops to zero. */
  readonly reclaim: (storage: SharedBytes) => DoubleRelease | undefined
}

/** A reference-counted byte area shared by buffers and their clones. */
export class SharedBytes {
  /** The bytes. Writers must hold the only reference (see `PacketBuffer.makeWritable`). */
  readonly bytes: Uint8Array
  /** Number of holders; 0 once released to the owner. */
  refs: number
  /** Where the storage goes when released, if anywhere. */
  readonly owner: StorageOwner | undefined

  constructor(bytes: Uint8Array, owner?: StorageOwner) {
    this.bytes = bytes
    this.refs = 1
    this.owner = owner
  }

  /** A fresh zeroed storage of `size` bytes on the heap. */
  static alloc(size: number): SharedBytes {
    return new SharedBytes(new Uint8Array(size))
  }

  /** Adds a reference (a clone or a fragment now points here). */
  retain(): void {
    this.refs++
  }

  /**
   * Drops a reference; the last one returns the storage to its owner. Past
   * zero it changes nothing and returns `DoubleRelease` (an owner counts it).
   */
  release(): DoubleRelease | undefined {
    if (this.refs <= 0) return this.owner !== undefined ? this.owner.reclaim(this) : new DoubleRelease()
    this.refs--
    if (this.refs === 0 && this.owner !== undefined) return this.owner.reclaim(this)
    return undefined
  }

  /** True when more than one holder points here, so writes must copy first. */
  get isShared(): boolean {
    return this.refs > 1
  }
}

/**
 * A storage lent by whoever owns its memory (a medium handing a received
 * frame over without a copy, as Xen's netback flipped a page into its guest):
 * the last release gives the memory back through `giveBack`, once.
 */
export class LentBytes extends SharedBytes {
  private returned = false
  private readonly giveBack: () => void

  /** A storage over `bytes`, holding one reference; `giveBack` runs when the last one is released. */
  constructor(bytes: Uint8Array, giveBack: () => void) {
    super(bytes, LENDER)
    this.giveBack = giveBack
  }

  /** Gives the memory back, the first time; a repeat is a `DoubleRelease`. */
  reclaim(): DoubleRelease | undefined {
    if (this.returned) return new DoubleRelease()
    this.returned = true
    this.giveBack()
    return undefined
  }
}

/** The owner of every `LentBytes`: hands each back to its lender. */
const LENDER: StorageOwner = {
  reclaim: (storage) => storage instanceof LentBytes ? storage.reclaim() : new DoubleRelease()
}
