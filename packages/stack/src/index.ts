/**
 * @netstack/stack: hosts (network namespaces) and the networks joining them,
 * composed from the device, driver, link and network layers.
 */
export {
  CurrentHost,
  Host,
  type HostLayerOptions,
  type HostOptions,
  type HostSetupError,
  type InterfaceSpecification,
  InvalidSpecification,
  parseCidr,
  type RouteSpecification
} from "./host.ts"
export { advanceClock, whileClockAdvances } from "./simulation.ts"
export { type BridgeLan, type BridgeLanOptions, type JoinError, type Link, type LinkOptions, Network } from "./network.ts"
