/**
 * @netstack/wire/testing: fast-check arbitraries of addresses, valid headers
 * and malformed bytes, for property tests in this and higher packages.
 */
export { ipv4Address, ipv6Address, ipv6AddressBytes, macAddress } from "./addresses.ts"
export { ethernetFrame } from "./frames.ts"
export { ethernetHeader, port, udpDatagram } from "./headers.ts"
export * from "./ipv4.ts"
export * from "./ipv6.ts"
export * from "./l2.ts"
export { mutated } from "./mutations.ts"
export * from "./tcp.ts"
