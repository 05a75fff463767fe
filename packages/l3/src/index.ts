/**
 * @netstack/l3: IPv4 for a host: receive validation and dispatch by protocol,
 * routing (FIB), forwarding, output with fragmentation, reassembly, the
 * path-MTU cache, ICMP with rate limiting, and filter hooks.
 */
export { type EchoEvent, Icmp } from "./icmp/icmp.ts"
export { type EchoReply, ping, PingError, type PingOptions } from "./icmp/ping.ts"
export { AddressTable, type InterfaceAddress, InvalidAddress, maskOf } from "./ipv4/addresses.ts"
export {
  IcmpErrors,
  type IcmpErrorSender,
  Ipv4,
  type Ipv4Dependencies,
  IPV4_HEADROOM,
  type RawDelivery,
  type ReceivedDatagram,
  SendError,
  type SendOptions,
  type TransportError,
  type TransportHandler
} from "./ipv4/ipv4.ts"
export { countersOf, IcmpStats, IpStats } from "./ipv4/stats.ts"
export * from "./fragment/index.ts"
export * from "./pmtu/index.ts"
export * from "./icmp-limit/index.ts"
export * from "./route/index.ts"
export * from "./filter/index.ts"
