/**
 * Fragmentation and reassembly across whole hosts, as properties (the unit
 * versions are in packages/l3/test/reassembly.test.ts):
 *
 * - random MTUs on both links of a — r — b, random ping sizes (so a
 *   fragments, r refragments or not, b reassembles, and back), random loss,
 *   reordering, duplication, jitter and corruption on the wires: every ping
 *   comes back with exactly the data sent, or it fails and a wire lost or
 *   corrupted a frame on its way; nothing vanishes in the stack, every
 *   incomplete datagram is dropped by its timeout and counted, and with a
 *   perfect wire every ping succeeds;
 * - a flood of random fragments at b: the reassembly memory never passes
 *   its limit, every fragment reaches the reassembler and each one refused
 *   is counted under a named reason, the 30 s timeout frees everything, and
 *   b still answers pings, fragmented ones too.
 *
 * Each run is deterministic: TestClock, Effect's `Random` seeded from the
 * run, fast-check seeded by the test setup (`FC_SEED`, `FC_RUNS`).
 */
import { describe, expect, it } from "@effect/vitest"
import { PacketBuffer } from "@netstack/buffers"
import { type Impairments, type MediumCounters, sumCounters, unaccounted, type Wire } from "@netstack/device"
import type { Host } from "@netstack/stack"
import { advanceClock, Network, whileClockAdvances } from "@netstack/stack"
import { emitEthernet, emitIpv4, EtherTypes } from "@netstack/wire"
import { Duration, Effect } from "effect"
import fc from "fast-check"
import { deterministic, ip, triangle } from "./support/topology.ts"
import { propertyRuns } from "@netstack/test-support"

/** Both directions' counters of each wire. */
const wireCounters = (wires: ReadonlyArray<Wire>): ReadonlyArray<MediumCounters> =>
  wires.flatMap((w) => [w.counters("aToB"), w.counters("bToA")])

/** A host's reassembler, as numbers. */
const reassembly = (host: Host) => host.ipv4.reassembler.snapshot()

// ---------------------------------------------------------------------------
// Pings of random sizes over links of random MTUs and impairments
// ---------------------------------------------------------------------------

/** Per-mille arbitrary, as a probability. */
const probability = (maxPermille: number): fc.Arbitrary<number> =>
  fc.integer({ min: 0, max: maxPermille }).map((n) => n / 1000)

/** Impairments of both wires beyond their 1 ms delay: none (a perfect wire) in some runs. */
const impairmentsArb = fc.oneof(
  { weight: 1, arbitrary: fc.constant<Impairments>({}) },
  {
    weight: 3,
    arbitrary: fc.record({
      // no loss (reordering, duplication and jitter alone must never fail a ping), a little, or up to 20 %
      loss: fc.oneof(fc.constant(0), probability(20), probability(200)),
      reorder: probability(300),
      duplicate: probability(100),
      jitter: fc.integer({ min: 0, max: 2_000 }).map((us) => Duration.micros(BigInt(us))),
      corrupt: fc.oneof(fc.constant(0), probability(20))
    })
  }
)

const pingCaseArb = fc.record({
  seed: fc.integer({ min: 0, max: 0x7fffffff }),
  mtuAR: fc.integer({ min: 576, max: 9000 }),
  mtuRB: fc.integer({ min: 576, max: 9000 }),
  impairments: impairmentsArb,
  sizes: fc.array(fc.integer({ min: 0, max: 20_000 }), { minLength: 1, maxLength: 4 })
})

type PingCase = typeof pingCaseArb extends fc.Arbitrary<infer A> ? A : never

/** One ping's outcome: the reply, or the failure with what the wires lost during it and corrupted so far. */
type Outcome =
  | { readonly size: number; readonly ok: true; readonly bytes: number; readonly intact: boolean; readonly from: string }
  | {
    readonly size: number
    readonly ok: false
    readonly reason: string
    readonly detail: string | undefined
    readonly lost: number
    readonly corrupted: number
  }

/** a pings b once per size, one after the other; then every incomplete datagram's timeout passes. */
const pingAcross = (c: PingCase) =>
  Effect.gen(function*() {
    const { a, r, b, ar, rb } = yield* triangle({
      mtuAR: c.mtuAR,
      mtuRB: c.mtuRB,
      impairments: { delay: Duration.millis(1), ...c.impairments }
    })
    const wires = [ar.wire, rb.wire]
    const total = () => sumCounters(wireCounters(wires))
    const outcomes: Array<Outcome> = []
    for (const [i, size] of c.sizes.entries()) {
      const before = total()
      const result = yield* whileClockAdvances(a.ping("10.0.2.1", { size, sequence: i + 1, timeout: "2 seconds" }), 2_100)
      if (result._tag === "Success") {
        const reply = result.success
        outcomes.push({ size, ok: true, bytes: reply.bytes, intact: reply.intact, from: reply.from })
        continue
      }
      // Let ARP retries and stragglers finish, so the next ping starts on a quiet network.
      yield* advanceClock(5_000, 10)
      const after = total()
      const failure = result.failure
      outcomes.push({
        size,
        ok: false,
        reason: failure._tag === "PingError" ? failure.reason : failure._tag,
        detail: failure._tag === "PingError" ? failure.detail : undefined,
        lost: after.lost - before.lost,
        corrupted: after.corrupted
      })
    }
    // RFC 791 §3.2 / Linux ipfrag_time: 30 s after its first fragment an incomplete datagram is dropped.
    yield* advanceClock(31_000, 100)
    return {
      outcomes,
      wires: wireCounters(wires),
      reassembly: { a: reassembly(a), r: reassembly(r), b: reassembly(b) },
      drops: { a: a.link.drops.snapshot(), r: r.link.drops.snapshot(), b: b.link.drops.snapshot() }
    }
  })

describe("fragmented pings over impaired links (property)", () => {
  it("come back intact or fail with a frame lost or corrupted on a wire; no datagram is left or dropped unexplained", async () => {
    const totals = { succeeded: 0, perfectRuns: 0 }
    await fc.assert(
      fc.asyncProperty(pingCaseArb, async (c) => {
        const run = await deterministic(c.seed, pingAcross(c))
        const perfect = Object.keys(c.impairments).length === 0
        if (perfect) totals.perfectRuns++
        for (const outcome of run.outcomes) {
          if (outcome.ok) {
            totals.succeeded++
            // the echo reply carries the request's data, byte for byte (RFC 792), after up to two fragmentations
            expect(outcome).toEqual({ size: outcome.size, ok: true, bytes: outcome.size + 8, intact: true, from: "10.0.2.1" })
            continue
          }
          expect(perfect, `a ping over perfect wires failed: ${JSON.stringify(outcome)}`).toBe(false)
          // silence, or ARP given up after its retries (host unreachable, RFC 1122 §2.3.2.1)
          expect(
            outcome.reason === "timeout" || (outcome.reason === "unreachable" && outcome.detail === "ICMP type 3 code 1"),
            JSON.stringify(outcome)
          ).toBe(true)
          // a corrupted ARP reply (ARP has no checksum) can mislead a host for a while: corruption is blamed for the run
          expect(outcome.lost + outcome.corrupted, `a ping failed without a loss: ${JSON.stringify({ outcome, drops: run.drops })}`)
            .toBeGreaterThan(0)
        }
        // every frame a wire took is delivered or counted lost, and none is still in flight
        for (const counters of run.wires) {
          expect(unaccounted(counters)).toBe(0)
          expect(counters.inFlight).toBe(0)
        }
        for (const stats of Object.values(run.reassembly)) {
          // after the timeout nothing is held; every failure was a timeout: duplicated, reordered and refragmented
          // fragments never overlap or contradict one another
          expect(stats).toMatchObject({ bytesHeld: 0, queues: 0, ReasmOverlaps: 0, ReasmInconsistent: 0, ReasmInvalid: 0 })
          expect(stats["ReasmFails"]).toBe(stats["ReasmTimeout"])
        }
      }),
      { numRuns: propertyRuns(25) }
    )
    expect(totals.succeeded).toBeGreaterThan(0)
    expect(totals.perfectRuns).toBeGreaterThan(0)
  }, 120_000)
})

// ---------------------------------------------------------------------------
// A flood of random fragments
// ---------------------------------------------------------------------------

/** A unicast source that is not a martian (RFC 1812 §5.3.7) nor in 10/8, so b's ICMP errors go to its default gateway. */
const sourceArb = fc.integer({ min: 0x01000000, max: 0xdfffffff }).filter((a) => a >>> 24 !== 127 && a >>> 24 !== 10)

const fragmentArb = fc.record({
  source: fc.nat(31),
  /** A small identification space, so fragments meet in the same queues: overlaps, duplicates, contradictions. */
  identification: fc.integer({ min: 0, max: 63 }),
  /** In 8-byte units (RFC 791 §3.1): mostly near the start, sometimes anywhere (oversized datagrams). */
  offset: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 64 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0x1fff }) }),
  length: fc.integer({ min: 0, max: 1480 }),
  more: fc.boolean(),
  protocol: fc.constantFrom(1, 6, 17)
})

const floodArb = fc.record({
  seed: fc.integer({ min: 0, max: 0x7fffffff }),
  /** Up to Linux's 4 MiB: each held fragment keeps a 2 KiB driver buffer (about 2.3 KiB of truesize). */
  memoryLimit: fc.integer({ min: 16 * 1024, max: 4 * 1024 * 1024 }),
  sources: fc.array(sourceArb, { minLength: 32, maxLength: 32 }),
  fragments: fc.array(fragmentArb, { minLength: 1000, maxLength: 3000, size: "max" })
})

type Flood = typeof floodArb extends fc.Arbitrary<infer A> ? A : never
type Fragment = Flood["fragments"][number]

/** An Ethernet frame from `fromMac` to `toMac` holding the IPv4 fragment `f` from `source` to `destination`. */
const fragmentFrame = (f: Fragment, source: number, destination: number, fromMac: number, toMac: number): Uint8Array => {
  const payload = Uint8Array.from({ length: f.length }, (_, i) => (i + f.identification) & 0xff)
  const buffer = PacketBuffer.fromBytes(payload, 64)
  emitIpv4(buffer, {
    dscp: 0,
    ecn: 0,
    identification: f.identification,
    reservedFlag: false,
    dontFragment: false,
    // a packet with offset 0 and MF clear is a whole datagram, not a fragment
    moreFragments: f.more || f.offset === 0,
    fragmentOffset: f.offset,
    ttl: 64,
    protocol: f.protocol,
    source,
    destination
  })
  emitEthernet(buffer, { destination: toMac, source: fromMac, etherType: EtherTypes.ipv4 })
  const bytes = buffer.toUint8Array()
  buffer.release()
  return bytes
}

/** Frames handed to the wire between two looks at the clock (fewer than b's 256 receive descriptors). */
const BATCH = 64

/** x (10.0.0.1) — b (10.0.0.2, default route via x) on a perfect wire; the flood goes into x's end of the wire. */
const flood = (c: Flood) =>
  Effect.gen(function*() {
    const net = Network.make()
    const x = yield* net.host("x")
    const b = yield* net.host("b", { reassemblyMemoryBytes: c.memoryLimit })
    const link = yield* net.link(x, b, { a: "10.0.0.1/24", b: "10.0.0.2/24" })
    b.addRoute({ destination: "default", via: "10.0.0.1" })
    yield* advanceClock(1)
    const reassembler = b.ipv4.reassembler
    // before each frame b receives: the memory held, and the number of datagrams being reassembled
    let maxHeld = 0
    let maxQueues = 0
    b.link.addTap((_frame, _device, direction) => {
      if (direction !== "in") return
      maxHeld = Math.max(maxHeld, reassembler.bytesHeld)
      maxQueues = Math.max(maxQueues, reassembler.queueCount)
    })
    const nicBefore = link.b.driver.nic.stats()
    const xBefore = link.a.driver.nic.stats()
    const wireBefore = link.wire.counters("aToB")
    const ipBefore = { ...b.ipv4.stats }
    for (let i = 0; i < c.fragments.length; i += BATCH) {
      for (const f of c.fragments.slice(i, i + BATCH)) {
        link.wire.a.send(fragmentFrame(f, c.sources[f.source] ?? 0, ip("10.0.0.2"), link.a.mac, link.b.mac))
      }
      yield* advanceClock(1)
    }
    maxHeld = Math.max(maxHeld, reassembler.bytesHeld)
    const nic = link.b.driver.nic.stats()
    const xNic = link.a.driver.nic.stats()
    const wire = link.wire.counters("aToB")
    const afterFlood = {
      sent: wire.sent - wireBefore.sent,
      // x's own frames on the wire: ARP replies to b, which resolves x to send it ICMP errors
      fromX: (xNic["tx_packets"] ?? 0) - (xBefore["tx_packets"] ?? 0),
      delivered: wire.delivered - wireBefore.delivered,
      rxPackets: (nic["rx_packets"] ?? 0) - (nicBefore["rx_packets"] ?? 0),
      rxMissed: (nic["rx_missed_errors"] ?? 0) - (nicBefore["rx_missed_errors"] ?? 0),
      inReceives: b.ipv4.stats.InReceives - ipBefore.InReceives,
      inHdrErrors: b.ipv4.stats.InHdrErrors - ipBefore.InHdrErrors,
      reassembly: reassembler.snapshot(),
      drops: b.link.drops.snapshot(),
      maxHeld,
      maxQueues
    }
    // RFC 791 §3.2: each incomplete datagram is dropped 30 s after its first fragment
    yield* advanceClock(30_000, 100)
    const afterTimeout = reassembler.snapshot()
    const small = yield* whileClockAdvances(x.ping("10.0.0.2"))
    const large = yield* whileClockAdvances(x.ping("10.0.0.2", { size: 4_000, sequence: 2 }))
    return {
      afterFlood,
      afterTimeout,
      replies: [small, large].map((r) => (r._tag === "Success" ? r.success : r.failure))
    }
  })

/** Drops the IPv4 layer counted for fragments the reassembler refused (`reassembly.<reason>`). */
const reassemblyDrops = (drops: Readonly<Record<string, number>>): number =>
  Object.entries(drops).reduce((n, [reason, count]) => (reason.startsWith("reassembly.") ? n + count : n), 0)

describe("a fragment flood (property)", () => {
  it("stays within the reassembly memory limit, counts every refusal, frees everything on timeout, and b still answers", async () => {
    const totals = { memoryRefusals: 0, overlaps: 0, oversized: 0 }
    await fc.assert(
      fc.asyncProperty(floodArb, async (c) => {
        const { afterFlood, afterTimeout, replies } = await deterministic(c.seed, flood(c))
        const n = c.fragments.length
        const r = afterFlood.reassembly
        // every fragment crossed the wire, the NIC and IPv4 to the reassembler
        const frames = n + afterFlood.fromX
        expect(afterFlood).toMatchObject({ sent: frames, delivered: frames, rxPackets: frames, rxMissed: 0, inReceives: n, inHdrErrors: 0 })
        expect(r["ReasmReqds"]).toBe(n)
        // the bounds held before every frame and after the last (Linux ipfrag_high_thresh; the queue limit)
        expect(afterFlood.maxHeld).toBeLessThanOrEqual(c.memoryLimit)
        expect(afterFlood.maxQueues).toBeLessThanOrEqual(1024)
        // every failure has a named reason, and each refused fragment was counted as a drop of that reason
        expect(r["ReasmFails"]).toBe(
          (r["ReasmTimeout"] ?? 0) + (r["ReasmOverlaps"] ?? 0) + (r["ReasmMemoryRefusals"] ?? 0) + (r["ReasmQueueRefusals"] ?? 0) +
            (r["ReasmOversized"] ?? 0) + (r["ReasmInconsistent"] ?? 0) + (r["ReasmInvalid"] ?? 0)
        )
        expect(reassemblyDrops(afterFlood.drops)).toBe((r["ReasmFails"] ?? 0) - (r["ReasmTimeout"] ?? 0) + (r["ReasmDuplicates"] ?? 0))
        // the timeout dropped every datagram still incomplete, and freed all its memory
        expect(afterTimeout).toMatchObject({ bytesHeld: 0, queues: 0 })
        expect((afterTimeout["ReasmTimeout"] ?? 0) - (r["ReasmTimeout"] ?? 0)).toBe(r["queues"])
        // b is fine: it answers a ping, and a fragmented one
        expect(replies).toMatchObject([{ from: "10.0.0.2", intact: true }, { from: "10.0.0.2", bytes: 4008, intact: true }])
        totals.memoryRefusals += r["ReasmMemoryRefusals"] ?? 0
        totals.overlaps += r["ReasmOverlaps"] ?? 0
        totals.oversized += r["ReasmOversized"] ?? 0
      }),
      { numRuns: propertyRuns(8) }
    )
    // the floods exercised the limits and the hostile cases
    expect(totals.memoryRefusals).toBeGreaterThan(0)
    expect(totals.overlaps).toBeGreaterThan(0)
    expect(totals.oversized).toBeGreaterThan(0)
  }, 120_000)

  // Every held fragment keeps the driver's 2 KiB receive buffer. 1024 one-fragment datagrams of 28 bytes (60 KB on
  // the wire) stay within Linux's limits (1024 queues, 2.3 MB of 4 MiB) yet hold as many buffers as the driver
  // preallocated: its pool grows (page_pool's fallback to the page allocator), and a ring left short is refilled
  // later (virtio_net's refill_work), so b keeps receiving during the flood and after the timeout frees the buffers.
  it("a flood of 1024 tiny fragments within the reassembly limits leaves b able to receive, then and after the timeout", () =>
    deterministic(0, Effect.gen(function*() {
      const net = Network.make()
      const x = yield* net.host("x")
      const b = yield* net.host("b")
      const link = yield* net.link(x, b, { a: "10.0.0.1/24", b: "10.0.0.2/24" })
      expect((yield* whileClockAdvances(x.ping("10.0.0.2")))._tag).toBe("Success")
      for (let i = 0; i < 1024; i++) {
        const fragment: Fragment = { source: 0, identification: i, offset: 0, length: 8, more: true, protocol: 17 }
        link.wire.a.send(fragmentFrame(fragment, ip("192.0.2.1"), ip("10.0.0.2"), link.a.mac, link.b.mac))
        if (i % BATCH === BATCH - 1) yield* advanceClock(1)
      }
      yield* advanceClock(1)
      // the reassembler's own bounds hold
      expect(b.ipv4.reassembler.queueCount).toBe(1024)
      expect(b.ipv4.reassembler.bytesHeld).toBeLessThanOrEqual(4 * 1024 * 1024)
      const during = yield* whileClockAdvances(x.ping("10.0.0.2", { sequence: 2 }))
      yield* advanceClock(31_000, 100)
      expect(b.ipv4.reassembler.bytesHeld).toBe(0)
      const after = yield* whileClockAdvances(x.ping("10.0.0.2", { sequence: 3 }))
      expect({ during: during._tag, after: after._tag, rxMissed: link.b.driver.nic.stats()["rx_missed_errors"] }).toEqual({
        during: "Success",
        after: "Success",
        rxMissed: 0
      })
    })))

  it("an incomplete datagram expires after 30 s: time exceeded (code 1) to its sender if fragment zero came, silence if not", () =>
    deterministic(0, Effect.gen(function*() {
      const net = Network.make()
      const x = yield* net.host("x")
      const b = yield* net.host("b")
      const link = yield* net.link(x, b, { a: "10.0.0.1/24", b: "10.0.0.2/24" })
      expect((yield* whileClockAdvances(x.ping("10.0.0.2")))._tag).toBe("Success") // ARP both ways
      const send = (fragment: Fragment) => link.wire.a.send(fragmentFrame(fragment, ip("10.0.0.1"), ip("10.0.0.2"), link.a.mac, link.b.mac))
      // datagram 7: its first fragment only; datagram 8: a later fragment only (RFC 1122 §3.2.1.4, RFC 792)
      send({ source: 0, identification: 7, offset: 0, length: 64, more: true, protocol: 17 })
      send({ source: 0, identification: 8, offset: 8, length: 64, more: true, protocol: 17 })
      yield* advanceClock(29_900, 100)
      expect(b.icmp.stats.OutTimeExcds).toBe(0)
      expect(b.ipv4.reassembler.queueCount).toBe(2)
      yield* advanceClock(200, 1)
      expect(b.ipv4.reassembler.queueCount).toBe(0)
      expect(b.icmp.stats.OutTimeExcds).toBe(1)
      expect(x.icmp.stats.InTimeExcds).toBe(1)
      expect(b.ipv4.reassembler.stats.ReasmTimeout).toBe(2)
    })))
})
