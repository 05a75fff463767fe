/** IPv4 (RFC 791 §3.1; DSCP and ECN per RFC 2474 and RFC 3168): Schema, codec, view, emitter, options. */
export { Ipv4HeaderFromBytes, Ipv4OptionsFromBytes } from "./codec.ts"
export { Ipv4Defect } from "./defects.ts"
export { emitIpv4, type Ipv4Fields, ipv4Fields } from "./emit.ts"
export {
  decodeIpv4Options,
  encodeIpv4Options,
  formatIpv4Option,
  formatIpv4Options,
  IPV4_MAX_OPTIONS_LENGTH,
  isCopiedIpv4Option,
  Ipv4EndOfOptionList,
  Ipv4LooseSourceRoute,
  Ipv4NoOperation,
  Ipv4Option,
  ipv4OptionLength,
  Ipv4Options,
  Ipv4OptionTypes,
  Ipv4OtherOption,
  Ipv4RecordRoute,
  Ipv4RouterAlert,
  Ipv4StrictSourceRoute,
  Ipv4Timestamp,
  Ipv4TimestampEntry,
  padIpv4Options
} from "./options.ts"
export {
  IPV4_HEADER_LENGTH,
  IPV4_MAX_HEADER_LENGTH,
  IPV4_VERSION,
  Ipv4Header,
  Ipv4OptionsBytes,
  ipv4ProtocolName,
  Ipv4Protocols
} from "./schema.ts"
export { Ipv4View } from "./view.ts"
