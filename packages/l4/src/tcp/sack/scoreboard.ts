/**
 * The sender's SACK scoreboard (RFC 6675 §3) and the queries of RFC 6675
 * §4 that loss recovery is built on: Update(), IsLost(), SetPipe() and
 * NextSeg(). It records which octets above SND.UNA the receiver has
 * selectively acknowledged (RFC 2018 §3), as sorted, merged, disjoint
 * ranges; every query works on the ranges arithmetically, O(ranges), never
 * per octet or per segment.
 *
 * Sequence conventions. RFC 6675 names octets inclusively (HighACK is the
 * highest acknowledged octet, HighData the highest sent, HighRxt the highest
 * retransmitted). Here every edge is exclusive, like SND.UNA and SND.NXT:
 * - `una` = SND.UNA = HighACK + 1;
 * - `highData` = SND.MAX (the highest sequence number sent, plus one) = HighData + 1;
 * - `highRxt` = HighRxt + 1, the end of the highest retransmitted range
 *   (set it to `una` when recovery begins and nothing has been resent);
 * - `rescueRxt` = RescueRxt + 1; `recoveryPoint` = SND.MAX when recovery began = RecoveryPoint + 1.
 *
 * How the core drives it (RFC 6675 §5):
 * - every ACK: `update(SND.UNA, SND.MAX, blocks)`. An ACK that does not
 *   advance SND.UNA and has `newlySacked > 0` is a "duplicate
 *   acknowledgment" in RFC 6675 §2's sense (DupAcks += 1).
 * - entering recovery (§5 steps 2.b/2.c: DupAcks ≥ DupThresh, or
 *   `isLost(SND.UNA, smss)`, IsLost(HighACK + 1)): RecoveryPoint = SND.MAX;
 *   ssthresh = cwnd = FlightSize / 2 (step 4.2, RFC 5681 eq. 4);
 *   retransmit the first segment, [una, una + len), and set
 *   `highRxt = rescueRxt = una + len` (step 4.3).
 * - on each ACK in recovery, after `update`: while cwnd − `pipe(...)` ≥ SMSS
 *   (§5 step C), send `nextSeg(...)`; for `kind: "retransmit"` set
 *   `highRxt = seq + length` (C.2); for `"new"` SND.MAX moves (C.3); for
 *   `"rescue"` set `rescueRxt = recoveryPoint` and leave `highRxt` alone
 *   (NextSeg rule 4). Stop when it returns undefined.
 * - recovery ends when SND.UNA reaches RecoveryPoint (`seqGe(una, recoveryPoint)`:
 *   §5 step A, a cumulative ACK beyond RFC 6675's inclusive RecoveryPoint).
 * - after a retransmission timeout (RFC 6675 §5.1) either `clear()` — RFC
 *   2018 §5's SHOULD: forget the SACKed bits, the receiver may have
 *   reneged — or `markAllLost(SND.MAX)`,
 *   what Linux does (`tcp_timeout_mark_lost`: SACK information is kept and
 *   every unSACKed outstanding octet counts as lost). Both are supported;
 *   `update` reports `reneging` (the cumulative ACK stopped at SACKed data,
 *   Linux `tcp_check_sack_reneging`), after which only `clear()` is right.
 *
 * Bounded: at most `maxRanges` (default 64) ranges. When a new block would
 * make one more, the highest range is dropped and counted
 * (`counters.droppedRanges`): forgetting a SACK is safe (the data looks
 * unSACKed, so at worst it is resent or counted as in flight), and the
 * holes nearest SND.UNA — the ones NextSeg() retransmits first — stay exact.
 * Merging two ranges instead would claim octets the receiver never had.
 */
import type { SackBlock } from "../receive-buffer.ts"
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt, seqMax, seqMin } from "../seq.ts"

/** RFC 6675 §2 DupThresh: the number of duplicate ACKs (or SACKed segments) that signal a loss. */
export const DUP_THRESH = 3

/** The most ranges a scoreboard keeps (RFC 2018 reports at most 4 blocks an ACK, but ranges accumulate). */
export const SCOREBOARD_MAX_RANGES = 64

/** The segment size used when a caller passes an invalid one: RFC 9293 §3.7.1's default SMSS. */
export const FALLBACK_SMSS = 536

/** A SACKed range `[left, right)` in sequence space (RFC 2018 §3's block edges). */
export type SackRange = SackBlock

/** Why a received SACK block was not recorded (each is counted in `ScoreboardCounters`). */
export type SackBlockRejection =
  /** An edge is not an unsigned 32-bit integer. */
  | "malformed"
  /** Left edge = right edge. */
  | "empty"
  /** The right edge precedes the left edge. */
  | "inverted"
  /** Wholly at or below SND.UNA (already cumulatively acknowledged). */
  | "belowUna"
  /** Starts below SND.UNA and ends above it (not the first block, so not a D-SACK). */
  | "straddlesUna"
  /** Ends beyond SND.MAX: acknowledges data never sent (Linux `tcp_is_sackblock_valid`). */
  | "beyondHighData"

/** What one `update` did. */
export interface ScoreboardUpdate {
  /** Octets SACKed now that were not SACKed before (and are still recorded). */
  readonly newlySacked: number
  /** The first block was a D-SACK (RFC 2883 §4): reported here, not recorded. */
  readonly dsack: boolean
  /** The right edge of the highest SACKed range, if any. */
  readonly highestSacked: number | undefined
  /** Blocks rejected as invalid (see `SackBlockRejection`); a D-SACK is not counted here. */
  readonly ignoredBlocks: number
  /** SACKed data starts at SND.UNA: the receiver reneged (RFC 2018 §8; Linux `tcp_check_sack_reneging`). */
  readonly reneging: boolean
}

/** Running counts of a scoreboard's unusual events, by reason. */
export type ScoreboardCounters = { readonly [K in SackBlockRejection | "dsackBlocks" | "droppedRanges"]: number }

/** Which rule of RFC 6675 §4 NextSeg() chose a segment, and what it is. */
export type NextSegKind = "retransmit" | "new" | "rescue"

/** The segment NextSeg() says to send: `[seq, seq + length)`. */
export interface NextSegment {
  readonly seq: number
  readonly length: number
  readonly kind: NextSegKind
  /** The rule of RFC 6675 §4 NextSeg() that chose it (1, 2, 3 or 4). */
  readonly rule: 1 | 2 | 3 | 4
}

/**
 * Turns on NextSeg() rule (4), the rescue retransmission (RFC 6675 §4, a
 * SHOULD; Linux does not implement it). The caller keeps RescueRxt.
 */
export interface RescueState {
  /** RescueRxt + 1 (exclusive, like `highRxt`); undefined when none was set in this recovery. */
  readonly rescueRxt: number | undefined
}

/** Options for a new scoreboard. */
export interface ScoreboardOptions {
  /** The most ranges kept (default `SCOREBOARD_MAX_RANGES`; at least 1). */
  readonly maxRanges?: number
}

const isSeq = (x: number): boolean => Number.isInteger(x) && x >= 0 && x <= 0xffffffff

/** A valid SMSS, or the fallback (bad input never throws). */
const segmentSize = (smss: number): number => (Number.isInteger(smss) && smss > 0 ? smss : FALLBACK_SMSS)

/** A valid DupThresh, or the RFC's 3. */
const threshold = (dupThresh: number): number => (Number.isInteger(dupThresh) && dupThresh >= 1 ? dupThresh : DUP_THRESH)

/** Octets outstanding: SND.MAX − SND.UNA, 0 when the pair is not a window (bad input). */
const windowOf = (una: number, highData: number): number => Math.max(0, seqDiff(highData, una))

/** `x` as an offset from `una`, clipped to `[0, win]`. */
const clipOffset = (x: number, una: number, win: number): number => Math.min(win, Math.max(0, seqDiff(x, una)))

type MutableCounters = { -readonly [K in keyof ScoreboardCounters]: number }

/** Counters before anything was counted. */
const NO_COUNTS: ScoreboardCounters = Object.freeze({
  malformed: 0,
  empty: 0,
  inverted: 0,
  belowUna: 0,
  straddlesUna: 0,
  beyondHighData: 0,
  dsackBlocks: 0,
  droppedRanges: 0
})

/**
 * The SACK scoreboard of one connection (RFC 6675 §3): SACKed ranges above
 * SND.UNA, sorted, disjoint and never adjacent (touching ranges merge).
 */
export class Scoreboard {
  /** The most ranges kept. */
  readonly maxRanges: number
  private ranges: Array<SackRange> = []
  private total = 0
  /** Every octet below this counts as lost (`markAllLost`), until SND.UNA passes it. */
  private lostBelow: number | undefined = undefined
  /** Made at the first count: most connections never see an unusual block. */
  private counts: MutableCounters | undefined = undefined

  constructor(options: ScoreboardOptions = {}) {
    const max = options.maxRanges
    this.maxRanges = max !== undefined && Number.isInteger(max) && max >= 1 ? max : SCOREBOARD_MAX_RANGES
  }

  /** Running counts: rejected blocks by reason, D-SACK blocks, ranges dropped at the bound. */
  get counters(): ScoreboardCounters {
    return this.counts ?? NO_COUNTS
  }

  private count(key: keyof ScoreboardCounters): void {
    ;(this.counts ??= { ...NO_COUNTS })[key] += 1
  }

  /** Octets SACKed above SND.UNA. */
  get sackedBytes(): number {
    return this.total
  }

  /** The right edge (exclusive) of the highest SACKed range, if any. */
  get highestSacked(): number | undefined {
    const last = this.ranges[this.ranges.length - 1]
    return last === undefined ? undefined : last.right
  }

  /** Where `markAllLost` put the lost mark, while SND.UNA is below it. */
  get lostMark(): number | undefined {
    return this.lostBelow
  }

  /** The SACKed ranges, lowest first (a copy: for `ss -i`, tests and skipping SACKed data). */
  blocks(): ReadonlyArray<SackRange> {
    return this.ranges.slice()
  }

  /** Forgets all SACK information and the lost mark (RFC 2018 §5 after a timeout; RFC 6675 §5.1). */
  clear(): void {
    this.ranges = []
    this.total = 0
    this.lostBelow = undefined
  }

  /**
   * Counts every unSACKed octet below `highData` as lost, keeping the SACK
   * information (what Linux does on a retransmission timeout,
   * `tcp_timeout_mark_lost`; RFC 6675 §5.1 leaves the choice open). The mark
   * lasts until SND.UNA reaches `highData` or `clear()`. Marked octets are
   * lost for IsLost(), SetPipe() and NextSeg() rule (1), where condition
   * (1.b) is waived for them as Linux retransmits every lost-marked segment.
   */
  markAllLost(highData: number): void {
    if (isSeq(highData)) this.lostBelow = highData
  }

  /**
   * RFC 6675 §4 Update() with RFC 2018 §3 blocks: trims what SND.UNA now
   * covers, recognises a D-SACK (RFC 2883 §4), rejects invalid blocks and
   * records the rest. `una` is SND.UNA after this ACK's cumulative
   * acknowledgment; `highData` is SND.MAX.
   */
  update(una: number, highData: number, blocks: ReadonlyArray<SackBlock>): ScoreboardUpdate {
    if (!isSeq(una) || !isSeq(highData)) {
      return { newlySacked: 0, dsack: false, highestSacked: this.highestSacked, ignoredBlocks: blocks.length, reneging: false }
    }
    this.trim(una)
    const dsack = isDsack(una, blocks)
    if (dsack) this.count("dsackBlocks")
    // Only when this update could exceed the bound is "newly SACKed" recomputed against a snapshot.
    const before = this.ranges.length + blocks.length > this.maxRanges ? this.ranges.slice() : undefined
    const win = windowOf(una, highData)
    let newlySacked = 0
    let ignoredBlocks = 0
    let dropped = false
    for (let i = dsack ? 1 : 0; i < blocks.length; i++) {
      const block = blocks[i]
      if (block === undefined) continue
      const rejection = rejectBlock(block, una, win)
      if (rejection !== undefined) {
        this.count(rejection)
        ignoredBlocks += 1
        continue
      }
      newlySacked += this.insert(block.left, block.right)
      while (this.ranges.length > this.maxRanges) {
        const last = this.ranges.pop()
        if (last !== undefined) this.total -= seqDiff(last.right, last.left)
        this.count("droppedRanges")
        dropped = true
      }
    }
    if (dropped && before !== undefined) newlySacked = newOctets(before, this.ranges)
    const first = this.ranges[0]
    return {
      newlySacked,
      dsack,
      highestSacked: this.highestSacked,
      ignoredBlocks,
      reneging: first !== undefined && first.left === una
    }
  }

  /** Whether every octet of `[seq, seq + length)` is SACKed (false for an empty range). */
  isSacked(seq: number, length: number): boolean {
    if (!(Number.isInteger(length) && length > 0) || !isSeq(seq)) return false
    for (const range of this.ranges) {
      const offset = seqDiff(seq, range.left)
      if (offset >= 0 && offset + length <= seqDiff(range.right, range.left)) return true
    }
    return false
  }

  /**
   * RFC 6675 §4 IsLost(SeqNum): true when DupThresh discontiguous SACKed
   * sequences lie above `seq`, or more than (DupThresh − 1)·SMSS octets
   * above it are SACKed (or the octet is under `markAllLost`'s mark).
   *
   * "Discontiguous SACKed sequences" are counted as segments: a SACKed run of
   * n octets above `seq` is ⌈n / SMSS⌉ of them, the fewest SMSS-sized
   * segments that could have carried it. So DupThresh SACKed runs of any
   * size count, like DupThresh duplicate ACKs would (the rule the byte rule
   * misses for segments smaller than SMSS) — RFC 6675 §5 (2.c) reads
   * IsLost(HighACK + 1) as "at least three segments have arrived above".
   * With this count the byte rule is implied (n octets are at least
   * ⌈n / SMSS⌉ segments); it is kept as the RFC states it. Linux counts SACKed
   * packets (`tcp_mark_head_lost`); a byte scoreboard only knows this lower
   * bound. O(ranges).
   */
  isLost(seq: number, smss: number, dupThresh: number = DUP_THRESH): boolean {
    if (!isSeq(seq)) return false
    if (this.lostBelow !== undefined && seqLt(seq, this.lostBelow)) return true
    const mss = segmentSize(smss)
    const d = threshold(dupThresh)
    const from = seqAdd(seq, 1)
    let bytes = 0
    let sequences = 0
    for (const range of this.ranges) {
      if (seqLe(range.right, from)) continue
      const length = seqDiff(range.right, seqMax(range.left, from))
      bytes += length
      sequences += Math.ceil(length / mss)
    }
    return sequences >= d || bytes > (d - 1) * mss
  }

  /**
   * RFC 6675 §4 SetPipe(): for each octet of `[una, highData)` not SACKed,
   * one if not IsLost(), and one more if at or below HighRxt (below
   * `highRxt` here). IsLost() is true exactly below one boundary, so this is
   * two differences of ranges: O(ranges), whatever the window.
   */
  pipe(una: number, highData: number, highRxt: number, smss: number, dupThresh: number = DUP_THRESH): number {
    if (!isSeq(una) || !isSeq(highData)) return 0
    const win = windowOf(una, highData)
    if (win === 0) return 0
    const boundary = this.lossBoundary(una, win, segmentSize(smss), threshold(dupThresh))
    const retransmitted = isSeq(highRxt) ? clipOffset(highRxt, una, win) : 0
    return this.unsacked(una, win, boundary, win) + this.unsacked(una, win, 0, retransmitted)
  }

  /**
   * RFC 6675 §4 NextSeg(): what to send next in loss recovery.
   * (1) the lowest unSACKed octet S2 ≥ `highRxt` (above HighRxt), below the
   *     highest SACKed octet, with IsLost(S2): retransmit from S2;
   * (2) else new data from `highData`, if `newDataAvailable` > 0 (the caller
   *     says how much the send buffer and the peer's window allow);
   * (3) else that lowest unSACKed octet above HighRxt and below the highest
   *     SACKed octet even though not IsLost(): retransmit from it;
   * (4) else, only when `rescue` is given, one rescue retransmission per
   *     recovery (when HighACK > RescueRxt, or RescueRxt unset) of the last
   *     SMSS of the highest unSACKed hole (§4 rule 4; §5 sets RescueRxt).
   * A retransmission is at most SMSS octets, stops before SACKed data and
   * before `highData`. Undefined when nothing is to be sent (rule 5).
   */
  nextSeg(
    una: number,
    highData: number,
    highRxt: number,
    smss: number,
    newDataAvailable: number,
    dupThresh: number = DUP_THRESH,
    rescue?: RescueState
  ): NextSegment | undefined {
    if (!isSeq(una) || !isSeq(highData)) return undefined
    const mss = segmentSize(smss)
    const win = windowOf(una, highData)
    // The lowest unSACKed offset at or above highRxt (RFC 6675 (1.a): S2 > HighRxt), and the SACKed edge above it.
    let hole = isSeq(highRxt) ? clipOffset(highRxt, una, win) : 0
    let holeEnd = win
    let highest = 0
    for (const range of this.ranges) {
      const lo = clipOffset(range.left, una, win)
      const hi = clipOffset(range.right, una, win)
      if (lo >= hi) continue
      highest = hi
      if (lo <= hole && hole < hi) hole = hi
      else if (lo > hole && holeEnd === win) holeEnd = lo
    }
    const length = Math.min(mss, holeEnd - hole)
    // (1.b) S2 below the highest SACKed octet; (1.c) IsLost(S2). A SACK-derived loss implies (1.b); a marked one waives it.
    if (hole < win && hole < this.lossBoundary(una, win, mss, threshold(dupThresh))) {
      return { seq: seqAdd(una, hole), length, kind: "retransmit", rule: 1 }
    }
    const available = Number.isFinite(newDataAvailable) ? Math.floor(newDataAvailable) : 0
    if (available > 0) return { seq: highData, length: Math.min(mss, available), kind: "new", rule: 2 }
    if (hole < highest) return { seq: seqAdd(una, hole), length, kind: "retransmit", rule: 3 }
    if (rescue === undefined) return undefined
    const rescueRxt = rescue.rescueRxt
    // RFC 6675 §4 (4): HighACK > RescueRxt, i.e. (una − 1) > (rescueRxt − 1).
    if (rescueRxt !== undefined && !(isSeq(rescueRxt) && seqGt(una, rescueRxt))) return undefined
    return this.rescueSegment(una, win, mss)
  }

  /** Removes what the cumulative ACK now covers (RFC 6675 §4 Update(): "cumulatively ACKed"). */
  private trim(una: number): void {
    let drop = 0
    while (drop < this.ranges.length) {
      const range = this.ranges[drop]
      if (range === undefined || !seqLe(range.right, una)) break
      this.total -= seqDiff(range.right, range.left)
      drop += 1
    }
    if (drop > 0) this.ranges.splice(0, drop)
    const first = this.ranges[0]
    if (first !== undefined && seqLt(first.left, una)) {
      this.total -= seqDiff(una, first.left)
      this.ranges[0] = { left: una, right: first.right }
    }
    if (this.lostBelow !== undefined && seqGe(una, this.lostBelow)) this.lostBelow = undefined
  }

  /** Merges `[left, right)` into the ranges; returns the octets it newly covers. */
  private insert(left: number, right: number): number {
    const ranges = this.ranges
    let i = 0
    while (i < ranges.length && seqLt((ranges[i] as SackRange).right, left)) i += 1
    let added = seqDiff(right, left)
    let mergedLeft = left
    let mergedRight = right
    let j = i
    for (; j < ranges.length; j++) {
      const range = ranges[j] as SackRange
      if (seqGt(range.left, right)) break
      const overlap = seqDiff(seqMin(range.right, right), seqMax(range.left, left))
      if (overlap > 0) added -= overlap
      mergedLeft = seqMin(mergedLeft, range.left)
      mergedRight = seqMax(mergedRight, range.right)
    }
    ranges.splice(i, j - i, { left: mergedLeft, right: mergedRight })
    this.total += added
    return added
  }

  /**
   * The offset from `una` below which every unSACKed octet IsLost(), and at
   * or above which none is (0 when none is): IsLost() only grows as the
   * sequence number falls, and between two SACKed ranges it is constant, so
   * one walk down the ranges finds the highest hole that is lost. Includes
   * `markAllLost`'s mark. (Inside a SACKed range the boundary could sit
   * lower, but SetPipe() and NextSeg() only ask about unSACKed octets.)
   */
  private lossBoundary(una: number, win: number, mss: number, d: number): number {
    const marked = this.lostBelow === undefined ? 0 : clipOffset(this.lostBelow, una, win)
    let bytesAbove = 0
    let sequencesAbove = 0
    for (let i = this.ranges.length - 1; i >= 0; i--) {
      const range = this.ranges[i] as SackRange
      const lo = clipOffset(range.left, una, win)
      const hi = clipOffset(range.right, una, win)
      if (lo >= hi) continue
      bytesAbove += hi - lo
      sequencesAbove += Math.ceil((hi - lo) / mss)
      // The hole just below this range has every range from here up above it.
      if (sequencesAbove >= d || bytesAbove > (d - 1) * mss) return Math.max(marked, lo)
    }
    return marked
  }

  /** UnSACKed octets between offsets `from` and `to` of the window. */
  private unsacked(una: number, win: number, from: number, to: number): number {
    if (to <= from) return 0
    let sacked = 0
    for (const range of this.ranges) {
      const lo = Math.max(from, clipOffset(range.left, una, win))
      const hi = Math.min(to, clipOffset(range.right, una, win))
      if (hi > lo) sacked += hi - lo
    }
    return to - from - sacked
  }

  /** NextSeg() rule (4): up to SMSS octets ending at the highest unSACKed outstanding octet. */
  private rescueSegment(una: number, win: number, mss: number): NextSegment | undefined {
    let top = win
    let bottom = 0
    for (let i = this.ranges.length - 1; i >= 0; i--) {
      const range = this.ranges[i] as SackRange
      const lo = clipOffset(range.left, una, win)
      const hi = clipOffset(range.right, una, win)
      if (lo >= hi) continue
      if (hi >= top) {
        top = lo
        continue
      }
      bottom = hi
      break
    }
    if (top <= 0) return undefined
    const start = Math.max(bottom, top - mss)
    return { seq: seqAdd(una, start), length: top - start, kind: "rescue", rule: 4 }
  }
}

/**
 * RFC 2883 §4: the first block is a D-SACK when it covers data below the
 * cumulative ACK, or lies within the second block (Linux `tcp_check_dsack`:
 * its left edge below the ACK, or contained in the second block).
 */
export const isDsack = (una: number, blocks: ReadonlyArray<SackBlock>): boolean => {
  const first = blocks[0]
  if (first === undefined || !isSeq(first.left) || !isSeq(first.right) || !seqLt(first.left, first.right)) return false
  if (seqLt(first.left, una)) return true
  const second = blocks[1]
  if (second === undefined || !isSeq(second.left) || !isSeq(second.right)) return false
  return seqLe(second.left, first.left) && seqLe(first.right, second.right)
}

/** Why `block` cannot be recorded in the window `[una, una + win)`, or undefined when it can. */
export const rejectBlock = (block: SackBlock, una: number, win: number): SackBlockRejection | undefined => {
  if (!isSeq(block.left) || !isSeq(block.right)) return "malformed"
  if (block.left === block.right) return "empty"
  if (seqLt(block.right, block.left)) return "inverted"
  if (seqLe(block.right, una)) return "belowUna"
  if (seqLt(block.left, una)) return "straddlesUna"
  if (seqDiff(block.right, una) > win) return "beyondHighData"
  return undefined
}

/** Octets in `after` not in `before` (both sorted, disjoint ranges). */
const newOctets = (before: ReadonlyArray<SackRange>, after: ReadonlyArray<SackRange>): number => {
  let count = 0
  for (const range of after) {
    let octets = seqDiff(range.right, range.left)
    for (const old of before) {
      const overlap = seqDiff(seqMin(old.right, range.right), seqMax(old.left, range.left))
      if (overlap > 0) octets -= overlap
    }
    count += octets
  }
  return count
}
