/** A checked, zero-copy view of a UDP header and its datagram inside a `PacketBuffer`. */
import { finishChecksum, type PacketBuffer, sumPacket } from "@netstack/buffers"
import { readU16 } from "../bytes.ts"
import { UdpDefect } from "./defects.ts"
import { UDP_HEADER_LENGTH, type UdpHeader } from "./schema.ts"

/** A UDP datagram inside a buffer. */
export class UdpView {
  /** The buffer the datagram is in. */
  readonly buffer: PacketBuffer
  /** Index of the header's first byte in `buffer.bytes`. */
  readonly start: number

  private constructor(buffer: PacketBuffer, start: number) {
    this.buffer = buffer
    this.start = start
  }

  /**
   * The datagram at `offset` past `buffer.data` (its bytes run to the end of
   * the buffer, as the IP layer trimmed them), or the defect that refuses it.
   * With `firstFragment`, the buffer holds only the start of the datagram
   * (the first fragment of an IP datagram), so its length may run past the
   * bytes here; only the header must be there. The data is then incomplete:
   * `verifyChecksum` fails.
   */
  static parse(buffer: PacketBuffer, offset = 0, firstFragment = false): UdpView | UdpDefect {
    const end = offset + UDP_HEADER_LENGTH
    if (!(offset >= 0) || buffer.length < end) return UdpDefect.truncated
    if (buffer.headLength < end && buffer.mayPull(end) !== undefined) return UdpDefect.truncated
    const start = buffer.data + offset
    const length = readU16(buffer.bytes, start + 4)
    if (length < UDP_HEADER_LENGTH || (length > buffer.length - offset && !firstFragment)) return UdpDefect["bad-length"]
    return new UdpView(buffer, start)
  }

  /** Source port. */
  get sourcePort(): number {
    return readU16(this.buffer.bytes, this.start)
  }
  /** Destination port. */
  get destinationPort(): number {
    return readU16(this.buffer.bytes, this.start + 2)
  }
  /** Header plus data, in bytes. */
  get length(): number {
    return readU16(this.buffer.bytes, this.start + 4)
  }
  /** The checksum field. */
  get checksum(): number {
    return readU16(this.buffer.bytes, this.start + 6)
  }
  /** Always 8. */
  get headerLength(): number {
    return UDP_HEADER_LENGTH
  }
  /** Offset from `buffer.data` of the first data byte. */
  get payloadOffset(): number {
    return this.start + UDP_HEADER_LENGTH - this.buffer.data
  }
  /** Bytes of data, as the length field says (in a first fragment, more than the buffer holds). */
  get payloadLength(): number {
    return this.length - UDP_HEADER_LENGTH
  }

  /**
   * Whether the checksum verifies, given the pseudo-header's partial sum
   * (`ipv4PseudoHeaderSum(src, dst, 17, view.length)`). A zero checksum field
   * means none was sent; it verifies only where `allowZero` (IPv4, RFC 768).
   */
  verifyChecksum(pseudoHeaderSum: number, allowZero: boolean): boolean {
    if (this.checksum === 0) return allowZero
    const sum = sumPacket(this.buffer, this.start - this.buffer.data, this.length, pseudoHeaderSum)
    return sum !== undefined && finishChecksum(sum) === 0
  }

  /** The typed representation (allocates; off the hot path). */
  toHeader(): UdpHeader {
    return {
      sourcePort: this.sourcePort as UdpHeader["sourcePort"],
      destinationPort: this.destinationPort as UdpHeader["destinationPort"],
      length: this.length,
      checksum: this.checksum
    }
  }
}
