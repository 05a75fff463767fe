/**
 * The media a simulated NIC sits on: a wire joining two ports (a veth pair),
 * a hub joining more, both impairable like netem, and a loopback.
 */
export { type MediumCounters, sumCounters, unaccounted, ZERO_COUNTERS } from "./counters.ts"
export { Hub, type HubLinks, type HubOptions } from "./hub.ts"
export {
  DEFAULT_QUEUE_LIMIT,
  type Impairments,
  ImpairmentsSchema,
  NO_IMPAIRMENTS,
  InvalidImpairments,
  validateImpairments
} from "./impairments.ts"
export { type Loopback, loopback } from "./loopback.ts"
export * from "./port.ts"
export { Wire, type WireDirection, type WireOptions } from "./wire.ts"
