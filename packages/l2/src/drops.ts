/**
 * Drop counters by named reason (the kernel's `SKB_DROP_REASON_*`, named
 * after the defect or check that refused the packet, e.g. `ipv4.bad-checksum`
 * or `l2.otherhost`). Every layer counts what it drops here.
 */

/** Counts of dropped packets by reason. */
export class DropCounters {
  private readonly counts = new Map<string, number>()

  /** Counts one drop for `reason`. */
  count(reason: string): void {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1)
  }

  /** Drops counted for `reason`. */
  get(reason: string): number {
    return this.counts.get(reason) ?? 0
  }

  /** Every reason and its count, sorted by reason. */
  snapshot(): Readonly<Record<string, number>> {
    return Object.fromEntries([...this.counts.entries()].sort(([a], [b]) => a.localeCompare(b)))
  }

  /** All drops, whatever the reason. */
  get total(): number {
    let n = 0
    for (const v of this.counts.values()) n += v
    return n
  }
}
