/**
 * The ICMP error rate limiter (RFC 1812 §4.3.2.8; Linux `icmp_global_allow`
 * and `inet_peer_xrlim_allow`) under TestClock: bursts, refills, the two
 * buckets together, the bounded table, and the rate bound as a property.
 */
import { describe, expect, it } from "@effect/vitest"
import { TimerQueue } from "@netstack/l2"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import { IcmpRateLimiter } from "../src/icmp-limit/index.ts"

const D = 0x0a000002

/** How many of `n` messages to `destination` are allowed now. */
const burst = (limiter: IcmpRateLimiter, destination: number, n: number, now: number): number => {
  let allowed = 0
  for (let i = 0; i < n; i++) if (limiter.allow(destination, now)) allowed++
  return allowed
}

describe("IcmpRateLimiter", () => {
  it.effect("a destination gets a burst of 6, then one a second, refilling up to 6", () =>
    Effect.gen(function*() {
      const timers = yield* TimerQueue.make()
      const limiter = new IcmpRateLimiter()
      expect(burst(limiter, D, 10, timers.now())).toBe(6)
      expect(limiter.stats.refusedDestination).toBe(4)
      yield* TestClock.adjust("999 millis")
      expect(limiter.allow(D, timers.now())).toBe(false)
      yield* TestClock.adjust("1 millis")
      expect(limiter.allow(D, timers.now())).toBe(true)
      expect(limiter.allow(D, timers.now())).toBe(false)
      yield* TestClock.adjust("2500 millis")
      expect(burst(limiter, D, 10, timers.now())).toBe(2)
      yield* TestClock.adjust("1 hour")
      expect(burst(limiter, D, 10, timers.now())).toBe(6)
    }))

  it.effect("the host gets a burst of 50, then 1000 a second", () =>
    Effect.gen(function*() {
      const timers = yield* TimerQueue.make()
      const limiter = new IcmpRateLimiter()
      let allowed = 0
      for (let d = 0; d < 80; d++) if (limiter.allow(d, timers.now())) allowed++
      expect(allowed).toBe(50)
      expect(limiter.stats.refusedGlobal).toBe(30)
      expect(limiter.stats.refusedDestination).toBe(0)
      yield* TestClock.adjust("1 millis")
      expect(limiter.allow(100, timers.now())).toBe(true)
      expect(limiter.allow(101, timers.now())).toBe(false)
      yield* TestClock.adjust("10 millis")
      expect(limiter.globalTokens(timers.now())).toBe(10)
      yield* TestClock.adjust("10 seconds")
      expect(limiter.globalTokens(timers.now())).toBe(50)
      expect(limiter.stats.allowed).toBe(51)
    }))

  it("a refusal by the destination's bucket does not spend the host's", () => {
    const limiter = new IcmpRateLimiter()
    expect(burst(limiter, D, 100, 0)).toBe(6)
    expect(limiter.globalTokens(0)).toBe(44)
    expect(limiter.stats).toMatchObject({ allowed: 6, refusedDestination: 94, refusedGlobal: 0 })
  })

  it("takes its settings, and an interval of 0 turns the per-destination limit off", () => {
    const off = new IcmpRateLimiter({ intervalMicros: 0 })
    expect(burst(off, D, 100, 0)).toBe(50)
    expect(off.size).toBe(0)
    const tight = new IcmpRateLimiter({ msgsPerSecond: 10, burst: 2, intervalMicros: 100_000, destinationBurst: 1 })
    expect(burst(tight, D, 5, 0)).toBe(1)
    expect(burst(tight, D + 1, 5, 0)).toBe(1)
    expect(burst(tight, D + 2, 5, 0)).toBe(0) // the host's 2 are spent
    expect(burst(tight, D + 2, 5, 100_000)).toBe(1) // one host token a 100 ms
  })

  it("keeps a bounded table, forgetting the least recently used destination", () => {
    const limiter = new IcmpRateLimiter({ maxDestinations: 3 })
    for (const d of [1, 2, 3]) expect(burst(limiter, d, 6, 0)).toBe(6)
    limiter.allow(1, 1) // 1 used most recently (refused: its bucket is empty)
    expect(limiter.allow(4, 2)).toBe(true)
    expect(limiter.size).toBe(3)
    expect(limiter.stats.evictions).toBe(1)
    // 2 was forgotten, so it starts afresh with a full bucket; 1 was kept, still empty.
    expect(limiter.allow(1, 3)).toBe(false)
    expect(burst(limiter, 2, 10, 3)).toBe(6)
  })

  it("a clock that goes backwards refills nothing", () => {
    const limiter = new IcmpRateLimiter()
    expect(burst(limiter, D, 6, 10_000_000)).toBe(6)
    expect(limiter.allow(D, 0)).toBe(false)
    expect(limiter.allow(D, 10_000_000)).toBe(false)
    expect(limiter.allow(D, 11_000_000)).toBe(true)
  })

  it("over any window, allows at most burst + rate × window, globally and per destination (property)", () => {
    let refusedGlobal = 0
    let refusedDestination = 0
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ destination: fc.integer({ min: 0, max: 9 }), advance: fc.integer({ min: 0, max: 300_000 }) }),
          { minLength: 1, maxLength: 400, size: "max" }
        ),
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 1, max: 20 }),
        (events, msgsPerSecond, globalBurst) => {
          const limiter = new IcmpRateLimiter({ msgsPerSecond, burst: globalBurst })
          let now = 0
          const sent: Array<{ readonly at: number; readonly destination: number }> = []
          for (const e of events) {
            now += e.advance
            if (limiter.allow(e.destination, now)) sent.push({ at: now, destination: e.destination })
          }
          // Every window [sent[i], sent[j]] holds j − i + 1 messages.
          const withinBound = (times: ReadonlyArray<number>, cap: number, perMicro: number): boolean => {
            for (let i = 0; i < times.length; i++) {
              for (let j = i; j < times.length; j++) {
                if (j - i + 1 > cap + perMicro * (times[j] - times[i]) + 1e-9) return false
              }
            }
            return true
          }
          expect(withinBound(sent.map((s) => s.at), globalBurst, msgsPerSecond / 1_000_000)).toBe(true)
          for (let d = 0; d <= 9; d++) {
            const mine = sent.filter((s) => s.destination === d).map((s) => s.at)
            expect(withinBound(mine, 6, 1 / 1_000_000)).toBe(true)
          }
          expect(limiter.stats.allowed + limiter.stats.refusedGlobal + limiter.stats.refusedDestination).toBe(events.length)
          refusedGlobal += limiter.stats.refusedGlobal
          refusedDestination += limiter.stats.refusedDestination
        }
      ),
      { numRuns: 100 }
    )
    // Not vacuous: both buckets did refuse.
    expect(refusedGlobal).toBeGreaterThan(0)
    expect(refusedDestination).toBeGreaterThan(0)
  })
})
