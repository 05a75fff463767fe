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
export {
  captureCopy,
  CHECKSUM_OFFLOAD_SUPPORT,
  completeChecksum,
  DATA_VALID,
  DATA_VALID_OFFLOAD,
  type FrameGsoType,
  type FrameOffload,
  FULL_OFFLOAD_SUPPORT,
  NEEDS_CSUM,
  needsChecksum,
  NO_OFFLOAD_SUPPORT,
  type OffloadSupport,
  partialChecksum
} from "./offload.ts"
export * from "./port.ts"
export { Wire, type WireDirection, type WireOptions } from "./wire.ts"
