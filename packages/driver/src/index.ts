/**
 * @netstack/driver: the driver side of a NIC: interrupt handler fibers, NAPI
 * polling on the NET_RX softirq, GRO, transmit with queue stop/wake, software
 * GSO and checksum fallback, busy polling.
 */
export {
  Driver,
  type DriverOptions,
  type DriverShape,
  DriverStats,
  type GroStage,
  ReceiveHandler,
  type ReceiveHandlerShape,
  type RxClassifier,
  type XmitResult
} from "./driver.ts"
export { type Pollable, Softirq, type SoftirqOptions, type SoftirqShape, SoftnetStats } from "./softirq/softirq.ts"
export * from "./gro/index.ts"
