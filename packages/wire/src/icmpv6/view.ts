/**
 * A checked, zero-copy view of an ICMPv6 message inside a `PacketBuffer`.
 * `parse` validates the layout once (lengths, NDP options), recording where
 * the common NDP options are; getters read fields straight from the bytes.
 */
import { finishChecksum, type PacketBuffer, sumPacket } from "@netstack/buffers"
import { ipv6Equals, ipv6ToString } from "../addresses/ipv6.ts"
import { macToString, readMac } from "../addresses/mac.ts"
import { readU16, readU32 } from "../bytes.ts"
import { Icmpv6Defect } from "./defects.ts"
import {
  ICMPV6_HEADER_LENGTH,
  type Icmpv6Message,
  Icmpv6Types,
  type NdpOption,
  NdpOptionTypes,
  ndpOptionsStart
} from "./schema.ts"

/** Makes packet bytes `[0, end)` (from `buffer.data`) linear; false if it cannot. */
const linear = (buffer: PacketBuffer, end: number): boolean =>
  buffer.headLength >= end || buffer.mayPull(end) === undefined

/** An ICMPv6 message inside a buffer. */
export class Icmpv6View {
  /** The buffer the message is in. */
  readonly buffer: PacketBuffer
  /** Index of the message's first byte in `buffer.bytes`. */
  readonly start: number
  /** Bytes in the message: from `start` to the end of the buffer when parsed. */
  readonly length: number
  /** Index in `buffer.bytes` of the first NDP option's type byte, or -1 for a message without options. */
  private readonly optionsStart: number
  /** Index in `buffer.bytes` of the first 8-byte Source Link-Layer Address option, or -1. */
  private readonly sourceLinkLayerStart: number
  /** Index in `buffer.bytes` of the first 8-byte Target Link-Layer Address option, or -1. */
  private readonly targetLinkLayerStart: number
  /** Index in `buffer.bytes` of the first 8-byte MTU option, or -1. */
  private readonly mtuOptionStart: number

  private constructor(
    buffer: PacketBuffer,
    start: number,
    length: number,
    optionsStart: number,
    sourceLinkLayerStart: number,
    targetLinkLayerStart: number,
    mtuOptionStart: number
  ) {
    this.buffer = buffer
    this.start = start
    this.length = length
    this.optionsStart = optionsStart
    this.sourceLinkLayerStart = sourceLinkLayerStart
    this.targetLinkLayerStart = targetLinkLayerStart
    this.mtuOptionStart = mtuOptionStart
  }

  /**
   * The message at `offset` past `buffer.data` (it runs to the end of the
   * buffer, as the IPv6 layer trimmed it), or the defect that refuses it.
   * Makes the 8-byte header linear, and all of an NDP message (its options).
   */
  static parse(buffer: PacketBuffer, offset = 0): Icmpv6View | Icmpv6Defect {
    if (!(offset >= 0)) return Icmpv6Defect.truncated
    const n = buffer.length - offset
    if (n < ICMPV6_HEADER_LENGTH || !linear(buffer, offset + ICMPV6_HEADER_LENGTH)) return Icmpv6Defect.truncated
    const start = buffer.data + offset
    const first = ndpOptionsStart(buffer.bytes[start])
    if (first < 0) return new Icmpv6View(buffer, start, n, -1, -1, -1, -1)
    // RFC 4861 §4: the fixed part of the NDP message.
    if (n < first || !linear(buffer, offset + n)) return Icmpv6Defect.truncated
    const bytes = buffer.bytes
    let source = -1
    let target = -1
    let mtu = -1
    // RFC 4861 §4.6: type, length in units of 8 bytes (never 0), within the message.
    for (let p = first; p < n; ) {
      if (p + 2 > n) return Icmpv6Defect["truncated-option"]
      const units = bytes[start + p + 1]
      if (units === 0) return Icmpv6Defect["zero-option-length"]
      if (p + units * 8 > n) return Icmpv6Defect["truncated-option"]
      if (units === 1) {
        const type = bytes[start + p]
        if (type === NdpOptionTypes.sourceLinkLayerAddress && source < 0) source = start + p
        else if (type === NdpOptionTypes.targetLinkLayerAddress && target < 0) target = start + p
        else if (type === NdpOptionTypes.mtu && mtu < 0) mtu = start + p
      }
      p += units * 8
    }
    return new Icmpv6View(buffer, start, n, start + first, source, target, mtu)
  }

  /** ICMPv6 type. */
  get type(): number {
    return this.buffer.bytes[this.start]
  }
  /** Code. */
  get code(): number {
    return this.buffer.bytes[this.start + 1]
  }
  /** The checksum field. */
  get checksum(): number {
    return readU16(this.buffer.bytes, this.start + 2)
  }
  /** The 4 bytes after the checksum as a 32-bit number (unused, MTU, pointer, or flags, by type). */
  get rest(): number {
    return readU32(this.buffer.bytes, this.start + 4)
  }
  /** Echo identifier (RFC 4443 §4). */
  get identifier(): number {
    return readU16(this.buffer.bytes, this.start + 4)
  }
  /** Echo sequence number (RFC 4443 §4). */
  get sequence(): number {
    return readU16(this.buffer.bytes, this.start + 6)
  }
  /** Packet Too Big MTU (RFC 4443 §3.2). */
  get mtu(): number {
    return this.rest
  }
  /** Parameter Problem pointer (RFC 4443 §3.4). */
  get pointer(): number {
    return this.rest
  }
  /** Offset from `buffer.data` of byte 8: echo data, an error's invoking packet, an NDP message's body. */
  get bodyOffset(): number {
    return this.start + ICMPV6_HEADER_LENGTH - this.buffer.data
  }
  /** Router Advertisement Cur Hop Limit (RFC 4861 §4.2). */
  get curHopLimit(): number {
    return this.buffer.bytes[this.start + 4]
  }
  /** Router Advertisement M flag (managed address configuration). */
  get managed(): boolean {
    return (this.buffer.bytes[this.start + 5] & 0x80) !== 0
  }
  /** Router Advertisement O flag (other configuration). */
  get other(): boolean {
    return (this.buffer.bytes[this.start + 5] & 0x40) !== 0
  }
  /** Router Advertisement Router Lifetime, seconds. */
  get routerLifetime(): number {
    return readU16(this.buffer.bytes, this.start + 6)
  }
  /** Router Advertisement Reachable Time, milliseconds. */
  get reachableTime(): number {
    return readU32(this.buffer.bytes, this.start + 8)
  }
  /** Router Advertisement Retrans Timer, milliseconds. */
  get retransTimer(): number {
    return readU32(this.buffer.bytes, this.start + 12)
  }
  /** Neighbor Advertisement R flag (the sender is a router, RFC 4861 §4.4). */
  get router(): boolean {
    return (this.buffer.bytes[this.start + 4] & 0x80) !== 0
  }
  /** Neighbor Advertisement S flag (sent in response to a solicitation). */
  get solicited(): boolean {
    return (this.buffer.bytes[this.start + 4] & 0x40) !== 0
  }
  /** Neighbor Advertisement O flag (override the cached link-layer address). */
  get override(): boolean {
    return (this.buffer.bytes[this.start + 4] & 0x20) !== 0
  }
  /** Offset from `buffer.data` of the 16-byte target address (Neighbor Solicitation/Advertisement, Redirect). */
  get targetOffset(): number {
    return this.start + 8 - this.buffer.data
  }
  /** Offset from `buffer.data` of the 16-byte destination address of a Redirect. */
  get destinationOffset(): number {
    return this.start + 24 - this.buffer.data
  }
  /** Whether the target address equals the 16 bytes at `address[at]`, compared in place. */
  targetEquals(address: Uint8Array, at = 0): boolean {
    return ipv6Equals(this.buffer.bytes, this.start + 8, address, at)
  }
  /** Offset from `buffer.data` of the first NDP option, or -1 for a message without options. */
  get optionsOffset(): number {
    return this.optionsStart < 0 ? -1 : this.optionsStart - this.buffer.data
  }
  /** Offset from `buffer.data` of the end of the message. */
  get endOffset(): number {
    return this.start + this.length - this.buffer.data
  }
  /** The type of the NDP option at `offset` (from `buffer.data`; from `optionsOffset` or `nextOptionOffset`). */
  optionType(offset: number): number {
    return this.buffer.bytes[this.buffer.data + offset]
  }
  /** Bytes in the NDP option at `offset`, type and length included. */
  optionLength(offset: number): number {
    return this.buffer.bytes[this.buffer.data + offset + 1] * 8
  }
  /** Offset of the NDP option after the one at `offset`, or -1 after the last. */
  nextOptionOffset(offset: number): number {
    const next = offset + this.optionLength(offset)
    return next < this.endOffset ? next : -1
  }
  /** The first Source Link-Layer Address option's Ethernet address (48 bits as a number), or -1. */
  get sourceLinkLayerAddress(): number {
    return this.sourceLinkLayerStart < 0 ? -1 : readMac(this.buffer.bytes, this.sourceLinkLayerStart + 2)
  }
  /** The first Target Link-Layer Address option's Ethernet address (48 bits as a number), or -1. */
  get targetLinkLayerAddress(): number {
    return this.targetLinkLayerStart < 0 ? -1 : readMac(this.buffer.bytes, this.targetLinkLayerStart + 2)
  }
  /** The first MTU option's MTU (RFC 4861 §4.6.4), or -1. */
  get mtuOption(): number {
    return this.mtuOptionStart < 0 ? -1 : readU32(this.buffer.bytes, this.mtuOptionStart + 4)
  }

  /**
   * Whether the checksum verifies (RFC 4443 §2.3), given the partial sum of
   * the IPv6 pseudo-header for Next Header 58 and this message's length
   * (`ipv6View.pseudoHeaderSum()`, or `ipv6PseudoHeaderSum(src, dst, 58, view.length)`).
   */
  verifyChecksum(pseudoHeaderSum: number): boolean {
    const sum = sumPacket(this.buffer, this.start - this.buffer.data, this.length, pseudoHeaderSum)
    return sum !== undefined && finishChecksum(sum) === 0
  }

  /** The NDP options (allocates). */
  private options(): Array<NdpOption> {
    const out: Array<NdpOption> = []
    if (this.optionsStart < 0) return out
    const b = this.buffer.bytes
    const end = this.start + this.length
    for (let p = this.optionsStart; p < end; p += b[p + 1] * 8) {
      const type = b[p]
      const units = b[p + 1]
      if (units === 1 && type === NdpOptionTypes.sourceLinkLayerAddress) {
        out.push({ _tag: "SourceLinkLayerAddress", address: macToString(readMac(b, p + 2)) })
      } else if (units === 1 && type === NdpOptionTypes.targetLinkLayerAddress) {
        out.push({ _tag: "TargetLinkLayerAddress", address: macToString(readMac(b, p + 2)) })
      } else if (units === 1 && type === NdpOptionTypes.mtu) {
        out.push({ _tag: "Mtu", reserved: readU16(b, p + 2), mtu: readU32(b, p + 4) })
      } else if (units === 4 && type === NdpOptionTypes.prefixInformation) {
        out.push({
          _tag: "PrefixInformation",
          prefixLength: b[p + 2],
          onLink: (b[p + 3] & 0x80) !== 0,
          autonomous: (b[p + 3] & 0x40) !== 0,
          flags: b[p + 3] & 0x3f,
          validLifetime: readU32(b, p + 4),
          preferredLifetime: readU32(b, p + 8),
          reserved: readU32(b, p + 12),
          prefix: ipv6ToString(b, p + 16)
        })
      } else if (type === NdpOptionTypes.redirectedHeader) {
        out.push({
          _tag: "RedirectedHeader",
          reserved: readU16(b, p + 2) * 0x100000000 + readU32(b, p + 4),
          packet: b.slice(p + 8, p + units * 8)
        })
      } else {
        out.push({ _tag: "UnknownNdpOption", type, data: b.slice(p + 2, p + units * 8) })
      }
    }
    return out
  }

  /** Copies bytes 8 to the end (echo data, invoking packet, unknown data), across fragments. */
  private body(): Uint8Array {
    const out = new Uint8Array(this.length - ICMPV6_HEADER_LENGTH)
    this.buffer.copyOut(this.bodyOffset, out.length, out)
    return out
  }

  /** The typed representation (allocates; off the hot path). */
  toHeader(): Icmpv6Message {
    const b = this.buffer.bytes
    const s = this.start
    const code = this.code
    const checksum = this.checksum
    switch (this.type) {
      case Icmpv6Types.echoRequest:
        return { _tag: "EchoRequest", code, checksum, identifier: this.identifier, sequence: this.sequence, data: this.body() }
      case Icmpv6Types.echoReply:
        return { _tag: "EchoReply", code, checksum, identifier: this.identifier, sequence: this.sequence, data: this.body() }
      case Icmpv6Types.destinationUnreachable:
        return { _tag: "DestinationUnreachable", code, checksum, unused: this.rest, invokingPacket: this.body() }
      case Icmpv6Types.packetTooBig:
        return { _tag: "PacketTooBig", code, checksum, mtu: this.mtu, invokingPacket: this.body() }
      case Icmpv6Types.timeExceeded:
        return { _tag: "TimeExceeded", code, checksum, unused: this.rest, invokingPacket: this.body() }
      case Icmpv6Types.parameterProblem:
        return { _tag: "ParameterProblem", code, checksum, pointer: this.pointer, invokingPacket: this.body() }
      case Icmpv6Types.routerSolicitation:
        return { _tag: "RouterSolicitation", code, checksum, reserved: this.rest, options: this.options() }
      case Icmpv6Types.routerAdvertisement:
        return {
          _tag: "RouterAdvertisement",
          code,
          checksum,
          curHopLimit: this.curHopLimit,
          managed: this.managed,
          other: this.other,
          flags: b[s + 5] & 0x3f,
          routerLifetime: this.routerLifetime,
          reachableTime: this.reachableTime,
          retransTimer: this.retransTimer,
          options: this.options()
        }
      case Icmpv6Types.neighborSolicitation:
        return {
          _tag: "NeighborSolicitation",
          code,
          checksum,
          reserved: this.rest,
          target: ipv6ToString(b, s + 8),
          options: this.options()
        }
      case Icmpv6Types.neighborAdvertisement:
        return {
          _tag: "NeighborAdvertisement",
          code,
          checksum,
          router: this.router,
          solicited: this.solicited,
          override: this.override,
          reserved: this.rest & 0x1fffffff,
          target: ipv6ToString(b, s + 8),
          options: this.options()
        }
      case Icmpv6Types.redirect:
        return {
          _tag: "Redirect",
          code,
          checksum,
          reserved: this.rest,
          target: ipv6ToString(b, s + 8),
          destination: ipv6ToString(b, s + 24),
          options: this.options()
        }
      default:
        return { _tag: "UnknownIcmpv6", type: this.type, code, checksum, rest: this.rest, data: this.body() }
    }
  }
}
