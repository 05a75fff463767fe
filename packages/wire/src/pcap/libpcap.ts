/**
 * The libpcap file format (draft-ietf-opsawg-pcap): a 24-byte File Header
 * (§4) followed by Packet Records, each a 16-byte header and the captured
 * bytes, unpadded (§5). All numbers are in the writer's byte order, which the
 * magic number reveals (§4.1); the magic also says whether the timestamp
 * fraction counts microseconds (0xA1B2C3D4) or nanoseconds (0xA1B23C4D).
 *
 * Plain functions: reading the file header and a record header, and writing
 * them (`pcapFileHeader`, `pcapRecord`) for callers that write synchronously.
 */
import { type CaptureFormatError, formatError, PcapWriteError } from "./errors.ts"
import { put16, put32, u16, u32 } from "./endian.ts"
import { LINKTYPE_ETHERNET, NANOS_PER_SECOND, type PcapFrameInput } from "./frame.ts"

/** Magic number of a pcap file with microsecond timestamps (§4). */
export const PCAP_MAGIC_MICROSECONDS = 0xa1b2c3d4
/** Magic number of a pcap file with nanosecond timestamps (§4). */
export const PCAP_MAGIC_NANOSECONDS = 0xa1b23c4d
/** Bytes in the pcap File Header (§4). */
export const PCAP_FILE_HEADER_LENGTH = 24
/** Bytes in a pcap Packet Record header (§5). */
export const PCAP_RECORD_HEADER_LENGTH = 16
/** The snapshot length written when none is given: tcpdump's default, 262144. */
export const PCAP_DEFAULT_SNAPLEN = 262_144

/** What the File Header says about the records after it. */
export interface PcapFileHeader {
  /** Fields are little-endian. */
  readonly littleEndian: boolean
  /** The timestamp fraction counts nanoseconds (else microseconds). */
  readonly nanosecond: boolean
  readonly versionMajor: number
  readonly versionMinor: number
  readonly snaplen: number
  /** The LinkType (low 16 bits of the "LinkType and additional information" field, §4). */
  readonly linkType: number
}

/** Byte order and resolution of the pcap magic number in `b[0..4]`, or `undefined` if it is not one (§4.1). */
export const pcapMagic = (b: Uint8Array): { readonly littleEndian: boolean; readonly nanosecond: boolean } | undefined => {
  const be = u32(b, 0, false)
  if (be === PCAP_MAGIC_MICROSECONDS) return { littleEndian: false, nanosecond: false }
  if (be === PCAP_MAGIC_NANOSECONDS) return { littleEndian: false, nanosecond: true }
  const le = u32(b, 0, true)
  if (le === PCAP_MAGIC_MICROSECONDS) return { littleEndian: true, nanosecond: false }
  if (le === PCAP_MAGIC_NANOSECONDS) return { littleEndian: true, nanosecond: true }
  return undefined
}

/**
 * Reads the 24-byte File Header in `b` (which starts at input offset `offset`).
 * Accepts versions 2.3 and 2.4 (the same layout; before 2.3 the two length
 * fields were swapped). The Reserved fields and the FCS bits above the
 * LinkType are ignored, as §4 allows.
 */
export const parsePcapFileHeader = (b: Uint8Array, offset: number): PcapFileHeader | CaptureFormatError => {
  const magic = pcapMagic(b)
  if (magic === undefined) return formatError("bad-magic", offset, "not a pcap magic number")
  const le = magic.littleEndian
  const versionMajor = u16(b, 4, le)
  const versionMinor = u16(b, 6, le)
  if (versionMajor !== 2 || (versionMinor !== 3 && versionMinor !== 4)) {
    return formatError("unsupported-version", offset + 4, `pcap version ${versionMajor}.${versionMinor}`)
  }
  return {
    littleEndian: le,
    nanosecond: magic.nanosecond,
    versionMajor,
    versionMinor,
    snaplen: u32(b, 16, le),
    linkType: u32(b, 20, le) & 0xffff
  }
}

/** A Packet Record header (§5). */
export interface PcapRecordHeader {
  /** Nanoseconds since the epoch. */
  readonly timestamp: bigint
  readonly capturedLength: number
  readonly originalLength: number
}

/**
 * Reads the 16-byte record header at `b[i]`. A fraction at or above one
 * second is added as it stands. The lengths are taken as written: a captured
 * length above the file's snaplen, or above the original length, is accepted
 * (§5 says it SHOULD NOT happen, and libpcap and Wireshark read such files);
 * the reader bounds it by its own limit instead.
 */
export const parsePcapRecordHeader = (b: Uint8Array, i: number, file: PcapFileHeader): PcapRecordHeader => {
  const le = file.littleEndian
  const seconds = BigInt(u32(b, i, le))
  const fraction = BigInt(u32(b, i + 4, le))
  return {
    timestamp: seconds * NANOS_PER_SECOND + (file.nanosecond ? fraction : fraction * 1000n),
    capturedLength: u32(b, i + 8, le),
    originalLength: u32(b, i + 12, le)
  }
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

/** How a pcap file is written. */
export interface PcapWriteOptions {
  /** Longest data written per frame; longer frames are truncated (their original length is kept). Default 262144. */
  readonly snaplen?: number | undefined
  /** LINKTYPE_ value of every frame. Default `LINKTYPE_ETHERNET` (1). */
  readonly linkType?: number | undefined
  /** Nanosecond timestamps (magic 0xA1B23C4D); else microseconds, truncating the nanoseconds. Default false. */
  readonly nanosecond?: boolean | undefined
  /** Write big-endian; default little-endian, whatever the host. */
  readonly bigEndian?: boolean | undefined
}

/** `PcapWriteOptions` checked and with defaults filled. */
export interface PcapWriteSettings {
  readonly snaplen: number
  readonly linkType: number
  readonly nanosecond: boolean
  readonly littleEndian: boolean
}

const MAX_SECONDS = 2n ** 32n

const isUint = (n: number, bits: number): boolean => Number.isInteger(n) && n >= 0 && n < 2 ** bits

/** Checks `options` and fills the defaults. */
export const pcapWriteSettings = (options: PcapWriteOptions = {}): PcapWriteSettings | PcapWriteError => {
  const snaplen = options.snaplen ?? PCAP_DEFAULT_SNAPLEN
  const linkType = options.linkType ?? LINKTYPE_ETHERNET
  if (!isUint(snaplen, 32) || snaplen === 0) {
    return new PcapWriteError({ reason: "bad-options", detail: `snaplen ${snaplen} is not in 1..2^32-1` })
  }
  if (!isUint(linkType, 16)) {
    return new PcapWriteError({ reason: "bad-options", detail: `link type ${linkType} is not in 0..65535` })
  }
  return { snaplen, linkType, nanosecond: options.nanosecond ?? false, littleEndian: options.bigEndian !== true }
}

/** The File Header for checked `settings`. */
export const pcapFileHeaderFor = (settings: PcapWriteSettings): Uint8Array => {
  const out = new Uint8Array(PCAP_FILE_HEADER_LENGTH)
  const le = settings.littleEndian
  put32(out, 0, settings.nanosecond ? PCAP_MAGIC_NANOSECONDS : PCAP_MAGIC_MICROSECONDS, le)
  put16(out, 4, 2, le)
  put16(out, 6, 4, le)
  // Reserved1 and Reserved2 stay 0 (§4)
  put32(out, 16, settings.snaplen, le)
  put32(out, 20, settings.linkType, le)
  return out
}

/** The 24-byte File Header for `options` (§4): magic, version 2.4, snaplen, link type. */
export const pcapFileHeader = (options: PcapWriteOptions = {}): Uint8Array | PcapWriteError => {
  const settings = pcapWriteSettings(options)
  return settings instanceof PcapWriteError ? settings : pcapFileHeaderFor(settings)
}

/** Why `frame` cannot be written with `settings`, or `undefined` if it can. */
export const checkPcapFrame = (frame: PcapFrameInput, settings: PcapWriteSettings): PcapWriteError | undefined => {
  if (frame.timestamp < 0n || frame.timestamp >= MAX_SECONDS * NANOS_PER_SECOND) {
    return new PcapWriteError({
      reason: "timestamp-out-of-range",
      detail: `timestamp ${frame.timestamp} ns is outside 0..2^32 s`
    })
  }
  const originalLength = frame.originalLength ?? frame.data.length
  if (!isUint(originalLength, 32)) {
    return new PcapWriteError({ reason: "length-out-of-range", detail: `original length ${originalLength}` })
  }
  if (frame.linkType !== undefined && frame.linkType !== settings.linkType) {
    return new PcapWriteError({
      reason: "link-type-mismatch",
      detail: `frame link type ${frame.linkType}, file link type ${settings.linkType}`
    })
  }
  return undefined
}

/** Bytes the record of `frame` takes: header and data truncated to the snaplen. */
export const pcapRecordLength = (frame: PcapFrameInput, settings: PcapWriteSettings): number =>
  PCAP_RECORD_HEADER_LENGTH + Math.min(frame.data.length, settings.snaplen)

/** Writes the record of a checked `frame` at `out[at]`; returns the bytes written. */
export const writePcapRecord = (out: Uint8Array, at: number, frame: PcapFrameInput, settings: PcapWriteSettings): number => {
  const le = settings.littleEndian
  const captured = Math.min(frame.data.length, settings.snaplen)
  const seconds = frame.timestamp / NANOS_PER_SECOND
  const nanos = frame.timestamp % NANOS_PER_SECOND
  put32(out, at, Number(seconds), le)
  put32(out, at + 4, Number(settings.nanosecond ? nanos : nanos / 1000n), le)
  put32(out, at + 8, captured, le)
  put32(out, at + 12, frame.originalLength ?? frame.data.length, le)
  out.set(captured === frame.data.length ? frame.data : frame.data.subarray(0, captured), at + PCAP_RECORD_HEADER_LENGTH)
  return PCAP_RECORD_HEADER_LENGTH + captured
}

/**
 * The Packet Record of `frame` (§5): its data truncated to the snaplen, its
 * original length kept (default: the data length). Timestamps are written
 * as seconds and micro- or nanoseconds; in a microsecond file the
 * nanoseconds below the microsecond are dropped.
 */
export const pcapRecord = (frame: PcapFrameInput, options: PcapWriteOptions = {}): Uint8Array | PcapWriteError => {
  const settings = pcapWriteSettings(options)
  if (settings instanceof PcapWriteError) return settings
  const problem = checkPcapFrame(frame, settings)
  if (problem !== undefined) return problem
  const out = new Uint8Array(pcapRecordLength(frame, settings))
  writePcapRecord(out, 0, frame, settings)
  return out
}
