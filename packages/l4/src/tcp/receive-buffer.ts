/**
 * The receive side of a connection's data: the in-order bytes the
 * application has yet to read (the kernel's receive queue) and, before
 * them, the out-of-order segments waiting for a gap to fill (the
 * out-of-order queue, RFC 9293 §3.10.7.4 "segment text"), with the SACK
 * blocks that describe them (RFC 2018 §4, D-SACK RFC 2883).
 *
 * In-order bytes are copied out of the packet (whose buffer goes straight
 * back to the driver's pool, however long the application takes to read)
 * into 64 KiB pages that are only ever appended to. `read` hands the
 * application views of them (no second copy; the page then belongs to the
 * views); `readInto` copies into the application's own array, and a page
 * read that way goes back to the host's recycler, so a reader that brings
 * its buffer costs no allocation at all.
 *
 * Once the application has read everything, the buffer lets its last page
 * go, so an idle connection holds none: back to the recycler if no view of
 * it was handed out; otherwise the page belongs to the views, and the
 * buffer keeps only a weak reference, to go on appending to the page's
 * free tail if it is still alive when more data comes.
 */
import { type PacketBuffer, SharedBytes } from "@netstack/buffers"
import type { PageRecycler } from "./page-recycler.ts"
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt, seqMax, seqMin } from "./seq.ts"

/** Page size of the in-order buffer. */
const PAGE_BYTES = 64 * 1024

/** A page of in-order data; `exposed` once a view of it was handed out (it is then never recycled). */
interface Page {
  readonly storage: SharedBytes
  exposed: boolean
}

/** A drained page that views of it may keep alive: its memory, weakly, and where its free tail starts. */
interface SparePage {
  readonly buffer: WeakRef<ArrayBufferLike>
  readonly byteOffset: number
  readonly freeAt: number
}

/** In-order bytes not yet read by the application. */
export class ReceiveBuffer {
  /** The most bytes it holds (SO_RCVBUF), which bounds the advertised window. */
  capacity: number
  private readonly pages: Array<Page> = []
  /** Read position in `pages[0]`. */
  private readAt = 0
  /** Write position in the last page. */
  private writeAt = PAGE_BYTES
  private held = 0
  private readonly recycler: PageRecycler
  /** The last page, drained after views of it were handed out (see the module's doc). */
  private spare: SparePage | undefined = undefined

  constructor(capacity: number, recycler: PageRecycler) {
    this.capacity = capacity
    this.recycler = recycler
  }

  /** Bytes waiting to be read. */
  get length(): number {
    return this.held
  }

  /** Room left. */
  get free(): number {
    return Math.max(0, this.capacity - this.held)
  }

  /** Appends packet bytes `[offset, offset + length)` (from `data`). */
  appendPacket(packet: PacketBuffer, offset: number, length: number): void {
    let done = 0
    while (done < length) {
      const page = this.room()
      const take = Math.min(length - done, PAGE_BYTES - this.writeAt)
      packet.copyOut(offset + done, take, page, this.writeAt)
      this.writeAt += take
      done += take
    }
    this.held += length
  }

  /** Appends `bytes`. */
  appendBytes(bytes: Uint8Array): void {
    let done = 0
    while (done < bytes.length) {
      const page = this.room()
      const take = Math.min(bytes.length - done, PAGE_BYTES - this.writeAt)
      page.set(bytes.subarray(done, done + take), this.writeAt)
      this.writeAt += take
      done += take
    }
    this.held += bytes.length
  }

  /** Takes up to `max` bytes in order (at most to the end of a page): a view the application may keep. */
  read(max: number): Uint8Array {
    const first = this.pages[0]
    if (first === undefined || this.held === 0 || max <= 0) return new Uint8Array(0)
    const end = this.pages.length === 1 ? this.writeAt : PAGE_BYTES
    const n = Math.min(max, end - this.readAt)
    const out = first.storage.bytes.subarray(this.readAt, this.readAt + n)
    first.exposed = true
    this.consume(n, end)
    return out
  }

  /** Copies up to `target.length - at` bytes in order into `target` from `at`; returns how many. */
  readInto(target: Uint8Array, at = 0): number {
    let copied = 0
    while (this.held > 0 && at + copied < target.length) {
      const first = this.pages[0]
      if (first === undefined) break
      const end = this.pages.length === 1 ? this.writeAt : PAGE_BYTES
      const n = Math.min(target.length - at - copied, end - this.readAt)
      target.set(first.storage.bytes.subarray(this.readAt, this.readAt + n), at + copied)
      copied += n
      this.consume(n, end)
    }
    return copied
  }

  /** Drops everything unread (the connection was reset or closed with unread data). */
  clear(): void {
    for (const page of this.pages) if (!page.exposed) page.storage.release()
    this.pages.length = 0
    this.readAt = 0
    this.writeAt = PAGE_BYTES
    this.held = 0
    this.spare = undefined
  }

  /** Moves the read position on by `n` within the first page (whose data ends at `end`), retiring it when read. */
  private consume(n: number, end: number): void {
    this.readAt += n
    this.held -= n
    if (this.readAt >= end && (this.pages.length > 1 || this.writeAt >= PAGE_BYTES)) {
      const page = this.pages.shift()
      if (page !== undefined && !page.exposed) page.storage.release()
      this.readAt = 0
    } else if (this.held === 0) {
      this.letGo()
    }
  }

  /** Everything was read: the last page goes (to the recycler, or to its views with a weak reference kept). */
  private letGo(): void {
    const page = this.pages.pop()
    if (page === undefined) return
    if (page.exposed) {
      const bytes = page.storage.bytes
      this.spare = { buffer: new WeakRef(bytes.buffer), byteOffset: bytes.byteOffset, freeAt: this.writeAt }
    } else {
      page.storage.release()
    }
    this.pages.length = 0
    this.readAt = 0
    this.writeAt = PAGE_BYTES
  }

  /** The last page with room, a new one if it is full (the spare page's tail if it is still alive). */
  private room(): Uint8Array {
    const last = this.pages[this.pages.length - 1]
    if (last !== undefined && this.writeAt < PAGE_BYTES) return last.storage.bytes
    const spare = this.pages.length === 0 ? this.takeSpare() : undefined
    if (spare !== undefined) {
      this.pages.push(spare.page)
      this.readAt = spare.freeAt
      this.writeAt = spare.freeAt
      return spare.page.storage.bytes
    }
    const page: Page = { storage: this.recycler.take(), exposed: false }
    this.pages.push(page)
    this.writeAt = 0
    if (this.pages.length === 1) this.readAt = 0
    return page.storage.bytes
  }

  /** The spare page, if its memory is still alive (its views are the application's: it is never recycled). */
  private takeSpare(): { readonly page: Page; readonly freeAt: number } | undefined {
    const spare = this.spare
    this.spare = undefined
    const buffer = spare?.buffer.deref()
    if (spare === undefined || buffer === undefined) return undefined
    const storage = new SharedBytes(new Uint8Array(buffer, spare.byteOffset, PAGE_BYTES))
    return { page: { storage, exposed: true }, freeAt: spare.freeAt }
  }
}

/** One out-of-order run of received bytes: `[seq, seq + data.length)`. */
interface Run {
  seq: number
  data: Uint8Array
}

/** A SACK block: `[left, right)` in sequence space (RFC 2018 §3). */
export interface SackBlock {
  readonly left: number
  readonly right: number
}

/** What `ReassemblyQueue.insert` did with a segment's bytes. */
export type InsertResult = "queued" | "duplicate" | "pruned"

/**
 * Out-of-order data above RCV.NXT, kept as copied runs, sorted and without
 * overlap, bounded in bytes and runs. It remembers which runs changed most
 * recently for the SACK option: the first block contains the most recently
 * received segment, then the other most recently changed runs (RFC 2018 §4).
 */
export class ReassemblyQueue {
  private runs: Array<Run> = []
  /** Left edges of runs, most recently changed first. */
  private recent: Array<number> = []
  private held = 0
  /** Bytes it may hold (the free receive window). */
  capacityBytes: number
  /** Runs it may hold (small segments cost a run each). */
  readonly maxRuns: number
  /** A duplicate to report first in the next SACK option (D-SACK, RFC 2883 §4), if any. */
  private dsack: SackBlock | undefined = undefined

  constructor(capacityBytes: number, maxRuns = 256) {
    this.capacityBytes = capacityBytes
    this.maxRuns = maxRuns
  }

  /** Bytes held. */
  get length(): number {
    return this.held
  }

  /** True when nothing is queued. */
  get isEmpty(): boolean {
    return this.runs.length === 0
  }

  /** True when nothing is queued and no D-SACK waits to be reported: the queue may be let go. */
  get isIdle(): boolean {
    return this.runs.length === 0 && this.dsack === undefined
  }

  /** The lowest queued sequence number. */
  get first(): number | undefined {
    return this.runs[0]?.seq
  }

  /**
   * Queues packet bytes `[offset, offset + length)` (from `data`) that start
   * at `seq` above `rcvNxt`: only bytes not already held are kept. Runs that
   * would exceed the bounds are not queued (the sender retransmits them).
   */
  insert(seq: number, packet: PacketBuffer, offset: number, length: number, rcvNxt: number): InsertResult {
    let start = seq
    let end = seqAdd(seq, length)
    if (seqLe(end, rcvNxt)) return "duplicate"
    if (seqLt(start, rcvNxt)) start = rcvNxt
    // Cut the new bytes against every run they overlap, keeping the pieces that are new.
    const pieces: Array<readonly [number, number]> = []
    let cursor = start
    for (const run of this.runs) {
      const runEnd = seqAdd(run.seq, run.data.length)
      if (seqLe(runEnd, cursor)) continue
      if (seqGe(run.seq, end)) break
      if (seqLt(cursor, run.seq)) pieces.push([cursor, run.seq])
      cursor = seqMax(cursor, runEnd)
      if (seqGe(cursor, end)) break
    }
    if (seqLt(cursor, end)) pieces.push([cursor, end])
    if (pieces.length === 0) {
      this.dsack = { left: start, right: end }
      return "duplicate"
    }
    let added = 0
    for (const [from, to] of pieces) added += seqDiff(to, from)
    if (this.held + added > this.capacityBytes || this.runs.length + pieces.length > this.maxRuns) return "pruned"
    for (const [from, to] of pieces) {
      const data = new Uint8Array(seqDiff(to, from))
      packet.copyOut(offset + seqDiff(from, seq), data.length, data)
      this.insertRun({ seq: from, data })
    }
    this.held += added
    this.touch(start, end)
    return "queued"
  }

  /** Records a segment wholly below RCV.NXT as a D-SACK to report (RFC 2883 §4). */
  duplicate(seq: number, end: number): void {
    this.dsack = { left: seq, right: end }
  }

  /**
   * Takes the runs that now start at or below `rcvNxt`, in order, handing
   * each one's bytes past `rcvNxt` to `deliver`; returns the new RCV.NXT.
   */
  drain(rcvNxt: number, deliver: (bytes: Uint8Array) => void): number {
    let next = rcvNxt
    while (this.runs.length > 0) {
      const run = this.runs[0]
      if (run === undefined || seqGt(run.seq, next)) break
      this.runs.shift()
      this.held -= run.data.length
      const end = seqAdd(run.seq, run.data.length)
      if (seqGt(end, next)) {
        deliver(run.data.subarray(seqDiff(next, run.seq)))
        next = end
      }
    }
    this.recent = this.recent.filter((left) => this.runs.some((r) => r.seq === left))
    return next
  }

  /**
   * The SACK blocks to send (RFC 2018 §4): a pending D-SACK first (RFC 2883
   * §4, reported once), then the runs, most recently changed first,
   * adjacent runs reported as one block, at most `max` blocks.
   */
  sackBlocks(max: number): ReadonlyArray<SackBlock> {
    const out: Array<SackBlock> = []
    // Blocks already reported, other than the D-SACK (which may repeat the second block).
    let firstRun = 0
    if (this.dsack !== undefined && max > 0) {
      out.push(this.dsack)
      firstRun = 1
      // RFC 2883 §4: a duplicate of queued data is followed by the block holding it, even when the two are
      // equal — the sender tells a D-SACK from a SACK by the first block lying inside the second (§5).
      const holding = max > 1 ? this.blockAround(this.dsack.left) : undefined
      if (holding !== undefined) out.push(holding)
      this.dsack = undefined
    }
    for (const left of this.recent) {
      if (out.length >= max) break
      const block = this.blockAround(left)
      if (block !== undefined && !out.some((b, i) => i >= firstRun && b.left === block.left && b.right === block.right)) out.push(block)
    }
    return out
  }

  /** Drops every queued run (RFC 2018 §8 reneging; a reset). */
  clear(): void {
    this.runs = []
    this.recent = []
    this.held = 0
    this.dsack = undefined
  }

  private insertRun(run: Run): void {
    let i = this.runs.length
    while (i > 0 && seqGt(this.runs[i - 1]?.seq ?? run.seq, run.seq)) i--
    this.runs.splice(i, 0, run)
  }

  /** Marks the block containing `[start, end)` as the most recently changed. */
  private touch(start: number, end: number): void {
    const block = this.blockAround(start) ?? { left: start, right: end }
    this.recent = [block.left, ...this.recent.filter((left) => left !== block.left && this.blockAround(left)?.left !== block.left)]
    if (this.recent.length > 8) this.recent.length = 8
  }

  /** The contiguous extent of runs containing sequence `seq` (adjacent runs joined), if any. */
  private blockAround(seq: number): SackBlock | undefined {
    const i = this.runs.findIndex((r) => seqLe(r.seq, seq) && seqLt(seq, seqAdd(r.seq, r.data.length)))
    if (i < 0) return undefined
    let lo = i
    let hi = i
    while (lo > 0) {
      const prev = this.runs[lo - 1]
      const cur = this.runs[lo]
      if (prev === undefined || cur === undefined || seqAdd(prev.seq, prev.data.length) !== cur.seq) break
      lo--
    }
    while (hi < this.runs.length - 1) {
      const cur = this.runs[hi]
      const next = this.runs[hi + 1]
      if (cur === undefined || next === undefined || seqAdd(cur.seq, cur.data.length) !== next.seq) break
      hi++
    }
    const left = this.runs[lo]
    const right = this.runs[hi]
    if (left === undefined || right === undefined) return undefined
    return { left: left.seq, right: seqAdd(right.seq, right.data.length) }
  }

  /** The highest sequence number held plus one, if anything is held. */
  get end(): number | undefined {
    const last = this.runs[this.runs.length - 1]
    return last === undefined ? undefined : seqAdd(last.seq, last.data.length)
  }

  /** Whether `[seq, end)` is wholly held. */
  holds(seq: number, end: number): boolean {
    let cursor = seq
    for (const run of this.runs) {
      const runEnd = seqAdd(run.seq, run.data.length)
      if (seqLe(runEnd, cursor)) continue
      if (seqGt(run.seq, cursor)) return false
      cursor = seqMax(cursor, runEnd)
      if (seqGe(cursor, end)) return true
    }
    return seqGe(cursor, end)
  }

  /** The lowest of `seq` and the queue's first run (for tests and `ss`). */
  lowest(seq: number): number {
    const first = this.first
    return first === undefined ? seq : seqMin(seq, first)
  }
}
