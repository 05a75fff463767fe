/** Link and network addresses: hot-path forms, canonical text, and their Schemas. */
export {
  BROADCAST_MAC,
  isMulticastMac,
  MacAddress,
  macFromString,
  macToNumber,
  macToString,
  readMac,
  writeMac
} from "./mac.ts"
export { Ipv4Address, ipv4FromString, ipv4ToNumber, ipv4ToString } from "./ipv4.ts"
export { Ipv6Address, ipv6Equals, ipv6FromString, ipv6ToBytes, ipv6ToString } from "./ipv6.ts"
