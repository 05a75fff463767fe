/**
 * @netstack/l4: UDP and TCP, socket lookup tables.
 *
 * - UDP (RFC 768, RFC 1122 §4.1): `Udp.attach(ipv4, …)`, `udp.bind(…)` sockets, `UdpStats` (/proc/net/snmp `Udp:`).
 * - Local ports: `PortTable` (bind conflicts), `EphemeralPorts` (RFC 6056 Algorithm 4), the keyed hash.
 */
export * from "./ports/index.ts"
export * from "./udp/index.ts"
export * from "./tcp/index.ts"
