/**
 * Congestion control: Reno (RFC 5681 §3.1 with RFC 3465 byte counting) and
 * CUBIC (RFC 9438), driven as the core drives them. A "round" is one round
 * trip of a window-limited sender: the whole cwnd acknowledged in ACKs of a
 * given size, spread evenly over the RTT.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import fc from "fast-check"
import {
  type AckSample,
  congestionAlgorithm,
  CongestionControl,
  type CongestionController,
  CUBIC_ALPHA,
  CUBIC_BETA,
  CUBIC_C,
  cubic,
  CubicController,
  cubicLayer,
  INFINITE_SSTHRESH,
  initialWindow,
  newReno,
  newRenoLayer,
  RenoController
} from "../src/tcp/congestion/index.ts"
import { AckCredit, slowStartGrowth } from "../src/tcp/congestion/window-growth.ts"
import { propertyRuns } from "@netstack/test-support"

const MSS = 1000
const MS = 1000 // µs
const SECOND = 1_000_000 // µs


const reno = (window = initialWindow(MSS)): RenoController =>
  newReno.make({ mss: MSS, initialWindow: window, now: 0 }) as RenoController
const cubicAt = (window: number): CubicController =>
  cubic.make({ mss: MSS, initialWindow: window, now: 0 }) as CubicController

const sample = (now: number, ackedBytes: number, cwndLimited = true, srtt?: number): AckSample => ({
  now,
  ackedBytes,
  rtt: srtt,
  srtt,
  inFlight: ackedBytes,
  cwndLimited
})

/** One round trip from `now`: cwnd acknowledged in ACKs of `ackSize` spread over `rtt`; returns the end time. */
const round = (cc: CongestionController, now: number, rtt: number, ackSize = MSS, cwndLimited = true): number => {
  const window = cc.cwnd
  const acks = Math.ceil(window / ackSize)
  for (let i = 0; i < acks; i++) {
    const acked = Math.min(ackSize, window - i * ackSize)
    cc.onAck(sample(now + Math.round(((i + 1) * rtt) / acks), acked, cwndLimited, rtt))
  }
  return now + rtt
}

/** Fast retransmit with SACK recovery as the core does it: ssthresh from the algorithm, cwnd = ssthresh, full ACK. */
const lossEpisode = (cc: CongestionController, now: number): void => {
  cc.onCongestion(now, cc.cwnd)
  cc.setCwnd(cc.ssthresh)
  cc.onRecoveryExit(now)
}

describe("congestionAlgorithm and the layers", () => {
  it("finds the algorithms by their Linux names and provides them as CongestionControl", () => {
    expect(congestionAlgorithm("reno")).toBe(newReno)
    expect(congestionAlgorithm("cubic")).toBe(cubic)
    expect(congestionAlgorithm("bbr")).toBeUndefined()
    expect(reno().algorithm).toBe("reno")
    expect(cubicAt(10 * MSS).algorithm).toBe("cubic")
    const chosen = Effect.service(CongestionControl).pipe(Effect.map((algorithm) => algorithm.name))
    expect(Effect.runSync(Effect.provide(chosen, newRenoLayer))).toBe("reno")
    expect(Effect.runSync(Effect.provide(chosen, cubicLayer))).toBe("cubic")
  })
})

describe("byte counting", () => {
  it("slow start grows by the bytes acknowledged, at most L·SMSS and never past ssthresh (RFC 3465 §2.2)", () => {
    expect(slowStartGrowth(10_000, 100_000, 1_500, 2_000)).toBe(1_500)
    expect(slowStartGrowth(10_000, 100_000, 5_000, 2_000)).toBe(2_000)
    expect(slowStartGrowth(99_500, 100_000, 2_000, 2_000)).toBe(500)
    expect(slowStartGrowth(100_000, 100_000, 2_000, 2_000)).toBe(0)
  })

  it("adds one segment per `per` bytes, carries the rest, and spends credit banked at a larger `per` gently", () => {
    const credit = new AckCredit()
    expect(credit.grow(4_000, 10_000, 1_000)).toBe(0)
    expect(credit.grow(6_000, 10_000, 1_000)).toBe(1_000)
    expect(credit.credit).toBe(0)
    expect(credit.grow(25_000, 10_000, 1_000)).toBe(2_000) // a stretch ACK: two increments, 5000 carried
    expect(credit.credit).toBe(5_000)
    expect(credit.grow(90_000, Number.POSITIVE_INFINITY, 1_000)).toBe(0) // no growth wanted: banked
    // The banked 95000 bytes at per = 10000 buy one segment, not nine (Linux tcp_cong_avoid_ai).
    expect(credit.grow(1_000, 10_000, 1_000)).toBe(1_000)
    expect(credit.credit).toBe(1_000)
  })
})

describe("Reno (RFC 5681 §3.1, RFC 3465)", () => {
  it("starts at the initial window with an arbitrarily high ssthresh", () => {
    const cc = reno()
    expect(cc.cwnd).toBe(10 * MSS) // RFC 6928: min(10·MSS, max(2·MSS, 14600)) for MSS 1000
    expect(cc.ssthresh).toBe(INFINITE_SSTHRESH)
  })

  it("doubles the window each round trip of full-window ACKs in slow start", () => {
    const cc = reno()
    let now = 0
    for (const expected of [20, 40, 80, 160, 320]) {
      now = round(cc, now, 100 * MS)
      expect(cc.cwnd).toBe(expected * MSS)
    }
    // Delayed ACKs (one per two segments) double it too: byte counting, L = 2·SMSS (RFC 3465 §2.2).
    const delayed = reno()
    now = 0
    for (const expected of [20, 40, 80]) {
      now = round(delayed, now, 100 * MS, 2 * MSS)
      expect(delayed.cwnd).toBe(expected * MSS)
    }
  })

  it("counts at most 2·SMSS per ACK in slow start, 1·SMSS after an RTO (RFC 3465 §2.3)", () => {
    const cc = reno(40 * MSS)
    round(cc, 0, 100 * MS, 4 * MSS) // ten stretch ACKs of 4 segments: +2 segments each
    expect(cc.cwnd).toBe(60 * MSS)
    cc.onTimeout(SECOND, 60 * MSS)
    expect(cc.cwnd).toBe(MSS)
    cc.onAck(sample(SECOND + 1, 2 * MSS)) // the cumulative ACK of a go-back-N retransmission
    expect(cc.cwnd).toBe(2 * MSS)
    cc.onAck(sample(SECOND + 2, 3 * MSS))
    expect(cc.cwnd).toBe(3 * MSS)
  })

  it("slow-starts from the loss window to ssthresh after an RTO, then adds exactly one SMSS per round trip", () => {
    const cc = reno()
    let now = 0
    for (let i = 0; i < 4; i++) now = round(cc, now, 100 * MS)
    expect(cc.cwnd).toBe(160 * MSS)
    cc.onTimeout(now, 160 * MSS)
    expect(cc.ssthresh).toBe(80 * MSS) // eq. (4): FlightSize / 2
    expect(cc.cwnd).toBe(MSS) // the loss window
    for (const expected of [2, 4, 8, 16, 32, 64]) {
      now = round(cc, now, 100 * MS)
      expect(cc.cwnd).toBe(expected * MSS)
    }
    // 16 of the next 64 ACKs reach ssthresh; the other 48 count toward congestion avoidance.
    now = round(cc, now, 100 * MS)
    expect(cc.cwnd).toBe(80 * MSS)
    expect(cc.bytesAcked).toBe(48 * MSS)
    // Congestion avoidance (eq. 3 by byte counting): +1 SMSS per cwnd acknowledged, exactly.
    for (let expected = 81; expected <= 100; expected++) {
      now = round(cc, now, 100 * MS)
      expect(cc.cwnd).toBe(expected * MSS)
    }
    // The same with delayed ACKs.
    for (let expected = 101; expected <= 105; expected++) {
      now = round(cc, now, 100 * MS, 2 * MSS)
      expect(cc.cwnd).toBe(expected * MSS)
    }
  })

  it("sets ssthresh = max(FlightSize/2, 2·SMSS) on congestion and leaves cwnd to the core (eq. 4)", () => {
    const cc = reno(50 * MSS)
    cc.onCongestion(0, 50 * MSS + 1)
    expect(cc.ssthresh).toBe(25 * MSS)
    expect(cc.cwnd).toBe(50 * MSS)
    cc.setCwnd(cc.ssthresh + 3 * MSS) // RFC 6582 / RFC 5681 §3.2 step 4, the core's inflation
    expect(cc.cwnd).toBe(28 * MSS)
    cc.setCwnd(cc.ssthresh)
    cc.onRecoveryExit(1)
    expect(cc.cwnd).toBe(25 * MSS)
    cc.onCongestion(2, 3 * MSS) // the floor
    expect(cc.ssthresh).toBe(2 * MSS)
    cc.setCwnd(0) // never below one segment
    expect(cc.cwnd).toBe(MSS)
  })

  it("on an RTO sets ssthresh by eq. (4) and cwnd to one segment; a repeated RTO keeps ssthresh (RFC 5681 §3.1)", () => {
    const cc = reno(40 * MSS)
    cc.onTimeout(0, 30 * MSS)
    expect([cc.ssthresh, cc.cwnd]).toEqual([15 * MSS, MSS])
    cc.onTimeout(1, 30 * MSS) // the same segment timed out again
    expect([cc.ssthresh, cc.cwnd]).toEqual([15 * MSS, MSS])
    cc.onAck(sample(2, MSS))
    cc.onTimeout(3, 3 * MSS) // a new loss episode, with the 2·SMSS floor
    expect([cc.ssthresh, cc.cwnd]).toEqual([2 * MSS, MSS])
  })

  it("does not grow while the sender is not cwnd-limited (RFC 7661 §4.1)", () => {
    const cc = reno()
    let now = round(cc, 0, 100 * MS, MSS, false)
    expect(cc.cwnd).toBe(10 * MSS)
    lossEpisode(cc, now)
    expect(cc.cwnd).toBe(5 * MSS)
    cc.setCwnd(20 * MSS) // congestion avoidance at 20 segments
    for (let i = 0; i < 5; i++) now = round(cc, now, 100 * MS, MSS, false)
    expect(cc.cwnd).toBe(20 * MSS)
    expect(cc.bytesAcked).toBe(0) // and nothing is banked for later
    now = round(cc, now, 100 * MS)
    expect(cc.cwnd).toBe(21 * MSS)
  })

  it("restarts after idle with cwnd = min(cwnd, RW), keeping 3/4 of the old window in ssthresh (RFC 5681 §4.1)", () => {
    const cc = reno(100 * MSS)
    cc.onCongestion(0, 100 * MSS)
    cc.setCwnd(60 * MSS)
    cc.onIdleRestart(SECOND, 10 * MSS)
    expect(cc.cwnd).toBe(10 * MSS)
    expect(cc.ssthresh).toBe(50 * MSS) // max(50, 60·3/4 = 45): Linux tcp_cwnd_restart
    cc.setCwnd(80 * MSS)
    cc.onIdleRestart(2 * SECOND, 10 * MSS)
    expect(cc.ssthresh).toBe(60 * MSS)
    cc.onIdleRestart(3 * SECOND, 20 * MSS) // a restart window above cwnd changes nothing
    expect([cc.cwnd, cc.ssthresh]).toEqual([10 * MSS, 60 * MSS])
  })

  it("keeps the window's bytes when the MSS changes, and counts in the new MSS", () => {
    const cc = reno(12 * MSS)
    cc.onCongestion(0, 24 * MSS)
    expect(cc.ssthresh).toBe(12 * MSS)
    cc.setMss(1500)
    expect(cc.cwnd).toBe(12 * MSS)
    expect(cc.ssthresh).toBe(12 * MSS)
    round(cc, 0, 100 * MS, 1500)
    expect(cc.cwnd).toBe(12 * MSS + 1500)
    cc.setMss(20_000) // larger than the window: raised to one segment, ssthresh to two
    expect([cc.cwnd, cc.ssthresh]).toEqual([20_000, 40_000])
  })

  it("ignores input that is not a number of bytes", () => {
    const cc = reno()
    for (const bad of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) cc.onAck(sample(0, bad))
    cc.setMss(0)
    cc.setMss(1.5)
    cc.setCwnd(Number.NaN)
    cc.onIdleRestart(0, -1)
    expect([cc.cwnd, cc.ssthresh, cc.mss]).toEqual([10 * MSS, INFINITE_SSTHRESH, MSS])
    cc.onCongestion(0, Number.NaN) // no usable FlightSize: cwnd stands in (Linux uses cwnd)
    expect(cc.ssthresh).toBe(5 * MSS)
  })
})

describe("CUBIC (RFC 9438)", () => {
  /** K in seconds for a reduction from `wMax` segments to β·wMax (§4.2 eq. 2 with cwnd_epoch = β·W_max). */
  const kOf = (wMaxSegments: number): number => Math.cbrt((wMaxSegments * (1 - CUBIC_BETA)) / CUBIC_C)
  /** The RFC's W_cubic(t) in segments, converted to bytes. */
  const wCubic = (wMaxSegments: number, k: number, t: number): number =>
    (CUBIC_C * (t - k) ** 3 + wMaxSegments) * MSS

  it("reduces by β = 0.7, remembers W_max and starts the epoch with K at the first ACK after recovery (§4.6, §4.2)", () => {
    const cc = cubicAt(100 * MSS)
    cc.onCongestion(0, 100 * MSS)
    expect(cc.ssthresh).toBe(70 * MSS)
    expect(cc.cwnd).toBe(100 * MSS) // the core's recovery sets it
    expect(cc.wMax).toBe(100 * MSS)
    expect(cc.cwndPrior).toBe(100 * MSS)
    cc.setCwnd(cc.ssthresh)
    cc.onRecoveryExit(SECOND)
    expect(cc.epochStart).toBeUndefined()
    cc.onAck(sample(SECOND + 5 * MS, MSS, true, 100 * MS))
    expect(cc.epochStart).toBe(SECOND + 5 * MS)
    expect(cc.cwndEpoch).toBe(70 * MSS)
    expect(cc.k).toBeCloseTo(kOf(100), 12) // ∛(100·0.3/0.4) = ∛75 ≈ 4.217 s
    expect(cc.k).toBeCloseTo(4.2172, 4)
    expect(cc.wCubic(0)).toBeCloseTo(70 * MSS, 6) // the curve starts at cwnd_epoch
    expect(cc.wCubic(cc.k)).toBeCloseTo(100 * MSS, 6) // and reaches W_max at K
  })

  it("follows the closed-form W_cubic(t) through the concave and convex regions", () => {
    // W_max = 1000 segments, RTT 100 ms: the Reno estimate (≈ 0.53 segments per RTT) stays far below
    // and the target never reaches 1.5·cwnd, so cwnd follows the cubic function alone.
    const rtt = 100 * MS
    const wMax = 1000
    const cc = cubicAt(wMax * MSS)
    lossEpisode(cc, 0)
    const k = kOf(wMax)
    let now = round(cc, 0, rtt)
    const epoch = cc.epochStart ?? Number.NaN
    expect(epoch).toBe(Math.round(rtt / 700)) // the first ACK of the first round
    let checked = 0
    while (now - epoch < (k + 4) * SECOND) {
      now = round(cc, now, rtt)
      const t = (now - epoch) / SECOND
      // Each ACK moves cwnd (target − cwnd)/cwnd per segment toward the target W_cubic(t + RTT),
      // so cwnd never passes W_cubic(t + RTT) and trails the curve by less than one RTT of its
      // growth; the window moves in whole segments, hence ± one SMSS.
      expect(cc.cwnd).toBeLessThanOrEqual(wCubic(wMax, k, t + rtt / SECOND) + MSS)
      expect(cc.cwnd).toBeGreaterThanOrEqual(wCubic(wMax, k, t) - MSS)
      checked++
    }
    expect(checked).toBeGreaterThan(120)
    // Concave below W_max, the plateau near K, convex beyond it.
    expect(cc.cwnd).toBeGreaterThan((wMax + 20) * MSS)
    expect(cc.wEst ?? Infinity).toBeLessThan(800 * MSS)
  })

  it("fast convergence lowers W_max when a reduction comes below the previous W_max (§4.7)", () => {
    const rtt = 100 * MS
    const cc = cubicAt(100 * MSS)
    lossEpisode(cc, 0)
    let now = 0
    for (let i = 0; i < 20; i++) now = round(cc, now, rtt)
    const before = cc.cwnd
    expect(before).toBeLessThan(100 * MSS)
    expect(before).toBeGreaterThan(80 * MSS)
    cc.onCongestion(now, before)
    expect(cc.wMax).toBe(Math.floor(before * 0.85)) // cwnd·(1 + β)/2
    expect(cc.ssthresh).toBe(Math.floor(before * 0.7))
    cc.setCwnd(cc.ssthresh)
    cc.onRecoveryExit(now)
    cc.onAck(sample(now + 1, MSS, true, rtt))
    // K from the lowered W_max and cwnd_epoch = ssthresh (§4.2 eq. 2).
    expect(cc.k).toBeCloseTo(Math.cbrt((Math.floor(before * 0.85) - Math.floor(before * 0.7)) / (CUBIC_C * MSS)), 12)
    // A reduction at or above W_max takes W_max = cwnd.
    const above = cubicAt(100 * MSS)
    lossEpisode(above, 0)
    above.setCwnd(120 * MSS)
    above.onCongestion(1, 120 * MSS)
    expect(above.wMax).toBe(120 * MSS)
  })

  it("is Reno-friendly on a very short RTT: W_est's AIMD growth dominates W_cubic (§4.3)", () => {
    const rtt = 1 * MS
    const cc = cubicAt(100 * MSS)
    lossEpisode(cc, 0)
    let now = round(cc, 0, rtt)
    const epoch = cc.epochStart ?? Number.NaN
    const grown = (rounds: number): number => {
      const from = cc.cwnd
      for (let i = 0; i < rounds; i++) now = round(cc, now, rtt)
      return (cc.cwnd - from) / MSS
    }
    grown(4)
    // Below cwnd_prior: α_cubic = 3(1 − β)/(1 + β) ≈ 0.53 segments per round trip, 15.9 in 30. The
    // window moves in whole segments (± 1 over a difference of two windows), and W_est divides each
    // ACK by a cwnd that grows within the round (≤ 1/70 less, 0.23 segments in 30 rounds).
    expect(Math.abs(grown(30) - 30 * CUBIC_ALPHA)).toBeLessThanOrEqual(1.25)
    grown(30) // W_est passes cwnd_prior = 100 segments
    // Past cwnd_prior: α_cubic = 1, Reno's one segment per round trip.
    const reno30 = grown(30)
    expect(reno30).toBeGreaterThanOrEqual(29)
    expect(reno30).toBeLessThanOrEqual(31)
    // Meanwhile the cubic curve has hardly left cwnd_epoch = 70 segments.
    const t = (now - epoch) / SECOND
    expect(cc.wCubic(t + rtt / SECOND)).toBeLessThan(75 * MSS)
    expect(cc.cwnd).toBeGreaterThan(120 * MSS)
    expect(Math.abs(cc.cwnd - (cc.wEst ?? 0))).toBeLessThanOrEqual(2 * MSS)
  })

  it("on an RTO reduces ssthresh by β, sets cwnd to one segment and restarts the curve with K = 0 (§4.8)", () => {
    const rtt = 100 * MS
    const cc = cubicAt(100 * MSS)
    cc.onTimeout(0, 100 * MSS)
    expect([cc.ssthresh, cc.cwnd]).toEqual([70 * MSS, MSS])
    expect(cc.wMax).toBeUndefined()
    cc.onTimeout(1, MSS) // the same segment again: ssthresh held
    expect([cc.ssthresh, cc.cwnd]).toEqual([70 * MSS, MSS])
    let now = 0
    for (const expected of [2, 4, 8, 16, 32, 64]) {
      now = round(cc, now, rtt)
      expect(cc.cwnd).toBe(expected * MSS)
    }
    now = round(cc, now, rtt) // reaches ssthresh; the rest of the round starts congestion avoidance
    const epoch = cc.epochStart ?? Number.NaN
    expect(cc.cwndEpoch).toBe(70 * MSS)
    expect(cc.wMax).toBe(70 * MSS) // W_max = cwnd at the start of the stage
    expect(cc.k).toBe(0)
    for (let i = 0; i < 50; i++) now = round(cc, now, rtt)
    // Convex from the start: at least the cubic curve from its plateau, one RTT behind.
    const t = (now - epoch) / SECOND
    expect(cc.cwnd).toBeGreaterThanOrEqual(CUBIC_C * MSS * (t - rtt / SECOND) ** 3 + 70 * MSS - MSS)
    expect(cc.cwnd).toBeGreaterThan(110 * MSS)
  })

  it("does not grow while application-limited, and leaves that time out of t (§5.8)", () => {
    const rtt = 100 * MS
    const make = (): CubicController => {
      const cc = cubicAt(100 * MSS)
      lossEpisode(cc, 0)
      return cc
    }
    const steady = make() // always window-limited
    const paused = make() // application-limited for ten seconds in the middle
    const silent = make() // silent for ten seconds, no ACKs at all
    let now = 0
    for (let i = 0; i < 10; i++) {
      round(steady, now, rtt)
      round(paused, now, rtt)
      now = round(silent, now, rtt)
    }
    expect(paused.cwnd).toBe(steady.cwnd)
    const grownTo = paused.cwnd
    const pause = 10 * SECOND
    for (let at = now; at < now + pause; at = round(paused, at, rtt, MSS, false));
    expect(paused.cwnd).toBe(grownTo) // no growth while app-limited
    for (let i = 0; i < 30; i++) {
      round(steady, now + i * rtt, rtt)
      round(paused, now + pause + i * rtt, rtt)
      round(silent, now + pause + i * rtt, rtt)
      expect(paused.cwnd).toBe(steady.cwnd) // the curve continues where it paused
    }
    // Without the rule, t would include the pause: the target jumps toward W_cubic(t + 10 s).
    expect(silent.cwnd).toBeGreaterThan(steady.cwnd + 10 * MSS)
    // Slow start does not grow either.
    const fresh = cubicAt(10 * MSS)
    round(fresh, 0, rtt, MSS, false)
    expect(fresh.cwnd).toBe(10 * MSS)
  })

  it("restarts after idle: a smaller window starts a new epoch; an unchanged one skips the idle time", () => {
    const rtt = 100 * MS
    const cc = cubicAt(100 * MSS)
    lossEpisode(cc, 0)
    let now = 0
    for (let i = 0; i < 60; i++) now = round(cc, now, rtt) // past K ≈ 4.2 s: 3/4 of cwnd exceeds ssthresh
    const window = cc.cwnd
    const wMax = cc.wMax
    expect(Math.floor((window * 3) / 4)).toBeGreaterThan(cc.ssthresh)
    cc.onIdleRestart(now + 5 * SECOND, 10 * MSS)
    expect(cc.cwnd).toBe(10 * MSS)
    expect(cc.ssthresh).toBe(Math.floor((window * 3) / 4))
    expect(cc.epochStart).toBeUndefined()
    expect(cc.wMax).toBe(wMax)
    // An idle period with a restart window above cwnd: the curve resumes as if without it.
    const steady = cubicAt(100 * MSS)
    const idle = cubicAt(100 * MSS)
    lossEpisode(steady, 0)
    lossEpisode(idle, 0)
    now = 0
    for (let i = 0; i < 5; i++) {
      round(steady, now, rtt)
      now = round(idle, now, rtt)
    }
    idle.onIdleRestart(now + 3 * SECOND, 1000 * MSS)
    for (let i = 0; i < 20; i++) {
      round(steady, now + i * rtt, rtt)
      round(idle, now + 3 * SECOND + i * rtt, rtt)
      expect(idle.cwnd).toBe(steady.cwnd)
    }
  })

  it("keeps the window's bytes when the MSS changes", () => {
    const cc = cubicAt(100 * MSS)
    lossEpisode(cc, 0)
    round(cc, 0, 100 * MS)
    const window = cc.cwnd
    cc.setMss(1460)
    expect(cc.cwnd).toBe(window)
    expect(cc.epochStart).toBeUndefined() // the curve restarts in the new unit at the next ACK
    cc.onAck(sample(200 * MS, 1460, true, 100 * MS))
    expect(cc.k).toBeCloseTo(Math.cbrt(((cc.wMax ?? 0) - window) / (CUBIC_C * 1460)), 12)
  })
})

describe("invariants of both algorithms under any sequence of events", () => {
  type Event =
    | { readonly _tag: "ack"; readonly dt: number; readonly acked: number; readonly rtt: number; readonly limited: boolean }
    | { readonly _tag: "congestion"; readonly dt: number; readonly flight: number }
    | { readonly _tag: "timeout"; readonly dt: number; readonly flight: number }
    | { readonly _tag: "exit"; readonly dt: number }
    | { readonly _tag: "idle"; readonly dt: number; readonly restart: number }
    | { readonly _tag: "mss"; readonly dt: number; readonly mss: number }
    | { readonly _tag: "set"; readonly dt: number; readonly bytes: number }

  const dt = fc.integer({ min: 0, max: 2 * SECOND })
  const bytes = fc.integer({ min: 0, max: 2_000_000 })
  const event: fc.Arbitrary<Event> = fc.oneof(
    {
      weight: 12,
      arbitrary: fc.record({
        _tag: fc.constant("ack" as const),
        dt: fc.integer({ min: 0, max: 200 * MS }),
        acked: fc.integer({ min: 1, max: 100_000 }),
        rtt: fc.integer({ min: 1, max: 2 * SECOND }),
        limited: fc.constantFrom(true, true, true, false)
      })
    },
    { weight: 1, arbitrary: fc.record({ _tag: fc.constant("congestion" as const), dt, flight: bytes }) },
    { weight: 1, arbitrary: fc.record({ _tag: fc.constant("timeout" as const), dt, flight: bytes }) },
    { weight: 1, arbitrary: fc.record({ _tag: fc.constant("exit" as const), dt }) },
    { weight: 1, arbitrary: fc.record({ _tag: fc.constant("idle" as const), dt, restart: bytes }) },
    { weight: 1, arbitrary: fc.record({ _tag: fc.constant("mss" as const), dt, mss: fc.integer({ min: 88, max: 9000 }) }) },
    { weight: 1, arbitrary: fc.record({ _tag: fc.constant("set" as const), dt, bytes }) }
  )

  it("keep cwnd ≥ 1 SMSS and ssthresh ≥ 2 SMSS as finite integers; grow only on window-limited ACKs, within byte-counting bounds", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(newReno, cubic),
        fc.integer({ min: 88, max: 9000 }),
        fc.integer({ min: 0, max: 100 }),
        fc.array(event, { maxLength: 300 }),
        (algorithm, mss0, segments, events) => {
          const cc = algorithm.make({ mss: mss0, initialWindow: segments * mss0, now: 0 })
          let mss = mss0
          let now = 0
          // The model's view of the RFC 3465 §2.3 limit and the RFC 5681 §3.1 repeated-RTO rule.
          let afterTimeout = false
          let timeoutPending = false
          const check = (): void => {
            expect(Number.isInteger(cc.cwnd) && Number.isInteger(cc.ssthresh)).toBe(true)
            expect(cc.cwnd).toBeGreaterThanOrEqual(mss)
            expect(cc.ssthresh).toBeGreaterThanOrEqual(2 * mss)
            if (cc instanceof CubicController) {
              for (const v of [cc.wMax ?? 0, cc.k, cc.wEst ?? 0, cc.cwndPrior ?? 0]) expect(Number.isFinite(v)).toBe(true)
            }
          }
          check()
          for (const e of events) {
            now += e.dt
            const cwnd = cc.cwnd
            const ssthresh = cc.ssthresh
            switch (e._tag) {
              case "ack": {
                cc.onAck({ now, ackedBytes: e.acked, rtt: e.rtt, srtt: e.rtt, inFlight: cwnd, cwndLimited: e.limited })
                timeoutPending = false
                // An ACK never lowers cwnd nor changes ssthresh; it grows cwnd only when window-limited.
                expect(cc.ssthresh).toBe(ssthresh)
                expect(cc.cwnd).toBeGreaterThanOrEqual(cwnd)
                const growth = cc.cwnd - cwnd
                if (!e.limited) expect(growth).toBe(0)
                // Byte counting: never more than the bytes acknowledged plus one banked segment.
                expect(growth).toBeLessThanOrEqual(e.acked + mss)
                // Pure slow start: min(acked, L·SMSS), L = 2, or 1 after an RTO (RFC 3465).
                if (cc.cwnd < ssthresh) expect(growth).toBeLessThanOrEqual(Math.min(e.acked, (afterTimeout ? 1 : 2) * mss))
                if (cwnd >= ssthresh) {
                  // Congestion avoidance: Reno at most acked·SMSS/cwnd (eq. 3), CUBIC at most
                  // acked/2 (target ≤ 1.5·cwnd, RFC 9438 §4.2), each plus one banked segment.
                  const bound = cc instanceof CubicController ? e.acked / 2 : (e.acked * mss) / cwnd
                  expect(growth).toBeLessThanOrEqual(bound + mss)
                }
                if (cc.cwnd >= ssthresh) afterTimeout = false
                break
              }
              case "congestion": {
                cc.onCongestion(now, e.flight)
                expect(cc.cwnd).toBe(cwnd) // the core's recovery sets it
                const expected = algorithm === newReno
                  ? Math.max(Math.floor(e.flight / 2), 2 * mss) // RFC 5681 eq. (4)
                  : Math.max(Math.floor((cwnd * 7) / 10), 2 * mss) // RFC 9438 §4.6
                expect(cc.ssthresh).toBe(expected)
                afterTimeout = false
                timeoutPending = false
                break
              }
              case "timeout": {
                cc.onTimeout(now, e.flight)
                expect(cc.cwnd).toBe(mss) // the loss window
                const expected = timeoutPending
                  ? ssthresh
                  : algorithm === newReno
                  ? Math.max(Math.floor(e.flight / 2), 2 * mss)
                  : Math.max(Math.floor((cwnd * 7) / 10), 2 * mss)
                expect(cc.ssthresh).toBe(expected)
                afterTimeout = true
                timeoutPending = true
                break
              }
              case "exit": {
                cc.onRecoveryExit(now)
                expect([cc.cwnd, cc.ssthresh]).toEqual([cwnd, ssthresh])
                timeoutPending = false
                break
              }
              case "idle": {
                cc.onIdleRestart(now, e.restart)
                expect(cc.cwnd).toBe(Math.max(mss, Math.min(cwnd, e.restart)))
                expect(cc.ssthresh).toBeGreaterThanOrEqual(ssthresh)
                break
              }
              case "mss": {
                cc.setMss(e.mss)
                mss = e.mss
                expect(cc.cwnd).toBe(Math.max(cwnd, mss)) // the window keeps its bytes
                break
              }
              case "set": {
                cc.setCwnd(e.bytes)
                expect(cc.cwnd).toBe(Math.max(mss, e.bytes))
                expect(cc.ssthresh).toBe(ssthresh)
                break
              }
            }
            check()
          }
        }
      ),
      { numRuns: propertyRuns(300) }
    )
  })
})
