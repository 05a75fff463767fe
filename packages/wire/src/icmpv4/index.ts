/** ICMPv4 (RFC 792; next-hop MTU RFC 1191 §4): Schema, codec, view, emitter. */
export { Icmpv4MessageFromBytes } from "./codec.ts"
export { Icmpv4Defect } from "./defects.ts"
export { emitIcmpv4, type Icmpv4Checksum, type Icmpv4Fields, icmpv4Fields } from "./emit.ts"
export {
  ICMPV4_HEADER_LENGTH,
  icmpv4Body,
  Icmpv4DestinationUnreachable,
  Icmpv4EchoReply,
  Icmpv4EchoRequest,
  type Icmpv4Kind,
  icmpv4Kind,
  Icmpv4Message,
  Icmpv4Other,
  Icmpv4ParameterProblem,
  Icmpv4Redirect,
  Icmpv4RedirectCodes,
  Icmpv4TimeExceeded,
  Icmpv4TimeExceededCodes,
  Icmpv4Types,
  Icmpv4UnreachableCodes
} from "./schema.ts"
export { Icmpv4View } from "./view.ts"
