/**
 * Scripted segment-level tests of resets and of the defences of RFC 5961:
 * the RST a closed port sends (RFC 9293 §3.10.7.1), RSTs in SYN-SENT
 * (§3.10.7.3), SYN-RECEIVED and the synchronized states (§3.10.7.4, with
 * RFC 5961 §3.2's exact-match rule and challenge ACKs), SYNs on an
 * established connection (RFC 5961 §4.2), ACKs outside the acceptable range
 * (RFC 5961 §5.2), TIME-WAIT's deafness to RSTs (RFC 1337) and ABORT
 * (§3.10.5).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TcpPeer } from "./support/tcp-peer.ts"

/** The failure reason of a finished fiber, or "succeeded" / "running". */
const outcome = <A, E>(fiber: Fiber.Fiber<A, E>): string => {
  const exit = fiber.pollUnsafe()
  if (exit === undefined) return "running"
  if (exit._tag === "Success") return "succeeded"
  const text = JSON.stringify(exit.cause)
  const match = /"reason":"([a-z-]+)"/.exec(text)
  return match?.[1] ?? text
}

describe("TCP resets, segment by segment", () => {
  it.effect("a SYN to a closed port gets <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> (RFC 9293 §3.10.7.1)", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      yield* peer.send({ flags: "S", seq: 0, destinationPort: 81, options: { mss: 1460 } })
      const rst = peer.expect({ flags: "R.", ack: 1, window: 0, length: 0, options: {} })
      expect(rst.rawSeq).toBe(0)
      expect(rst.sourcePort).toBe(81)
      // SYN and data: the ACK covers both.
      yield* peer.send({ flags: "S", seq: 100, destinationPort: 81, data: 5 })
      const second = peer.expect({ flags: "R.", ack: 106 })
      expect(second.rawSeq).toBe(0)
      expect(peer.host.tcp.stats.NoSocket).toBe(2)
    }))

  it.effect("a segment with an ACK to a closed port gets <SEQ=SEG.ACK><CTL=RST> (RFC 9293 §3.10.7.1)", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      yield* peer.send({ flags: "P.", seq: 50, ack: 123_456_789, absolute: true, destinationPort: 81, data: 20 })
      const rst = peer.expect({ flags: "R", window: 0, options: {} })
      expect(rst.rawSeq).toBe(123_456_789)
      expect(rst.rawAck).toBe(0)
      yield* peer.send({ flags: "F.", seq: 9, ack: 0xffffffff, absolute: true, destinationPort: 81 })
      expect(peer.next().rawSeq).toBe(0xffffffff)
    }))

  it.effect("an RST to a closed port is dropped without an answer", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      yield* peer.send({ flags: "R", seq: 0, destinationPort: 81 })
      yield* peer.send({ flags: "R.", seq: 0, ack: 7, destinationPort: 81 })
      peer.expectNone()
    }))

  it.effect("SYN-SENT: an RST with an acceptable ACK refuses the connection; without an ACK, or with a bad one, it is ignored", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      const connecting = yield* peer.connect()
      peer.expect({ flags: "S", seq: 0 })
      yield* peer.send({ flags: "R", seq: 0 }) // no ACK: RFC 9293 §3.10.7.3 "drop the segment"
      yield* peer.send({ flags: "R.", seq: 0, ack: 2 }) // ACK not acceptable: dropped
      yield* peer.send({ flags: "R.", seq: 0, ack: 0 })
      peer.expectNone()
      expect(outcome(connecting)).toBe("running")
      yield* peer.send({ flags: "R.", seq: 0, ack: 1 })
      expect(outcome(connecting)).toBe("connection-refused")
      peer.expectNone()
      expect(peer.host.tcp.tables.established.size).toBe(0)
      yield* peer.after(5000)
      peer.expectNone() // no SYN retransmissions after the refusal
    }))

  it.effect("ESTABLISHED: an RST with SEQ = RCV.NXT resets the connection; a waiting read fails with connection-reset", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      const connection = yield* peer.establishActive()
      const reading = yield* peer.fork(connection.read())
      yield* peer.send({ flags: "R", seq: 1 })
      peer.expectNone() // RFC 9293 §3.10.7.4: no answer to an RST
      expect(outcome(reading)).toBe("connection-reset")
      expect(connection.state).toBe("CLOSED")
      expect(peer.host.tcp.stats.EstabResets).toBe(1)
      const writing = yield* peer.fork(connection.write(new Uint8Array(10)))
      expect(outcome(writing)).toBe("connection-reset")
      peer.expectNone()
    }))

  it.effect("RFC 5961 §3.2: an RST in the window but not at RCV.NXT gets a challenge ACK; the connection survives", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      const connection = yield* peer.establishActive()
      yield* peer.send({ flags: "R", seq: 1000 })
      // The challenge ACK: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.
      peer.expect({ flags: ".", seq: 1, ack: 1, length: 0 })
      expect(connection.state).toBe("ESTABLISHED")
      expect(peer.host.tcp.stats.TCPChallengeACK).toBe(1)
      // The peer that really sent it answers the challenge with an exact RST — which does reset.
      yield* peer.send({ flags: "R", seq: 1 })
      peer.expectNone()
      expect(connection.state).toBe("CLOSED")
    }))

  it.effect("RFC 5961 §3.2: an RST outside the window is dropped silently", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      const connection = yield* peer.establishActive()
      yield* peer.send({ flags: "R", seq: 0 }) // just below RCV.NXT
      yield* peer.send({ flags: "R", seq: 1 + 2 ** 21 }) // beyond RCV.NXT + RCV.WND (1 MiB)
      yield* peer.send({ flags: "R.", seq: -5000, ack: 1 })
      peer.expectNone()
      expect(connection.state).toBe("ESTABLISHED")
      // Still working: data is taken and acknowledged.
      yield* peer.send({ flags: "P.", seq: 1, ack: 1, data: 10 })
      peer.expect({ flags: ".", seq: 1, ack: 11 })
    }))

  it.effect("RFC 5961 §4.2: a SYN on an established connection gets a challenge ACK, in the window or not; the connection survives", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      const connection = yield* peer.establishActive()
      yield* peer.send({ flags: "S", seq: 500, options: { mss: 1460 } })
      peer.expect({ flags: ".", seq: 1, ack: 1, length: 0 })
      expect(peer.host.tcp.stats.TCPSYNChallenge).toBe(1)
      yield* peer.send({ flags: "S", seq: -100_000, options: { mss: 1460 } })
      peer.expect({ flags: ".", seq: 1, ack: 1, length: 0 })
      yield* peer.send({ flags: "S", seq: 0, options: { mss: 1460 } }) // the original SYN, retransmitted
      peer.expect({ flags: ".", seq: 1, ack: 1, length: 0 })
      expect(connection.state).toBe("ESTABLISHED")
      peer.expectNone()
    }))

  it.effect("RFC 5961 §5.2: an ACK above SND.NXT gets a challenge ACK and the segment (with its data) is dropped", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      const connection = yield* peer.establishActive()
      yield* peer.run(connection.write(new Uint8Array(100)))
      peer.expect({ flags: "P.", seq: 1, length: 100 })
      yield* peer.send({ flags: "P.", seq: 1, ack: 5000, data: 10 })
      peer.expect({ flags: ".", seq: 101, ack: 1, length: 0 }) // RCV.NXT unchanged: the data was not taken
      expect(connection.info().unread).toBe(0)
      expect(connection.info().inFlight).toBe(100)
      expect(peer.host.tcp.stats.TCPChallengeACK).toBe(1)
      // The same data with a good ACK is taken.
      yield* peer.send({ flags: "P.", seq: 1, ack: 101, data: 10 })
      expect(connection.info().unread).toBe(10)
      expect(connection.info().inFlight).toBe(0)
    }))

  it.effect("RFC 5961 §5.2: an ACK below SND.UNA − MAX.SND.WND gets a challenge ACK; one just inside is an old duplicate, ignored", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      // No window scaling from the peer, a window of 1000 bytes: MAX.SND.WND = 1000.
      const connection = yield* peer.establishActive({ window: 1000, synAck: { mss: 1460, sackOk: true } })
      yield* peer.run(connection.write(new Uint8Array(1000)))
      peer.expect({ flags: "P.", seq: 1, length: 1000 })
      yield* peer.send({ flags: ".", seq: 1, ack: 1001, window: 1000 })
      yield* peer.after(40)
      peer.expectNone()
      yield* peer.send({ flags: "P.", seq: 1, ack: 1, window: 1000, data: 5 }) // SND.UNA − 1000: acceptable
      yield* peer.after(40)
      peer.expect({ flags: ".", seq: 1001, ack: 6 }) // the data taken (its delayed ACK), no challenge
      yield* peer.send({ flags: "P.", seq: 6, ack: 0, window: 1000, data: 5 }) // SND.UNA − 1001: too old
      peer.expect({ flags: ".", seq: 1001, ack: 6 })
      expect(connection.info().unread).toBe(5)
      expect(peer.host.tcp.stats.TCPChallengeACK).toBe(1)
    }))

  it.effect("SYN-RECEIVED (passive): an RST at RCV.NXT drops the half-open connection; the listener carries on", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      const listener = yield* peer.listen(8080)
      yield* peer.send({ flags: "S", seq: 0, options: { mss: 1460 } })
      peer.expect({ flags: "S.", seq: 0, ack: 1 })
      expect(peer.host.tcp.tables.established.size).toBe(1)
      yield* peer.send({ flags: "R", seq: 1 })
      peer.expectNone()
      expect(peer.host.tcp.tables.established.size).toBe(0)
      yield* peer.after(10_000)
      peer.expectNone() // no SYN-ACK retransmissions
      // A new handshake on the same listener works.
      yield* peer.send({ flags: "S", seq: 1_000_000, options: { mss: 1460 } })
      peer.expect({ flags: "S.", ack: 1_000_001 })
      yield* peer.send({ flags: ".", seq: 1_000_001 })
      expect((yield* listener.accept).state).toBe("ESTABLISHED")
    }))

  it.effect("TIME-WAIT ignores an RST, even an exact one (RFC 1337 §3), and ends after exactly timeWait", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make({ tcp: { timeWait: 10_000_000 } })
      const connection = yield* peer.establishActive()
      yield* peer.run(connection.shutdown())
      peer.expect({ flags: "F.", seq: 1, ack: 1 })
      yield* peer.send({ flags: "F.", seq: 1, ack: 2 })
      peer.expect({ flags: ".", seq: 2, ack: 2 })
      expect(connection.state).toBe("TIME-WAIT")
      yield* peer.after(1000)
      yield* peer.send({ flags: "R", seq: 2 })
      yield* peer.send({ flags: "R.", seq: 2, ack: 2 })
      peer.expectNone()
      expect(connection.state).toBe("TIME-WAIT")
      expect(peer.host.tcp.tables.established.size).toBe(1)
      yield* peer.after(8_999)
      expect(connection.state).toBe("TIME-WAIT")
      yield* peer.after(1)
      expect(connection.state).toBe("CLOSED")
      expect(peer.host.tcp.tables.established.size).toBe(0)
      peer.expectNone()
    }))

  it.effect("ABORT sends <SEQ=SND.NXT><CTL=RST,ACK> and fails the connection's calls (RFC 9293 §3.10.5)", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      const connection = yield* peer.establishActive()
      yield* peer.run(connection.write(new Uint8Array(300)))
      peer.expect({ flags: "P.", seq: 1, length: 300 })
      yield* peer.send({ flags: "P.", seq: 1, ack: 1, data: 7 })
      peer.expect({ flags: ".", seq: 301, ack: 8, length: 0 }) // quick-ack: the connection's first data is acked at once
      yield* peer.run(connection.abort())
      peer.expect({ flags: "R.", seq: 301, ack: 8, length: 0 })
      peer.expectNone()
      expect(connection.state).toBe("CLOSED")
      const reading = yield* peer.fork(connection.read())
      expect(outcome(reading)).toBe("connection-aborted")
      yield* peer.after(5000)
      peer.expectNone() // nothing retransmitted
    }))
})
