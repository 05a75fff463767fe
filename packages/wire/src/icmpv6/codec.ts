/**
 * The Schema path for ICMPv6: bytes (the whole message, as the IPv6 layer
 * trimmed it to its payload) ⇄ `Icmpv6Message`. Written plainly with a
 * `DataView`, independently of the view.
 */
import { ipv6FromString, ipv6ToString } from "../addresses/ipv6.ts"
import { fromBytes } from "../codec.ts"
import type { HeaderDefect } from "../defect.ts"
import { Icmpv6Defect } from "./defects.ts"
import {
  ICMPV6_HEADER_LENGTH,
  Icmpv6Message,
  icmpv6MessageLength,
  icmpv6Type,
  Icmpv6Types,
  isKnownNdpOptionForm,
  NdpOptionTypes,
  ndpOptionsStart
} from "./schema.ts"

type Encoded = typeof Icmpv6Message.Encoded
type EncodedOption = Extract<Encoded, { readonly options: ReadonlyArray<unknown> }>["options"][number]

const macText = (bytes: Uint8Array, at: number): string =>
  Array.from(bytes.subarray(at, at + 6), (b) => b.toString(16).padStart(2, "0")).join(":")

/** The NDP options from `start` to the end of the message (RFC 4861 §4.6), or a defect. */
const decodeOptions = (bytes: Uint8Array, view: DataView, start: number): Array<EncodedOption> | HeaderDefect => {
  const out: Array<EncodedOption> = []
  let p = start
  while (p < bytes.length) {
    if (p + 2 > bytes.length) return Icmpv6Defect["truncated-option"]
    const type = bytes[p]
    const units = bytes[p + 1]
    // RFC 4861 §4.6: "Nodes MUST silently discard an ND packet that contains an option with length zero."
    if (units === 0) return Icmpv6Defect["zero-option-length"]
    const size = units * 8
    if (p + size > bytes.length) return Icmpv6Defect["truncated-option"]
    if (!isKnownNdpOptionForm(type, size - 2)) {
      out.push({ _tag: "UnknownNdpOption", type, data: bytes.slice(p + 2, p + size) })
    } else if (type === NdpOptionTypes.sourceLinkLayerAddress) {
      out.push({ _tag: "SourceLinkLayerAddress", address: macText(bytes, p + 2) })
    } else if (type === NdpOptionTypes.targetLinkLayerAddress) {
      out.push({ _tag: "TargetLinkLayerAddress", address: macText(bytes, p + 2) })
    } else if (type === NdpOptionTypes.prefixInformation) {
      const flags = bytes[p + 3]
      out.push({
        _tag: "PrefixInformation",
        prefixLength: bytes[p + 2],
        onLink: (flags & 0x80) !== 0,
        autonomous: (flags & 0x40) !== 0,
        flags: flags & 0x3f,
        validLifetime: view.getUint32(p + 4),
        preferredLifetime: view.getUint32(p + 8),
        reserved: view.getUint32(p + 12),
        prefix: ipv6ToString(bytes, p + 16)
      })
    } else if (type === NdpOptionTypes.redirectedHeader) {
      out.push({
        _tag: "RedirectedHeader",
        reserved: view.getUint16(p + 2) * 0x100000000 + view.getUint32(p + 4),
        packet: bytes.slice(p + 8, p + size)
      })
    } else {
      out.push({ _tag: "Mtu", reserved: view.getUint16(p + 2), mtu: view.getUint32(p + 4) })
    }
    p += size
  }
  return out
}

/** Reads a whole ICMPv6 message (RFC 4443 §2.1, RFC 4861 §4). */
const decodeIcmpv6 = (bytes: Uint8Array): Encoded | HeaderDefect => {
  if (bytes.length < ICMPV6_HEADER_LENGTH) return Icmpv6Defect.truncated
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const type = bytes[0]
  const code = bytes[1]
  const checksum = view.getUint16(2)
  const word = view.getUint32(4)
  const rest = bytes.slice(ICMPV6_HEADER_LENGTH)
  switch (type) {
    case Icmpv6Types.echoRequest:
    case Icmpv6Types.echoReply:
      return {
        _tag: type === Icmpv6Types.echoRequest ? "EchoRequest" : "EchoReply",
        code,
        checksum,
        identifier: view.getUint16(4),
        sequence: view.getUint16(6),
        data: rest
      }
    case Icmpv6Types.destinationUnreachable:
      return { _tag: "DestinationUnreachable", code, checksum, unused: word, invokingPacket: rest }
    case Icmpv6Types.packetTooBig:
      return { _tag: "PacketTooBig", code, checksum, mtu: word, invokingPacket: rest }
    case Icmpv6Types.timeExceeded:
      return { _tag: "TimeExceeded", code, checksum, unused: word, invokingPacket: rest }
    case Icmpv6Types.parameterProblem:
      return { _tag: "ParameterProblem", code, checksum, pointer: word, invokingPacket: rest }
    case Icmpv6Types.routerSolicitation:
    case Icmpv6Types.routerAdvertisement:
    case Icmpv6Types.neighborSolicitation:
    case Icmpv6Types.neighborAdvertisement:
    case Icmpv6Types.redirect: {
      const start = ndpOptionsStart(type)
      if (bytes.length < start) return Icmpv6Defect.truncated
      const options = decodeOptions(bytes, view, start)
      if (!Array.isArray(options)) return options
      if (type === Icmpv6Types.routerSolicitation) {
        return { _tag: "RouterSolicitation", code, checksum, reserved: word, options }
      }
      if (type === Icmpv6Types.routerAdvertisement) {
        const flags = bytes[5]
        return {
          _tag: "RouterAdvertisement",
          code,
          checksum,
          curHopLimit: bytes[4],
          managed: (flags & 0x80) !== 0,
          other: (flags & 0x40) !== 0,
          flags: flags & 0x3f,
          routerLifetime: view.getUint16(6),
          reachableTime: view.getUint32(8),
          retransTimer: view.getUint32(12),
          options
        }
      }
      if (type === Icmpv6Types.neighborSolicitation) {
        return { _tag: "NeighborSolicitation", code, checksum, reserved: word, target: ipv6ToString(bytes, 8), options }
      }
      if (type === Icmpv6Types.neighborAdvertisement) {
        return {
          _tag: "NeighborAdvertisement",
          code,
          checksum,
          router: (word & 0x80000000) !== 0,
          solicited: (word & 0x40000000) !== 0,
          override: (word & 0x20000000) !== 0,
          reserved: word & 0x1fffffff,
          target: ipv6ToString(bytes, 8),
          options
        }
      }
      return {
        _tag: "Redirect",
        code,
        checksum,
        reserved: word,
        target: ipv6ToString(bytes, 8),
        destination: ipv6ToString(bytes, 24),
        options
      }
    }
    default:
      return { _tag: "UnknownIcmpv6", type, code, checksum, rest: word, data: rest }
  }
}

const setAddress = (out: Uint8Array, at: number, text: string): void =>
  out.set(ipv6FromString(text) ?? new Uint8Array(16), at)

/** Writes NDP options from `at`. */
const encodeOptions = (out: Uint8Array, view: DataView, at: number, options: ReadonlyArray<EncodedOption>): void => {
  let p = at
  for (const o of options) {
    switch (o._tag) {
      case "SourceLinkLayerAddress":
      case "TargetLinkLayerAddress":
        out[p] = o._tag === "SourceLinkLayerAddress"
          ? NdpOptionTypes.sourceLinkLayerAddress
          : NdpOptionTypes.targetLinkLayerAddress
        out[p + 1] = 1
        o.address.split(":").forEach((pair, i) => (out[p + 2 + i] = Number.parseInt(pair, 16)))
        p += 8
        break
      case "PrefixInformation":
        out[p] = NdpOptionTypes.prefixInformation
        out[p + 1] = 4
        out[p + 2] = o.prefixLength
        out[p + 3] = (o.onLink ? 0x80 : 0) | (o.autonomous ? 0x40 : 0) | o.flags
        view.setUint32(p + 4, o.validLifetime)
        view.setUint32(p + 8, o.preferredLifetime)
        view.setUint32(p + 12, o.reserved)
        setAddress(out, p + 16, o.prefix)
        p += 32
        break
      case "RedirectedHeader":
        out[p] = NdpOptionTypes.redirectedHeader
        out[p + 1] = 1 + o.packet.length / 8
        view.setUint16(p + 2, Math.floor(o.reserved / 0x100000000))
        view.setUint32(p + 4, o.reserved % 0x100000000)
        out.set(o.packet, p + 8)
        p += 8 + o.packet.length
        break
      case "Mtu":
        out[p] = NdpOptionTypes.mtu
        out[p + 1] = 1
        view.setUint16(p + 2, o.reserved)
        view.setUint32(p + 4, o.mtu)
        p += 8
        break
      case "UnknownNdpOption":
        out[p] = o.type
        out[p + 1] = (o.data.length + 2) / 8
        out.set(o.data, p + 2)
        p += 2 + o.data.length
        break
    }
  }
}

/** Writes a whole ICMPv6 message with the checksum it holds. */
const encodeIcmpv6 = (m: Encoded): Uint8Array => {
  const out = new Uint8Array(icmpv6MessageLength(m))
  const view = new DataView(out.buffer)
  out[0] = icmpv6Type(m)
  out[1] = m.code
  view.setUint16(2, m.checksum)
  switch (m._tag) {
    case "EchoRequest":
    case "EchoReply":
      view.setUint16(4, m.identifier)
      view.setUint16(6, m.sequence)
      out.set(m.data, 8)
      break
    case "DestinationUnreachable":
    case "TimeExceeded":
      view.setUint32(4, m.unused)
      out.set(m.invokingPacket, 8)
      break
    case "PacketTooBig":
      view.setUint32(4, m.mtu)
      out.set(m.invokingPacket, 8)
      break
    case "ParameterProblem":
      view.setUint32(4, m.pointer)
      out.set(m.invokingPacket, 8)
      break
    case "RouterSolicitation":
      view.setUint32(4, m.reserved)
      encodeOptions(out, view, 8, m.options)
      break
    case "RouterAdvertisement":
      out[4] = m.curHopLimit
      out[5] = (m.managed ? 0x80 : 0) | (m.other ? 0x40 : 0) | m.flags
      view.setUint16(6, m.routerLifetime)
      view.setUint32(8, m.reachableTime)
      view.setUint32(12, m.retransTimer)
      encodeOptions(out, view, 16, m.options)
      break
    case "NeighborSolicitation":
      view.setUint32(4, m.reserved)
      setAddress(out, 8, m.target)
      encodeOptions(out, view, 24, m.options)
      break
    case "NeighborAdvertisement":
      view.setUint32(
        4,
        ((m.router ? 0x80000000 : 0) | (m.solicited ? 0x40000000 : 0) | (m.override ? 0x20000000 : 0) | m.reserved) >>> 0
      )
      setAddress(out, 8, m.target)
      encodeOptions(out, view, 24, m.options)
      break
    case "Redirect":
      view.setUint32(4, m.reserved)
      setAddress(out, 8, m.target)
      setAddress(out, 24, m.destination)
      encodeOptions(out, view, 40, m.options)
      break
    case "UnknownIcmpv6":
      view.setUint32(4, m.rest)
      out.set(m.data, 8)
      break
  }
  return out
}

/** Decodes a whole ICMPv6 message (the bytes run to the end of the IPv6 payload), or encodes one to its bytes. */
export const Icmpv6MessageFromBytes = fromBytes(Icmpv6Message, { decode: decodeIcmpv6, encode: encodeIcmpv6 })
