/** Why an IPv6 header (fixed header and extension-header chain) is refused. */
import { headerDefects } from "../defect.ts"

/**
 * IPv6 defects, in the order the walk meets them:
 * - `truncated`: fewer than 40 bytes.
 * - `bad-version`: the version is not 6 (RFC 8200 §3).
 * - `bad-payload-length`: the Payload Length (or a jumbogram's Jumbo Payload
 *   length) exceeds the bytes present after the fixed header.
 * - `too-many-extension-headers`: a 17th extension header
 *   (`IPV6_MAX_EXTENSION_HEADERS`), so hostile chains cost bounded work.
 * - `hop-by-hop-not-first`: a Hop-by-Hop Options header anywhere but right
 *   after the fixed header (RFC 8200 §4.1).
 * - `bad-extension-length`: an extension header runs past the payload.
 * - `bad-option-length`: an option (RFC 8200 §4.2) runs past the end of its header.
 * - `bad-option`: a Router Alert option whose data is not 2 bytes (RFC 2711
 *   §2.1) or a Jumbo Payload option whose data is not 4 bytes (RFC 2675 §2).
 * - `bad-padding`: a PadN option with non-zero data (RFC 8200 §4.2, RFC 4942 §2.1.9.5).
 * - `bad-jumbo`: an RFC 2675 §3 error (see `schema.ts`).
 * - `bad-fragment`: a fragment with M set whose data is not a multiple of 8
 *   bytes, or whose offset plus length exceeds 65,535 (RFC 8200 §4.5).
 */
export const Ipv6Defect = headerDefects("ipv6", [
  "truncated",
  "bad-version",
  "bad-payload-length",
  "too-many-extension-headers",
  "hop-by-hop-not-first",
  "bad-extension-length",
  "bad-option-length",
  "bad-option",
  "bad-padding",
  "bad-jumbo",
  "bad-fragment"
])
/** An IPv6 defect. */
export type Ipv6Defect = (typeof Ipv6Defect)[keyof typeof Ipv6Defect]
