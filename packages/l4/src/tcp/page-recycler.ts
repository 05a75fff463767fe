/**
 * Send-buffer pages, recycled: a page comes back when its last holder lets
 * go (the send buffer once the data is acknowledged, and every segment that
 * carried part of it once the driver completed it), and the next page is
 * taken from those rather than allocated, since allocating 64 KiB typed
 * arrays costs page faults and GC work. At most `maxFree` pages wait; the
 * rest go to the garbage collector.
 */
import { type DoubleRelease, SharedBytes, type StorageOwner } from "@netstack/buffers"

/** A host's free send pages. */
export class PageRecycler implements StorageOwner {
  private readonly free: Array<SharedBytes> = []
  private readonly size: number
  private readonly maxFree: number
  /** Pages allocated because none was free. */
  allocations = 0

  constructor(size: number, maxFree = 64) {
    this.size = size
    this.maxFree = maxFree
  }

  /** A page with one reference (the caller's). */
  take(): SharedBytes {
    const page = this.free.pop()
    if (page !== undefined) {
      page.refs = 1
      return page
    }
    this.allocations++
    return new SharedBytes(new Uint8Array(this.size), this)
  }

  /** Called by `SharedBytes.release` when a page's last reference goes. */
  reclaim(storage: SharedBytes): DoubleRelease | undefined {
    if (this.free.length < this.maxFree && storage.bytes.length === this.size) this.free.push(storage)
    return undefined
  }
}
