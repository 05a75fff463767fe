/**
 * Capture files: libpcap (draft-ietf-opsawg-pcap) and pcapng
 * (draft-ietf-opsawg-pcapng) read as streams of frames, libpcap written from
 * streams of frames or record by record.
 */
export { CaptureDecoder, type CaptureDecodeOptions, type CaptureFormat, DEFAULT_MAX_RECORD_BYTES } from "./decoder.ts"
export {
  CaptureFormatError,
  CaptureFormatReason,
  PcapWriteError,
  PcapWriteReason
} from "./errors.ts"
export { LINKTYPE_ETHERNET, PcapFrame, type PcapFrameInput, timestampDate, timestampMicros } from "./frame.ts"
export {
  PCAP_DEFAULT_SNAPLEN,
  PCAP_FILE_HEADER_LENGTH,
  PCAP_MAGIC_MICROSECONDS,
  PCAP_MAGIC_NANOSECONDS,
  PCAP_RECORD_HEADER_LENGTH,
  pcapFileHeader,
  pcapRecord,
  type PcapWriteOptions
} from "./libpcap.ts"
export { PCAPNG_BYTE_ORDER_MAGIC, PcapngBlockType, PcapngOption } from "./pcapng.ts"
export { decodeCaptureStream, readCaptureFile } from "./read.ts"
export { encodePcap, writePcapFile } from "./write.ts"
