/**
 * TCP (RFC 9293 and the RFCs around it): a host's `Tcp` module, the
 * connection API (`connect`, `listen`, `TcpConnection`, `TcpListener`), its
 * settings, errors and counters, and congestion control chosen by Layer.
 */
export { connect, listen, TcpConnection, type TcpInfo, TcpListener } from "./api.ts"
export * from "./congestion/index.ts"
export { DEFAULT_TCP_SETTINGS, TcpError, type TcpSettings } from "./settings.ts"
export { tcpCounters, TcpStats } from "./stats.ts"
export type { TcpState } from "./tcb.ts"
export { type ConnectOptions, type ListenOptions, Tcp, type TcpOptions } from "./tcp.ts"
export { type ConnectionChannel, isReceiving, type Tcb } from "./tcb.ts"
export {
  awaitAsChannelConsumer,
  type ChannelConsumerKind,
  ChannelWaiter,
  type ChannelWaiterKind,
  ChannelWaiters,
  drainChannel
} from "./channel-waiters.ts"
export type { TcpChannelHooks } from "./tcp.ts"
export { fourTupleHash } from "./lookup.ts"
