/**
 * Neighbour table counters, with the names of Linux's
 * `/proc/net/stat/arp_cache` (`struct neigh_statistics`).
 */

/** The counters of one neighbour table. */
export class NeighbourStats {
  /** Entries created (`neigh_alloc`). */
  allocs = 0
  /** Entries removed (`neigh_destroy`). */
  destroys = 0
  /** Table lookups (here: by `output`, `receive` and the admin calls). */
  lookups = 0
  /** Lookups that found an entry. */
  hits = 0
  /** Resolutions that failed (`neigh_invalidate`). */
  res_failed = 0
  /** ARP requests for our addresses received by broadcast. */
  rcv_probes_mcast = 0
  /** ARP requests for our addresses received by unicast (a neighbour's PROBE). */
  rcv_probes_ucast = 0
  /** Duplicate-address probes (sender address 0, RFC 5227 §2.1.1) for our addresses (not a Linux counter). */
  rcv_dad_probes = 0
  /** Runs of the periodic GC (`neigh_periodic_work`). */
  periodic_gc_runs = 0
  /** Runs of the forced GC (`neigh_forced_gc`). */
  forced_gc_runs = 0
  /** Packets dropped from a full queue of an unresolved entry. */
  unres_discards = 0
  /** Entries that could not be created: the table was at `gc_thresh3` and GC freed nothing. */
  table_fulls = 0
}

/** The counters as name → value, with `entries` (the table's size) first, as `/proc/net/stat/arp_cache` lists them. */
export const neighbourCountersOf = (stats: NeighbourStats, entries: number): Readonly<Record<string, number>> => ({
  entries,
  ...stats
})
