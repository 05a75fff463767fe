/**
 * IPv4 reassembly (RFC 791 §3.2, RFC 815; Linux ip_fragment.c) under
 * TestClock: fragments in any order, with duplicates, loss and overlaps,
 * give the original datagram exactly or a counted drop, never a wrong
 * datagram; timeouts report the first fragment only when it arrived; memory
 * and queue bounds hold under a flood; oversized datagrams are refused; and
 * every buffer is released.
 */
import { describe, expect, it } from "@effect/vitest"
import { PacketBuffer } from "@netstack/buffers"
import { TimerQueue } from "@netstack/l2"
import { Ipv4View } from "@netstack/wire"
import { Effect, type Scope } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import { fragmentIpv4, isFragmentDefect, Reassembler, type ReassemblyDrop } from "../src/fragment/index.ts"
import { datagram, mustClone, optionsArbitrary, permutation, rawFragment, StorageLedger } from "./support/datagrams.ts"

type AddResult = PacketBuffer | "held" | ReassemblyDrop

/** Runs a scoped program under a fresh TestClock (for fast-check's async properties). */
const underTestClock = <A>(program: Effect.Effect<A, never, Scope.Scope>): Promise<A> =>
  Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(TestClock.layer())))

/** The pieces, or a failed test. */
const mustFragment = (packet: PacketBuffer, mtu: number): ReadonlyArray<PacketBuffer> => {
  const pieces = fragmentIpv4(packet, mtu)
  if (isFragmentDefect(pieces)) throw new Error(`unexpected ${pieces.name}`)
  return pieces
}

/** A reassembler on fresh host timers that records its timeouts (a copy of the first fragment's bytes, or undefined). */
const setup = (options: { readonly highThresholdBytes?: number; readonly maxQueues?: number } = {}) =>
  Effect.gen(function*() {
    const timers = yield* TimerQueue.make()
    const timeouts: Array<Uint8Array | undefined> = []
    const reassembler = Reassembler.make({
      timers,
      ...options,
      onTimeout: (first) => {
        timeouts.push(first?.toUint8Array())
      }
    })
    return { timers, reassembler, timeouts }
  })

/** Whether a packet (data at a valid IPv4 header) is a fragment. */
const isFragment = (packet: PacketBuffer): boolean => {
  const view = Ipv4View.parse(packet)
  return view instanceof Ipv4View && view.isFragment
}

const isDatagram = (r: AddResult): r is PacketBuffer => r instanceof PacketBuffer

/** The sum check every run makes: each failure counted once in ReasmFails (duplicates are not failures). */
const failuresOf = (results: ReadonlyArray<AddResult>): number =>
  results.filter((r) => !isDatagram(r) && r !== "held" && r !== "duplicate").length

const bytes = (n: number, seed = 1): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) & 0xff)

describe("Reassembler", () => {
  it("fragment then reassemble gives the original bytes, in any order and with duplicates (property)", async () => {
    let reassembled = 0
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 5000, size: "max" }),
        fc.option(optionsArbitrary, { nil: undefined }),
        fc.integer({ min: 68, max: 1500 }),
        fc.array(fc.integer(), { minLength: 1, maxLength: 80, size: "max" }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 80, size: "max" }),
        (payload, options, mtu, keys, dups) =>
          underTestClock(Effect.gen(function*() {
            const { reassembler } = yield* setup()
            const ledger = new StorageLedger()
            const input = ledger.track(datagram({ payload, ...(options === undefined ? {} : { options }) }))
            const original = input.toUint8Array()
            const pieces = mustFragment(input, mtu).map((p) => ledger.track(p))
            if (pieces.length === 1) {
              // Not a fragment: handed back untouched, uncounted.
              expect(reassembler.add(pieces[0])).toBe(pieces[0])
              expect(reassembler.stats.ReasmReqds).toBe(0)
              pieces[0].release()
              input.release()
              expect(ledger.live).toBe(0)
              return
            }
            const feed: Array<PacketBuffer> = []
            permutation(pieces.length, keys).forEach((index, k) => {
              feed.push(pieces[index])
              if (dups[k % dups.length]) feed.push(mustClone(pieces[index]))
            })
            const results = feed.map((f) => reassembler.add(f))
            const datagrams = results.filter(isDatagram)
            expect(datagrams).toHaveLength(1)
            const whole = datagrams[0]
            expect(whole.toUint8Array()).toEqual(original)
            const view = Ipv4View.parse(whole)
            expect(view instanceof Ipv4View && view.verifyChecksum()).toBe(true)
            // Duplicates before completion are dropped alone; any after it start a new queue.
            for (const r of results) if (!isDatagram(r)) expect(["held", "duplicate"]).toContain(r)
            expect(reassembler.stats.ReasmOKs).toBe(1)
            expect(reassembler.stats.ReasmReqds).toBe(feed.length)
            expect(reassembler.stats.ReasmOverlaps).toBe(0)
            reassembled++
            whole.release()
            input.release()
            // Late duplicates' queues time out and are released.
            yield* TestClock.adjust("30 seconds")
            expect(reassembler.queueCount).toBe(0)
            expect(reassembler.bytesHeld).toBe(0)
            expect(reassembler.stats.ReasmFails).toBe(reassembler.stats.ReasmTimeout)
            expect(ledger.live).toBe(0)
          }))
      ),
      { numRuns: 150 }
    )
    expect(reassembled).toBeGreaterThan(100)
  })

  it("with random MTUs, loss and reordering, the payload reassembles exactly or the datagram is dropped and counted (property)", async () => {
    let complete = 0
    let dropped = 0
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6000 }),
        fc.integer({ min: 68, max: 1500 }),
        fc.array(fc.integer(), { minLength: 1, maxLength: 100, size: "max" }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 100, size: "max" }),
        fc.integer({ min: 0, max: 0xffff }),
        (length, mtu, keys, delivered, identification) =>
          underTestClock(Effect.gen(function*() {
            const { reassembler, timeouts } = yield* setup()
            const ledger = new StorageLedger()
            // Two datagrams with the same addresses and identification, told apart by protocol (RFC 791 §3.2).
            const a = ledger.track(datagram({ payload: bytes(length, 1), identification, protocol: 17 }))
            const b = ledger.track(datagram({ payload: bytes(length, 2), identification, protocol: 6 }))
            const piecesA = mustFragment(a, mtu).map((p) => ledger.track(p))
            const piecesB = mustFragment(b, mtu).map((p) => ledger.track(p))
            const firstA = piecesA[0].toUint8Array()
            const kept = piecesA.map((_, i) => delivered[i % delivered.length] || piecesA.length === 1)
            const lost = piecesA.filter((_, i) => !kept[i])
            const order = permutation(piecesA.length + piecesB.length, keys)
            const results: Array<AddResult> = []
            const resultsA: Array<AddResult> = []
            for (const index of order) {
              if (index < piecesA.length) {
                if (!kept[index]) continue
                const r = reassembler.add(piecesA[index])
                results.push(r)
                resultsA.push(r)
              } else {
                results.push(reassembler.add(piecesB[index - piecesA.length]))
              }
            }
            for (const p of lost) p.release()
            const outA = resultsA.filter(isDatagram)
            const outB = results.filter(isDatagram).filter((d) => !outA.includes(d))
            // B always completes, and is B.
            expect(outB).toHaveLength(1)
            expect(outB[0].toUint8Array()).toEqual(b.toUint8Array())
            if (lost.length === 0) {
              expect(outA).toHaveLength(1)
              expect(outA[0].toUint8Array()).toEqual(a.toUint8Array())
              complete++
            } else if (!kept.some(Boolean)) {
              // Nothing of A arrived: nothing to time out.
              yield* TestClock.adjust("30 seconds")
              expect(timeouts).toEqual([])
              expect(reassembler.stats.ReasmTimeout).toBe(0)
            } else {
              // Never a wrong datagram: nothing until the timeout drops and counts it.
              expect(outA).toHaveLength(0)
              yield* TestClock.adjust("29.999 seconds")
              expect(timeouts).toHaveLength(0)
              yield* TestClock.adjust("1 millis")
              expect(reassembler.stats.ReasmTimeout).toBe(1)
              // RFC 1122 §3.2.1.4: the first fragment goes to onTimeout only if it arrived.
              expect(timeouts).toEqual([kept[0] ? firstA : undefined])
              dropped++
            }
            expect(reassembler.stats.ReasmFails).toBe(failuresOf(results) + reassembler.stats.ReasmTimeout)
            expect(reassembler.queueCount).toBe(0)
            expect(reassembler.bytesHeld).toBe(0)
            for (const d of results.filter(isDatagram)) d.release()
            a.release()
            b.release()
            expect(ledger.live).toBe(0)
          }))
      ),
      { numRuns: 200 }
    )
    expect(complete).toBeGreaterThan(20)
    expect(dropped).toBeGreaterThan(20)
  })

  it("fragments of one datagram cut at two MTUs, mixed: the original exactly, or a drop that is counted (property)", async () => {
    let overlaps = 0
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 200, max: 5000 }),
        fc.integer({ min: 68, max: 1500 }),
        fc.integer({ min: 68, max: 1500 }),
        fc.array(fc.integer(), { minLength: 1, maxLength: 150, size: "max" }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 150, size: "max" }),
        (length, mtuA, mtuB, keys, delivered) =>
          underTestClock(Effect.gen(function*() {
            const { reassembler } = yield* setup()
            const ledger = new StorageLedger()
            const input = ledger.track(datagram({ payload: bytes(length, 3) }))
            const original = input.toUint8Array()
            const pieces = [...mustFragment(input, mtuA), ...mustFragment(input, mtuB)].map((p) => ledger.track(p))
            const results: Array<AddResult> = []
            let handedBack = 0
            for (const [k, index] of permutation(pieces.length, keys).entries()) {
              if (!delivered[k % delivered.length]) {
                pieces[index].release()
                continue
              }
              // A datagram that fits one MTU is not a fragment: handed back as it is.
              if (!isFragment(pieces[index])) handedBack++
              results.push(reassembler.add(pieces[index]))
            }
            // Whatever came out is the original; nothing else ever does.
            for (const d of results.filter(isDatagram)) {
              expect(d.toUint8Array()).toEqual(original)
              d.release()
            }
            yield* TestClock.adjust("30 seconds")
            const s = reassembler.stats
            if (results.filter(isDatagram).length === 0 && results.length > 0) {
              expect(s.ReasmOverlaps + s.ReasmTimeout + s.ReasmInconsistent).toBeGreaterThan(0)
            }
            overlaps += s.ReasmOverlaps
            expect(s.ReasmFails).toBe(failuresOf(results) + s.ReasmTimeout)
            expect(s.ReasmReqds).toBe(results.length - handedBack)
            expect(reassembler.bytesHeld).toBe(0)
            input.release()
            expect(ledger.live).toBe(0)
          }))
      ),
      { numRuns: 200 }
    )
    expect(overlaps).toBeGreaterThan(20)
  })

  it.effect("an overlap drops the whole datagram and is counted; an exact duplicate is dropped alone", () =>
    Effect.gen(function*() {
      const { reassembler } = yield* setup()
      const data = bytes(32)
      const a = rawFragment(data.subarray(0, 16), 0, true)
      const dup = rawFragment(data.subarray(0, 16), 0, true)
      expect(reassembler.add(a)).toBe("held")
      expect(reassembler.add(dup)).toBe("duplicate")
      expect(dup.isReleased).toBe(true)
      expect(a.isReleased).toBe(false)
      expect(reassembler.stats.ReasmDuplicates).toBe(1)
      expect(reassembler.queueCount).toBe(1)
      // [8, 24) overlaps [0, 16): the queue and the fragment go.
      const overlapping = rawFragment(data.subarray(8, 24), 8, true)
      expect(reassembler.add(overlapping)).toBe("overlap")
      expect(a.isReleased).toBe(true)
      expect(overlapping.isReleased).toBe(true)
      expect(reassembler.queueCount).toBe(0)
      expect(reassembler.bytesHeld).toBe(0)
      expect(reassembler.stats.ReasmOverlaps).toBe(1)
      expect(reassembler.stats.ReasmFails).toBe(1)
      // The rest of the datagram starts afresh and cannot complete it wrongly.
      expect(reassembler.add(rawFragment(data.subarray(16, 32), 16, false))).toBe("held")
      // Same start, other end: an overlap, not a duplicate.
      expect(reassembler.add(rawFragment(data.subarray(16, 24), 16, true))).toBe("overlap")
      expect(reassembler.stats.ReasmOverlaps).toBe(2)
      expect(reassembler.queueCount).toBe(0)
    }))

  it.effect("a fragment inside a hole but contradicting the end drops the datagram", () =>
    Effect.gen(function*() {
      const { reassembler } = yield* setup()
      const data = bytes(64)
      expect(reassembler.add(rawFragment(data.subarray(0, 8), 0, true))).toBe("held")
      expect(reassembler.add(rawFragment(data.subarray(32, 48), 32, false))).toBe("held")
      // A second last fragment with another end.
      expect(reassembler.add(rawFragment(data.subarray(8, 16), 8, false))).toBe("inconsistent")
      expect(reassembler.queueCount).toBe(0)
      // Data past a known end.
      expect(reassembler.add(rawFragment(data.subarray(32, 48), 32, false))).toBe("held")
      expect(reassembler.add(rawFragment(data.subarray(48, 56), 48, true))).toBe("inconsistent")
      // A last fragment that ends before data already held.
      expect(reassembler.add(rawFragment(data.subarray(48, 56), 48, true))).toBe("held")
      expect(reassembler.add(rawFragment(data.subarray(16, 24), 16, false))).toBe("inconsistent")
      expect(reassembler.stats.ReasmInconsistent).toBe(3)
      expect(reassembler.bytesHeld).toBe(0)
    }))

  it.effect("times out 30 s after the first fragment and reports the offset-0 fragment only when it arrived", () =>
    Effect.gen(function*() {
      const { reassembler, timeouts } = yield* setup()
      const data = bytes(48)
      const first = rawFragment(data.subarray(0, 16), 0, true, { identification: 1 })
      const firstBytes = first.toUint8Array()
      expect(reassembler.add(first)).toBe("held")
      expect(reassembler.add(rawFragment(data.subarray(32, 48), 32, false, { identification: 2 }))).toBe("held")
      yield* TestClock.adjust("20 seconds")
      // A later fragment does not extend the lifetime.
      expect(reassembler.add(rawFragment(data.subarray(16, 24), 16, true, { identification: 1 }))).toBe("held")
      yield* TestClock.adjust("9.999 seconds")
      expect(timeouts).toEqual([])
      yield* TestClock.adjust("1 millis")
      expect(timeouts).toEqual([firstBytes, undefined])
      expect(first.isReleased).toBe(true)
      expect(reassembler.stats.ReasmTimeout).toBe(2)
      expect(reassembler.stats.ReasmFails).toBe(2)
      expect(reassembler.queueCount).toBe(0)
      expect(reassembler.bytesHeld).toBe(0)
    }))

  it.effect("a completed datagram cancels its timer", () =>
    Effect.gen(function*() {
      const { reassembler, timeouts, timers } = yield* setup()
      const data = bytes(24)
      expect(reassembler.add(rawFragment(data.subarray(0, 16), 0, true))).toBe("held")
      const whole = reassembler.add(rawFragment(data.subarray(16, 24), 16, false))
      if (!(whole instanceof PacketBuffer)) throw new Error(`expected a datagram, got ${whole}`)
      expect(whole.toUint8Array().subarray(20)).toEqual(data)
      whole.release()
      yield* TestClock.adjust("60 seconds")
      expect(timeouts).toEqual([])
      expect(timers.fired).toBe(0)
      expect(reassembler.stats.ReasmOKs).toBe(1)
    }))

  it.effect("a fragment flood stays within the memory limit, counts its refusals, and frees everything at the timeout", () =>
    Effect.gen(function*() {
      const limit = 64 * 1024
      const { reassembler } = yield* setup({ highThresholdBytes: limit, maxQueues: 100_000 })
      const ledger = new StorageLedger()
      let refused = 0
      let peak = 0
      for (let i = 0; i < 5000; i++) {
        // New datagrams and more fragments of old ones, never complete (MF set).
        const id = i % 700
        const fragment = ledger.track(rawFragment(bytes(8 + (i % 180) * 8, i), ((i * 37) % 1000) * 8, true, { identification: id }))
        const r = reassembler.add(fragment)
        if (r === "memory") refused++
        if (r instanceof PacketBuffer) throw new Error("a flood of MF fragments cannot complete")
        peak = Math.max(peak, reassembler.bytesHeld)
        expect(reassembler.bytesHeld).toBeLessThanOrEqual(limit)
      }
      expect(refused).toBeGreaterThan(1000)
      expect(reassembler.stats.ReasmMemoryRefusals).toBe(refused)
      expect(peak).toBeGreaterThan(limit * 0.9)
      // Top it up with small fragments until one is refused: now even those do not fit.
      for (let i = 0; ; i++) {
        const r = reassembler.add(ledger.track(rawFragment(bytes(8), 8000 + i * 8, true, { identification: 800 + i })))
        if (r === "memory") break
        expect(r).toBe("held")
        expect(reassembler.bytesHeld).toBeLessThanOrEqual(limit)
      }
      // A real datagram is refused while the memory is held ...
      const input = datagram({ payload: bytes(3000), identification: 9999 })
      const pieces = mustFragment(input, 1500)
      expect(reassembler.add(mustClone(pieces[0]))).toBe("memory")
      // ... and gets through once the flood timed out.
      yield* TestClock.adjust("30 seconds")
      expect(reassembler.bytesHeld).toBe(0)
      expect(reassembler.queueCount).toBe(0)
      expect(ledger.live).toBe(0)
      const results = pieces.map((p) => reassembler.add(p))
      const whole = results[results.length - 1]
      if (!(whole instanceof PacketBuffer)) throw new Error(`expected a datagram, got ${whole}`)
      expect(whole.toUint8Array()).toEqual(input.toUint8Array())
      whole.release()
      input.release()
    }))

  it("random fragment floods never break the accounting or leak (property)", async () => {
    const seen = new Map<string, number>()
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            id: fc.integer({ min: 0, max: 5 }),
            offset: fc.integer({ min: 0, max: 40 }),
            blocks: fc.integer({ min: 0, max: 30 }),
            tail: fc.integer({ min: 0, max: 7 }),
            more: fc.boolean(),
            ecn: fc.integer({ min: 0, max: 3 }),
            wait: fc.constantFrom(0, 0, 0, 1, 10, 31),
            /** Send the previous step's fragment again instead. */
            again: fc.integer({ min: 0, max: 4 }).map((n) => n === 0)
          }),
          { minLength: 1, maxLength: 120, size: "max" }
        ),
        fc.integer({ min: 2000, max: 40_000 }),
        fc.integer({ min: 1, max: 6 }),
        (steps, limit, maxQueues) =>
          underTestClock(Effect.gen(function*() {
            const { reassembler, timeouts } = yield* setup({ highThresholdBytes: limit, maxQueues })
            const ledger = new StorageLedger()
            const results: Array<AddResult> = []
            let handedBack = 0
            for (const [i, next] of steps.entries()) {
              const step = next.again && i > 0 ? steps[i - 1] : next
              const data = bytes(step.blocks * 8 + step.tail, step.offset)
              const fragment = ledger.track(rawFragment(data, step.offset * 8, step.more, { identification: step.id, ecn: step.ecn }))
              // Offset 0 without MF: not a fragment, handed back.
              if (!isFragment(fragment)) handedBack++
              const r = reassembler.add(fragment)
              results.push(r)
              const outcome = r instanceof PacketBuffer ? "datagram" : r
              seen.set(outcome, (seen.get(outcome) ?? 0) + 1)
              if (r instanceof PacketBuffer) {
                const view = Ipv4View.parse(r)
                expect(view instanceof Ipv4View && view.verifyChecksum() && view.totalLength === r.length).toBe(true)
                r.release()
              }
              expect(reassembler.bytesHeld).toBeLessThanOrEqual(limit)
              expect(reassembler.queueCount).toBeLessThanOrEqual(maxQueues)
              if (next.wait > 0) yield* TestClock.adjust(`${next.wait} seconds`)
            }
            yield* TestClock.adjust("31 seconds")
            const s = reassembler.stats
            expect(s.ReasmReqds).toBe(steps.length - handedBack)
            expect(s.ReasmFails).toBe(failuresOf(results) + s.ReasmTimeout)
            expect(s.ReasmMemoryRefusals).toBe(results.filter((r) => r === "memory").length)
            expect(s.ReasmDuplicates).toBe(results.filter((r) => r === "duplicate").length)
            expect(timeouts).toHaveLength(s.ReasmTimeout)
            seen.set("timeout", (seen.get("timeout") ?? 0) + s.ReasmTimeout)
            expect(reassembler.bytesHeld).toBe(0)
            expect(reassembler.queueCount).toBe(0)
            expect(ledger.live).toBe(0)
          }))
      ),
      { numRuns: 200 }
    )
    // Not vacuous: the outcomes happened across the runs (ECN mismatch, rarer, has its own test).
    for (const outcome of ["datagram", "held", "duplicate", "overlap", "inconsistent", "memory", "queue-limit", "invalid", "timeout"]) {
      expect(seen.get(outcome) ?? 0, outcome).toBeGreaterThan(0)
    }
  })

  it.effect("bounds the number of datagrams in reassembly", () =>
    Effect.gen(function*() {
      const { reassembler } = yield* setup({ maxQueues: 2 })
      expect(reassembler.add(rawFragment(bytes(8), 0, true, { identification: 1 }))).toBe("held")
      expect(reassembler.add(rawFragment(bytes(8), 0, true, { identification: 2 }))).toBe("held")
      const third = rawFragment(bytes(8), 0, true, { identification: 3 })
      expect(reassembler.add(third)).toBe("queue-limit")
      expect(third.isReleased).toBe(true)
      // Fragments of datagrams already queued still go in.
      expect(reassembler.add(rawFragment(bytes(8), 8, true, { identification: 1 }))).toBe("held")
      expect(reassembler.stats.ReasmQueueRefusals).toBe(1)
      reassembler.clear()
      expect(reassembler.bytesHeld).toBe(0)
    }))

  it.effect("refuses a datagram that would exceed 65535 bytes, early or at the end", () =>
    Effect.gen(function*() {
      const { reassembler } = yield* setup()
      // The ping of death: a last fragment at offset 65512 with 100 bytes.
      expect(reassembler.add(rawFragment(bytes(1480), 0, true))).toBe("held")
      const death = rawFragment(bytes(100), 65512, false)
      expect(reassembler.add(death)).toBe("too-big")
      expect(death.isReleased).toBe(true)
      expect(reassembler.queueCount).toBe(0)
      // Ends at 65512: fine for 20 bytes of header, too big with the first fragment's 60.
      const options = Uint8Array.of(148, 4, 0, 0, 7, 35, 4, ...new Uint8Array(32), 0)
      const first = rawFragment(bytes(8), 0, true, { options, identification: 7 })
      const firstView = Ipv4View.parse(first)
      expect(firstView instanceof Ipv4View && firstView.headerLength === 60).toBe(true)
      expect(reassembler.add(first)).toBe("held")
      expect(reassembler.add(rawFragment(bytes(65504), 8, false, { identification: 7 }))).toBe("too-big")
      expect(reassembler.stats.ReasmOversized).toBe(2)
      expect(reassembler.stats.ReasmFails).toBe(2)
      expect(reassembler.bytesHeld).toBe(0)
      expect(reassembler.queueCount).toBe(0)
      expect(first.isReleased).toBe(true)
    }))

  it.effect("combines ECN as RFC 3168 §5.3: CE wins over ECT, Not-ECT with ECT is dropped", () =>
    Effect.gen(function*() {
      const { reassembler } = yield* setup()
      expect(reassembler.add(rawFragment(bytes(8), 0, true, { ecn: 2, identification: 1 }))).toBe("held")
      const ce = reassembler.add(rawFragment(bytes(8), 8, false, { ecn: 3, identification: 1 }))
      if (!(ce instanceof PacketBuffer)) throw new Error(`expected a datagram, got ${ce}`)
      const view = Ipv4View.parse(ce)
      expect(view instanceof Ipv4View && view.ecn === 3 && view.verifyChecksum()).toBe(true)
      ce.release()
      expect(reassembler.add(rawFragment(bytes(8), 0, true, { ecn: 0, identification: 2 }))).toBe("held")
      expect(reassembler.add(rawFragment(bytes(8), 8, false, { ecn: 2, identification: 2 }))).toBe("ecn-mismatch")
      expect(reassembler.bytesHeld).toBe(0)
    }))

  it.effect("shares the fragments' data: a datagram cut by fragmentIpv4 comes back over its own storage", () =>
    Effect.gen(function*() {
      const { reassembler } = yield* setup()
      const input = datagram({ payload: bytes(4000) })
      const pieces = mustFragment(input, 1500)
      const results = [...pieces].reverse().map((p) => reassembler.add(p))
      const whole = results[results.length - 1]
      if (!(whole instanceof PacketBuffer)) throw new Error(`expected a datagram, got ${whole}`)
      expect(whole.toUint8Array()).toEqual(input.toUint8Array())
      // The first piece's buffer carries the header and its data; the rest is one merged run of the input.
      expect(whole.fragments.map((f) => f.storage === input.sharedStorage)).toEqual([true, true])
      whole.release()
      input.release()
      expect(input.sharedStorage.refs).toBe(0)
    }))

  it.effect("drops what is not a well-formed fragment, hands back what is not a fragment", () =>
    Effect.gen(function*() {
      const { reassembler } = yield* setup()
      const garbage = PacketBuffer.fromBytes(Uint8Array.of(0x45, 0, 0))
      expect(reassembler.add(garbage)).toBe("invalid")
      expect(garbage.isReleased).toBe(true)
      // MF with fewer than 8 bytes of data: nothing left once cut to a multiple of 8.
      expect(reassembler.add(rawFragment(bytes(7), 0, true))).toBe("invalid")
      const whole = datagram({ payload: bytes(10) })
      expect(reassembler.add(whole)).toBe(whole)
      expect(reassembler.stats.ReasmInvalid).toBe(2)
      expect(reassembler.stats.ReasmReqds).toBe(2)
      whole.release()
    }))
})
