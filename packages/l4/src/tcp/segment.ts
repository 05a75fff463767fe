/**
 * Segments in and out. An arriving segment is read once from its
 * `TcpView` into a reused record (the stack handles one packet at a time),
 * so the state machine reads plain fields; an outgoing header is written
 * straight into headroom, with only the options this stack sends, allocating
 * nothing (RFC 9293 §3.1 header, §3.2 options; RFC 7323 §3.2 timestamps
 * laid out as Linux does: NOP, NOP, TS).
 */
import { ChecksumState, foldSum, type PacketBuffer } from "@netstack/buffers"
import { TcpFlags, type TcpView, writeU16, writeU32 } from "@netstack/wire"
import type { SackBlock } from "./receive-buffer.ts"

/** An arriving segment, as the state machine reads it. */
export interface Segment {
  seq: number
  ack: number
  flags: number
  /** The window field, unscaled. */
  window: number
  /** Payload bytes. */
  length: number
  /** Offset of the payload from the packet's `data`. */
  payloadOffset: number
  /** MSS option, or 0. */
  mss: number
  /** Window Scale shift, or -1 when absent. */
  wscale: number
  sackPermitted: boolean
  hasTimestamps: boolean
  tsVal: number
  tsEcr: number
  /** SACK blocks (RFC 2018 §3), `sackCount` of them valid. */
  readonly sackBlocks: Array<{ left: number; right: number }>
  sackCount: number
}

/** A fresh segment record (one per TCP module; reused for every arriving segment). */
export const makeSegment = (): Segment => ({
  seq: 0,
  ack: 0,
  flags: 0,
  window: 0,
  length: 0,
  payloadOffset: 0,
  mss: 0,
  wscale: -1,
  sackPermitted: false,
  hasTimestamps: false,
  tsVal: 0,
  tsEcr: 0,
  sackBlocks: [{ left: 0, right: 0 }, { left: 0, right: 0 }, { left: 0, right: 0 }, { left: 0, right: 0 }],
  sackCount: 0
})

/** Fills `seg` from a parsed header. */
export const readSegment = (seg: Segment, view: TcpView): Segment => {
  seg.seq = view.sequenceNumber
  seg.ack = view.acknowledgmentNumber
  seg.flags = view.flags
  seg.window = view.window
  seg.length = view.payloadLength
  seg.payloadOffset = view.payloadOffset
  seg.mss = view.mss ?? 0
  seg.wscale = view.windowScale ?? -1
  seg.sackPermitted = view.sackPermitted
  seg.hasTimestamps = view.hasTimestamps
  seg.tsVal = view.timestampValue ?? 0
  seg.tsEcr = view.timestampEcho ?? 0
  const count = Math.min(view.sackBlockCount, seg.sackBlocks.length)
  for (let i = 0; i < count; i++) {
    const block = seg.sackBlocks[i]
    if (block === undefined) continue
    block.left = view.sackBlockLeft(i) ?? 0
    block.right = view.sackBlockRight(i) ?? 0
  }
  seg.sackCount = count
  return seg
}

/** Segment length in sequence space: data, plus one for SYN and one for FIN (RFC 9293 §3.4). */
export const sequenceLength = (seg: Segment): number =>
  seg.length + ((seg.flags & TcpFlags.syn) !== 0 ? 1 : 0) + ((seg.flags & TcpFlags.fin) !== 0 ? 1 : 0)

/** The options of a SYN or SYN-ACK (what to offer or accept). */
export interface SynOptions {
  readonly mss: number
  /** Window Scale shift, or undefined to send none. */
  readonly wscale: number | undefined
  readonly sackPermitted: boolean
  /** TSval and TSecr, or undefined to send no Timestamps. */
  readonly timestamps: { readonly value: number; readonly echo: number } | undefined
}

/** The options of any other segment. */
export interface SegmentOptions {
  /** TSval and TSecr, or undefined. */
  readonly tsVal: number | undefined
  readonly tsEcr: number
  /** SACK blocks to report (at most 3 with timestamps, 4 without). */
  readonly sack: ReadonlyArray<SackBlock>
}

/** Bytes of the options `synOptionsLength` writes (a multiple of 4). */
export const synOptionsLength = (o: SynOptions): number => {
  // Linux's layout: MSS; then SACK-Permitted and Timestamps together (sackOK,TS = 12) or NOP,NOP,TS or NOP,NOP,sackOK;
  // then NOP, WScale.
  let n = 4
  if (o.timestamps !== undefined) n += 12
  else if (o.sackPermitted) n += 4
  if (o.wscale !== undefined) n += 4
  return n
}

/** Bytes of a non-SYN segment's options: NOP,NOP,TS (12) and NOP,NOP,SACK (4 + 8n). */
export const segmentOptionsLength = (o: SegmentOptions): number =>
  (o.tsVal === undefined ? 0 : 12) + (o.sack.length === 0 ? 0 : 4 + 8 * o.sack.length)

/** Writes SYN options at `bytes[i]` (`synOptionsLength(o)` bytes). */
const writeSynOptions = (bytes: Uint8Array, at: number, o: SynOptions): void => {
  let i = at
  bytes[i] = 2 // MSS (RFC 9293 §3.2)
  bytes[i + 1] = 4
  writeU16(bytes, i + 2, o.mss)
  i += 4
  if (o.timestamps !== undefined) {
    if (o.sackPermitted) {
      bytes[i] = 4 // SACK-Permitted (RFC 2018 §2)
      bytes[i + 1] = 2
    } else {
      bytes[i] = 1
      bytes[i + 1] = 1
    }
    bytes[i + 2] = 8 // Timestamps (RFC 7323 §3.2)
    bytes[i + 3] = 10
    writeU32(bytes, i + 4, o.timestamps.value)
    writeU32(bytes, i + 8, o.timestamps.echo)
    i += 12
  } else if (o.sackPermitted) {
    bytes[i] = 1
    bytes[i + 1] = 1
    bytes[i + 2] = 4
    bytes[i + 3] = 2
    i += 4
  }
  if (o.wscale !== undefined) {
    bytes[i] = 1
    bytes[i + 1] = 3 // Window Scale (RFC 7323 §2.2)
    bytes[i + 2] = 3
    bytes[i + 3] = o.wscale
  }
}

/** Writes a non-SYN segment's options at `bytes[i]`. */
const writeSegmentOptions = (bytes: Uint8Array, at: number, o: SegmentOptions): void => {
  let i = at
  if (o.tsVal !== undefined) {
    bytes[i] = 1
    bytes[i + 1] = 1
    bytes[i + 2] = 8
    bytes[i + 3] = 10
    writeU32(bytes, i + 4, o.tsVal)
    writeU32(bytes, i + 8, o.tsEcr)
    i += 12
  }
  if (o.sack.length > 0) {
    bytes[i] = 1
    bytes[i + 1] = 1
    bytes[i + 2] = 5 // SACK (RFC 2018 §3)
    bytes[i + 3] = 2 + 8 * o.sack.length
    i += 4
    for (const block of o.sack) {
      writeU32(bytes, i, block.left)
      writeU32(bytes, i + 4, block.right)
      i += 8
    }
  }
}

/** The fixed fields of an outgoing header. */
export interface HeaderFields {
  readonly sourcePort: number
  readonly destinationPort: number
  readonly seq: number
  readonly ack: number
  readonly flags: number
  readonly window: number
}

/**
 * Pushes a TCP header with `options` in front of `packet.data` and leaves
 * the checksum partial (RFC 9293 §3.1: the pseudo-header sum with the
 * segment length in the field, `meta.checksum` Partial), for the NIC or the
 * driver's software fallback to complete. Returns false if the headroom is
 * too small (which the callers' buffers rule out).
 */
export const pushHeader = (
  packet: PacketBuffer,
  fields: HeaderFields,
  options: SynOptions | SegmentOptions | undefined,
  pseudoHeaderSumWithoutLength: number
): boolean => {
  const optionsLength = options === undefined ? 0 : "mss" in options ? synOptionsLength(options) : segmentOptionsLength(options)
  const headerLength = 20 + optionsLength
  if (packet.push(headerLength) !== undefined) return false
  const bytes = packet.writableBytes()
  if (!(bytes instanceof Uint8Array)) return false
  const i = packet.data
  writeU16(bytes, i, fields.sourcePort)
  writeU16(bytes, i + 2, fields.destinationPort)
  writeU32(bytes, i + 4, fields.seq >>> 0)
  writeU32(bytes, i + 8, fields.ack >>> 0)
  bytes[i + 12] = (headerLength >>> 2) << 4
  bytes[i + 13] = fields.flags
  writeU16(bytes, i + 14, fields.window)
  writeU16(bytes, i + 18, 0)
  if (options !== undefined) {
    if ("mss" in options) writeSynOptions(bytes, i + 20, options)
    else writeSegmentOptions(bytes, i + 20, options)
  }
  // CHECKSUM_PARTIAL: the field holds the (uncomplemented) pseudo-header sum, completed over the segment later.
  writeU16(bytes, i + 16, foldSum(pseudoHeaderSumWithoutLength + packet.length))
  packet.resetTransportHeader()
  packet.meta.checksum = ChecksumState.partial(packet.data, 16)
  return true
}

/** Flag letters as tcpdump prints them, for traces. */
export const flagNames = (flags: number): string =>
  (flags & TcpFlags.syn ? "S" : "") + (flags & TcpFlags.fin ? "F" : "") + (flags & TcpFlags.rst ? "R" : "") +
  (flags & TcpFlags.psh ? "P" : "") + (flags & TcpFlags.ack ? "." : "")
