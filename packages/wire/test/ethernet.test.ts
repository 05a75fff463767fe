/** Ethernet II: the view and the Schema agree on every input, and the emitter writes what the Schema encodes. */
import { describe, expect, it } from "@effect/vitest"
import { PacketBuffer } from "@netstack/buffers"
import {
  EthernetDefect,
  EthernetHeader,
  EthernetHeaderFromBytes,
  ethernetFields,
  EthernetView,
  emitEthernet,
  isMulticastMac
} from "@netstack/wire"
import { ethernetHeader, mutated } from "@netstack/wire/testing"
import { Schema } from "effect"
import fc from "fast-check"
import { expectAgreement } from "./support/agreement.ts"

const decoders = { codec: EthernetHeaderFromBytes, parse: (b: PacketBuffer) => EthernetView.parse(b) }
const encode = Schema.encodeSync(EthernetHeaderFromBytes)
const frames = fc
  .tuple(ethernetHeader, fc.uint8Array({ maxLength: 32 }))
  .map(([h, payload]) => Uint8Array.from([...encode(h), ...payload]))

describe("Ethernet", () => {
  it("view and Schema decode every valid header to the same value", () => {
    fc.assert(
      fc.property(ethernetHeader, fc.uint8Array({ maxLength: 32 }), (header, payload) => {
        const decoded = expectAgreement(decoders, Uint8Array.from([...encode(header), ...payload]))
        expect(decoded).toEqual(header)
      })
    )
  })

  it("view and Schema accept and refuse the same arbitrary and mutated bytes", () => {
    fc.assert(fc.property(mutated(frames), (bytes) => void expectAgreement(decoders, bytes)), { numRuns: 300 })
  })

  it("refuses a frame shorter than 14 bytes at every length, naming the defect", () => {
    for (let n = 0; n < 14; n++) expect(EthernetView.parse(PacketBuffer.wrap(new Uint8Array(n)))).toBe(EthernetDefect.truncated)
    expect(EthernetView.parse(PacketBuffer.wrap(new Uint8Array(20)), 7)).toBe(EthernetDefect.truncated)
  })

  it("the emitter writes exactly the Schema encoding in front of the payload", () => {
    fc.assert(
      fc.property(ethernetHeader, fc.uint8Array({ maxLength: 32 }), (header, payload) => {
        const buffer = PacketBuffer.fromBytes(payload, 14)
        expect(emitEthernet(buffer, ethernetFields(header))).toBeUndefined()
        expect([...buffer.toUint8Array()]).toEqual([...encode(header), ...payload])
        expect(buffer.meta.macHeader).toBe(0)
      })
    )
    expect(emitEthernet(PacketBuffer.fromBytes(new Uint8Array(4), 13), ethernetFields(fc.sample(ethernetHeader, 1)[0]))?._tag).toBe(
      "HeadroomExceeded"
    )
  })

  it("reads a header that straddles fragments", () => {
    const [header] = fc.sample(ethernetHeader, { numRuns: 1, seed: 1 })
    const bytes = encode(header)
    const buffer = PacketBuffer.fromBytes(bytes.subarray(0, 5))
    buffer.addFragmentBytes(bytes.slice(5, 9))
    buffer.addFragmentBytes(bytes.slice(9))
    const view = EthernetView.parse(buffer)
    expect(view).toBeInstanceOf(EthernetView)
    if (view instanceof EthernetView) {
      expect(view.toHeader()).toEqual(header)
      expect(isMulticastMac(view.destination)).toBe((bytes[0] & 1) === 1)
    }
  })

  it("renders one tcpdump-like line", () => {
    const format = Schema.toFormatter(EthernetHeader)
    const h = Schema.decodeUnknownSync(EthernetHeader)({ destination: "ff:ff:ff:ff:ff:ff", source: "02:00:00:00:00:01", etherType: 0x0806 })
    expect(format(h)).toBe("02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806)")
    expect(format({ ...h, etherType: 46 })).toBe("02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, 802.3, length 46")
  })
})
