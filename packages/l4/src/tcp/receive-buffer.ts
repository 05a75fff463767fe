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
 *
 * A reader that waits with its own array `park`s it: in-order bytes that
 * arrive while nothing else is unread are copied straight from the packet
 * into that array, one copy instead of two (Linux's "copy to user" from the
 * softirq into a sleeping reader's iovec, `tp->ucopy`); whatever does not
 * fit goes to the pages behind them.
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

/** A waiting reader's array (see `ReceiveBuffer.park`): bytes go to `target` from `at + filled`. */
interface ParkedRead {
  readonly target: Uint8Array
  readonly at: number
  filled: number
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
  /** The waiting reader's array, if one is parked. */
  private parked: ParkedRead | undefined = undefined
  /** Bytes copied straight into a parked reader's array: one copy, where the pages take two. */
  directBytes = 0

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

  /** Appends packet bytes `[offset, offset + length)` (from `data`): into a parked reader's array first, if it can take them. */
  appendPacket(packet: PacketBuffer, offset: number, length: number): void {
    const parked = this.parked
    let done = 0
    if (parked !== undefined && this.held === 0) {
      done = Math.min(length, parked.target.length - parked.at - parked.filled)
      packet.copyOut(offset, done, parked.target, parked.at + parked.filled)
      parked.filled += done
      this.directBytes += done
    }
    this.held += length - done
    while (done < length) {
      const page = this.room()
      const take = Math.min(length - done, PAGE_BYTES - this.writeAt)
      packet.copyOut(offset + done, take, page, this.writeAt)
      this.writeAt += take
      done += take
    }
  }

  /** Appends `bytes`: into a parked reader's array first, if it can take them. */
  appendBytes(bytes: Uint8Array): void {
    const parked = this.parked
    let done = 0
    if (parked !== undefined && this.held === 0) {
      done = Math.min(bytes.length, parked.target.length - parked.at - parked.filled)
      parked.target.set(bytes.subarray(0, done), parked.at + parked.filled)
      parked.filled += done
      this.directBytes += done
    }
    this.held += bytes.length - done
    while (done < bytes.length) {
      const page = this.room()
      const take = Math.min(bytes.length - done, PAGE_BYTES - this.writeAt)
      page.set(bytes.subarray(done, done + take), this.writeAt)
      this.writeAt += take
      done += take
    }
  }

  /**
   * A reader waits for data with its own array: bytes arriving in order
   * while nothing else is unread are copied into `target` from `at` until it
   * is full. One reader at a time: false (and nothing parked) when another
   * is parked already, or when there is unread data to take first.
   */
  park(target: Uint8Array, at: number): boolean {
    if (this.parked !== undefined || this.held > 0 || at >= target.length) return false
    this.parked = { target, at, filled: 0 }
    return true
  }

  /** True while the parked array is full: whatever comes next goes to the pages, to be copied a second time. */
  get parkedFull(): boolean {
    const parked = this.parked
    return parked !== undefined && parked.at + parked.filled >= parked.target.length
  }

  /** Bytes copied so far into the array parked as `target` from `at` (0 if it is not the one parked). */
  parkedBytes(target: Uint8Array, at: number): number {
    return this.parkedAs(target, at)?.filled ?? 0
  }

  /** The parked read, if it is `target` from `at`. */
  private parkedAs(target: Uint8Array, at: number): ParkedRead | undefined {
    const parked = this.parked
    return parked !== undefined && parked.target === target && parked.at === at ? parked : undefined
  }

  /**
   * The reader parked as `target` from `at` stops waiting without taking its
   * bytes (it was interrupted, or the connection ended): bytes already
   * copied into its array go back in front of the unread data, in order, so
   * none is lost. A no-op if that array is not the one parked.
   */
  unpark(target: Uint8Array, at: number): void {
    const parked = this.parkedAs(target, at)
    if (parked === undefined) return
    this.parked = undefined
    if (parked.filled === 0) return
    const later = new Uint8Array(this.held)
    this.readInto(later)
    this.clear()
    this.appendBytes(parked.target.slice(parked.at, parked.at + parked.filled))
    this.appendBytes(later)
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

  /**
   * Copies up to `target.length - at` bytes in order into `target` from
   * `at`; returns how many. If `target` was parked from `at`, the bytes
   * already copied into it count first and it is parked no more.
   */
  readInto(target: Uint8Array, at = 0): number {
    const parked = this.parkedAs(target, at)
    let copied = 0
    if (parked !== undefined) {
      copied = parked.filled
      this.parked = undefined
    }
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

  /**
   * Drops everything unread (the connection was reset or closed with unread
   * data), bytes already copied into a parked array included: that array
   * stays parked, empty.
   */
  clear(): void {
    if (this.parked !== undefined) this.parked.filled = 0
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

/** One copied piece of an out-of-order run; the pieces of a run are linked in sequence order. */
interface Chunk {
  readonly bytes: Uint8Array
  next: Chunk | undefined
}

/**
 * One out-of-order run: the contiguous bytes `[seq, seq + length)`, held as
 * the pieces copied in (`head` to `tail`, `chunks` of them).
 */
interface Run {
  seq: number
  length: number
  head: Chunk
  tail: Chunk
  chunks: number
  /** False once drained or joined into a neighbour (`recent` lets such runs go). */
  live: boolean
}

/** A SACK block: `[left, right)` in sequence space (RFC 2018 §3). */
export interface SackBlock {
  readonly left: number
  readonly right: number
}

/** What `ReassemblyQueue.insert` did with a segment's bytes. */
export type InsertResult = "queued" | "duplicate" | "pruned"

/** Bytes of capacity per chunk the queue may hold: MSS-sized pieces reach the byte bound first. */
const BYTES_PER_CHUNK = 512

/** Runs remembered for the SACK option, most recently changed first (more than any option carries). */
const RECENT_RUNS = 8

/**
 * Out-of-order data above RCV.NXT, kept as sorted, disjoint runs of copied
 * pieces. Like Linux's out-of-order queue (`tcp_data_queue_ofo`, which
 * coalesces adjacent segments), a piece that starts where a run ends is
 * appended to it, one that ends where a run starts is put in front of it,
 * and one filling a hole joins its two neighbours: there is one run per
 * hole, not per segment, so a whole window fits behind one loss.
 *
 * Bounded in bytes (`capacityBytes`, the free receive window), in runs
 * (`maxRuns`: a peer spraying tiny disjoint segments) and in chunks
 * (`maxChunks`: a peer sending tiny adjacent segments); a segment that would
 * pass a bound is not queued (the sender retransmits it).
 *
 * It remembers which runs changed most recently for the SACK option: the
 * first block contains the most recently received segment, then the other
 * most recently changed runs (RFC 2018 §4).
 */
export class ReassemblyQueue {
  /** Sorted by sequence number; never two adjacent or overlapping. */
  private runs: Array<Run> = []
  /** Runs, most recently changed first (at most `RECENT_RUNS`; a run no longer live is skipped). */
  private recent: Array<Run> = []
  private held = 0
  private chunksHeld = 0
  /** The new pieces of the segment being inserted, as `from, to` pairs (kept to avoid an allocation per segment). */
  private readonly cuts: Array<number> = []
  /** Bytes it may hold (the free receive window). */
  capacityBytes: number
  /** Disjoint runs it may hold (each hole between them costs one). */
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

  /** Disjoint runs held: one per hole above RCV.NXT (each run has one below it). */
  get runCount(): number {
    return this.runs.length
  }

  /** Copied pieces held, over all runs. */
  get chunkCount(): number {
    return this.chunksHeld
  }

  /** Pieces it may hold: one per `BYTES_PER_CHUNK` of capacity, and at least one per run. */
  get maxChunks(): number {
    return Math.max(this.maxRuns, Math.ceil(this.capacityBytes / BYTES_PER_CHUNK))
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

  /** The highest sequence number held plus one, if anything is held. */
  get end(): number | undefined {
    const last = this.runs[this.runs.length - 1]
    return last === undefined ? undefined : seqAdd(last.seq, last.length)
  }

  /**
   * Queues packet bytes `[offset, offset + length)` (from `data`) that start
   * at `seq` above `rcvNxt`: only bytes not already held are kept, joined to
   * the runs they touch. A segment that would pass a bound is not queued.
   */
  insert(seq: number, packet: PacketBuffer, offset: number, length: number, rcvNxt: number): InsertResult {
    let start = seq
    const end = seqAdd(seq, length)
    if (seqLe(end, rcvNxt)) return "duplicate"
    if (seqLt(start, rcvNxt)) start = rcvNxt
    const runs = this.runs
    // runs[lo, hi) overlap [start, end) or touch it: with the new bytes they become one run.
    let lo = this.firstEndingAfter(start)
    const before = runs[lo - 1]
    if (before !== undefined && seqAdd(before.seq, before.length) === start) lo--
    // Cut the new bytes against the runs they overlap, keeping the pieces that are new.
    const cuts = this.cuts
    cuts.length = 0
    let added = 0
    let cursor = start
    let hi = lo
    for (; hi < runs.length; hi++) {
      const run = runs[hi]
      if (run === undefined || seqGt(run.seq, end)) break
      if (seqLt(cursor, run.seq)) {
        cuts.push(cursor, run.seq)
        added += seqDiff(run.seq, cursor)
      }
      cursor = seqMax(cursor, seqAdd(run.seq, run.length))
    }
    if (seqLt(cursor, end)) {
      cuts.push(cursor, end)
      added += seqDiff(end, cursor)
    }
    const pieces = cuts.length / 2
    if (pieces === 0) {
      this.dsack = { left: start, right: end }
      return "duplicate"
    }
    const runsAfter = runs.length - (hi - lo) + 1
    if (
      this.held + added > this.capacityBytes || runsAfter > this.maxRuns || this.chunksHeld + pieces > this.maxChunks
    ) return "pruned"
    // Link the runs and the new pieces in sequence order.
    let head: Chunk | undefined
    let tail: Chunk | undefined
    let left = start
    let total = 0
    let chunks = 0
    let r = lo
    let p = 0
    while (r < hi || p < cuts.length) {
      const run = r < hi ? runs[r] : undefined
      const from = cuts[p]
      let first: Chunk
      let last: Chunk
      let at: number
      if (run !== undefined && (from === undefined || seqLt(run.seq, from))) {
        first = run.head
        last = run.tail
        at = run.seq
        total += run.length
        chunks += run.chunks
        r++
      } else {
        const to = cuts[p + 1]
        if (from === undefined || to === undefined) break
        const bytes = new Uint8Array(seqDiff(to, from))
        packet.copyOut(offset + seqDiff(from, seq), bytes.length, bytes)
        first = last = { bytes, next: undefined }
        at = from
        total += bytes.length
        chunks++
        p += 2
      }
      if (tail === undefined) left = at
      else tail.next = first
      head ??= first
      tail = last
    }
    if (head === undefined || tail === undefined) return "pruned" // not reached: there is a piece at least
    let target = hi > lo ? runs[lo] : undefined
    if (target === undefined) {
      target = { seq: left, length: total, head, tail, chunks, live: true }
      runs.splice(lo, 0, target)
    } else {
      target.seq = left
      target.length = total
      target.head = head
      target.tail = tail
      target.chunks = chunks
      for (let i = lo + 1; i < hi; i++) {
        const joined = runs[i]
        if (joined !== undefined) joined.live = false
      }
      if (hi - lo > 1) runs.splice(lo + 1, hi - lo - 1)
    }
    this.held += added
    this.chunksHeld += pieces
    this.touch(target)
    return "queued"
  }

  /** Records a segment wholly below RCV.NXT as a D-SACK to report (RFC 2883 §4). */
  duplicate(seq: number, end: number): void {
    this.dsack = { left: seq, right: end }
  }

  /**
   * Takes the runs that now start at or below `rcvNxt`, in order, handing
   * each one's bytes past `rcvNxt` to `deliver` (a call per piece); returns
   * the new RCV.NXT.
   */
  drain(rcvNxt: number, deliver: (bytes: Uint8Array) => void): number {
    const runs = this.runs
    let next = rcvNxt
    let taken = 0
    for (; taken < runs.length; taken++) {
      const run = runs[taken]
      if (run === undefined || seqGt(run.seq, next)) break
      let at = run.seq
      for (let chunk: Chunk | undefined = run.head; chunk !== undefined; chunk = chunk.next) {
        const chunkEnd = seqAdd(at, chunk.bytes.length)
        if (seqGt(chunkEnd, next)) deliver(seqLt(at, next) ? chunk.bytes.subarray(seqDiff(next, at)) : chunk.bytes)
        at = chunkEnd
      }
      next = seqMax(next, at)
      this.held -= run.length
      this.chunksHeld -= run.chunks
      run.live = false
    }
    if (taken > 0) {
      runs.splice(0, taken)
      this.recent = this.recent.filter((run) => run.live)
    }
    return next
  }

  /**
   * The SACK blocks to send (RFC 2018 §4): a pending D-SACK first (RFC 2883
   * §4, reported once), then the runs, most recently changed first, at most
   * `max` blocks.
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
    for (const run of this.recent) {
      if (out.length >= max) break
      if (!run.live) continue
      const right = seqAdd(run.seq, run.length)
      if (!out.some((b, i) => i >= firstRun && b.left === run.seq && b.right === right)) {
        out.push({ left: run.seq, right })
      }
    }
    return out
  }

  /** Drops every queued run (RFC 2018 §8 reneging; a reset). */
  clear(): void {
    for (const run of this.runs) run.live = false
    this.runs = []
    this.recent = []
    this.held = 0
    this.chunksHeld = 0
    this.dsack = undefined
  }

  /** Whether `[seq, end)` is wholly held. */
  holds(seq: number, end: number): boolean {
    if (seqGe(seq, end)) return true
    const run = this.runs[this.firstEndingAfter(seq)]
    return run !== undefined && seqLe(run.seq, seq) && seqLe(end, seqAdd(run.seq, run.length))
  }

  /** The lowest of `seq` and the queue's first run (for tests and `ss`). */
  lowest(seq: number): number {
    const first = this.first
    return first === undefined ? seq : seqMin(seq, first)
  }

  /** Marks `run` as the most recently changed (RFC 2018 §4: it holds the latest segment). */
  private touch(run: Run): void {
    const recent = this.recent
    if (recent[0] === run && recent.every((r) => r.live)) return
    this.recent = [run, ...recent.filter((r) => r !== run && r.live)]
    if (this.recent.length > RECENT_RUNS) this.recent.length = RECENT_RUNS
  }

  /** The run containing sequence `seq`, as a block, if any. */
  private blockAround(seq: number): SackBlock | undefined {
    const run = this.runs[this.firstEndingAfter(seq)]
    if (run === undefined || seqGt(run.seq, seq)) return undefined
    return { left: run.seq, right: seqAdd(run.seq, run.length) }
  }

  /** The index of the first run that ends after `seq` (the runs' length if none): a binary search. */
  private firstEndingAfter(seq: number): number {
    const runs = this.runs
    let lo = 0
    let hi = runs.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const run = runs[mid]
      if (run !== undefined && seqLe(seqAdd(run.seq, run.length), seq)) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}
