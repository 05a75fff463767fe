/** UDP (RFC 768, RFC 1122 §4.1): the protocol module attached to IPv4, its sockets, errors and counters. */
export { fromSendError, UdpError, type UdpErrorReason } from "./errors.ts"
export { isMulticast, LIMITED_BROADCAST, type OutputRoute, routeOutput } from "./output-route.ts"
export { DATAGRAM_OVERHEAD, DEFAULT_RECEIVE_BUFFER, ReceiveQueue, type UdpDatagram } from "./receive-queue.ts"
export { type PmtuDiscovery, type UdpEndpoint, UdpSocket } from "./socket.ts"
export { udpCountersOf, UdpStats } from "./stats.ts"
export { MAX_UDP_PAYLOAD, Udp, type UdpBindOptions, type UdpOptions, UDP_PROTOCOL } from "./udp.ts"
