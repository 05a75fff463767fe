/** A Linux TAP device as a medium (the addon in native/, built at install time). */
export { TapError, type TapOpenError, TapPermissionDenied, TapUnavailable } from "./errors.ts"
export {
  type TapCounters,
  TapDevice,
  type TapMedium,
  type TapOptions,
  TUN_F_CSUM,
  TUN_F_TSO4,
  TUN_F_TSO6
} from "./tap-device.ts"
export {
  decodeVnetHeader,
  encodeVnetHeader,
  isVnetHeaderDefect,
  VNET_HEADER_SIZE,
  type VnetHeaderDefect
} from "./vnet-header.ts"
