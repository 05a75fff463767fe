/**
 * A checked, zero-copy view of a TCP header and its segment inside a
 * `PacketBuffer`. `parse` validates the header and walks the options once,
 * remembering where the known ones are, so the option getters read them
 * without walking or allocating again.
 *
 * The view accepts and refuses exactly what `TcpHeaderFromBytes` does, for the
 * same defect. One deliberate difference in what it reports: when a known
 * option kind appears more than once, its getter (`mss`, `timestampValue`, …)
 * reads the last occurrence, while the typed list (`toHeader()`, the Schema)
 * keeps every occurrence in order.
 */
import { finishChecksum, type PacketBuffer, sumPacket } from "@netstack/buffers"
import { readU16, readU32 } from "../bytes.ts"
import { TcpDefect } from "./defects.ts"
import {
  TCP_HEADER_LENGTH,
  TcpFlags,
  type TcpHeader,
  type TcpOption,
  TcpOptionKinds,
  TcpOptionLengths,
  type TcpSackBlock
} from "./schema.ts"

/** Where `parse` found the known options, as offsets from the header start (0: absent; options start at 20). */
interface OptionOffsets {
  mss: number
  windowScale: number
  sackPermitted: number
  sack: number
  timestamps: number
}

/**
 * Walks the options in `bytes[from, to)` (RFC 9293 §3.1 "Options", §3.2) and
 * records the known ones relative to `start` into `found`. Returns the defect
 * for an illegal length (RFC 9293 MUST-7), else `undefined`. When a kind
 * appears twice, the last one is recorded (as Linux's `tcp_parse_options`).
 */
const walkOptions = (
  bytes: Uint8Array,
  start: number,
  from: number,
  to: number,
  found: OptionOffsets
): TcpDefect | undefined => {
  let i = from
  while (i < to) {
    const kind = bytes[i]
    if (kind === TcpOptionKinds.eol) return undefined // the rest is padding (RFC 9293 §3.1, MUST-69)
    if (kind === TcpOptionKinds.nop) {
      i++
      continue
    }
    if (i + 1 >= to) return TcpDefect["bad-option-length"] // no room for the length byte
    const length = bytes[i + 1]
    if (length < 2 || i + length > to) return TcpDefect["bad-option-length"]
    switch (kind) {
      case TcpOptionKinds.mss: // RFC 9293 §3.2
        if (length !== TcpOptionLengths.mss) return TcpDefect["bad-option-length"]
        found.mss = i - start
        break
      case TcpOptionKinds.windowScale: // RFC 7323 §2.2
        if (length !== TcpOptionLengths.windowScale) return TcpDefect["bad-option-length"]
        found.windowScale = i - start
        break
      case TcpOptionKinds.sackPermitted: // RFC 2018 §2
        if (length !== TcpOptionLengths.sackPermitted) return TcpDefect["bad-option-length"]
        found.sackPermitted = i - start
        break
      case TcpOptionKinds.sack: // RFC 2018 §3: 2 + 8n, n ≥ 1
        if (length < 10 || ((length - 2) & 7) !== 0) return TcpDefect["bad-option-length"]
        found.sack = i - start
        break
      case TcpOptionKinds.timestamps: // RFC 7323 §3.2
        if (length !== TcpOptionLengths.timestamps) return TcpDefect["bad-option-length"]
        found.timestamps = i - start
        break
      default: // RFC 9293 §3.1 (MUST-5): skipped by its length
    }
    i += length
  }
  return undefined
}

/** A TCP segment inside a buffer: header at `start`, data to the end of the buffer. */
export class TcpView {
  /** The buffer the segment is in. */
  readonly buffer: PacketBuffer
  /** Index of the header's first byte in `buffer.bytes`. */
  readonly start: number
  readonly #mss: number
  readonly #windowScale: number
  readonly #sackPermitted: number
  readonly #sack: number
  readonly #timestamps: number

  private constructor(buffer: PacketBuffer, start: number, found: OptionOffsets) {
    this.buffer = buffer
    this.start = start
    this.#mss = found.mss
    this.#windowScale = found.windowScale
    this.#sackPermitted = found.sackPermitted
    this.#sack = found.sack
    this.#timestamps = found.timestamps
  }

  /** Scratch for `parse` (single-threaded; copied into the view), so a parse allocates only the view. */
  static readonly #found: OptionOffsets = { mss: 0, windowScale: 0, sackPermitted: 0, sack: 0, timestamps: 0 }

  /**
   * The segment at `offset` past `buffer.data` (its bytes run to the end of
   * the buffer, as the IP layer trimmed them), or the defect that refuses it.
   * Checks, in order: 20 bytes present, data offset ≥ 5, `dataOffset * 4`
   * bytes present, every option length (RFC 9293 §3.1). Makes the header and
   * options linear if they straddle fragments.
   */
  static parse(buffer: PacketBuffer, offset = 0): TcpView | TcpDefect {
    const fixedEnd = offset + TCP_HEADER_LENGTH
    if (!Number.isInteger(offset) || offset < 0 || buffer.length < fixedEnd) return TcpDefect.truncated
    if (buffer.headLength < fixedEnd && buffer.mayPull(fixedEnd) !== undefined) return TcpDefect.truncated
    const start = buffer.data + offset
    const dataOffset = buffer.bytes[start + 12] >>> 4
    if (dataOffset < 5) return TcpDefect["bad-data-offset"]
    const headerEnd = offset + dataOffset * 4
    if (buffer.length < headerEnd) return TcpDefect.truncated
    if (buffer.headLength < headerEnd && buffer.mayPull(headerEnd) !== undefined) return TcpDefect.truncated
    const found = TcpView.#found
    found.mss = 0
    found.windowScale = 0
    found.sackPermitted = 0
    found.sack = 0
    found.timestamps = 0
    // `buffer.bytes` is read again: `mayPull` may have moved the linear area.
    const defect = walkOptions(buffer.bytes, start, start + TCP_HEADER_LENGTH, start + dataOffset * 4, found)
    if (defect !== undefined) return defect
    return new TcpView(buffer, start, found)
  }

  /** Source port. */
  get sourcePort(): number {
    return readU16(this.buffer.bytes, this.start)
  }
  /** Destination port. */
  get destinationPort(): number {
    return readU16(this.buffer.bytes, this.start + 2)
  }
  /** Sequence number (unsigned 32 bits). */
  get sequenceNumber(): number {
    return readU32(this.buffer.bytes, this.start + 4)
  }
  /** Acknowledgment number (unsigned 32 bits; meaningful when `ack`). */
  get acknowledgmentNumber(): number {
    return readU32(this.buffer.bytes, this.start + 8)
  }
  /** Header length in 32-bit words (5 to 15). */
  get dataOffset(): number {
    return this.buffer.bytes[this.start + 12] >>> 4
  }
  /** The 4 reserved bits (the low one was RFC 3540's NS bit, historic per RFC 8311). */
  get reserved(): number {
    return this.buffer.bytes[this.start + 12] & 0x0f
  }
  /** The flag byte: CWR ECE URG ACK PSH RST SYN FIN from the high bit (`TcpFlags`). */
  get flags(): number {
    return this.buffer.bytes[this.start + 13]
  }
  /** Congestion Window Reduced (RFC 3168 §6.1). */
  get cwr(): boolean {
    return (this.flags & TcpFlags.cwr) !== 0
  }
  /** ECN-Echo (RFC 3168 §6.1). */
  get ece(): boolean {
    return (this.flags & TcpFlags.ece) !== 0
  }
  /** The urgent pointer is significant. */
  get urg(): boolean {
    return (this.flags & TcpFlags.urg) !== 0
  }
  /** The acknowledgment number is significant. */
  get ack(): boolean {
    return (this.flags & TcpFlags.ack) !== 0
  }
  /** Push. */
  get psh(): boolean {
    return (this.flags & TcpFlags.psh) !== 0
  }
  /** Reset the connection. */
  get rst(): boolean {
    return (this.flags & TcpFlags.rst) !== 0
  }
  /** Synchronize sequence numbers. */
  get syn(): boolean {
    return (this.flags & TcpFlags.syn) !== 0
  }
  /** No more data from the sender. */
  get fin(): boolean {
    return (this.flags & TcpFlags.fin) !== 0
  }
  /** Window (unscaled, as sent). */
  get window(): number {
    return readU16(this.buffer.bytes, this.start + 14)
  }
  /** The checksum field. */
  get checksum(): number {
    return readU16(this.buffer.bytes, this.start + 16)
  }
  /** Urgent pointer (meaningful when `urg`). */
  get urgentPointer(): number {
    return readU16(this.buffer.bytes, this.start + 18)
  }
  /** Header length in bytes, options included: `dataOffset * 4`. */
  get headerLength(): number {
    return this.dataOffset * 4
  }
  /** Bytes of option space (padding included). */
  get optionsLength(): number {
    return this.headerLength - TCP_HEADER_LENGTH
  }
  /** Header plus data, in bytes: the length that goes into the pseudo-header. */
  get segmentLength(): number {
    return this.buffer.length - (this.start - this.buffer.data)
  }
  /** Offset from `buffer.data` of the first data byte. */
  get payloadOffset(): number {
    return this.start + this.headerLength - this.buffer.data
  }
  /** Bytes of data. */
  get payloadLength(): number {
    return this.segmentLength - this.headerLength
  }

  // ------------------------------------------------------------ options (no allocation)

  /** The MSS option's value (RFC 9293 §3.7.1), or `undefined` when absent. */
  get mss(): number | undefined {
    return this.#mss === 0 ? undefined : readU16(this.buffer.bytes, this.start + this.#mss + 2)
  }
  /** The Window Scale shift as sent (RFC 7323 §2.2; > 14 is the TCP layer's to clamp), or `undefined`. */
  get windowScale(): number | undefined {
    return this.#windowScale === 0 ? undefined : this.buffer.bytes[this.start + this.#windowScale + 2]
  }
  /** Whether a SACK-Permitted option is present (RFC 2018 §2). */
  get sackPermitted(): boolean {
    return this.#sackPermitted !== 0
  }
  /** Whether a Timestamps option is present (RFC 7323 §3.2). */
  get hasTimestamps(): boolean {
    return this.#timestamps !== 0
  }
  /** TSval of the Timestamps option, or `undefined`. */
  get timestampValue(): number | undefined {
    return this.#timestamps === 0 ? undefined : readU32(this.buffer.bytes, this.start + this.#timestamps + 2)
  }
  /** TSecr of the Timestamps option, or `undefined`. */
  get timestampEcho(): number | undefined {
    return this.#timestamps === 0 ? undefined : readU32(this.buffer.bytes, this.start + this.#timestamps + 6)
  }
  /** Number of SACK blocks (RFC 2018 §3), 0 without a SACK option. */
  get sackBlockCount(): number {
    return this.#sack === 0 ? 0 : (this.buffer.bytes[this.start + this.#sack + 1] - 2) >>> 3
  }
  /** Left edge of SACK block `i` (0-based), or `undefined` past the last. */
  sackBlockLeft(i: number): number | undefined {
    return Number.isInteger(i) && i >= 0 && i < this.sackBlockCount
      ? readU32(this.buffer.bytes, this.start + this.#sack + 2 + 8 * i)
      : undefined
  }
  /** Right edge (one past the last byte) of SACK block `i`, or `undefined` past the last. */
  sackBlockRight(i: number): number | undefined {
    return Number.isInteger(i) && i >= 0 && i < this.sackBlockCount
      ? readU32(this.buffer.bytes, this.start + this.#sack + 6 + 8 * i)
      : undefined
  }

  /**
   * Whether the checksum verifies over the pseudo-header, header and data
   * (RFC 9293 §3.1), given the pseudo-header's partial sum computed with
   * `segmentLength` (`ipv4PseudoHeaderSum(src, dst, 6, view.segmentLength)`
   * or `ipv6PseudoHeaderSum`). TCP has no "no checksum" value. A `false` is
   * counted as `TcpDefect["bad-checksum"]`.
   */
  verifyChecksum(pseudoHeaderSum: number): boolean {
    const offset = this.start - this.buffer.data
    const sum = sumPacket(this.buffer, offset, this.buffer.length - offset, pseudoHeaderSum)
    return sum !== undefined && finishChecksum(sum) === 0
  }

  /** The options as a typed list (allocates; off the hot path). Reads the already-validated option space. */
  options(): Array<TcpOption> {
    const bytes = this.buffer.bytes
    const end = this.start + this.headerLength
    const out: Array<TcpOption> = []
    let i = this.start + TCP_HEADER_LENGTH
    while (i < end) {
      const kind = bytes[i]
      if (kind === TcpOptionKinds.eol) {
        out.push({ _tag: "Eol", padding: bytes.slice(i + 1, end) })
        break
      }
      if (kind === TcpOptionKinds.nop) {
        out.push({ _tag: "Nop" })
        i++
        continue
      }
      const length = bytes[i + 1]
      switch (kind) {
        case TcpOptionKinds.mss:
          out.push({ _tag: "Mss", value: readU16(bytes, i + 2) })
          break
        case TcpOptionKinds.windowScale:
          out.push({ _tag: "WindowScale", shift: bytes[i + 2] })
          break
        case TcpOptionKinds.sackPermitted:
          out.push({ _tag: "SackPermitted" })
          break
        case TcpOptionKinds.sack: {
          const blocks: Array<TcpSackBlock> = []
          for (let b = i + 2; b < i + length; b += 8) blocks.push({ left: readU32(bytes, b), right: readU32(bytes, b + 4) })
          out.push({ _tag: "Sack", blocks })
          break
        }
        case TcpOptionKinds.timestamps:
          out.push({ _tag: "Timestamps", value: readU32(bytes, i + 2), echo: readU32(bytes, i + 6) })
          break
        default:
          out.push({ _tag: "Unknown", kind, data: bytes.slice(i + 2, i + length) })
      }
      i += length
    }
    return out
  }

  /** The typed representation (allocates; off the hot path). */
  toHeader(): TcpHeader {
    return {
      sourcePort: this.sourcePort as TcpHeader["sourcePort"],
      destinationPort: this.destinationPort as TcpHeader["destinationPort"],
      sequenceNumber: this.sequenceNumber,
      acknowledgmentNumber: this.acknowledgmentNumber,
      dataOffset: this.dataOffset,
      reserved: this.reserved,
      cwr: this.cwr,
      ece: this.ece,
      urg: this.urg,
      ack: this.ack,
      psh: this.psh,
      rst: this.rst,
      syn: this.syn,
      fin: this.fin,
      window: this.window,
      checksum: this.checksum,
      urgentPointer: this.urgentPointer,
      options: this.options()
    }
  }
}
