/** Writes an ICMPv6 message header (and an NDP message's body and options) in front of its data, with the checksum. */
import { type BufferReleased, type HeadroomExceeded, InvalidLength, type PacketBuffer } from "@netstack/buffers"
import { ipv6ToBytes } from "../addresses/ipv6.ts"
import { macToNumber, writeMac } from "../addresses/mac.ts"
import { writeU16, writeU32 } from "../bytes.ts"
import { fillTransportChecksum, type TransportChecksum } from "../transport-checksum.ts"
import {
  ICMPV6_HEADER_LENGTH,
  type Icmpv6Message,
  icmpv6Type,
  type NdpOption,
  NdpOptionTypes,
  ndpOptionsStart
} from "./schema.ts"

/** An NDP option to emit (RFC 4861 §4.6), in hot-path forms. */
export type NdpOptionFields =
  | {
    readonly _tag: "SourceLinkLayerAddress" | "TargetLinkLayerAddress"
    /** Ethernet address, 48 bits as a number. */
    readonly address: number
  }
  | {
    readonly _tag: "PrefixInformation"
    readonly prefixLength: number
    readonly onLink: boolean
    readonly autonomous: boolean
    /** The six other flag bits, 0 unless given. */
    readonly flags?: number
    readonly validLifetime: number
    readonly preferredLifetime: number
    /** Reserved2, 0 unless given. */
    readonly reserved?: number
    /** The 16 prefix bytes. */
    readonly prefix: Uint8Array
  }
  | {
    readonly _tag: "RedirectedHeader"
    /** The 48 reserved bits, 0 unless given. */
    readonly reserved?: number
    /** The start of the redirected packet; zero-padded to a multiple of 8 bytes. */
    readonly packet: Uint8Array
  }
  | { readonly _tag: "Mtu"; readonly mtu: number; readonly reserved?: number }
  | {
    readonly _tag: "UnknownNdpOption"
    readonly type: number
    /** The data after type and length; zero-padded to 6 bytes less than a multiple of 8. */
    readonly data: Uint8Array
  }

/**
 * What the emitter needs: the message without its checksum and without what
 * follows its header, which is the buffer's data (echo data, an error's
 * invoking packet, an unknown message's data). Reserved and unused fields are
 * 0 unless given. The caller trims an error's invoking packet so the message
 * fits the minimum MTU (RFC 4443 §2.4 (c)).
 */
export type Icmpv6Fields =
  | { readonly _tag: "EchoRequest" | "EchoReply"; readonly code?: number; readonly identifier: number; readonly sequence: number }
  | { readonly _tag: "DestinationUnreachable" | "TimeExceeded"; readonly code: number; readonly unused?: number }
  | { readonly _tag: "PacketTooBig"; readonly code?: number; readonly mtu: number }
  | { readonly _tag: "ParameterProblem"; readonly code: number; readonly pointer: number }
  | {
    readonly _tag: "RouterSolicitation"
    readonly code?: number
    readonly reserved?: number
    readonly options: ReadonlyArray<NdpOptionFields>
  }
  | {
    readonly _tag: "RouterAdvertisement"
    readonly code?: number
    readonly curHopLimit: number
    readonly managed: boolean
    readonly other: boolean
    readonly flags?: number
    readonly routerLifetime: number
    readonly reachableTime: number
    readonly retransTimer: number
    readonly options: ReadonlyArray<NdpOptionFields>
  }
  | {
    readonly _tag: "NeighborSolicitation"
    readonly code?: number
    readonly reserved?: number
    /** The 16 target address bytes. */
    readonly target: Uint8Array
    readonly options: ReadonlyArray<NdpOptionFields>
  }
  | {
    readonly _tag: "NeighborAdvertisement"
    readonly code?: number
    readonly router: boolean
    readonly solicited: boolean
    readonly override: boolean
    readonly reserved?: number
    readonly target: Uint8Array
    readonly options: ReadonlyArray<NdpOptionFields>
  }
  | {
    readonly _tag: "Redirect"
    readonly code?: number
    readonly reserved?: number
    readonly target: Uint8Array
    readonly destination: Uint8Array
    readonly options: ReadonlyArray<NdpOptionFields>
  }
  | { readonly _tag: "UnknownIcmpv6"; readonly type: number; readonly code: number; readonly rest: number }

/** The emitter fields of a typed message (its data, invoking packet or unknown data is the buffer's, not a field). */
export const icmpv6Fields = (m: Icmpv6Message): Icmpv6Fields => {
  switch (m._tag) {
    case "EchoRequest":
    case "EchoReply":
      return { _tag: m._tag, code: m.code, identifier: m.identifier, sequence: m.sequence }
    case "DestinationUnreachable":
    case "TimeExceeded":
      return { _tag: m._tag, code: m.code, unused: m.unused }
    case "PacketTooBig":
      return { _tag: m._tag, code: m.code, mtu: m.mtu }
    case "ParameterProblem":
      return { _tag: m._tag, code: m.code, pointer: m.pointer }
    case "UnknownIcmpv6":
      return { _tag: m._tag, type: m.type, code: m.code, rest: m.rest }
    case "RouterSolicitation":
      return { _tag: m._tag, code: m.code, reserved: m.reserved, options: m.options.map(ndpOptionFields) }
    case "RouterAdvertisement":
      return {
        _tag: m._tag,
        code: m.code,
        curHopLimit: m.curHopLimit,
        managed: m.managed,
        other: m.other,
        flags: m.flags,
        routerLifetime: m.routerLifetime,
        reachableTime: m.reachableTime,
        retransTimer: m.retransTimer,
        options: m.options.map(ndpOptionFields)
      }
    case "NeighborSolicitation":
      return {
        _tag: m._tag,
        code: m.code,
        reserved: m.reserved,
        target: ipv6ToBytes(m.target),
        options: m.options.map(ndpOptionFields)
      }
    case "NeighborAdvertisement":
      return {
        _tag: m._tag,
        code: m.code,
        router: m.router,
        solicited: m.solicited,
        override: m.override,
        reserved: m.reserved,
        target: ipv6ToBytes(m.target),
        options: m.options.map(ndpOptionFields)
      }
    case "Redirect":
      return {
        _tag: m._tag,
        code: m.code,
        reserved: m.reserved,
        target: ipv6ToBytes(m.target),
        destination: ipv6ToBytes(m.destination),
        options: m.options.map(ndpOptionFields)
      }
  }
}

/** The emitter fields of a typed NDP option. */
export const ndpOptionFields = (o: NdpOption): NdpOptionFields => {
  switch (o._tag) {
    case "SourceLinkLayerAddress":
    case "TargetLinkLayerAddress":
      return { _tag: o._tag, address: macToNumber(o.address) }
    case "PrefixInformation":
      return {
        _tag: o._tag,
        prefixLength: o.prefixLength,
        onLink: o.onLink,
        autonomous: o.autonomous,
        flags: o.flags,
        validLifetime: o.validLifetime,
        preferredLifetime: o.preferredLifetime,
        reserved: o.reserved,
        prefix: ipv6ToBytes(o.prefix)
      }
    default:
      return o
  }
}


/** Bytes the option takes on the wire (padded), or -1 when it is longer than an option can be (2040 bytes). */
const optionSize = (o: NdpOptionFields): number => {
  let size: number
  switch (o._tag) {
    case "SourceLinkLayerAddress":
    case "TargetLinkLayerAddress":
    case "Mtu":
      return 8
    case "PrefixInformation":
      return 32
    case "RedirectedHeader":
      size = 8 + Math.ceil(o.packet.length / 8) * 8
      break
    case "UnknownNdpOption":
      size = Math.ceil((2 + o.data.length) / 8) * 8
      break
  }
  return size <= 255 * 8 ? size : -1
}

/** Writes the option at `bytes[p, p + size)`. */
const writeOption = (bytes: Uint8Array, p: number, size: number, o: NdpOptionFields): void => {
  bytes.fill(0, p, p + size)
  bytes[p + 1] = size / 8
  switch (o._tag) {
    case "SourceLinkLayerAddress":
    case "TargetLinkLayerAddress":
      bytes[p] = o._tag === "SourceLinkLayerAddress"
        ? NdpOptionTypes.sourceLinkLayerAddress
        : NdpOptionTypes.targetLinkLayerAddress
      writeMac(bytes, p + 2, o.address)
      break
    case "PrefixInformation":
      bytes[p] = NdpOptionTypes.prefixInformation
      bytes[p + 2] = o.prefixLength
      bytes[p + 3] = (o.onLink ? 0x80 : 0) | (o.autonomous ? 0x40 : 0) | ((o.flags ?? 0) & 0x3f)
      writeU32(bytes, p + 4, o.validLifetime)
      writeU32(bytes, p + 8, o.preferredLifetime)
      writeU32(bytes, p + 12, o.reserved ?? 0)
      bytes.set(o.prefix.subarray(0, 16), p + 16)
      break
    case "RedirectedHeader": {
      const reserved = o.reserved ?? 0
      bytes[p] = NdpOptionTypes.redirectedHeader
      writeU16(bytes, p + 2, Math.floor(reserved / 0x100000000))
      writeU32(bytes, p + 4, reserved % 0x100000000)
      bytes.set(o.packet, p + 8)
      break
    }
    case "Mtu":
      bytes[p] = NdpOptionTypes.mtu
      writeU16(bytes, p + 2, o.reserved ?? 0)
      writeU32(bytes, p + 4, o.mtu)
      break
    case "UnknownNdpOption":
      bytes[p] = o.type
      bytes.set(o.data, p + 2)
      break
  }
}

const NO_OPTIONS: ReadonlyArray<NdpOptionFields> = []

/**
 * Pushes the ICMPv6 header (and an NDP message's fixed part and options) in
 * front of `buffer.data`, fills the checksum as `checksum` says (over the
 * pseudo-header sum, computed with the whole message's length and Next
 * Header 58, RFC 4443 §2.3), and marks the transport header. Returns
 * `InvalidLength` (changing nothing) for an NDP option longer than 2040 bytes.
 */
export const emitIcmpv6 = (
  buffer: PacketBuffer,
  fields: Icmpv6Fields,
  checksum: TransportChecksum
): HeadroomExceeded | InvalidLength | BufferReleased | undefined => {
  const type = icmpv6Type(fields)
  const options = "options" in fields ? fields.options : NO_OPTIONS
  // The fixed part: 8 bytes, or an NDP message's fixed fields (RFC 4861 §4).
  const fixed = "options" in fields ? ndpOptionsStart(type) : ICMPV6_HEADER_LENGTH
  let size = fixed
  for (const o of options) {
    const n = optionSize(o)
    if (n < 0) {
      return new InvalidLength({
        value: o._tag === "RedirectedHeader" ? o.packet.length : o._tag === "UnknownNdpOption" ? o.data.length : n
      })
    }
    size += n
  }
  const pushed = buffer.push(size)
  if (pushed !== undefined) return pushed
  const bytes = buffer.writableBytes()
  if (!(bytes instanceof Uint8Array)) return bytes
  const i = buffer.data
  bytes.fill(0, i, i + fixed)
  bytes[i] = type
  bytes[i + 1] = fields.code ?? 0
  switch (fields._tag) {
    case "EchoRequest":
    case "EchoReply":
      writeU16(bytes, i + 4, fields.identifier)
      writeU16(bytes, i + 6, fields.sequence)
      break
    case "DestinationUnreachable":
    case "TimeExceeded":
      writeU32(bytes, i + 4, fields.unused ?? 0)
      break
    case "PacketTooBig":
      writeU32(bytes, i + 4, fields.mtu)
      break
    case "ParameterProblem":
      writeU32(bytes, i + 4, fields.pointer)
      break
    case "UnknownIcmpv6":
      writeU32(bytes, i + 4, fields.rest)
      break
    case "RouterSolicitation":
      writeU32(bytes, i + 4, fields.reserved ?? 0)
      break
    case "RouterAdvertisement":
      // RFC 4861 §4.2.
      bytes[i + 4] = fields.curHopLimit
      bytes[i + 5] = (fields.managed ? 0x80 : 0) | (fields.other ? 0x40 : 0) | ((fields.flags ?? 0) & 0x3f)
      writeU16(bytes, i + 6, fields.routerLifetime)
      writeU32(bytes, i + 8, fields.reachableTime)
      writeU32(bytes, i + 12, fields.retransTimer)
      break
    case "NeighborSolicitation":
      writeU32(bytes, i + 4, fields.reserved ?? 0)
      bytes.set(fields.target.subarray(0, 16), i + 8)
      break
    case "NeighborAdvertisement":
      // RFC 4861 §4.4: R, S, O, then 29 reserved bits.
      writeU32(
        bytes,
        i + 4,
        ((fields.router ? 0x80000000 : 0) | (fields.solicited ? 0x40000000 : 0) | (fields.override ? 0x20000000 : 0) |
          ((fields.reserved ?? 0) & 0x1fffffff)) >>> 0
      )
      bytes.set(fields.target.subarray(0, 16), i + 8)
      break
    case "Redirect":
      writeU32(bytes, i + 4, fields.reserved ?? 0)
      bytes.set(fields.target.subarray(0, 16), i + 8)
      bytes.set(fields.destination.subarray(0, 16), i + 24)
      break
  }
  let p = i + fixed
  for (const o of options) {
    const n = optionSize(o)
    writeOption(bytes, p, n, o)
    p += n
  }
  buffer.resetTransportHeader()
  // RFC 4443 §2.3: the checksum covers the pseudo-header and the whole message; zero is a valid result.
  fillTransportChecksum(buffer, bytes, 2, checksum, 0)
  return undefined
}
