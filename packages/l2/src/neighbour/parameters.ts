/**
 * The tunables of the neighbour table: Linux's `neigh_parms` of `arp_tbl`
 * (`/proc/sys/net/ipv4/neigh/default/*`) and the table-wide GC thresholds
 * (`net/core/neighbour.c`, `net/ipv4/arp.c` `arp_tbl`). Names are the sysctl
 * names; times are in microseconds (the unit of `TimerQueue`).
 */

/** Neighbour table parameters. */
export interface NeighbourParameters {
  /** Base of the reachable time (µs): each reachable time is uniform in [0.5, 1.5) × base (`neigh_rand_reach_time`). */
  readonly base_reachable_time: number
  /** How long a DELAY entry waits for an upper-layer confirmation before probing (µs). */
  readonly delay_first_probe_time: number
  /** Time between retransmitted requests (µs), at least 10 ms (`HZ/100`). */
  readonly retrans_time: number
  /** Broadcast requests sent while INCOMPLETE before giving up. */
  readonly mcast_solicit: number
  /** Unicast probes sent in PROBE before giving up. */
  readonly ucast_solicit: number
  /** Broadcast probes sent in PROBE after the unicast ones (`mcast_resolicit`). */
  readonly mcast_resolicit: number
  /** An unused STALE entry older than this may be collected (µs). */
  readonly gc_stale_time: number
  /** Below this many entries the periodic GC does nothing. */
  readonly gc_thresh1: number
  /** Above this many entries creating one runs the forced GC (at most every 5 s). */
  readonly gc_thresh2: number
  /** The table's hard limit: at this many entries a new one is created only if the forced GC frees one. */
  readonly gc_thresh3: number
  /** Packets queued on an unresolved entry; beyond it the oldest is dropped (`unres_qlen`). */
  readonly unres_qlen: number
  /** Within this time of an update, a different address from an ARP packet does not override the entry (µs; "use the FIRST reply"). */
  readonly locktime: number
}

/** Linux's defaults for ARP (`arp_tbl` in `net/ipv4/arp.c`). */
export const DEFAULT_NEIGHBOUR_PARAMETERS: NeighbourParameters = {
  base_reachable_time: 30_000_000,
  delay_first_probe_time: 5_000_000,
  retrans_time: 1_000_000,
  mcast_solicit: 3,
  ucast_solicit: 3,
  mcast_resolicit: 0,
  gc_stale_time: 60_000_000,
  gc_thresh1: 128,
  gc_thresh2: 512,
  gc_thresh3: 1024,
  unres_qlen: 101,
  locktime: 1_000_000
}

/** The defaults overridden by `overrides`; a value that is not a finite number ≥ 0 keeps its default (counts are floored). */
export const resolveNeighbourParameters = (overrides: Partial<NeighbourParameters> = {}): NeighbourParameters => {
  const pick = (key: keyof NeighbourParameters, integer: boolean): number => {
    const value = overrides[key]
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) return DEFAULT_NEIGHBOUR_PARAMETERS[key]
    return integer ? Math.floor(value) : value
  }
  return {
    base_reachable_time: pick("base_reachable_time", false),
    delay_first_probe_time: pick("delay_first_probe_time", false),
    retrans_time: pick("retrans_time", false),
    mcast_solicit: pick("mcast_solicit", true),
    ucast_solicit: pick("ucast_solicit", true),
    mcast_resolicit: pick("mcast_resolicit", true),
    gc_stale_time: pick("gc_stale_time", false),
    gc_thresh1: pick("gc_thresh1", true),
    gc_thresh2: pick("gc_thresh2", true),
    gc_thresh3: pick("gc_thresh3", true),
    unres_qlen: pick("unres_qlen", true),
    locktime: pick("locktime", false)
  }
}
