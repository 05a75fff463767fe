/**
 * Generated traffic through two NIC + driver pairs joined by an impaired wire,
 * under TestClock with seeded randomness: every frame the sender's driver
 * accepted is either handed to the receiver's handler or counted by a named
 * counter on the way (wire loss, rate and partition drops, ring misses,
 * length errors); with reordering and jitter off, each flow arrives in order,
 * across RSS queues too.
 */
import { describe, expect, it } from "@effect/vitest"
import { type Impairments, Wire } from "@netstack/device"
import { Duration, Effect, Random } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import { flowAndSequence, makeRig, settle, udpFrame } from "./support/rig.ts"

const probability = fc.oneof(
  { weight: 1, arbitrary: fc.constant(0) },
  { weight: 3, arbitrary: fc.double({ min: 0.01, max: 0.3, noNaN: true }) }
)
const impairmentsArb = (ordered: boolean): fc.Arbitrary<Impairments> =>
  fc.record(
    {
      delay: fc.integer({ min: 0, max: 2000 }).map((us) => Duration.millis(us / 1000)),
      loss: probability,
      duplicate: probability,
      corrupt: probability,
      rate: fc.integer({ min: 1_000_000, max: 1_000_000_000 }),
      queueLimit: fc.integer({ min: 1, max: 64 }),
      ...(ordered
        ? {}
        : {
          jitter: fc.integer({ min: 0, max: 1000 }).map((us) => Duration.millis(us / 1000)),
          reorder: probability
        })
    },
    { requiredKeys: ["loss", "duplicate", "corrupt"] }
  )

/** One generated case. */
interface Case {
  readonly seed: number
  readonly impairments: Impairments
  readonly rxQueues: number
  readonly rxRingSize: number
  /** The receiver's CPU time per packet (µs): above the offered rate its rings overflow. */
  readonly rxCostMicros: number
  readonly txRingSize: number
  /** The sender's line rate (bits/s), so its tx ring fills and its queue stops. */
  readonly linkSpeed: number
  readonly frames: ReadonlyArray<{ readonly flow: number; readonly extra: number; readonly pause: number }>
}

const caseArb = (ordered: boolean): fc.Arbitrary<Case> =>
  fc.record({
    seed: fc.integer(),
    impairments: impairmentsArb(ordered),
    rxQueues: fc.constantFrom(1, 4),
    rxRingSize: fc.constantFrom(8, 64, 256),
    rxCostMicros: fc.constantFrom(0, 20, 100),
    txRingSize: fc.constantFrom(8, 256),
    linkSpeed: fc.constantFrom(10_000_000, 1_000_000_000, 100_000_000_000),
    // sizes drawn explicitly (fast-check's defaults stay small); mostly back-to-back, so bursts fill small rings
    frames: fc.integer({ min: 50, max: 400 }).chain((n) =>
      fc.array(
        fc.record({
          flow: fc.integer({ min: 0, max: 7 }),
          extra: fc.integer({ min: 0, max: 400 }),
          pause: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 200 }) })
        }),
        { minLength: n, maxLength: n }
      )
    )
  })

/** Runs a case; returns what each side counted and what the receiver's handler got. */
const run = (c: Case) =>
  Effect.gen(function*() {
    const sender = yield* makeRig({ name: "a", mac: 0x020000000001, txRingSize: c.txRingSize, linkSpeed: c.linkSpeed })
    const receiver = yield* makeRig(
      { name: "b", mac: 0x020000000002, rxQueues: c.rxQueues, rxRingSize: c.rxRingSize },
      {},
      { costPerPacketMicros: c.rxCostMicros }
    )
    const wire = yield* Wire.make({ aToB: c.impairments })
    sender.nic.attach(wire.a)
    receiver.nic.attach(wire.b)
    const sequence = new Map<number, number>()
    for (const f of c.frames) {
      const n = sequence.get(f.flow) ?? 0
      sequence.set(f.flow, n + 1)
      const frame = udpFrame(f.flow, n, f.extra)
      // the sender never loses a frame: when the queue is stopped it waits to be woken and tries again
      while (sender.driver.xmit(frame) === "busy") {
        yield* Effect.race(sender.driver.awaitWake(0), TestClock.adjust("1 millis"))
        yield* settle
      }
      if (f.pause > 0) yield* TestClock.adjust(`${f.pause / 1000} millis`)
      else yield* settle
    }
    yield* TestClock.adjust("10 seconds")
    yield* settle
    return { sender, receiver, wire: wire.counters("aToB") }
  })

const runCase = (c: Case) =>
  Effect.runPromise(run(c).pipe(Effect.scoped, Random.withSeed(c.seed), Effect.provide(TestClock.layer())))

describe("traffic through an impaired wire", () => {
  it("loses no frame without a counter saying so", async () => {
    await fc.assert(
      fc.asyncProperty(caseArb(false), async (c) => {
        const { receiver, sender, wire } = await runCase(c)
        const sent = c.frames.length
        expect(sender.nic.stats().tx_packets).toBe(sent)
        expect(sender.driver.stats.txDropped).toBe(0)
        // the wire: everything it took is delivered or counted
        expect(wire.sent).toBe(sent)
        expect(wire.inFlight).toBe(0)
        expect(wire.sent + wire.duplicated).toBe(
          wire.delivered + wire.lost + wire.rateDropped + wire.partitionDropped + wire.unattachedDropped
        )
        // the receiving NIC: everything delivered to it is received or counted
        const rx = receiver.nic.stats()
        expect(rx.rx_packets + rx.rx_missed_errors + rx.rx_length_errors + rx.rx_carrier_drops).toBe(wire.delivered)
        // the driver: everything received reaches the handler (UDP is not merged by GRO)
        expect(receiver.received).toHaveLength(rx.rx_packets)
      }),
      { numRuns: 40 }
    )
  }, 120_000)

  it("keeps each flow in order when the wire does not reorder, whatever the loss and the RSS queues", async () => {
    await fc.assert(
      fc.asyncProperty(caseArb(true), async (c) => {
        const { receiver } = await runCase(c)
        const last = new Map<number, number>()
        for (const r of receiver.received) {
          if (r.checksum !== "Unnecessary") continue // a corrupted frame's flow and number cannot be trusted
          const { flow, sequence } = flowAndSequence(r.bytes)
          const previous = last.get(flow) ?? -1
          // duplicates arrive right behind their original: never behind a later frame
          expect(sequence, `flow ${flow}`).toBeGreaterThanOrEqual(previous)
          last.set(flow, sequence)
        }
      }),
      { numRuns: 40 }
    )
  }, 120_000)
})
