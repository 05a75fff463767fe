/**
 * `BufferPool`: preallocated fixed-size packet buffers, as a NIC driver's rx
 * buffer pool or the kernel's page pool. One slab is carved into equal slots
 * up front; `acquire` hands out an empty `PacketBuffer` over a free slot and
 * the slot comes back when the last clone of it is released. A pool may grow
 * past its slab up to `maxCount` buffers, one fresh allocation at a time, as
 * `page_pool` falls back to the page allocator when its cache is empty; grown
 * slots stay in the pool once returned. Exhaustion is a typed result, and a
 * double release is detected, counted and refused, never corrupting the free
 * list.
 */
import { DoubleRelease, PoolExhausted } from "./errors.ts"
import { PacketBuffer } from "./packet-buffer.ts"
import { SharedBytes, type StorageOwner } from "./shared-bytes.ts"

/** A snapshot of a pool's counters. */
export interface BufferPoolStats {
  /** Buffers the pool holds now (preallocated, plus grown). */
  readonly capacity: number
  /** Buffers allocated past the slab when it ran out (`page_pool` slow allocations). */
  readonly grown: number
  /** Bytes in each buffer. */
  readonly bufferSize: number
  /** Slots handed out and not yet returned. */
  readonly inUse: number
  /** The most slots ever in use at once. */
  readonly highWater: number
  /** Successful acquires, ever. */
  readonly acquired: number
  /** Slots returned, ever. */
  readonly released: number
  /** Acquires refused because no slot was free. */
  readonly exhausted: number
  /** Releases refused because the buffer or slot was already released. */
  readonly doubleReleases: number
}

/** Options of `BufferPool.make`. */
export interface BufferPoolOptions {
  /** Number of buffers preallocated in one slab. */
  readonly count: number
  /** Bytes per buffer (e.g. 2048 for a 1500-byte MTU frame plus headroom). */
  readonly size: number
  /** The most buffers the pool may hold, growing one at a time past `count` (default `count`: no growth). */
  readonly maxCount?: number
}

/** A storage slot of a pool: its index is how the pool tracks it. */
class PoolSlot extends SharedBytes {
  readonly index: number
  constructor(bytes: Uint8Array, owner: StorageOwner, index: number) {
    super(bytes, owner)
    this.index = index
    this.refs = 0
  }
}

/** A pool of preallocated fixed-size buffers with counters. */
export class BufferPool implements StorageOwner {
  /** Bytes in each buffer. */
  readonly bufferSize: number
  private readonly slots: Array<PoolSlot>
  private readonly free: Array<PoolSlot>
  private inUseFlags: Uint8Array
  private readonly maxCount: number
  private grown = 0
  private inUse = 0
  private highWater = 0
  private acquired = 0
  private returned = 0
  private exhausted = 0
  private doubleReleases = 0

  private constructor(options: BufferPoolOptions) {
    this.bufferSize = options.size
    const slab = new ArrayBuffer(options.count * options.size)
    const slots: Array<PoolSlot> = []
    for (let i = 0; i < options.count; i++) {
      slots.push(new PoolSlot(new Uint8Array(slab, i * options.size, options.size), this, i))
    }
    this.slots = slots
    this.free = slots.slice().reverse()
    this.inUseFlags = new Uint8Array(options.count)
    this.maxCount = Math.max(options.count, options.maxCount ?? options.count)
  }

  /** A pool of `count` buffers of `size` bytes, carved from one slab. */
  static make(options: BufferPoolOptions): BufferPool {
    return new BufferPool(options)
  }

  /** Number of buffers the pool holds. */
  get capacity(): number {
    return this.slots.length
  }

  /** An empty buffer over a free slot (`data = tail = 0`), or `PoolExhausted`. */
  acquire(): PacketBuffer | PoolExhausted {
    const slot = this.free.pop() ?? this.grow()
    if (slot === undefined) {
      this.exhausted++
      return new PoolExhausted({ capacity: this.slots.length })
    }
    slot.refs = 1
    this.inUseFlags[slot.index] = 1
    this.inUse++
    this.acquired++
    if (this.inUse > this.highWater) this.highWater = this.inUse
    return PacketBuffer.adopt(slot)
  }

  /**
   * Releases `buffer` (its slot returns once no clone holds it). Releasing a
   * buffer twice returns `DoubleRelease`, counts it and changes nothing.
   */
  release(buffer: PacketBuffer): DoubleRelease | undefined {
    if (buffer.release() !== undefined) {
      this.doubleReleases++
      return new DoubleRelease()
    }
    return undefined
  }

  /** Takes a slot back when its last reference is dropped (called by `SharedBytes.release`). */
  reclaim(storage: SharedBytes): DoubleRelease | undefined {
    if (!(storage instanceof PoolSlot) || this.slots[storage.index] !== storage || this.inUseFlags[storage.index] !== 1) {
      this.doubleReleases++
      return new DoubleRelease()
    }
    storage.refs = 0
    this.inUseFlags[storage.index] = 0
    this.free.push(storage)
    this.inUse--
    this.returned++
    return undefined
  }

  /** A new slot with its own storage, while the pool is below `maxCount`. */
  private grow(): PoolSlot | undefined {
    const index = this.slots.length
    if (index >= this.maxCount) return undefined
    if (index >= this.inUseFlags.length) {
      const flags = new Uint8Array(Math.min(this.maxCount, this.inUseFlags.length * 2 + 16))
      flags.set(this.inUseFlags)
      this.inUseFlags = flags
    }
    const slot = new PoolSlot(new Uint8Array(this.bufferSize), this, index)
    this.slots.push(slot)
    this.grown++
    return slot
  }

  /** A snapshot of the counters. */
  stats(): BufferPoolStats {
    return {
      capacity: this.slots.length,
      grown: this.grown,
      bufferSize: this.bufferSize,
      inUse: this.inUse,
      highWater: this.highWater,
      acquired: this.acquired,
      released: this.returned,
      exhausted: this.exhausted,
      doubleReleases: this.doubleReleases
    }
  }
}
