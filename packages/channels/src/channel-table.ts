/**
 * The classifier's table of channels by 4-tuple, read without locks (as
 * OSv's classifier reads its RCU hash table): every change builds a new
 * `Map` and swaps it in whole (copy-on-write), so a lookup always sees
 * either the table before a change or the table after it, never one half
 * updated. Changes (a connection established or gone) are rare beside
 * lookups (every received packet).
 *
 * The key is the established table's keyed 4-tuple hash (`fourTupleHash`,
 * Linux `inet_ehashfn`) under this table's own secret; each chain is
 * compared on the whole 4-tuple.
 */
import { fourTupleHash } from "@netstack/l4"

/** A 4-tuple from this host's side. */
export interface FlowKey {
  readonly localAddress: number
  readonly localPort: number
  readonly remoteAddress: number
  readonly remotePort: number
}

const sameFlow = (k: FlowKey, la: number, lp: number, ra: number, rp: number): boolean =>
  k.localAddress === la && k.localPort === lp && k.remoteAddress === ra && k.remotePort === rp

/** Entries by 4-tuple, replaced copy-on-write. Addresses are unsigned 32-bit numbers, ports 16-bit. */
export class ChannelTable<C extends FlowKey> {
  private table: ReadonlyMap<number, ReadonlyArray<C>> = new Map()
  private count = 0
  private readonly random: () => number
  /** The hash secret, drawn at the first `add` (a host that never opens a channel draws nothing from its random source). */
  private seed = 0
  private seeded = false

  /** An empty table whose hash secret comes from `random` (uniform in [0, 1)). */
  constructor(random: () => number) {
    this.random = random
  }

  /** Entries held. */
  get size(): number {
    return this.count
  }

  /** The entry of a 4-tuple (allocates nothing). */
  lookup(localAddress: number, localPort: number, remoteAddress: number, remotePort: number): C | undefined {
    if (this.count === 0) return undefined
    const chain = this.table.get(fourTupleHash(localAddress, localPort, remoteAddress, remotePort, this.seed))
    if (chain === undefined) return undefined
    for (let i = 0; i < chain.length; i++) {
      const entry = chain[i]
      if (sameFlow(entry, localAddress, localPort, remoteAddress, remotePort)) return entry
    }
    return undefined
  }

  /** Adds `entry` under its 4-tuple (a new table is swapped in); false if the 4-tuple has an entry. */
  add(entry: C): boolean {
    if (this.lookup(entry.localAddress, entry.localPort, entry.remoteAddress, entry.remotePort) !== undefined) return false
    if (!this.seeded) {
      this.seed = Math.floor(this.random() * 4294967296) | 0
      this.seeded = true
    }
    const key = this.keyOf(entry)
    const next = new Map(this.table)
    next.set(key, [...(this.table.get(key) ?? []), entry])
    this.table = next
    this.count++
    return true
  }

  /** Removes `entry` (that very entry; a new table is swapped in); whether it was there. */
  remove(entry: C): boolean {
    const key = this.keyOf(entry)
    const chain = this.table.get(key)
    if (chain === undefined || !chain.includes(entry)) return false
    const next = new Map(this.table)
    const rest = chain.filter((e) => e !== entry)
    if (rest.length === 0) next.delete(key)
    else next.set(key, rest)
    this.table = next
    this.count--
    return true
  }

  /** Every entry (a snapshot: the table may change while the caller walks it). */
  entries(): ReadonlyArray<C> {
    return [...this.table.values()].flat()
  }

  private keyOf(entry: FlowKey): number {
    return fourTupleHash(entry.localAddress, entry.localPort, entry.remoteAddress, entry.remotePort, this.seed)
  }
}
