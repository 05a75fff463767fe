/**
 * The typed errors of capture files: why a pcap or pcapng input was refused
 * (`CaptureFormatError`, with the byte offset), and why a frame could not be
 * written to a pcap file (`PcapWriteError`). Both are values: the readers and
 * writers return or fail with them and never throw.
 */
import { Schema } from "effect"

/**
 * Why a capture file was refused.
 *
 * - `bad-magic`: the first 4 bytes are neither a pcap magic number
 *   (draft-ietf-opsawg-pcap §4) nor a pcapng Section Header Block type
 *   (draft-ietf-opsawg-pcapng §4.1).
 * - `unsupported-version`: a pcap file that is not version 2.3/2.4, or a pcapng
 *   section that is not version 1.0/1.2 (§4.1 says readers treat 1.2 as 1.0).
 * - `bad-byte-order-magic`: a Section Header Block whose byte-order magic is
 *   not 0x1A2B3C4D in either byte order (§4.1).
 * - `truncated`: the input ended inside a file header, record or block.
 * - `record-too-long`: a pcap record's captured length is above the reader's limit.
 * - `block-too-long`: a pcapng block's total length is above the reader's limit.
 * - `block-too-short`: a pcapng block's total length is below 12, or below the
 *   fixed part of its type.
 * - `block-length-unaligned`: a pcapng block's total length is not a multiple of 4 (§3.1).
 * - `block-length-mismatch`: the trailing Block Total Length differs from the leading one (§3.1).
 * - `bad-captured-length`: a packet block's captured length does not fit in the block.
 * - `bad-option`: an option runs past the end of its block, or an option the
 *   reader uses (`if_tsresol`, `if_tsoffset`) has the wrong length (§3.5, §4.2).
 * - `unknown-interface`: a packet block names an interface no Interface
 *   Description Block of its section declared (§4.2, §4.3, §4.4).
 */
export const CaptureFormatReason = Schema.Literals([
  "bad-magic",
  "unsupported-version",
  "bad-byte-order-magic",
  "truncated",
  "record-too-long",
  "block-too-long",
  "block-too-short",
  "block-length-unaligned",
  "block-length-mismatch",
  "bad-captured-length",
  "bad-option",
  "unknown-interface"
])
/** Why a capture file was refused. */
export type CaptureFormatReason = typeof CaptureFormatReason.Type

/**
 * A malformed capture file: the reason, the byte offset in the input of the
 * structure at fault (the start of the header, record or block, or of the
 * field or option named in `detail`), and a human-readable detail.
 */
export class CaptureFormatError extends Schema.TaggedError<CaptureFormatError>()("CaptureFormatError", {
  reason: CaptureFormatReason,
  /** Offset from the start of the input, in bytes. */
  offset: Schema.Number,
  detail: Schema.String
}) {
  override get message(): string {
    return `capture ${this.reason} at byte ${this.offset}: ${this.detail}`
  }
}

/** A `CaptureFormatError`. */
export const formatError = (reason: CaptureFormatReason, offset: number, detail: string): CaptureFormatError =>
  new CaptureFormatError({ reason, offset, detail })

/**
 * Why a frame or file header cannot be written as pcap.
 *
 * - `timestamp-out-of-range`: pcap stores unsigned 32-bit seconds since the
 *   epoch (draft-ietf-opsawg-pcap §5), so 1970 to early 2106 only.
 * - `length-out-of-range`: an original length that is not an unsigned 32-bit integer.
 * - `link-type-mismatch`: a frame whose link type is not the file's (a pcap file has one, §4).
 * - `bad-options`: a snaplen that is not in 1..2^32-1 or a link type that is not in 0..65535.
 */
export const PcapWriteReason = Schema.Literals([
  "timestamp-out-of-range",
  "length-out-of-range",
  "link-type-mismatch",
  "bad-options"
])
/** Why a frame cannot be written as pcap. */
export type PcapWriteReason = typeof PcapWriteReason.Type

/** A frame or file header that cannot be written as pcap, and why. */
export class PcapWriteError extends Schema.TaggedError<PcapWriteError>()("PcapWriteError", {
  reason: PcapWriteReason,
  detail: Schema.String
}) {
  override get message(): string {
    return `pcap ${this.reason}: ${this.detail}`
  }
}
