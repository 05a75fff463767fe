/**
 * The path-MTU cache (RFC 1191; Linux `__ip_rt_update_pmtu`): reports only
 * lower the estimate, expire after 10 minutes, use the plateau table for an
 * MTU of 0, stop at `min_pmtu` (locked), and the table stays bounded.
 */
import { describe, expect, it } from "@effect/vitest"
import { TimerQueue } from "@netstack/l2"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import { plateauBelow, PMTU_PLATEAUS, PmtuCache } from "../src/pmtu/index.ts"

const D = 0x0a000002
const E = 0x0a000003
const MINUTE = 60_000_000

describe("PmtuCache", () => {
  it("lowers the estimate on a report and ignores reports at or above it (RFC 1191 §6.1)", () => {
    const cache = new PmtuCache()
    expect(cache.get(D, 0)).toBeUndefined()
    expect(cache.update(D, 1400, 0)).toBe(1400)
    expect(cache.get(D, 1)).toBe(1400)
    expect(cache.update(D, 1500, 2)).toBeUndefined()
    expect(cache.update(D, 1400, 3)).toBeUndefined() // a confirmation early in the estimate's life
    expect(cache.get(D, 4)).toBe(1400)
    expect(cache.update(D, 1280, 5)).toBe(1280)
    expect(cache.get(D, 6)).toBe(1280)
    expect(cache.get(E, 6)).toBeUndefined()
    expect(cache.stats).toMatchObject({ updates: 2, ignored: 2 })
    // Not an MTU at all.
    for (const bad of [-1, 1.5, 70_000, Number.NaN]) expect(cache.update(D, bad, 7)).toBeUndefined()
    expect(cache.get(D, 8)).toBe(1280)
  })

  it.effect("expires an estimate 10 minutes after it was set, on the host clock under TestClock", () =>
    Effect.gen(function*() {
      const timers = yield* TimerQueue.make()
      const cache = new PmtuCache()
      cache.update(D, 1400, timers.now())
      yield* TestClock.adjust("599999 millis")
      expect(cache.get(D, timers.now())).toBe(1400)
      yield* TestClock.adjust("1 millis")
      expect(cache.get(D, timers.now())).toBeUndefined()
      expect(cache.stats.expired).toBe(1)
      expect(cache.size).toBe(0)
      // After expiry the path is probed afresh: a higher value is taken.
      expect(cache.update(D, 1480, timers.now())).toBe(1480)
    }))

  it("renews an estimate confirmed past half its life (Linux __ip_rt_update_pmtu)", () => {
    const cache = new PmtuCache()
    cache.update(D, 1400, 0)
    expect(cache.lookup(D, 0)?.expiresAt).toBe(10 * MINUTE)
    expect(cache.update(D, 1400, 4 * MINUTE)).toBeUndefined()
    expect(cache.update(D, 1400, 6 * MINUTE)).toBe(1400)
    expect(cache.lookup(D, 6 * MINUTE)?.expiresAt).toBe(16 * MINUTE)
    expect(cache.get(D, 15 * MINUTE)).toBe(1400)
    expect(cache.stats.refreshes).toBe(1)
  })

  it("uses the RFC 1191 §7 plateau below the datagram when the router reports 0", () => {
    expect(PMTU_PLATEAUS).toEqual([65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68])
    expect(plateauBelow(1500)).toBe(1492)
    expect(plateauBelow(1492)).toBe(1006)
    expect(plateauBelow(65535)).toBe(32000)
    expect(plateauBelow(68)).toBe(68)
    const cache = new PmtuCache({ minPmtu: 68 })
    expect(cache.update(D, 0, 0, 4000)).toBe(2002)
    // Without the datagram's length: below the current estimate ...
    expect(cache.update(D, 0, 1)).toBe(1492)
    expect(cache.update(D, 0, 2)).toBe(1006)
    expect(cache.update(D, 0, 3)).toBe(508)
    expect(cache.update(D, 0, 4)).toBe(296)
    expect(cache.update(D, 0, 5)).toBe(68)
    // ... or below the assumed first-hop MTU for a new destination.
    expect(cache.update(E, 0, 6)).toBe(1492)
    expect(new PmtuCache({ assumedMtu: 9000 }).update(D, 0, 0)).toBe(8166)
  })

  it("never goes below min_pmtu (552) unless configured, and locks the clamped estimate", () => {
    const cache = new PmtuCache()
    expect(cache.minPmtu).toBe(552)
    expect(cache.update(D, 300, 0)).toBe(552)
    expect(cache.lookup(D, 1)).toMatchObject({ mtu: 552, locked: true })
    expect(cache.update(E, 576, 0)).toBe(576)
    expect(cache.lookup(E, 1)).toMatchObject({ mtu: 576, locked: false })
    expect(cache.update(E, 0, 2, 1006)).toBe(552) // plateau 508, clamped
    expect(cache.stats.clamped).toBe(2)
    const configured = new PmtuCache({ minPmtu: 68 })
    expect(configured.update(D, 300, 0)).toBe(300)
    expect(configured.update(D, 20, 0)).toBe(68)
    // A configured minimum below 68 is 68 (RFC 791 §3.2).
    expect(new PmtuCache({ minPmtu: 10 }).minPmtu).toBe(68)
  })

  it("stays bounded, evicting an entry not used since the last sweep (CLOCK)", () => {
    const cache = new PmtuCache({ maxEntries: 4 })
    for (let i = 1; i <= 4; i++) cache.update(i, 1400, 0)
    expect(cache.get(1, 1)).toBe(1400) // 1 is in use: a second chance
    cache.update(5, 1400, 2)
    expect(cache.size).toBe(4)
    expect(cache.get(2, 3)).toBeUndefined() // the oldest unused went
    expect(cache.get(1, 3)).toBe(1400)
    expect(cache.stats.evictions).toBe(1)
    // An expired entry goes first, whatever its use.
    const aging = new PmtuCache({ maxEntries: 2, expiresMicros: 100 })
    aging.update(1, 1400, 0)
    aging.update(2, 1400, 90)
    aging.get(1, 50)
    aging.update(3, 1400, 150)
    expect(aging.get(2, 151)).toBe(1400)
    expect(aging.get(3, 151)).toBe(1400)
    expect(aging.stats).toMatchObject({ expired: 1, evictions: 0 })
  })

  it("never raises an unexpired estimate, never leaves [min_pmtu, 65535], never exceeds its bound (property)", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            destination: fc.integer({ min: 0, max: 20 }),
            mtu: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 70_000 })),
            advance: fc.integer({ min: 0, max: 4 * MINUTE })
          }),
          { minLength: 1, maxLength: 200, size: "max" }
        ),
        (steps) => {
          const cache = new PmtuCache({ maxEntries: 8 })
          let now = 0
          for (const step of steps) {
            now += step.advance
            const before = cache.get(step.destination, now)
            const after = cache.update(step.destination, step.mtu, now)
            const current = cache.get(step.destination, now)
            if (before !== undefined && current !== undefined) expect(current).toBeLessThanOrEqual(before)
            if (after !== undefined) expect(current).toBe(after)
            if (current !== undefined) {
              expect(current).toBeGreaterThanOrEqual(552)
              expect(current).toBeLessThanOrEqual(65535)
            }
            expect(cache.size).toBeLessThanOrEqual(8)
          }
        }
      ),
      { numRuns: 200 }
    )
  })
})
