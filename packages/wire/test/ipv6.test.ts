/**
 * IPv6 and its extension-header chain: the view and the Schema agree on every
 * input (valid, mutated, hostile chains), each defect is named, the emitter
 * writes what the Schema encodes, and the formatter prints tcpdump-like lines.
 */
import { describe, expect, it } from "@effect/vitest"
import { ipv6PseudoHeaderSum, PacketBuffer } from "@netstack/buffers"
import {
  emitIpv6,
  IPV6_MAX_EXTENSION_HEADERS,
  Ipv6Defect,
  Ipv6Header,
  Ipv6HeaderFromBytes,
  ipv6FromString,
  ipv6Fields,
  ipv6HeaderLength,
  ipv6OptionAction,
  ipv6OptionMayChange,
  ipv6ToBytes,
  Ipv6View,
  writeU16,
  writeU32
} from "@netstack/wire"
import { ipv6Header, ipv6Packet, mutated } from "@netstack/wire/testing"
import { Schema } from "effect"
import fc from "fast-check"
import { expectAgreement } from "./support/agreement.ts"

const decoders = { codec: Ipv6HeaderFromBytes, parse: (b: PacketBuffer) => Ipv6View.parse(b) }
const encode = Schema.encodeSync(Ipv6HeaderFromBytes)
const concat = (...parts: ReadonlyArray<ArrayLike<number>>): Uint8Array => Uint8Array.from(parts.flatMap((p) => Array.from(p)))
const packets = ipv6Packet.map(({ header, payload }) => concat(encode(header), payload))

/** A buffer holding `payload` after `headroom` bytes of junk, so an emitter must write every byte it pushes. */
const dirtyBuffer = (payload: ArrayLike<number>, headroom: number): PacketBuffer => {
  const buffer = PacketBuffer.fromBytes(concat(new Array<number>(headroom).fill(0xa5), payload))
  buffer.pull(headroom)
  return buffer
}

const SRC = ipv6FromString("2001:db8::1") ?? new Uint8Array(16)
const DST = ipv6FromString("2001:db8::2") ?? new Uint8Array(16)

/** A fixed header (version 6, hop limit 64, 2001:db8::1 > 2001:db8::2) followed by `body`. */
const packet = (nextHeader: number, body: ArrayLike<number>, payloadLength = body.length): Uint8Array => {
  const b = new Uint8Array(40 + body.length)
  b[0] = 0x60
  writeU16(b, 4, payloadLength)
  b[6] = nextHeader
  b[7] = 64
  b.set(SRC, 8)
  b.set(DST, 24)
  b.set(Array.from(body), 40)
  return b
}

/** Both decoders refuse `bytes` with `defect`. */
const expectDefect = (bytes: Uint8Array, defect: Ipv6Defect): void => {
  expect(Ipv6View.parse(PacketBuffer.wrap(bytes.slice()))).toBe(defect)
  expect(expectAgreement(decoders, bytes)).toBeUndefined()
}

const parsed = (bytes: Uint8Array): Ipv6View => {
  const view = Ipv6View.parse(PacketBuffer.wrap(bytes))
  if (!(view instanceof Ipv6View)) throw new Error(view.name)
  return view
}

/**
 * Hostile chains: a valid fixed header, then 8-byte-multiple blocks each
 * claiming to be an extension header (options zero, random, a TLV that may
 * not fit, a PadN, a Jumbo Payload), sometimes long runs of valid ones, with a
 * payload length a little off the bytes present, or 0 (a jumbogram, maybe).
 */
interface HostileBlock {
  readonly nextHeader: number
  readonly units: number
  readonly body: "zeros" | "random" | "tlv" | "padn" | "jumbo"
  readonly seed: Uint8Array
}
const hostileBlock: fc.Arbitrary<HostileBlock> = fc.record({
  nextHeader: fc.constantFrom(0, 43, 44, 60, 60, 60, 6, 17, 58, 59),
  units: fc.integer({ min: 0, max: 2 }),
  body: fc.constantFrom("zeros", "random", "tlv", "padn", "jumbo"),
  seed: fc.uint8Array({ minLength: 22, maxLength: 22 })
})
const hostileChains = fc
  .record({
    first: fc.constantFrom(0, 43, 44, 60, 60, 59, 17),
    blocks: fc.oneof<Array<fc.Arbitrary<ReadonlyArray<HostileBlock>>>>(
      fc.array(hostileBlock, { maxLength: 20 }),
      fc
        .integer({ min: 10, max: 20 })
        .map((n) => Array.from({ length: n }, () => ({ nextHeader: 60, units: 0, body: "zeros", seed: new Uint8Array(22) })))
    ),
    slack: fc.integer({ min: -9, max: 9 }),
    zeroLength: fc.boolean()
  })
  .map(({ first, blocks, slack, zeroLength }) => {
    const chain = blocks.flatMap(({ nextHeader, units, body, seed }) => {
      const size = 8 * (units + 1)
      const zeros = new Array<number>(size - 2).fill(0)
      const rest =
        body === "random"
          ? Array.from(seed.subarray(0, size - 2))
          : body === "tlv"
            ? [[0x05, 0xc2, 0x01, seed[2]][seed[0] % 4], seed[1] % 8, ...zeros.slice(2)]
            : body === "padn"
              ? [1, seed[1] % 6, ...Array.from(seed.subarray(2, 6), (b) => (b < 64 ? b : 0)), ...zeros.slice(6)]
              : body === "jumbo"
                ? [0xc2, 4, seed[0] & 3, seed[1], seed[2], seed[3], ...zeros.slice(6)]
                : zeros
      return [nextHeader, units, ...rest]
    })
    const payloadLength = zeroLength ? 0 : Math.max(0, chain.length + Math.min(slack, 0))
    return concat(packet(first, chain, payloadLength), new Array<number>(Math.max(slack, 0)).fill(0))
  })

describe("IPv6", () => {
  it("view and Schema decode every valid packet to the same header, which re-encodes byte-exactly", () => {
    fc.assert(
      fc.property(ipv6Packet, fc.uint8Array({ maxLength: 8 }), ({ header, payload }, padding) => {
        // link-layer padding after the payload is allowed: the payload length says where the packet ends
        const headerBytes = encode(header)
        const bytes = concat(headerBytes, payload, padding)
        const decoded = expectAgreement(decoders, bytes)
        expect(decoded).toEqual(header)
        if (decoded !== undefined) expect([...encode(decoded)]).toEqual([...headerBytes])
        const view = parsed(bytes)
        expect(view.upperLayerOffset).toBe(headerBytes.length)
        expect(view.upperLayerLength).toBe(payload.length)
        expect(view.extensionHeaderCount).toBe(header.extensionHeaders.length)
        const last = header.extensionHeaders[header.extensionHeaders.length - 1]
        expect(view.upperLayerProtocol).toBe(last === undefined ? header.nextHeader : last.nextHeader)
        expect(view.isFragment).toBe(last !== undefined && last._tag === "Fragment")
      }),
      { numRuns: 300 }
    )
  })

  it("view and Schema accept and refuse the same arbitrary and mutated bytes", () => {
    fc.assert(
      fc.property(mutated(packets), (bytes) => {
        const decoded = expectAgreement(decoders, bytes)
        if (decoded !== undefined) expect([...encode(decoded)]).toEqual([...bytes.subarray(0, ipv6HeaderLength(decoded))])
      }),
      { numRuns: 1000 }
    )
  })

  it("view and Schema agree on hostile extension-header chains", () => {
    const seen = new Set<string>()
    fc.assert(
      fc.property(hostileChains, (bytes) => {
        const view = Ipv6View.parse(PacketBuffer.wrap(bytes.slice()))
        seen.add(view instanceof Ipv6View ? "accepted" : view.name)
        void expectAgreement(decoders, bytes)
      }),
      { numRuns: 1000 }
    )
    // the generator reaches the chain defects, so the agreement above covers them
    const chainDefects = Object.values(Ipv6Defect)
      .map((d) => d.name)
      .filter((name) => name !== "ipv6.truncated" && name !== "ipv6.bad-version")
    for (const name of ["accepted", ...chainDefects]) expect(seen).toContain(name)
  })

  describe("names each defect", () => {
    it("truncated: fewer than 40 bytes, at every length", () => {
      const valid = packet(59, [])
      for (let n = 0; n < 40; n++) expectDefect(valid.slice(0, n), Ipv6Defect.truncated)
      expect(Ipv6View.parse(PacketBuffer.wrap(concat(valid, [0, 0])), 3)).toBe(Ipv6Defect.truncated)
    })

    it("bad-version", () => {
      const b = packet(59, [])
      b[0] = 0x40
      expectDefect(b, Ipv6Defect["bad-version"])
    })

    it("bad-payload-length: more than the bytes present; link padding after it is fine", () => {
      expectDefect(packet(59, new Array<number>(9).fill(0), 10), Ipv6Defect["bad-payload-length"])
      const padded = parsed(packet(17, new Array<number>(10).fill(0), 4))
      expect(padded.payloadLength).toBe(4)
      expect(padded.upperLayerLength).toBe(4)
    })

    it("bad-extension-length: a header past the payload, even when link padding holds its bytes", () => {
      // Destination Options claiming 16 bytes in a payload of 8 (16 bytes present).
      expectDefect(packet(60, [59, 1, 1, 12, ...new Array<number>(12).fill(0)], 8), Ipv6Defect["bad-extension-length"])
      // no room for Next Header and Hdr Ext Len
      expectDefect(packet(60, [59, 0, 1, 4, 0, 0, 0, 0], 1), Ipv6Defect["bad-extension-length"])
      // a Fragment header needs 8 bytes
      expectDefect(packet(44, [17, 0, 0, 0, 0, 0, 0, 1], 4), Ipv6Defect["bad-extension-length"])
      // a chain whose last header announces another that is not there
      expectDefect(packet(60, [43, 0, 1, 4, 0, 0, 0, 0]), Ipv6Defect["bad-extension-length"])
    })

    it("hop-by-hop-not-first (RFC 8200 §4.1)", () => {
      expectDefect(packet(60, [0, 0, 1, 4, 0, 0, 0, 0, 59, 0, 1, 4, 0, 0, 0, 0]), Ipv6Defect["hop-by-hop-not-first"])
    })

    it("bad-option-length: an option past the end of its header", () => {
      // PadN of 5 data bytes where 4 remain
      expectDefect(packet(60, [59, 0, 1, 5, 0, 0, 0, 0]), Ipv6Defect["bad-option-length"])
      // PadN of 3, then a lone type byte with no length
      expectDefect(packet(0, [59, 0, 1, 3, 0, 0, 0, 0x3e]), Ipv6Defect["bad-option-length"])
    })

    it("bad-option: Router Alert not 2 bytes, Jumbo Payload not 4", () => {
      expectDefect(packet(0, [59, 0, 5, 3, 0, 0, 0, 0]), Ipv6Defect["bad-option"])
      expectDefect(packet(0, [59, 0, 0xc2, 3, 0, 1, 0, 0], 0), Ipv6Defect["bad-option"])
    })

    it("bad-padding: PadN with non-zero data", () => {
      expectDefect(packet(60, [59, 0, 1, 4, 0, 0, 1, 0]), Ipv6Defect["bad-padding"])
    })

    it("bad-jumbo: each RFC 2675 §3 error", () => {
      const jumbo = [0xc2, 4, 0, 1, 0, 0] // 65536
      const big = new Array<number>(65536 - 8).fill(0)
      // Jumbo Payload option with a non-zero Payload Length
      expectDefect(packet(0, [59, 0, ...jumbo]), Ipv6Defect["bad-jumbo"])
      // a jumbo length of 65535 or less
      expectDefect(packet(0, [59, 0, 0xc2, 4, 0, 0, 0xff, 0xff], 0), Ipv6Defect["bad-jumbo"])
      // in a Destination Options header
      expectDefect(packet(60, [59, 0, ...jumbo]), Ipv6Defect["bad-jumbo"])
      // twice
      expectDefect(packet(0, [59, 1, ...jumbo, ...jumbo, 1, 0], 0), Ipv6Defect["bad-jumbo"])
      // with a Fragment header
      expectDefect(packet(0, [44, 0, ...jumbo, 17, 0, 0, 0, 0, 0, 0, 1, ...big.slice(8)], 0), Ipv6Defect["bad-jumbo"])
      // Payload Length 0 with a Hop-by-Hop header and no Jumbo Payload option
      expectDefect(packet(0, [59, 0, 1, 4, 0, 0, 0, 0], 0), Ipv6Defect["bad-jumbo"])
      // and a jumbo length past the bytes present is a bad payload length
      expectDefect(packet(0, [59, 0, ...jumbo, ...new Array<number>(100).fill(0)], 0), Ipv6Defect["bad-payload-length"])
    })

    it("bad-fragment: M set with a length not a multiple of 8, or past 65535 (RFC 8200 §4.5)", () => {
      expectDefect(packet(44, [17, 0, 0, 1, 0, 0, 0, 7, 1, 2, 3, 4, 5]), Ipv6Defect["bad-fragment"])
      expectDefect(packet(44, [17, 0, 0xff, 0xf8, 0, 0, 0, 7, ...new Array<number>(8).fill(0)]), Ipv6Defect["bad-fragment"])
      // the last fragment (M clear) may have any length; offset 8190 with 8 bytes ends at 65528
      const last = parsed(packet(44, [17, 0, 0xff, 0xf0, 0, 0, 0, 7, 1, 2, 3, 4, 5]))
      expect(last.fragmentOffset).toBe(8190)
      expect(parsed(packet(44, [17, 0, 0xff, 0xf0, 0, 0, 0, 7, ...new Array<number>(15).fill(0)])).isFragment).toBe(true)
    })

    it("too-many-extension-headers: the walk stops after 16, however long the chain", () => {
      const chain = (count: number) =>
        Array.from({ length: count }, (_, i) => [i === count - 1 ? 59 : 60, 0, 1, 4, 0, 0, 0, 0]).flat()
      expect(parsed(packet(60, chain(IPV6_MAX_EXTENSION_HEADERS))).extensionHeaderCount).toBe(16)
      expectDefect(packet(60, chain(IPV6_MAX_EXTENSION_HEADERS + 1)), Ipv6Defect["too-many-extension-headers"])
      // 8000 headers (64000 bytes): refused after 16, not walked to the end
      expectDefect(packet(60, chain(8000)), Ipv6Defect["too-many-extension-headers"])
    })
  })

  it("exposes the chain: upper layer, fragment, routing, router alert, unrecognized options, pseudo-header sum", () => {
    const hopByHop = [60, 1, 5, 2, 0, 0, 0x3e, 0, 0x80, 2, 0xaa, 0xbb, 0x1e, 0, 0, 0] // RA 0, skip-type 0x3e, discard-and-report 0x80
    const destination = [43, 0, 5, 2, 0, 9, 0x41, 0] // Router Alert (not a Hop-by-Hop one), discard-type 0x41
    const routing = [44, 0, 4, 2, 0, 0, 0, 0]
    const fragment = [58, 0, 0, 3 << 3 | 1, 0xde, 0xad, 0xbe, 0xef]
    const data = new Array<number>(16).fill(7)
    const bytes = packet(0, [...hopByHop, ...destination, ...routing, ...fragment, ...data])
    const view = parsed(bytes)
    expect(view.nextHeader).toBe(0)
    expect(view.extensionHeaderCount).toBe(4)
    expect(view.upperLayerProtocol).toBe(58)
    expect(view.upperLayerOffset).toBe(40 + 16 + 8 + 8 + 8)
    expect(view.upperLayerLength).toBe(16)
    expect(view.headerLength).toBe(80)
    expect(view.routerAlert).toBe(0)
    expect(view.hopByHopUnrecognizedOption).toBe(48) // the 0x80 option: 40 + 8 (the 0x3e one is skipped)
    expect(ipv6OptionAction(bytes[view.start + view.hopByHopUnrecognizedOption])).toBe("discard-and-report")
    expect(view.destinationUnrecognizedOption).toBe(62)
    expect(view.routingHeaderOffset).toBe(64)
    expect(view.routingType).toBe(4)
    expect(view.segmentsLeft).toBe(2)
    expect(view.fragmentHeaderOffset).toBe(72)
    expect(view.fragmentOffset).toBe(3)
    expect(view.moreFragments).toBe(true)
    expect(view.fragmentIdentification).toBe(0xdeadbeef)
    expect(view.hopLimit).toBe(64)
    expect(view.sourceOffset).toBe(8)
    expect(view.destinationOffset).toBe(24)
    expect(view.sourceEquals(SRC)).toBe(true)
    expect(view.destinationEquals(DST)).toBe(true)
    expect(view.destinationEquals(SRC)).toBe(false)
    expect(view.pseudoHeaderSum()).toBe(ipv6PseudoHeaderSum(SRC, DST, 58, 16))
    expect(view.pseudoHeaderSum(70000, 6)).toBe(ipv6PseudoHeaderSum(SRC, DST, 6, 70000))

    const plain = parsed(packet(17, new Array<number>(8).fill(0)))
    expect([plain.isFragment, plain.fragmentHeaderOffset, plain.routingType, plain.routerAlert, plain.isJumbogram]).toEqual([
      false,
      -1,
      -1,
      -1,
      false
    ])
    expect(plain.upperLayerProtocol).toBe(17)
    // RFC 2711: Router Alert is a Hop-by-Hop option; one in Destination Options is not reported
    expect(parsed(packet(60, [59, 0, 5, 2, 0, 9, 1, 0])).routerAlert).toBe(-1)
    expect(parsed(packet(0, [59, 0, 5, 2, 0, 9, 1, 0])).routerAlert).toBe(9)
    // fields of the first word
    const b = packet(59, [])
    writeU32(b, 0, 0x6abcdef1)
    const first = parsed(b)
    expect([first.trafficClass, first.flowLabel]).toEqual([0xab, 0xcdef1])
  })

  it("reads the unrecognized-option action from the type's two high bits (RFC 8200 §4.2)", () => {
    expect([0x1e, 0x5e, 0x9e, 0xde].map(ipv6OptionAction)).toEqual([
      "skip",
      "discard",
      "discard-and-report",
      "discard-and-report-unless-multicast"
    ])
    expect(ipv6OptionMayChange(0x3e)).toBe(true)
    expect(ipv6OptionMayChange(0x1e)).toBe(false)
  })

  it("reads a chain that straddles fragments", () => {
    fc.assert(
      fc.property(ipv6Packet, fc.nat(), fc.nat(), ({ header, payload }, a, b) => {
        const bytes = concat(encode(header), payload)
        const [cut1, cut2] = [a % bytes.length, b % bytes.length].sort((x, y) => x - y)
        const buffer = PacketBuffer.fromBytes(bytes.subarray(0, cut1))
        buffer.addFragmentBytes(bytes.slice(cut1, cut2))
        buffer.addFragmentBytes(bytes.slice(cut2))
        const view = Ipv6View.parse(buffer)
        if (!(view instanceof Ipv6View)) throw new Error(view.name)
        expect(view.toHeader()).toEqual(header)
        expect(view.upperLayerOffset).toBe(bytes.length - payload.length)
      })
    )
  })

  describe("the emitter", () => {
    it("writes exactly the Schema encoding in front of the upper-layer bytes", () => {
      fc.assert(
        fc.property(ipv6Packet, ({ header, payload }) => {
          const headerLength = ipv6HeaderLength(header)
          const buffer = dirtyBuffer(payload, headerLength + 4)
          expect(emitIpv6(buffer, ipv6Fields(header))).toBeUndefined()
          expect([...buffer.toUint8Array()]).toEqual([...encode(header), ...payload])
          expect(buffer.meta.networkHeader).toBe(4)
        }),
        { numRuns: 200 }
      )
      const [header] = fc.sample(ipv6Header, { numRuns: 1, seed: 2 })
      const tight = PacketBuffer.fromBytes(new Uint8Array(4), ipv6HeaderLength(header) - 1)
      expect(emitIpv6(tight, ipv6Fields(header))?._tag).toBe("HeadroomExceeded")
    })

    it("pads options with Pad1 or PadN and fills every Next Header", () => {
      const buffer = dirtyBuffer([1, 2, 3, 4], 64)
      const fields = {
        trafficClass: 0,
        flowLabel: 0,
        hopLimit: 1,
        source: SRC,
        destination: DST,
        protocol: 58,
        extensionHeaders: [
          { _tag: "HopByHop" as const, options: [{ _tag: "RouterAlert" as const, value: 0 }] },
          { _tag: "DestinationOptions" as const, options: [{ _tag: "UnknownOption" as const, type: 0x1e, data: Uint8Array.of(9, 9, 9) }] }
        ]
      }
      expect(emitIpv6(buffer, fields)).toBeUndefined()
      const bytes = buffer.toUint8Array()
      expect([bytes[4], bytes[5], bytes[6]]).toEqual([0, 20, 0]) // payload length 8 + 8 + 4, Next Header: Hop-by-Hop
      expect([...bytes.subarray(40, 56)]).toEqual([60, 0, 5, 2, 0, 0, 1, 0, 58, 0, 0x1e, 3, 9, 9, 9, 0])
      expect(parsed(bytes).upperLayerProtocol).toBe(58)
    })

    it("writes a jumbogram through the Jumbo Payload option (RFC 2675), and refuses lengths it cannot carry", () => {
      const fields = {
        trafficClass: 0,
        flowLabel: 0,
        hopLimit: 64,
        source: SRC,
        destination: DST,
        protocol: 17,
        extensionHeaders: [{ _tag: "HopByHop" as const, options: [{ _tag: "JumboPayload" as const, length: 0 }] }]
      }
      const buffer = dirtyBuffer(new Uint8Array(70000), 48)
      expect(emitIpv6(buffer, fields)).toBeUndefined()
      const bytes = buffer.toUint8Array()
      const view = parsed(bytes)
      // Deliberate difference: the view's payloadLength is the jumbo length; the typed header keeps the field (0) and the option.
      expect([view.isJumbogram, view.payloadLength, view.upperLayerOffset, view.upperLayerLength]).toEqual([true, 70008, 48, 70000])
      const header = expectAgreement(decoders, bytes)
      expect(header?.payloadLength).toBe(0)
      expect(header?.extensionHeaders).toEqual([{ _tag: "HopByHop", nextHeader: 17, options: [{ _tag: "JumboPayload", length: 70008 }] }])
      expect(Schema.toFormatter(Ipv6Header)(view.toHeader())).toBe("IP6 2001:db8::1 > 2001:db8::2: HBH UDP, hlim 64, length 70008")

      expect(emitIpv6(PacketBuffer.fromBytes(new Uint8Array(100), 48), fields)?._tag).toBe("InvalidLength")
      const noJumbo = { ...fields, extensionHeaders: [] }
      const tooLong = PacketBuffer.fromBytes(new Uint8Array(65536), 48)
      expect(emitIpv6(tooLong, noJumbo)?._tag).toBe("InvalidLength")
      expect(tooLong.data).toBe(48) // nothing pushed
      const routing = { ...fields, extensionHeaders: [{ _tag: "Routing" as const, routingType: 0, segmentsLeft: 0, data: new Uint8Array(5) }] }
      expect(emitIpv6(PacketBuffer.fromBytes(new Uint8Array(4), 64), routing)?._tag).toBe("InvalidLength")
    })
  })

  it("the Schema refuses typed headers no bytes decode to", () => {
    const base = Schema.decodeUnknownSync(Ipv6Header)({
      trafficClass: 0,
      flowLabel: 0,
      payloadLength: 8,
      nextHeader: 60,
      hopLimit: 64,
      source: "2001:db8::1",
      destination: "2001:db8::2",
      extensionHeaders: [{ _tag: "DestinationOptions", nextHeader: 59, options: [{ _tag: "PadN", length: 4 }] }]
    })
    const is = Schema.is(Ipv6Header)
    expect(is(base)).toBe(true)
    expect(is({ ...base, nextHeader: 43 })).toBe(false) // chain inconsistent
    expect(is({ ...base, extensionHeaders: [] })).toBe(false) // 60 announced, nothing there
    expect(is({ ...base, payloadLength: 7 })).toBe(false) // header past the payload
    const destination = (nextHeader: number, padding: number) => [
      { _tag: "DestinationOptions", nextHeader, options: [{ _tag: "PadN", length: padding }] }
    ]
    expect(is({ ...base, extensionHeaders: destination(59, 3) })).toBe(false) // 7 bytes
    expect(is({ ...base, extensionHeaders: destination(0, 4) })).toBe(false) // 0 ends nothing
    expect(
      is({
        ...base,
        nextHeader: 60,
        payloadLength: 16,
        extensionHeaders: [
          { _tag: "DestinationOptions", nextHeader: 0, options: [{ _tag: "PadN", length: 4 }] },
          { _tag: "HopByHop", nextHeader: 59, options: [{ _tag: "PadN", length: 4 }] }
        ]
      })
    ).toBe(false) // Hop-by-Hop not first
  })

  it("renders one tcpdump-like line", () => {
    const format = Schema.toFormatter(Ipv6Header)
    const make = (u: unknown) => Schema.decodeUnknownSync(Ipv6Header)(u)
    const base = { trafficClass: 0, flowLabel: 0, hopLimit: 255, source: "fe80::1", destination: "ff02::1", extensionHeaders: [] }
    expect(format(make({ ...base, payloadLength: 32, nextHeader: 58 }))).toBe("IP6 fe80::1 > ff02::1: ICMP6, hlim 255, length 32")
    expect(format(make({ ...base, trafficClass: 0x10, flowLabel: 0x12345, payloadLength: 64, nextHeader: 58 }))).toBe(
      "IP6 fe80::1 > ff02::1: ICMP6, class 0x10, flowlabel 0x12345, hlim 255, length 64"
    )
    expect(
      format(
        make({
          ...base,
          hopLimit: 1,
          destination: "ff02::16",
          payloadLength: 36,
          nextHeader: 0,
          extensionHeaders: [{ _tag: "HopByHop", nextHeader: 58, options: [{ _tag: "RouterAlert", value: 0 }, { _tag: "PadN", length: 0 }] }]
        })
      )
    ).toBe("IP6 fe80::1 > ff02::16: HBH ICMP6, hlim 1, length 36")
    const fragment = (fragmentOffset: number, moreFragments: boolean, payloadLength: number) =>
      make({
        ...base,
        hopLimit: 64,
        source: "2001:db8::1",
        destination: "2001:db8::2",
        payloadLength,
        nextHeader: 44,
        extensionHeaders: [{ _tag: "Fragment", nextHeader: 17, reserved: 0, fragmentOffset, reserved2: 0, moreFragments, identification: 7 }]
      })
    expect(format(fragment(0, true, 1240))).toBe("IP6 2001:db8::1 > 2001:db8::2: frag (0|1232) UDP, hlim 64, length 1240")
    expect(format(fragment(154, false, 16))).toBe("IP6 2001:db8::1 > 2001:db8::2: frag (1232|8), hlim 64, length 16")
    expect(
      format(
        make({
          ...base,
          payloadLength: 36,
          nextHeader: 60,
          extensionHeaders: [
            { _tag: "DestinationOptions", nextHeader: 43, options: [{ _tag: "PadN", length: 4 }] },
            { _tag: "Routing", nextHeader: 6, routingType: 4, segmentsLeft: 0, data: new Uint8Array(4) }
          ]
        })
      )
    ).toBe("IP6 fe80::1 > ff02::1: DSTOPT RT6 (type=4, segleft=0) TCP, hlim 255, length 36")
    expect(format(make({ ...base, payloadLength: 0, nextHeader: 59 }))).toBe("IP6 fe80::1 > ff02::1: no next header, hlim 255, length 0")
    expect(format(make({ ...base, payloadLength: 0, nextHeader: 99 }))).toBe("IP6 fe80::1 > ff02::1: ip-proto-99, hlim 255, length 0")
    expect(ipv6ToBytes(make({ ...base, payloadLength: 0, nextHeader: 59 }).source)).toEqual(ipv6FromString("fe80::1"))
  })
})
