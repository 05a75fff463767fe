/** ICMPv6 (RFC 4443) with Neighbor Discovery (RFC 4861): Schema, codec, view, emitter. */
export { Icmpv6MessageFromBytes } from "./codec.ts"
export { Icmpv6Defect } from "./defects.ts"
export { emitIcmpv6, type Icmpv6Fields, icmpv6Fields, type NdpOptionFields, ndpOptionFields } from "./emit.ts"
export {
  ICMPV6_HEADER_LENGTH,
  Icmpv6DestinationUnreachable,
  Icmpv6EchoReply,
  Icmpv6EchoRequest,
  Icmpv6Message,
  icmpv6MessageLength,
  Icmpv6NeighborAdvertisement,
  Icmpv6NeighborSolicitation,
  Icmpv6PacketTooBig,
  Icmpv6ParameterProblem,
  Icmpv6Redirect,
  Icmpv6RouterAdvertisement,
  Icmpv6RouterSolicitation,
  Icmpv6TimeExceeded,
  icmpv6Type,
  Icmpv6Types,
  Icmpv6Unknown,
  isKnownNdpOptionForm,
  NdpMtu,
  NdpOption,
  ndpOptionLength,
  NdpOptionTypes,
  ndpOptionsStart,
  NdpPrefixInformation,
  NdpRedirectedHeader,
  NdpSourceLinkLayerAddress,
  NdpTargetLinkLayerAddress,
  NdpUnknownOption
} from "./schema.ts"
export { Icmpv6View } from "./view.ts"
