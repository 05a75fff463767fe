/** Why an IPv4 header is refused. */
import { headerDefects } from "../defect.ts"

/**
 * IPv4 defects (RFC 791 §3.1):
 * - `truncated`: fewer than 20 bytes, or fewer than the header length (IHL × 4) says;
 * - `bad-version`: the version field is not 4;
 * - `bad-header-length`: IHL below 5 (a header is at least 20 bytes);
 * - `bad-total-length`: the total length is below the header length or exceeds the bytes present
 *   (link-layer padding after it is allowed);
 * - `bad-option`: an option's length is below 2 or runs past the options area (or its length byte is missing);
 * - `bad-checksum`: the header checksum does not verify. Returned only by checksum verification on
 *   request (`Ipv4View.verifyChecksum`), never by `parse` or the Schema codec.
 */
export const Ipv4Defect = headerDefects("ipv4", [
  "truncated",
  "bad-version",
  "bad-header-length",
  "bad-total-length",
  "bad-option",
  "bad-checksum"
])
/** An IPv4 defect. */
export type Ipv4Defect = (typeof Ipv4Defect)[keyof typeof Ipv4Defect]
