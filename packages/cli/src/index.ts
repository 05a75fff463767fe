/**
 * @netstack/cli: the `netstack` command-line tool.
 */
export { describeCapturedFrame } from "./commands/decode.ts"
export { demoLines } from "./commands/demo.ts"
export { type BuffersDemo, buffersDemo } from "./demo/buffers-demo.ts"
export { driverDemo } from "./demo/driver-demo.ts"
export { wireDemo } from "./demo/wire-demo.ts"
export { netstack } from "./main.ts"
