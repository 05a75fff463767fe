/**
 * Packet capture from the link layer's taps: into memory, or to a libpcap
 * file written through Effect's `FileSystem` while a scope is open.
 */
export {
  type ArrayCapture,
  type CapturedFrame,
  type CaptureDirection,
  type CaptureOptions,
  capturePcap,
  captureTap,
  captureToArray,
  DEFAULT_ARRAY_CAPTURE_LIMIT,
  DEFAULT_CAPTURE_BUFFER_BYTES,
  DEFAULT_CAPTURE_BUFFER_FRAMES,
  type PcapCapture,
  type PcapCaptureOptions
} from "./tap-capture.ts"
