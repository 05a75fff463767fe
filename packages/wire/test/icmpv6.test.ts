/**
 * ICMPv6 and NDP: the view and the Schema agree on every input, each defect
 * is named, the emitter writes what the Schema encodes with a checksum that
 * verifies (full, partial, and over a real IPv6 header), and the formatter
 * prints tcpdump's lines.
 */
import { describe, expect, it } from "@effect/vitest"
import { ChecksumState, ipv6PseudoHeaderSum, PacketBuffer, resolvePartialChecksum } from "@netstack/buffers"
import {
  emitIcmpv6,
  emitIpv6,
  Icmpv6Defect,
  icmpv6Fields,
  Icmpv6Message,
  Icmpv6MessageFromBytes,
  icmpv6MessageLength,
  Icmpv6View,
  type Ipv6Address,
  ipv6FromString,
  ipv6ToBytes,
  Ipv6View,
  macFromString,
  noChecksum
} from "@netstack/wire"
import { icmpv6Message, mutated } from "@netstack/wire/testing"
import { Schema } from "effect"
import fc from "fast-check"
import { expectAgreement } from "./support/agreement.ts"

const decoders = { codec: Icmpv6MessageFromBytes, parse: (b: PacketBuffer) => Icmpv6View.parse(b) }
const encode = Schema.encodeSync(Icmpv6MessageFromBytes)
const messages = icmpv6Message.map((m) => encode(m))
/** NDP messages followed by a raw option whose length (0 to 3 units) may not match the bytes after it. */
const rawOptions = fc
  .tuple(
    icmpv6Message.filter((m) => "options" in m),
    fc.integer({ min: 0, max: 255 }),
    fc.integer({ min: 0, max: 3 }),
    fc.integer({ min: 0, max: 26 })
  )
  .map(([m, type, units, rest]) => concat(encode(m), [type, units], new Array<number>(rest).fill(units)))
const concat = (...parts: ReadonlyArray<ArrayLike<number>>): Uint8Array => Uint8Array.from(parts.flatMap((p) => Array.from(p)))

/** A buffer holding `payload` after `headroom` bytes of junk, so an emitter must write every byte it pushes. */
const dirtyBuffer = (payload: ArrayLike<number>, headroom: number): PacketBuffer => {
  const buffer = PacketBuffer.fromBytes(concat(new Array<number>(headroom).fill(0xa5), payload))
  buffer.pull(headroom)
  return buffer
}

const SRC = ipv6FromString("fe80::1") ?? new Uint8Array(16)
const DST = ipv6FromString("ff02::1") ?? new Uint8Array(16)
const TARGET = ipv6FromString("fe80::2") ?? new Uint8Array(16)

/** What follows the header of a typed message: the emitter takes it from the buffer. */
const trailing = (m: Icmpv6Message): Uint8Array => {
  switch (m._tag) {
    case "EchoRequest":
    case "EchoReply":
    case "UnknownIcmpv6":
      return m.data
    case "DestinationUnreachable":
    case "PacketTooBig":
    case "TimeExceeded":
    case "ParameterProblem":
      return m.invokingPacket
    default:
      return new Uint8Array(0)
  }
}

/** Both decoders refuse `bytes` with `defect`. */
const expectDefect = (bytes: Uint8Array, defect: Icmpv6Defect): void => {
  expect(Icmpv6View.parse(PacketBuffer.wrap(bytes.slice()))).toBe(defect)
  expect(expectAgreement(decoders, bytes)).toBeUndefined()
}

const parsed = (buffer: PacketBuffer, offset = 0): Icmpv6View => {
  const view = Icmpv6View.parse(buffer, offset)
  if (!(view instanceof Icmpv6View)) throw new Error(view.name)
  return view
}

/** A Neighbor Solicitation for fe80::2 with a Source Link-Layer Address option 02:00:00:00:00:01. */
const solicitation = concat([135, 0, 0, 0, 0, 0, 0, 0], TARGET, [1, 1, 2, 0, 0, 0, 0, 1])

describe("ICMPv6", () => {
  it("view and Schema decode every valid message to the same value, which re-encodes byte-exactly", () => {
    fc.assert(
      fc.property(icmpv6Message, (message) => {
        const bytes = encode(message)
        expect(bytes.length).toBe(icmpv6MessageLength(message))
        const decoded = expectAgreement(decoders, bytes)
        expect(decoded).toEqual(message)
        if (decoded !== undefined) expect([...encode(decoded)]).toEqual([...bytes])
      }),
      { numRuns: 400 }
    )
  })

  it("view and Schema accept and refuse the same arbitrary and mutated bytes", () => {
    const seen = new Set<string>()
    fc.assert(
      fc.property(fc.oneof(mutated(messages), rawOptions), (bytes) => {
        const view = Icmpv6View.parse(PacketBuffer.wrap(bytes.slice()))
        seen.add(view instanceof Icmpv6View ? "accepted" : view.name)
        const decoded = expectAgreement(decoders, bytes)
        if (decoded !== undefined) expect([...encode(decoded)]).toEqual([...bytes])
      }),
      { numRuns: 1500 }
    )
    for (const name of ["accepted", "icmpv6.truncated", "icmpv6.zero-option-length", "icmpv6.truncated-option"]) {
      expect(seen).toContain(name)
    }
  })

  describe("names each defect", () => {
    it("truncated: under 8 bytes, or under an NDP message's fixed part (RFC 4861 §4)", () => {
      const echo = Uint8Array.of(128, 0, 0, 0, 0, 1, 0, 2)
      for (let n = 0; n < 8; n++) expectDefect(echo.slice(0, n), Icmpv6Defect.truncated)
      for (const [type, fixed] of [[133, 8], [134, 16], [135, 24], [136, 24], [137, 40]] as const) {
        const b = new Uint8Array(fixed)
        b[0] = type
        expect(Icmpv6View.parse(PacketBuffer.wrap(b.slice()))).toBeInstanceOf(Icmpv6View)
        expectDefect(b.slice(0, Math.max(fixed - 1, 7)), Icmpv6Defect.truncated)
      }
      expect(Icmpv6View.parse(PacketBuffer.wrap(echo), 1)).toBe(Icmpv6Defect.truncated)
    })

    it("zero-option-length: an option of length 0 (RFC 4861 §4.6: silently discard)", () => {
      expectDefect(concat(solicitation, [1, 0, 0, 0, 0, 0, 0, 0]), Icmpv6Defect["zero-option-length"])
      expectDefect(concat([133, 0, 0, 0, 0, 0, 0, 0], [99, 0]), Icmpv6Defect["zero-option-length"])
    })

    it("truncated-option: an option past the end of the message, or a lone byte", () => {
      expectDefect(concat(solicitation, [5, 2, 0, 0, 0, 0, 5, 0xdc]), Icmpv6Defect["truncated-option"])
      expectDefect(concat(solicitation, [5]), Icmpv6Defect["truncated-option"])
      expectDefect(solicitation.slice(0, solicitation.length - 1), Icmpv6Defect["truncated-option"])
    })

    it("bad-checksum is a defect name for the counter of verifyChecksum failures", () => {
      expect(Icmpv6Defect["bad-checksum"].name).toBe("icmpv6.bad-checksum")
    })
  })

  it("offers the NDP fields and options in place", () => {
    const ra = concat(
      [134, 0, 0, 0, 64, 0xc0 | 0x08, 0x07, 0x08, 0, 0, 0x75, 0x30, 0, 0, 0x03, 0xe8],
      [1, 1, 2, 0, 0, 0, 0, 1], // SLLA
      [3, 4, 64, 0xc0, 0, 1, 0x51, 0x80, 0, 0, 0x38, 0x40, 0, 0, 0, 0, ...(ipv6FromString("2001:db8::") ?? [])],
      [5, 1, 0, 0, 0, 0, 0x05, 0xdc] // MTU 1500
    )
    const view = parsed(PacketBuffer.wrap(ra))
    expect([view.curHopLimit, view.managed, view.other, view.routerLifetime, view.reachableTime, view.retransTimer]).toEqual([
      64,
      true,
      true,
      1800,
      30000,
      1000
    ])
    expect(view.sourceLinkLayerAddress).toBe(macFromString("02:00:00:00:00:01"))
    expect(view.targetLinkLayerAddress).toBe(-1)
    expect(view.mtuOption).toBe(1500)
    const types: Array<number> = []
    for (let at = view.optionsOffset; at >= 0; at = view.nextOptionOffset(at)) types.push(view.optionType(at), view.optionLength(at))
    expect(types).toEqual([1, 8, 3, 32, 5, 8])
    const message = view.toHeader()
    expect(message._tag === "RouterAdvertisement" && message.flags).toBe(0x08)

    const na = parsed(PacketBuffer.wrap(concat([136, 0, 0, 0, 0xa0, 0, 0, 0], TARGET, [2, 1, 2, 0, 0, 0, 0, 2])))
    expect([na.router, na.solicited, na.override]).toEqual([true, false, true])
    expect(na.targetEquals(TARGET)).toBe(true)
    expect(na.targetEquals(SRC)).toBe(false)
    expect(na.targetOffset).toBe(8)
    expect(na.targetLinkLayerAddress).toBe(macFromString("02:00:00:00:00:02"))
    expect(na.sourceLinkLayerAddress).toBe(-1)

    const echo = parsed(PacketBuffer.wrap(Uint8Array.of(129, 0, 0, 0, 0x12, 0x34, 0, 9, 1, 2, 3)))
    expect([echo.type, echo.identifier, echo.sequence, echo.bodyOffset, echo.length, echo.optionsOffset]).toEqual([129, 0x1234, 9, 8, 11, -1])
    const tooBig = parsed(PacketBuffer.wrap(Uint8Array.of(2, 0, 0, 0, 0, 0, 5, 0, 0x60)))
    expect(tooBig.mtu).toBe(1280)
  })

  it("reads a message that straddles fragments (NDP options pulled in, echo data left in place)", () => {
    fc.assert(
      fc.property(icmpv6Message, fc.nat(), fc.nat(), (message, a, b) => {
        const bytes = encode(message)
        const [cut1, cut2] = [a % bytes.length, b % bytes.length].sort((x, y) => x - y)
        const buffer = PacketBuffer.fromBytes(bytes.subarray(0, cut1))
        buffer.addFragmentBytes(bytes.slice(cut1, cut2))
        buffer.addFragmentBytes(bytes.slice(cut2))
        const view = parsed(buffer)
        expect(view.toHeader()).toEqual(message)
      })
    )
  })

  describe("the emitter", () => {
    it("writes the Schema encoding with a checksum that verifies, full or partial", () => {
      fc.assert(
        fc.property(icmpv6Message, fc.constantFrom("full" as const, "partial" as const), (message, mode) => {
          const data = trailing(message)
          const length = icmpv6MessageLength(message)
          const buffer = dirtyBuffer(data, length - data.length + 8)
          const pseudoHeaderSum = ipv6PseudoHeaderSum(SRC, DST, 58, length)
          expect(emitIcmpv6(buffer, icmpv6Fields(message), { mode, pseudoHeaderSum })).toBeUndefined()
          expect(buffer.meta.transportHeader).toBe(8)
          if (mode === "partial") {
            expect(buffer.meta.checksum).toEqual(ChecksumState.partial(8, 2))
            expect(resolvePartialChecksum(buffer)).toBeUndefined()
          }
          const view = parsed(buffer)
          expect(view.verifyChecksum(pseudoHeaderSum)).toBe(true)
          expect(view.verifyChecksum(ipv6PseudoHeaderSum(SRC, TARGET, 58, length))).toBe(false)
          expect([...buffer.toUint8Array()]).toEqual([...encode({ ...message, checksum: view.checksum })])
        }),
        { numRuns: 300 }
      )
    })

    it("fills a checksum that verifies through the IPv6 view's pseudo-header, behind extension headers", () => {
      const buffer = PacketBuffer.fromBytes(new Uint8Array(56).fill(0x61), 128)
      const length = 64
      const pseudoHeaderSum = ipv6PseudoHeaderSum(SRC, DST, 58, length)
      expect(emitIcmpv6(buffer, { _tag: "EchoRequest", identifier: 1, sequence: 2 }, { mode: "full", pseudoHeaderSum })).toBeUndefined()
      expect(
        emitIpv6(buffer, {
          trafficClass: 0,
          flowLabel: 0,
          hopLimit: 255,
          source: SRC,
          destination: DST,
          protocol: 58,
          extensionHeaders: [{ _tag: "HopByHop", options: [{ _tag: "RouterAlert", value: 0 }] }]
        })
      ).toBeUndefined()
      const ip = Ipv6View.parse(buffer)
      if (!(ip instanceof Ipv6View)) throw new Error(ip.name)
      expect([ip.upperLayerProtocol, ip.upperLayerLength]).toEqual([58, length])
      const icmp = parsed(buffer, ip.upperLayerOffset)
      expect(icmp.verifyChecksum(ip.pseudoHeaderSum())).toBe(true)
      expect(Schema.toFormatter(Icmpv6Message)(icmp.toHeader())).toBe("ICMP6, echo request, id 1, seq 2, length 64")
      // a flipped data bit breaks it
      buffer.setUint8(buffer.length - 1, 0x60)
      expect(icmp.verifyChecksum(ip.pseudoHeaderSum())).toBe(false)
      // no checksum leaves the field zero, which does not verify
      const none = PacketBuffer.fromBytes(new Uint8Array(0), 8)
      emitIcmpv6(none, { _tag: "EchoReply", identifier: 1, sequence: 2 }, noChecksum)
      expect(parsed(none).checksum).toBe(0)
      expect(parsed(none).verifyChecksum(ipv6PseudoHeaderSum(SRC, DST, 58, 8))).toBe(false)
    })

    it("pads NDP options to 8-byte units, and refuses options too long for the length field", () => {
      const buffer = dirtyBuffer([], 128)
      const fields = {
        _tag: "NeighborSolicitation" as const,
        target: TARGET,
        options: [
          { _tag: "SourceLinkLayerAddress" as const, address: 0x020000000001 },
          { _tag: "UnknownNdpOption" as const, type: 200, data: Uint8Array.of(7, 7, 7) },
          { _tag: "RedirectedHeader" as const, packet: Uint8Array.of(0x60, 1, 2, 3, 4, 5, 6, 7, 8, 9) }
        ]
      }
      expect(emitIcmpv6(buffer, fields, noChecksum)).toBeUndefined()
      const bytes = buffer.toUint8Array()
      expect(bytes.length).toBe(24 + 8 + 8 + 24)
      expect([...bytes.subarray(24)]).toEqual([
        ...[1, 1, 2, 0, 0, 0, 0, 1],
        ...[200, 1, 7, 7, 7, 0, 0, 0],
        ...[4, 3, 0, 0, 0, 0, 0, 0, 0x60, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 0, 0, 0, 0, 0]
      ])
      const huge = { ...fields, options: [{ _tag: "UnknownNdpOption" as const, type: 200, data: new Uint8Array(2039) }] }
      const untouched = PacketBuffer.fromBytes(new Uint8Array(0), 4096)
      expect(emitIcmpv6(untouched, huge, noChecksum)?._tag).toBe("InvalidLength")
      expect(untouched.data).toBe(4096)
      expect(emitIcmpv6(PacketBuffer.fromBytes(new Uint8Array(4), 7), { _tag: "EchoRequest", identifier: 1, sequence: 1 }, noChecksum)?._tag).toBe(
        "HeadroomExceeded"
      )
    })
  })

  it("the Schema refuses typed messages no bytes decode to", () => {
    const is = Schema.is(Icmpv6Message)
    expect(is({ _tag: "UnknownIcmpv6", type: 128, code: 0, checksum: 0, rest: 0, data: new Uint8Array(0) })).toBe(false)
    const ns = { _tag: "NeighborSolicitation", code: 0, checksum: 0, reserved: 0, target: "fe80::2" }
    expect(is({ ...ns, options: [{ _tag: "UnknownNdpOption", type: 1, data: new Uint8Array(6) }] })).toBe(false) // that is an SLLA
    expect(is({ ...ns, options: [{ _tag: "UnknownNdpOption", type: 1, data: new Uint8Array(14) }] })).toBe(true) // a 16-byte one is not
    expect(is({ ...ns, options: [{ _tag: "UnknownNdpOption", type: 9, data: new Uint8Array(7) }] })).toBe(false) // not 8-byte units
    expect(is({ ...ns, options: [{ _tag: "RedirectedHeader", reserved: 0, packet: new Uint8Array(9) }] })).toBe(false)
  })

  it("names the quoted destination and port of a port unreachable, as tcpdump", () => {
    const format = Schema.toFormatter(Icmpv6Message)
    const quoted = new Uint8Array(48)
    quoted[0] = 0x60
    quoted[6] = 17 // UDP
    quoted.set(ipv6ToBytes("fd00::2" as Ipv6Address), 24)
    quoted[42] = 5002 >>> 8
    quoted[43] = 5002 & 0xff
    const message = (code: number, invokingPacket: Uint8Array) =>
      Schema.decodeUnknownSync(Icmpv6Message)({ _tag: "DestinationUnreachable", code, checksum: 0, unused: 0, invokingPacket })
    expect(format(message(4, quoted))).toBe("ICMP6, destination unreachable, unreachable port, fd00::2 udp port 5002, length 56")
    expect(format(message(4, quoted.subarray(0, 43)))).toBe("ICMP6, destination unreachable, unreachable port, length 51")
    expect(format(message(1, quoted))).toBe("ICMP6, destination unreachable, unreachable prohibited, length 56")
  })

  it("renders tcpdump's lines", () => {
    const format = Schema.toFormatter(Icmpv6Message)
    const make = (u: unknown) => Schema.decodeUnknownSync(Icmpv6Message)(u)
    const quoted = new Uint8Array(48)
    const lines: ReadonlyArray<readonly [unknown, string]> = [
      [
        { _tag: "EchoRequest", code: 0, checksum: 0, identifier: 1, sequence: 2, data: new Uint8Array(56) },
        "ICMP6, echo request, id 1, seq 2, length 64"
      ],
      [
        { _tag: "EchoReply", code: 0, checksum: 0, identifier: 1, sequence: 2, data: new Uint8Array(56) },
        "ICMP6, echo reply, id 1, seq 2, length 64"
      ],
      [
        {
          _tag: "NeighborSolicitation",
          code: 0,
          checksum: 0,
          reserved: 0,
          target: "fe80::2",
          options: [{ _tag: "SourceLinkLayerAddress", address: "02:00:00:00:00:01" }]
        },
        "ICMP6, neighbor solicitation, who has fe80::2, length 32"
      ],
      [
        {
          _tag: "NeighborAdvertisement",
          code: 0,
          checksum: 0,
          router: true,
          solicited: true,
          override: true,
          reserved: 0,
          target: "fe80::2",
          options: [{ _tag: "TargetLinkLayerAddress", address: "02:00:00:00:00:01" }]
        },
        "ICMP6, neighbor advertisement, tgt is fe80::2, length 32"
      ],
      [
        {
          _tag: "RouterAdvertisement",
          code: 0,
          checksum: 0,
          curHopLimit: 64,
          managed: true,
          other: true,
          flags: 0,
          routerLifetime: 1800,
          reachableTime: 0,
          retransTimer: 0,
          options: [
            { _tag: "SourceLinkLayerAddress", address: "02:00:00:00:00:01" },
            { _tag: "Mtu", reserved: 0, mtu: 1500 },
            {
              _tag: "PrefixInformation",
              prefixLength: 64,
              onLink: true,
              autonomous: true,
              flags: 0,
              validLifetime: 86400,
              preferredLifetime: 14400,
              reserved: 0,
              prefix: "2001:db8::"
            }
          ]
        },
        "ICMP6, router advertisement, length 64"
      ],
      [{ _tag: "RouterSolicitation", code: 0, checksum: 0, reserved: 0, options: [] }, "ICMP6, router solicitation, length 8"],
      [
        { _tag: "Redirect", code: 0, checksum: 0, reserved: 0, target: "fe80::3", destination: "2001:db8::4", options: [] },
        "ICMP6, redirect, 2001:db8::4 to fe80::3, length 40"
      ],
      [
        { _tag: "DestinationUnreachable", code: 4, checksum: 0, unused: 0, invokingPacket: quoted },
        "ICMP6, destination unreachable, unreachable port, length 56"
      ],
      [{ _tag: "PacketTooBig", code: 0, checksum: 0, mtu: 1280, invokingPacket: quoted }, "ICMP6, packet too big, mtu 1280, length 56"],
      [{ _tag: "TimeExceeded", code: 0, checksum: 0, unused: 0, invokingPacket: quoted }, "ICMP6, time exceeded in-transit, length 56"],
      [
        { _tag: "TimeExceeded", code: 1, checksum: 0, unused: 0, invokingPacket: quoted },
        "ICMP6, time exceeded in-transit (reassembly), length 56"
      ],
      [
        { _tag: "ParameterProblem", code: 1, checksum: 0, pointer: 6, invokingPacket: quoted },
        "ICMP6, parameter problem, next header - octet 6, length 56"
      ],
      [
        { _tag: "UnknownIcmpv6", type: 143, code: 0, checksum: 0, rest: 0, data: new Uint8Array(0) },
        "ICMP6, multicast listener report v2, 0 group record(s), length 8"
      ],
      [
        { _tag: "UnknownIcmpv6", type: 200, code: 0, checksum: 0, rest: 6, data: new Uint8Array(0) },
        "ICMP6, unknown icmp6 type (200), length 8"
      ]
    ]
    for (const [message, line] of lines) expect(format(make(message))).toBe(line)
  })
})
