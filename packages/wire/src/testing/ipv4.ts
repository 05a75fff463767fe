/**
 * fast-check arbitraries of valid IPv4 headers, options, packets and ICMPv4
 * messages, in their typed representation (headers and messages carry a
 * checksum that verifies).
 */
import { internetChecksum } from "@netstack/buffers"
import { Schema } from "effect"
import fc from "fast-check"
import { Icmpv4MessageFromBytes } from "../icmpv4/codec.ts"
import { type Icmpv4Message, Icmpv4Other } from "../icmpv4/schema.ts"
import { Ipv4HeaderFromBytes } from "../ipv4/codec.ts"
import {
  encodeIpv4Options,
  IPV4_MAX_OPTIONS_LENGTH,
  type Ipv4Option,
  ipv4OptionLength,
  type Ipv4Options,
  Ipv4OtherOption
} from "../ipv4/options.ts"
import { IPV4_HEADER_LENGTH, type Ipv4Header } from "../ipv4/schema.ts"
import { ipv4Address } from "./addresses.ts"

const uint8 = fc.integer({ min: 0, max: 0xff })
const uint16 = fc.integer({ min: 0, max: 0xffff })
const uint32 = fc.integer({ min: 0, max: 0xffffffff })

/** Bytes of a length drawn from `[min, max]` (fast-check's default sizes are small). */
const bytesOfLength = (min: number, max: number): fc.Arbitrary<Uint8Array> =>
  fc.integer({ min, max }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n }))

const routeAddresses = fc.array(ipv4Address, { maxLength: 9 })

/** Any option but End of Option List, in canonical form (an `OtherOption` never fits a known layout). */
export const ipv4Option: fc.Arbitrary<Ipv4Option> = fc.oneof(
  fc.constant<Ipv4Option>({ _tag: "NoOperation" }),
  fc.record({ pointer: uint8, addresses: routeAddresses }).map((o): Ipv4Option => ({ _tag: "RecordRoute", ...o })),
  fc.record({ pointer: uint8, addresses: routeAddresses }).map((o): Ipv4Option => ({ _tag: "LooseSourceRoute", ...o })),
  fc.record({ pointer: uint8, addresses: routeAddresses }).map((o): Ipv4Option => ({ _tag: "StrictSourceRoute", ...o })),
  fc
    .record({
      pointer: uint8,
      overflow: fc.integer({ min: 0, max: 15 }),
      timestamps: fc.array(uint32, { maxLength: 9 })
    })
    .map((o): Ipv4Option => ({
      _tag: "Timestamp",
      pointer: o.pointer,
      overflow: o.overflow,
      flag: 0,
      entries: o.timestamps.map((timestamp) => ({ timestamp }))
    })),
  fc
    .record({
      pointer: uint8,
      overflow: fc.integer({ min: 0, max: 15 }),
      flag: fc.constantFrom<1 | 3>(1, 3),
      entries: fc.array(fc.record({ address: ipv4Address, timestamp: uint32 }), { maxLength: 4 })
    })
    .map((o): Ipv4Option => ({ _tag: "Timestamp", ...o })),
  uint16.map((value): Ipv4Option => ({ _tag: "RouterAlert", value })),
  fc
    .record({
      type: fc.oneof(fc.integer({ min: 2, max: 0xff }), fc.constantFrom(7, 68, 131, 137, 148)),
      data: bytesOfLength(0, IPV4_MAX_OPTIONS_LENGTH - 2)
    })
    .map((o): Ipv4Option => ({ _tag: "OtherOption", ...o }))
    .filter(Schema.is(Ipv4OtherOption))
)

/** A list of options that fits in a header (at most 40 bytes), ending with End of Option List sometimes. */
export const ipv4OptionList: fc.Arbitrary<Ipv4Options> = fc
  .tuple(fc.array(ipv4Option, { maxLength: 6 }), fc.boolean())
  .map(([options, eol]) => {
    const out: Array<Ipv4Option> = []
    let length = 0
    for (const o of options) {
      if (length + ipv4OptionLength(o) > IPV4_MAX_OPTIONS_LENGTH) break
      out.push(o)
      length += ipv4OptionLength(o)
    }
    if (eol && length < IPV4_MAX_OPTIONS_LENGTH) out.push({ _tag: "EndOfOptionList" })
    return out
  })

/**
 * A header's options area: an option list padded to a multiple of 4 with
 * zeros, or with No Operations, or, after an End of Option List, sometimes
 * with junk (RFC 791 says zero, but nothing reads it).
 */
export const ipv4OptionsBytes: fc.Arbitrary<Uint8Array> = fc
  .tuple(ipv4OptionList, fc.constantFrom("zero", "nop", "junk"), fc.uint8Array({ minLength: 3, maxLength: 3 }))
  .map(([options, padding, junk]) => {
    const bytes = encodeIpv4Options(options)
    const out = new Uint8Array((bytes.length + 3) & ~3)
    out.set(bytes)
    const ended = options.length > 0 && options[options.length - 1]._tag === "EndOfOptionList"
    for (let i = bytes.length, k = 0; i < out.length; i++, k++) {
      out[i] = ended && padding === "junk" ? junk[k] : padding === "nop" && !ended ? 1 : 0
    }
    return out
  })

const encodeHeader = Schema.encodeSync(Ipv4HeaderFromBytes)

/** `header` with the checksum that makes it verify (RFC 791 §3.1). */
const withChecksum = (header: Ipv4Header): Ipv4Header => {
  const bytes = encodeHeader({ ...header, checksum: 0 })
  return { ...header, checksum: internetChecksum(bytes) }
}

/**
 * Any IPv4 header (with a checksum that verifies), its total length covering
 * a payload of 0 to 128 bytes; options in about one header of four. Flags,
 * fragment offsets and protocols vary freely, the common protocols
 * over-represented.
 */
export const ipv4Header: fc.Arbitrary<Ipv4Header> = fc
  .record({
    dscp: fc.integer({ min: 0, max: 63 }),
    ecn: fc.integer({ min: 0, max: 3 }),
    identification: uint16,
    reservedFlag: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.boolean() }),
    dontFragment: fc.boolean(),
    moreFragments: fc.boolean(),
    fragmentOffset: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0x1fff })),
    ttl: uint8,
    protocol: fc.oneof(fc.constantFrom(1, 6, 17), uint8),
    source: ipv4Address,
    destination: ipv4Address,
    options: fc.oneof(
      { weight: 3, arbitrary: fc.constant(new Uint8Array(0)) },
      { weight: 1, arbitrary: ipv4OptionsBytes }
    ),
    payloadLength: fc.integer({ min: 0, max: 128 })
  })
  .map(({ payloadLength, ...h }) =>
    withChecksum({
      version: 4,
      ...h,
      totalLength: IPV4_HEADER_LENGTH + h.options.length + payloadLength,
      checksum: 0
    })
  )

/** An IPv4 packet: a header and a payload of the length its total length says. */
export const ipv4Packet: fc.Arbitrary<{ readonly header: Ipv4Header; readonly payload: Uint8Array }> = ipv4Header.chain(
  (header) => {
    const n = header.totalLength - IPV4_HEADER_LENGTH - header.options.length
    return fc.uint8Array({ minLength: n, maxLength: n }).map((payload) => ({ header, payload }))
  }
)

/** The bytes of an `ipv4Packet`: the header's encoding followed by the payload. */
export const ipv4PacketBytes: fc.Arbitrary<Uint8Array> = ipv4Packet.map(({ header, payload }) => {
  const head = encodeHeader(header)
  const out = new Uint8Array(head.length + payload.length)
  out.set(head)
  out.set(payload, head.length)
  return out
})

/** What an ICMP error quotes: an IPv4 header and the first 8 bytes of its payload, or arbitrary bytes. */
const invoking: fc.Arbitrary<Uint8Array> = fc.oneof(
  ipv4PacketBytes.map((bytes) => bytes.slice(0, ((bytes[0] & 0x0f) << 2) + 8)),
  bytesOfLength(0, 64)
)

const encodeMessage = Schema.encodeSync(Icmpv4MessageFromBytes)

/**
 * Any ICMPv4 message of every kind (with a checksum that verifies): echo
 * request and reply with 0 to 64 bytes of data, the errors quoting a real
 * IPv4 header or arbitrary bytes, and other types kept whole.
 */
export const icmpv4Message: fc.Arbitrary<Icmpv4Message> = fc
  .oneof(
    fc
      .record({
        _tag: fc.constantFrom<"EchoRequest" | "EchoReply">("EchoRequest", "EchoReply"),
        identifier: uint16,
        sequence: uint16,
        data: bytesOfLength(0, 64)
      })
      .map((m): Icmpv4Message => ({ ...m, checksum: 0 })),
    fc
      .record({ code: fc.integer({ min: 0, max: 15 }), mtu: fc.oneof(fc.constant(0), fc.integer({ min: 68, max: 0xffff })), invoking })
      .map(
        ({ code, mtu, invoking }): Icmpv4Message =>
          code === 4
            ? { _tag: "DestinationUnreachable", code, checksum: 0, nextHopMtu: mtu, invoking }
            : { _tag: "DestinationUnreachable", code, checksum: 0, invoking }
      ),
    fc
      .record({ code: fc.oneof(fc.constantFrom(0, 1), uint8), invoking })
      .map((m): Icmpv4Message => ({ _tag: "TimeExceeded", ...m, checksum: 0 })),
    fc
      .record({ code: fc.oneof(fc.integer({ min: 0, max: 3 }), uint8), gateway: ipv4Address, invoking })
      .map((m): Icmpv4Message => ({ _tag: "Redirect", ...m, checksum: 0 })),
    fc
      .record({ code: fc.oneof(fc.constant(0), uint8), pointer: uint8, invoking })
      .map((m): Icmpv4Message => ({ _tag: "ParameterProblem", ...m, checksum: 0 })),
    fc
      .record({
        type: fc.oneof(fc.constantFrom(0, 3, 4, 8, 9, 10, 11, 12, 13, 14, 17, 18), uint8),
        code: fc.oneof(fc.constant(0), uint8),
        restOfHeader: fc.oneof(fc.constant(0), uint32),
        data: bytesOfLength(0, 64)
      })
      .map((m): Icmpv4Message => ({ _tag: "Other", ...m, checksum: 0 }))
      .filter(Schema.is(Icmpv4Other))
  )
  .map((m) => ({ ...m, checksum: internetChecksum(encodeMessage(m)) }))
