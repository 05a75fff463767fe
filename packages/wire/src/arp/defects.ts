/** Why an ARP packet is refused. */
import { headerDefects } from "../defect.ts"

/**
 * ARP defects, checked in this order: `truncated` (fewer than 28 bytes),
 * `unsupported-hardware` (`ar$hrd` ≠ 1 or `ar$hln` ≠ 6: not Ethernet),
 * `unsupported-protocol` (`ar$pro` ≠ 0x0800 or `ar$pln` ≠ 4: not IPv4).
 */
export const ArpDefect = headerDefects("arp", ["truncated", "unsupported-hardware", "unsupported-protocol"])
/** An ARP defect. */
export type ArpDefect = (typeof ArpDefect)[keyof typeof ArpDefect]
