/**
 * Scripted segment-level tests of the data path: when the receiver
 * acknowledges (RFC 9293 §3.8.6.3, RFC 5681 §4.2: delayed ACKs, quick-ack,
 * out-of-order data with SACK blocks, RFC 2883 D-SACK), Nagle's algorithm
 * (RFC 9293 §3.7.4), the receive window and receiver SWS avoidance
 * (§3.8.6.2.2), zero windows and the persist timer (§3.8.6.1, RFC 1122
 * §4.2.2.17), the retransmission timer (RFC 6298), fast retransmit
 * (RFC 5681 §3.2), NewReno (RFC 6582) and SACK (RFC 6675) loss recovery,
 * and timestamps (RFC 7323: PAWS, the TSecr echo rules).
 */
import { describe, expect, it } from "@effect/vitest"
import { newReno, type TcpConnection } from "@netstack/l4"
import { Effect, Fiber } from "effect"
import { openWithRtt, ranges } from "./support/tcp-flows.ts"
import { patternBytes, TcpPeer } from "./support/tcp-peer.ts"

const anyNumber = (): number => expect.any(Number) as number

/** The delayed-ACK time (settings.ts `delayedAck`, Linux TCP_DELACK_MIN), ms. */
const DELAYED_ACK_MS = 40

/** ACKs sent at once after the handshake (Linux's quick-ack mode, tcb.ts `quickAcks`). */
const QUICK_ACKS = 16

/**
 * Sends `QUICK_ACKS` one-byte segments and takes their ACKs, so the
 * receiver is past quick-ack mode and delays its ACKs from here on.
 */
const leaveQuickAck = (peer: TcpPeer) =>
  Effect.gen(function*() {
    for (let i = 0; i < QUICK_ACKS; i++) {
      yield* peer.send({ flags: "P.", data: 1 })
      peer.expect({ flags: ".", ack: peer.peerNext })
    }
  })

/** Writes `bytes` in a fiber (the write may wait for room) and lets it run. */
const writeInBackground = (peer: TcpPeer, connection: TcpConnection, bytes: number) =>
  peer.fork(connection.write(new Uint8Array(bytes)))

describe("TCP data path, segment by segment: acknowledgments", () => {
  it.effect("quick-ack after the handshake: the first 16 data segments are acked at once, the 17th is delayed", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      yield* peer.establishActive()
      for (let i = 1; i <= QUICK_ACKS; i++) {
        yield* peer.send({ flags: "P.", data: 10 })
        peer.expect({ flags: ".", seq: 1, ack: 1 + 10 * i, at: 0 })
      }
      yield* peer.send({ flags: "P.", data: 10 })
      peer.expectNone()
    }))

  it.effect("delayed ACK: a lone segment is acked after exactly the delayed-ACK time (RFC 9293 §3.8.6.3)", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      yield* peer.establishActive()
      yield* leaveQuickAck(peer)
      yield* peer.after(100)
      yield* peer.send({ flags: "P.", data: 100 })
      yield* peer.after(DELAYED_ACK_MS - 1)
      peer.expectNone()
      yield* peer.after(1)
      peer.expect({ flags: ".", ack: QUICK_ACKS + 101, at: 100 + DELAYED_ACK_MS })
      expect(peer.host.tcp.stats.DelayedACKs).toBe(1)
      // A second lone segment starts a new delay.
      yield* peer.send({ flags: "P.", data: 100 })
      yield* peer.after(DELAYED_ACK_MS)
      peer.expect({ flags: ".", ack: QUICK_ACKS + 201, at: 100 + 2 * DELAYED_ACK_MS })
    }))

  it.effect("delayed ACK: every second full-sized segment is acked at once (RFC 5681 §4.2), timestamps taking 12 bytes of each", () =>
    Effect.gen(function*() {
      // With timestamps a full-sized segment carries MSS − 12 = 1448 bytes (RFC 9293 §3.7.1).
      const peer = yield* TcpPeer.make()
      yield* peer.establishActive()
      yield* leaveQuickAck(peer)
      const base = QUICK_ACKS + 1
      yield* peer.send({ flags: ".", data: 1448 })
      peer.expectNone()
      yield* peer.send({ flags: "P.", data: 1448 })
      peer.expect({ flags: ".", ack: base + 2 * 1448, at: 0 })
      yield* peer.send({ flags: ".", data: 1448 })
      peer.expectNone()
      yield* peer.send({ flags: ".", data: 1448 })
      peer.expect({ flags: ".", ack: base + 4 * 1448, at: 0 })
      yield* peer.after(DELAYED_ACK_MS)
      peer.expectNone() // nothing left to acknowledge
    }))

  it.effect("delayed ACK without timestamps: two 1460-byte segments are acked at once", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make({ tcp: { timestamps: false } })
      yield* peer.establishActive({ synAck: { mss: 1460, sackOk: true, wscale: 7 } })
      yield* leaveQuickAck(peer)
      yield* peer.send({ flags: ".", data: 1460 })
      peer.expectNone()
      yield* peer.send({ flags: ".", data: 1460 })
      peer.expect({ flags: ".", ack: QUICK_ACKS + 1 + 2920, options: {} })
    }))

  it.effect("out-of-order data is acked at once with SACK blocks, most recent first; filling the gap is acked at once (RFC 5681 §4.2, RFC 2018 §4)", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      const connection = yield* peer.establishActive()
      yield* leaveQuickAck(peer)
      const next = QUICK_ACKS + 1
      yield* peer.send({ flags: "P.", seq: next + 1000, data: 100 })
      peer.expect({ flags: ".", ack: next, options: { ts: [anyNumber(), anyNumber()], sack: [[next + 1000, next + 1100]] } })
      yield* peer.send({ flags: "P.", seq: next + 2000, data: 100 })
      peer.expect({ flags: ".", ack: next, options: { ts: [anyNumber(), anyNumber()], sack: [[next + 2000, next + 2100], [next + 1000, next + 1100]] } })
      expect(peer.host.tcp.stats.TCPOFOQueue).toBe(2)
      expect(connection.info().unread).toBe(QUICK_ACKS)
      // The gap below the first block fills: ACK at once, up to the second gap; one block left.
      yield* peer.send({ flags: "P.", seq: next, data: 1000 })
      peer.expect({ flags: ".", ack: next + 1100, options: { ts: [anyNumber(), anyNumber()], sack: [[next + 2000, next + 2100]] } })
      yield* peer.send({ flags: "P.", seq: next + 1100, data: 900 })
      peer.expect({ flags: ".", ack: next + 2100, options: { ts: [anyNumber(), anyNumber()] } })
      const data = yield* connection.read()
      expect(data?.length).toBe(QUICK_ACKS + 2100)
      expect(data?.subarray(QUICK_ACKS)).toEqual(patternBytes(next, 2100))
    }))

  it.effect("D-SACK (RFC 2883 §4): a duplicate below RCV.NXT is reported below the ACK; a duplicate of queued data inside the second block", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      yield* peer.establishActive()
      yield* leaveQuickAck(peer)
      const next = QUICK_ACKS + 1
      // §4.1.1: a segment received twice, below the cumulative ACK.
      yield* peer.send({ flags: "P.", seq: 1, data: 8 })
      peer.expect({ flags: ".", ack: next, options: { ts: [anyNumber(), anyNumber()], sack: [[1, 9]] } })
      // §4.1.3: a duplicate of out-of-order data: the D-SACK block, then the block holding it — the same here.
      yield* peer.send({ flags: "P.", seq: next + 500, data: 100 })
      peer.expect({ flags: ".", ack: next, options: { ts: [anyNumber(), anyNumber()], sack: [[next + 500, next + 600]] } })
      yield* peer.send({ flags: "P.", seq: next + 500, data: 100 })
      peer.expect({
        flags: ".",
        ack: next,
        options: { ts: [anyNumber(), anyNumber()], sack: [[next + 500, next + 600], [next + 500, next + 600]] }
      })
      // The D-SACK is reported once: the next ACK carries the ordinary block only.
      yield* peer.send({ flags: "P.", seq: next + 700, data: 100 })
      peer.expect({
        flags: ".",
        ack: next,
        options: { ts: [anyNumber(), anyNumber()], sack: [[next + 700, next + 800], [next + 500, next + 600]] }
      })
      // A duplicate of the older block: it comes second, right after the D-SACK, ahead of the more recent one.
      yield* peer.send({ flags: "P.", seq: next + 520, data: 50 })
      peer.expect({
        flags: ".",
        ack: next,
        options: {
          ts: [anyNumber(), anyNumber()],
          sack: [[next + 520, next + 570], [next + 500, next + 600], [next + 700, next + 800]]
        }
      })
    }))
})

describe("TCP data path, segment by segment: Nagle and the receive window", () => {
  it.effect("Nagle (RFC 9293 §3.7.4): a small write goes at once; the next waits for the ACK of the first and goes out coalesced", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      const connection = yield* peer.establishActive()
      yield* peer.run(connection.write(new Uint8Array(100)))
      peer.expect({ flags: "P.", seq: 1, length: 100, at: 0 })
      yield* peer.run(connection.write(new Uint8Array(100)))
      yield* peer.run(connection.write(new Uint8Array(50)))
      yield* peer.after(500)
      peer.expect({ seq: 1, length: 100, at: 200 }) // only the first is retransmitted (RTO 200 ms)
      peer.expectNone()
      yield* peer.send({ flags: ".", ack: 101 })
      peer.expect({ flags: "P.", seq: 101, length: 150, at: 500 })
      peer.expectNone()
    }))

  it.effect("with noDelay small writes go out at once, each in its own segment", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      const connection = yield* peer.establishActive({ connect: { noDelay: true } })
      for (let i = 0; i < 3; i++) yield* peer.run(connection.write(new Uint8Array(100)))
      expect(ranges(peer.takeAll())).toEqual([[1, 101], [101, 201], [201, 301]])
    }))

  it.effect("a full-sized segment is not held by Nagle: a write of 1.5 MSS sends the full segment, holds the rest", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      const connection = yield* peer.establishActive()
      yield* peer.run(connection.write(new Uint8Array(100)))
      peer.expect({ flags: "P.", seq: 1, length: 100 })
      yield* peer.run(connection.write(new Uint8Array(1448 + 700)))
      peer.expect({ flags: ".", seq: 101, length: 1448 })
      peer.expectNone() // 700 bytes wait: data is in flight
      yield* peer.send({ flags: ".", ack: 1549 })
      peer.expect({ flags: "P.", seq: 1549, length: 700 })
    }))

  it.effect("the advertised window shrinks by the unread data to 0; data beyond is dropped; a small read does not reopen it, reading it all does (RFC 9293 §3.8.6.2.2)", () =>
    Effect.gen(function*() {
      // 16 KiB buffer: window scale 0, so the window field is the window in bytes.
      const peer = yield* TcpPeer.make({ tcp: { receiveBuffer: 16_384 } })
      const connection = yield* peer.establishActive()
      for (let i = 1; i <= 11; i++) {
        yield* peer.send({ flags: ".", data: 1448 })
        peer.expect({ flags: ".", ack: 1 + 1448 * i, window: 16_384 - 1448 * i })
      }
      // 456 bytes left: the next full segment is cut to them (RFC 9293 §3.10.7.4: trimmed to the window).
      yield* peer.send({ flags: ".", data: 1448 })
      peer.expect({ flags: ".", ack: 16_385, window: 0 })
      expect(connection.info().unread).toBe(16_384)
      // Beyond a zero window: not acceptable, answered with an ACK that repeats the zero window.
      yield* peer.send({ flags: ".", seq: 16_385, data: 100 })
      peer.expect({ flags: ".", ack: 16_385, window: 0 })
      expect(connection.info().unread).toBe(16_384)
      // Receiver SWS avoidance: 1000 bytes read is less than an MSS: no window update.
      expect((yield* peer.run(connection.read(1000)))?.length).toBe(1000)
      peer.expectNone()
      expect(connection.info().receiveWindow).toBe(0)
      // Reading the rest offers the whole buffer at once: a window update.
      yield* peer.run(connection.read())
      peer.expect({ flags: ".", seq: 1, ack: 16_385, window: 16_384, length: 0 })
      yield* peer.send({ flags: ".", seq: 16_385, data: 100 })
      peer.expect({ flags: ".", ack: 16_485, window: 16_284 })
    }))

  it.effect("a window reopened by a read but by less than an MSS is not advertised; the right edge never moves left", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make({ tcp: { receiveBuffer: 16_384 } })
      const connection = yield* peer.establishActive()
      for (let i = 0; i < 11; i++) yield* peer.send({ flags: ".", data: 1448 })
      peer.takeAll()
      expect(connection.info().receiveWindow).toBe(456)
      yield* peer.run(connection.read(1000)) // 1456 bytes of room: not twice the 456 offered plus an MSS
      peer.expectNone()
      yield* peer.send({ flags: ".", data: 100 })
      // The edge stays where it was (456 − 100 left), not moved by 1000 bytes: growth below one MSS is held back.
      peer.expect({ flags: ".", ack: 1 + 11 * 1448 + 100, window: 356 })
    }))
})

describe("TCP data path, segment by segment: zero window and the persist timer", () => {
  it.effect("a zero window: probes at RTO, then doubling (RFC 9293 §3.8.6.1); answered probes keep the connection beyond `retries` (RFC 1122 §4.2.2.17); data goes when the window opens", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make({ tcp: { retries: 3 } })
      const connection = yield* peer.establishActive({ window: 0 })
      yield* writeInBackground(peer, connection, 2896)
      peer.expectNone()
      expect(connection.info().unsent).toBe(2896)
      // The handshake's RTT sample is 0: RTO = the 200 ms minimum; the probes back off from it.
      const times = [200, 600, 1400, 3000, 6200, 12_600]
      for (const at of times) {
        yield* peer.after(at - peer.now())
        // Linux's probe: <SEQ=SND.UNA − 1>, no data: the receiver must answer with an ACK.
        peer.expect({ flags: ".", seq: 0, ack: 1, length: 0, at })
        yield* peer.send({ flags: ".", window: 0 })
        peer.expectNone()
      }
      expect(peer.host.tcp.stats.TCPWinProbe).toBe(6)
      expect(connection.state).toBe("ESTABLISHED") // six probes answered, `retries` is 3
      yield* peer.after(1000)
      // The window opens: the data goes at once, in MSS-sized segments.
      yield* peer.send({ flags: ".", window: 30 }) // × 2^7 = 3840 bytes
      expect(ranges(peer.takeAll())).toEqual([[1, 1449], [1449, 2897]])
      // The probe timer is gone, and its backoff with it: the data's RTO is the 200 ms base again.
      yield* peer.after(200)
      peer.expect({ flags: ".", seq: 1, length: 1448, at: 13_800 })
    }))

  it.effect("unanswered zero-window probes: after `retries` of them the connection times out", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make({ tcp: { retries: 2 } })
      const connection = yield* peer.establishActive({ window: 0 })
      const reading = yield* peer.fork(connection.read())
      yield* peer.run(connection.write(new Uint8Array(100)))
      yield* peer.after(600)
      expect(peer.takeAll().map((s) => s.at)).toEqual([200, 600])
      yield* peer.after(799)
      expect(connection.state).toBe("ESTABLISHED")
      yield* peer.after(1)
      expect(connection.state).toBe("CLOSED")
      expect(peer.host.tcp.stats.TCPAbortOnTimeout).toBe(1)
      const exit = yield* Fiber.await(reading)
      expect(JSON.stringify(exit)).toContain("timed-out")
      peer.expectNone()
    }))
})

describe("TCP data path, segment by segment: retransmission timer (RFC 6298)", () => {
  it.effect("RTO from the handshake's sample (SRTT + 4·RTTVAR), doubling on each expiry; Karn's rule: no sample from a retransmitted segment", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make({ tcp: { timestamps: false } })
      const connection = yield* openWithRtt(peer, 100, { mss: 1460 })
      // RFC 6298 §2.2: SRTT = 100 ms, RTTVAR = 50 ms, RTO = 100 + 4·50 = 300 ms.
      expect(connection.info().srtt).toBe(100_000)
      expect(connection.info().rto).toBe(300_000)
      yield* peer.run(connection.write(new Uint8Array(100)))
      peer.expect({ flags: "P.", seq: 1, length: 100, at: 100 })
      yield* peer.after(5000)
      // §5.5: RTO doubles each time: 300, 600, 1200, 2400 ms after the previous send.
      const retransmissions = peer.takeAll()
      expect(retransmissions.map((s) => s.at)).toEqual([400, 1000, 2200, 4600])
      for (const s of retransmissions) expect([s.seq, s.length]).toEqual([1, 100])
      expect(connection.info().rto).toBe(4_800_000)
      expect(peer.host.tcp.stats.TCPTimeouts).toBe(4)
      // The ACK of the retransmitted segment: new data acknowledged ends the backoff (§5.7), but gives no sample (§3, Karn).
      yield* peer.after(10)
      yield* peer.send({ flags: ".", ack: 101 })
      expect(connection.info().srtt).toBe(100_000)
      expect(connection.info().rto).toBe(300_000)
      // A segment sent once is timed: a 50 ms sample. §2.3: RTTVAR = 3/4·50 + 1/4·|100 − 50| = 50, SRTT = 7/8·100 + 1/8·50.
      yield* peer.run(connection.write(new Uint8Array(100)))
      peer.expect({ flags: "P.", seq: 101, at: 5110 })
      yield* peer.after(50)
      yield* peer.send({ flags: ".", ack: 201 })
      expect(connection.info().srtt).toBe(93_750)
      expect(connection.info().rto).toBe(93_750 + 4 * 50_000)
    }))

  it.effect("after a retransmitted SYN the handshake gives no sample: the first data RTO is 3 s (RFC 6298 §5.7)", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make({ tcp: { timestamps: false } })
      const connecting = yield* peer.connect()
      peer.expect({ flags: "S", seq: 0, at: 0 })
      yield* peer.after(1000)
      peer.expect({ flags: "S", seq: 0, at: 1000 }) // §2.1: 1 s initial RTO
      yield* peer.after(100)
      yield* peer.send({ flags: "S.", seq: 0, ack: 1, options: { mss: 1460 } })
      peer.expect({ flags: ".", seq: 1, ack: 1 })
      const connection = yield* peer.done(connecting)
      expect(connection.info().srtt).toBeUndefined()
      expect(connection.info().rto).toBe(3_000_000)
      yield* peer.run(connection.write(new Uint8Array(10)))
      peer.expect({ flags: "P.", seq: 1, at: 1100 })
      yield* peer.after(2999)
      peer.expectNone()
      yield* peer.after(1)
      peer.expect({ flags: "P.", seq: 1, length: 10, at: 4100 })
    }))

  it.effect("after a timeout moved SND.NXT back, ACKs still carry the highest sequence number sent, which the peer can accept", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make({ tcp: { timestamps: false } })
      const connection = yield* openWithRtt(peer, 100, { mss: 1000 })
      yield* peer.run(connection.write(new Uint8Array(3000)))
      expect(peer.takeAll().length).toBe(3)
      yield* peer.after(300)
      expect(ranges(peer.takeAll())).toEqual([[1, 1001]])
      // The peer got all three segments (their ACK was lost) and sends data. Our ACK's sequence number must be
      // 3001: an ACK at the rewound 1 lies below the peer's RCV.NXT, is unacceptable (RFC 9293 §3.10.7.4) and
      // would only draw another ACK — two ends retransmitting at each other would never hear an acknowledgment.
      yield* peer.send({ flags: "P.", seq: 1, ack: 1, data: 10 })
      peer.expect({ flags: ".", seq: 3001, ack: 11, length: 0 })
      yield* peer.send({ flags: ".", seq: 11, ack: 3001 })
      expect(connection.info().inFlight).toBe(0)
      peer.expectNone()
    }))

  it.effect("an ACK processed while its retransmission is still being sent (a peer answering at once, as over an in-process wire) leaves SND.NXT at SND.MAX: later data still goes", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make({ tcp: { timestamps: false } })
      const connection = yield* openWithRtt(peer, 100, { mss: 1000 })
      yield* peer.run(connection.write(new Uint8Array(10_000)))
      expect(peer.takeAll().length).toBe(10)
      // The peer got all ten segments; its ACK was lost. The RTO resends the first, and the peer acknowledges
      // everything from inside the host's transmit: TCP input takes the ACK before the retransmission's send returns.
      peer.onSent = (segment) => {
        if (segment.seq !== 1) return
        peer.onSent = undefined
        peer.inject(peer.frame({ flags: ".", ack: 10_001 }))
      }
      yield* peer.after(300)
      expect(ranges(peer.takeAll())).toEqual([[1, 1001]])
      // Nothing is in flight: SND.NXT did not move on past SND.MAX from where the ACK put it.
      expect(connection.info().inFlight).toBe(0)
      // Data written later is sent (before the fix SND.NXT lay beyond it, and it never went), and so is the FIN.
      yield* peer.run(connection.write(new Uint8Array(500)))
      expect(ranges(peer.takeAll())).toEqual([[10_001, 10_501]])
      yield* peer.send({ flags: ".", ack: 10_501 })
      yield* peer.run(connection.shutdown())
      peer.expect({ flags: "F.", seq: 10_501, length: 0 })
    }))

  it.effect("an RTO retransmits one segment (cwnd = 1 SMSS); its ACK releases two, then three (go-back-N, slow start at 1 SMSS per ACK)", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make({ tcp: { timestamps: false, sack: false } })
      const connection = yield* openWithRtt(peer, 100, { mss: 1000 })
      yield* peer.run(connection.write(new Uint8Array(10_000)))
      expect(peer.takeAll().length).toBe(10)
      yield* peer.after(300)
      expect(ranges(peer.takeAll())).toEqual([[1, 1001]])
      yield* peer.send({ flags: ".", ack: 1001 })
      expect(ranges(peer.takeAll())).toEqual([[1001, 2001], [2001, 3001]])
      yield* peer.send({ flags: ".", ack: 3001 })
      // Byte counting after an RTO limits growth to 1 SMSS per ACK (RFC 3465 §2.3): 2 acked, cwnd 3 → 3 segments.
      expect(ranges(peer.takeAll())).toEqual([[3001, 4001], [4001, 5001], [5001, 6001]])
    }))
})

describe("TCP data path, segment by segment: fast retransmit and loss recovery", () => {
  it.effect("fast retransmit on the third duplicate ACK (RFC 5681 §3.2), not before; further duplicates retransmit nothing", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make({ tcp: { timestamps: false, sack: false }, congestion: newReno })
      const connection = yield* openWithRtt(peer, 100, { mss: 1000 })
      yield* peer.run(connection.write(new Uint8Array(10_000)))
      expect(peer.takeAll().length).toBe(10)
      yield* peer.send({ flags: ".", ack: 1 })
      yield* peer.send({ flags: ".", ack: 1 })
      peer.expectNone()
      yield* peer.send({ flags: ".", ack: 1 })
      peer.expect({ flags: "P.", seq: 1, length: 1000, at: 100 })
      expect(peer.host.tcp.stats.TCPFastRetrans).toBe(1)
      expect(peer.host.tcp.stats.TCPRenoRecovery).toBe(1)
      yield* peer.send({ flags: ".", ack: 1 })
      yield* peer.send({ flags: ".", ack: 1 })
      peer.expectNone() // nothing new to send; the head is not sent again
      expect(connection.info().retransmits).toBe(0) // no timeout involved
    }))

  it.effect("duplicate ACK rules (RFC 5681 §2): window updates and segments with data do not count", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make({ tcp: { timestamps: false, sack: false }, congestion: newReno })
      const connection = yield* openWithRtt(peer, 100, { mss: 1000 })
      yield* peer.run(connection.write(new Uint8Array(10_000)))
      peer.takeAll()
      yield* peer.send({ flags: ".", ack: 1, window: 65_000 })
      yield* peer.send({ flags: ".", ack: 1, window: 64_000 })
      yield* peer.send({ flags: "P.", ack: 1, window: 64_000, data: 10 })
      peer.expect({ flags: ".", seq: 10_001, ack: 11, length: 0 })
      yield* peer.send({ flags: "P.", ack: 1, window: 64_000, data: 10 })
      peer.expect({ flags: ".", seq: 10_001, ack: 21, length: 0 })
      peer.expectNone()
      expect(peer.host.tcp.stats.TCPFastRetrans).toBe(0)
      expect(connection.info().inFlight).toBe(10_000)
    }))

  it.effect("NewReno (RFC 6582 §3.2): a partial ACK retransmits the next hole at once; the full ACK ends recovery", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make({ tcp: { timestamps: false, sack: false }, congestion: newReno })
      const connection = yield* openWithRtt(peer, 100, { mss: 1000 })
      yield* peer.run(connection.write(new Uint8Array(10_000)))
      peer.takeAll()
      // Segments 1 and 4 are lost: three duplicate ACKs for 1.
      for (let i = 0; i < 3; i++) yield* peer.send({ flags: ".", ack: 1 })
      peer.expect({ seq: 1, length: 1000 })
      peer.expectNone()
      // The retransmission fills the first hole: ACK up to the second hole, a partial ACK (recover = 10001).
      yield* peer.send({ flags: ".", ack: 3001 })
      peer.expect({ seq: 3001, length: 1000 })
      peer.expectNone()
      expect(peer.host.tcp.stats.TCPRenoRecovery).toBe(1)
      yield* peer.send({ flags: ".", ack: 10_001 })
      peer.expectNone()
      // Step 3: cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS) with ssthresh = FlightSize/2 = 5000 (RFC 5681 eq. 4).
      expect(connection.info().ssthresh).toBe(5000)
      expect(connection.info().cwnd).toBe(2000)
      expect(peer.host.tcp.stats.RetransSegs).toBe(2)
    }))

  it.effect("SACK recovery (RFC 6675): the holes the peer's SACK blocks reveal are retransmitted, exactly them, once", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make({ tcp: { timestamps: false } })
      const connection = yield* openWithRtt(peer, 100, { mss: 1000, sackOk: true })
      yield* peer.run(connection.write(new Uint8Array(10_000)))
      peer.takeAll()
      // Segments 1 and 4 lost; everything else SACKed in one ACK: both holes are lost per IsLost (§4: DupThresh
      // segments SACKed above them), recovery starts (§5), and pipe (2 holes) < cwnd = ssthresh lets both go.
      yield* peer.send({ flags: ".", ack: 1, options: { sack: [[1001, 3001], [4001, 10_001]] } })
      expect(ranges(peer.takeAll())).toEqual([[1, 1001], [3001, 4001]])
      expect(peer.host.tcp.stats.TCPSackRecovery).toBe(1)
      // The same SACK again: nothing more to retransmit.
      yield* peer.send({ flags: ".", ack: 1, options: { sack: [[1001, 3001], [4001, 10_001]] } })
      peer.expectNone()
      yield* peer.send({ flags: ".", ack: 3001, options: { sack: [[4001, 10_001]] } })
      yield* peer.send({ flags: ".", ack: 10_001 })
      peer.expectNone()
      expect(connection.info().inFlight).toBe(0)
      expect(peer.host.tcp.stats.RetransSegs).toBe(2)
      yield* peer.after(5000)
      peer.expectNone()
    }))

  it.effect("SACK recovery with a growing scoreboard: the first hole at the third duplicate ACK, the second by NextSeg() rule (3) once pipe allows", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make({ tcp: { timestamps: false } })
      const connection = yield* openWithRtt(peer, 100, { mss: 1000, sackOk: true })
      yield* peer.run(connection.write(new Uint8Array(10_000)))
      peer.takeAll()
      yield* peer.send({ flags: ".", ack: 1, options: { sack: [[1001, 2001]] } })
      yield* peer.send({ flags: ".", ack: 1, options: { sack: [[1001, 3001]] } })
      peer.expectNone()
      yield* peer.send({ flags: ".", ack: 1, options: { sack: [[4001, 5001], [1001, 3001]] } })
      expect(ranges(peer.takeAll())).toEqual([[1, 1001]])
      // cwnd = ssthresh = 0.7 · 10 segments (CUBIC); pipe = the retransmitted head + 3001–4001 + 5001–10001 = 7.
      expect(connection.info().cwnd).toBe(7000)
      // One more segment SACKed: pipe 6, room for one: rule (3), the unSACKed segment below the highest SACK.
      yield* peer.send({ flags: ".", ack: 1, options: { sack: [[4001, 6001], [1001, 3001]] } })
      expect(ranges(peer.takeAll())).toEqual([[3001, 4001]])
      // The rest lies above every SACK block: not lost, and no rescue retransmission (rule (4), as Linux).
      yield* peer.send({ flags: ".", ack: 1, options: { sack: [[4001, 7001], [1001, 3001]] } })
      peer.expectNone()
      yield* peer.send({ flags: ".", ack: 10_001 })
      peer.expectNone()
      expect(connection.info().inFlight).toBe(0)
    }))
})

describe("TCP data path, segment by segment: timestamps (RFC 7323)", () => {
  it.effect("PAWS (§5): a segment with an older TSval is dropped and answered with an ACK; the next good one is taken", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      const connection = yield* peer.establishActive()
      yield* peer.send({ flags: "P.", seq: 1, data: 100, options: { ts: [200_000, peer.hostTsVal] } })
      peer.expect({ flags: ".", ack: 101, tsEcr: 200_000 })
      yield* peer.send({ flags: "P.", seq: 101, data: 100, options: { ts: [199_999, peer.hostTsVal] } })
      // R1–R3: dropped, and an ACK sent that still echoes TS.Recent.
      peer.expect({ flags: ".", ack: 101, tsEcr: 200_000 })
      expect(connection.info().unread).toBe(100)
      expect(peer.host.tcp.stats.PAWSEstab).toBe(1)
      yield* peer.send({ flags: "P.", seq: 101, data: 100, options: { ts: [200_000, peer.hostTsVal] } }) // equal is not older
      peer.expect({ flags: ".", ack: 201, tsEcr: 200_000 })
      expect(connection.info().unread).toBe(200)
    }))

  it.effect("with timestamps agreed, a segment without them is dropped silently (§3.2)", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      const connection = yield* peer.establishActive()
      yield* peer.send({ flags: "P.", seq: 1, data: 100, options: { ts: false } })
      peer.expectNone()
      expect(connection.info().unread).toBe(0)
    }))

  it.effect("TSecr echoes the TSval of the segment that began the delayed ACK, not a later one (§4.3: only SEG.SEQ ≤ Last.ACK.sent updates TS.Recent)", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      yield* peer.establishActive()
      yield* leaveQuickAck(peer)
      const next = QUICK_ACKS + 1
      yield* peer.send({ flags: "P.", seq: next, data: 100, options: { ts: [300_000, peer.hostTsVal] } })
      yield* peer.after(10)
      yield* peer.send({ flags: "P.", seq: next + 100, data: 100, options: { ts: [300_010, peer.hostTsVal] } })
      yield* peer.after(DELAYED_ACK_MS - 10)
      const ack = peer.expect({ flags: ".", ack: next + 200, tsEcr: 300_000, at: DELAYED_ACK_MS })
      // TSval is the host's clock in ms (§5.4): 40 ms after the handshake's.
      expect(((ack.options.ts?.[0] ?? 0) - (peer.sent[1]?.options.ts?.[0] ?? 0)) >>> 0).toBe(DELAYED_ACK_MS)
      // Out-of-order data (SEG.SEQ > Last.ACK.sent) does not update TS.Recent either.
      yield* peer.send({ flags: "P.", seq: next + 1000, data: 100, options: { ts: [300_050, peer.hostTsVal] } })
      peer.expect({ flags: ".", ack: next + 200, tsEcr: 300_000 })
      // In-order data at Last.ACK.sent does.
      yield* peer.send({ flags: "P.", seq: next + 200, data: 100, options: { ts: [300_060, peer.hostTsVal] } })
      yield* peer.after(DELAYED_ACK_MS)
      peer.expect({ flags: ".", ack: next + 300, tsEcr: 300_060 })
    }))
})

/**
 * Forks a reader that reads `connection` with `readInto` into one array of
 * `size` bytes, at most `chunk` bytes a read, until the peer's FIN: the
 * length of every read, and the bytes received so far.
 */
const forkReader = (peer: TcpPeer, connection: TcpConnection, size: number, chunk = size) =>
  Effect.gen(function*() {
    const received = new Uint8Array(size)
    const reads: Array<number> = []
    let at = 0
    yield* peer.fork(Effect.gen(function*() {
      for (;;) {
        const n = yield* connection.readInto(received.subarray(0, Math.min(size, at + chunk)), at)
        if (n === undefined) return
        reads.push(n)
        at += n
      }
    }))
    return { reads, received: () => received.subarray(0, at) }
  })

describe("TCP data path, segment by segment: waking the reader", () => {
  it.effect("the reader runs once the NAPI poll is over: segments taken in by one poll are one read", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      const connection = yield* peer.establishActive()
      const reader = yield* forkReader(peer, connection, 64 * 1024)
      yield* peer.settle
      // Ten segments at once: the first raises the interrupt and is polled alone, the nine behind it wait in the ring
      // for the next poll, which takes them all; the reader runs after each poll (as Linux's `sk_data_ready` wakes a
      // reader that gets the CPU only once the softirq is done), not after each segment.
      for (let i = 0; i < 10; i++) peer.inject(peer.frame({ flags: "P.", data: 100 }))
      yield* peer.settle
      expect(reader.reads).toEqual([100, 900])
      expect(reader.received()).toEqual(patternBytes(1, 1000))
      // Quick-ack mode: each segment is acknowledged at once, before the reader ran.
      expect(peer.takeAll().map((s) => s.ack)).toEqual(Array.from({ length: 10 }, (_, i) => 1 + 100 * (i + 1)))
    }))

  it.effect("a reader whose array fills in the middle of a poll runs at once, so the segments behind go into its next array", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      const connection = yield* peer.establishActive()
      // 250 bytes at a time: two and a half segments.
      const reader = yield* forkReader(peer, connection, 1000, 250)
      yield* peer.settle
      // The first segment is polled alone; the nine behind it in one poll. Each time the parked array is full (its
      // third segment spills 50 bytes over) the reader runs before the next segment: it takes the array, then the
      // 50 bytes from the receive buffer, and parks again. Woken only when the poll ends, it would have found
      // its array full and 650 bytes in the pages: 650 bytes copied twice, not 150.
      for (let i = 0; i < 10; i++) peer.inject(peer.frame({ flags: "P.", data: 100 }))
      yield* peer.settle
      expect(reader.reads).toEqual([100, 250, 50, 250, 50, 250, 50])
      expect(reader.received()).toEqual(patternBytes(1, 1000))
      expect(connection.tcb.receive.directBytes).toBe(850)
    }))
})
