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
/** The transport types a `Host`'s `connect`, `listen` and `udp` hand out (from `@netstack/l4`). */
export type { TcpConnection, TcpError, TcpInfo, TcpListener, UdpSocket } from "@netstack/l4"
/** The net channels a `Host` runs (`host.channels`), from `@netstack/channels`. */
export type { NetChannelCounters, NetChannels, NetChannelsOptions, NetChannelStats, SlowPathReason } from "@netstack/channels"
