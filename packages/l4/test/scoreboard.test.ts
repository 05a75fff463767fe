/**
 * The sender's SACK scoreboard (RFC 6675 §3-§4, RFC 2018 §3, RFC 2883 §4):
 * the range-arithmetic implementation agrees with a byte-by-byte model that
 * follows the RFC's per-octet text literally, over generated SACK streams
 * (una near 2^32 included); D-SACK detection on RFC 2883's examples;
 * RFC 6675's rules worked by hand; limits and bad input.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import type { SackBlock } from "../src/tcp/receive-buffer.ts"
import { propertyRuns } from "@netstack/test-support"
import {
  DUP_THRESH,
  type NextSegment,
  type RescueState,
  SCOREBOARD_MAX_RANGES,
  Scoreboard,
  type ScoreboardUpdate
} from "../src/tcp/sack/index.ts"


// ---------------------------------------------------------------------------
// The reference model: one flag per outstanding octet, the RFC's text per octet.
// Its modular arithmetic is written out here, independent of seq.ts.

const U32 = 2 ** 32
/** `base + n` on the 32-bit circle. */
const at = (base: number, n: number): number => (((base + n) % U32) + U32) % U32
/** The signed distance from `base` to `x` on the 32-bit circle. */
const offsetOf = (x: number, base: number): number => {
  const u = (((x - base) % U32) + U32) % U32
  return u >= 2 ** 31 ? u - U32 : u
}
const wellFormed = (x: number): boolean => Number.isInteger(x) && x >= 0 && x < U32

class Model {
  una: number
  highData: number
  /** `sacked[o]`: the octet `una + o` is SACKed; length = outstanding octets. */
  sacked: Array<boolean> = []
  lostMark: number | undefined = undefined

  constructor(una: number) {
    this.una = una
    this.highData = una
  }

  get win(): number {
    return this.sacked.length
  }

  send(octets: number): void {
    this.highData = at(this.highData, octets)
    for (let i = 0; i < octets; i++) this.sacked.push(false)
  }

  /** RFC 6675 §4 Update(): the cumulative ACK moves `advance` octets, then the blocks, octet by octet. */
  ack(advance: number, blocks: ReadonlyArray<SackBlock>): ScoreboardUpdate {
    this.una = at(this.una, advance)
    this.sacked = this.sacked.slice(advance)
    if (this.lostMark !== undefined && offsetOf(this.lostMark, this.una) <= 0) this.lostMark = undefined
    const before = this.sacked.slice()
    const offsets = (b: SackBlock | undefined) =>
      b !== undefined && wellFormed(b.left) && wellFormed(b.right)
        ? { lo: offsetOf(b.left, this.una), hi: offsetOf(b.right, this.una) }
        : undefined
    const first = offsets(blocks[0])
    const second = offsets(blocks[1])
    // RFC 2883 §4: below the cumulative ACK, or inside the second block.
    const dsack = first !== undefined && first.lo < first.hi &&
      (first.lo < 0 || (second !== undefined && first.lo >= second.lo && first.hi <= second.hi))
    let ignoredBlocks = 0
    for (let i = dsack ? 1 : 0; i < blocks.length; i++) {
      const o = offsets(blocks[i])
      if (o === undefined || o.hi <= o.lo || o.lo < 0 || o.hi > this.win) {
        ignoredBlocks += 1
        continue
      }
      for (let x = o.lo; x < o.hi; x++) this.sacked[x] = true
    }
    let newlySacked = 0
    for (let x = 0; x < this.win; x++) if (this.sacked[x] === true && before[x] !== true) newlySacked += 1
    return {
      newlySacked,
      dsack,
      highestSacked: this.highestSacked(),
      ignoredBlocks,
      reneging: this.sacked[0] === true
    }
  }

  highestSacked(): number | undefined {
    const top = this.sacked.lastIndexOf(true)
    return top < 0 ? undefined : at(this.una, top + 1)
  }

  runs(): Array<SackBlock> {
    const out: Array<SackBlock> = []
    for (let x = 0; x < this.win; x++) {
      if (this.sacked[x] !== true) continue
      let end = x
      while (end < this.win && this.sacked[end] === true) end += 1
      out.push({ left: at(this.una, x), right: at(this.una, end) })
      x = end
    }
    return out
  }

  marked(o: number): boolean {
    return this.lostMark !== undefined && o < offsetOf(this.lostMark, this.una)
  }

  /**
   * IsLost(una + o), literally: walk every octet above it; each maximal run
   * of SACKed octets is ⌈length / SMSS⌉ discontiguous SACKed sequences.
   */
  isLostLiteral(o: number, smss: number, d: number): boolean {
    if (this.marked(o)) return true
    let bytes = 0
    let sequences = 0
    let run = 0
    for (let x = o + 1; x <= this.win; x++) {
      if (x < this.win && this.sacked[x] === true) {
        bytes += 1
        run += 1
      } else {
        sequences += Math.ceil(run / smss)
        run = 0
      }
    }
    return sequences >= d || bytes > (d - 1) * smss
  }

  /** IsLost for every octet, the same counts kept in one sweep downward. */
  lostFlags(smss: number, d: number): Array<boolean> {
    const lost: Array<boolean> = new Array<boolean>(this.win).fill(false)
    let bytes = 0
    let closed = 0
    let run = 0
    for (let o = this.win - 1; o >= 0; o--) {
      lost[o] = this.marked(o) || closed + Math.ceil(run / smss) >= d || bytes > (d - 1) * smss
      if (this.sacked[o] === true) {
        bytes += 1
        run += 1
      } else {
        closed += Math.ceil(run / smss)
        run = 0
      }
    }
    return lost
  }

  /** SetPipe(): per unSACKed octet, +1 if not lost, +1 if S1 ≤ HighRxt (HighRxt = highRxt − 1). */
  pipe(highRxt: number, smss: number, d: number): number {
    const lost = this.lostFlags(smss, d)
    let pipe = 0
    for (let o = 0; o < this.win; o++) {
      if (this.sacked[o] === true) continue
      if (!lost[o]) pipe += 1
      if (offsetOf(at(this.una, o), at(highRxt, -1)) <= 0) pipe += 1
    }
    return pipe
  }

  /** NextSeg() rules (1)-(4), octet by octet. */
  nextSeg(highRxt: number, smss: number, newData: number, d: number, rescue?: RescueState): NextSegment | undefined {
    const lost = this.lostFlags(smss, d)
    const highestSackedOctet = this.sacked.lastIndexOf(true)
    const aboveHighRxt = (o: number) => offsetOf(at(this.una, o), at(highRxt, -1)) > 0
    const segmentFrom = (o: number): number => {
      let length = 0
      while (o + length < this.win && this.sacked[o + length] !== true && length < smss) length += 1
      return length
    }
    // (1) S2 > HighRxt, S2 < the highest SACKed octet (waived for marked octets), IsLost(S2).
    for (let o = 0; o < this.win; o++) {
      if (this.sacked[o] !== true && aboveHighRxt(o) && (o < highestSackedOctet || this.marked(o)) && lost[o] === true) {
        return { seq: at(this.una, o), length: segmentFrom(o), kind: "retransmit", rule: 1 }
      }
    }
    // (2) new data from HighData + 1.
    if (newData > 0) return { seq: this.highData, length: Math.min(smss, newData), kind: "new", rule: 2 }
    // (3) (1.a) and (1.b) without (1.c).
    for (let o = 0; o < this.win; o++) {
      if (this.sacked[o] !== true && aboveHighRxt(o) && o < highestSackedOctet) {
        return { seq: at(this.una, o), length: segmentFrom(o), kind: "retransmit", rule: 3 }
      }
    }
    // (4) HighACK > RescueRxt, or RescueRxt undefined: up to SMSS octets ending at the highest unSACKed octet.
    if (rescue === undefined) return undefined
    if (rescue.rescueRxt !== undefined && !(offsetOf(at(this.una, -1), at(rescue.rescueRxt, -1)) > 0)) return undefined
    const top = this.sacked.lastIndexOf(false)
    if (top < 0) return undefined
    let start = top
    while (start - 1 >= 0 && this.sacked[start - 1] !== true && top - start + 1 < smss) start -= 1
    return { seq: at(this.una, start), length: top - start + 1, kind: "rescue", rule: 4 }
  }
}

// ---------------------------------------------------------------------------
// Generated scenarios.

/**
 * A place in the window: a segment boundary (the segment a per-mille of the
 * way through the window's segments, perhaps a part of the way into it), or
 * a per-mille of the window plus a few octets. Below 0 or above 1000: outside.
 */
type Edge = { readonly seg: number; readonly part?: number } | { readonly permille: number; readonly jitter: number }
/** A block's length: whole segments, a part of one (per mille of SMSS), or octets (perhaps none or negative). */
type Span = { readonly segs: number } | { readonly part: number } | { readonly octets: number }
type BlockSpec = { readonly start: Edge; readonly span: Span } | { readonly malformed: number }
type Probe = {
  readonly highRxt: Edge
  readonly newData: number
  readonly rescue: "off" | "unset" | Edge
}
type Step =
  | { readonly kind: "send"; readonly segs: number; readonly extra: number }
  | {
    readonly kind: "ack"
    readonly advance: Edge | "none"
    readonly blocks: ReadonlyArray<BlockSpec>
    readonly dupOfSecond: boolean
  }
  | { readonly kind: "mark" }
  | { readonly kind: "clear" }

const edgeArb: fc.Arbitrary<Edge> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ seg: fc.integer({ min: -80, max: 1080 }) }) },
  { weight: 2, arbitrary: fc.record({ seg: fc.integer({ min: -50, max: 1050 }), part: fc.integer({ min: 1, max: 999 }) }) },
  { weight: 2, arbitrary: fc.record({ permille: fc.integer({ min: -100, max: 1100 }), jitter: fc.integer({ min: -3, max: 3 }) }) }
)
/** How far a cumulative ACK moves: mostly not at all, or part of the window. */
const advanceArb: fc.Arbitrary<Edge | "none"> = fc.oneof(
  { weight: 3, arbitrary: fc.constant("none" as const) },
  { weight: 1, arbitrary: fc.record({ seg: fc.integer({ min: 0, max: 700 }) }) },
  { weight: 1, arbitrary: fc.record({ permille: fc.integer({ min: 0, max: 700 }), jitter: fc.integer({ min: 0, max: 3 }) }) }
)
const spanArb: fc.Arbitrary<Span> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ segs: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 3, arbitrary: fc.record({ part: fc.integer({ min: 1, max: 999 }) }) },
  { weight: 2, arbitrary: fc.record({ octets: fc.integer({ min: 1, max: 250 }) }) },
  { weight: 1, arbitrary: fc.record({ octets: fc.integer({ min: -50, max: 0 }) }) }
)
const blockArb: fc.Arbitrary<BlockSpec> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ start: edgeArb, span: spanArb }) },
  { weight: 1, arbitrary: fc.record({ malformed: fc.constantFrom(-1, 0.5, U32, Number.NaN) }) }
)
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("send" as const), segs: fc.integer({ min: 1, max: 6 }), extra: fc.integer({ min: 0, max: 99 }) }) },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant("ack" as const),
      advance: advanceArb,
      blocks: fc.array(blockArb, { maxLength: 4 }),
      dupOfSecond: fc.boolean()
    })
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("mark" as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("clear" as const) }) }
)
const probeArb: fc.Arbitrary<Probe> = fc.record({
  highRxt: edgeArb,
  newData: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 300 })),
  rescue: fc.oneof(fc.constant("off" as const), fc.constant("unset" as const), edgeArb)
})
const scenarioArb = fc.record({
  una: fc.oneof(fc.integer({ min: 0, max: U32 - 1 }), fc.integer({ min: U32 - 3000, max: U32 - 1 })),
  smss: fc.oneof(fc.constantFrom(1, 3, 10, 100), fc.integer({ min: 1, max: 100 })),
  initial: fc.integer({ min: 1, max: 20 }),
  dupThresh: fc.constantFrom(3, 3, 3, 1, 2, 4),
  steps: fc.array(fc.tuple(stepArb, fc.array(probeArb, { minLength: 1, maxLength: 3 })), { minLength: 1, maxLength: 14 })
})

const MAX_SEGMENTS = 20

/** An edge's offset from SND.UNA in a window of `win` octets. */
const edgeOffset = (edge: Edge, smss: number, win: number): number =>
  "seg" in edge
    ? Math.floor((edge.seg * Math.ceil(win / smss)) / 1000) * smss + Math.floor(((edge.part ?? 0) * smss) / 1000)
    : Math.floor((edge.permille * win) / 1000) + edge.jitter

const blockOf = (spec: BlockSpec, model: Model, smss: number): SackBlock => {
  if ("malformed" in spec) return { left: spec.malformed, right: at(model.una, 1) }
  const lo = edgeOffset(spec.start, smss, model.win)
  const span = spec.span
  const length = "segs" in span
    ? span.segs * smss
    : "part" in span
    ? Math.max(1, Math.floor((span.part * smss) / 1000))
    : span.octets
  return { left: at(model.una, lo), right: at(model.una, lo + length) }
}

describe("Scoreboard against the octet-by-octet model of RFC 6675", () => {
  it("agrees on Update(), the ranges, IsLost(), SetPipe() and NextSeg() for generated SACK streams", () => {
    fc.assert(
      fc.property(scenarioArb, ({ dupThresh, initial, smss, steps, una }) => {
        const model = new Model(una)
        const board = new Scoreboard()
        model.send(initial * smss)
        for (const [step, probes] of steps) {
          switch (step.kind) {
            case "send": {
              const room = MAX_SEGMENTS * smss - model.win
              model.send(Math.max(0, Math.min(room, step.segs * smss + (step.extra % smss))))
              break
            }
            case "mark":
              model.lostMark = model.highData
              board.markAllLost(model.highData)
              break
            case "clear":
              model.sacked.fill(false)
              model.lostMark = undefined
              board.clear()
              break
            case "ack": {
              const advance = step.advance === "none"
                ? 0
                : Math.max(0, Math.min(model.win, edgeOffset(step.advance, smss, model.win)))
              const newUna = at(model.una, advance)
              const shadow = new Model(newUna)
              shadow.sacked = model.sacked.slice(advance)
              const blocks = step.blocks.map((spec) => blockOf(spec, shadow, smss))
              const second = blocks[1]
              if (step.dupOfSecond && second !== undefined && blocks.length >= 2) {
                // A duplicate inside the second block: RFC 2883 §4.1.3's pattern.
                blocks[0] = { left: second.left, right: at(second.left, 1) }
              }
              const expected = model.ack(advance, blocks)
              expect(board.update(newUna, model.highData, blocks)).toEqual(expected)
              break
            }
          }
          expect(board.blocks()).toEqual(model.runs())
          expect(board.sackedBytes).toBe(model.sacked.filter((s) => s).length)
          expect(board.highestSacked).toBe(model.highestSacked())
          const lost = model.lostFlags(smss, dupThresh)
          const fast: Array<boolean> = []
          for (let o = 0; o < model.win; o++) fast.push(board.isLost(at(model.una, o), smss, dupThresh))
          expect(fast).toEqual(lost)
          // The sweep is the literal definition, checked at a few octets.
          for (const o of [0, model.win >> 1, model.win - 1]) {
            if (o >= 0 && o < model.win) expect(model.isLostLiteral(o, smss, dupThresh)).toBe(lost[o])
          }
          for (const probe of probes) {
            const highRxt = at(model.una, edgeOffset(probe.highRxt, smss, model.win))
            expect(board.pipe(model.una, model.highData, highRxt, smss, dupThresh)).toBe(model.pipe(highRxt, smss, dupThresh))
            const rescue: RescueState | undefined = probe.rescue === "off"
              ? undefined
              : probe.rescue === "unset"
              ? { rescueRxt: undefined }
              : { rescueRxt: at(model.una, edgeOffset(probe.rescue, smss, model.win)) }
            expect(board.nextSeg(model.una, model.highData, highRxt, smss, probe.newData, dupThresh, rescue))
              .toEqual(model.nextSeg(highRxt, smss, probe.newData, dupThresh, rescue))
          }
        }
      }),
      { numRuns: propertyRuns(300) }
    )
  })
})

// ---------------------------------------------------------------------------
// Hand-worked cases.

/** SMSS 1000, segment k (1-based) = [base + (k − 1)·1000, base + k·1000). */
const SMSS = 1000
const seg = (base: number, k: number): SackBlock => ({ left: at(base, (k - 1) * SMSS), right: at(base, k * SMSS) })
const segs = (base: number, from: number, to: number): SackBlock => ({ left: seg(base, from).left, right: seg(base, to).right })

describe("D-SACK detection (RFC 2883 §4)", () => {
  it("§4.1.1: a duplicate below the cumulative ACK is a D-SACK, not recorded", () => {
    // 3000-3499 and 3500-3999 arrive, their ACKs are lost; 3000-3499 is retransmitted: ACK 4000, SACK 3000-3500.
    const board = new Scoreboard()
    const result = board.update(4000, 4000, [{ left: 3000, right: 3500 }])
    expect(result).toEqual({ newlySacked: 0, dsack: true, highestSacked: undefined, ignoredBlocks: 0, reneging: false })
    expect(board.blocks()).toEqual([])
    expect(board.counters.dsackBlocks).toBe(1)
  })

  it("§4.1.2: a D-SACK below the ACK followed by an ordinary SACK block, which is recorded", () => {
    // 4000-4499 lost, 4500-4999 SACKed; the duplicate 3000-3499 arrives: ACK 4000, SACK 3000-3500, 4500-5000.
    const board = new Scoreboard()
    board.update(4000, 5000, [{ left: 4500, right: 5000 }])
    const result = board.update(4000, 5000, [{ left: 3000, right: 3500 }, { left: 4500, right: 5000 }])
    expect(result.dsack).toBe(true)
    expect(result.newlySacked).toBe(0)
    expect(result.ignoredBlocks).toBe(0)
    expect(board.blocks()).toEqual([{ left: 4500, right: 5000 }])
  })

  it("§4.1.3: a duplicate of an out-of-order segment lies inside the second block", () => {
    // 4000-4499 lost; 4500-5499 SACKed; 5000-5499 duplicated: ACK 4000, SACK 5000-5500, 4500-5500.
    const board = new Scoreboard()
    board.update(4000, 5500, [{ left: 4500, right: 5500 }])
    const result = board.update(4000, 5500, [{ left: 5000, right: 5500 }, { left: 4500, right: 5500 }])
    expect(result.dsack).toBe(true)
    expect(board.blocks()).toEqual([{ left: 4500, right: 5500 }])
    expect(board.sackedBytes).toBe(1000)
  })

  it("§4.2: D-SACKs of duplicate subsegments after a cumulative ACK jump", () => {
    // ACK 3000 with SACK 1500-2000 (a duplicated piece) then 3500-4000 (an ordinary block).
    const board = new Scoreboard()
    board.update(1000, 4000, [{ left: 1500, right: 3000 }, { left: 3500, right: 4000 }])
    const result = board.update(3000, 4000, [{ left: 1500, right: 2000 }, { left: 3500, right: 4000 }])
    expect(result.dsack).toBe(true)
    expect(board.blocks()).toEqual([{ left: 3500, right: 4000 }])
    expect(board.sackedBytes).toBe(500)
  })

  it("an ordinary first block is not a D-SACK: above the ACK and not inside the second", () => {
    const board = new Scoreboard()
    const result = board.update(1000, 5000, [{ left: 3000, right: 3500 }, { left: 2000, right: 2500 }])
    expect(result.dsack).toBe(false)
    expect(result.newlySacked).toBe(1000)
    // Overlapping the second block but not inside it: also ordinary.
    expect(board.update(1000, 5000, [{ left: 2400, right: 2600 }, { left: 2000, right: 2500 }]).dsack).toBe(false)
    // Only the first block may be a D-SACK; a later block below SND.UNA is invalid.
    const later = board.update(1000, 5000, [{ left: 4000, right: 4500 }, { left: 500, right: 900 }])
    expect(later).toMatchObject({ dsack: false, ignoredBlocks: 1 })
    expect(board.counters.belowUna).toBe(1)
  })

  it("works across the wrap: a D-SACK just below an ACK that wrapped past 2^32", () => {
    const board = new Scoreboard()
    const result = board.update(200, 1200, [{ left: U32 - 300, right: 100 }, { left: 500, right: 700 }])
    expect(result.dsack).toBe(true)
    expect(board.blocks()).toEqual([{ left: 500, right: 700 }])
  })
})

describe("IsLost(), SetPipe() and NextSeg() worked by hand (RFC 6675 §4)", () => {
  const base = 1
  const highData = seg(base, 10).right // segments 1-10 sent

  it("IsLost(segment 1) is true with three segments above SACKed, false with two", () => {
    const three = new Scoreboard()
    three.update(base, highData, [segs(base, 2, 4)])
    expect(three.isLost(base, SMSS)).toBe(true)
    expect(three.isLost(seg(base, 1).right - 1, SMSS)).toBe(true)
    const two = new Scoreboard()
    two.update(base, highData, [segs(base, 2, 3)])
    expect(two.isLost(base, SMSS)).toBe(false)
    // One octet more than (DupThresh − 1)·SMSS above: lost.
    two.update(base, highData, [{ left: seg(base, 4).left, right: seg(base, 4).left + 1 }])
    expect(two.isLost(base, SMSS)).toBe(true)
  })

  it("counts discontiguous SACKed sequences: three small pieces are three, two are not enough", () => {
    const board = new Scoreboard()
    const piece = (k: number): SackBlock => ({ left: seg(base, k).left, right: seg(base, k).left + 100 })
    board.update(base, highData, [piece(3), piece(5)])
    expect(board.isLost(base, SMSS)).toBe(false) // two sequences, 200 octets
    board.update(base, highData, [piece(7)])
    expect(board.isLost(base, SMSS)).toBe(true) // three sequences, 300 octets
    expect(board.isLost(seg(base, 4).left, SMSS)).toBe(false) // two above segment 4
    // A run of 1001 octets is at least two segments' worth; with one more piece, three.
    const mixed = new Scoreboard()
    mixed.update(base, highData, [{ left: seg(base, 3).left, right: seg(base, 4).left + 1 }])
    expect(mixed.isLost(base, SMSS)).toBe(false)
    mixed.update(base, highData, [piece(8)])
    expect(mixed.isLost(base, SMSS)).toBe(true)
    // DupThresh is a parameter.
    expect(mixed.isLost(base, SMSS, 4)).toBe(false)
    // SetPipe() agrees: segments 1 and 2 are lost (three sequences above, 1101 octets); 3-10 less the SACKed are in flight.
    expect(mixed.pipe(base, highData, base, SMSS)).toBe(8000 - 1001 - 100)
    expect(board.pipe(base, highData, base, SMSS)).toBe(8000 - 300)
    expect(board.nextSeg(base, highData, highData, SMSS, 0)).toBeUndefined()
    expect(board.nextSeg(base, highData, base, SMSS, 0)).toEqual({ seq: base, length: SMSS, kind: "retransmit", rule: 1 })
  })

  it("SetPipe(): segments 2-4 SACKed, then segment 1 retransmitted", () => {
    const board = new Scoreboard()
    board.update(base, highData, [segs(base, 2, 4)])
    // Segment 1 is lost (not counted); 5-10 are in flight: 6000.
    expect(board.pipe(base, highData, base, SMSS)).toBe(6000)
    // After the retransmission of segment 1 (HighRxt = its last octet): 7000.
    expect(board.pipe(base, highData, seg(base, 1).right, SMSS)).toBe(7000)
  })

  it("SetPipe(): segments 2, 4 and 6 SACKed — 1 lost, 3 and 5 in flight, 7-10 in flight", () => {
    const board = new Scoreboard()
    board.update(base, highData, [seg(base, 2), seg(base, 4), seg(base, 6)])
    expect(board.isLost(seg(base, 1).left, SMSS)).toBe(true)
    expect(board.isLost(seg(base, 3).left, SMSS)).toBe(false)
    expect(board.pipe(base, highData, base, SMSS)).toBe(6000)
    // Segment 3 retransmitted though not lost (rule 3): counted twice.
    expect(board.pipe(base, highData, seg(base, 3).right, SMSS)).toBe(7000 + 1000)
  })

  it("NextSeg(): rule 1, then new data (rule 2), then rule 3, then nothing or the rescue (rule 4)", () => {
    const board = new Scoreboard()
    board.update(base, highData, [segs(base, 2, 4), seg(base, 6)])
    // (1) segment 1 is lost.
    expect(board.nextSeg(base, highData, base, SMSS, 5000)).toEqual({ seq: base, length: SMSS, kind: "retransmit", rule: 1 })
    let highRxt = seg(base, 1).right
    // Segment 5 has only segment 6 above it: not lost, so new data goes first (2).
    expect(board.nextSeg(base, highData, highRxt, SMSS, 300)).toEqual({ seq: highData, length: 300, kind: "new", rule: 2 })
    // No new data: (3) segment 5, below the highest SACK.
    expect(board.nextSeg(base, highData, highRxt, SMSS, 0)).toEqual({ seq: seg(base, 5).left, length: SMSS, kind: "retransmit", rule: 3 })
    highRxt = seg(base, 5).right
    // Segments 7-10 lie above every SACK: nothing, unless the rescue is on.
    expect(board.nextSeg(base, highData, highRxt, SMSS, 0)).toBeUndefined()
    const recoveryPoint = highData
    // RescueRxt was set to the end of the first retransmission on entering recovery (§5 step 4.3).
    const rescueRxt = seg(base, 1).right
    expect(board.nextSeg(base, highData, highRxt, SMSS, 0, DUP_THRESH, { rescueRxt })).toBeUndefined()
    // The cumulative ACK passes it (segment 1 and 2-4 are in): HighACK > RescueRxt.
    const una = seg(base, 5).left
    board.update(una, highData, [seg(base, 6)])
    expect(board.nextSeg(una, highData, highRxt, SMSS, 0, DUP_THRESH, { rescueRxt })).toEqual({
      seq: seg(base, 10).left,
      length: SMSS,
      kind: "rescue",
      rule: 4
    })
    // Once RescueRxt = RecoveryPoint, no second rescue in this recovery.
    expect(board.nextSeg(una, highData, highRxt, SMSS, 0, DUP_THRESH, { rescueRxt: recoveryPoint })).toBeUndefined()
  })

  it("a retransmission is at most SMSS and stops before SACKed data", () => {
    const board = new Scoreboard()
    board.update(base, highData, [{ left: base + 400, right: seg(base, 5).right }])
    expect(board.nextSeg(base, highData, base, SMSS, 0)).toEqual({ seq: base, length: 400, kind: "retransmit", rule: 1 })
    // A hole of 2500 octets below a long SACKed run.
    const wide = new Scoreboard()
    wide.update(base, highData, [segs(base, 4, 8)])
    expect(wide.nextSeg(base, highData, base + 2000, SMSS, 0)).toEqual({ seq: base + 2000, length: 1000, kind: "retransmit", rule: 1 })
    expect(wide.nextSeg(base, highData, base + 2500, SMSS, 0)).toEqual({ seq: base + 2500, length: 500, kind: "retransmit", rule: 1 })
  })

  it("after markAllLost() (Linux tcp_timeout_mark_lost) every unSACKed octet is lost, even above the highest SACK", () => {
    const board = new Scoreboard()
    board.update(base, highData, [seg(base, 3)])
    expect(board.pipe(base, highData, base, SMSS)).toBe(9000)
    board.markAllLost(highData)
    expect(board.isLost(seg(base, 10).left, SMSS)).toBe(true)
    expect(board.pipe(base, highData, base, SMSS)).toBe(0)
    expect(board.nextSeg(base, highData, seg(base, 3).right, SMSS, 0)).toEqual({ seq: seg(base, 4).left, length: SMSS, kind: "retransmit", rule: 1 })
    // The mark ends when SND.UNA reaches it; clear() drops it and the SACK information.
    board.update(highData, highData, [])
    expect(board.lostMark).toBeUndefined()
    board.markAllLost(highData)
    board.clear()
    expect(board.lostMark).toBeUndefined()
    expect(board.blocks()).toEqual([])
  })
})

describe("limits and bad input", () => {
  it("keeps at most maxRanges ranges, dropping the highest and counting it", () => {
    const board = new Scoreboard()
    const una = U32 - 50_000 // across the wrap too
    const highData = at(una, 200 * 100)
    let newlySacked = 0
    for (let k = 0; k < 100; k++) {
      // Every other 100-octet segment, lowest first, four blocks per ACK.
      const blocks = [0, 1, 2, 3].map((j) => {
        const left = at(una, (2 * (4 * k + j) + 1) * 100)
        return { left, right: at(left, 100) }
      }).filter((b) => offsetOf(b.right, una) <= 200 * 100)
      newlySacked += board.update(una, highData, blocks).newlySacked
    }
    const ranges = board.blocks()
    expect(ranges.length).toBe(SCOREBOARD_MAX_RANGES)
    expect(ranges[0]).toEqual({ left: at(una, 100), right: at(una, 200) })
    expect(ranges[ranges.length - 1]).toEqual({ left: at(una, 127 * 100), right: at(una, 128 * 100) })
    expect(board.counters.droppedRanges).toBe(100 - SCOREBOARD_MAX_RANGES)
    expect(board.sackedBytes).toBe(SCOREBOARD_MAX_RANGES * 100)
    expect(newlySacked).toBe(board.sackedBytes)
    // Merging two ranges by a block between them frees a place for a dropped one.
    const bridged = board.update(una, highData, [{ left: at(una, 200), right: at(una, 300) }, {
      left: at(una, 12_900),
      right: at(una, 13_000)
    }])
    expect(bridged.newlySacked).toBe(200)
    expect(board.blocks().length).toBe(SCOREBOARD_MAX_RANGES)
  })

  it("a smaller bound may be chosen; an invalid one falls back to the default", () => {
    const small = new Scoreboard({ maxRanges: 2 })
    const r = small.update(0, 1000, [{ left: 100, right: 200 }, { left: 300, right: 400 }, { left: 500, right: 600 }])
    // The first block was recorded and the third dropped at once: 200 octets newly SACKed remain.
    expect(r.newlySacked).toBe(200)
    expect(small.blocks()).toEqual([{ left: 100, right: 200 }, { left: 300, right: 400 }])
    expect(new Scoreboard({ maxRanges: 0 }).maxRanges).toBe(SCOREBOARD_MAX_RANGES)
  })

  it("ignores empty, inverted, out-of-window and malformed blocks, counted by reason", () => {
    const board = new Scoreboard()
    const una = U32 - 100
    const highData = at(una, 1000)
    const result = board.update(una, highData, [
      { left: at(una, 10), right: at(una, 20) }, // ordinary, first
      { left: at(una, 50), right: at(una, 50) }, // empty
      { left: at(una, 80), right: at(una, 60) }, // inverted
      { left: at(una, -50), right: at(una, -10) }, // below SND.UNA
      { left: at(una, -10), right: una }, // below SND.UNA, up to it
      { left: at(una, -5), right: at(una, 30) }, // straddles SND.UNA
      { left: at(una, 900), right: at(una, 1001) }, // beyond SND.MAX
      { left: 1.5, right: 3 }, // malformed
      { left: at(una, 990), right: highData } // ordinary, ends at SND.MAX
    ])
    expect(result).toEqual({ newlySacked: 20, dsack: false, highestSacked: highData, ignoredBlocks: 7, reneging: false })
    expect(board.counters).toEqual({
      malformed: 1,
      empty: 1,
      inverted: 1,
      belowUna: 2,
      straddlesUna: 1,
      beyondHighData: 1,
      dsackBlocks: 0,
      droppedRanges: 0
    })
    expect(board.blocks()).toEqual([{ left: at(una, 10), right: at(una, 20) }, { left: at(una, 990), right: highData }])
  })

  it("trims what the cumulative ACK covers and reports reneging when it stops inside SACKed data", () => {
    const board = new Scoreboard()
    board.update(0, 5000, [{ left: 1000, right: 2000 }, { left: 3000, right: 4000 }])
    const result = board.update(1500, 5000, [])
    expect(result.reneging).toBe(true)
    expect(board.blocks()).toEqual([{ left: 1500, right: 2000 }, { left: 3000, right: 4000 }])
    expect(board.sackedBytes).toBe(1500)
    expect(board.update(2000, 5000, []).reneging).toBe(false)
    expect(board.sackedBytes).toBe(1000)
  })

  it("isSacked() is true only for ranges wholly SACKed, across the wrap", () => {
    const board = new Scoreboard()
    const una = U32 - 500
    board.update(una, at(una, 2000), [{ left: at(una, 300), right: at(una, 900) }])
    expect(board.isSacked(at(una, 300), 600)).toBe(true)
    expect(board.isSacked(U32 - 1, 2)).toBe(true)
    expect(board.isSacked(at(una, 299), 2)).toBe(false)
    expect(board.isSacked(at(una, 800), 101)).toBe(false)
    expect(board.isSacked(at(una, 400), 0)).toBe(false)
  })

  it("never throws on nonsense arguments", () => {
    const board = new Scoreboard()
    board.update(0, 10_000, [{ left: 1000, right: 2000 }, { left: 3000, right: 4000 }, { left: 5000, right: 6000 }])
    expect(board.update(Number.NaN, 5, [{ left: 1, right: 2 }])).toMatchObject({ ignoredBlocks: 1, newlySacked: 0 })
    expect(board.isLost(0, 0)).toBe(board.isLost(0, 536))
    expect(board.isLost(0, 1000, -1)).toBe(board.isLost(0, 1000, 3))
    expect(board.pipe(10_000, 0, 0, 1000)).toBe(0) // SND.MAX before SND.UNA: no window
    expect(board.pipe(0, 10_000, Number.NaN, 1000)).toBe(board.pipe(0, 10_000, 0, 1000))
    expect(board.nextSeg(0, 10_000, 0, Number.POSITIVE_INFINITY, Number.NaN)).toEqual({ seq: 0, length: 536, kind: "retransmit", rule: 1 })
    // Past every SACK, rules (1)-(3) fail; a nonsense RescueRxt allows no rescue, an unset one does.
    expect(board.nextSeg(0, 10_000, 6000, 1000, 0, 3, { rescueRxt: -7 })).toBeUndefined()
    expect(board.nextSeg(0, 10_000, 6000, 1000, 0, 3, { rescueRxt: undefined })).toEqual({ seq: 9000, length: 1000, kind: "rescue", rule: 4 })
  })

  it("SetPipe() and NextSeg() are range arithmetic: a 1 GiB window with 64 ranges costs no more than a small one", () => {
    const board = new Scoreboard()
    const una = U32 - 1000
    const mss = 1460
    const highData = at(una, 2 ** 30)
    // 64 SACKed segments spread across the window, every 16 MiB.
    const blocks: Array<SackBlock> = []
    for (let k = 1; k <= 64; k++) blocks.push({ left: at(una, k * 2 ** 24 - mss), right: at(una, k * 2 ** 24) })
    for (let i = 0; i < blocks.length; i += 4) board.update(una, highData, blocks.slice(i, i + 4))
    expect(board.blocks().length).toBe(64)
    // Below the 62nd SACKed segment three segments lie above: lost. The unSACKed octets from there up are in flight.
    const expected = 2 ** 30 - (62 * 2 ** 24 - mss) - 3 * mss
    // A per-octet walk would take seconds a call: a thousand calls would time the test out.
    for (let i = 0; i < 1000; i++) expect(board.pipe(una, highData, una, mss)).toBe(expected)
    expect(board.nextSeg(una, highData, una, mss, 0)).toEqual({ seq: una, length: mss, kind: "retransmit", rule: 1 })
  })
})
