/** A checked, zero-copy view of an ICMPv4 message inside a `PacketBuffer`. */
import { finishChecksum, type PacketBuffer, sumPacket } from "@netstack/buffers"
import { ipv4ToString } from "../addresses/ipv4.ts"
import { readU16, readU32 } from "../bytes.ts"
import { Icmpv4Defect } from "./defects.ts"
import { ICMPV4_HEADER_LENGTH, type Icmpv4Message } from "./schema.ts"

/** An ICMPv4 message inside a buffer; it runs from its header to the end of the buffer. */
export class Icmpv4View {
  /** The buffer the message is in. */
  readonly buffer: PacketBuffer
  /** Index of the header's first byte in `buffer.bytes`. */
  readonly start: number

  private constructor(buffer: PacketBuffer, start: number) {
    this.buffer = buffer
    this.start = start
  }

  /**
   * The message at `offset` past `buffer.data` (its bytes run to the end of
   * the buffer, as the IP layer trimmed them), or the defect that refuses it.
   * Every type and code is accepted; the checksum is not verified here (see
   * `verifyChecksum`).
   */
  static parse(buffer: PacketBuffer, offset = 0): Icmpv4View | Icmpv4Defect {
    const end = offset + ICMPV4_HEADER_LENGTH
    if (!(offset >= 0) || buffer.length < end) return Icmpv4Defect.truncated
    if (buffer.headLength < end && buffer.mayPull(end) !== undefined) return Icmpv4Defect.truncated
    return new Icmpv4View(buffer, buffer.data + offset)
  }

  /** Message type. */
  get type(): number {
    return this.buffer.bytes[this.start]
  }
  /** Message code. */
  get code(): number {
    return this.buffer.bytes[this.start + 1]
  }
  /** The checksum field. */
  get checksum(): number {
    return readU16(this.buffer.bytes, this.start + 2)
  }
  /** The 4 bytes after the checksum, unsigned 32 bits. */
  get restOfHeader(): number {
    return readU32(this.buffer.bytes, this.start + 4)
  }
  /** Echo identifier (bytes 4–5; RFC 792). */
  get identifier(): number {
    return readU16(this.buffer.bytes, this.start + 4)
  }
  /** Echo sequence number (bytes 6–7; RFC 792). */
  get sequence(): number {
    return readU16(this.buffer.bytes, this.start + 6)
  }
  /** Parameter problem pointer (byte 4; RFC 792). */
  get pointer(): number {
    return this.buffer.bytes[this.start + 4]
  }
  /** Redirect gateway address, unsigned 32 bits (bytes 4–7; RFC 792). */
  get gateway(): number {
    return readU32(this.buffer.bytes, this.start + 4)
  }
  /** Next-hop MTU of a "fragmentation needed" destination unreachable (bytes 6–7; RFC 1191 §4). */
  get nextHopMtu(): number {
    return readU16(this.buffer.bytes, this.start + 6)
  }
  /**
   * True for an error message (destination unreachable, source quench,
   * redirect, time exceeded, parameter problem), about which no ICMP error is
   * ever sent (RFC 1122 §3.2.2).
   */
  get isError(): boolean {
    const t = this.buffer.bytes[this.start]
    return t === 3 || t === 4 || t === 5 || t === 11 || t === 12
  }
  /** Bytes in the whole message: from the header to the end of the buffer. */
  get length(): number {
    return this.buffer.length - (this.start - this.buffer.data)
  }
  /** Always 8. */
  get headerLength(): number {
    return ICMPV4_HEADER_LENGTH
  }
  /** Offset from `buffer.data` of the first byte after the header (echo data, the invoking datagram). */
  get payloadOffset(): number {
    return this.start + ICMPV4_HEADER_LENGTH - this.buffer.data
  }
  /** Bytes after the header. */
  get payloadLength(): number {
    return this.length - ICMPV4_HEADER_LENGTH
  }

  /**
   * Whether the checksum verifies: the ones'-complement sum over the whole
   * message, checksum included, is all ones (RFC 792, "Checksum"; no
   * pseudo-header). A failure is the `bad-checksum` defect.
   */
  verifyChecksum(): boolean {
    const sum = sumPacket(this.buffer, this.start - this.buffer.data, this.length)
    return sum !== undefined && finishChecksum(sum) === 0
  }

  /** The typed representation (allocates; off the hot path). */
  toHeader(): Icmpv4Message {
    const bytes = this.buffer.bytes
    const type = this.type
    const code = this.code
    const checksum = this.checksum
    const rest = this.restOfHeader
    const body = new Uint8Array(this.payloadLength)
    this.buffer.copyOut(this.payloadOffset, body.length, body)
    // RFC 792 (and RFC 1191 §4 for code 4): a typed kind only when every byte fits it; see `icmpv4Kind`.
    if ((type === 0 || type === 8) && code === 0) {
      return {
        _tag: type === 0 ? "EchoReply" : "EchoRequest",
        checksum,
        identifier: this.identifier,
        sequence: this.sequence,
        data: body
      }
    }
    if (type === 3 && code <= 15) {
      if (code === 4 && readU16(bytes, this.start + 4) === 0) {
        return { _tag: "DestinationUnreachable", code, checksum, nextHopMtu: this.nextHopMtu, invoking: body }
      }
      if (code !== 4 && rest === 0) return { _tag: "DestinationUnreachable", code, checksum, invoking: body }
    }
    if (type === 11 && rest === 0) return { _tag: "TimeExceeded", code, checksum, invoking: body }
    if (type === 5) return { _tag: "Redirect", code, checksum, gateway: ipv4ToString(rest), invoking: body }
    if (type === 12 && bytes[this.start + 5] === 0 && bytes[this.start + 6] === 0 && bytes[this.start + 7] === 0) {
      return { _tag: "ParameterProblem", code, checksum, pointer: this.pointer, invoking: body }
    }
    return { _tag: "Other", type, code, checksum, restOfHeader: rest, data: body }
  }
}
