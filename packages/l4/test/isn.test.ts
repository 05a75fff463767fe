/**
 * Initial sequence numbers (RFC 6528 §3) and timestamp offsets (RFC 7323
 * §5.4): deterministic under one secret, unrelated across 4-tuples and
 * secrets, moving forward 250 000 a second for one 4-tuple, wrapping mod 2^32.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { IsnGenerator, isnTimer } from "../src/tcp/isn.ts"
import { seqAdd, seqDiff, seqGt } from "../src/tcp/seq.ts"

/** A deterministic source of numbers in [0, 1) (mulberry32) seeded with `seed`. */
const seeded = (seed: number): () => number => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const address = fc.integer({ min: 0, max: 0xffffffff })
const port = fc.integer({ min: 0, max: 0xffff })
const tuple = fc.tuple(address, port, address, port)
/** Host times in µs up to 2^51 (71 years), where adding a few hours stays exact. */
const time = fc.integer({ min: 0, max: 2 ** 51 })

describe("IsnGenerator", () => {
  const gen = new IsnGenerator(seeded(1))

  it("is deterministic for a fixed secret and time, and an unsigned 32-bit number", () => {
    const again = new IsnGenerator(seeded(1))
    fc.assert(fc.property(tuple, time, ([l, lp, r, rp], now) => {
      const isn = gen.isn(l, lp, r, rp, now)
      expect(again.isn(l, lp, r, rp, now)).toBe(isn)
      expect(gen.isn(l, lp, r, rp, now)).toBe(isn)
      expect(Number.isInteger(isn) && isn >= 0 && isn < 2 ** 32).toBe(true)
      expect(again.timestampOffset(l, r)).toBe(gen.timestampOffset(l, r))
    }))
  })

  it("is M + F: for one 4-tuple the ISN minus the timer is constant (RFC 6528 §3)", () => {
    fc.assert(fc.property(tuple, time, time, ([l, lp, r, rp], t1, t2) => {
      const f1 = (gen.isn(l, lp, r, rp, t1) - isnTimer(t1)) >>> 0
      const f2 = (gen.isn(l, lp, r, rp, t2) - isnTimer(t2)) >>> 0
      expect(f2).toBe(f1)
    }))
  })

  it("advances 250 000 a second (one per 4 µs) for the same 4-tuple", () => {
    fc.assert(fc.property(tuple, time, fc.integer({ min: 0, max: 2 ** 31 - 1 }), ([l, lp, r, rp], t, ticks) => {
      const before = gen.isn(l, lp, r, rp, t)
      expect(seqDiff(gen.isn(l, lp, r, rp, t + 1_000_000), before)).toBe(250_000)
      expect(gen.isn(l, lp, r, rp, t + 4 * ticks)).toBe(seqAdd(before, ticks))
    }))
  })

  it("puts a new incarnation's ISN above the sequence space the old one used (RFC 6528 §3)", () => {
    // An old connection that began at t0 and sent fewer octets than the timer
    // ticked since (under 250 kB/s, RFC 9293 §3.4.1's 2 Mb/s) leaves the new
    // ISN ahead of everything it sent, while the gap is under 2^31 ticks.
    const gap = fc.integer({ min: 8, max: 4 * (2 ** 31 - 1) })
    fc.assert(fc.property(tuple, time, gap, fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), ([l, lp, r, rp], t0, d, f) => {
      const old = gen.isn(l, lp, r, rp, t0)
      const sent = Math.floor(f * Math.floor(d / 4))
      const fresh = gen.isn(l, lp, r, rp, t0 + d)
      expect(seqGt(fresh, seqAdd(old, sent))).toBe(true)
    }))
  })

  it("wraps modulo 2^32: the timer's period is 2^34 µs (about 4.8 hours)", () => {
    fc.assert(fc.property(tuple, fc.integer({ min: 0, max: 2 ** 52 }), ([l, lp, r, rp], t) => {
      expect(gen.isn(l, lp, r, rp, t + 2 ** 34)).toBe(gen.isn(l, lp, r, rp, t))
      expect(gen.isn(l, lp, r, rp, t + 2 ** 34 - 4)).toBe(seqAdd(gen.isn(l, lp, r, rp, t), 2 ** 32 - 1))
    }))
    expect(isnTimer(2 ** 34 - 1)).toBe(2 ** 32 - 1)
    expect(isnTimer(2 ** 34)).toBe(0)
    expect(isnTimer(-5)).toBe(0)
    expect(isnTimer(Number.NaN)).toBe(0)
  })

  it("gives any change of the 4-tuple an unrelated ISN", () => {
    fc.assert(fc.property(tuple, time, fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 0xffff }), ([l, lp, r, rp], now, field, delta) => {
      const base = gen.isn(l, lp, r, rp, now)
      const changed = field === 0
        ? gen.isn((l + delta) >>> 0, lp, r, rp, now)
        : field === 1
        ? gen.isn(l, (lp + delta) & 0xffff, r, rp, now)
        : field === 2
        ? gen.isn(l, lp, (r + delta) >>> 0, rp, now)
        : gen.isn(l, lp, r, (rp + delta) & 0xffff, now)
      expect(changed).not.toBe(base)
    }))
  })

  it("spreads neighbouring 4-tuples over the whole space: no bias per bit, no linear pattern", () => {
    const n = 4096
    const isns = Array.from({ length: n }, (_, p) => gen.isn(0x0a000001, 80, 0x0a000002, 1024 + p, 123_456_789))
    expect(new Set(isns).size).toBe(n)
    for (let bit = 0; bit < 32; bit++) {
      const ones = isns.filter((x) => ((x >>> bit) & 1) === 1).length
      // Binomial(4096, 1/2) has σ = 32: allow ±5σ.
      expect(Math.abs(ones - n / 2)).toBeLessThan(160)
    }
    const steps = new Set(isns.slice(1).map((x, i) => seqDiff(x, isns[i] ?? 0)))
    expect(steps.size).toBeGreaterThan(n - 10)
  })

  it("depends on the secret: another host's ISNs and offsets are unrelated", () => {
    const other = new IsnGenerator(seeded(2))
    fc.assert(fc.property(tuple, time, ([l, lp, r, rp], now) => {
      expect(other.isn(l, lp, r, rp, now)).not.toBe(gen.isn(l, lp, r, rp, now))
      expect(other.timestampOffset(l, r)).not.toBe(gen.timestampOffset(l, r))
    }))
  })

  it("keys the timestamp offset by the address pair, in both directions apart", () => {
    fc.assert(fc.property(address, address, address, (l, r, r2) => {
      fc.pre(r2 !== r && l !== r)
      const off = gen.timestampOffset(l, r)
      expect(Number.isInteger(off) && off >= 0 && off < 2 ** 32).toBe(true)
      expect(gen.timestampOffset(l, r2)).not.toBe(off)
      expect(gen.timestampOffset(r, l)).not.toBe(off)
    }))
  })
})
