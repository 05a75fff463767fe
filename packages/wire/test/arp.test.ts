/** ARP (Ethernet/IPv4): view ⇄ Schema agreement, each defect, emitter ⇄ Schema encoding, and rendering. */
import { describe, expect, it } from "@effect/vitest"
import { PacketBuffer } from "@netstack/buffers"
import {
  ARP_ETHERNET_IPV4,
  ArpDefect,
  arpFields,
  ArpOperations,
  ArpPacket,
  ArpPacketFromBytes,
  ArpView,
  emitArp,
  emitEthernet,
  EthernetView,
  formatArpPacket,
  ipv4FromString,
  macFromString
} from "@netstack/wire"
import { arpPacket, mutated } from "@netstack/wire/testing"
import { Schema } from "effect"
import fc from "fast-check"
import { expectAgreement } from "./support/agreement.ts"

const decoders = { codec: ArpPacketFromBytes, parse: (b: PacketBuffer) => ArpView.parse(b) }
const encode = Schema.encodeSync(ArpPacketFromBytes)
const decode = Schema.decodeUnknownSync(ArpPacket)
/** Up to 18 bytes of trailing data: Ethernet pads a 28-byte ARP packet to the 46-byte minimum payload. */
const padding = fc.integer({ min: 0, max: 18 }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n }))
const packets = fc.tuple(arpPacket, padding).map(([p, pad]) => Uint8Array.from([...encode(p), ...pad]))

/** A valid request's bytes: 10.0.0.1 at 02:00:00:00:00:01 asks for 10.0.0.2. */
const request = (): Uint8Array =>
  encode(
    decode({
      ...ARP_ETHERNET_IPV4,
      operation: 1,
      senderMac: "02:00:00:00:00:01",
      senderIpv4: "10.0.0.1",
      targetMac: "00:00:00:00:00:00",
      targetIpv4: "10.0.0.2"
    })
  )
/** `request()` with the bytes at `at` replaced. */
const withBytes = (at: number, ...values: Array<number>): Uint8Array => {
  const bytes = request()
  bytes.set(values, at)
  return bytes
}
const parse = (bytes: Uint8Array) => ArpView.parse(PacketBuffer.wrap(bytes))

describe("ARP", () => {
  it("view and Schema decode every valid packet, padded or not, to the same value", () => {
    fc.assert(
      fc.property(arpPacket, padding, (packet, pad) => {
        const decoded = expectAgreement(decoders, Uint8Array.from([...encode(packet), ...pad]))
        expect(decoded).toEqual(packet)
      })
    )
  })

  it("view and Schema accept and refuse the same arbitrary and mutated bytes", () => {
    fc.assert(fc.property(mutated(packets), (bytes) => void expectAgreement(decoders, bytes)), { numRuns: 500 })
  })

  it("view and Schema agree on every mix of supported and unsupported fixed fields", () => {
    const fixed = fc.record({
      hardwareType: fc.oneof(fc.constantFrom(0, 1, 6, 0x0100), fc.integer({ min: 0, max: 0xffff })),
      protocolType: fc.oneof(fc.constantFrom(0x0800, 0x86dd, 0x0008), fc.integer({ min: 0, max: 0xffff })),
      hardwareLength: fc.oneof(fc.constant(6), fc.integer({ min: 0, max: 255 })),
      protocolLength: fc.oneof(fc.constant(4), fc.integer({ min: 0, max: 255 }))
    })
    fc.assert(
      fc.property(packets, fixed, fc.integer({ min: 0, max: 40 }), (bytes, f, length) => {
        const out = bytes.slice(0, Math.max(length, 8))
        new DataView(out.buffer).setUint16(0, f.hardwareType)
        new DataView(out.buffer).setUint16(2, f.protocolType)
        out[4] = f.hardwareLength
        out[5] = f.protocolLength
        expectAgreement(decoders, out)
      }),
      { numRuns: 500 }
    )
  })

  it("names each defect", () => {
    for (let n = 0; n < 28; n++) expect(parse(request().slice(0, n))).toBe(ArpDefect.truncated)
    expect(ArpView.parse(PacketBuffer.wrap(new Uint8Array(46)), 19)).toBe(ArpDefect.truncated)
    expect(ArpView.parse(PacketBuffer.wrap(new Uint8Array(46)), -1)).toBe(ArpDefect.truncated)
    expect(parse(withBytes(0, 0, 6))).toBe(ArpDefect["unsupported-hardware"]) // IEEE 802 hardware
    expect(parse(withBytes(0, 1, 1))).toBe(ArpDefect["unsupported-hardware"]) // 0x0101, byte order matters
    expect(parse(withBytes(4, 8))).toBe(ArpDefect["unsupported-hardware"]) // ar$hln 8
    expect(parse(withBytes(2, 0x86, 0xdd))).toBe(ArpDefect["unsupported-protocol"])
    expect(parse(withBytes(5, 16))).toBe(ArpDefect["unsupported-protocol"]) // ar$pln 16
    // order: length first, then hardware, then protocol
    expect(parse(withBytes(0, 0, 6).slice(0, 27))).toBe(ArpDefect.truncated)
    expect(parse(withBytes(0, 0, 6, 0x86, 0xdd))).toBe(ArpDefect["unsupported-hardware"])
    for (const bytes of [withBytes(0, 0, 6), withBytes(2, 0x86, 0xdd), request().slice(0, 27)]) {
      expect(parse(bytes.slice())).not.toBeInstanceOf(ArpView)
      expectAgreement(decoders, bytes)
    }
    expect(parse(request())).toBeInstanceOf(ArpView)
  })

  it("the view reads hot-path numbers", () => {
    const view = parse(Uint8Array.from([...request(), 0, 0, 0]))
    if (!(view instanceof ArpView)) throw new Error(view.name)
    expect(view.operation).toBe(ArpOperations.request)
    expect(view.senderMac).toBe(0x020000000001)
    expect(view.senderIpv4).toBe(0x0a000001)
    expect(view.targetMac).toBe(0)
    expect(view.targetIpv4).toBe(0x0a000002)
    expect(view.headerLength).toBe(28)
    const high = parse(withBytes(8, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa, 0xc0, 0xa8, 0x01, 0xff))
    if (!(high instanceof ArpView)) throw new Error(high.name)
    expect(high.senderMac).toBe(0xfffefdfcfbfa)
    expect(high.senderIpv4).toBe(0xc0a801ff) // unsigned, though the top bit is set
  })

  it("keeps operation codes other than request and reply", () => {
    for (const operation of [0, 3, 4, 7, 8, 9, 0xffff]) {
      const bytes = withBytes(6, operation >>> 8, operation & 0xff)
      const view = parse(bytes.slice())
      if (!(view instanceof ArpView)) throw new Error(view.name)
      expect(view.operation).toBe(operation)
      expect(expectAgreement(decoders, bytes)?.operation).toBe(operation)
    }
  })

  it("the emitter writes exactly the Schema encoding, and marks the network header", () => {
    fc.assert(
      fc.property(arpPacket, padding, fc.integer({ min: 0, max: 8 }), (packet, pad, extra) => {
        const buffer = PacketBuffer.fromBytes(pad, 28 + extra)
        expect(emitArp(buffer, arpFields(packet))).toBeUndefined()
        expect(buffer.meta.networkHeader).toBe(extra)
        expect([...buffer.toUint8Array()]).toEqual([...encode(packet), ...pad])
      })
    )
    const [packet] = fc.sample(arpPacket, { numRuns: 1, seed: 5 })
    expect(emitArp(PacketBuffer.fromBytes(new Uint8Array(0), 27), arpFields(packet))?._tag).toBe("HeadroomExceeded")
  })

  it("a gratuitous ARP (spa = tpa, RFC 5227 §3) round-trips through emitter, Ethernet and view", () => {
    const senderIpv4 = ipv4FromString("192.168.1.7") ?? -1
    const senderMac = macFromString("02:aa:bb:cc:dd:ee") ?? -1
    const buffer = PacketBuffer.fromBytes(new Uint8Array(18), 14 + 28)
    const fields = { operation: ArpOperations.request, senderMac, senderIpv4, targetMac: 0, targetIpv4: senderIpv4 }
    expect(emitArp(buffer, fields)).toBeUndefined()
    expect(emitEthernet(buffer, { destination: 0xffffffffffff, source: senderMac, etherType: 0x0806 })).toBeUndefined()
    expect(buffer.length).toBe(60)
    const ethernet = EthernetView.parse(buffer)
    if (!(ethernet instanceof EthernetView)) throw new Error(ethernet.name)
    expect(ethernet.etherType).toBe(0x0806)
    const view = ArpView.parse(buffer, ethernet.payloadOffset)
    if (!(view instanceof ArpView)) throw new Error(view.name)
    expect(view.senderIpv4).toBe(view.targetIpv4)
    const packet = view.toHeader()
    expect(packet).toEqual({
      ...ARP_ETHERNET_IPV4,
      operation: 1,
      senderMac: "02:aa:bb:cc:dd:ee",
      senderIpv4: "192.168.1.7",
      targetMac: "00:00:00:00:00:00",
      targetIpv4: "192.168.1.7"
    })
    expect(arpFields(packet)).toEqual(fields)
    expect(Schema.toFormatter(ArpPacket)(packet)).toBe("ARP, Request who-has 192.168.1.7 tell 192.168.1.7, length 28")
  })

  it("reads a packet that straddles fragments", () => {
    const [packet] = fc.sample(arpPacket, { numRuns: 1, seed: 2 })
    const bytes = encode(packet)
    const buffer = PacketBuffer.fromBytes(bytes.subarray(0, 3))
    buffer.addFragmentBytes(bytes.slice(3, 15))
    buffer.addFragmentBytes(bytes.slice(15))
    const view = ArpView.parse(buffer)
    if (!(view instanceof ArpView)) throw new Error(view.name)
    expect(view.toHeader()).toEqual(packet)
  })

  it("the Schema refuses fixed fields other than Ethernet/IPv4", () => {
    const packet = decode({ ...ARP_ETHERNET_IPV4, operation: 2, senderMac: "02:00:00:00:00:02", senderIpv4: "10.0.0.2", targetMac: "02:00:00:00:00:01", targetIpv4: "10.0.0.1" })
    expect(Schema.is(ArpPacket)(packet)).toBe(true)
    expect(Schema.is(ArpPacket)({ ...packet, hardwareType: 6 })).toBe(false)
    expect(Schema.is(ArpPacket)({ ...packet, protocolLength: 16 })).toBe(false)
    expect(Schema.is(ArpPacket)({ ...packet, operation: 0x10000 })).toBe(false)
    expect(Schema.is(ArpPacket)({ ...packet, senderIpv4: "10.0.0.256" })).toBe(false)
  })

  it("renders one tcpdump-like line", () => {
    const format = Schema.toFormatter(ArpPacket)
    const base = {
      ...ARP_ETHERNET_IPV4,
      senderMac: "02:00:00:00:00:01",
      senderIpv4: "10.0.0.1",
      targetMac: "00:00:00:00:00:00",
      targetIpv4: "10.0.0.2"
    }
    expect(format(decode({ ...base, operation: 1 }))).toBe("ARP, Request who-has 10.0.0.2 tell 10.0.0.1, length 28")
    expect(format(decode({ ...base, operation: 1, targetMac: "02:00:00:00:00:02" }))).toBe(
      "ARP, Request who-has 10.0.0.2 (02:00:00:00:00:02) tell 10.0.0.1, length 28"
    )
    const reply = { ...base, senderMac: "02:00:00:00:00:02", senderIpv4: "10.0.0.2", targetMac: "02:00:00:00:00:01", targetIpv4: "10.0.0.1" }
    expect(format(decode({ ...reply, operation: 2 }))).toBe("ARP, Reply 10.0.0.2 is-at 02:00:00:00:00:02, length 28")
    // tcpdump prints this first line, then a hex dump of the packet.
    expect(format(decode({ ...reply, operation: 7 }))).toBe("ARP, Unknown (7) ")
    expect(format(decode({ ...reply, operation: 4 }))).toBe("ARP, Reverse Reply 02:00:00:00:00:01 at 10.0.0.1, length 28")
    // Outside a frame the length is the packet's; in a padded frame, formatFrame passes tcpdump's (padding included).
    expect(formatArpPacket(decode({ ...reply, operation: 2 }), 46)).toBe("ARP, Reply 10.0.0.2 is-at 02:00:00:00:00:02, length 46")
  })
})
