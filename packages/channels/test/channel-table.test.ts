/**
 * The classifier's copy-on-write table against a plain reference map
 * (fast-check command sequences over a small tuple space, so tuples repeat),
 * and a channel's bounded ring: first in, first out, full at its capacity.
 */
import { describe, expect, it } from "@effect/vitest"
import { PacketBuffer } from "@netstack/buffers"
import { ChannelTable, type FlowKey, NetChannel, type NetChannelOwner } from "@netstack/channels"
import fc from "fast-check"

const keyOf = (k: FlowKey): string => `${k.localAddress}:${k.localPort}:${k.remoteAddress}:${k.remotePort}`

const tupleArb: fc.Arbitrary<FlowKey> = fc.record({
  localAddress: fc.constantFrom(0x0a000001, 0xc0a80001),
  localPort: fc.constantFrom(80, 443),
  remoteAddress: fc.constantFrom(0x0a000002, 0xfffffffe),
  remotePort: fc.integer({ min: 40000, max: 40003 })
})

describe("ChannelTable", () => {
  it("finds exactly what was added and not removed, as a map keyed by the 4-tuple does", () => {
    const opArb = fc.oneof(
      tupleArb.map((t) => ({ op: "add" as const, t })),
      tupleArb.map((t) => ({ op: "remove" as const, t })),
      tupleArb.map((t) => ({ op: "lookup" as const, t }))
    )
    fc.assert(fc.property(fc.array(opArb, { maxLength: 60 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (ops, seed) => {
      const table = new ChannelTable<FlowKey>(() => seed)
      const model = new Map<string, FlowKey>()
      for (const { op, t } of ops) {
        if (op === "add") {
          const entry = { ...t }
          expect(table.add(entry)).toBe(!model.has(keyOf(t)))
          if (!model.has(keyOf(t))) model.set(keyOf(t), entry)
        } else if (op === "remove") {
          const held = model.get(keyOf(t))
          // another object with the same 4-tuple is not the entry: not removed
          expect(table.remove({ ...t })).toBe(false)
          if (held !== undefined) {
            expect(table.remove(held)).toBe(true)
            model.delete(keyOf(t))
          }
        }
        expect(table.lookup(t.localAddress, t.localPort, t.remoteAddress, t.remotePort)).toBe(model.get(keyOf(t)))
        expect(table.size).toBe(model.size)
      }
      expect(new Set(table.entries())).toEqual(new Set(model.values()))
    }))
  })
})

/** An owner that runs nothing: the channel alone is under test. */
const idle: NetChannelOwner = { close: () => {}, drain: () => 0, wakeConsumer: () => {} }

describe("NetChannel", () => {
  it("queues first in, first out up to its capacity, counting what it refused", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 8 }), fc.array(fc.boolean(), { maxLength: 80 }), (capacity, pushes) => {
      const channel = new NetChannel({ localAddress: 1, localPort: 2, remoteAddress: 3, remotePort: 4 }, capacity, idle)
      const model: Array<PacketBuffer> = []
      let refused = 0
      for (const push of pushes) {
        if (push) {
          const packet = PacketBuffer.alloc(1)
          const taken = channel.push(packet)
          expect(taken).toBe(model.length < capacity)
          if (taken) model.push(packet)
          else refused++
        } else {
          expect(channel.shift()).toBe(model.shift())
        }
        expect(channel.size).toBe(model.length)
      }
      expect(channel.overflows).toBe(refused)
      expect(channel.pushed).toBe(pushes.filter((p) => p).length - refused)
    }))
  })
})
