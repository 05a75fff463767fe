/**
 * @netstack/wire: the wire formats. For each header: an Effect Schema of its
 * typed representation (with a tcpdump-like formatter), a Schema codec from
 * bytes, a checked zero-copy view over a `PacketBuffer` for the hot path, and
 * an emitter that pushes the header into headroom. Also pcap and pcapng files.
 */
export * from "./addresses/index.ts"
export { fromHex, readU16, readU32, toHex, writeU16, writeU32 } from "./bytes.ts"
export { type BytesCodec, fromBytes } from "./codec.ts"
export { type HeaderDefect, headerDefects, isHeaderDefect, MalformedHeader } from "./defect.ts"
export { EtherType, Port, Uint16, Uint32, Uint8, UintBits } from "./fields.ts"
export { fillTransportChecksum, noChecksum, type TransportChecksum } from "./transport-checksum.ts"
// link layer
export * from "./ethernet/index.ts"
export * from "./vlan/index.ts"
export * from "./arp/index.ts"
// network layer
export * from "./ipv4/index.ts"
export * from "./icmpv4/index.ts"
export * from "./ipv6/index.ts"
export * from "./icmpv6/index.ts"
// transport layer
export * from "./udp/index.ts"
export * from "./tcp/index.ts"
// capture files
export * from "./pcap/index.ts"
// whole frames
export * from "./decode/index.ts"
