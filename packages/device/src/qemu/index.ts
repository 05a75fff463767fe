/** QEMU's socket netdevs as media: `-netdev stream` (TCP or Unix, client or server) and `-netdev dgram` (UDP). */
export { type DgramAddress, type DgramCounters, type DgramMedium, type DgramOptions, QemuDgram } from "./dgram.ts"
export { MediumSocketError } from "./errors.ts"
export {
  framed,
  type FramingDefect,
  lengthPrefix,
  QEMU_MAX_FRAME,
  STREAM_HEADER_BYTES,
  StreamDeframer
} from "./framing.ts"
export { QemuStream, type StreamAddress, type StreamMedium } from "./stream.ts"
export { type StreamCloseReason, type StreamCounters, type StreamPortOptions } from "./stream-port.ts"
