/** Ethernet II: Schema, codec, view, emitter. */
export { EthernetHeaderFromBytes } from "./codec.ts"
export { EthernetDefect } from "./defects.ts"
export { emitEthernet, type EthernetFields, ethernetFields } from "./emit.ts"
export { ETHERNET_HEADER_LENGTH, EthernetHeader, ETHERTYPE_MINIMUM, etherTypeName, EtherTypes } from "./schema.ts"
export { EthernetView } from "./view.ts"
