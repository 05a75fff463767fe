/**
 * Local ports: the RFC 6056 Algorithm 4 allocator (Linux
 * `__inet_hash_connect`) — range, spread, per-destination progress,
 * exhaustion with bounded work, determinism under a fixed key — the keyed
 * hash it uses, and the bound-port table's conflict rules (Linux
 * `udp_lib_lport_inuse`) against a plain model.
 */
import { describe, expect, it } from "@effect/vitest"
import {
  DEFAULT_EPHEMERAL_RANGE,
  type EphemeralFlow,
  EphemeralPorts,
  EphemeralPortsExhausted,
  InvalidPortRange,
  keyedHash32,
  keyedHash64,
  keyedHashKeyFromWords,
  PortInUse,
  PortTable,
  PortTableFull
} from "@netstack/l4"
import fc from "fast-check"

/** A small seeded generator (mulberry32). */
const seeded = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** An allocator that must build. */
const allocator = (options: Parameters<typeof EphemeralPorts.make>[0]): EphemeralPorts => {
  const made = EphemeralPorts.make(options)
  if (made instanceof InvalidPortRange) throw new Error(made.reason)
  return made
}

/** A port that must be found. */
const port = (result: number | EphemeralPortsExhausted): number => {
  if (result instanceof EphemeralPortsExhausted) throw new Error("exhausted")
  return result
}

const flow = (remoteAddress: number, remotePort = 80, localAddress = 0x0a000001): EphemeralFlow => ({
  localAddress,
  remoteAddress,
  remotePort
})

const free = (): boolean => false

describe("keyed hash", () => {
  it("is SipHash-2-4 of the words' little-endian bytes (reference vectors for 4 and 8 bytes)", () => {
    // Key bytes 00..0f; messages 00 01 02 03 and 00..07 (vectors_sip64[4] and [8]).
    const key = keyedHashKeyFromWords(0x03020100, 0x07060504, 0x0b0a0908, 0x0f0e0d0c)
    expect(keyedHash64(key, 0x03020100)).toEqual({ high: 0xcf2794e0, low: 0x277187b7 })
    expect(keyedHash64(key, 0x03020100, 0x07060504)).toEqual({ high: 0x93f5f579, low: 0x9a932462 })
    expect(keyedHash32(key, 0x03020100)).toBe(0x277187b7)
  })
})

describe("ephemeral ports (RFC 6056 Algorithm 4)", () => {
  it("stay within the range, and consecutive ones to one destination all differ", () => {
    const ports = allocator({ random: seeded(1) })
    const seen = new Set<number>()
    for (let i = 0; i < 1000; i++) {
      const p = port(ports.allocate(flow(0xc0000201), free))
      expect(p).toBeGreaterThanOrEqual(DEFAULT_EPHEMERAL_RANGE.low)
      expect(p).toBeLessThanOrEqual(DEFAULT_EPHEMERAL_RANGE.high)
      seen.add(p)
    }
    // Without contention each allocation moves the destination's counter on by 2 to 16 (Linux): no repeats.
    expect(seen.size).toBe(1000)
    expect(ports.stats).toMatchObject({ allocated: 1000, exhausted: 0, probes: 1000 })
  })

  it("different destinations start at unrelated places spread over the range", () => {
    const ports = allocator({ random: seeded(2) })
    const firsts = Array.from({ length: 400 }, (_, i) => port(ports.allocate(flow(0xc6336400 + i, 443), free)))
    const { low, high } = DEFAULT_EPHEMERAL_RANGE
    // Every tenth of the range gets some first ports (a uniform spread puts 40 in each; 10 is far below).
    const buckets = new Array<number>(10).fill(0)
    for (const p of firsts) buckets[Math.min(9, Math.floor(((p - low) / (high - low + 1)) * 10))]++
    for (const n of buckets) expect(n).toBeGreaterThan(10)
    expect(new Set(firsts).size).toBeGreaterThan(360)
    // Without contention the first pass gives ports of the range's low parity (Linux leaves the others to bind).
    expect(firsts.every((p) => p % 2 === low % 2)).toBe(true)
  })

  it("skips ports in use, and finds the one free port of a range wherever it is (odd-sized ranges too)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1024, max: 60000 }),
        fc.integer({ min: 1, max: 200 }),
        fc.nat(),
        fc.nat(),
        (low, size, freeIndex, seed) => {
          const high = Math.min(65535, low + size - 1)
          const n = high - low + 1
          const ports = allocator({ random: seeded(seed), range: { low, high } })
          const only = low + (freeIndex % n)
          const got = ports.allocate(flow(seed), (p) => p !== only)
          expect(got).toBe(only)
          expect(ports.stats.probes).toBeLessThanOrEqual(n)
        }
      )
    )
  })

  it("detects exhaustion after one pass over the range: bounded work, a typed result", () => {
    const ports = allocator({ random: seeded(3), range: { low: 50000, high: 50099 } })
    const result = ports.allocate(flow(1), () => true)
    expect(result).toBeInstanceOf(EphemeralPortsExhausted)
    expect(result).toMatchObject({ low: 50000, high: 50099, tried: 100 })
    expect(ports.stats).toMatchObject({ probes: 100, exhausted: 1, allocated: 0 })
    // Filling the range one allocation at a time: 100 distinct ports, then exhaustion.
    const used = new Set<number>()
    for (let i = 0; i < 100; i++) used.add(port(ports.allocate(flow(1), (p) => used.has(p))))
    expect(used.size).toBe(100)
    expect(ports.allocate(flow(1), (p) => used.has(p))).toBeInstanceOf(EphemeralPortsExhausted)
  })

  it("is deterministic under a fixed key and random source, and the key matters", () => {
    const key = keyedHashKeyFromWords(1, 2, 3, 4)
    const run = (k = key) => {
      const ports = allocator({ random: seeded(9), key: k })
      return Array.from({ length: 50 }, (_, i) => port(ports.allocate(flow(0x08080800 + (i % 5), 53), free)))
    }
    expect(run()).toEqual(run())
    const other = run(keyedHashKeyFromWords(1, 2, 3, 5))
    expect(other).not.toEqual(run())
  })

  it("refuses bad ranges (Linux ip_local_port_range: EINVAL) and keeps the old one", () => {
    const ports = allocator({ random: seeded(4) })
    expect(ports.setRange(0, 100)).toBeInstanceOf(InvalidPortRange)
    expect(ports.setRange(2000, 1000)).toBeInstanceOf(InvalidPortRange)
    expect(ports.setRange(1000, 70000)).toBeInstanceOf(InvalidPortRange)
    expect(ports.range).toEqual(DEFAULT_EPHEMERAL_RANGE)
    expect(EphemeralPorts.make({ random: seeded(4), tableSize: 1000 })).toBeInstanceOf(InvalidPortRange)
    expect(ports.setRange(1000, 1000)).toBeUndefined()
    expect(ports.allocate(flow(1), free)).toBe(1000)
  })
})

describe("port table", () => {
  interface Model {
    readonly address: number
    readonly port: number
    readonly reuse: boolean
  }
  /** Linux `udp_lib_lport_inuse`, written plainly. */
  const modelConflict = (held: ReadonlyArray<Model>, address: number, p: number, reuse: boolean): boolean =>
    held.some((b) => b.port === p && (b.address === address || b.address === 0 || address === 0) && !(b.reuse && reuse))

  it("binds and refuses as Linux's conflict rule says, over random binds and unbinds", () => {
    const op = fc.record({
      unbind: fc.boolean(),
      address: fc.constantFrom(0, 0x0a000001, 0x0a000002),
      port: fc.integer({ min: 1, max: 4 }),
      reuse: fc.boolean(),
      pick: fc.nat()
    })
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const table = new PortTable<number>()
        const held: Array<{ readonly model: Model; readonly binding: ReturnType<typeof table.insert> }> = []
        ops.forEach((o, i) => {
          if (o.unbind && held.length > 0) {
            const [gone] = held.splice(o.pick % held.length, 1)
            if (gone !== undefined) expect(table.unbind(gone.binding)).toBe(true)
            return
          }
          const expected = modelConflict(held.map((h) => h.model), o.address, o.port, o.reuse)
          const result = table.bind(o.address, o.port, i, o.reuse)
          expect(result instanceof PortInUse).toBe(expected)
          if (!(result instanceof PortInUse) && !(result instanceof PortTableFull)) {
            held.push({ model: { address: o.address, port: o.port, reuse: o.reuse }, binding: result })
          }
        })
        expect(table.size).toBe(held.length)
      })
    )
  })

  it("is bounded (ENOBUFS beyond its capacity) and lists a port's bindings newest first", () => {
    const table = new PortTable<string>({ capacity: 2 })
    const a = table.bind(0, 7, "a", true)
    table.bind(0, 7, "b", true)
    expect(table.bind(0, 8, "c")).toBeInstanceOf(PortTableFull)
    expect(table.bindingsOn(7).map((b) => b.owner)).toEqual(["b", "a"])
    if (a instanceof PortInUse || a instanceof PortTableFull) throw new Error("bind a")
    expect(table.unbind(a)).toBe(true)
    expect(table.unbind(a)).toBe(false)
    expect(table.bind(0, 8, "c")).not.toBeInstanceOf(PortTableFull)
  })
})
