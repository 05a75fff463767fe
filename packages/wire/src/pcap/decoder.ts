/**
 * The incremental capture-file reader: a synchronous state machine fed with
 * chunks split at any boundaries, which recognises pcap or pcapng from the
 * first 4 bytes and yields each frame as soon as its record or block is
 * complete. It holds at most the structure being read (one pcap record, one
 * pcapng packet or interface block) plus the unread part of the last chunk;
 * blocks it skips are discarded as they arrive, never buffered. A length
 * field is checked against `maxRecordBytes` before the reader waits for that
 * many bytes, and nothing is allocated before the bytes have arrived.
 *
 * Malformed input makes `push` (or `end`) return a `CaptureFormatError`; the
 * frames completed before the fault have been handed out already, and every
 * later call returns the same error. Nothing here throws.
 */
import { ByteQueue } from "./byte-queue.ts"
import { CaptureFormatError, formatError } from "./errors.ts"
import { u32 } from "./endian.ts"
import type { PcapFrame } from "./frame.ts"
import {
  parsePcapFileHeader,
  parsePcapRecordHeader,
  PCAP_FILE_HEADER_LENGTH,
  PCAP_RECORD_HEADER_LENGTH,
  pcapMagic,
  type PcapFileHeader,
  type PcapRecordHeader
} from "./libpcap.ts"
import {
  minimumBlockLength,
  parseInterfaceDescription,
  parsePacketBlock,
  parseSectionHeader,
  parseSimplePacket,
  PCAPNG_BLOCK_OVERHEAD,
  PcapngBlockType,
  type PcapngSection,
  sectionByteOrder
} from "./pcapng.ts"

/** How the reader bounds its memory. */
export interface CaptureDecodeOptions {
  /**
   * The largest pcap record data (captured length) or pcapng Block Total
   * Length accepted; anything longer fails with `record-too-long` or
   * `block-too-long` before any of it is buffered. Default 256 MiB.
   */
  readonly maxRecordBytes?: number | undefined
}

/** The default `maxRecordBytes`: 256 MiB. */
export const DEFAULT_MAX_RECORD_BYTES = 256 * 1024 * 1024

type Mode =
  | "detect"
  | "pcap-header"
  | "pcap-record"
  | "pcap-data"
  | "block-header"
  | "block-body"
  | "block-skip"
  | "failed"

/** Which format the input turned out to be, once known. */
export type CaptureFormat = "pcap" | "pcapng"

/** Reads pcap or pcapng from chunks. One instance per input. */
export class CaptureDecoder {
  private readonly maxRecordBytes: number
  private readonly queue = new ByteQueue()
  private mode: Mode = "detect"
  /** Input offset of the first byte in `queue`. */
  private consumed = 0
  /** Input offset of the header, record or block being read. */
  private unitStart = 0
  private failure: CaptureFormatError | undefined = undefined
  private file: PcapFileHeader | undefined = undefined
  private record: PcapRecordHeader | undefined = undefined
  private section: PcapngSection | undefined = undefined
  private blockType = 0
  private blockLength = 0
  private blockLittleEndian = true
  private skipLeft = 0

  /** The format, once the first 4 bytes have arrived. */
  format: CaptureFormat | undefined = undefined

  constructor(options: CaptureDecodeOptions = {}) {
    this.maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES
  }

  /**
   * Reads `chunk`, appending every frame it completes to `out`. Returns the
   * error if the input is malformed (the frames before it are in `out`).
   */
  push(chunk: Uint8Array, out: Array<PcapFrame>): CaptureFormatError | undefined {
    if (this.failure !== undefined) return this.failure
    this.queue.push(chunk)
    for (;;) {
      const progress = this.step(out)
      if (progress === false) return undefined
      if (progress !== true) {
        this.fail(progress)
        return progress
      }
    }
  }

  /** The input has ended: `truncated` if it ended inside a header, record or block. */
  end(): CaptureFormatError | undefined {
    if (this.failure !== undefined) return this.failure
    const left = this.queue.length
    let error: CaptureFormatError | undefined
    switch (this.mode) {
      case "detect":
        error = formatError("truncated", 0, `${left} bytes: too short for a pcap or pcapng header`)
        break
      case "pcap-header":
        error = formatError("truncated", 0, `pcap file header cut at ${left} of ${PCAP_FILE_HEADER_LENGTH} bytes`)
        break
      case "pcap-record":
      case "block-header":
        if (left > 0) error = formatError("truncated", this.unitStart, `${left} bytes after the last complete record`)
        break
      case "pcap-data":
        error = formatError(
          "truncated",
          this.unitStart,
          `pcap record data cut at ${left} of ${this.record?.capturedLength ?? 0} bytes`
        )
        break
      case "block-body":
        error = formatError("truncated", this.unitStart, `block cut at ${left} of ${this.blockLength} bytes`)
        break
      case "block-skip":
        error = formatError("truncated", this.unitStart, `skipped block of ${this.blockLength} bytes cut`)
        break
      case "failed":
        break
    }
    if (error !== undefined) this.fail(error)
    return error
  }

  private fail(error: CaptureFormatError): void {
    this.failure = error
    this.mode = "failed"
  }

  private consume(n: number): void {
    this.queue.skip(n)
    this.consumed += n
  }

  private take(n: number): Uint8Array {
    this.consumed += n
    return this.queue.take(n)
  }

  /** One step: `true` when something was consumed, `false` when more input is needed, or the error. */
  private step(out: Array<PcapFrame>): boolean | CaptureFormatError {
    const q = this.queue
    switch (this.mode) {
      case "detect": {
        if (q.length < 4) return false
        const head = q.peek(4)
        if (pcapMagic(head) !== undefined) {
          this.format = "pcap"
          this.mode = "pcap-header"
        } else if (u32(head, 0, false) === PcapngBlockType.sectionHeader) {
          this.format = "pcapng"
          this.mode = "block-header"
        } else {
          return formatError("bad-magic", 0, "neither a pcap magic number nor a pcapng Section Header Block")
        }
        return true
      }
      case "pcap-header": {
        if (q.length < PCAP_FILE_HEADER_LENGTH) return false
        const file = parsePcapFileHeader(q.peek(PCAP_FILE_HEADER_LENGTH), 0)
        if (file instanceof CaptureFormatError) return file
        this.file = file
        this.consume(PCAP_FILE_HEADER_LENGTH)
        this.unitStart = this.consumed
        this.mode = "pcap-record"
        return true
      }
      case "pcap-record": {
        this.unitStart = this.consumed
        if (q.length < PCAP_RECORD_HEADER_LENGTH || this.file === undefined) return false
        const record = parsePcapRecordHeader(q.peek(PCAP_RECORD_HEADER_LENGTH), 0, this.file)
        if (record.capturedLength > this.maxRecordBytes) {
          return formatError(
            "record-too-long",
            this.consumed + 8,
            `captured length ${record.capturedLength} above the limit ${this.maxRecordBytes}`
          )
        }
        this.record = record
        this.consume(PCAP_RECORD_HEADER_LENGTH)
        this.mode = "pcap-data"
        return true
      }
      case "pcap-data": {
        const record = this.record
        const file = this.file
        if (record === undefined || file === undefined || q.length < record.capturedLength) return false
        out.push({
          timestamp: record.timestamp,
          linkType: file.linkType,
          interfaceIndex: 0,
          data: this.take(record.capturedLength),
          originalLength: record.originalLength
        })
        this.mode = "pcap-record"
        return true
      }
      case "block-header":
        return this.blockHeader()
      case "block-body": {
        if (q.length < this.blockLength) return false
        const block = this.take(this.blockLength)
        return this.block(block, out)
      }
      case "block-skip": {
        if (this.skipLeft > 0) {
          const n = Math.min(this.skipLeft, q.length)
          if (n === 0) return false
          this.consume(n)
          this.skipLeft -= n
          return true
        }
        if (q.length < 4) return false
        const trailer = u32(q.peek(4), 0, this.blockLittleEndian)
        if (trailer !== this.blockLength) return this.mismatch(trailer)
        this.consume(4)
        this.mode = "block-header"
        return true
      }
      case "failed":
        return false
    }
  }

  /** Reads a block's type and length, checks the length, and decides to read or skip the block. */
  private blockHeader(): boolean | CaptureFormatError {
    const q = this.queue
    this.unitStart = this.consumed
    if (q.length < 8) return false
    let type = u32(q.peek(8), 0, false)
    let littleEndian: boolean
    if (type === PcapngBlockType.sectionHeader) {
      // the Block Total Length is in the new section's byte order, given by the magic after it (§4.1)
      if (q.length < 12) return false
      const order = sectionByteOrder(q.peek(12))
      if (order === undefined) {
        return formatError("bad-byte-order-magic", this.consumed + 8, "byte-order magic is not 0x1A2B3C4D")
      }
      littleEndian = order
    } else {
      if (this.section === undefined) return false
      littleEndian = this.section.littleEndian
      type = u32(q.peek(8), 0, littleEndian)
    }
    const length = u32(q.peek(8), 4, littleEndian)
    const at = this.consumed + 4
    if (length % 4 !== 0) {
      return formatError("block-length-unaligned", at, `block total length ${length} is not a multiple of 4`)
    }
    const minimum = minimumBlockLength(type)
    if (length < minimum) {
      return formatError("block-too-short", at, `block of type 0x${type.toString(16)}: ${length} < ${minimum} bytes`)
    }
    if (length > this.maxRecordBytes) {
      return formatError("block-too-long", at, `block total length ${length} above the limit ${this.maxRecordBytes}`)
    }
    this.blockType = type
    this.blockLength = length
    this.blockLittleEndian = littleEndian
    switch (type) {
      case PcapngBlockType.sectionHeader:
      case PcapngBlockType.interfaceDescription:
      case PcapngBlockType.enhancedPacket:
      case PcapngBlockType.simplePacket:
      case PcapngBlockType.packet:
        this.mode = "block-body"
        break
      default:
        // Name Resolution, Interface Statistics, Decryption Secrets, Custom and unknown blocks
        this.consume(8)
        this.skipLeft = length - PCAPNG_BLOCK_OVERHEAD
        this.mode = "block-skip"
    }
    return true
  }

  private mismatch(trailer: number): CaptureFormatError {
    return formatError(
      "block-length-mismatch",
      this.unitStart + this.blockLength - 4,
      `trailing block total length ${trailer}, leading ${this.blockLength}`
    )
  }

  /** Interprets a whole block read into `block`. */
  private block(block: Uint8Array, out: Array<PcapFrame>): boolean | CaptureFormatError {
    const le = this.blockLittleEndian
    const offset = this.unitStart
    const trailer = u32(block, block.length - 4, le)
    if (trailer !== this.blockLength) return this.mismatch(trailer)
    this.mode = "block-header"
    if (this.blockType === PcapngBlockType.sectionHeader) {
      const section = parseSectionHeader(block, offset, le)
      if (section instanceof CaptureFormatError) return section
      this.section = section
      return true
    }
    const section = this.section
    if (section === undefined) return true
    switch (this.blockType) {
      case PcapngBlockType.interfaceDescription: {
        const iface = parseInterfaceDescription(block, offset, le)
        if (iface instanceof CaptureFormatError) return iface
        section.interfaces.push(iface)
        return true
      }
      case PcapngBlockType.enhancedPacket:
      case PcapngBlockType.packet: {
        const frame = parsePacketBlock(block, offset, section, this.blockType === PcapngBlockType.packet)
        if (frame instanceof CaptureFormatError) return frame
        out.push(frame)
        return true
      }
      case PcapngBlockType.simplePacket: {
        const frame = parseSimplePacket(block, offset, section)
        if (frame instanceof CaptureFormatError) return frame
        out.push(frame)
        return true
      }
      default:
        return true
    }
  }
}
