/**
 * TCP across whole stacks, as a property (deterministic simulation: TestClock,
 * Effect's `Random` seeded per run, fast-check seeded by the test setup):
 *
 * two hosts on one wire whose directions get generated impairments (loss up
 * to 20 %, reordering, duplication, corruption, delay and jitter, a rate
 * limit with a bounded queue) and sometimes a partition in the middle; a
 * transfer one way or both ways at once, with generated sizes, write sizes,
 * reading speeds and ways (`read`, or `readInto` an array data may go
 * straight into) and TCP settings at each end (SACK, timestamps and window
 * scaling on or off, small buffers that close the window, NewReno or
 * CUBIC). Then:
 *
 * - every byte written arrives exactly once and in order, or the connection
 *   ended with `TcpError` "timed-out" (at one end at least; the other timed
 *   out too, was reset by the peer's stack, or was left waiting to read with
 *   nothing of its own outstanding) and the wire did drop frames;
 * - with nothing dropped by the wire every transfer completes;
 * - every corrupted frame is caught by a checksum (RFC 791 header checksum,
 *   RFC 9293 §3.1 TCP checksum) or by the link layer, and counted, exactly
 *   as an independent checksum oracle over the delivered frames predicts;
 * - after completion both ends are CLOSED or in TIME-WAIT, and after the
 *   TIME-WAIT period no connection, port, queued byte or armed timer is left.
 *
 * It runs twice, with net channels off (every segment takes the slow path)
 * and on (established flows' segments take the fast path; the property is
 * the same, and no channel or queued packet is left either). Each run takes
 * a few seconds on a 2-core machine, so both keep the full case count.
 */
import { describe, expect, it } from "@effect/vitest"
import type { Impairments, MediumCounters } from "@netstack/device"
import { newReno, type TcpSettings } from "@netstack/l4"
import { advanceClock, type Host, whileClockAdvances } from "@netstack/stack"
import { Duration, Effect } from "effect"
import fc from "fast-check"
import { appendFileSync } from "node:fs"
import { deterministic } from "./support/topology.ts"
import { classifyFrame, type EndReport, firstDifference, frameDestination, pattern, type TcpPair, tcpPair, transfer } from "./support/tcp.ts"
import { propertyRuns } from "@netstack/test-support"

// ---------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------

const permille = (max: number): fc.Arbitrary<number> => fc.integer({ min: 0, max }).map((n) => n / 1000)
const micros = (min: number, max: number): fc.Arbitrary<Duration.Duration> =>
  fc.integer({ min, max }).map((us) => Duration.micros(BigInt(us)))

/** One direction's impairments beyond its delay: none in some runs (then nothing may fail). */
const impairmentsArb: fc.Arbitrary<Impairments> = fc.record({
  delay: micros(100, 20_000),
  jitter: fc.oneof(fc.constant(Duration.zero), micros(0, 3_000)),
  loss: fc.oneof(fc.constant(0), permille(20), permille(200)),
  reorder: fc.oneof(fc.constant(0), permille(300)),
  duplicate: fc.oneof(fc.constant(0), permille(100)),
  corrupt: fc.oneof(fc.constant(0), permille(50)),
  // 2 Mbit/s .. 1 Gbit/s; a short queue drops what a burst brings beyond it
  rate: fc.oneof(fc.constant(undefined), fc.integer({ min: 2, max: 1000 }).map((mbit) => mbit * 1_000_000)),
  queueLimit: fc.oneof(fc.constant(undefined), fc.integer({ min: 4, max: 200 }))
}).map((i) => {
  const out: { -readonly [K in keyof Impairments]: Impairments[K] } = { delay: i.delay, jitter: i.jitter, loss: i.loss, reorder: i.reorder, duplicate: i.duplicate, corrupt: i.corrupt }
  if (i.rate !== undefined) out.rate = i.rate
  if (i.rate !== undefined && i.queueLimit !== undefined) out.queueLimit = i.queueLimit
  return out
})

const cleanArb: fc.Arbitrary<Impairments> = micros(100, 20_000).map((delay) => ({ delay }))

const directionArb = fc.oneof({ weight: 1, arbitrary: cleanArb }, { weight: 3, arbitrary: impairmentsArb })

/** Socket buffers: Linux-sized, or small enough that a slow reader closes the window. */
const bufferArb = fc.oneof(
  { weight: 2, arbitrary: fc.constant(1024 * 1024) },
  { weight: 1, arbitrary: fc.integer({ min: 64 * 1024, max: 512 * 1024 }) },
  { weight: 2, arbitrary: fc.integer({ min: 2048, max: 16 * 1024 }) }
)

/** One host's TCP settings: options on or off, buffers; timers short so failures come fast. */
const settingsArb: fc.Arbitrary<Partial<TcpSettings>> = fc.record({
  sack: fc.boolean(),
  timestamps: fc.boolean(),
  windowScaling: fc.boolean(),
  sendBuffer: bufferArb,
  receiveBuffer: bufferArb
}).map((s) => ({
  ...s,
  maxRto: 2_000_000,
  synRetries: 6,
  synAckRetries: 6,
  timeWait: 2_000_000,
  finTimeout: 5_000_000
}))

const sizeArb = fc.oneof(
  { weight: 1, arbitrary: fc.constant(0) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 5_000 }) },
  { weight: 3, arbitrary: fc.integer({ min: 5_000, max: 250_000 }) }
)

const readingArb = fc.oneof(
  { weight: 3, arbitrary: fc.record({ size: fc.constant(64 * 1024), pauseMillis: fc.constant(0), into: fc.boolean() }) },
  {
    weight: 1,
    arbitrary: fc.record({ size: fc.integer({ min: 1, max: 8192 }), pauseMillis: fc.integer({ min: 1, max: 20 }), into: fc.boolean() })
  }
)

const caseArb = fc.record({
  seed: fc.integer({ min: 0, max: 0x7fffffff }),
  aToB: directionArb,
  bToA: directionArb,
  tcpA: settingsArb,
  tcpB: settingsArb,
  reno: fc.boolean(),
  aSize: sizeArb,
  /** Both directions at once, or a → b only. */
  both: fc.boolean(),
  bSize: sizeArb,
  chunk: fc.oneof(fc.integer({ min: 1, max: 1500 }), fc.integer({ min: 1500, max: 65536 })),
  readingA: readingArb,
  readingB: readingArb,
  /** A partition (ms after the transfer starts, ms long). */
  partition: fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.record({ at: fc.integer({ min: 0, max: 2_000 }), duration: fc.integer({ min: 200, max: 4_000 }) }) }
  )
})

type Case = typeof caseArb extends fc.Arbitrary<infer A> ? A : never

/**
 * RFC 5482 user timeout of both ends: long against the impairments (2 s maximum RTO, partitions of 4 s at
 * most), so that a correct TCP gives up only when the connection could not start (ARP failing during a
 * partition); a timeout of an established connection marks a bug (a stall), not bad luck.
 */
const USER_TIMEOUT_MS = 60_000
/** How long the wire gets to fall quiet after a case: longer than any path's delay and a neighbour probe round. */
const QUIET_WIRE_MS = 30_000

// ---------------------------------------------------------------------------
// Running a case
// ---------------------------------------------------------------------------

/** What the checksum oracle saw delivered to one host. */
interface Oracle {
  badIp: number
  badTcp: number
  otherHost: number
}

const oracleFor = (mac: () => number): { readonly oracle: Oracle; readonly deliver: (frame: Uint8Array) => void } => {
  const oracle: Oracle = { badIp: 0, badTcp: 0, otherHost: 0 }
  return {
    oracle,
    deliver: (frame) => {
      const destination = frameDestination(frame)
      // not for this interface (a flipped destination MAC): the link layer drops it
      if (destination !== mac() && destination !== 0xffffffffffff) {
        if ((Math.floor(destination / 0x10000000000) & 1) === 0) oracle.otherHost++
        return
      }
      const c = classifyFrame(frame)
      if (c.kind === "bad-ip-header") oracle.badIp++
      else if (c.kind === "bad-tcp-checksum") oracle.badTcp++
    }
  }
}

const sumWire = (cs: ReadonlyArray<MediumCounters>) =>
  cs.reduce(
    (s, c) => ({
      dropped: s.dropped + c.lost + c.rateDropped + c.partitionDropped,
      corrupted: s.corrupted + c.corrupted,
      inFlight: s.inFlight + c.inFlight
    }),
    { dropped: 0, corrupted: 0, inFlight: 0 }
  )

/** What is left of a connection once it is gone. */
const leftovers = (end: EndReport) => {
  const tcb = end.connection?.tcb
  if (tcb === undefined) return undefined
  return {
    state: tcb.state,
    sendBuffered: tcb.send.length,
    unread: tcb.receive.length,
    reassembly: tcb.reassembly.length,
    timers: [tcb.retransmitTimer, tcb.delayedAckTimer, tcb.keepaliveTimer, tcb.timeWaitTimer].filter((t) => t.armed).length
  }
}

const hostLeftovers = (pair: TcpPair) => ({
  connections: pair.a.tcp.tables.established.size + pair.b.tcp.tables.established.size,
  ports: pair.a.tcp.tables.ports.size + pair.b.tcp.tables.ports.size,
  listeners: pair.a.tcp.tables.listeners.size + pair.b.tcp.tables.listeners.size
})

/** A slow reader, but one that can take `total` bytes in at most 1000 reads (20 s of pauses at most). */
const boundedReading = (reading: Case["readingA"], total: number): Case["readingA"] => ({
  size: Math.max(reading.size, Math.ceil(total / 1000)),
  pauseMillis: reading.pauseMillis,
  into: reading.into
})

const runCase = (c: Case, netChannels: boolean) =>
  Effect.gen(function*() {
    let pairRef: TcpPair | undefined = undefined
    const atA = oracleFor(() => pairRef?.devA.mac ?? -1)
    const atB = oracleFor(() => pairRef?.devB.mac ?? -1)
    const pair = yield* tcpPair({
      aToB: c.aToB,
      bToA: c.bToA,
      tcpA: c.tcpA,
      tcpB: c.tcpB,
      ...(c.reno ? { congestion: newReno } : {}),
      hooksA: { deliver: atA.deliver },
      hooksB: { deliver: atB.deliver }
    })
    pairRef = pair
    pair.a.channels.enabled = netChannels
    pair.b.channels.enabled = netChannels
    const aData = pattern(c.aSize, 1)
    const bData = c.both ? pattern(c.bSize, 2) : new Uint8Array(0)
    const partition = c.partition
    if (partition !== undefined) {
      yield* Effect.forkChild(Effect.gen(function*() {
        yield* Effect.sleep(partition.at)
        pair.wire.partition()
        yield* Effect.sleep(partition.duration)
        pair.wire.heal()
      }))
    }
    const started = pair.a.timers.now()
    const result = yield* whileClockAdvances(
      transfer(pair, {
        aData,
        bData,
        chunk: Math.max(c.chunk, Math.ceil(Math.max(c.aSize, c.bSize) / 3000)),
        userTimeout: USER_TIMEOUT_MS * 1000,
        graceMillis: USER_TIMEOUT_MS + 6_000,
        readingA: boundedReading(c.readingA, bData.length),
        readingB: boundedReading(c.readingB, aData.length)
      }),
      900_000
    )
    const elapsed = (pair.a.timers.now() - started) / 1000
    const atEnd = { client: result._tag === "Success" ? leftovers(result.success.client) : undefined }
    // TIME-WAIT (2 s here) and the FIN-WAIT-2 timeout pass; stragglers land.
    yield* advanceClock(7_000, 10)
    // The neighbour tables may still be at work: an entry used shortly before its reachable time ran out is
    // probed once more (RFC 1122 §2.3.2.1, Linux's DELAY → PROBE), and the reply may be on a slow path now. The
    // wire gets the time to fall quiet; a frame stuck on it would never land.
    const wireCounters = () => sumWire([pair.wire.counters("aToB"), pair.wire.counters("bToA")])
    for (let waited = 0; waited < QUIET_WIRE_MS && wireCounters().inFlight > 0; waited += 100) yield* advanceClock(100, 10)
    const wire = wireCounters()
    return {
      result,
      aData,
      bData,
      elapsed,
      atEnd,
      wire,
      oracle: { a: atA.oracle, b: atB.oracle },
      counted: {
        a: { badIp: pair.a.ipv4.stats.InHdrErrors, badTcp: pair.a.tcp.stats.InCsumErrors, otherHost: pair.a.link.drops.snapshot()["l2.otherhost"] ?? 0 },
        b: { badIp: pair.b.ipv4.stats.InHdrErrors, badTcp: pair.b.tcp.stats.InCsumErrors, otherHost: pair.b.link.drops.snapshot()["l2.otherhost"] ?? 0 }
      },
      stats: { a: { ...pair.a.tcp.stats }, b: { ...pair.b.tcp.stats } },
      channels: {
        fastPath: pair.a.channels.stats.fastPath + pair.b.channels.stats.fastPath,
        // every packet queued on a channel, run once: by a fiber waiting on its connection, by the consumer fiber,
        // or flushed (before a slow-path segment of its flow, or when channels were turned off)
        ran: ranFromChannels(pair.a) + ranFromChannels(pair.b),
        byReader: pair.a.channels.stats.inputsByConsumer.reader + pair.b.channels.stats.inputsByConsumer.reader,
        byWriter: pair.a.channels.stats.inputsByConsumer.writer + pair.b.channels.stats.inputsByConsumer.writer,
        left: pair.a.channels.channels().length + pair.b.channels.channels().length,
        open: pair.a.channels.stats.channelsOpen + pair.b.channels.stats.channelsOpen
      },
      debug: {
        nic: { a: pair.devA.driver.nic.stats(), b: pair.devB.driver.nic.stats() },
        drops: { a: pair.a.link.drops.snapshot(), b: pair.b.link.drops.snapshot() },
        ip: { a: { ...pair.a.ipv4.stats }, b: { ...pair.b.ipv4.stats } },
        tcp: { a: { ...pair.a.tcp.stats }, b: { ...pair.b.tcp.stats } },
        wire: { aToB: pair.wire.counters("aToB"), bToA: pair.wire.counters("bToA") }
      },
      after: result._tag === "Success"
        ? { client: leftovers(result.success.client), server: leftovers(result.success.server), hosts: hostLeftovers(pair) }
        : undefined
    }
  })

/** Packets a host's channels ran through TCP input, whoever ran them. */
const ranFromChannels = (host: Host): number => {
  const s = host.channels.stats
  const by = s.inputsByConsumer
  return by.reader + by.writer + by.poller + by.consumer + s.flushedForSlowPath + s.flushedAtDisable
}

const describeCase = (c: Case): string =>
  JSON.stringify(c, (_k, v) => (Duration.isDuration(v) ? `${Duration.toMillis(v)}ms` : v))

/**
 * Reasons an end gives up because of the wire: its timeout, or (only while connecting, RFC 1122 §4.2.3.9 as
 * Linux applies it) the host unreachable that ARP's failure during a partition reports (RFC 1122 §2.3.2.1).
 */
const wireReasons: ReadonlyArray<string> = ["timed-out", "host-unreachable"]

const gaveUpForTheWire = (end: EndReport): boolean => {
  const r = end.received
  const w = end.wrote
  return (r !== "stuck" && r._tag === "Failure" && wireReasons.includes(r.failure.reason)) ||
    (w._tag === "Failure" && wireReasons.includes(w.failure.reason))
}

/** An end that failed: timed out, reset by the peer's stack after the peer gave up, or left reading with nothing outstanding. */
const failedAcceptably = (end: EndReport): boolean => {
  if (gaveUpForTheWire(end)) return true
  if (end.received === "stuck") return end.idleWhenStuck
  const reasons = [end.received, end.wrote].flatMap((r) => (r._tag === "Failure" ? [r.failure.reason] : []))
  return reasons.every((reason) => reason === "connection-reset" || reason === "connection-aborted" || wireReasons.includes(reason))
}

/** The connection never started: the client's connect failed and the server never accepted. */
const neverConnected = (client: EndReport, server: EndReport): boolean =>
  client.connection === undefined && server.connection === undefined

const succeeded = (end: EndReport, expected: Uint8Array): boolean =>
  end.received !== "stuck" && end.received._tag === "Success" && end.wrote._tag === "Success" &&
  firstDifference(end.received.success, expected) === undefined

// ---------------------------------------------------------------------------
// The property
// ---------------------------------------------------------------------------

/**
 * Debugging: TCP_PROPERTY_LOG=file logs each case, its run time and details to the file and reports the first
 * failure unshrunk; TCP_PROPERTY_REPLAY=seed:path replays one case (fast-check's replay token).
 */
const debugOptions = (): { endOnFailure?: boolean; seed?: number; path?: string } => {
  const replay = process.env["TCP_PROPERTY_REPLAY"]
  const [seed, path] = replay === undefined ? [] : replay.split(":")
  return {
    ...(process.env["TCP_PROPERTY_LOG"] === undefined ? {} : { endOnFailure: true }),
    ...(seed === undefined || path === undefined ? {} : { seed: Number(seed), path })
  }
}

describe.each([
  { netChannels: false, path: "net channels off" },
  { netChannels: true, path: "net channels on" }
])("TCP transfers over impaired wires (property), $path", ({ netChannels }) => {
  it("deliver every byte exactly once and in order, or time out for a reason the wire gave; checksums catch every corruption; nothing is left", async () => {
    const totals = { runs: 0, completed: 0, failed: 0, clean: 0, corrupted: 0, caught: 0, partitions: 0, zeroWindowProbes: 0, sackRecoveries: 0, renoRecoveries: 0, timeouts: 0, fastPath: 0, byReader: 0, byWriter: 0 }
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const label = describeCase(c)
        const t0 = performance.now()
        if (process.env["TCP_PROPERTY_LOG"] !== undefined) appendFileSync(process.env["TCP_PROPERTY_LOG"], `start ${label}\n`)
        const run = await deterministic(c.seed, runCase(c, netChannels))
        if (process.env["TCP_PROPERTY_LOG"] !== undefined) {
          appendFileSync(process.env["TCP_PROPERTY_LOG"], `done ${(performance.now() - t0).toFixed(0)} ms real, ${run.elapsed} ms simulated\n`)
          appendFileSync(process.env["TCP_PROPERTY_LOG"], `${JSON.stringify(run.debug)}\n`)
        }
        totals.runs++
        if (c.partition !== undefined) totals.partitions++
        expect(run.result._tag, `the transfer program itself failed: ${label}`).toBe("Success")
        if (run.result._tag !== "Success") return
        const { client, server } = run.result.success
        const ok = succeeded(client, run.bData) && succeeded(server, run.aData)

        // Corruption: every corrupted frame delivered was dropped by the check the oracle says catches it, and counted.
        expect(run.counted, label).toEqual(run.oracle)
        // Frames for another MAC are not bounded by the corruptions: a flipped bit in an ARP sender address (ARP
        // has no checksum; the simulated wire no FCS) makes the peer send its later, intact frames to a bogus MAC.
        const badChecksums = run.oracle.a.badIp + run.oracle.a.badTcp + run.oracle.b.badIp + run.oracle.b.badTcp
        const caught = badChecksums + run.oracle.a.otherHost + run.oracle.b.otherHost
        expect(badChecksums, `${label} ${JSON.stringify(run.oracle)}`).toBeLessThanOrEqual(run.wire.corrupted)
        // a flipped bit lands in a source MAC or padding (harmless) at most ~10 % of the time
        if (run.wire.corrupted >= 10) expect(caught, label).toBeGreaterThan(0)
        totals.corrupted += run.wire.corrupted
        totals.caught += caught
        totals.zeroWindowProbes += run.stats.a.TCPWinProbe + run.stats.b.TCPWinProbe
        totals.sackRecoveries += run.stats.a.TCPSackRecovery + run.stats.b.TCPSackRecovery
        totals.renoRecoveries += run.stats.a.TCPRenoRecovery + run.stats.b.TCPRenoRecovery
        totals.timeouts += run.stats.a.TCPTimeouts + run.stats.b.TCPTimeouts
        totals.fastPath += run.channels.fastPath
        totals.byReader += run.channels.byReader
        totals.byWriter += run.channels.byWriter
        expect(run.channels.ran, label).toBe(run.channels.fastPath)
        // every channel closed and left its table once its connection was gone; nothing took the fast path with channels off
        expect(run.channels.left, label).toBe(0)
        expect(run.channels.open, label).toBe(0)
        if (!netChannels) expect(run.channels.fastPath, label).toBe(0)

        if (!ok) {
          totals.failed++
          if (process.env["TCP_PROPERTY_LOG"] !== undefined) {
            const brief = (end: EndReport) => ({
              state: end.state,
              idleWhenStuck: end.idleWhenStuck,
              received: end.received === "stuck" ? "stuck" : end.received._tag === "Success" ? end.received.success.length : end.received.failure,
              wrote: end.wrote._tag === "Success" ? "ok" : end.wrote.failure
            })
            appendFileSync(process.env["TCP_PROPERTY_LOG"], `failed ${JSON.stringify({ client: brief(client), server: brief(server) })}\n`)
          }
          // a failure needs a wire that dropped or damaged frames
          expect(run.wire.dropped + run.wire.corrupted, `failed over a wire that lost nothing: ${label}`).toBeGreaterThan(0)
          expect(gaveUpForTheWire(client) || gaveUpForTheWire(server), `failed without a timeout: ${label}`).toBe(true)
          expect(failedAcceptably(client) && failedAcceptably(server), `an end failed for another reason: ${label}`).toBe(true)
          expect(neverConnected(client, server), `an established connection gave up: ${label}`).toBe(true)
          // whatever succeeded at an end is still exact: a reader that got its FIN got every byte
          return
        }
        totals.completed++
        if (run.wire.dropped + run.wire.corrupted === 0) totals.clean++
        // both ends finished the FIN exchange: CLOSED or TIME-WAIT when close returned, nothing left after TIME-WAIT
        expect(["CLOSED", "TIME-WAIT"]).toContain(client.state)
        expect(["CLOSED", "TIME-WAIT"]).toContain(server.state)
        // the active closer went through TIME-WAIT (perhaps over already, while its application read on)
        expect(run.stats.a.TW + run.stats.b.TW, `nobody in TIME-WAIT: ${label}`).toBeGreaterThan(0)
        const gone = { state: "CLOSED", sendBuffered: 0, unread: 0, reassembly: 0, timers: 0 }
        expect(run.after, label).toEqual({ client: gone, server: gone, hosts: { connections: 0, ports: 0, listeners: 0 } })
        expect(run.wire.inFlight).toBe(0)
        for (const stats of [run.stats.a, run.stats.b]) {
          expect(stats, label).toMatchObject({ EstabResets: 0, AttemptFails: 0, TCPAbortOnTimeout: 0, TCPAbortOnData: 0, TCPAbortOnClose: 0 })
        }
      }),
      // A failing case is reported unshrunk (every case is a whole simulated transfer; shrinking one takes
      // many minutes); TCP_PROPERTY_REPLAY replays it.
      { numRuns: propertyRuns(40), endOnFailure: true, ...debugOptions() }
    )
    console.log(`tcp transfer property (net channels ${netChannels ? "on" : "off"}):`, JSON.stringify(totals))
    // the generators reached what they are for
    expect(totals.completed).toBeGreaterThan(0)
    expect(totals.clean).toBeGreaterThan(0)
    if (netChannels) expect(totals.fastPath).toBeGreaterThan(0)
  }, 600_000)
})
