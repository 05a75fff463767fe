/** Snapshots of neighbour entries and their `ip neigh show` text. */
import { ipv4ToString, macToString } from "@netstack/wire"
import type { NeighbourState } from "./state.ts"

/** One entry of the table, as `ip neigh show` reports it. */
export interface NeighbourEntry {
  /** Interface name. */
  readonly device: string
  /** Interface index. */
  readonly ifindex: number
  /** The neighbour's IPv4 address (u32). */
  readonly address: number
  /** Its link-layer address while it is usable (`NUD_VALID`), otherwise `undefined`. */
  readonly mac: number | undefined
  /** NUD state. */
  readonly state: NeighbourState
  /** Packets waiting for resolution. */
  readonly queued: number
  /** Linux's probe counter: requests sent in this PROBE round; while INCOMPLETE it starts at `ucast_solicit` (6 after 3 requests). */
  readonly probes: number
  /** Last time a packet was sent to it (µs). */
  readonly usedMicros: number
  /** Last time its reachability was confirmed (µs). */
  readonly confirmedMicros: number
  /** Last time its state or address changed (µs). */
  readonly updatedMicros: number
}

/**
 * iproute2's line for an entry: `10.0.0.2 dev eth0 lladdr 02:00:00:00:00:02
 * REACHABLE`. With `now` (µs), `ip -s neigh` style: `used A/B/C probes N`
 * before the state, where A, B, C are the seconds since the entry was used,
 * confirmed and updated.
 */
export const formatNeighbour = (entry: NeighbourEntry, now?: number): string => {
  const lladdr = entry.mac === undefined ? "" : ` lladdr ${macToString(entry.mac)}`
  const seconds = (at: number): number => (now === undefined ? 0 : Math.max(0, Math.floor((now - at) / 1_000_000)))
  const stats = now === undefined
    ? ""
    : ` used ${seconds(entry.usedMicros)}/${seconds(entry.confirmedMicros)}/${seconds(entry.updatedMicros)} probes ${entry.probes}`
  return `${ipv4ToString(entry.address)} dev ${entry.device}${lladdr}${stats} ${entry.state}`
}
