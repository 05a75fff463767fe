/**
 * ICMPv4: view ⇄ Schema agreement (valid and mutated bytes), the typed kinds
 * and the bytes that make a message `Other`, defects, the emitter ⇄ Schema
 * encoding with checksums full and partial, and rendering.
 *
 * As for IPv4, neither `parse` nor the Schema codec verifies the checksum;
 * `bad-checksum` comes only from `Icmpv4View.verifyChecksum()`, which the
 * agreement tests hold against an independent sum.
 */
import { describe, expect, it } from "@effect/vitest"
import { PacketBuffer, resolvePartialChecksum } from "@netstack/buffers"
import {
  emitIcmpv4,
  icmpv4Body,
  Icmpv4Defect,
  Icmpv4DestinationUnreachable,
  icmpv4Fields,
  Icmpv4Message,
  Icmpv4MessageFromBytes,
  Icmpv4Other,
  Icmpv4View,
  emitIpv4,
  Ipv4HeaderFromBytes,
  ipv4ToString,
  isHeaderDefect
} from "@netstack/wire"
import { icmpv4Message, ipv4Header, mutated } from "@netstack/wire/testing"
import { Schema } from "effect"
import fc from "fast-check"
import { execFileSync } from "node:child_process"
import { LINKTYPE_IPV4, skipReason, type TsharkFrame, tsharkFields, withCapture } from "@netstack/test-support"
import { expectAgreement } from "./support/agreement.ts"

const decoders = { codec: Icmpv4MessageFromBytes, parse: (b: PacketBuffer) => Icmpv4View.parse(b) }
const encode = Schema.encodeSync(Icmpv4MessageFromBytes)
const decode = Schema.decodeUnknownSync(Icmpv4MessageFromBytes)
const messages = icmpv4Message.map(encode)
const hex = (s: string): Uint8Array => Uint8Array.from(s.replace(/\s+/g, "").match(/../g) ?? [], (b) => Number.parseInt(b, 16))

/** The checksum check, written independently of the library: the message's 16-bit words sum to 0xFFFF. */
const naiveVerifies = (bytes: Uint8Array): boolean => {
  let sum = 0
  for (let i = 0; i < bytes.length; i += 2) sum += bytes[i] * 256 + (i + 1 < bytes.length ? bytes[i + 1] : 0)
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000)
  return sum === 0xffff
}

const viewOf = (bytes: Uint8Array): Icmpv4View => {
  const view = Icmpv4View.parse(PacketBuffer.wrap(bytes))
  if (!(view instanceof Icmpv4View)) throw new Error(`refused: ${view.name}`)
  return view
}

/**
 * An echo request: id 0x1234, seq 1, data "abcdefgh". Checksum by hand: 0800 + 1234 + 0001 + 6162 + 6364
 * + 6566 + 6768 = 1abc9, folded abca, complemented 5435.
 */
const PING = hex("0800 5435 1234 0001 6162 6364 6566 6768")

/** A UDP datagram to 10.0.0.2 port 7 as quoted in a port unreachable: IPv4 header and 8 bytes of UDP. */
const QUOTED_UDP = hex("4500 0024 0001 0000 4011 0000 0a00 0001 0a00 0002 c350 0007 0010 0000")

/** The oracles skip (and say why) without tshark or tcpdump. */
const tsharkMissing = skipReason("the tshark oracle", ["tshark"]) !== undefined
const tcpdumpMissing = skipReason("the tcpdump rendering oracle", ["tcpdump"]) !== undefined

/** `message` in an IPv4 packet from 10.0.0.1 to 10.0.0.2, written by `emitIpv4`. */
const inIpv4 = (message: Uint8Array): Uint8Array => {
  const buffer = PacketBuffer.fromBytes(message, 20)
  emitIpv4(buffer, {
    dscp: 0,
    ecn: 0,
    identification: 1,
    reservedFlag: false,
    dontFragment: false,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 64,
    protocol: 1,
    source: 0x0a000001,
    destination: 0x0a000002
  })
  return buffer.toUint8Array()
}

/** `tcpdump -n -t` of raw IPv4 packets, one line each. */
const tcpdumpLines = (packets: ReadonlyArray<Uint8Array>): ReadonlyArray<string> =>
  withCapture(packets, LINKTYPE_IPV4, (path) =>
    execFileSync("tcpdump", ["-n", "-t", "-r", path], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
      .split("\n")
      .filter((line) => line.length > 0))

/** tshark's values of `fields` in each raw IPv4 packet, strict about checksums, without reassembly. */
const tsharkRead = (packets: ReadonlyArray<Uint8Array>, fields: ReadonlyArray<string>): ReadonlyArray<TsharkFrame> =>
  withCapture(packets, LINKTYPE_IPV4, (path) =>
    tsharkFields(path, fields, ["ip.check_checksum:TRUE", "ip.defragment:FALSE"]).map((frame) =>
      Object.fromEntries(fields.map((f) => [f, frame[f] ?? []]))
    ))

describe("ICMPv4", () => {
  it("view and Schema decode every valid message to the same value", () => {
    fc.assert(
      fc.property(icmpv4Message, (m) => {
        const bytes = encode(m)
        expect(expectAgreement(decoders, bytes)).toEqual(m)
        const view = viewOf(bytes)
        expect(view.verifyChecksum()).toBe(true)
        expect(view.length).toBe(bytes.length)
        expect(view.payloadLength).toBe(icmpv4Body(m).length)
        expect(Schema.is(Icmpv4Message)(m)).toBe(true)
      }),
      { numRuns: 300 }
    )
  })

  it("every kind is generated", () => {
    const tags = new Set(fc.sample(icmpv4Message, { numRuns: 500, seed: 1 }).map((m) => m._tag))
    expect([...tags].sort()).toEqual(
      ["DestinationUnreachable", "EchoReply", "EchoRequest", "Other", "ParameterProblem", "Redirect", "TimeExceeded"]
    )
  })

  it("view and Schema accept and refuse the same arbitrary and mutated bytes", () => {
    // mutations of the first 8 bytes move a message between kinds (and to `Other`)
    const headerEdits = messages.chain((b) =>
      fc
        .array(fc.tuple(fc.integer({ min: 0, max: 7 }), fc.oneof(fc.constantFrom(0, 3, 4, 5, 8, 11, 12, 16), fc.integer({ min: 0, max: 255 }))), {
          minLength: 1,
          maxLength: 3
        })
        .map((edits) => {
          const out = b.slice()
          for (const [at, value] of edits) out[at] = value
          return out
        })
    )
    fc.assert(
      fc.property(fc.oneof(mutated(messages), headerEdits), (bytes) => {
        const message = expectAgreement(decoders, bytes)
        if (message === undefined) {
          expect(bytes.length).toBeLessThan(8)
          return
        }
        expect(viewOf(bytes.slice()).verifyChecksum()).toBe(naiveVerifies(bytes))
        expect([...encode(message)]).toEqual([...bytes])
      }),
      { numRuns: 1000 }
    )
  })

  it("names each defect", () => {
    for (let n = 0; n < 8; n++) {
      expect(Icmpv4View.parse(PacketBuffer.wrap(PING.slice(0, n)))).toBe(Icmpv4Defect.truncated)
      expectAgreement(decoders, PING.slice(0, n))
    }
    expect(Icmpv4View.parse(PacketBuffer.wrap(PING.slice()), 9)).toBe(Icmpv4Defect.truncated)
    expect(Icmpv4View.parse(PacketBuffer.wrap(PING.slice()), -1)).toBe(Icmpv4Defect.truncated)
    // bad-checksum comes from verifyChecksum only: the message is decoded as found
    expect(viewOf(PING.slice()).verifyChecksum()).toBe(true)
    for (let at = 0; at < PING.length; at++) {
      const corrupted = PING.slice()
      corrupted[at] ^= 0x10
      expect(viewOf(corrupted).verifyChecksum()).toBe(false)
      expect(isHeaderDefect(Icmpv4View.parse(PacketBuffer.wrap(corrupted)))).toBe(false)
    }
    expect(Icmpv4Defect["bad-checksum"].name).toBe("icmpv4.bad-checksum")
  })

  it("gives a typed kind only when every byte fits it", () => {
    expect(decode(PING)).toEqual({ _tag: "EchoRequest", checksum: 0x5435, identifier: 0x1234, sequence: 1, data: hex("6162636465666768") })
    const kind = (header: string, body = "") => decode(hex(header + body))._tag
    expect(kind("0000 0000 0001 0002")).toBe("EchoReply")
    expect(kind("0001 0000 0001 0002")).toBe("Other") // echo reply with code 1
    expect(kind("0803 0000 0001 0002")).toBe("Other")
    expect(kind("0303 0000 0000 0000", "45")).toBe("DestinationUnreachable")
    expect(kind("0303 0000 0000 0001")).toBe("Other") // unused bytes not zero
    expect(kind("0310 0000 0000 0000")).toBe("Other") // code 16
    expect(kind("0304 0000 0000 05dc")).toBe("DestinationUnreachable")
    expect(decode(hex("0304 0000 0000 05dc"))).toEqual({ _tag: "DestinationUnreachable", code: 4, checksum: 0, nextHopMtu: 1500, invoking: new Uint8Array(0) })
    expect(decode(hex("0303 0000 0000 0000"))).toEqual({ _tag: "DestinationUnreachable", code: 3, checksum: 0, invoking: new Uint8Array(0) })
    expect(kind("0304 0000 0100 05dc")).toBe("Other") // RFC 4884 length in byte 5
    expect(kind("0b00 0000 0000 0000")).toBe("TimeExceeded")
    expect(kind("0b01 0000 0000 0000")).toBe("TimeExceeded")
    expect(kind("0b00 0000 0011 0000")).toBe("Other")
    expect(decode(hex("0501 0000 0a00 00fe"))).toMatchObject({ _tag: "Redirect", code: 1, gateway: "10.0.0.254" })
    expect(decode(hex("0c00 0000 1400 0000"))).toMatchObject({ _tag: "ParameterProblem", code: 0, pointer: 20 })
    expect(kind("0c00 0000 1400 0001")).toBe("Other")
    expect(decode(hex("0d00 0000 abcd 0001 0102"))).toEqual({
      _tag: "Other",
      type: 13,
      code: 0,
      checksum: 0,
      restOfHeader: 0xabcd0001,
      data: Uint8Array.of(1, 2)
    })
    // the typed forms refuse what the wire could not carry canonically
    expect(Schema.is(Icmpv4Other)({ _tag: "Other", type: 8, code: 0, checksum: 0, restOfHeader: 0, data: new Uint8Array(0) })).toBe(false)
    expect(Schema.is(Icmpv4Other)({ _tag: "Other", type: 8, code: 1, checksum: 0, restOfHeader: 0, data: new Uint8Array(0) })).toBe(true)
    const unreachable = { _tag: "DestinationUnreachable", code: 3, checksum: 0, invoking: new Uint8Array(0) }
    expect(Schema.is(Icmpv4DestinationUnreachable)(unreachable)).toBe(true)
    expect(Schema.is(Icmpv4DestinationUnreachable)({ ...unreachable, nextHopMtu: 1500 })).toBe(false)
    expect(Schema.is(Icmpv4DestinationUnreachable)({ ...unreachable, code: 4 })).toBe(false)
    expect(Schema.is(Icmpv4DestinationUnreachable)({ ...unreachable, code: 16 })).toBe(false)
  })

  it("the emitter writes the Schema encoding with a checksum that verifies, full or partial", () => {
    fc.assert(
      fc.property(icmpv4Message, fc.constantFrom("full" as const, "partial" as const), (m, mode) => {
        const buffer = PacketBuffer.fromBytes(icmpv4Body(m), 28)
        expect(emitIcmpv4(buffer, icmpv4Fields(m), mode)).toBeUndefined()
        expect(buffer.meta.transportHeader).toBe(buffer.data)
        if (mode === "partial") {
          expect(buffer.meta.checksum).toEqual({ _tag: "Partial", start: buffer.data, offset: 2 })
          expect(resolvePartialChecksum(buffer)).toBeUndefined()
        }
        expect(buffer.meta.checksum).toEqual({ _tag: "None" })
        const view = Icmpv4View.parse(buffer)
        if (!(view instanceof Icmpv4View)) throw new Error(view.name)
        expect(view.verifyChecksum()).toBe(true)
        // the arbitrary's checksum verifies, and is the value the emitter must compute
        expect([...buffer.toUint8Array()]).toEqual([...encode(m)])
      }),
      { numRuns: 300 }
    )
    expect(emitIcmpv4(PacketBuffer.fromBytes(new Uint8Array(4), 7), { type: 8, code: 0, restOfHeader: 0 })?._tag).toBe(
      "HeadroomExceeded"
    )
  })

  it("writes the captured ping and verifies a message that straddles fragments", () => {
    const buffer = PacketBuffer.fromBytes(PING.subarray(8), 8)
    expect(emitIcmpv4(buffer, { type: 8, code: 0, restOfHeader: 0x12340001 })).toBeUndefined()
    expect([...buffer.toUint8Array()]).toEqual([...PING])
    fc.assert(
      fc.property(messages, fc.nat(), fc.nat(), (bytes, a, b) => {
        const cut1 = a % (bytes.length + 1)
        const cut2 = cut1 + (b % (bytes.length - cut1 + 1))
        const split = PacketBuffer.fromBytes(bytes.subarray(0, cut1))
        split.addFragmentBytes(bytes.slice(cut1, cut2))
        split.addFragmentBytes(bytes.slice(cut2))
        const view = Icmpv4View.parse(split)
        if (!(view instanceof Icmpv4View)) throw new Error(view.name)
        expect(view.verifyChecksum()).toBe(true)
        expect(view.toHeader()).toEqual(decode(bytes))
      })
    )
  })

  it("reads the fields of each kind from the view", () => {
    const ping = viewOf(PING.slice())
    expect([ping.type, ping.code, ping.identifier, ping.sequence, ping.isError, ping.payloadOffset]).toEqual([8, 0, 0x1234, 1, false, 8])
    const needFrag = viewOf(hex("0304 0000 0000 0578"))
    expect([needFrag.nextHopMtu, needFrag.isError]).toEqual([1400, true])
    expect(viewOf(hex("0501 0000 0a00 00fe")).gateway).toBe(0x0a0000fe)
    expect(viewOf(hex("0c00 0000 1400 0000")).pointer).toBe(20)
    expect(viewOf(hex("0d00 0000 abcd 0001")).restOfHeader).toBe(0xabcd0001)
  })

  it.skipIf(tsharkMissing)("Wireshark reads every field as the view does, the checksum verdict included", () => {
    // half the messages get a corrupted checksum field, which tshark must report bad as verifyChecksum does
    const bytes = fc.sample(messages, { numRuns: 300, seed: 792 }).map((b, i) => {
      const out = b.slice()
      if (i % 2 === 1) out[2] ^= 1 << (i % 8)
      return out
    })
    const read = tsharkRead(bytes.map(inIpv4), [
      "icmp.type", "icmp.code", "icmp.checksum", "icmp.checksum.status", "icmp.ident", "icmp.seq", "icmp.mtu",
      "icmp.redir_gw", "icmp.pointer"
    ])
    expect(read.length).toBe(bytes.length)
    const hex16 = (n: number) => `0x${n.toString(16).padStart(4, "0")}`
    bytes.forEach((b, i) => {
      const view = viewOf(b.slice())
      const theirs = read[i]
      expect([theirs["icmp.type"][0], theirs["icmp.code"][0], theirs["icmp.checksum"][0]], `message ${i}`).toEqual([
        `${view.type}`,
        `${view.code}`,
        hex16(view.checksum)
      ])
      expect(theirs["icmp.checksum.status"][0], `message ${i}`).toBe(view.verifyChecksum() ? "1" : "0") // 1 good, 0 bad
      expect(view.verifyChecksum()).toBe(i % 2 === 0)
      // tshark lists the identifier big- then little-endian
      if (view.type === 0 || view.type === 8) {
        expect([theirs["icmp.ident"][0], theirs["icmp.seq"][0]]).toEqual([`${view.identifier}`, `${view.sequence}`])
      }
      if (view.type === 3 && view.code === 4) expect(theirs["icmp.mtu"][0]).toBe(`${view.nextHopMtu}`)
      if (view.type === 5) expect(theirs["icmp.redir_gw"][0]).toBe(ipv4ToString(view.gateway))
      if (view.type === 12) expect(theirs["icmp.pointer"][0]).toBe(`${view.pointer}`)
    })
  })

  it.skipIf(tcpdumpMissing)("renders the line tcpdump -n prints, for the kinds it prints whole", () => {
    const bytes = fc.sample(messages, { numRuns: 300, seed: 793 })
    const lines = tcpdumpLines(bytes.map(inIpv4))
    expect(lines.length).toBe(bytes.length)
    const format = Schema.toFormatter(Icmpv4Message)
    let compared = 0
    bytes.forEach((b, i) => {
      const theirs = lines[i].slice(lines[i].indexOf(": ") + 2)
      // tcpdump prints `[|icmp]` when a quoted datagram is too short, and decodes the query types' bodies
      if (theirs.includes("[|icmp]") || ![0, 3, 5, 8, 11, 12].includes(b[0])) return
      expect(format(decode(b)), `message ${i}: ${lines[i]}`).toBe(theirs)
      compared++
    })
    expect(compared).toBeGreaterThan(150)
  })

  it("renders one tcpdump-like line", () => {
    const format = Schema.toFormatter(Icmpv4Message)
    const line = (hexHeader: string, body: Uint8Array = new Uint8Array(0)) => {
      const head = hex(hexHeader)
      const bytes = new Uint8Array(head.length + body.length)
      bytes.set(head)
      bytes.set(body, head.length)
      return format(decode(bytes))
    }
    expect(format(decode(PING))).toBe("ICMP echo request, id 4660, seq 1, length 16")
    expect(line("0000 0000 0001 0002", new Uint8Array(56))).toBe("ICMP echo reply, id 1, seq 2, length 64")
    expect(line("0303 0000 0000 0000", QUOTED_UDP)).toBe("ICMP 10.0.0.2 udp port 7 unreachable, length 36")
    expect(line("0303 0000 0000 0000", QUOTED_UDP.subarray(0, 20))).toBe("ICMP 10.0.0.2 udp port unreachable, length 28")
    expect(line("0303 0000 0000 0000")).toBe("ICMP port unreachable, length 8")
    expect(line("0301 0000 0000 0000", QUOTED_UDP)).toBe("ICMP host 10.0.0.2 unreachable, length 36")
    expect(line("0301 0000 0000 0000", Uint8Array.of(0x60, 0, 0, 0))).toBe("ICMP host unreachable, length 12")
    expect(line("0302 0000 0000 0000", QUOTED_UDP)).toBe("ICMP 10.0.0.2 protocol 17 unreachable, length 36")
    expect(line("0304 0000 0000 0578", QUOTED_UDP)).toBe("ICMP 10.0.0.2 unreachable - need to frag (mtu 1400), length 36")
    expect(line("0304 0000 0000 0000")).toBe("ICMP unreachable - need to frag, length 8")
    expect(line("030d 0000 0000 0000", QUOTED_UDP)).toBe("ICMP host 10.0.0.2 unreachable - admin prohibited filter, length 36")
    expect(line("0b00 0000 0000 0000", QUOTED_UDP)).toBe("ICMP time exceeded in-transit, length 36")
    expect(line("0b01 0000 0000 0000", QUOTED_UDP)).toBe("ICMP ip reassembly time exceeded, length 36")
    expect(line("0501 0000 0a00 00fe", QUOTED_UDP)).toBe("ICMP redirect 10.0.0.2 to host 10.0.0.254, length 36")
    expect(line("0500 0000 0a00 00fe")).toBe("ICMP redirect to net 10.0.0.254, length 8")
    expect(line("0c00 0000 1400 0000", QUOTED_UDP)).toBe("ICMP parameter problem - octet 20, length 36")
    expect(line("0c01 0000 1400 0000")).toBe("ICMP parameter problem - code 1, length 8")
    expect(line("0d00 0000 0000 0000", new Uint8Array(12))).toBe("ICMP time stamp request, length 20")
    expect(line("2a01 0000 0000 0000")).toBe("ICMP type-#42, code 1, length 8")
    // messages kept as `Other` because of a code or unused bytes are rendered by their type, as tcpdump does
    expect(line("0801 0000 0001 0002")).toBe("ICMP echo request, id 1, seq 2, length 8")
    expect(line("0300 0000 0001 0000", QUOTED_UDP)).toBe("ICMP net 10.0.0.2 unreachable, length 36")
    expect(line("0304 0000 0001 0578")).toBe("ICMP unreachable - need to frag (mtu 1400), length 8")
    expect(line("0312 0000 0000 0000", QUOTED_UDP)).toBe("ICMP #18 10.0.0.2 unreachable, length 36")
    expect(line("0c00 0000 1400 0001")).toBe("ICMP parameter problem - octet 20, length 8")
    expect(line("0400 0000 0000 0000")).toBe("ICMP source quench, length 8")
  })

  it("quotes generated IPv4 headers in a form the formatter reads", () => {
    fc.assert(
      fc.property(ipv4Header, (h) => {
        const quoted = Schema.encodeSync(Ipv4HeaderFromBytes)(h)
        const m = decode(Uint8Array.from([3, 1, 0, 0, 0, 0, 0, 0, ...quoted]))
        expect(Schema.toFormatter(Icmpv4Message)(m)).toBe(`ICMP host ${h.destination} unreachable, length ${8 + quoted.length}`)
      })
    )
  })
})
