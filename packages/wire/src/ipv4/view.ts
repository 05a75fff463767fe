/**
 * A checked, zero-copy view of an IPv4 header inside a `PacketBuffer`:
 * `parse` validates once (lengths, version, header length, total length,
 * option lengths), then getters read fields straight from the bytes.
 */
import { finishChecksum, ipv4PseudoHeaderSum, type PacketBuffer, sumBytes } from "@netstack/buffers"
import { ipv4ToString } from "../addresses/ipv4.ts"
import { readU16, readU32 } from "../bytes.ts"
import { isHeaderDefect } from "../defect.ts"
import { Ipv4Defect } from "./defects.ts"
import { decodeIpv4Options, type Ipv4Options } from "./options.ts"
import { IPV4_HEADER_LENGTH, IPV4_VERSION, type Ipv4Header } from "./schema.ts"

const NO_OPTIONS: Ipv4Options = Object.freeze([])

/**
 * Checks the header at `buffer.data + offset`: makes it linear, then applies
 * RFC 791 §3.1 in the codec's order. `quoted` skips "total length exceeds the
 * bytes present" (an ICMP error quotes only the start of a datagram).
 */
const check = (buffer: PacketBuffer, offset: number, quoted: boolean): Ipv4Defect | undefined => {
  if (!(offset >= 0) || buffer.length < offset + IPV4_HEADER_LENGTH) return Ipv4Defect.truncated
  if (buffer.headLength < offset + IPV4_HEADER_LENGTH && buffer.mayPull(offset + IPV4_HEADER_LENGTH) !== undefined) {
    return Ipv4Defect.truncated
  }
  let bytes = buffer.bytes
  const start = buffer.data + offset
  if (bytes[start] >>> 4 !== IPV4_VERSION) return Ipv4Defect["bad-version"]
  const headerLength = (bytes[start] & 0x0f) << 2
  if (headerLength < IPV4_HEADER_LENGTH) return Ipv4Defect["bad-header-length"]
  const end = offset + headerLength
  if (buffer.length < end) return Ipv4Defect.truncated
  if (buffer.headLength < end) {
    if (buffer.mayPull(end) !== undefined) return Ipv4Defect.truncated
    bytes = buffer.bytes
  }
  const totalLength = readU16(bytes, start + 2)
  if (totalLength < headerLength || (!quoted && totalLength > buffer.length - offset)) {
    return Ipv4Defect["bad-total-length"]
  }
  // RFC 791 §3.1, "Options": one pass; stops at End of Option List (0), steps over No Operation (1),
  // and requires every other option's length octet to be present, at least 2 and within the area.
  const optionsEnd = start + headerLength
  let i = start + IPV4_HEADER_LENGTH
  while (i < optionsEnd) {
    const type = bytes[i]
    if (type === 0) break
    if (type === 1) {
      i++
      continue
    }
    if (i + 1 >= optionsEnd) return Ipv4Defect["bad-option"]
    const length = bytes[i + 1]
    if (length < 2 || i + length > optionsEnd) return Ipv4Defect["bad-option"]
    i += length
  }
  return undefined
}

/** An IPv4 header inside a buffer. */
export class Ipv4View {
  /** The buffer the header is in. */
  readonly buffer: PacketBuffer
  /** Index of the header's first byte in `buffer.bytes`. */
  readonly start: number

  private constructor(buffer: PacketBuffer, start: number) {
    this.buffer = buffer
    this.start = start
  }

  /**
   * The header at `offset` bytes past `buffer.data`, or the defect that
   * refuses it. Makes the whole header (options included) linear if it
   * straddles fragments. Bytes after the total length (link-layer padding)
   * are allowed; trimming them is the network layer's job. The checksum is
   * not verified here: see `verifyChecksum`.
   */
  static parse(buffer: PacketBuffer, offset = 0): Ipv4View | Ipv4Defect {
    const defect = check(buffer, offset, false)
    return defect === undefined ? new Ipv4View(buffer, buffer.data + offset) : defect
  }

  /**
   * The header of a datagram quoted in an ICMP error (RFC 792; RFC 1812
   * §4.3.2.3): as `parse`, except that the total length may exceed the bytes
   * present, since only the start of the datagram is quoted. `payloadLength`
   * then counts bytes that are not in the buffer.
   */
  static parseQuoted(buffer: PacketBuffer, offset = 0): Ipv4View | Ipv4Defect {
    const defect = check(buffer, offset, true)
    return defect === undefined ? new Ipv4View(buffer, buffer.data + offset) : defect
  }

  /** Always 4. */
  get version(): number {
    return this.buffer.bytes[this.start] >>> 4
  }
  /** Header length in bytes (IHL × 4): 20 to 60. */
  get headerLength(): number {
    return (this.buffer.bytes[this.start] & 0x0f) << 2
  }
  /** The Type of Service octet: DSCP and ECN together. */
  get tos(): number {
    return this.buffer.bytes[this.start + 1]
  }
  /** Differentiated Services codepoint (RFC 2474 §3). */
  get dscp(): number {
    return this.buffer.bytes[this.start + 1] >>> 2
  }
  /** Explicit Congestion Notification (RFC 3168 §5): 0 not-ECT, 1 ECT(1), 2 ECT(0), 3 CE. */
  get ecn(): number {
    return this.buffer.bytes[this.start + 1] & 0x03
  }
  /** Header plus data, in bytes. */
  get totalLength(): number {
    return readU16(this.buffer.bytes, this.start + 2)
  }
  /** Identification, for reassembly. */
  get identification(): number {
    return readU16(this.buffer.bytes, this.start + 4)
  }
  /** The three flag bits: 4 reserved, 2 DF, 1 MF. */
  get flags(): number {
    return this.buffer.bytes[this.start + 6] >>> 5
  }
  /** The reserved flag (must be zero; RFC 3514's "evil bit"). */
  get reservedFlag(): boolean {
    return (this.buffer.bytes[this.start + 6] & 0x80) !== 0
  }
  /** DF, don't fragment. */
  get dontFragment(): boolean {
    return (this.buffer.bytes[this.start + 6] & 0x40) !== 0
  }
  /** MF, more fragments. */
  get moreFragments(): boolean {
    return (this.buffer.bytes[this.start + 6] & 0x20) !== 0
  }
  /** Fragment offset in units of 8 bytes. */
  get fragmentOffset(): number {
    return readU16(this.buffer.bytes, this.start + 6) & 0x1fff
  }
  /** Fragment offset in bytes (`fragmentOffset × 8`). */
  get fragmentByteOffset(): number {
    return (readU16(this.buffer.bytes, this.start + 6) & 0x1fff) << 3
  }
  /** True for a fragment: MF set or a non-zero fragment offset (RFC 791 §3.2, "Fragmentation and Reassembly"). */
  get isFragment(): boolean {
    return (readU16(this.buffer.bytes, this.start + 6) & 0x3fff) !== 0
  }
  /** Time to live. */
  get ttl(): number {
    return this.buffer.bytes[this.start + 8]
  }
  /** Protocol of the payload (6 TCP, 17 UDP, 1 ICMP …). */
  get protocol(): number {
    return this.buffer.bytes[this.start + 9]
  }
  /** The header checksum field. */
  get checksum(): number {
    return readU16(this.buffer.bytes, this.start + 10)
  }
  /** Source address, unsigned 32 bits. */
  get source(): number {
    return readU32(this.buffer.bytes, this.start + 12)
  }
  /** Destination address, unsigned 32 bits. */
  get destination(): number {
    return readU32(this.buffer.bytes, this.start + 16)
  }
  /** Bytes of options (padding included): `headerLength − 20`. */
  get optionsLength(): number {
    return ((this.buffer.bytes[this.start] & 0x0f) << 2) - IPV4_HEADER_LENGTH
  }
  /** Offset from `buffer.data` of the first byte after the header. */
  get payloadOffset(): number {
    return this.start + this.headerLength - this.buffer.data
  }
  /** Bytes of payload according to the total length: `totalLength − headerLength`. */
  get payloadLength(): number {
    return this.totalLength - this.headerLength
  }

  /**
   * Whether the header checksum verifies: the ones'-complement sum of the
   * header's 16-bit words, the checksum included, is all ones (RFC 791 §3.1,
   * "Header Checksum"; RFC 1071). A failure is the `bad-checksum` defect.
   */
  verifyChecksum(): boolean {
    return finishChecksum(sumBytes(this.buffer.bytes, this.start, this.start + this.headerLength)) === 0
  }

  /**
   * The partial sum of the pseudo-header a TCP or UDP checksum covers
   * (RFC 768; RFC 9293 §3.1): this header's addresses, `protocol` and the
   * transport `length` (header plus data).
   */
  pseudoHeaderSum(protocol: number, length: number): number {
    return ipv4PseudoHeaderSum(this.source, this.destination, protocol, length)
  }

  /**
   * Offset from `buffer.data` of the first option of type `type` (its type
   * octet), or -1. Allocates nothing: for a hot-path check such as Router
   * Alert (148). Searching for 0 finds End of Option List; nothing after it.
   */
  findOption(type: number): number {
    const bytes = this.buffer.bytes
    const end = this.start + this.headerLength
    let i = this.start + IPV4_HEADER_LENGTH
    while (i < end) {
      const t = bytes[i]
      if (t === type) return i - this.buffer.data
      if (t === 0) return -1
      i += t === 1 ? 1 : bytes[i + 1]
    }
    return -1
  }

  /** The options, decoded (allocates; off the hot path). */
  options(): Ipv4Options {
    const options = decodeIpv4Options(this.buffer.bytes, this.start + IPV4_HEADER_LENGTH, this.start + this.headerLength)
    // parse validated the options, so this never fails.
    return isHeaderDefect(options) ? NO_OPTIONS : options
  }

  /** The typed representation (allocates; off the hot path). */
  toHeader(): Ipv4Header {
    return {
      version: IPV4_VERSION,
      dscp: this.dscp,
      ecn: this.ecn,
      totalLength: this.totalLength,
      identification: this.identification,
      reservedFlag: this.reservedFlag,
      dontFragment: this.dontFragment,
      moreFragments: this.moreFragments,
      fragmentOffset: this.fragmentOffset,
      ttl: this.ttl,
      protocol: this.protocol,
      checksum: this.checksum,
      source: ipv4ToString(this.source),
      destination: ipv4ToString(this.destination),
      options: this.buffer.bytes.slice(this.start + IPV4_HEADER_LENGTH, this.start + this.headerLength)
    }
  }
}
