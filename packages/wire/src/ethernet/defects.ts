/** Why an Ethernet header is refused. */
import { headerDefects } from "../defect.ts"

/** Ethernet defects: `truncated` (fewer than 14 bytes). */
export const EthernetDefect = headerDefects("ethernet", ["truncated"])
/** An Ethernet defect. */
export type EthernetDefect = (typeof EthernetDefect)[keyof typeof EthernetDefect]
