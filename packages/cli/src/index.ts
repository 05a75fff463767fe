/**
 * @netstack/cli: the `netstack` command-line tool.
 */
export { describeCapturedFrame } from "./commands/decode.ts"
export { describeLiveFrame, type DumpOptions, type DumpSummary, DumpUsageError, runDump } from "./commands/dump.ts"
export {
  type BodyOutput,
  fetchBody,
  fetchOnHost,
  formatBytes,
  type GetOptions,
  type GetProgress,
  type GetResult,
  HttpStatusError,
  progressLine,
  resultLine
} from "./commands/get.ts"
export {
  checkPingSettings,
  eventLine,
  formatRtt,
  headerLine,
  icmpErrorText,
  NoReply,
  type PingEvent,
  type PingSettings,
  type PingSummary,
  PingUsageError,
  type RttStatistics,
  runPing,
  summaryLines
} from "./commands/ping.ts"
export { DEFAULT_DEMO_PCAP, type DemoOptions, demoLines } from "./commands/demo.ts"
export { type BuffersDemo, buffersDemo } from "./demo/buffers-demo.ts"
export { driverDemo } from "./demo/driver-demo.ts"
export { networkDemo, type NetworkDemoError, type NetworkDemoOptions } from "./demo/network-demo.ts"
export { wireDemo } from "./demo/wire-demo.ts"
export { netstack } from "./main.ts"
export { ByteReader } from "./services/byte-reader.ts"
export { type Iperf3ServerOptions, serveIperf3 } from "./services/iperf3/server.ts"
export { type Iperf3ServerStats, makeIperf3Stats } from "./services/iperf3/test-state.ts"
export { serveDiscard, serveEcho } from "./services/echo.ts"
export { httpApp, MAX_PATTERN_BYTES, patternByte, patternBytes, patternStream } from "./services/http.ts"
