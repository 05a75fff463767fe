/** 802.1Q tag: the view and the Schema agree on every input, and the emitter writes what the Schema encodes. */
import { describe, expect, it } from "@effect/vitest"
import { PacketBuffer } from "@netstack/buffers"
import {
  emitEthernet,
  emitVlan,
  EthernetView,
  isVlanEtherType,
  VlanDefect,
  VlanIds,
  VlanTag,
  VlanTagFromBytes,
  vlanTci,
  VlanView
} from "@netstack/wire"
import { mutated, vlanTag } from "@netstack/wire/testing"
import { Schema } from "effect"
import fc from "fast-check"
import { expectAgreement } from "./support/agreement.ts"

const decoders = { codec: VlanTagFromBytes, parse: (b: PacketBuffer) => VlanView.parse(b) }
const encode = Schema.encodeSync(VlanTagFromBytes)
const tagged = fc
  .tuple(vlanTag, fc.uint8Array({ maxLength: 16 }))
  .map(([t, payload]) => Uint8Array.from([...encode(t), ...payload]))

describe("802.1Q VLAN tag", () => {
  it("view and Schema decode every valid tag to the same value", () => {
    fc.assert(
      fc.property(vlanTag, fc.uint8Array({ maxLength: 32 }), (tag, payload) => {
        const decoded = expectAgreement(decoders, Uint8Array.from([...encode(tag), ...payload]))
        expect(decoded).toEqual(tag)
      })
    )
  })

  it("view and Schema accept and refuse the same arbitrary and mutated bytes", () => {
    fc.assert(fc.property(mutated(tagged), (bytes) => void expectAgreement(decoders, bytes)), { numRuns: 300 })
  })

  it("every 16-bit TCI decodes, in both paths, to its PCP, DEI and VID", () => {
    for (let tci = 0; tci <= 0xffff; tci += 7) {
      const decoded = expectAgreement(decoders, Uint8Array.of(tci >>> 8, tci & 0xff, 0x08, 0x00))
      expect(decoded).toEqual({ priority: tci >>> 13, dropEligible: (tci & 0x1000) !== 0, vlanId: tci & 0xfff, etherType: 0x0800 })
      if (decoded !== undefined) expect(vlanTci(decoded)).toBe(tci)
    }
  })

  it("accepts VID 0 (priority tag) and VID 4095 (reserved): the wire format leaves them to the bridge", () => {
    const priorityTagged = VlanView.parse(PacketBuffer.wrap(Uint8Array.of(0xa0, 0x00, 0x86, 0xdd)))
    if (!(priorityTagged instanceof VlanView)) throw new Error(priorityTagged.name)
    expect(priorityTagged.vlanId).toBe(VlanIds.priorityTag)
    expect(priorityTagged.priority).toBe(5)
    const reserved = VlanView.parse(PacketBuffer.wrap(Uint8Array.of(0x1f, 0xff, 0x08, 0x00)))
    if (!(reserved instanceof VlanView)) throw new Error(reserved.name)
    expect(reserved.vlanId).toBe(VlanIds.reserved)
    expect(reserved.dropEligible).toBe(true)
    expect(reserved.priority).toBe(0)
    expect(Schema.is(VlanTag)({ priority: 0, dropEligible: false, vlanId: 4095, etherType: 0x0800 })).toBe(true)
    expect(Schema.is(VlanTag)({ priority: 0, dropEligible: false, vlanId: 4096, etherType: 0x0800 })).toBe(false)
    expect(Schema.is(VlanTag)({ priority: 8, dropEligible: false, vlanId: 1, etherType: 0x0800 })).toBe(false)
  })

  it("refuses fewer than 4 bytes at every length and offset, naming the defect", () => {
    for (let n = 0; n < 4; n++) expect(VlanView.parse(PacketBuffer.wrap(new Uint8Array(n)))).toBe(VlanDefect.truncated)
    expect(VlanView.parse(PacketBuffer.wrap(new Uint8Array(18)), 15)).toBe(VlanDefect.truncated)
    expect(VlanView.parse(PacketBuffer.wrap(new Uint8Array(18)), -1)).toBe(VlanDefect.truncated)
    expect(VlanView.parse(PacketBuffer.wrap(new Uint8Array(18)), 14)).toBeInstanceOf(VlanView)
    expect(Schema.decodeUnknownResult(VlanTagFromBytes)(new Uint8Array(3))).toMatchObject({
      _tag: "Failure",
      failure: { message: expect.stringContaining("vlan.truncated") }
    })
  })

  it("the emitter writes exactly the Schema encoding in front of the payload", () => {
    fc.assert(
      fc.property(vlanTag, fc.uint8Array({ maxLength: 32 }), (tag, payload) => {
        const buffer = PacketBuffer.fromBytes(payload, 4)
        expect(emitVlan(buffer, tag)).toBeUndefined()
        expect([...buffer.toUint8Array()]).toEqual([...encode(tag), ...payload])
      })
    )
    const [tag] = fc.sample(vlanTag, { numRuns: 1, seed: 3 })
    expect(emitVlan(PacketBuffer.fromBytes(new Uint8Array(4), 3), tag)?._tag).toBe("HeadroomExceeded")
  })

  it("a tagged frame: emitVlan then emitEthernet(0x8100), parsed back through the Ethernet view", () => {
    fc.assert(
      fc.property(vlanTag, fc.constantFrom(0x8100, 0x88a8), fc.uint8Array({ maxLength: 16 }), (tag, tpid, payload) => {
        const buffer = PacketBuffer.fromBytes(payload, 18)
        expect(emitVlan(buffer, tag)).toBeUndefined()
        expect(emitEthernet(buffer, { destination: 0xffffffffffff, source: 0x020000000001, etherType: tpid })).toBeUndefined()
        expect(buffer.meta.macHeader).toBe(0)
        const ethernet = EthernetView.parse(buffer)
        if (!(ethernet instanceof EthernetView)) throw new Error(ethernet.name)
        expect(isVlanEtherType(ethernet.etherType)).toBe(true)
        const view = VlanView.parse(buffer, ethernet.payloadOffset)
        if (!(view instanceof VlanView)) throw new Error(view.name)
        expect(view.toHeader()).toEqual(tag)
        expect(view.tci).toBe(vlanTci(tag))
        expect(view.payloadOffset).toBe(18)
        expect([...buffer.toUint8Array().subarray(view.payloadOffset)]).toEqual([...payload])
      })
    )
    expect(isVlanEtherType(0x0800)).toBe(false)
  })

  it("reads a tag that straddles fragments", () => {
    const tag = { priority: 6, dropEligible: true, vlanId: 0x123, etherType: 0x86dd }
    const bytes = encode(tag)
    const buffer = PacketBuffer.fromBytes(bytes.subarray(0, 1))
    buffer.addFragmentBytes(bytes.slice(1, 3))
    buffer.addFragmentBytes(Uint8Array.from([...bytes.slice(3), 0xee]))
    const view = VlanView.parse(buffer)
    if (!(view instanceof VlanView)) throw new Error(view.name)
    expect(view.toHeader()).toEqual(tag)
    expect(buffer.headLength).toBeGreaterThanOrEqual(4)
  })

  it("renders one tcpdump-like line", () => {
    const format = Schema.toFormatter(VlanTag)
    const t = Schema.decodeUnknownSync(VlanTag)({ priority: 3, dropEligible: false, vlanId: 100, etherType: 0x0800 })
    expect(format(t)).toBe("vlan 100, p 3, ethertype IPv4 (0x0800)")
    expect(format({ ...t, dropEligible: true, etherType: 0x86dd })).toBe("vlan 100, p 3, DEI, ethertype IPv6 (0x86dd)")
    expect(format({ ...t, vlanId: 0, priority: 5, etherType: 0x0806 })).toBe("vlan 0, p 5, ethertype ARP (0x0806)")
    expect(format({ ...t, etherType: 0x8100 })).toBe("vlan 100, p 3, ethertype 802.1Q (0x8100)")
    expect(format({ ...t, etherType: 0x0123 })).toBe("vlan 100, p 3, 802.3, length 291")
  })
})
