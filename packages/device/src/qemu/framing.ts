/**
 * The framing of QEMU's `-netdev stream` (and `-netdev socket`, and passt):
 * each Ethernet frame is sent as a 4-byte big-endian length, then the frame
 * (QEMU net/stream.c `net_stream_receive`, net/net.c `net_fill_rstate`).
 * A byte stream may split a frame over many reads or put many frames in
 * one; the deframer reassembles them. A length of zero, or above the limit
 * (QEMU's `NET_BUFSIZE`, 4096 + 65536 bytes), cannot be a frame: the stream
 * is out of step and the connection must be closed.
 */

/** Bytes of the length prefix. */
export const STREAM_HEADER_BYTES = 4

/** QEMU's `NET_BUFSIZE` (include/net/net.h): the longest frame a stream netdev carries. */
export const QEMU_MAX_FRAME = 4096 + 65536

/** Why a stream is out of step: a length that cannot be a frame's. */
export type FramingDefect = "zero-length" | "too-long"

/** The 4-byte big-endian length prefix of a frame of `length` bytes. */
export const lengthPrefix = (length: number): Uint8Array => {
  const out = new Uint8Array(STREAM_HEADER_BYTES)
  out[0] = (length >>> 24) & 0xff
  out[1] = (length >>> 16) & 0xff
  out[2] = (length >>> 8) & 0xff
  out[3] = length & 0xff
  return out
}

/** `frame` with its length prefix, in one new array. */
export const framed = (frame: Uint8Array): Uint8Array => {
  const out = new Uint8Array(STREAM_HEADER_BYTES + frame.length)
  out.set(lengthPrefix(frame.length))
  out.set(frame, STREAM_HEADER_BYTES)
  return out
}

/**
 * Cuts a byte stream into frames. Whole frames inside one chunk are handed
 * over as views of that chunk (no copy); a frame split across chunks is
 * gathered in a buffer of its own. A frame is only valid during the
 * callback. After a defect the deframer stays failed: the caller closes the
 * stream.
 */
export class StreamDeframer {
  private readonly maxFrame: number
  private readonly onFrame: (frame: Uint8Array) => void
  private readonly header = new Uint8Array(STREAM_HEADER_BYTES)
  private headerHave = 0
  /** The frame being gathered across chunks, and how much of it is here. */
  private partial: Uint8Array | undefined = undefined
  private partialHave = 0
  private failed: FramingDefect | undefined = undefined

  /** A deframer for frames up to `maxFrame` bytes, calling `onFrame` for each. */
  constructor(maxFrame: number, onFrame: (frame: Uint8Array) => void) {
    this.maxFrame = maxFrame
    this.onFrame = onFrame
  }

  /** The defect that stopped the stream, if any. */
  get defect(): FramingDefect | undefined {
    return this.failed
  }

  /** Takes the next bytes of the stream; returns a defect once the stream is out of step (and ignores later bytes). */
  push(chunk: Uint8Array): FramingDefect | undefined {
    if (this.failed !== undefined) return this.failed
    let at = 0
    const end = chunk.length
    while (at < end) {
      const partial = this.partial
      if (partial !== undefined) {
        const take = Math.min(partial.length - this.partialHave, end - at)
        partial.set(chunk.subarray(at, at + take), this.partialHave)
        this.partialHave += take
        at += take
        if (this.partialHave === partial.length) {
          this.partial = undefined
          this.onFrame(partial)
        }
        continue
      }
      let length: number
      if (this.headerHave === 0 && end - at >= STREAM_HEADER_BYTES) {
        length = ((chunk[at] << 24) | (chunk[at + 1] << 16) | (chunk[at + 2] << 8) | chunk[at + 3]) >>> 0
        at += STREAM_HEADER_BYTES
      } else {
        while (this.headerHave < STREAM_HEADER_BYTES && at < end) this.header[this.headerHave++] = chunk[at++]
        if (this.headerHave < STREAM_HEADER_BYTES) break
        const h = this.header
        length = ((h[0] << 24) | (h[1] << 16) | (h[2] << 8) | h[3]) >>> 0
        this.headerHave = 0
      }
      if (length === 0) return (this.failed = "zero-length")
      if (length > this.maxFrame) return (this.failed = "too-long")
      if (end - at >= length) {
        this.onFrame(chunk.subarray(at, at + length))
        at += length
      } else {
        this.partial = new Uint8Array(length)
        this.partialHave = 0
      }
    }
    return undefined
  }
}
