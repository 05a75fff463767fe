/**
 * @netstack/device: the NIC model (descriptor rings, DMA, interrupt lines and
 * coalescing, RSS, offloads, statistics) and the media a NIC sits on, plus the
 * network trace.
 */
export { Coalescer, type CoalescingSettings, NO_COALESCING } from "./irq/coalescer.ts"
export { IrqLine } from "./irq/irq-line.ts"
export {
  ALL_OFFLOADS,
  coalescingProblem,
  InvalidNicConfig,
  type NicConfig,
  type NicOptions,
  NO_OFFLOADS,
  type Offloads,
  resolveNicConfig
} from "./nic/config.ts"
export {
  type CarrierEvent,
  Nic,
  type NicDevice,
  type NicRxQueue,
  type NicTxQueue,
  type QueueSelector,
  SINGLE_QUEUE
} from "./nic/nic.ts"
export { MockNic, MockNicControl, type MockNicControlShape } from "./mock/mock-nic.ts"
export { type RssOptions, rssQueueSelector } from "./nic/rss-selector.ts"
export { type RxChecksumVerdict, verifyRxChecksum } from "./nic/rx-checksum.ts"
export { capturedFrame } from "./nic/capture-copy.ts"
export { NicErrorStats, type NicStatsSnapshot, RxQueueStats, snapshotStats, TxQueueStats } from "./nic/stats.ts"
export { type DmaFailure, RxRing } from "./ring/rx-ring.ts"
export { TxRing } from "./ring/tx-ring.ts"
export { micros, nowMicros, toMicros } from "./time.ts"
export { CurrentNetTrace, formatTrace, NetTrace, type TraceRecord, type TraceStage } from "./trace/net-trace.ts"
export type { ChannelTraceStage, StackTraceStage } from "./trace/net-trace.ts"
export * from "./medium/index.ts"
export * from "./rss/index.ts"
export * from "./offload/index.ts"
export * from "./tap/index.ts"
export * from "./qemu/index.ts"
export * from "./passt/index.ts"
