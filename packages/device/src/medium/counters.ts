/**
 * Counters of one direction of a medium. Every frame handed to `send` ends up
 * in exactly one terminal counter or is still in flight, so at any moment
 *
 *   sent + duplicated = delivered + lost + rateDropped + partitionDropped + unattachedDropped + inFlight
 *
 * (`corrupted` and `reordered` mark frames that are also counted elsewhere).
 */

/** A snapshot of one direction's counters. */
export interface MediumCounters {
  /** Frames handed to `send`. */
  readonly sent: number
  /** Frames handed to the peer's receiver. */
  readonly delivered: number
  /** Frames dropped by random loss. */
  readonly lost: number
  /** Extra copies made by duplication. */
  readonly duplicated: number
  /** Copies that had a bit flipped (also counted where they ended up). */
  readonly corrupted: number
  /** Copies held back to be overtaken (also counted where they ended up). */
  readonly reordered: number
  /** Copies dropped because the rate limiter's queue was full. */
  readonly rateDropped: number
  /** Copies dropped by a partition (at send, or when due while partitioned). */
  readonly partitionDropped: number
  /** Copies that arrived while the peer had no receiver attached. */
  readonly unattachedDropped: number
  /** Copies scheduled but not yet due. */
  readonly inFlight: number
}

/** All counters zero. */
export const ZERO_COUNTERS: MediumCounters = {
  sent: 0,
  delivered: 0,
  lost: 0,
  duplicated: 0,
  corrupted: 0,
  reordered: 0,
  rateDropped: 0,
  partitionDropped: 0,
  unattachedDropped: 0,
  inFlight: 0
}

/** The mutable counters a medium updates on its per-frame path. */
export class Counters implements MediumCounters {
  sent = 0
  delivered = 0
  lost = 0
  duplicated = 0
  corrupted = 0
  reordered = 0
  rateDropped = 0
  partitionDropped = 0
  unattachedDropped = 0
  inFlight = 0

  /** A copy of the current values. */
  snapshot(): MediumCounters {
    return {
      sent: this.sent,
      delivered: this.delivered,
      lost: this.lost,
      duplicated: this.duplicated,
      corrupted: this.corrupted,
      reordered: this.reordered,
      rateDropped: this.rateDropped,
      partitionDropped: this.partitionDropped,
      unattachedDropped: this.unattachedDropped,
      inFlight: this.inFlight
    }
  }
}

/** Field-wise sum of counters (e.g. all links of a hub). */
export const sumCounters = (all: Iterable<MediumCounters>): MediumCounters => {
  let s = ZERO_COUNTERS
  for (const c of all) {
    s = {
      sent: s.sent + c.sent,
      delivered: s.delivered + c.delivered,
      lost: s.lost + c.lost,
      duplicated: s.duplicated + c.duplicated,
      corrupted: s.corrupted + c.corrupted,
      reordered: s.reordered + c.reordered,
      rateDropped: s.rateDropped + c.rateDropped,
      partitionDropped: s.partitionDropped + c.partitionDropped,
      unattachedDropped: s.unattachedDropped + c.unattachedDropped,
      inFlight: s.inFlight + c.inFlight
    }
  }
  return s
}

/** Frames unaccounted for: `sent + duplicated - (every terminal counter + inFlight)`; always 0 for a correct medium. */
export const unaccounted = (c: MediumCounters): number =>
  c.sent + c.duplicated -
  (c.delivered + c.lost + c.rateDropped + c.partitionDropped + c.unattachedDropped + c.inFlight)
