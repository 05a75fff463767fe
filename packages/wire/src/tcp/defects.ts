/** Why a TCP header is refused. */
import { headerDefects } from "../defect.ts"

/**
 * TCP defects:
 * - `truncated`: fewer than 20 bytes, or fewer than the data offset says
 *   (RFC 9293 §3.1).
 * - `bad-data-offset`: a data offset below 5 (the header is at least 20 bytes).
 * - `bad-option-length`: an option's length byte is missing (the option space
 *   ends after its kind), below 2, runs past the option space, or is wrong for
 *   a known kind (MSS 4, Window Scale 3, SACK-Permitted 2, Timestamps 10, SACK
 *   2 + 8n with n = 1..4). RFC 9293 §3.1 MUST-7 asks that an illegal option
 *   length not crash the receiver; the segment is dropped under this name.
 * - `bad-checksum`: the checksum does not verify (`verifyChecksum`, on request).
 */
export const TcpDefect = headerDefects("tcp", ["truncated", "bad-data-offset", "bad-option-length", "bad-checksum"])
/** A TCP defect. */
export type TcpDefect = (typeof TcpDefect)[keyof typeof TcpDefect]
