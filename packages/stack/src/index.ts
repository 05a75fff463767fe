/**
 * @netstack/stack: hosts (network namespaces) and the networks joining them,
 * composed from the device, driver, link and network layers.
 */
export { Host, type HostOptions, InvalidSpecification, parseCidr } from "./host.ts"
export { type JoinError, type Link, type LinkOptions, Network } from "./network.ts"
