/** Why an ICMPv6 message is refused. */
import { headerDefects } from "../defect.ts"

/**
 * ICMPv6 defects:
 * - `truncated`: fewer than 8 bytes, or fewer than the fixed part of an NDP
 *   message (Router Advertisement 16, Neighbor Solicitation and Advertisement
 *   24, Redirect 40; RFC 4861 §4).
 * - `zero-option-length`: an NDP option with length 0 (RFC 4861 §4.6: the
 *   packet MUST be silently discarded).
 * - `truncated-option`: an NDP option that runs past the end of the message
 *   (or a single byte left where an option would start).
 * - `bad-checksum`: from `verifyChecksum` (RFC 4443 §2.3).
 */
export const Icmpv6Defect = headerDefects("icmpv6", ["truncated", "zero-option-length", "truncated-option", "bad-checksum"])
/** An ICMPv6 defect. */
export type Icmpv6Defect = (typeof Icmpv6Defect)[keyof typeof Icmpv6Defect]
