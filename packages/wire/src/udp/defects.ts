/** Why a UDP header is refused. */
import { headerDefects } from "../defect.ts"

/**
 * UDP defects: `truncated` (fewer than 8 bytes), `bad-length` (the length
 * field is below 8 or exceeds the bytes present), `bad-checksum` (from
 * `verifyChecksum`).
 */
export const UdpDefect = headerDefects("udp", ["truncated", "bad-length", "bad-checksum"])
/** A UDP defect. */
export type UdpDefect = (typeof UdpDefect)[keyof typeof UdpDefect]
