/** Why a VLAN tag is refused. */
import { headerDefects } from "../defect.ts"

/** VLAN defects: `truncated` (fewer than 4 bytes after the TPID). */
export const VlanDefect = headerDefects("vlan", ["truncated"])
/** A VLAN defect. */
export type VlanDefect = (typeof VlanDefect)[keyof typeof VlanDefect]
