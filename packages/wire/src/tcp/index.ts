/** TCP (RFC 9293 §3.1, options from RFC 9293 §3.2, RFC 7323, RFC 2018, flags from RFC 3168): Schema, codec, view, emitter. */
export { TcpHeaderFromBytes } from "./codec.ts"
export { TcpDefect } from "./defects.ts"
export { emitTcp, type TcpFields, tcpFields } from "./emit.ts"
export {
  formatTcpFlags,
  formatTcpHeader,
  formatTcpOption,
  formatTcpSegment,
  formatTcpSummary,
  isKnownTcpOptionKind,
  TCP_HEADER_LENGTH,
  TCP_MAX_OPTIONS_LENGTH,
  TCP_MAX_SACK_BLOCKS,
  TCP_PROTOCOL,
  TcpFlags,
  tcpFlagsByte,
  TcpHeader,
  TcpOption,
  TcpOptionKinds,
  TcpOptionLengths,
  tcpOptionLength,
  tcpOptionsLength,
  TcpSackBlock
} from "./schema.ts"
export { TcpView } from "./view.ts"
