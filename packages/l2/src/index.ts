/**
 * @netstack/l2: the link layer of a host: interfaces (Ethernet over a NIC,
 * VLAN sub-interfaces), the receive path to the protocol handlers, the
 * transmit path with a qdisc, taps, host timers and drop counters.
 */
export { DropCounters } from "./drops.ts"
export { EthernetDevice } from "./ethernet-device.ts"
export { LinkLayer, type ProtocolHandler, type Tap, type TapDirection } from "./link-layer.ts"
export { type DeviceFeatures, type DeviceKind, LinkStats, type NetDevice, NO_FEATURES, type RxHandler } from "./net-device.ts"
export { DEFAULT_TXQUEUELEN, PfifoQdisc } from "./qdisc.ts"
export { type TimerHandle, TimerQueue } from "./timers.ts"
export { VlanDevice } from "./vlan-device.ts"
export * from "./neighbour/index.ts"
export * from "./bridge/index.ts"
export * from "./capture/index.ts"
