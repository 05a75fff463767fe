/** UDP: view ⇄ Schema agreement, emitter ⇄ Schema encoding, and checksums full, partial and absent. */
import { describe, expect, it } from "@effect/vitest"
import { ipv4PseudoHeaderSum, PacketBuffer, resolvePartialChecksum } from "@netstack/buffers"
import { emitUdp, noChecksum, UdpDefect, UdpHeader, UdpHeaderFromBytes, UdpView } from "@netstack/wire"
import { mutated, udpDatagram } from "@netstack/wire/testing"
import { Schema } from "effect"
import fc from "fast-check"
import { expectAgreement } from "./support/agreement.ts"

const decoders = { codec: UdpHeaderFromBytes, parse: (b: PacketBuffer) => UdpView.parse(b) }
const encode = Schema.encodeSync(UdpHeaderFromBytes)
const datagrams = udpDatagram.map(({ header, payload }) => Uint8Array.from([...encode(header), ...payload]))
const SRC = 0x0a000001
const DST = 0x0a000002

describe("UDP", () => {
  it("view and Schema decode every valid datagram to the same header", () => {
    fc.assert(
      fc.property(udpDatagram, fc.uint8Array({ maxLength: 8 }), ({ header, payload }, padding) => {
        // link-layer padding after the datagram is allowed: the length field says where it ends
        const decoded = expectAgreement(decoders, Uint8Array.from([...encode(header), ...payload, ...padding]))
        expect(decoded).toEqual(header)
      })
    )
  })

  it("view and Schema accept and refuse the same arbitrary and mutated bytes", () => {
    fc.assert(fc.property(mutated(datagrams), (bytes) => void expectAgreement(decoders, bytes)), { numRuns: 300 })
  })

  it("names each defect", () => {
    expect(UdpView.parse(PacketBuffer.wrap(new Uint8Array(7)))).toBe(UdpDefect.truncated)
    expect(UdpView.parse(PacketBuffer.wrap(Uint8Array.of(0, 1, 0, 2, 0, 7, 0, 0)))).toBe(UdpDefect["bad-length"])
    expect(UdpView.parse(PacketBuffer.wrap(Uint8Array.of(0, 1, 0, 2, 0, 9, 0, 0)))).toBe(UdpDefect["bad-length"])
  })

  it("in a first IP fragment, reads a header whose length runs past the bytes there, but not one under 8", () => {
    const start = Uint8Array.of(0x9c, 0x40, 0x13, 0x8d, 0x0b, 0xc0, 0x12, 0x34, 0x61, 0x61, 0x61, 0x61) // length 3008
    const view = UdpView.parse(PacketBuffer.wrap(start), 0, true)
    if (!(view instanceof UdpView)) throw new Error(view.name)
    expect([view.sourcePort, view.destinationPort, view.length, view.payloadOffset]).toEqual([40000, 5005, 3008, 8])
    expect(view.verifyChecksum(0, true)).toBe(false)
    expect(UdpView.parse(PacketBuffer.wrap(start))).toBe(UdpDefect["bad-length"])
    expect(UdpView.parse(PacketBuffer.wrap(Uint8Array.of(0, 1, 0, 2, 0, 7, 0, 0)), 0, true)).toBe(UdpDefect["bad-length"])
    expect(UdpView.parse(PacketBuffer.wrap(new Uint8Array(7)), 0, true)).toBe(UdpDefect.truncated)
  })

  it("the emitter writes the Schema encoding with a checksum that verifies, full or partial", () => {
    fc.assert(
      fc.property(udpDatagram, fc.constantFrom("full" as const, "partial" as const), ({ header, payload }, mode) => {
        const buffer = PacketBuffer.fromBytes(payload, 8)
        const pseudoHeaderSum = ipv4PseudoHeaderSum(SRC, DST, 17, header.length)
        expect(emitUdp(buffer, header, { mode, pseudoHeaderSum })).toBeUndefined()
        if (mode === "partial") {
          expect(buffer.meta.checksum).toEqual({ _tag: "Partial", start: 0, offset: 6 })
          expect(resolvePartialChecksum(buffer, 0xffff)).toBeUndefined()
        }
        const view = UdpView.parse(buffer)
        if (!(view instanceof UdpView)) throw new Error(view.name)
        expect(view.checksum).not.toBe(0)
        expect(view.verifyChecksum(pseudoHeaderSum, false)).toBe(true)
        expect(view.verifyChecksum(ipv4PseudoHeaderSum(SRC, DST + 1, 17, header.length), false)).toBe(false)
        expect([...buffer.toUint8Array()]).toEqual([...encode({ ...header, checksum: view.checksum }), ...payload])
      })
    )
  })

  it("a zero checksum means none: accepted over IPv4, refused over IPv6", () => {
    const buffer = PacketBuffer.fromBytes(Uint8Array.of(1, 2, 3), 8)
    emitUdp(buffer, { sourcePort: 1, destinationPort: 2 }, noChecksum)
    const view = UdpView.parse(buffer)
    if (!(view instanceof UdpView)) throw new Error(view.name)
    expect(view.checksum).toBe(0)
    expect(view.verifyChecksum(0, true)).toBe(true)
    expect(view.verifyChecksum(0, false)).toBe(false)
  })

  it("renders one tcpdump-like line", () => {
    const h = Schema.decodeUnknownSync(UdpHeader)({ sourcePort: 40000, destinationPort: 53, length: 31, checksum: 0 })
    expect(Schema.toFormatter(UdpHeader)(h)).toBe("UDP 40000 > 53, length 23")
  })
})
