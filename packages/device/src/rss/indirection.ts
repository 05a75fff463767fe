/**
 * The RSS indirection table: maps the low bits of a hash to a receive queue
 * (Microsoft, "RSS Configuration": the NIC indexes the table with the least
 * significant bits of the hash value, e.g. 6 bits for 64 entries; NDIS
 * allows up to 128 entries, `NDIS_RSS_INDIRECTION_TABLE_MAX_SIZE_REVISION_1`;
 * Intel's 82599 has 128, later NICs up to 2048). Filled round-robin by
 * default, as Linux's `ethtool -X <dev> equal N`; rebalanced by writing new
 * entries (`OID_GEN_RECEIVE_SCALE_PARAMETERS`, `ethtool -X`).
 */

/** The usual table size: 128 entries, 7 bits of the hash (NDIS's maximum, Intel 82599's RETA). */
export const DEFAULT_INDIRECTION_TABLE_SIZE = 128

/** The largest table accepted: 65536 entries, 16 bits of the hash. */
export const MAX_INDIRECTION_TABLE_SIZE = 65536

/** The largest number of queues a table may point at (entries are 16-bit). */
export const MAX_RSS_QUEUES = 65536

/** True for an integer in `[min, max]`. */
const isIntIn = (n: number, min: number, max: number): boolean => Number.isInteger(n) && n >= min && n <= max

/** True for a power of two in `[1, MAX_INDIRECTION_TABLE_SIZE]`. */
const isTableSize = (n: number): boolean => isIntIn(n, 1, MAX_INDIRECTION_TABLE_SIZE) && (n & (n - 1)) === 0

/** An indirection table of a power-of-two size over `queues` receive queues. */
export class IndirectionTable {
  /** Number of entries, a power of two. */
  readonly size: number
  /** Number of receive queues; every entry is below it. */
  readonly queues: number
  private readonly mask: number
  private readonly entries: Uint16Array

  private constructor(size: number, queues: number) {
    this.size = size
    this.queues = queues
    this.mask = size - 1
    this.entries = new Uint16Array(size)
    this.fill(queues)
  }

  /**
   * A table of `size` entries (a power of two up to `MAX_INDIRECTION_TABLE_SIZE`,
   * default 128) over `queues` queues (1 to `MAX_RSS_QUEUES`), filled
   * round-robin over all of them: entry `i` is `i mod queues`. `undefined` for
   * a size or queue count out of range.
   */
  static make(queues: number, size = DEFAULT_INDIRECTION_TABLE_SIZE): IndirectionTable | undefined {
    if (!isTableSize(size) || !isIntIn(queues, 1, MAX_RSS_QUEUES)) return undefined
    return new IndirectionTable(size, queues)
  }

  /** Entry `i mod n` for every `i`: the round-robin fill. */
  private fill(n: number): void {
    for (let i = 0; i < this.size; i++) this.entries[i] = i % n
  }

  /**
   * The queue for `hash`: the entry its low `log2(size)` bits index, as NICs
   * do. `undefined` (no hash: not IP, or the type is not enabled) gives
   * queue 0, Microsoft's "Non-RSS Receive Processing" and what Linux
   * drivers do.
   */
  queueFor(hash: number | undefined): number {
    return hash === undefined ? 0 : this.entries[hash & this.mask]
  }

  /** The queue at entry `index`, or `undefined` for an index out of range. */
  entry(index: number): number | undefined {
    return isIntIn(index, 0, this.size - 1) ? this.entries[index] : undefined
  }

  /**
   * Replaces every entry: `entries` must hold exactly `size` queue numbers,
   * each an integer below `queues`. Returns false, changing nothing,
   * otherwise.
   */
  set(entries: ArrayLike<number>): boolean {
    if (entries.length !== this.size) return false
    for (let i = 0; i < entries.length; i++) if (!isIntIn(entries[i], 0, this.queues - 1)) return false
    for (let i = 0; i < entries.length; i++) this.entries[i] = entries[i]
    return true
  }

  /**
   * Refills round-robin over the first `n` queues (`ethtool -X <dev> equal n`).
   * Returns false, changing nothing, unless `1 ≤ n ≤ queues`.
   */
  equal(n: number): boolean {
    if (!isIntIn(n, 1, this.queues)) return false
    this.fill(n)
    return true
  }

  /** A copy of the entries (allocates; off the hot path). */
  toArray(): Array<number> {
    return Array.from(this.entries)
  }
}
