/**
 * SYN cookies (RFC 4987 §3.6; Linux net/ipv4/syncookies.c): a cookie made
 * for a SYN comes back valid with its MSS; another 4-tuple's, a tampered or
 * a stale one is refused and counted; options round-trip in the TSval.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import type { FourTuple } from "../src/tcp/lookup.ts"
import { seqLe } from "../src/tcp/seq.ts"
import { SYN_COOKIE_MSS, type SynCookieOptions, SynCookies } from "../src/tcp/syn-cookies.ts"

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

const PERIOD = 60_000_000
const u32 = fc.integer({ min: 0, max: 0xffffffff })
const port = fc.integer({ min: 0, max: 0xffff })
const tuple: fc.Arbitrary<FourTuple> = fc.record({ localAddress: u32, localPort: port, remoteAddress: u32, remotePort: port })
/** Client MSS values around every table entry, and anywhere. */
const mss = fc.oneof(
  fc.constantFrom(...SYN_COOKIE_MSS).chain((m) => fc.integer({ min: m - 2, max: m + 2 })),
  fc.integer({ min: 0, max: 0xffff })
)
const time = fc.integer({ min: 0, max: 2 ** 50 })

/** The naive rule: the largest table entry not above `m`, else the smallest. */
const expectedMss = (m: number): number => SYN_COOKIE_MSS.filter((x) => x <= m).at(-1) ?? 536

describe("SynCookies", () => {
  it("a cookie round-trips for every MSS class and 4-tuple within its age", () => {
    const cookies = new SynCookies(seeded(7))
    fc.assert(fc.property(tuple, u32, mss, time, fc.integer({ min: 0, max: PERIOD - 1 }), (t, isn, m, now, later) => {
      const made = cookies.make(t, isn, m, now)
      expect(made.mss).toBe(expectedMss(m))
      // From the same tick up to the end of the next one.
      const tickEnd = (Math.floor(now / PERIOD) + 1) * PERIOD
      for (const at of [now, now + later, tickEnd + later]) {
        expect(cookies.check(t, (made.isn + 1) >>> 0, isn, at)).toEqual({ mss: made.mss })
      }
    }))
    expect(cookies.stats.failed).toBe(0)
    expect(cookies.stats.recv).toBe(3 * cookies.stats.sent)
  })

  it("encodes the largest table entry not above the client's MSS (536 below all, as Linux)", () => {
    const cookies = new SynCookies(seeded(8))
    const t = { localAddress: 0x0a000001, localPort: 80, remoteAddress: 0x0a000002, remotePort: 4000 }
    const cases: ReadonlyArray<readonly [number, number]> = [
      [0, 536], [535, 536], [536, 536], [1299, 536], [1300, 1300], [1439, 1300], [1440, 1440],
      [1459, 1440], [1460, 1460], [9000, 1460], [65535, 1460]
    ]
    for (const [client, granted] of cases) {
      const made = cookies.make(t, 1, client, 0)
      expect(made.mss).toBe(granted)
      expect(cookies.check(t, made.isn + 1, 1, 0)?.mss).toBe(granted)
    }
  })

  it("refuses a cookie on another 4-tuple", () => {
    const cookies = new SynCookies(seeded(9))
    const field = fc.constantFrom("localAddress", "localPort", "remoteAddress", "remotePort")
    fc.assert(fc.property(tuple, u32, mss, time, field, fc.integer({ min: 1, max: 0xffff }), (t, isn, m, now, f, delta) => {
      const made = cookies.make(t, isn, m, now)
      const wrap = f === "localPort" || f === "remotePort" ? 0xffff : 0xffffffff
      const other = { ...t, [f]: (t[f] + delta) % (wrap + 1) }
      expect(cookies.check(other, made.isn + 1, isn, now)).toBeUndefined()
    }))
    expect(cookies.stats.recv).toBe(0)
    expect(cookies.stats.failed).toBe(cookies.stats.sent)
    expect(cookies.stats.failedAge + cookies.stats.failedHash).toBe(cookies.stats.failed)
  })

  it("refuses a tampered cookie or client sequence number", () => {
    // The two low bits may move the MSS index to a neighbour (as Linux): only
    // another table MSS. Any other change is refused.
    const cookies = new SynCookies(seeded(10))
    fc.assert(fc.property(tuple, u32, mss, time, fc.integer({ min: 2, max: 31 }), fc.integer({ min: 4, max: 2 ** 32 - 4 }), (t, isn, m, now, bit, delta) => {
      const made = cookies.make(t, isn, m, now)
      expect(cookies.check(t, ((made.isn ^ (1 << bit)) + 1) >>> 0, isn, now)).toBeUndefined()
      expect(cookies.check(t, (made.isn + 1) >>> 0, (isn + delta) >>> 0, now)).toBeUndefined()
      for (const low of [1, 2, 3]) {
        const r = cookies.check(t, ((made.isn ^ low) + 1) >>> 0, isn, now)
        if (r !== undefined) expect(SYN_COOKIE_MSS).toContain(r.mss)
      }
    }))
    expect(cookies.stats.failedHash).toBeGreaterThan(0)
    expect(cookies.stats.failedAge).toBeGreaterThan(0)
  })

  it("refuses a cookie MAX_SYNCOOKIE_AGE (2) ticks old or from the future, and counts it", () => {
    const cookies = new SynCookies(seeded(11))
    fc.assert(fc.property(tuple, u32, mss, fc.integer({ min: 2 * PERIOD, max: 2 ** 50 }), fc.integer({ min: 0, max: 200 * PERIOD }), (t, isn, m, now, wait) => {
      const made = cookies.make(t, isn, m, now)
      const tick = Math.floor(now / PERIOD)
      // Two ticks on, up to the 255 the 8-bit count can tell apart (beyond, it wraps).
      const late = (tick + 2) * PERIOD + (wait % (253 * PERIOD))
      const before = cookies.stats.failedAge
      expect(cookies.check(t, made.isn + 1, isn, late)).toBeUndefined()
      expect(cookies.check(t, made.isn + 1, isn, tick * PERIOD - 1)).toBeUndefined()
      expect(cookies.stats.failedAge).toBe(before + 2)
    }))
  })

  it("accepts up to the end of the next tick: between 60 and 120 s", () => {
    const cookies = new SynCookies(seeded(12))
    const t = { localAddress: 1, localPort: 2, remoteAddress: 3, remotePort: 4 }
    const k = 1000
    const early = cookies.make(t, 5, 1460, k * PERIOD)
    expect(cookies.check(t, early.isn + 1, 5, (k + 2) * PERIOD - 1)).toEqual({ mss: 1460 })
    expect(cookies.check(t, early.isn + 1, 5, (k + 2) * PERIOD)).toBeUndefined()
    const lateInTick = cookies.make(t, 5, 1460, (k + 1) * PERIOD - 1)
    expect(cookies.check(t, lateInTick.isn + 1, 5, (k + 1) * PERIOD + 59_999_999)).toEqual({ mss: 1460 })
    expect(cookies.check(t, lateInTick.isn + 1, 5, (k + 2) * PERIOD)).toBeUndefined()
    // A longer age when asked.
    const patient = new SynCookies(seeded(12), { maxAge: 4 })
    const c = patient.make(t, 5, 1460, k * PERIOD)
    expect(patient.check(t, c.isn + 1, 5, (k + 3) * PERIOD)).toEqual({ mss: 1460 })
    expect(patient.check(t, c.isn + 1, 5, (k + 4) * PERIOD)).toBeUndefined()
  })

  it("counts sent, received and failed (Linux SyncookiesSent, SyncookiesRecv, SyncookiesFailed)", () => {
    const cookies = new SynCookies(seeded(13))
    const t = { localAddress: 1, localPort: 2, remoteAddress: 3, remotePort: 4 }
    const a = cookies.make(t, 100, 1460, 0)
    cookies.make(t, 200, 536, 0)
    expect(cookies.check(t, a.isn + 1, 100, 0)).toBeDefined()
    expect(cookies.check(t, a.isn + 1 + 4, 100, 0)).toBeUndefined()
    expect(cookies.check(t, a.isn + 1, 100, 10 * PERIOD)).toBeUndefined()
    expect({ ...cookies.stats }).toEqual({ sent: 2, recv: 1, failed: 2, failedAge: 1, failedHash: 1, failedOptions: 0 })
  })

  it("differs between hosts: another secret refuses the cookie", () => {
    const a = new SynCookies(seeded(14))
    const b = new SynCookies(seeded(15))
    fc.assert(fc.property(tuple, u32, mss, time, (t, isn, m, now) => {
      const made = a.make(t, isn, m, now)
      expect(b.check(t, made.isn + 1, isn, now)).toBeUndefined()
    }))
  })
})

describe("SynCookies timestamps", () => {
  const cookies = new SynCookies(seeded(16))
  const options: fc.Arbitrary<SynCookieOptions> = fc.record(
    { wscale: fc.integer({ min: 0, max: 14 }), sackOk: fc.boolean(), ecn: fc.boolean() },
    { requiredKeys: ["sackOk", "ecn"] }
  )

  it("carries window scale, SACK and ECN in the TSval's low bits, never above now", () => {
    fc.assert(fc.property(u32, options, (now, o) => {
      const tsval = cookies.timestamp(now, o)
      expect(Number.isInteger(tsval) && tsval >= 0 && tsval < 2 ** 32).toBe(true)
      expect(seqLe(tsval, now)).toBe(true)
      expect(((now - tsval) >>> 0) < 64).toBe(true)
      expect(cookies.decodeTimestamp(tsval)).toEqual(o)
    }))
  })

  it("is Linux's cookie_init_timestamp: (now & ~63) | options, less 64 if above now", () => {
    fc.assert(fc.property(u32, options, (now, o) => {
      const bits = (o.wscale ?? 15) | (o.sackOk ? 16 : 0) | (o.ecn ? 32 : 0)
      let ts = ((now & ~63) | bits) >>> 0
      if (ts > now) ts = (ts - 64) >>> 0
      expect(cookies.timestamp(now, o)).toBe(ts)
    }))
  })

  it("takes a window scale above 14 as 14 (RFC 7323 §2.3)", () => {
    expect(cookies.decodeTimestamp(cookies.timestamp(1000, { wscale: 15, sackOk: false, ecn: false }))).toEqual({ wscale: 14, sackOk: false, ecn: false })
    expect(cookies.decodeTimestamp(cookies.timestamp(1000, { wscale: 200, sackOk: true, ecn: false }))).toEqual({ wscale: 14, sackOk: true, ecn: false })
  })

  it("refuses options this host has off, and reads ECN as off when it is", () => {
    const strict = new SynCookies(seeded(17), { sack: false, windowScaling: false, ecn: false })
    expect(strict.decodeTimestamp(strict.timestamp(5000, { sackOk: true, ecn: false }))).toBeUndefined()
    expect(strict.decodeTimestamp(strict.timestamp(5000, { wscale: 7, sackOk: false, ecn: false }))).toBeUndefined()
    expect(strict.stats.failedOptions).toBe(2)
    expect(strict.decodeTimestamp(strict.timestamp(5000, { sackOk: false, ecn: true }))).toEqual({ sackOk: false, ecn: false })
  })
})
