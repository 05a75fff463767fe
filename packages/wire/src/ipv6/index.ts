/** IPv6 (RFC 8200) with its extension-header chain: Schema, codec, view, emitter. */
export { Ipv6HeaderFromBytes } from "./codec.ts"
export { Ipv6Defect } from "./defects.ts"
export { emitIpv6, type Ipv6ExtensionFields, type Ipv6Fields, ipv6Fields } from "./emit.ts"
export {
  IPV6_FRAGMENT_HEADER_LENGTH,
  IPV6_HEADER_LENGTH,
  IPV6_MAX_EXTENSION_HEADERS,
  IPV6_MAX_PAYLOAD_LENGTH,
  Ipv6DestinationOptionsHeader,
  Ipv6ExtensionHeader,
  ipv6ExtensionHeaderLength,
  ipv6ExtensionHeaderNumber,
  Ipv6FragmentHeader,
  Ipv6Header,
  ipv6HeaderLength,
  Ipv6HopByHopHeader,
  Ipv6JumboPayloadOption,
  Ipv6NextHeaders,
  Ipv6Option,
  type Ipv6OptionAction,
  ipv6OptionAction,
  ipv6OptionLength,
  ipv6OptionMayChange,
  Ipv6OptionTypes,
  Ipv6Pad1Option,
  Ipv6PadNOption,
  ipv6ProtocolName,
  Ipv6RouterAlertOption,
  Ipv6RoutingHeader,
  Ipv6UnknownOption,
  ipv6UpperLayerProtocol,
  isIpv6ExtensionHeader
} from "./schema.ts"
export { Ipv6View } from "./view.ts"
