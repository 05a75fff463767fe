/** Why an ICMPv4 message is refused. */
import { headerDefects } from "../defect.ts"

/**
 * ICMPv4 defects (RFC 792): `truncated` (fewer than the 8 bytes of type,
 * code, checksum and rest of header), `bad-checksum` (the checksum over the
 * whole message does not verify; returned only by checksum verification on
 * request, `Icmpv4View.verifyChecksum`, never by `parse` or the Schema codec).
 * Every type and code is accepted: those without a typed form are kept as
 * `Other`.
 */
export const Icmpv4Defect = headerDefects("icmpv4", ["truncated", "bad-checksum"])
/** An ICMPv4 defect. */
export type Icmpv4Defect = (typeof Icmpv4Defect)[keyof typeof Icmpv4Defect]
