/**
 * The congestion window on the wire: a scripted peer acknowledges the
 * host's segments and the test counts what each ACK releases, against the
 * RFCs' formulas computed alongside — the initial window (RFC 6928), slow
 * start and congestion avoidance with byte counting (RFC 5681 §3.1, RFC
 * 3465), the reductions on fast retransmit (RFC 5681 §3.2 eq. 4, RFC 6582)
 * and on a timeout (the loss window, RFC 5681 §3.1), and CUBIC (RFC 9438:
 * β = 0.7, K, W_cubic(t) and the per-ACK growth toward it).
 *
 * Every test uses MSS 1000 without timestamps (so SMSS = 1000 and windows
 * are whole thousands) and a peer window far above cwnd, so cwnd alone
 * limits the sender; the application always has data waiting.
 */
import { describe, expect, it } from "@effect/vitest"
import { CUBIC_BETA, CUBIC_C, type CubicController, newReno } from "@netstack/l4"
import { Effect } from "effect"
import { openWithRtt, ranges } from "./support/tcp-flows.ts"
import { type OutSegment, TcpPeer } from "./support/tcp-peer.ts"

const SMSS = 1000
const RTT = 100

/** A host with Reno or CUBIC, connected to the peer with MSS 1000, a `rtt` ms handshake and window scale 7 (a window of 8 MB). */
const connected = (options: { readonly reno?: boolean; readonly sack?: boolean; readonly rtt?: number } = {}) =>
  Effect.gen(function*() {
    const peer = yield* TcpPeer.make({
      tcp: { timestamps: false, sack: options.sack ?? false },
      ...(options.reno === false ? {} : { congestion: newReno })
    })
    const connection = yield* openWithRtt(peer, options.rtt ?? RTT, {
      mss: SMSS,
      wscale: 7,
      ...(options.sack === true ? { sackOk: true } : {})
    })
    // The peer's first ACK carries its scaled window: a window update, before anything is in flight, so the
    // duplicate ACKs of the tests that count them all leave the window as it is (RFC 5681 §2 (e)).
    yield* peer.send({ flags: ".", ack: 1 })
    // More than any test sends: the sender is never application-limited.
    yield* peer.run(connection.write(new Uint8Array(400_000)))
    return { peer, connection }
  })

/**
 * RFC 5681 §3.1 with RFC 3465 byte counting, as the RFCs state it: in slow
 * start (cwnd < ssthresh) cwnd += min(N, L·SMSS) per ACK of N bytes; in
 * congestion avoidance bytes_acked += N and, once bytes_acked ≥ cwnd,
 * bytes_acked −= cwnd and cwnd += SMSS. Tracks the flight to say how many
 * segments each ACK lets go (a segment may start while flight < cwnd).
 */
class RenoModel {
  cwnd: number
  ssthresh: number
  flight = 0
  private bytesAcked = 0
  private readonly limit: number

  constructor(cwnd: number, ssthresh: number, limit: number) {
    this.cwnd = cwnd
    this.ssthresh = ssthresh
    this.limit = limit
  }

  /** Sends what cwnd allows; returns the segments sent. */
  send(): number {
    const segments = Math.max(0, Math.ceil((this.cwnd - this.flight) / SMSS))
    this.flight += segments * SMSS
    return segments
  }

  /** An ACK of `n` new bytes; returns the segments it releases. */
  ack(n: number): number {
    this.flight -= n
    if (this.cwnd < this.ssthresh) {
      this.cwnd += Math.min(n, this.limit * SMSS)
    } else {
      this.bytesAcked += n
      if (this.bytesAcked >= this.cwnd) {
        this.bytesAcked -= this.cwnd
        this.cwnd += SMSS
      }
    }
    return this.send()
  }
}

/**
 * One round trip: lets `RTT` ms pass, then the peer acknowledges the
 * segments of `flight` in order, one ACK each. Returns how many segments
 * the host sent after each ACK, and those segments (the next round).
 */
const nextRound = (peer: TcpPeer, flight: ReadonlyArray<OutSegment>, rtt = RTT) =>
  Effect.gen(function*() {
    yield* peer.after(rtt)
    const released: Array<number> = []
    const next: Array<OutSegment> = []
    for (const segment of flight) {
      yield* peer.send({ flags: ".", ack: segment.seq + segment.length })
      const sent = peer.takeAll()
      released.push(sent.length)
      next.push(...sent)
    }
    return { released, next }
  })

describe("TCP congestion window on the wire: Reno (RFC 5681, RFC 3465, RFC 6582)", () => {
  it.effect("the initial window is min(10·MSS, max(2·MSS, 14600)) (RFC 6928 §2): 10 segments of 1000, of 1460 and of 536 bytes", () =>
    Effect.gen(function*() {
      for (const mss of [1000, 1460, undefined]) {
        const peer = yield* TcpPeer.make({ tcp: { timestamps: false } })
        const connection = yield* openWithRtt(peer, RTT, mss === undefined ? {} : { mss })
        yield* peer.run(connection.write(new Uint8Array(100_000)))
        const smss = mss ?? 536 // no MSS option: 536 (RFC 9293 §3.7.1)
        const iw = Math.min(10 * smss, Math.max(2 * smss, 14_600))
        expect(connection.info().cwnd).toBe(iw)
        const flight = peer.takeAll()
        expect(flight.length).toBe(10)
        expect(flight.every((s) => s.length === smss)).toBe(true)
        expect(connection.info().inFlight).toBe(iw)
      }
    }))

  it.effect("slow start: each ACK of one segment lets two go, so the flight doubles every RTT: 10, 20, 40, 80", () =>
    Effect.gen(function*() {
      const { peer, connection } = yield* connected()
      const first = peer.takeAll()
      expect(first.length).toBe(10)
      const model = new RenoModel(10 * SMSS, Number.POSITIVE_INFINITY, 2)
      model.send()
      let flight = first
      const rounds: Array<number> = []
      for (let round = 0; round < 3; round++) {
        const { released, next } = yield* nextRound(peer, flight)
        expect(released).toEqual(released.map(() => model.ack(SMSS)))
        rounds.push(next.length)
        flight = next
      }
      expect(rounds).toEqual([20, 40, 80])
      expect(connection.info().cwnd).toBe(80 * SMSS)
    }))

  it.effect("slow start with byte counting (RFC 3465 §2.2, L = 2): an ACK of 1, 2 or 3 segments grows cwnd by 1, 2 and 2 SMSS", () =>
    Effect.gen(function*() {
      const { peer, connection } = yield* connected()
      peer.takeAll()
      yield* peer.after(RTT)
      // Each release is the segments acknowledged plus the growth.
      yield* peer.send({ flags: ".", ack: 1 + 1 * SMSS })
      expect(peer.takeAll().length).toBe(1 + 1)
      yield* peer.send({ flags: ".", ack: 1 + 3 * SMSS })
      expect(peer.takeAll().length).toBe(2 + 2)
      yield* peer.send({ flags: ".", ack: 1 + 6 * SMSS })
      expect(peer.takeAll().length).toBe(3 + 2) // min(N, 2·SMSS): not 3 + 3
      expect(connection.info().cwnd).toBe(10 * SMSS + 5 * SMSS)
    }))

  it.effect("a timeout: cwnd = the loss window, 1 SMSS, and ssthresh = max(FlightSize/2, 2·SMSS) (RFC 5681 §3.1 eq. 4); slow start to ssthresh, then +1 SMSS per RTT", () =>
    Effect.gen(function*() {
      const { peer, connection } = yield* connected()
      expect(peer.takeAll().length).toBe(10)
      // No ACK: the retransmission timer (RTO = 3 × the handshake's 100 ms) fires.
      yield* peer.after(3 * RTT)
      const retransmission = peer.takeAll()
      expect(ranges(retransmission)).toEqual([[1, 1 + SMSS]])
      expect(connection.info().cwnd).toBe(SMSS)
      expect(connection.info().ssthresh).toBe(Math.max((10 * SMSS) / 2, 2 * SMSS))
      // From here the peer acknowledges every segment of each round, one RTT later (the first ten again: SND.NXT
      // went back to SND.UNA, RFC 6298 §5.4's retransmission of the earliest segment and the rest as cwnd allows).
      // After a timeout slow start counts at most 1 SMSS per ACK (RFC 3465 §2.3); one-segment ACKs never reach it.
      const model = new RenoModel(SMSS, 5 * SMSS, 1)
      model.send()
      let flight = retransmission
      const rounds: Array<number> = []
      for (let round = 0; round < 8; round++) {
        const { released, next } = yield* nextRound(peer, flight)
        expect(released, `round ${round + 1}`).toEqual(released.map(() => model.ack(SMSS)))
        rounds.push(next.length)
        flight = next
      }
      // 1 → 2 → 4 → ssthresh 5, then congestion avoidance: one more segment each round.
      expect(rounds).toEqual([2, 4, 5, 6, 7, 8, 9, 10])
      expect(connection.info().cwnd).toBe(model.cwnd)
      expect(connection.info().ssthresh).toBe(5 * SMSS)
    }))

  it.effect("fast retransmit: ssthresh = FlightSize/2, cwnd = ssthresh + 3·SMSS, +1 SMSS per further duplicate, which lets new data go (RFC 5681 §3.2, RFC 6582 §3.2)", () =>
    Effect.gen(function*() {
      const { peer, connection } = yield* connected()
      expect(peer.takeAll().length).toBe(10)
      yield* peer.after(RTT)
      for (let i = 0; i < 3; i++) yield* peer.send({ flags: ".", ack: 1 })
      expect(ranges(peer.takeAll())).toEqual([[1, 1 + SMSS]])
      const ssthresh = Math.max((10 * SMSS) / 2, 2 * SMSS)
      expect(connection.info().ssthresh).toBe(ssthresh)
      expect(connection.info().cwnd).toBe(ssthresh + 3 * SMSS)
      // Each further duplicate inflates cwnd by one segment; new data goes once cwnd exceeds the 10 in flight.
      const released: Array<number> = []
      for (let dup = 4; dup <= 9; dup++) {
        yield* peer.send({ flags: ".", ack: 1 })
        released.push(peer.takeAll().length)
      }
      // cwnd after duplicate n = (5 + n)·SMSS: 9, 10, 11, 12, 13, 14 against a flight of 10, 10, 10, 11, 12, 13.
      expect(released).toEqual([0, 0, 1, 1, 1, 1])
      // The ACK of everything up to `recover` (SND.MAX at the third duplicate) ends recovery: RFC 6582 step 3,
      // cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS), FlightSize = the 4 new segments.
      yield* peer.send({ flags: ".", ack: 1 + 10 * SMSS })
      expect(connection.info().cwnd).toBe(Math.min(ssthresh, 4 * SMSS + SMSS))
      expect(peer.takeAll().length).toBe(1)
    }))

  it.effect("fast retransmit with a small flight: ssthresh = max(FlightSize/2, 2·SMSS) is 2 SMSS for 3 segments in flight", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make({ tcp: { timestamps: false, sack: false }, congestion: newReno })
      const connection = yield* openWithRtt(peer, RTT, { mss: SMSS })
      yield* peer.run(connection.write(new Uint8Array(3 * SMSS)))
      expect(peer.takeAll().length).toBe(3)
      for (let i = 0; i < 3; i++) yield* peer.send({ flags: ".", ack: 1 })
      expect(ranges(peer.takeAll())).toEqual([[1, 1 + SMSS]])
      expect(connection.info().ssthresh).toBe(2 * SMSS) // not 1500
      yield* peer.send({ flags: ".", ack: 1 + 3 * SMSS })
      // Recovery over, cwnd = min(ssthresh, max(0, SMSS) + SMSS) = 2 SMSS: two segments of new data, not three.
      yield* peer.run(connection.write(new Uint8Array(10 * SMSS)))
      expect(peer.takeAll().length).toBe(2)
    }))
})

/**
 * RFC 9438's window after a congestion event, as the RFC states it, in
 * segments: W_cubic(t) = C·(t − K)³ + W_max (§4.2 eq. 1), and on each ACK
 * cwnd += (target − cwnd)/cwnd with target = W_cubic(t + RTT) bounded to
 * [cwnd, 1.5·cwnd] (§4.2, §4.4, §4.5). W_est (§4.3) is tracked too, to
 * check the scenario stays out of the Reno-friendly region.
 */
class CubicModel {
  cwnd: number
  west: number
  readonly k: number
  private readonly wMax: number
  private readonly alpha = (3 * (1 - CUBIC_BETA)) / (1 + CUBIC_BETA)

  constructor(wMax: number, cwndEpoch: number) {
    this.wMax = wMax
    this.cwnd = cwndEpoch
    this.west = cwndEpoch
    this.k = Math.cbrt((wMax - cwndEpoch) / CUBIC_C) // §4.2 eq. 2
  }

  wCubic(t: number): number {
    return CUBIC_C * (t - this.k) ** 3 + this.wMax
  }

  /** An ACK of one segment, `t` seconds into the epoch, with the smoothed RTT `rtt` seconds. */
  ack(t: number, rtt: number): void {
    this.west += this.alpha / this.cwnd // §4.3 eq. 4, one segment acknowledged
    const target = Math.min(Math.max(this.wCubic(t + rtt), this.cwnd), 1.5 * this.cwnd)
    this.cwnd += (target - this.cwnd) / this.cwnd
  }
}

describe("TCP congestion window on the wire: CUBIC (RFC 9438)", () => {
  it.effect("fast retransmit reduces cwnd and ssthresh by β = 0.7 (§4.6): the SACK recovery flight is 7 segments of the 10", () =>
    Effect.gen(function*() {
      const { peer, connection } = yield* connected({ reno: false, sack: true })
      expect(peer.takeAll().length).toBe(10)
      yield* peer.after(RTT)
      // Segment 1 lost, the other nine SACKed: pipe is the retransmission alone, cwnd = ssthresh = 0.7·10 SMSS
      // (RFC 6675 §5): the retransmission and six new segments.
      yield* peer.send({ flags: ".", ack: 1, options: { sack: [[1 + SMSS, 1 + 10 * SMSS]] } })
      const flight = peer.takeAll()
      expect(ranges(flight)).toEqual([[1, 1001], ...Array.from({ length: 6 }, (_, i) => [10_001 + 1000 * i, 11_001 + 1000 * i] as const)])
      expect(connection.info().ssthresh).toBe(CUBIC_BETA * 10 * SMSS)
      expect(connection.info().cwnd).toBe(CUBIC_BETA * 10 * SMSS)
      const cc = connection.tcb.cc as CubicController
      expect(cc.wMax).toBe(10 * SMSS)
    }))

  it.effect("after the reduction cwnd follows W_cubic(t) = C(t − K)³ + W_max: concave up to W_max at t = K, convex beyond (§4.2)", () =>
    Effect.gen(function*() {
      // A long RTT (800 ms) keeps W_est below W_cubic: the cubic region, not the Reno-friendly one (§4.3).
      const rtt = 800
      const { peer, connection } = yield* connected({ reno: false, sack: true, rtt })
      peer.takeAll()
      yield* peer.after(rtt)
      yield* peer.send({ flags: ".", ack: 1, options: { sack: [[1 + SMSS, 1 + 10 * SMSS]] } })
      let flight = peer.takeAll()
      expect(flight.length).toBe(7)
      const cc = connection.tcb.cc as CubicController
      // §4.2 eq. 2 with W_max = 10 and cwnd_epoch = 7 segments: K = ∛((10 − 7)/0.4) ≈ 1.957 s.
      const model = new CubicModel(10, 7)
      const windows: Array<{ readonly t: number; readonly cwnd: number; readonly model: number }> = []
      for (let round = 0; round < 8; round++) {
        yield* peer.after(rtt)
        const next: Array<OutSegment> = []
        for (const segment of flight) {
          // The retransmission fills the hole: its ACK covers the nine SACKed segments and ends recovery
          // (RFC 6675 §5); the congestion-avoidance stage (CUBIC's epoch, t = 0) starts with the next ACK.
          const endsRecovery = segment.seq === 1
          yield* peer.send({ flags: ".", ack: endsRecovery ? 1 + 10 * SMSS : segment.seq + segment.length })
          next.push(...peer.takeAll())
          if (endsRecovery) continue
          const t = (peer.now() * 1000 - (cc.epochStart ?? 0)) / 1e6
          model.ack(t, rtt / 1000)
          // Out of the Reno-friendly region: W_est stays below the cubic target (§4.3).
          expect(model.west).toBeLessThan(model.wCubic(t + rtt / 1000))
        }
        flight = next
        const t = (peer.now() * 1000 - (cc.epochStart ?? 0)) / 1e6
        windows.push({ t, cwnd: (connection.info().cwnd ?? 0) / SMSS, model: model.cwnd })
        expect(flight.length).toBe((connection.info().cwnd ?? 0) / SMSS) // the next round is one cwnd
      }
      expect(cc.k).toBeCloseTo(model.k, 9)
      expect(model.k).toBeCloseTo(1.957, 3)
      // The window the host keeps is the RFC's, in whole segments: never more than one segment off.
      for (const w of windows) expect(Math.abs(w.cwnd - w.model), JSON.stringify(w)).toBeLessThanOrEqual(1)
      // The shape: growth slows to a plateau near W_max = 10 around t = K, then accelerates.
      const growth = windows.slice(1).map((w, i) => w.cwnd - (windows[i]?.cwnd ?? 0))
      expect(windows.map((w) => w.cwnd)).toEqual([8, 9, 10, 11, 13, 17, 24, 35])
      expect(growth.slice(0, 3).every((g) => g <= 1)).toBe(true) // concave, flattening at W_max
      expect(growth.slice(3)).toEqual([...growth.slice(3)].sort((a, b) => a - b)) // convex: ever faster
    }))

  it.effect("a timeout: cwnd = 1 SMSS, ssthresh = 0.7·cwnd (§4.8); the window slow-starts back from one segment", () =>
    Effect.gen(function*() {
      const { peer, connection } = yield* connected({ reno: false })
      expect(peer.takeAll().length).toBe(10)
      yield* peer.after(3 * RTT)
      const retransmission = peer.takeAll()
      expect(ranges(retransmission)).toEqual([[1, 1 + SMSS]])
      expect(connection.info().cwnd).toBe(SMSS)
      expect(connection.info().ssthresh).toBe(CUBIC_BETA * 10 * SMSS)
      const rounds: Array<number> = []
      let flight: ReadonlyArray<OutSegment> = retransmission
      for (let round = 0; round < 3; round++) {
        const { next } = yield* nextRound(peer, flight)
        rounds.push(next.length)
        flight = next
      }
      expect(rounds).toEqual([2, 4, 7]) // slow start, 1 SMSS per ACK after the timeout, until ssthresh = 7
    }))
})
