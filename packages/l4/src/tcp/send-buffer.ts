/**
 * The send buffer of a connection (the kernel's write queue): bytes the
 * application wrote, from the oldest unacknowledged one (SND.UNA) to the
 * last written, in 64 KiB pages. A write copies into the pages, as
 * `copy_from_user` does, so the application may reuse its array at once;
 * segments then share the pages as fragments (no second copy before the
 * NIC), which is safe because a page is only ever appended to. Acknowledged
 * bytes are dropped from the front, and once everything is acknowledged the
 * last page goes too (back to the host's recycler when the segments that
 * carried it are gone): an idle connection holds no page. Positions are
 * offsets from SND.UNA.
 */
import type { SharedBytes } from "@netstack/buffers"
import type { PageRecycler } from "./page-recycler.ts"

/** Page size: one TSO super-packet's worth, so a segment spans at most two pages. */
export const SEND_PAGE_BYTES = 64 * 1024

/** A contiguous run of buffered bytes: `length` bytes of `storage` from `offset`. */
export interface SendRun {
  readonly storage: SharedBytes
  readonly offset: number
  readonly length: number
}

/** A connection's unacknowledged and unsent bytes. */
export class SendBuffer {
  /** The most bytes it holds (SO_SNDBUF); a write beyond waits. */
  capacity: number
  private readonly pages: Array<SharedBytes> = []
  /** Index in `pages[0]` of the byte at SND.UNA. */
  private front = 0
  /** Bytes held (unacknowledged and unsent). */
  private held = 0

  private readonly recycler: PageRecycler

  constructor(capacity: number, recycler: PageRecycler) {
    this.capacity = capacity
    this.recycler = recycler
  }

  /** Bytes held: sent but unacknowledged, and written but unsent. */
  get length(): number {
    return this.held
  }

  /** Room for more bytes. */
  get free(): number {
    return Math.max(0, this.capacity - this.held)
  }

  /**
   * Whether a writer waiting for room should be woken: the room is at least
   * half of what is held (Linux `sk_stream_is_writeable`: free space ≥
   * `sk_stream_min_wspace`), so a full buffer wakes its writer once a third
   * of it is free. Waking on every ACK instead would have the writer add a
   * few segments at a time, each write ending in a push: small GSO
   * super-packets and GRO batches, and one ACK per few segments.
   */
  get writeSpace(): boolean {
    const free = this.free
    return free > 0 && free >= this.held / 2
  }

  /** Appends up to `free` bytes of `data[from, to)`; returns how many were taken. */
  write(data: Uint8Array, from = 0, to = data.length): number {
    const n = Math.min(to - from, this.free)
    let done = 0
    while (done < n) {
      const end = this.front + this.held
      const inLast = end - (this.pages.length - 1) * SEND_PAGE_BYTES
      let page = this.pages[this.pages.length - 1]
      let at = inLast
      if (page === undefined || inLast >= SEND_PAGE_BYTES) {
        page = this.recycler.take()
        this.pages.push(page)
        at = 0
      }
      const take = Math.min(n - done, SEND_PAGE_BYTES - at)
      page.bytes.set(data.subarray(from + done, from + done + take), at)
      done += take
      this.held += take
    }
    return n
  }

  /** Drops the first `n` bytes (acknowledged), releasing pages no longer needed. */
  acknowledge(n: number): void {
    const drop = Math.min(Math.max(0, n), this.held)
    this.held -= drop
    this.front += drop
    // Everything acknowledged: the buffer lets its pages go (the next write takes a recycled one).
    if (this.held === 0) return this.clear()
    // A page goes once the front has passed it (pages past the front's page hold the rest of the data).
    while (this.front >= SEND_PAGE_BYTES && this.pages.length > 0) {
      this.pages.shift()?.release()
      this.front -= SEND_PAGE_BYTES
    }
    if (this.pages.length === 0) this.front = 0
  }

  /**
   * Calls `visit` for each run of bytes `[from, from + length)` (offsets
   * from SND.UNA), in order; returns the bytes visited (less when the range
   * runs past the end).
   */
  runs(from: number, length: number, visit: (run: SendRun) => void): number {
    const end = Math.min(from + length, this.held)
    let at = this.front + Math.max(0, from)
    const stop = this.front + end
    let visited = 0
    while (at < stop) {
      const index = Math.floor(at / SEND_PAGE_BYTES)
      const page = this.pages[index]
      if (page === undefined) break
      const offset = at - index * SEND_PAGE_BYTES
      const n = Math.min(SEND_PAGE_BYTES - offset, stop - at)
      visit({ storage: page, offset, length: n })
      at += n
      visited += n
    }
    return visited
  }

  /** Copies bytes `[from, from + length)` into `target` at `at` (for tests and small probes). */
  copyOut(from: number, length: number, target: Uint8Array, at = 0): number {
    let written = 0
    this.runs(from, length, (run) => {
      target.set(run.storage.bytes.subarray(run.offset, run.offset + run.length), at + written)
      written += run.length
    })
    return written
  }

  /** Drops everything (an aborted connection). */
  clear(): void {
    for (const page of this.pages) page.release()
    this.pages.length = 0
    this.front = 0
    this.held = 0
  }
}
