/**
 * TCP's out-of-order queue (RFC 9293 §3.10.7.4, SACK RFC 2018 §4, D-SACK
 * RFC 2883 §4): adjacent segments join one run, so a whole window fits
 * behind one loss; the bounds in bytes, runs and chunks; and, as a property
 * over random arrivals (duplicates, overlaps, sequence numbers wrapping), the
 * bytes come out once and in order while the queue and its SACK blocks
 * describe exactly what is held.
 */
import { PacketBuffer } from "@netstack/buffers"
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { type InsertResult, ReassemblyQueue, type SackBlock } from "../src/tcp/receive-buffer.ts"
import { seqAdd, seqDiff } from "../src/tcp/seq.ts"
import { concatBytes, propertyRuns } from "@netstack/test-support"


/** Bytes before the payload in the test packets, as the TCP/IP headers are in a real one. */
const HEADERS = 40

/** Queues `bytes` starting at `seq`, carried in a packet after `HEADERS` bytes of headers. */
const insert = (queue: ReassemblyQueue, seq: number, bytes: Uint8Array, rcvNxt: number): InsertResult => {
  const frame = new Uint8Array(HEADERS + bytes.length)
  frame.set(bytes, HEADERS)
  return queue.insert(seq, PacketBuffer.wrap(frame), HEADERS, bytes.length, rcvNxt)
}

/** `n` bytes numbered from `from` (mod 251, so no two nearby bytes are alike). */
const stream = (n: number, from = 0): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (from + i) % 251)

/** Drains the queue at `rcvNxt`, returning the new RCV.NXT and the pieces delivered. */
const drainAll = (queue: ReassemblyQueue, rcvNxt: number): { next: number; pieces: Array<Uint8Array> } => {
  const pieces: Array<Uint8Array> = []
  const next = queue.drain(rcvNxt, (bytes) => pieces.push(bytes.slice()))
  return { next, pieces }
}

const MSS = 1448
const BASE = 0xffff_f000 // sequence numbers wrap within the first segments

describe("ReassemblyQueue: a window behind one loss", () => {
  it("queues 2000 full-sized segments after a one-segment hole as one run, and delivers every byte once, in order", () => {
    const count = 2000
    const data = stream((count + 1) * MSS)
    const queue = new ReassemblyQueue(4 * 1024 * 1024)
    for (let i = 1; i <= count; i++) {
      const result = insert(queue, seqAdd(BASE, i * MSS), data.subarray(i * MSS, (i + 1) * MSS), BASE)
      expect(result).toBe("queued")
    }
    expect(queue.runCount).toBe(1)
    expect(queue.chunkCount).toBe(count)
    expect(queue.length).toBe(count * MSS)
    expect(queue.first).toBe(seqAdd(BASE, MSS))
    expect(queue.end).toBe(seqAdd(BASE, (count + 1) * MSS))
    expect(queue.sackBlocks(3)).toEqual([{ left: seqAdd(BASE, MSS), right: seqAdd(BASE, (count + 1) * MSS) }])
    // The hole is filled: its segment goes to the receive buffer, and the queue drains behind it.
    const { next, pieces } = drainAll(queue, seqAdd(BASE, MSS))
    expect(next).toBe(seqAdd(BASE, (count + 1) * MSS))
    expect(pieces.length).toBe(count)
    expect(concatBytes([data.subarray(0, MSS), ...pieces])).toEqual(data)
    expect(queue.isEmpty).toBe(true)
    expect(queue.isIdle).toBe(true)
    expect(queue.length).toBe(0)
    expect(queue.chunkCount).toBe(0)
    expect(queue.sackBlocks(4)).toEqual([])
  })

  it("holds a whole 4 MiB window behind the hole; the segment past the capacity is pruned", () => {
    const capacity = 4 * 1024 * 1024
    const fits = Math.floor(capacity / MSS)
    const queue = new ReassemblyQueue(capacity)
    const segment = stream(MSS)
    for (let i = 1; i <= fits; i++) expect(insert(queue, seqAdd(BASE, i * MSS), segment, BASE)).toBe("queued")
    expect(insert(queue, seqAdd(BASE, (fits + 1) * MSS), segment, BASE)).toBe("pruned")
    expect(queue.runCount).toBe(1)
    expect(queue.length).toBe(fits * MSS)
  })

  it("joins runs when a piece fills the hole between them, and in reverse order of arrival too", () => {
    const data = stream(5 * MSS)
    const queue = new ReassemblyQueue(1024 * 1024)
    const piece = (i: number): Uint8Array => data.subarray(i * MSS, (i + 1) * MSS)
    expect(insert(queue, seqAdd(BASE, 4 * MSS), piece(4), BASE)).toBe("queued")
    expect(insert(queue, seqAdd(BASE, 2 * MSS), piece(2), BASE)).toBe("queued")
    expect(queue.runCount).toBe(2)
    expect(insert(queue, seqAdd(BASE, 3 * MSS), piece(3), BASE)).toBe("queued")
    expect(queue.runCount).toBe(1)
    expect(insert(queue, seqAdd(BASE, 1 * MSS), piece(1), BASE)).toBe("queued") // put in front of the run
    expect(queue.runCount).toBe(1)
    expect(queue.chunkCount).toBe(4)
    expect(queue.sackBlocks(4)).toEqual([{ left: seqAdd(BASE, MSS), right: seqAdd(BASE, 5 * MSS) }])
    const { next, pieces } = drainAll(queue, seqAdd(BASE, MSS))
    expect(next).toBe(seqAdd(BASE, 5 * MSS))
    expect(concatBytes(pieces)).toEqual(data.subarray(MSS))
  })
})

describe("ReassemblyQueue: bounds", () => {
  it("stops 1-byte adjacent pieces at maxChunks with pruned", () => {
    const queue = new ReassemblyQueue(1024 * 1024)
    expect(queue.maxChunks).toBe(2048)
    let queued = 0
    let result: InsertResult = "queued"
    while (result === "queued" && queued < 10_000) {
      result = insert(queue, seqAdd(BASE, 1 + queued), stream(1, queued), BASE)
      if (result === "queued") queued++
    }
    expect(result).toBe("pruned")
    expect(queued).toBe(queue.maxChunks)
    expect(queue.chunkCount).toBe(queue.maxChunks)
    expect(queue.runCount).toBe(1)
    expect(queue.length).toBe(queue.maxChunks)
    // A larger piece that only overlaps what is held adds no chunk: a duplicate, not pruned.
    expect(insert(queue, seqAdd(BASE, 1), stream(100), BASE)).toBe("duplicate")
  })

  it("stops disjoint runs at maxRuns, but still takes a piece that joins two of them", () => {
    const queue = new ReassemblyQueue(1024 * 1024)
    for (let i = 0; i < queue.maxRuns; i++) expect(insert(queue, seqAdd(BASE, 2 + 2 * i), stream(1), BASE)).toBe("queued")
    expect(queue.runCount).toBe(256)
    expect(insert(queue, seqAdd(BASE, 2 + 2 * 256), stream(1), BASE)).toBe("pruned")
    expect(insert(queue, seqAdd(BASE, 3), stream(1), BASE)).toBe("queued") // fills the hole between the first two
    expect(queue.runCount).toBe(255)
    expect(insert(queue, seqAdd(BASE, 2 + 2 * 256), stream(1), BASE)).toBe("queued")
  })

  it("bounds the bytes by capacityBytes, as set after the queue was made (SO_RCVBUF)", () => {
    const queue = new ReassemblyQueue(1000)
    expect(insert(queue, seqAdd(BASE, 10), stream(1000), BASE)).toBe("queued")
    expect(insert(queue, seqAdd(BASE, 1010), stream(1), BASE)).toBe("pruned")
    queue.capacityBytes = 2000
    expect(insert(queue, seqAdd(BASE, 1010), stream(1), BASE)).toBe("queued")
  })
})

describe("ReassemblyQueue: trimming, duplicates and SACK blocks", () => {
  it("trims a segment to RCV.NXT and keeps only the bytes not held", () => {
    const queue = new ReassemblyQueue(1 << 20)
    const data = stream(300)
    expect(insert(queue, seqAdd(BASE, 200), data.subarray(200, 250), BASE)).toBe("queued")
    // Starts below RCV.NXT (BASE + 100) and overlaps the run: only [100, 200) and [250, 300) are new.
    expect(insert(queue, seqAdd(BASE, 50), data.subarray(50, 300), seqAdd(BASE, 100))).toBe("queued")
    expect(queue.first).toBe(seqAdd(BASE, 100))
    expect(queue.length).toBe(200)
    expect(queue.chunkCount).toBe(3)
    expect(queue.holds(seqAdd(BASE, 100), seqAdd(BASE, 300))).toBe(true)
    expect(queue.holds(seqAdd(BASE, 99), seqAdd(BASE, 300))).toBe(false)
    expect(queue.holds(seqAdd(BASE, 100), seqAdd(BASE, 301))).toBe(false)
    expect(queue.lowest(seqAdd(BASE, 150))).toBe(seqAdd(BASE, 100))
    // A segment wholly below RCV.NXT is a duplicate for the queue.
    expect(insert(queue, BASE, data.subarray(0, 100), seqAdd(BASE, 100))).toBe("duplicate")
    const { next, pieces } = drainAll(queue, seqAdd(BASE, 100))
    expect(next).toBe(seqAdd(BASE, 300))
    expect(concatBytes(pieces)).toEqual(data.subarray(100))
  })

  it("drains from inside a run when RCV.NXT has moved into it", () => {
    const queue = new ReassemblyQueue(1 << 20)
    const data = stream(400)
    insert(queue, seqAdd(BASE, 100), data.subarray(100, 200), BASE)
    insert(queue, seqAdd(BASE, 200), data.subarray(200, 300), BASE)
    insert(queue, seqAdd(BASE, 350), data.subarray(350, 400), BASE)
    const { next, pieces } = drainAll(queue, seqAdd(BASE, 250))
    expect(next).toBe(seqAdd(BASE, 300))
    expect(concatBytes(pieces)).toEqual(data.subarray(250, 300))
    expect(pieces.length).toBe(1) // the first chunk lay wholly below RCV.NXT
    expect(queue.first).toBe(seqAdd(BASE, 350))
    expect(queue.length).toBe(50)
    expect(queue.sackBlocks(4)).toEqual([{ left: seqAdd(BASE, 350), right: seqAdd(BASE, 400) }])
  })

  it("reports a duplicate of queued data first, then the block holding it, once (RFC 2883 §4)", () => {
    const queue = new ReassemblyQueue(1 << 20)
    insert(queue, seqAdd(BASE, 100), stream(100), BASE)
    insert(queue, seqAdd(BASE, 500), stream(100), BASE)
    expect(insert(queue, seqAdd(BASE, 120), stream(30), BASE)).toBe("duplicate")
    expect(queue.sackBlocks(3)).toEqual([
      { left: seqAdd(BASE, 120), right: seqAdd(BASE, 150) },
      { left: seqAdd(BASE, 100), right: seqAdd(BASE, 200) },
      { left: seqAdd(BASE, 500), right: seqAdd(BASE, 600) }
    ])
    expect(queue.sackBlocks(3)).toEqual([
      { left: seqAdd(BASE, 500), right: seqAdd(BASE, 600) },
      { left: seqAdd(BASE, 100), right: seqAdd(BASE, 200) }
    ])
  })

  it("reports a duplicate below RCV.NXT and stays not idle until it is reported", () => {
    const queue = new ReassemblyQueue(1 << 20)
    queue.duplicate(BASE, seqAdd(BASE, 10))
    expect(queue.isEmpty).toBe(true)
    expect(queue.isIdle).toBe(false)
    expect(queue.sackBlocks(4)).toEqual([{ left: BASE, right: seqAdd(BASE, 10) }])
    expect(queue.isIdle).toBe(true)
  })

  it("orders blocks by the most recent change, a joined run as one block (RFC 2018 §4)", () => {
    const queue = new ReassemblyQueue(1 << 20)
    const at = (n: number): number => seqAdd(BASE, n)
    insert(queue, at(100), stream(10), BASE) // A
    insert(queue, at(200), stream(10), BASE) // B
    insert(queue, at(300), stream(10), BASE) // C
    expect(queue.sackBlocks(4)).toEqual([{ left: at(300), right: at(310) }, { left: at(200), right: at(210) }, {
      left: at(100),
      right: at(110)
    }])
    insert(queue, at(110), stream(10), BASE) // A grows
    expect(queue.sackBlocks(3)).toEqual([{ left: at(100), right: at(120) }, { left: at(300), right: at(310) }, {
      left: at(200),
      right: at(210)
    }])
    insert(queue, at(210), stream(90), BASE) // B and C join
    expect(queue.runCount).toBe(2)
    expect(queue.sackBlocks(3)).toEqual([{ left: at(200), right: at(310) }, { left: at(100), right: at(120) }])
    queue.clear()
    expect(queue.isIdle).toBe(true)
    expect(queue.length).toBe(0)
    expect(queue.chunkCount).toBe(0)
    expect(queue.sackBlocks(3)).toEqual([])
  })
})

/** A stream cut into pieces that arrive in a random order, with extra pieces overlapping them. */
interface Arrivals {
  readonly base: number
  readonly size: number
  /** `[offset, length)` within the stream, in order of arrival. */
  readonly pieces: ReadonlyArray<readonly [number, number]>
}

const arrivals: fc.Arbitrary<Arrivals> = fc
  .record({
    base: fc.oneof(fc.integer({ min: 0, max: 0xffff_ffff }), fc.integer({ min: 0xffff_f000, max: 0xffff_ffff })),
    size: fc.integer({ min: 1, max: 3000 }),
    cuts: fc.array(fc.nat(), { maxLength: 40 }),
    extras: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 600 })), { maxLength: 20 }),
    order: fc.array(fc.nat(), { maxLength: 80 })
  })
  .map(({ base, cuts, extras, order, size }) => {
    const edges = [...new Set([0, size, ...cuts.map((c) => c % size)])].sort((a, b) => a - b)
    const cover = edges.slice(1).map((edge, i) => [edges[i] ?? 0, edge - (edges[i] ?? 0)] as const)
    const more = extras.map(([at, n]) => [at % size, Math.min(n, size - (at % size))] as const)
    const pieces = [...cover, ...more]
      .map((piece, i) => ({ piece, key: order[i] ?? i }))
      .sort((a, b) => a.key - b.key)
      .map(({ piece }) => piece)
    return { base, size, pieces }
  })

/** The maximal ranges of `have` from `from` on, as stream offsets `[left, right)`. */
const heldRanges = (have: ReadonlyArray<boolean>, from: number): Array<readonly [number, number]> => {
  const out: Array<readonly [number, number]> = []
  let i = from
  while (i < have.length) {
    if (!have[i]) {
      i++
      continue
    }
    const left = i
    while (i < have.length && have[i]) i++
    out.push([left, i])
  }
  return out
}

describe("ReassemblyQueue: random arrivals", () => {
  it("delivers exactly the stream, and its length, runs, holds and SACK blocks match what is held", () => {
    fc.assert(
      fc.property(arrivals, ({ base, pieces, size }) => {
        const data = stream(size, 7)
        const queue = new ReassemblyQueue(size)
        const have: Array<boolean> = new Array<boolean>(size).fill(false)
        const delivered: Array<Uint8Array> = []
        let rcvNxt = base
        const seqAt = (offset: number): number => seqAdd(base, offset)
        const block = ([left, right]: readonly [number, number]): SackBlock => ({ left: seqAt(left), right: seqAt(right) })
        for (const [offset, length] of pieces) {
          // As input.ts's acceptData: trim to RCV.NXT, in order to the buffer, else to the queue.
          const seq = seqAt(offset)
          const end = seqAdd(seq, length)
          const old = seqDiff(rcvNxt, seq)
          let dsack: SackBlock | undefined
          let latest: SackBlock | undefined
          if (old >= length) {
            queue.duplicate(seq, end)
            dsack = { left: seq, right: end }
          } else if (old >= 0) {
            delivered.push(data.subarray(offset + old, offset + length))
            rcvNxt = end
            rcvNxt = queue.drain(rcvNxt, (bytes) => {
              expect(bytes.length).toBeGreaterThan(0)
              delivered.push(bytes.slice())
            })
          } else {
            const result = queue.insert(
              seq,
              PacketBuffer.fromBytes(data.subarray(offset, offset + length)),
              0,
              length,
              rcvNxt
            )
            const isNew = have.slice(offset, offset + length).some((h) => !h)
            expect(result).toBe(isNew ? "queued" : "duplicate")
            if (isNew) latest = { left: seq, right: end }
            else dsack = { left: seq, right: end }
          }
          for (let i = offset; i < offset + length; i++) have[i] = true
          const next = seqDiff(rcvNxt, base)
          expect(concatBytes(delivered).length).toBe(next)
          // The queue holds exactly the bytes received above RCV.NXT.
          const held = heldRanges(have, next)
          expect(queue.length).toBe(held.reduce((n, [l, r]) => n + r - l, 0))
          expect(queue.runCount).toBe(held.length)
          expect(queue.isEmpty).toBe(held.length === 0)
          expect(queue.first).toEqual(held[0] === undefined ? undefined : seqAt(held[0][0]))
          const last = held[held.length - 1]
          expect(queue.end).toEqual(last === undefined ? undefined : seqAt(last[1]))
          for (const [l, r] of held) {
            expect(queue.holds(seqAt(l), seqAt(r))).toBe(true)
            expect(queue.holds(seqAt(l - 1), seqAt(r))).toBe(false)
            expect(queue.holds(seqAt(l), seqAt(r + 1))).toBe(false)
          }
          // SACK blocks: the D-SACK first, then the block holding it; every other block one held range.
          const blocks = [...queue.sackBlocks(4)]
          if (dsack !== undefined) {
            expect(blocks.shift()).toEqual(dsack)
            const holding = held.find(([l, r]) => l <= seqDiff(dsack.left, base) && seqDiff(dsack.left, base) < r)
            if (holding !== undefined) expect(blocks.shift()).toEqual(block(holding))
          }
          const ranges = held.map(block)
          for (const b of blocks) expect(ranges).toContainEqual(b)
          expect(new Set(blocks.map((b) => `${b.left}:${b.right}`)).size).toBe(blocks.length)
          if (latest !== undefined) {
            const first = blocks[0]
            expect(first).toBeDefined()
            if (first !== undefined) {
              expect(seqDiff(latest.left, first.left)).toBeGreaterThanOrEqual(0)
              expect(seqDiff(first.right, latest.right)).toBeGreaterThanOrEqual(0)
            }
          }
        }
        expect(concatBytes(delivered)).toEqual(data)
        expect(queue.isIdle).toBe(true)
        expect(queue.chunkCount).toBe(0)
      }),
      { numRuns: propertyRuns(300) }
    )
  })
})
