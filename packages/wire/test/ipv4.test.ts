/**
 * IPv4: view ⇄ Schema agreement (on valid and mutated bytes, options
 * included), every defect by name, the header checksum (RFC 1071 vector),
 * the emitter ⇄ Schema encoding, options, fragments, and rendering.
 *
 * Deliberate, documented behaviour shared by both decoders: neither `parse`
 * nor the Schema codec verifies the header checksum; `bad-checksum` comes
 * only from `Ipv4View.verifyChecksum()`. The agreement tests therefore also
 * check that, whenever both accept, `verifyChecksum()` says what an
 * independent word-by-word sum of the header says.
 */
import { describe, expect, it } from "@effect/vitest"
import { ipv4PseudoHeaderSum, PacketBuffer } from "@netstack/buffers"
import {
  decodeIpv4Options,
  emitIpv4,
  emitUdp,
  encodeIpv4Options,
  formatIpv4Options,
  type HeaderDefect,
  Ipv4Defect,
  ipv4Fields,
  Ipv4Header,
  Ipv4HeaderFromBytes,
  type Ipv4Option,
  Ipv4Options,
  Ipv4OptionsBytes,
  Ipv4OptionsFromBytes,
  Ipv4OtherOption,
  Ipv4View,
  isCopiedIpv4Option,
  ipv4ToString,
  isHeaderDefect,
  padIpv4Options,
  UdpView
} from "@netstack/wire"
import { ipv4Header, ipv4OptionList, ipv4OptionsBytes, ipv4Packet, ipv4PacketBytes, mutated } from "@netstack/wire/testing"
import { Result, Schema } from "effect"
import fc from "fast-check"
import { LINKTYPE_IPV4, skipReason, type TsharkFrame, tsharkFields, withCapture } from "@netstack/test-support"
import { expectAgreement } from "./support/agreement.ts"

const decoders = { codec: Ipv4HeaderFromBytes, parse: (b: PacketBuffer) => Ipv4View.parse(b) }
const encode = Schema.encodeSync(Ipv4HeaderFromBytes)
const decode = Schema.decodeUnknownSync(Ipv4HeaderFromBytes)
const hex = (s: string): Uint8Array => Uint8Array.from(s.replace(/\s+/g, "").match(/../g) ?? [], (b) => Number.parseInt(b, 16))
const concat = (...parts: ReadonlyArray<Uint8Array>): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]))

/** The header checksum check, written independently of the library: the 16-bit words sum to 0xFFFF. */
const naiveHeaderVerifies = (bytes: Uint8Array): boolean => {
  const headerLength = (bytes[0] & 0x0f) * 4
  let sum = 0
  for (let i = 0; i < headerLength; i += 2) sum += bytes[i] * 256 + bytes[i + 1]
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000)
  return sum === 0xffff
}

const viewOf = (bytes: Uint8Array, offset = 0): Ipv4View => {
  const view = Ipv4View.parse(PacketBuffer.wrap(bytes), offset)
  if (!(view instanceof Ipv4View)) throw new Error(`refused: ${view.name}`)
  return view
}

/** Refused by the view with `defect`, and by the Schema with the same name. */
const expectDefect = (bytes: Uint8Array, defect: HeaderDefect): void => {
  expect(Ipv4View.parse(PacketBuffer.wrap(bytes.slice()))).toBe(defect)
  expectAgreement(decoders, bytes)
}

/** The classic example (RFC 1071 discussions; Wikipedia "IPv4 header checksum"): 172.16.10.99 > 172.16.10.12, TCP. */
const CLASSIC = hex("4500 003c 1c46 4000 4006 b1e6 ac10 0a63 ac10 0a0c")
const classicPacket = (): Uint8Array => concat(CLASSIC, new Uint8Array(40))

/** A packet whose options area is `options` (a multiple of 4 bytes), total length covering `payload`. */
const withOptions = (options: ReadonlyArray<number>, payload = 0): Uint8Array => {
  const headerLength = 20 + options.length
  const out = new Uint8Array(headerLength + payload)
  out.set(CLASSIC)
  out[0] = 0x40 | (headerLength / 4)
  out[2] = (headerLength + payload) >> 8
  out[3] = (headerLength + payload) & 0xff
  out.set(options, 20)
  return out
}

/** Packets with options, whose options area is mutated: byte overwrites and truncations inside it. */
const optionMutations = ipv4PacketBytes
  .filter((b) => (b[0] & 0x0f) > 5)
  .chain((b) => {
    const headerLength = (b[0] & 0x0f) * 4
    return fc.oneof(
      fc
        .array(fc.tuple(fc.integer({ min: 20, max: headerLength - 1 }), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 3
        })
        .map((edits) => {
          const out = b.slice()
          for (const [at, value] of edits) out[at] = value
          return out
        }),
      fc.integer({ min: 0, max: headerLength }).map((n) => b.slice(0, n)),
      // an option length octet set to a small or large value
      fc.tuple(fc.integer({ min: 20, max: headerLength - 2 }), fc.constantFrom(0, 1, 2, 3, 39, 40, 255)).map(([at, v]) => {
        const out = b.slice()
        out[at + 1] = v
        return out
      })
    )
  })

/** The tshark oracle skips (and says why) without tshark. */
const tsharkMissing = skipReason("the tshark oracle", ["tshark"]) !== undefined

/** tshark's values of `fields` in each raw IPv4 packet, strict about checksums, without reassembly. */
const tsharkRead = (packets: ReadonlyArray<Uint8Array>, fields: ReadonlyArray<string>): ReadonlyArray<TsharkFrame> =>
  withCapture(packets, LINKTYPE_IPV4, (path) =>
    tsharkFields(path, fields, ["ip.check_checksum:TRUE", "ip.defragment:FALSE"]).map((frame) =>
      Object.fromEntries(fields.map((f) => [f, frame[f] ?? []]))
    ))


describe("IPv4", () => {
  it("view and Schema decode every valid packet to the same header, link-layer padding allowed", () => {
    fc.assert(
      fc.property(ipv4Packet, fc.uint8Array({ maxLength: 18 }), ({ header, payload }, padding) => {
        const bytes = concat(encode(header), payload, padding)
        expect(expectAgreement(decoders, bytes)).toEqual(header)
        const view = viewOf(bytes)
        expect(view.verifyChecksum()).toBe(true)
        expect(view.headerLength).toBe(20 + header.options.length)
        expect(view.payloadOffset).toBe(view.headerLength)
        expect(view.payloadLength).toBe(payload.length)
        expect(view.isFragment).toBe(header.moreFragments || header.fragmentOffset !== 0)
        expect(view.fragmentByteOffset).toBe(header.fragmentOffset * 8)
        expect(view.options()).toEqual(Schema.decodeUnknownSync(Ipv4OptionsFromBytes)(header.options))
      }),
      { numRuns: 300 }
    )
  })

  it("view and Schema accept and refuse the same arbitrary and mutated bytes", () => {
    fc.assert(
      fc.property(fc.oneof(mutated(ipv4PacketBytes), optionMutations), fc.nat(3), (bytes, offset) => {
        const framed = concat(new Uint8Array(offset), bytes)
        const header = expectAgreement(decoders, bytes)
        const view = Ipv4View.parse(PacketBuffer.wrap(framed), offset)
        if (header === undefined) {
          // the same defect at any offset
          expect(view).toBe(Ipv4View.parse(PacketBuffer.wrap(bytes.slice())))
          return
        }
        if (!(view instanceof Ipv4View)) throw new Error(view.name)
        expect(view.toHeader()).toEqual(header)
        expect(view.verifyChecksum()).toBe(naiveHeaderVerifies(bytes))
        expect(view.options()).toEqual(Schema.decodeUnknownSync(Ipv4OptionsFromBytes)(header.options))
        expect(Schema.is(Ipv4Header)(header)).toBe(true)
      }),
      { numRuns: 1000 }
    )
  })

  it("checks the header checksum only on request: the classic vector", () => {
    const view = viewOf(classicPacket())
    expect(view.checksum).toBe(0xb1e6)
    expect(view.verifyChecksum()).toBe(true)
    // any single bit flipped in the header, outside version and IHL (which parse refuses or misreads), fails it
    for (let at = 1; at < 20; at++) {
      for (let bit = 0; bit < 8; bit++) {
        const corrupted = classicPacket()
        corrupted[at] ^= 1 << bit
        const bad = Ipv4View.parse(PacketBuffer.wrap(corrupted))
        if (isHeaderDefect(bad)) {
          expect(bad, `byte ${at} bit ${bit}`).toBe(Ipv4Defect["bad-total-length"]) // a total length past the bytes
        } else {
          expect(bad.verifyChecksum(), `byte ${at} bit ${bit}`).toBe(false)
        }
      }
    }
    // the checksum is not a parse defect: the Schema decodes a header with a wrong checksum as found
    const wrong = classicPacket()
    wrong[11] ^= 0xff
    expect(decode(wrong).checksum).toBe(0xb119)
    expect(viewOf(wrong).verifyChecksum()).toBe(false)
    expect(Ipv4Defect["bad-checksum"].name).toBe("ipv4.bad-checksum")
  })

  it("names each defect", () => {
    for (let n = 0; n < 20; n++) expectDefect(classicPacket().slice(0, n), Ipv4Defect.truncated)
    // IHL 6 says 24 header bytes; only 22 present
    expectDefect(withOptions([1, 1, 1, 1]).slice(0, 22), Ipv4Defect.truncated)
    expect(Ipv4View.parse(PacketBuffer.wrap(classicPacket()), 45)).toBe(Ipv4Defect.truncated)
    expect(Ipv4View.parse(PacketBuffer.wrap(classicPacket()), -1)).toBe(Ipv4Defect.truncated)
    for (const version of [0, 6, 15]) {
      const b = classicPacket()
      b[0] = (version << 4) | 5
      expectDefect(b, Ipv4Defect["bad-version"])
    }
    for (let ihl = 0; ihl < 5; ihl++) {
      const b = classicPacket()
      b[0] = 0x40 | ihl
      expectDefect(b, Ipv4Defect["bad-header-length"])
    }
    const short = classicPacket()
    short[3] = 19 // total length below the header length
    expectDefect(short, Ipv4Defect["bad-total-length"])
    expectDefect(classicPacket().slice(0, 59), Ipv4Defect["bad-total-length"]) // total length 60 > 59 bytes
    // options: length below 2, overrunning the area, length octet missing
    expectDefect(withOptions([7, 0, 0, 0]), Ipv4Defect["bad-option"])
    expectDefect(withOptions([148, 1, 0, 0]), Ipv4Defect["bad-option"])
    expectDefect(withOptions([1, 148, 4, 0]), Ipv4Defect["bad-option"])
    expectDefect(withOptions([1, 1, 1, 7]), Ipv4Defect["bad-option"])
    expectDefect(withOptions([7, 7, 4, 0, 0, 0, 0, 1, 1, 1, 1, 68]), Ipv4Defect["bad-option"])
    expectDefect(withOptions([7, 7, 4, 0, 0, 0, 0, 1, 1, 1, 68, 3]), Ipv4Defect["bad-option"])
    // the same walk, ending exactly at the end of the area, is well formed
    expect(viewOf(withOptions([7, 7, 4, 0, 0, 0, 0, 1, 1, 1, 68, 2])).headerLength).toBe(32)
    // well formed: nothing after End of Option List is read
    expect(viewOf(withOptions([0, 7, 0, 0])).options()).toEqual([{ _tag: "EndOfOptionList" }])
    expect(viewOf(withOptions([1, 1, 148, 4, 0, 0, 0, 0])).options()).toEqual([
      { _tag: "NoOperation" },
      { _tag: "NoOperation" },
      { _tag: "RouterAlert", value: 0 },
      { _tag: "EndOfOptionList" }
    ])
  })

  it("the emitter writes the Schema encoding, lengths and a checksum that verifies", () => {
    fc.assert(
      fc.property(ipv4Packet, ({ header, payload }) => {
        const buffer = PacketBuffer.fromBytes(payload, 64)
        expect(emitIpv4(buffer, ipv4Fields(header))).toBeUndefined()
        // the arbitrary's checksum verifies, and is the only value that does: the emitter must write it
        expect([...buffer.toUint8Array()]).toEqual([...encode(header), ...payload])
        expect(buffer.meta.networkHeader).toBe(buffer.data)
        const view = Ipv4View.parse(buffer)
        if (!(view instanceof Ipv4View)) throw new Error(view.name)
        expect(view.verifyChecksum()).toBe(true)
        expect(view.totalLength).toBe(buffer.length)
      })
    )
  })

  it("the emitter pads options with End of Option List and refuses what does not fit", () => {
    const fields = ipv4Fields(decode(classicPacket()))
    const options = encodeIpv4Options([{ _tag: "NoOperation" }, { _tag: "RouterAlert", value: 0 }])
    const buffer = PacketBuffer.fromBytes(Uint8Array.of(1, 2, 3), 64)
    expect(emitIpv4(buffer, { ...fields, options })).toBeUndefined()
    const view = viewOf(buffer.toUint8Array())
    expect(view.headerLength).toBe(28)
    expect(view.totalLength).toBe(31)
    expect(view.verifyChecksum()).toBe(true)
    expect(view.options()).toEqual([{ _tag: "NoOperation" }, { _tag: "RouterAlert", value: 0 }, { _tag: "EndOfOptionList" }])
    expect(view.findOption(148)).toBe(21)
    expect(view.findOption(7)).toBe(-1)

    const untouched = PacketBuffer.fromBytes(Uint8Array.of(1), 64)
    expect(emitIpv4(untouched, { ...fields, options: new Uint8Array(41) })?._tag).toBe("InvalidLength")
    expect(emitIpv4(PacketBuffer.fromBytes(new Uint8Array(65516), 20), fields)?._tag).toBe("InvalidLength")
    expect(emitIpv4(PacketBuffer.fromBytes(new Uint8Array(4), 19), fields)?._tag).toBe("HeadroomExceeded")
    expect(emitIpv4(untouched, { ...fields, options: new Uint8Array(40) })).toBeUndefined()
    expect(emitIpv4(PacketBuffer.fromBytes(new Uint8Array(65515), 20), fields)).toBeUndefined()
  })

  it("writes the classic vector's checksum and gives the pseudo-header sum for UDP", () => {
    const buffer = PacketBuffer.fromBytes(new Uint8Array(40), 20)
    expect(emitIpv4(buffer, ipv4Fields(decode(classicPacket())))).toBeUndefined()
    expect([...buffer.toUint8Array().subarray(0, 20)]).toEqual([...CLASSIC])

    const datagram = PacketBuffer.fromBytes(Uint8Array.of(104, 105), 28)
    const source = 0x0a000001
    const destination = 0x0a000002
    emitUdp(datagram, { sourcePort: 1234, destinationPort: 7 }, {
      mode: "full",
      pseudoHeaderSum: ipv4PseudoHeaderSum(source, destination, 17, 10)
    })
    const fields = { ...ipv4Fields(decode(classicPacket())), protocol: 17, source, destination }
    expect(emitIpv4(datagram, fields)).toBeUndefined()
    const ip = viewOf(datagram.toUint8Array())
    const udp = UdpView.parse(PacketBuffer.wrap(datagram.toUint8Array()), ip.payloadOffset)
    if (!(udp instanceof UdpView)) throw new Error(udp.name)
    expect(udp.verifyChecksum(ip.pseudoHeaderSum(17, ip.payloadLength), false)).toBe(true)
    expect(udp.verifyChecksum(ip.pseudoHeaderSum(6, ip.payloadLength), false)).toBe(false)
    expect(ip.source).toBe(source)
    expect(ip.destination).toBe(destination)
  })

  it("reads fragments: first, middle and last", () => {
    // 4000 bytes of UDP over a 1500 MTU: offsets 0, 185, 370 (× 8 = 0, 1480, 2960)
    const fragment = (offset: number, more: boolean, payload: number): Uint8Array => {
      const b = concat(CLASSIC, new Uint8Array(payload))
      b[2] = (20 + payload) >> 8
      b[3] = (20 + payload) & 0xff
      b[6] = (more ? 0x20 : 0) | (offset >> 8)
      b[7] = offset & 0xff
      b[9] = 17
      return b
    }
    const first = viewOf(fragment(0, true, 1480))
    expect([first.isFragment, first.moreFragments, first.fragmentOffset, first.payloadLength]).toEqual([true, true, 0, 1480])
    const middle = viewOf(fragment(185, true, 1480))
    expect([middle.isFragment, middle.fragmentByteOffset, middle.dontFragment]).toEqual([true, 1480, false])
    const last = viewOf(fragment(370, false, 1048))
    expect([last.isFragment, last.moreFragments, last.fragmentByteOffset, last.totalLength]).toEqual([true, false, 2960, 1068])
    expect(viewOf(classicPacket()).isFragment).toBe(false) // DF alone is not a fragment
    const format = Schema.toFormatter(Ipv4Header)
    expect(format(middle.toHeader())).toBe(
      "IP 172.16.10.99 > 172.16.10.12: proto UDP (17), ttl 64, id 7238, offset 1480, flags [+], length 1500"
    )
    expect(format(last.toHeader())).toBe(
      "IP 172.16.10.99 > 172.16.10.12: proto UDP (17), ttl 64, id 7238, offset 2960, flags [none], length 1068"
    )
  })

  it("reads a header whose options straddle fragments", () => {
    fc.assert(
      fc.property(ipv4PacketBytes, fc.nat(), fc.nat(), (bytes, a, b) => {
        const cut1 = a % (bytes.length + 1)
        const cut2 = cut1 + (b % (bytes.length - cut1 + 1))
        const buffer = PacketBuffer.fromBytes(bytes.subarray(0, cut1))
        buffer.addFragmentBytes(bytes.slice(cut1, cut2))
        buffer.addFragmentBytes(bytes.slice(cut2))
        const view = Ipv4View.parse(buffer)
        if (!(view instanceof Ipv4View)) throw new Error(view.name)
        expect(view.toHeader()).toEqual(decode(bytes))
        expect(view.verifyChecksum()).toBe(true)
      })
    )
  })

  it("parses a quoted header whose total length exceeds the bytes present (ICMP errors)", () => {
    const quoted = classicPacket().slice(0, 28)
    expect(Ipv4View.parse(PacketBuffer.wrap(quoted.slice()))).toBe(Ipv4Defect["bad-total-length"])
    const view = Ipv4View.parseQuoted(PacketBuffer.wrap(quoted.slice()))
    if (!(view instanceof Ipv4View)) throw new Error(view.name)
    expect([view.destination, view.protocol, view.payloadLength]).toEqual([0xac100a0c, 6, 40])
    const short = quoted.slice()
    short[3] = 19
    expect(Ipv4View.parseQuoted(PacketBuffer.wrap(short))).toBe(Ipv4Defect["bad-total-length"])
    expect(Ipv4View.parseQuoted(PacketBuffer.wrap(quoted.slice(0, 19)))).toBe(Ipv4Defect.truncated)
  })

  it.skipIf(tsharkMissing)("Wireshark reads every field as the view does, the checksum verdict and option kinds included", () => {
    // half the packets get a corrupted checksum field, which tshark must report bad as verifyChecksum does
    const packets = fc.sample(ipv4PacketBytes, { numRuns: 300, seed: 791 }).map((b, i) => {
      const out = b.slice()
      if (i % 2 === 1) out[11] ^= 1 << (i % 8)
      return out
    })
    const fields = [
      "ip.version", "ip.hdr_len", "ip.dsfield.dscp", "ip.dsfield.ecn", "ip.len", "ip.id", "ip.flags.rb", "ip.flags.df",
      "ip.flags.mf", "ip.frag_offset", "ip.ttl", "ip.proto", "ip.checksum", "ip.checksum.status", "ip.src", "ip.dst"
    ]
    const read = tsharkRead(packets, [...fields, "ip.opt.type"])
    expect(read.length).toBe(packets.length)
    const optionType: Record<Ipv4Option["_tag"], number> = {
      EndOfOptionList: 0,
      NoOperation: 1,
      RecordRoute: 7,
      Timestamp: 68,
      LooseSourceRoute: 131,
      StrictSourceRoute: 137,
      RouterAlert: 148,
      OtherOption: -1
    }
    let compared = 0
    const hex16 = (n: number) => `0x${n.toString(16).padStart(4, "0")}`
    packets.forEach((bytes, i) => {
      const view = viewOf(bytes.slice())
      const options = view.options()
      // Wireshark shows the last address of a source route as the destination
      const sourceRouted = options.some((o) => o._tag === "LooseSourceRoute" || o._tag === "StrictSourceRoute")
      const first = Object.fromEntries(fields.map((f) => [f, read[i][f][0]]))
      expect(first, `packet ${i}`).toEqual({
        "ip.version": "4",
        "ip.hdr_len": `${view.headerLength}`,
        "ip.dsfield.dscp": `${view.dscp}`,
        "ip.dsfield.ecn": `${view.ecn}`,
        "ip.len": `${view.totalLength}`,
        "ip.id": hex16(view.identification),
        "ip.flags.rb": view.reservedFlag ? "1" : "0",
        "ip.flags.df": view.dontFragment ? "1" : "0",
        "ip.flags.mf": view.moreFragments ? "1" : "0",
        "ip.frag_offset": `${view.fragmentOffset}`,
        "ip.ttl": `${view.ttl}`,
        "ip.proto": `${view.protocol}`,
        "ip.checksum": hex16(view.checksum),
        "ip.checksum.status": view.verifyChecksum() ? "1" : "0", // 1 good, 0 bad
        "ip.src": ipv4ToString(view.source),
        "ip.dst": sourceRouted ? first["ip.dst"] : ipv4ToString(view.destination)
      })
      expect(view.verifyChecksum()).toBe(i % 2 === 0)
      // option kinds, where Wireshark lists them all: no raw options (it skips malformed ones), and no
      // inner IPv4 header (ICMP errors, IP in IP) whose options would follow
      if (options.every((o) => o._tag !== "OtherOption") && view.protocol !== 1 && view.protocol !== 4) {
        expect(read[i]["ip.opt.type"], `packet ${i}`).toEqual(options.map((o) => `${optionType[o._tag]}`))
        if (options.length > 0) compared++
      }
    })
    expect(compared).toBeGreaterThan(20)
  })

  it("renders one tcpdump-like line", () => {
    const format = Schema.toFormatter(Ipv4Header)
    expect(format(decode(classicPacket()))).toBe(
      "IP 172.16.10.99 > 172.16.10.12: proto TCP (6), ttl 64, id 7238, flags [DF], length 60"
    )
    const h = Schema.decodeUnknownSync(Ipv4Header)({
      version: 4,
      dscp: 46,
      ecn: 2,
      totalLength: 43,
      identification: 4660,
      reservedFlag: true,
      dontFragment: true,
      moreFragments: true,
      fragmentOffset: 0,
      ttl: 1,
      protocol: 17,
      checksum: 0,
      source: "10.0.0.1",
      destination: "10.0.0.2",
      options: Uint8Array.of(148, 4, 0, 0)
    })
    expect(format(h)).toBe(
      "IP 10.0.0.1 > 10.0.0.2: proto UDP (17), tos 0xba, ttl 1, id 4660, flags [+DFrsvd], length 43, options (RA)"
    )
    expect(format({ ...h, dscp: 0, ecn: 0, reservedFlag: false, moreFragments: false, protocol: 253, options: new Uint8Array(0) })).toBe(
      "IP 10.0.0.1 > 10.0.0.2: proto unknown (253), ttl 1, id 4660, flags [DF], length 43"
    )
  })
})

describe("IPv4 options", () => {
  it("a list decodes back from its encoding, and the Schema accepts it", () => {
    fc.assert(
      fc.property(ipv4OptionList, (options) => {
        const bytes = Schema.encodeSync(Ipv4OptionsFromBytes)(options)
        expect(bytes.length).toBe(encodeIpv4Options(options).length)
        expect(Schema.decodeUnknownSync(Ipv4OptionsFromBytes)(bytes)).toEqual(options)
        expect(Schema.is(Ipv4Options)(options)).toBe(true)
        expect(Schema.is(Ipv4OptionsBytes)(padIpv4Options(bytes))).toBe(true)
      }),
      { numRuns: 300 }
    )
  })

  it("any options area that decodes re-encodes to the same bytes, up to End of Option List", () => {
    const areas = fc.oneof(
      mutated(ipv4OptionsBytes),
      fc.array(fc.oneof(fc.constantFrom(0, 1, 2, 3, 4, 5, 6, 7, 8, 68, 131, 137, 148), fc.integer({ min: 0, max: 255 })), {
        maxLength: 40
      }).map((a) => Uint8Array.from(a))
    )
    fc.assert(
      fc.property(areas, (bytes) => {
        const options = decodeIpv4Options(bytes)
        if (isHeaderDefect(options)) return
        const encoded = encodeIpv4Options(options)
        expect([...encoded]).toEqual([...bytes.subarray(0, encoded.length)])
        const ended = options.length > 0 && options[options.length - 1]._tag === "EndOfOptionList"
        if (!ended) expect(encoded.length).toBe(bytes.length)
        expect(Schema.is(Ipv4Options)(options)).toBe(encoded.length <= 40)
      }),
      { numRuns: 1000 }
    )
  })

  it("every generated options area is valid for the header Schema", () => {
    fc.assert(fc.property(ipv4OptionsBytes, (bytes) => void expect(Schema.is(Ipv4OptionsBytes)(bytes)).toBe(true)))
    fc.assert(fc.property(ipv4Header, (h) => void expect(Schema.is(Ipv4Header)(h)).toBe(true)))
  })

  it("decodes the common kinds (RFC 791 §3.1, RFC 2113)", () => {
    const bytes = concat(
      Uint8Array.of(7, 11, 8, 10, 0, 0, 1, 0, 0, 0, 0), // RR, pointer 8: one address recorded, one free slot
      Uint8Array.of(131, 7, 4, 192, 0, 2, 1), // LSRR
      Uint8Array.of(137, 3, 4), // SSRR, no room
      Uint8Array.of(68, 12, 5, 0x21, 10, 0, 0, 1, 0, 0, 0, 100), // TS, overflow 2, flag 1
      Uint8Array.of(148, 4, 0, 1), // RA, value 1
      Uint8Array.of(1, 0)
    )
    const options = decodeIpv4Options(bytes)
    const expected = Schema.decodeUnknownSync(Ipv4Options)([
      { _tag: "RecordRoute", pointer: 8, addresses: ["10.0.0.1", "0.0.0.0"] },
      { _tag: "LooseSourceRoute", pointer: 4, addresses: ["192.0.2.1"] },
      { _tag: "StrictSourceRoute", pointer: 4, addresses: [] },
      { _tag: "Timestamp", pointer: 5, overflow: 2, flag: 1, entries: [{ address: "10.0.0.1", timestamp: 100 }] },
      { _tag: "RouterAlert", value: 1 },
      { _tag: "NoOperation" },
      { _tag: "EndOfOptionList" }
    ])
    expect(options).toEqual(expected)
    expect(Schema.is(Ipv4Options)(options)).toBe(true)
    expect([...encodeIpv4Options(expected)]).toEqual([...bytes])
    expect(formatIpv4Options(expected)).toBe(
      "RR 10.0.0.1, 0.0.0.0,LSRR 192.0.2.1,SSRR,TS 10.0.0.1@100 [2 hops not recorded],RA value 1,NOP,EOL"
    )
    expect(formatIpv4Options(decodeIpv4Options(Uint8Array.of(68, 8, 5, 0, 0, 0, 0, 42)) as ReadonlyArray<Ipv4Option>)).toBe("TS 42")
  })

  it("keeps unknown kinds and known kinds of the wrong length as raw options", () => {
    const bytes = Uint8Array.of(130, 4, 0xaa, 0xbb, 148, 3, 9, 148, 5, 0, 0, 1, 7, 6, 5, 0, 0, 0, 68, 5, 5, 2, 0, 68, 4, 5, 0x12)
    const options = decodeIpv4Options(bytes)
    expect(options).toEqual([
      { _tag: "OtherOption", type: 130, data: Uint8Array.of(0xaa, 0xbb) }, // unknown kind
      { _tag: "OtherOption", type: 148, data: Uint8Array.of(9) }, // Router Alert of length 3
      { _tag: "OtherOption", type: 148, data: Uint8Array.of(0, 0, 1) }, // Router Alert of length 5
      { _tag: "OtherOption", type: 7, data: Uint8Array.of(5, 0, 0, 0) }, // Record Route of length 6
      { _tag: "OtherOption", type: 68, data: Uint8Array.of(5, 2, 0) }, // Timestamp of length 5
      { _tag: "OtherOption", type: 68, data: Uint8Array.of(5, 0x12) } // Timestamp with flag 2
    ])
    expect(Schema.is(Ipv4Options)(options)).toBe(true)
    expect([...encodeIpv4Options(options as ReadonlyArray<Ipv4Option>)]).toEqual([...bytes])
    expect(formatIpv4Options(options as ReadonlyArray<Ipv4Option>)).toBe(
      "unknown 130 len 4,RA [bad length 3],RA [bad length 5],RR [bad length 6],TS [bad length 5],TS [bad length 4]"
    )
  })

  it("refuses a raw option that is a known kind in disguise, and knows which options are copied", () => {
    expect(Schema.is(Ipv4OtherOption)({ _tag: "OtherOption", type: 148, data: Uint8Array.of(0, 0) })).toBe(false)
    expect(Schema.is(Ipv4OtherOption)({ _tag: "OtherOption", type: 148, data: Uint8Array.of(0) })).toBe(true)
    expect(Schema.is(Ipv4OtherOption)({ _tag: "OtherOption", type: 1, data: new Uint8Array(0) })).toBe(false)
    expect(Schema.is(Ipv4Options)([{ _tag: "EndOfOptionList" }, { _tag: "NoOperation" }])).toBe(false)
    expect(Result.isFailure(Schema.decodeUnknownResult(Ipv4OptionsFromBytes)(Uint8Array.of(7, 1)))).toBe(true)
    expect([7, 68, 131, 137, 148].map(isCopiedIpv4Option)).toEqual([false, false, true, true, true])
  })
})
