/**
 * Neighbour Unreachability Detection states (Linux `NUD_*`,
 * `include/uapi/linux/neighbour.h`; the model is RFC 4861 §7.3.2's, which
 * Linux applies to ARP too):
 *
 * - `NONE`: just created, nothing known.
 * - `INCOMPLETE`: broadcast requests are out; packets wait on the entry.
 * - `REACHABLE`: confirmed within the reachable time.
 * - `STALE`: the address is known but unconfirmed; the next packet moves it to DELAY.
 * - `DELAY`: sent to while STALE; waits `delay_first_probe_time` for an upper-layer confirmation.
 * - `PROBE`: unicast requests to the known address.
 * - `FAILED`: resolution failed; the next packet starts a new one.
 * - `PERMANENT`: configured (`ip neigh add … nud permanent`); never changes by itself.
 */

/** A neighbour entry's state. */
export type NeighbourState = "NONE" | "INCOMPLETE" | "REACHABLE" | "STALE" | "DELAY" | "PROBE" | "FAILED" | "PERMANENT"

/** `NUD_VALID`: the link-layer address is usable. */
export const isValidState = (state: NeighbourState): boolean =>
  state === "REACHABLE" || state === "STALE" || state === "DELAY" || state === "PROBE" || state === "PERMANENT"

/** `NUD_CONNECTED`: usable without any check. */
export const isConnectedState = (state: NeighbourState): boolean => state === "REACHABLE" || state === "PERMANENT"

/** `NUD_IN_TIMER`: the entry's timer runs in this state. */
export const isTimerState = (state: NeighbourState): boolean =>
  state === "INCOMPLETE" || state === "REACHABLE" || state === "DELAY" || state === "PROBE"
