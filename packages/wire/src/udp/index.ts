/** UDP (RFC 768): Schema, codec, view, emitter. */
export { UdpHeaderFromBytes } from "./codec.ts"
export { UdpDefect } from "./defects.ts"
export { emitUdp, type UdpFields } from "./emit.ts"
export { UDP_HEADER_LENGTH, UdpHeader } from "./schema.ts"
export { UdpView } from "./view.ts"
