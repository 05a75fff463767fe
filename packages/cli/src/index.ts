/**
 * @netstack/cli: the `netstack` command-line tool.
 */
export { describeCapturedFrame } from "./commands/decode.ts"
export { DEFAULT_DEMO_PCAP, type DemoOptions, demoLines } from "./commands/demo.ts"
export { type BuffersDemo, buffersDemo } from "./demo/buffers-demo.ts"
export { driverDemo } from "./demo/driver-demo.ts"
export { networkDemo, type NetworkDemoError, type NetworkDemoOptions } from "./demo/network-demo.ts"
export { wireDemo } from "./demo/wire-demo.ts"
export { netstack } from "./main.ts"
