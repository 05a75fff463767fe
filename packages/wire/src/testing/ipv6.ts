/**
 * fast-check arbitraries of valid IPv6 headers (with extension-header
 * chains), IPv6 packets, and ICMPv6 messages (with NDP options), in their
 * typed representation. Jumbograms are not generated (they need more than
 * 64 KiB of payload); the IPv6 tests build them by hand.
 */
import fc from "fast-check"
import { isKnownNdpOptionForm, type Icmpv6Message, type NdpOption } from "../icmpv6/schema.ts"
import {
  IPV6_MAX_EXTENSION_HEADERS,
  IPV6_MAX_PAYLOAD_LENGTH,
  type Ipv6ExtensionHeader,
  ipv6ExtensionHeaderLength,
  ipv6ExtensionHeaderNumber,
  type Ipv6Header,
  type Ipv6Option,
  ipv6OptionLength,
  isIpv6ExtensionHeader
} from "../ipv6/schema.ts"
import { ipv6Address, macAddress } from "./addresses.ts"

const uint8 = fc.integer({ min: 0, max: 0xff })
const uint16 = fc.integer({ min: 0, max: 0xffff })
const uint32 = fc.integer({ min: 0, max: 0xffffffff })
/** Mostly zero, sometimes anything: for reserved fields, which senders zero but receivers must keep. */
const reserved = (bits: number) =>
  fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 2 ** bits - 1 }) })
/** Bytes of a length drawn from `[min, max]` (explicitly, as fast-check's default sizes are small). */
const bytesOfLength = (min: number, max: number) =>
  fc.integer({ min, max }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n }))
/** Bytes whose length is `base` plus a multiple of 8, up to `base + 8 * maxUnits`. */
const bytesOfUnits = (base: number, maxUnits: number) =>
  fc.integer({ min: 0, max: maxUnits }).chain((k) => fc.uint8Array({ minLength: base + 8 * k, maxLength: base + 8 * k }))

// ---------------------------------------------------------------- IPv6

const KNOWN_OPTION_TYPES: ReadonlyArray<number> = [0x00, 0x01, 0x05, 0xc2]

/** Any option a Hop-by-Hop or Destination Options header may carry, except Jumbo Payload. */
export const ipv6Option: fc.Arbitrary<Ipv6Option> = fc.oneof(
  fc.constant<Ipv6Option>({ _tag: "Pad1" }),
  fc.integer({ min: 0, max: 12 }).map((length): Ipv6Option => ({ _tag: "PadN", length })),
  uint16.map((value): Ipv6Option => ({ _tag: "RouterAlert", value })),
  fc
    .record({ type: uint8.filter((t) => !KNOWN_OPTION_TYPES.includes(t)), data: bytesOfLength(0, 24) })
    .map(({ type, data }): Ipv6Option => ({ _tag: "UnknownOption", type, data }))
)

/** Options padded with a Pad1 or PadN so the header fills a multiple of 8 bytes (RFC 8200 §4.2). */
const paddedOptions: fc.Arbitrary<ReadonlyArray<Ipv6Option>> = fc.array(ipv6Option, { maxLength: 5 }).map((options) => {
  const used = options.reduce((n, o) => n + ipv6OptionLength(o), 2)
  const pad = (8 - (used % 8)) % 8
  if (pad === 0) return options
  return [...options, pad === 1 ? { _tag: "Pad1" } : { _tag: "PadN", length: pad - 2 }]
})

/** An extension header of the chain's middle, without its Next Header (filled when the chain is assembled). */
type Middle =
  | { readonly _tag: "DestinationOptions"; readonly options: ReadonlyArray<Ipv6Option> }
  | { readonly _tag: "Routing"; readonly routingType: number; readonly segmentsLeft: number; readonly data: Uint8Array }

const middle: fc.Arbitrary<Middle> = fc.oneof(
  paddedOptions.map((options): Middle => ({ _tag: "DestinationOptions", options })),
  fc
    .record({ routingType: uint8, segmentsLeft: uint8, data: bytesOfUnits(4, 3) })
    .map((r): Middle => ({ _tag: "Routing", ...r }))
)

/** An upper-layer protocol: the common ones, or any number the walk does not read as an extension header. */
const upperLayerProtocol = fc.oneof(fc.constantFrom(6, 17, 58, 59), uint8.filter((n) => !isIpv6ExtensionHeader(n)))

/** A valid IPv6 packet: a header whose payload length counts its extension headers and the upper-layer bytes, and those bytes. */
export const ipv6Packet: fc.Arbitrary<{ readonly header: Ipv6Header; readonly payload: Uint8Array }> = fc
  .record({
    trafficClass: uint8,
    flowLabel: fc.integer({ min: 0, max: 0xfffff }),
    hopLimit: uint8,
    source: ipv6Address,
    destination: ipv6Address,
    hopByHop: fc.option(paddedOptions, { freq: 3 }),
    middle: fc.oneof(
      { weight: 4, arbitrary: fc.array(middle, { maxLength: 3 }) },
      { weight: 1, arbitrary: fc.array(middle, { minLength: 10, maxLength: IPV6_MAX_EXTENSION_HEADERS }) }
    ),
    fragment: fc.option(
      fc.record({
        reserved: reserved(8),
        reserved2: reserved(2),
        offset: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0x1fff })),
        moreFragments: fc.boolean(),
        identification: uint32,
        // After a Fragment header the walk stops, so any Next Header may follow.
        nextHeader: fc.oneof(upperLayerProtocol, fc.constantFrom(0, 43, 44, 60))
      }),
      { freq: 4 }
    ),
    protocol: upperLayerProtocol,
    upperLength: fc.integer({ min: 0, max: 64 })
  })
  .chain((r) => {
    const fixed = (r.hopByHop === null ? 0 : 1) + (r.fragment === null ? 0 : 1)
    const kinds = r.middle.slice(0, IPV6_MAX_EXTENSION_HEADERS - fixed)
    // RFC 8200 §4.5: a fragment with M set carries a multiple of 8 bytes, ending within 65535.
    const upperLength = r.fragment !== null && r.fragment.moreFragments ? r.upperLength - (r.upperLength % 8) : r.upperLength
    const plan: Array<Middle | { readonly _tag: "HopByHop"; readonly options: ReadonlyArray<Ipv6Option> } | "fragment"> = [
      ...(r.hopByHop === null ? [] : [{ _tag: "HopByHop" as const, options: r.hopByHop }]),
      ...kinds,
      ...(r.fragment === null ? [] : ["fragment" as const])
    ]
    const numberOfPlan = (p: (typeof plan)[number]): number => (p === "fragment" ? 44 : ipv6ExtensionHeaderNumber(p._tag))
    const extensionHeaders: Array<Ipv6ExtensionHeader> = plan.map((p, i) => {
      const following = plan[i + 1]
      const nextHeader = following === undefined ? r.protocol : numberOfPlan(following)
      if (p !== "fragment") return { ...p, nextHeader }
      const f = r.fragment
      const maxOffset = Math.floor((IPV6_MAX_PAYLOAD_LENGTH - upperLength) / 8)
      return {
        _tag: "Fragment",
        nextHeader: f === null ? r.protocol : f.nextHeader,
        reserved: f === null ? 0 : f.reserved,
        fragmentOffset: f === null ? 0 : Math.min(f.offset, maxOffset),
        reserved2: f === null ? 0 : f.reserved2,
        moreFragments: f !== null && f.moreFragments,
        identification: f === null ? 0 : f.identification
      }
    })
    const extensionLength = extensionHeaders.reduce((n, e) => n + ipv6ExtensionHeaderLength(e), 0)
    const header: Ipv6Header = {
      trafficClass: r.trafficClass,
      flowLabel: r.flowLabel,
      payloadLength: extensionLength + upperLength,
      nextHeader: plan.length === 0 ? r.protocol : numberOfPlan(plan[0]),
      hopLimit: r.hopLimit,
      source: r.source,
      destination: r.destination,
      extensionHeaders
    }
    return fc.uint8Array({ minLength: upperLength, maxLength: upperLength }).map((payload) => ({ header, payload }))
  })

/** A valid IPv6 header, extension headers sometimes (see `ipv6Packet` for the payload it counts). */
export const ipv6Header: fc.Arbitrary<Ipv6Header> = ipv6Packet.map((p) => p.header)

// ---------------------------------------------------------------- ICMPv6 and NDP

/** Any NDP option (RFC 4861 §4.6), including unknown ones. */
export const ndpOption: fc.Arbitrary<NdpOption> = fc.oneof(
  macAddress.map((address): NdpOption => ({ _tag: "SourceLinkLayerAddress", address })),
  macAddress.map((address): NdpOption => ({ _tag: "TargetLinkLayerAddress", address })),
  fc
    .record({
      prefixLength: uint8,
      onLink: fc.boolean(),
      autonomous: fc.boolean(),
      flags: reserved(6),
      validLifetime: uint32,
      preferredLifetime: uint32,
      reserved: reserved(32),
      prefix: ipv6Address
    })
    .map((r): NdpOption => ({ _tag: "PrefixInformation", ...r })),
  fc
    .record({ reserved: reserved(48), packet: bytesOfUnits(0, 6) })
    .map((r): NdpOption => ({ _tag: "RedirectedHeader", ...r })),
  fc.record({ reserved: reserved(16), mtu: uint32 }).map((r): NdpOption => ({ _tag: "Mtu", ...r })),
  fc
    // known types with another length too: they are kept as unknown
    .record({ type: fc.oneof(fc.constantFrom(1, 2, 3, 5), uint8), data: bytesOfUnits(6, 3) })
    .filter(({ type, data }) => !isKnownNdpOptionForm(type, data.length))
    .map((r): NdpOption => ({ _tag: "UnknownNdpOption", ...r }))
)

const KNOWN_ICMPV6_TYPES: ReadonlyArray<number> = [1, 2, 3, 4, 128, 129, 133, 134, 135, 136, 137]

const ndpOptions = fc.array(ndpOption, { maxLength: 4 })
const data = bytesOfLength(0, 64)

/** Any ICMPv6 message: echo, the four errors, the five NDP messages with options, and unknown types. */
export const icmpv6Message: fc.Arbitrary<Icmpv6Message> = fc.oneof(
  fc
    .record({ request: fc.boolean(), code: reserved(8), checksum: uint16, identifier: uint16, sequence: uint16, data })
    .map(({ request, ...r }): Icmpv6Message => ({ _tag: request ? "EchoRequest" : "EchoReply", ...r })),
  fc
    .record({ unreachable: fc.boolean(), code: uint8, checksum: uint16, unused: reserved(32), invokingPacket: data })
    .map(({ unreachable, ...r }): Icmpv6Message => ({ _tag: unreachable ? "DestinationUnreachable" : "TimeExceeded", ...r })),
  fc
    .record({ code: reserved(8), checksum: uint16, mtu: uint32, invokingPacket: data })
    .map((r): Icmpv6Message => ({ _tag: "PacketTooBig", ...r })),
  fc
    .record({ code: uint8, checksum: uint16, pointer: uint32, invokingPacket: data })
    .map((r): Icmpv6Message => ({ _tag: "ParameterProblem", ...r })),
  fc
    .record({ code: reserved(8), checksum: uint16, reserved: reserved(32), options: ndpOptions })
    .map((r): Icmpv6Message => ({ _tag: "RouterSolicitation", ...r })),
  fc
    .record({
      code: reserved(8),
      checksum: uint16,
      curHopLimit: uint8,
      managed: fc.boolean(),
      other: fc.boolean(),
      flags: reserved(6),
      routerLifetime: uint16,
      reachableTime: uint32,
      retransTimer: uint32,
      options: ndpOptions
    })
    .map((r): Icmpv6Message => ({ _tag: "RouterAdvertisement", ...r })),
  fc
    .record({ code: reserved(8), checksum: uint16, reserved: reserved(32), target: ipv6Address, options: ndpOptions })
    .map((r): Icmpv6Message => ({ _tag: "NeighborSolicitation", ...r })),
  fc
    .record({
      code: reserved(8),
      checksum: uint16,
      router: fc.boolean(),
      solicited: fc.boolean(),
      override: fc.boolean(),
      reserved: reserved(29),
      target: ipv6Address,
      options: ndpOptions
    })
    .map((r): Icmpv6Message => ({ _tag: "NeighborAdvertisement", ...r })),
  fc
    .record({
      code: reserved(8),
      checksum: uint16,
      reserved: reserved(32),
      target: ipv6Address,
      destination: ipv6Address,
      options: ndpOptions
    })
    .map((r): Icmpv6Message => ({ _tag: "Redirect", ...r })),
  fc
    .record({ type: uint8.filter((t) => !KNOWN_ICMPV6_TYPES.includes(t)), code: uint8, checksum: uint16, rest: uint32, data })
    .map((r): Icmpv6Message => ({ _tag: "UnknownIcmpv6", ...r }))
)
