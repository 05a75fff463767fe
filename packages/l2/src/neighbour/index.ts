/** ARP and the neighbour subsystem (Linux `net/core/neighbour.c`, `net/ipv4/arp.c`) for IPv4 over Ethernet. */
export { type ArpFrameFields, buildArpFrame, ipv4MulticastMac } from "./arp.ts"
export { formatNeighbour, type NeighbourEntry } from "./format.ts"
export { DEFAULT_NEIGHBOUR_PARAMETERS, type NeighbourParameters } from "./parameters.ts"
export type { NeighbourState } from "./state.ts"
export { NeighbourStats } from "./stats.ts"
export { type AddressBook, type NeighbourOptions, type NeighbourOutputKind, NeighbourTable } from "./table.ts"
