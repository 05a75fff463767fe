/**
 * The media: wire (veth pair), hub and loopback, with netem-like impairments.
 * Everything runs under `TestClock` with a seeded `Random`, so times are
 * exact and runs repeatable; fast-check generates impairment settings and
 * traffic, and each generated case runs as its own Effect with its own
 * `TestClock` and seed.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Duration, Effect, Exit, Random, Schema, type Scope } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import {
  Hub,
  type Impairments,
  ImpairmentsSchema,
  loopback,
  type MediumCounters,
  type MediumPort,
  micros,
  nowMicros,
  unaccounted,
  Wire,
  type WireDirection
} from "../src/index.ts"
import { DueQueue } from "../src/medium/due-queue.ts"
import { propertyRuns } from "@netstack/test-support"

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/** A frame of `length` bytes carrying `id` in its first 4 bytes (when it has them), then bytes pseudo-random in `id`. */
const frameOf = (id: number, length = 64): Uint8Array => {
  const f = new Uint8Array(length)
  let x = (id + 1) * 0x9e3779b1
  for (let i = 0; i < length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    f[i] = x & 0xff
  }
  if (length >= 4) new DataView(f.buffer).setUint32(0, id)
  return f
}

/** The id in a frame's first 4 bytes, or -1 for a shorter frame. */
const idOf = (f: Uint8Array): number => f.length >= 4 ? new DataView(f.buffer, f.byteOffset, f.byteLength).getUint32(0) : -1

/** One delivery seen by a receiver. */
interface Arrival {
  readonly at: string
  readonly id: number
  /** Microseconds on the clock when the receiver was called. */
  readonly time: number
  readonly bytes: Uint8Array
}

/** Attaches a receiver to `port` that records every delivery into `log`. */
const record = (clock: Clock.Clock, port: MediumPort, at: string, log: Array<Arrival>): void =>
  port.attach((f) => log.push({ at, id: idOf(f), time: nowMicros(clock), bytes: f.slice() }))

/** Runs one generated case: its own scope, `TestClock` and seeded `Random`. */
const runCase = <A, E>(seed: number, program: Effect.Effect<A, E, Scope.Scope>): Promise<A> =>
  Effect.runPromise(program.pipe(Effect.scoped, Random.withSeed(seed), Effect.provide(TestClock.layer())))

/** Advances the test clock by `us` microseconds (nothing when 0). */
const advance = (us: number): Effect.Effect<void> => us > 0 ? TestClock.adjust(micros(us)) : Effect.void

/** Float tolerance on microsecond times (the clock counts fractional milliseconds). */
const EPS = 1e-6

/** Asserts the accounting invariant of one set of counters. */
const assertBalanced = (c: MediumCounters, where: string): void => {
  assert.strictEqual(unaccounted(c), 0, `${where}: unbalanced ${JSON.stringify(c)}`)
  assert.isAtLeast(c.inFlight, 0, `${where}: negative inFlight`)
}

/** A count drawn from Binomial(n, p) is within `sigmas` standard deviations of its mean. */
const assertNear = (count: number, n: number, p: number, what: string, sigmas = 5): void => {
  const mean = n * p
  const sd = Math.sqrt(n * p * (1 - p))
  assert.isAtMost(Math.abs(count - mean), sigmas * sd + 1, `${what}: ${count}, expected about ${mean.toFixed(1)}`)
}

const usDuration = (us: number): Duration.Duration => Duration.micros(BigInt(us))

// ---------------------------------------------------------------------------
// Arbitraries
// ---------------------------------------------------------------------------

/** A probability: often exactly 0, sometimes 1, otherwise anywhere in between. */
const probability = fc.oneof(
  fc.constant(0),
  fc.constant(1),
  fc.double({ min: 0, max: 1, noNaN: true }),
  fc.double({ min: 0, max: 0.3, noNaN: true })
)

/** Any valid impairments; every field may be absent. */
const impairmentsArb: fc.Arbitrary<Impairments> = fc.record(
  {
    delay: fc.integer({ min: 0, max: 5_000 }).map(usDuration),
    jitter: fc.integer({ min: 0, max: 3_000 }).map(usDuration),
    loss: probability,
    duplicate: probability,
    corrupt: probability,
    reorder: probability,
    reorderDelay: fc.integer({ min: 0, max: 5_000 }).map(usDuration),
    rate: fc.integer({ min: 100_000, max: 1_000_000_000 }),
    queueLimit: fc.integer({ min: 0, max: 20 })
  },
  { requiredKeys: [] }
)

/** Impairments that must keep order: no jitter, no reordering (delay, rate, loss, duplication may be set). */
const orderKeepingArb: fc.Arbitrary<Impairments> = fc.record(
  {
    delay: fc.integer({ min: 0, max: 5_000 }).map(usDuration),
    loss: probability,
    duplicate: probability,
    rate: fc.integer({ min: 100_000, max: 1_000_000_000 }),
    queueLimit: fc.integer({ min: 0, max: 20 })
  },
  { requiredKeys: [] }
)

/** One step of generated traffic on a wire. */
type WireEvent =
  | { readonly _tag: "send"; readonly from: "a" | "b"; readonly gap: number; readonly length: number }
  | { readonly _tag: "partition" }
  | { readonly _tag: "heal" }
  | { readonly _tag: "attach"; readonly port: "a" | "b" }
  | { readonly _tag: "impair"; readonly direction: WireDirection; readonly impairments: Impairments }

const wireEvent: fc.Arbitrary<WireEvent> = fc.oneof(
  {
    weight: 20,
    arbitrary: fc.record({
      _tag: fc.constant("send" as const),
      from: fc.constantFrom("a" as const, "b" as const),
      gap: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 3_000 })),
      length: fc.integer({ min: 0, max: 1_500 })
    })
  },
  { weight: 1, arbitrary: fc.constant({ _tag: "partition" as const }) },
  { weight: 1, arbitrary: fc.constant({ _tag: "heal" as const }) },
  { weight: 2, arbitrary: fc.record({ _tag: fc.constant("attach" as const), port: fc.constantFrom("a" as const, "b" as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      _tag: fc.constant("impair" as const),
      direction: fc.constantFrom("aToB" as const, "bToA" as const),
      impairments: impairmentsArb
    })
  }
)

/** Exactly `n` items, `n` drawn from `min..max` (fast-check's default sizes are small). */
const arrayOfLength = <A>(item: fc.Arbitrary<A>, min: number, max: number): fc.Arbitrary<Array<A>> =>
  fc.integer({ min, max }).chain((n) => fc.array(item, { minLength: n, maxLength: n }))

const seedArb = fc.integer({ min: 0, max: 0x7fffffff })


// ---------------------------------------------------------------------------
// Wire
// ---------------------------------------------------------------------------

describe("Wire", () => {
  it.effect("without delay, rate or reordering, send hands the frame over before it returns (veth)", () =>
    Effect.gen(function*() {
      const wire = yield* Wire.make({ impairments: { loss: 0, duplicate: 0 } })
      const got: Array<number> = []
      wire.b.attach((f) => got.push(idOf(f)))
      wire.a.attach((f) => got.push(-idOf(f)))
      wire.a.send(frameOf(1))
      assert.deepStrictEqual(got, [1])
      wire.b.send(frameOf(2))
      assert.deepStrictEqual(got, [1, -2])
      const c = wire.counters("aToB")
      assert.deepStrictEqual([c.sent, c.delivered, c.inFlight], [1, 1, 0])
    }))

  it.effect("a receiver can answer inside delivery (synchronous ping-pong)", () =>
    Effect.gen(function*() {
      const wire = yield* Wire.make()
      const got: Array<string> = []
      wire.b.attach((f) => {
        got.push(`b<${idOf(f)}`)
        if (idOf(f) < 3) wire.b.send(frameOf(idOf(f) + 1))
      })
      wire.a.attach((f) => {
        got.push(`a<${idOf(f)}`)
        wire.a.send(frameOf(idOf(f) + 1))
      })
      wire.a.send(frameOf(0))
      assert.deepStrictEqual(got, ["b<0", "a<1", "b<2", "a<3", "b<4"])
    }))

  it.effect("a fixed delay delivers exactly `delay` after send, not a microsecond earlier", () =>
    Effect.gen(function*() {
      const clock = yield* Clock.Clock
      const wire = yield* Wire.make({ aToB: { delay: Duration.millis(2) } })
      const log: Array<Arrival> = []
      record(clock, wire.b, "b", log)
      yield* advance(123.5)
      wire.a.send(frameOf(1))
      yield* advance(2000 - 1)
      assert.strictEqual(log.length, 0, "arrived early")
      assert.strictEqual(wire.counters("aToB").inFlight, 1)
      yield* advance(1)
      assert.strictEqual(log.length, 1)
      assert.approximately(log[0]?.time ?? NaN, 2123.5, EPS)
      // The other direction has no delay: synchronous.
      const back: Array<number> = []
      wire.a.attach((f) => back.push(idOf(f)))
      wire.b.send(frameOf(9))
      assert.deepStrictEqual(back, [9])
    }))

  it("delay with jitter: every frame arrives within [send + max(0, delay - jitter), send + delay + jitter]", async () => {
    await fc.assert(
      fc.asyncProperty(
        seedArb,
        fc.integer({ min: 0, max: 5_000 }),
        fc.integer({ min: 0, max: 5_000 }),
        arrayOfLength(fc.integer({ min: 0, max: 2_000 }), 1, 200),
        async (seed, delay, jitter, gaps) => {
          const result = await runCase(
            seed,
            Effect.gen(function*() {
              const clock = yield* Clock.Clock
              const wire = yield* Wire.make({ impairments: { delay: usDuration(delay), jitter: usDuration(jitter) } })
              const log: Array<Arrival> = []
              record(clock, wire.b, "b", log)
              const sentAt: Array<number> = []
              for (const [i, gap] of gaps.entries()) {
                yield* advance(gap)
                sentAt.push(nowMicros(clock))
                wire.a.send(frameOf(i))
              }
              yield* advance(delay + jitter + 1)
              return { log, sentAt }
            })
          )
          assert.strictEqual(result.log.length, gaps.length)
          for (const a of result.log) {
            const sent = result.sentAt[a.id] ?? NaN
            assert.isAtLeast(a.time, sent + Math.max(0, delay - jitter) - EPS, `frame ${a.id} early`)
            assert.isAtMost(a.time, sent + delay + jitter + EPS, `frame ${a.id} late`)
            if (jitter === 0) assert.approximately(a.time, sent + delay, EPS)
          }
        }
      ),
      { numRuns: propertyRuns(60) }
    )
  })

  it.effect("jitter spreads arrivals over the whole ±jitter window", () =>
    Effect.gen(function*() {
      const clock = yield* Clock.Clock
      const wire = yield* Wire.make({ aToB: { delay: Duration.millis(10), jitter: Duration.millis(4) } })
      const log: Array<Arrival> = []
      record(clock, wire.b, "b", log)
      const n = 2000
      for (let i = 0; i < n; i++) {
        wire.a.send(frameOf(i))
        yield* advance(50)
      }
      yield* advance(20_000)
      assert.strictEqual(log.length, n)
      const offsets = log.map((a) => a.time - a.id * 50)
      const low = offsets.filter((o) => o < 7_000).length
      const high = offsets.filter((o) => o > 13_000).length
      // Uniform on [6000, 14000]: a quarter below 8000 … here an eighth below 7000 and above 13000.
      assertNear(low, n, 1 / 8, "below 7 ms")
      assertNear(high, n, 1 / 8, "above 13 ms")
      assert.isAtLeast(Math.min(...offsets), 6_000 - EPS)
      assert.isAtMost(Math.max(...offsets), 14_000 + EPS)
    }).pipe(Random.withSeed("jitter")))

  it.effect("jitter larger than the delay never makes a frame arrive before it was sent", () =>
    Effect.gen(function*() {
      const clock = yield* Clock.Clock
      const wire = yield* Wire.make({ aToB: { delay: usDuration(100), jitter: usDuration(1_000) } })
      const log: Array<Arrival> = []
      record(clock, wire.b, "b", log)
      yield* advance(10_000)
      for (let i = 0; i < 500; i++) wire.a.send(frameOf(i))
      const atOnce = log.length
      yield* advance(2_000)
      assert.strictEqual(log.length, 500)
      for (const a of log) assert.isAtLeast(a.time, 10_000 - EPS)
      // Clamped to zero delay: about 45% are due at once (delivered inside send).
      assertNear(atOnce, 500, 0.45, "delivered at once")
    }).pipe(Random.withSeed("clamp")))

  it.effect("loss, duplication and corruption happen at about their configured rates", () =>
    Effect.gen(function*() {
      const wire = yield* Wire.make({ aToB: { loss: 0.1, duplicate: 0.05, corrupt: 0.02 } })
      const n = 20_000
      const frames = Array.from({ length: n }, (_, i) => frameOf(i, 100))
      const originals = frames.map((f) => f.slice())
      let flipped = 0
      let delivered = 0
      wire.b.attach((f) => {
        delivered++
        // The original: the one with the frame's id, or, if the flipped bit is in the id, one of the ids a bit away.
        const distance = Math.min(
          ...[idOf(f), ...nearIds(idOf(f))].map((j) => {
            const o = originals[j]
            return o === undefined ? Infinity : bitDistance(o, f)
          })
        )
        assert.isAtMost(distance, 1, "a corrupted frame differs from its original by exactly one bit")
        if (distance === 1) flipped++
      })
      for (const f of frames) wire.a.send(f)
      const c = wire.counters("aToB")
      assert.strictEqual(c.sent, n)
      assertNear(c.lost, n, 0.1, "lost")
      assertNear(c.duplicated, n - c.lost, 0.05, "duplicated")
      assertNear(c.corrupted, n - c.lost + c.duplicated, 0.02, "corrupted")
      assert.strictEqual(flipped, c.corrupted)
      assert.strictEqual(delivered, c.delivered)
      assert.strictEqual(c.delivered, n - c.lost + c.duplicated)
      assertBalanced(c, "rates")
      // The sender's frames were not modified (corruption works on a copy).
      for (let i = 0; i < n; i++) assert.strictEqual(bitDistance(frames[i] ?? new Uint8Array(), originals[i] ?? new Uint8Array()), 0)
    }).pipe(Random.withSeed("rates")))

  it.effect("loss 1 drops everything, duplicate 1 doubles everything, corrupt 1 flips a bit in every copy", () =>
    Effect.gen(function*() {
      const wire = yield* Wire.make({ aToB: { loss: 1 }, bToA: { duplicate: 1, corrupt: 1 } })
      const atB: Array<Uint8Array> = []
      const atA: Array<Uint8Array> = []
      wire.b.attach((f) => atB.push(f.slice()))
      wire.a.attach((f) => atA.push(f.slice()))
      for (let i = 0; i < 100; i++) {
        wire.a.send(frameOf(i))
        wire.b.send(frameOf(i))
      }
      assert.strictEqual(atB.length, 0)
      assert.strictEqual(wire.counters("aToB").lost, 100)
      assert.strictEqual(atA.length, 200)
      for (const [k, f] of atA.entries()) assert.strictEqual(bitDistance(f, frameOf(Math.floor(k / 2))), 1)
      const c = wire.counters("bToA")
      assert.strictEqual(c.duplicated, 100)
      assert.strictEqual(c.corrupted, 200)
      // An empty frame has no bit to flip: delivered as is, not counted corrupted.
      wire.b.send(new Uint8Array(0))
      assert.strictEqual(wire.counters("bToA").corrupted, 200)
      assert.strictEqual(atA.length, 202)
    }))

  it("the accounting invariant holds at every step for any impairments and traffic", async () => {
    await fc.assert(
      fc.asyncProperty(
        seedArb,
        impairmentsArb,
        impairmentsArb,
        arrayOfLength(wireEvent, 0, 250),
        async (seed, aToB, bToA, events) => {
          await runCase(
            seed,
            Effect.gen(function*() {
              const wire = yield* Wire.make({ aToB, bToA })
              const received = { a: 0, b: 0 }
              const check = (where: string) => {
                const ab = wire.counters("aToB")
                const ba = wire.counters("bToA")
                assertBalanced(ab, `${where} aToB`)
                assertBalanced(ba, `${where} bToA`)
                assert.strictEqual(ab.delivered, received.b, `${where}: b's receiver calls`)
                assert.strictEqual(ba.delivered, received.a, `${where}: a's receiver calls`)
              }
              for (const [i, e] of events.entries()) {
                switch (e._tag) {
                  case "send":
                    yield* advance(e.gap)
                    check(`before event ${i}`)
                    wire[e.from].send(frameOf(i, e.length))
                    break
                  case "partition":
                    wire.partition()
                    break
                  case "heal":
                    wire.heal()
                    break
                  case "attach":
                    wire[e.port].attach(() => received[e.port]++)
                    break
                  case "impair":
                    wire.setImpairments(e.direction, e.impairments)
                    break
                }
                check(`after event ${i}`)
              }
              // Long enough for the slowest queue to drain (20 frames of 1500 bytes at 100 kbit/s, plus delays).
              yield* advance(3_600_000_000)
              check("at the end")
              for (const d of ["aToB", "bToA"] as const) {
                const c = wire.counters(d)
                assert.strictEqual(c.inFlight, 0, `${d}: still in flight after an hour`)
              }
              const sends = events.filter((e) => e._tag === "send")
              assert.strictEqual(
                wire.counters("aToB").sent + wire.counters("bToA").sent,
                sends.length
              )
            })
          )
        }
      ),
      { numRuns: propertyRuns(100) }
    )
  })

  it("with reordering off and no jitter, order is preserved end to end (delay, rate, loss, duplication, partitions)", async () => {
    const step = fc.oneof(
      { weight: 12, arbitrary: fc.record({ gap: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2_000 })), length: fc.integer({ min: 4, max: 1_500 }) }) },
      { weight: 1, arbitrary: fc.constantFrom("partition" as const, "heal" as const) }
    )
    await fc.assert(
      fc.asyncProperty(seedArb, orderKeepingArb, arrayOfLength(step, 1, 300), async (seed, impairments, steps) => {
        const log = await runCase(
          seed,
          Effect.gen(function*() {
            const clock = yield* Clock.Clock
            const wire = yield* Wire.make({ aToB: impairments })
            const log: Array<Arrival> = []
            record(clock, wire.b, "b", log)
            for (const [i, s] of steps.entries()) {
              if (s === "partition") wire.partition()
              else if (s === "heal") wire.heal()
              else {
                yield* advance(s.gap)
                wire.a.send(frameOf(i, s.length))
              }
            }
            yield* advance(3_600_000_000)
            const c = wire.counters("aToB")
            assertBalanced(c, "order")
            assert.strictEqual(c.inFlight, 0)
            assert.strictEqual(c.delivered, log.length)
            return log
          })
        )
        for (let k = 1; k < log.length; k++) {
          const prev = log[k - 1]
          const cur = log[k]
          if (prev === undefined || cur === undefined) continue
          assert.isAtLeast(cur.id, prev.id, `frame ${cur.id} overtook frame ${prev.id}`)
          assert.isAtLeast(cur.time, prev.time - EPS)
        }
      }),
      { numRuns: propertyRuns(100) }
    )
  })

  it.effect("reordering holds frames back by reorderDelay, so later frames overtake them", () =>
    Effect.gen(function*() {
      const clock = yield* Clock.Clock
      const wire = yield* Wire.make({ aToB: { delay: Duration.millis(1), reorder: 0.25 } })
      const log: Array<Arrival> = []
      record(clock, wire.b, "b", log)
      const n = 2000
      for (let i = 0; i < n; i++) {
        wire.a.send(frameOf(i))
        yield* advance(100)
      }
      yield* advance(10_000)
      const c = wire.counters("aToB")
      assert.strictEqual(log.length, n)
      assertNear(c.reordered, n, 0.25, "reordered")
      // Each frame arrives after exactly the delay, or the delay plus the default reorderDelay (2 × delay).
      let held = 0
      for (const a of log) {
        const latency = a.time - a.id * 100
        if (Math.abs(latency - 3_000) < EPS) held++
        else assert.approximately(latency, 1_000, EPS)
      }
      assert.strictEqual(held, c.reordered)
      let inversions = 0
      for (let k = 1; k < log.length; k++) if ((log[k]?.id ?? 0) < (log[k - 1]?.id ?? 0)) inversions++
      assert.isAbove(inversions, 100)
    }).pipe(Random.withSeed("reorder")))

  it.effect("reordering without delay holds frames back by 1 ms by default; reorderDelay overrides it", () =>
    Effect.gen(function*() {
      const clock = yield* Clock.Clock
      const wire = yield* Wire.make({ aToB: { reorder: 1 }, bToA: { reorder: 1, reorderDelay: usDuration(250) } })
      const log: Array<Arrival> = []
      record(clock, wire.b, "b", log)
      record(clock, wire.a, "a", log)
      wire.a.send(frameOf(1))
      wire.b.send(frameOf(2))
      yield* advance(5_000)
      assert.deepStrictEqual(log.map((a) => [a.at, a.id, Math.round(a.time)]), [["a", 2, 250], ["b", 1, 1000]])
    }))

  it.effect("a frame due earlier than the one the scheduler sleeps for is delivered on time", () =>
    Effect.gen(function*() {
      const clock = yield* Clock.Clock
      const wire = yield* Wire.make({ aToB: { delay: Duration.millis(10) } })
      const log: Array<Arrival> = []
      record(clock, wire.b, "b", log)
      wire.a.send(frameOf(1))
      yield* advance(100)
      wire.setImpairments("aToB", { delay: Duration.millis(1) })
      wire.a.send(frameOf(2))
      yield* advance(20_000)
      assert.approximately(log[0]?.time ?? NaN, 1_100, EPS)
      assert.approximately(log[1]?.time ?? NaN, 10_000, EPS)
      assert.deepStrictEqual(log.map((a) => a.id), [2, 1])
    }))

  it.effect("a frame handed over at once never overtakes one already due at the same instant", () =>
    Effect.gen(function*() {
      const clock = yield* Clock.Clock
      const wire = yield* Wire.make({ impairments: { delay: Duration.millis(1) } })
      const log: Array<Arrival> = []
      record(clock, wire.b, "b", log)
      // When Z reaches a (at 1000 µs), a answers at once with Y; X is due at b at that same instant.
      wire.a.attach((f) => {
        if (idOf(f) === 26) wire.a.send(frameOf(25))
      })
      wire.b.send(frameOf(26)) // Z
      yield* Effect.yieldNow
      wire.a.send(frameOf(24)) // X
      yield* Effect.yieldNow
      wire.setImpairments("aToB", {})
      yield* advance(2_000)
      assert.deepStrictEqual(log.map((a) => [a.id, Math.round(a.time)]), [[24, 1000], [25, 1000]])
    }))

  it.effect("the rate limit serializes frames back to back and drops beyond the queue limit", () =>
    Effect.gen(function*() {
      const clock = yield* Clock.Clock
      // 1 Mbit/s: a 125-byte frame takes 1000 µs. Three frames may wait behind the one on the wire.
      const wire = yield* Wire.make({ aToB: { rate: 1_000_000, queueLimit: 3, delay: usDuration(500) } })
      const log: Array<Arrival> = []
      record(clock, wire.b, "b", log)
      for (let i = 0; i < 6; i++) wire.a.send(frameOf(i, 125))
      assert.strictEqual(wire.counters("aToB").rateDropped, 2)
      assert.strictEqual(wire.counters("aToB").inFlight, 4)
      yield* advance(2_500)
      // Frames 1 and 2 have started serializing and only frame 3 still waits: room for two more, the third is dropped.
      wire.a.send(frameOf(6, 125))
      wire.a.send(frameOf(7, 250))
      wire.a.send(frameOf(8, 125))
      assert.strictEqual(wire.counters("aToB").rateDropped, 3)
      yield* advance(10_000)
      assert.deepStrictEqual(log.map((a) => a.id), [0, 1, 2, 3, 6, 7])
      const times = log.map((a) => a.time)
      const expected = [1_500, 2_500, 3_500, 4_500, 5_500, 7_500]
      for (const [k, t] of expected.entries()) assert.approximately(times[k] ?? NaN, t, EPS)
      const c = wire.counters("aToB")
      assertBalanced(c, "rate")
      assert.strictEqual(c.delivered, 6)
      assert.strictEqual(c.inFlight, 0)
    }))

  it("rate-limited departures match a reference model for any traffic", async () => {
    const send = fc.record({ gap: fc.integer({ min: 0, max: 3_000 }), length: fc.integer({ min: 0, max: 1_500 }) })
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1_000_000, max: 100_000_000 }),
        fc.integer({ min: 0, max: 10 }),
        fc.integer({ min: 0, max: 2_000 }),
        arrayOfLength(send, 1, 200),
        async (rate, queueLimit, delay, sends) => {
          // Reference: departure = max(now, previous departure) + bits / rate; dropped when the frame would
          // have to wait and `queueLimit` accepted frames have not started serializing yet.
          const expected: Array<{ id: number; time: number }> = []
          const starts: Array<number> = []
          let last = -Infinity
          let now = 0
          let dropped = 0
          for (const [i, s] of sends.entries()) {
            now += s.gap
            const start = Math.max(now, last)
            if (start > now && starts.filter((t) => t > now).length >= queueLimit) {
              dropped++
              continue
            }
            starts.push(start)
            last = start + (s.length * 8 * 1e6) / rate
            expected.push({ id: i, time: last + delay })
          }
          const result = await runCase(
            1,
            Effect.gen(function*() {
              const clock = yield* Clock.Clock
              const wire = yield* Wire.make({ aToB: { rate, queueLimit, delay: usDuration(delay) } })
              const log: Array<{ id: number; time: number }> = []
              // Zero-length frames carry no id: tag every frame by its send index in a side table.
              const ids = new Map<Uint8Array, number>()
              wire.b.attach((f) => log.push({ id: ids.get(f) ?? -1, time: nowMicros(clock) }))
              for (const [i, s] of sends.entries()) {
                yield* advance(s.gap)
                const f = frameOf(i, s.length)
                ids.set(f, i)
                wire.a.send(f)
              }
              yield* advance(3_600_000_000)
              return { log, counters: wire.counters("aToB") }
            })
          )
          assert.strictEqual(result.counters.rateDropped, dropped)
          assert.deepStrictEqual(result.log.map((a) => a.id), expected.map((e) => e.id))
          for (const [k, e] of expected.entries()) {
            assert.approximately(result.log[k]?.time ?? NaN, e.time, 1e-3, `frame ${e.id}`)
          }
        }
      ),
      { numRuns: propertyRuns(100) }
    )
  })

  it.effect("a partition drops everything both ways, including frames in flight, until healed", () =>
    Effect.gen(function*() {
      const clock = yield* Clock.Clock
      const wire = yield* Wire.make({ aToB: { delay: Duration.millis(1) } })
      const log: Array<Arrival> = []
      record(clock, wire.b, "b", log)
      record(clock, wire.a, "a", log)
      wire.a.send(frameOf(1)) // due at 1000, while partitioned
      yield* advance(200)
      wire.a.send(frameOf(2)) // due at 1200, after the heal
      yield* advance(300)
      wire.partition()
      assert.isTrue(wire.partitioned())
      wire.a.send(frameOf(3))
      wire.b.send(frameOf(4))
      yield* advance(600)
      wire.heal()
      assert.isFalse(wire.partitioned())
      wire.b.send(frameOf(5))
      wire.a.send(frameOf(6))
      yield* advance(5_000)
      assert.deepStrictEqual(log.map((a) => [a.at, a.id, Math.round(a.time)]), [["a", 5, 1100], ["b", 2, 1200], ["b", 6, 2100]])
      assert.strictEqual(wire.counters("aToB").partitionDropped, 2)
      assert.strictEqual(wire.counters("bToA").partitionDropped, 1)
      assertBalanced(wire.counters("aToB"), "aToB")
      assertBalanced(wire.counters("bToA"), "bToA")
    }))

  it.effect("frames arriving at a port with no receiver are counted as unattachedDropped", () =>
    Effect.gen(function*() {
      const wire = yield* Wire.make({ bToA: { delay: usDuration(10) } })
      wire.a.send(frameOf(1))
      wire.b.send(frameOf(2))
      yield* advance(10)
      assert.strictEqual(wire.counters("aToB").unattachedDropped, 1)
      assert.strictEqual(wire.counters("bToA").unattachedDropped, 1)
      let got = 0
      wire.b.attach(() => got++)
      wire.a.send(frameOf(3))
      assert.strictEqual(got, 1)
      assert.strictEqual(wire.counters("aToB").delivered, 1)
    }))

  it.live("works on the live clock too: delayed frames arrive, in order, none early", () =>
    Effect.gen(function*() {
      const clock = yield* Clock.Clock
      const wire = yield* Wire.make({ aToB: { delay: Duration.millis(3), rate: 100_000_000 } })
      const log: Array<Arrival> = []
      record(clock, wire.b, "b", log)
      const sentAt: Array<number> = []
      for (let i = 0; i < 20; i++) {
        sentAt.push(nowMicros(clock))
        wire.a.send(frameOf(i, 1000))
        if (i % 5 === 4) yield* Effect.sleep(Duration.millis(1))
      }
      yield* Effect.sleep(Duration.millis(30))
      assert.deepStrictEqual(log.map((a) => a.id), Array.from({ length: 20 }, (_, i) => i))
      // Timers may fire a little late on a live clock, never early. The live clock reads whole milliseconds
      // (Date.now), so a send stamped late in one millisecond and an arrival stamped early in another can look
      // up to 1 ms closer together than they were: that much is allowed.
      for (const a of log) assert.isAtLeast(a.time, (sentAt[a.id] ?? NaN) + 3_000 - 1_000)
      assertBalanced(wire.counters("aToB"), "live")
    }))

  it("two runs with the same seed deliver identical sequences; another seed differs", async () => {
    const scenario = Effect.gen(function*() {
      const clock = yield* Clock.Clock
      const wire = yield* Wire.make({
        impairments: {
          delay: Duration.millis(2),
          jitter: usDuration(700),
          loss: 0.1,
          duplicate: 0.1,
          corrupt: 0.1,
          reorder: 0.1,
          rate: 10_000_000,
          queueLimit: 8
        }
      })
      const log: Array<Arrival> = []
      record(clock, wire.a, "a", log)
      record(clock, wire.b, "b", log)
      for (let i = 0; i < 500; i++) {
        wire.a.send(frameOf(i, 64 + (i % 7) * 100))
        if (i % 3 === 0) wire.b.send(frameOf(10_000 + i, 200))
        yield* advance((i * 37) % 400)
      }
      yield* advance(1_000_000)
      return log.map((a) => `${a.at} ${a.id} ${a.time.toFixed(6)} ${Buffer.from(a.bytes).toString("hex")}`)
    })
    const first = await runCase(42, scenario)
    const second = await runCase(42, scenario)
    const other = await runCase(43, scenario)
    assert.isAbove(first.length, 400)
    assert.deepStrictEqual(second, first)
    assert.notDeepEqual(other, first)
  })

  it.effect("impairments out of range are refused: by the Schema, by setImpairments, by Wire.make", () =>
    Effect.gen(function*() {
      const decode = Schema.decodeUnknownExit(ImpairmentsSchema)
      assert.isTrue(Exit.isSuccess(decode({})))
      assert.isTrue(Exit.isSuccess(decode({ loss: 1, delay: Duration.zero, rate: 1, queueLimit: 0 })))
      for (
        const bad of [
          { loss: 1.5 },
          { duplicate: -0.1 },
          { corrupt: Number.NaN },
          { reorder: 2 },
          { delay: Duration.millis(-1) },
          { jitter: Duration.infinity },
          { rate: 0 },
          { rate: Infinity },
          { queueLimit: -1 },
          { queueLimit: 1.5 },
          { delay: 5 }
        ]
      ) {
        assert.isTrue(Exit.isFailure(decode(bad)), JSON.stringify(bad))
      }
      const wire = yield* Wire.make()
      const refused = wire.setImpairments("aToB", { loss: 3 })
      assert.strictEqual(refused?._tag, "InvalidImpairments")
      assert.include(refused?.message ?? "", "loss")
      const made = yield* Effect.flip(Wire.make({ impairments: { loss: -1 } }))
      assert.strictEqual(made._tag, "InvalidImpairments")
    }))
})

// ---------------------------------------------------------------------------
// Hub
// ---------------------------------------------------------------------------

describe("Hub", () => {
  it.effect("a frame sent on one port reaches every other port, not itself", () =>
    Effect.gen(function*() {
      const clock = yield* Clock.Clock
      const hub = yield* Hub.make({ ports: 4 })
      const log: Array<Arrival> = []
      hub.ports.forEach((port, k) => record(clock, port, `p${k}`, log))
      hub.ports[0]?.send(frameOf(1))
      hub.ports[2]?.send(frameOf(2))
      assert.deepStrictEqual(log.map((a) => `${a.at}<${a.id}`), ["p1<1", "p2<1", "p3<1", "p0<2", "p1<2", "p3<2"])
      const c = hub.counters()
      assert.strictEqual(c.sent, 6)
      assert.strictEqual(c.delivered, 6)
      assert.strictEqual(hub.counters({ from: 0 }).delivered, 3)
      assert.strictEqual(hub.counters({ from: 0, to: 3 }).delivered, 1)
      assert.strictEqual(hub.counters({ to: 0 }).delivered, 1)
    }))

  it.effect("each receiver gets its own copy", () =>
    Effect.gen(function*() {
      const hub = yield* Hub.make({ ports: 3 })
      const seen: Array<number> = []
      hub.ports[1]?.attach((f) => {
        seen.push(f[10] ?? -1)
        f[10] = 0xee // a misbehaving receiver
      })
      hub.ports[2]?.attach((f) => seen.push(f[10] ?? -1))
      const f = frameOf(5)
      const original = f[10] ?? -1
      hub.ports[0]?.send(f)
      assert.deepStrictEqual(seen, [original, original])
    }))

  it.effect("every delivery is decided independently, with the wire's timing", () =>
    Effect.gen(function*() {
      const clock = yield* Clock.Clock
      const hub = yield* Hub.make({ ports: 3, impairments: { loss: 0.5, delay: Duration.millis(1) } })
      const log: Array<Arrival> = []
      hub.ports.forEach((port, k) => record(clock, port, `p${k}`, log))
      const n = 1000
      for (let i = 0; i < n; i++) {
        hub.ports[0]?.send(frameOf(i))
        yield* advance(10)
      }
      yield* advance(2_000)
      const at1 = new Set(log.filter((a) => a.at === "p1").map((a) => a.id))
      const at2 = new Set(log.filter((a) => a.at === "p2").map((a) => a.id))
      assertNear(at1.size, n, 0.5, "port 1")
      assertNear(at2.size, n, 0.5, "port 2")
      const both = [...at1].filter((id) => at2.has(id)).length
      assertNear(both, n, 0.25, "both")
      for (const a of log) assert.approximately(a.time, a.id * 10 + 1_000, EPS)
      assertBalanced(hub.counters(), "hub")
      assert.strictEqual(hub.counters().delivered, log.length)
    }).pipe(Random.withSeed("hub")))

  it.effect("partition isolates a subset of ports until healed", () =>
    Effect.gen(function*() {
      const clock = yield* Clock.Clock
      const hub = yield* Hub.make({ ports: 4 })
      const log: Array<Arrival> = []
      hub.ports.forEach((port, k) => record(clock, port, `p${k}`, log))
      hub.partition([0, 1])
      hub.ports[0]?.send(frameOf(1))
      hub.ports[3]?.send(frameOf(2))
      assert.deepStrictEqual(log.map((a) => `${a.at}<${a.id}`), ["p1<1", "p2<2"])
      assert.strictEqual(hub.counters().partitionDropped, 4)
      hub.heal()
      hub.ports[0]?.send(frameOf(3))
      assert.deepStrictEqual(log.slice(2).map((a) => `${a.at}<${a.id}`), ["p1<3", "p2<3", "p3<3"])
      assertBalanced(hub.counters(), "hub")
    }))

  it.effect("setImpairments can target one link", () =>
    Effect.gen(function*() {
      const clock = yield* Clock.Clock
      const hub = yield* Hub.make({ ports: 3 })
      const log: Array<Arrival> = []
      hub.ports.forEach((port, k) => record(clock, port, `p${k}`, log))
      hub.setImpairments({ delay: Duration.millis(3) }, { from: 0, to: 2 })
      hub.ports[0]?.send(frameOf(1))
      hub.ports[1]?.send(frameOf(2))
      yield* advance(5_000)
      assert.deepStrictEqual(
        log.map((a) => [a.at, a.id, Math.round(a.time)]),
        [["p1", 1, 0], ["p0", 2, 0], ["p2", 2, 0], ["p2", 1, 3000]]
      )
    }))

  it("the accounting invariant holds on every link for any impairments and traffic", async () => {
    const step = fc.oneof(
      {
        weight: 10,
        arbitrary: fc.record({
          from: fc.integer({ min: 0, max: 4 }),
          gap: fc.integer({ min: 0, max: 2_000 }),
          length: fc.integer({ min: 0, max: 1_500 })
        })
      },
      { weight: 1, arbitrary: fc.uniqueArray(fc.integer({ min: 0, max: 4 }), { maxLength: 5 }) },
      { weight: 1, arbitrary: fc.constant("heal" as const) }
    )
    await fc.assert(
      fc.asyncProperty(
        seedArb,
        fc.integer({ min: 1, max: 5 }),
        impairmentsArb,
        arrayOfLength(step, 0, 150),
        async (seed, ports, impairments, steps) => {
          await runCase(
            seed,
            Effect.gen(function*() {
              const hub = yield* Hub.make({ ports, impairments })
              const received = Array.from({ length: ports }, () => 0)
              hub.ports.forEach((port, k) => port.attach(() => received[k] = (received[k] ?? 0) + 1))
              const check = (where: string) => {
                for (let from = 0; from < ports; from++) {
                  for (let to = 0; to < ports; to++) {
                    if (from !== to) assertBalanced(hub.counters({ from, to }), `${where} ${from}→${to}`)
                  }
                }
                for (let to = 0; to < ports; to++) assert.strictEqual(hub.counters({ to }).delivered, received[to])
              }
              let sends = 0
              for (const [i, s] of steps.entries()) {
                if (s === "heal") hub.heal()
                else if (Array.isArray(s)) hub.partition(s)
                else if (s.from < ports) {
                  yield* advance(s.gap)
                  hub.ports[s.from]?.send(frameOf(i, s.length))
                  sends++
                }
                check(`step ${i}`)
              }
              yield* advance(3_600_000_000)
              check("end")
              assert.strictEqual(hub.counters().inFlight, 0)
              assert.strictEqual(hub.counters().sent, sends * (ports - 1))
            })
          )
        }
      ),
      { numRuns: propertyRuns(60) }
    )
  })

  it.effect("a hub needs at least one port", () =>
    Effect.gen(function*() {
      assert.strictEqual((yield* Effect.flip(Hub.make({ ports: 0 })))._tag, "InvalidImpairments")
      assert.strictEqual((yield* Effect.flip(Hub.make({ ports: 2.5 })))._tag, "InvalidImpairments")
      const single = yield* Hub.make({ ports: 1 })
      single.ports[0]?.send(frameOf(1))
      assert.strictEqual(single.counters().sent, 0)
    }))
})

// ---------------------------------------------------------------------------
// Loopback
// ---------------------------------------------------------------------------

describe("loopback", () => {
  it("delivers what is sent to its own receiver, inside send, unchanged", () => {
    const lo = loopback()
    lo.send(frameOf(1))
    assert.strictEqual(lo.counters().unattachedDropped, 1)
    const got: Array<Uint8Array> = []
    lo.attach((f) => got.push(f.slice()))
    for (let i = 2; i < 5; i++) {
      lo.send(frameOf(i))
      assert.strictEqual(got.length, i - 1)
    }
    assert.deepStrictEqual(got, [frameOf(2), frameOf(3), frameOf(4)])
    const c = lo.counters()
    assert.deepStrictEqual([c.sent, c.delivered, c.unattachedDropped, c.inFlight], [4, 3, 1, 0])
    assertBalanced(c, "loopback")
  })
})

// ---------------------------------------------------------------------------
// The due-time queue behind the schedulers
// ---------------------------------------------------------------------------

describe("DueQueue", () => {
  it("pops in due order, first in first out for equal times, whatever the interleaving of pushes and pops", () => {
    const op = fc.oneof(
      { weight: 3, arbitrary: fc.integer({ min: 0, max: 20 }).map((due) => ({ push: due })) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 25 }).map((limit) => ({ pop: limit })) }
    )
    fc.assert(
      fc.property(arrayOfLength(op, 0, 400), (ops) => {
        const queue = new DueQueue<number>()
        const model: Array<{ due: number; n: number }> = []
        for (const [n, o] of ops.entries()) {
          if ("push" in o) {
            queue.push(o.push, n)
            model.push({ due: o.push, n })
          } else {
            model.sort((x, y) => x.due - y.due || x.n - y.n)
            const head = model[0]
            const expected = head !== undefined && head.due <= o.pop ? model.shift()?.n : undefined
            assert.strictEqual(queue.popDue(o.pop), expected)
          }
          assert.strictEqual(queue.size, model.length)
          assert.strictEqual(queue.earliest, Math.min(...model.map((m) => m.due)))
        }
      }),
      { numRuns: propertyRuns(200) }
    )
  })
})

// ---------------------------------------------------------------------------

/** Number of differing bits between two frames (Infinity if their lengths differ). */
function bitDistance(x: Uint8Array, y: Uint8Array): number {
  if (x.length !== y.length) return Infinity
  let bits = 0
  for (let i = 0; i < x.length; i++) {
    let v = (x[i] ?? 0) ^ (y[i] ?? 0)
    while (v !== 0) {
      bits += v & 1
      v >>>= 1
    }
  }
  return bits
}

/** The ids one bit away from `id` (a corrupted id field). */
function nearIds(id: number): Array<number> {
  return Array.from({ length: 32 }, (_, b) => (id ^ (1 << b)) >>> 0)
}
