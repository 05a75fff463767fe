/**
 * A learning bridge (Linux `net/bridge`, IEEE 802.1D-2004 §7.7-§7.8, no STP):
 * the bridge device, its forwarding database and its errors.
 */
export { BridgeCounters, BridgeDevice, type BridgeOptions } from "./bridge-device.ts"
export { BridgeError, BridgeErrorReason } from "./errors.ts"
export {
  DEFAULT_AGEING_TIME_MICROS,
  DEFAULT_FDB_MAX_LEARNED,
  type FdbCounters,
  type FdbEntry,
  type FdbEntryKind,
  formatFdb,
  type FormatFdbOptions,
  ForwardingDatabase,
  type LearnResult
} from "./fdb.ts"
