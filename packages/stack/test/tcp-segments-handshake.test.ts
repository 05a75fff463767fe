/**
 * Scripted segment-level tests of the three-way handshake (RFC 9293 §3.5):
 * the options offered and agreed (RFC 9293 §3.7.1 MSS, RFC 7323 window
 * scale and timestamps, RFC 2018 SACK-Permitted), simultaneous open, bad
 * SYN-ACKs, and the SYN and SYN-ACK retransmission timers (RFC 6298).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TcpPeer } from "./support/tcp-peer.ts"

const anyNumber = (): number => expect.any(Number) as number

describe("TCP handshake, segment by segment", () => {
  it.effect("active open: the SYN offers MSS = MTU − 40, sackOK, TS and wscale; the SYN-ACK completes it; our ACK acks ISN + 1", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      const connecting = yield* peer.connect()
      // 1 MiB receive buffer: the smallest shift that fits it in 16 bits is 5 (RFC 7323 §2.2).
      const syn = peer.expect({
        flags: "S",
        seq: 0,
        window: 65535,
        options: { mss: 1460, sackOk: true, ts: [anyNumber(), 0], wscale: 5 },
        at: 0
      })
      expect(syn.rawAck).toBe(0)
      expect(syn.layout).toEqual(["mss", "sackOK", "TS", "nop", "wscale"]) // Linux's layout
      expect(syn.dontFragment).toBe(true) // RFC 1191 path MTU discovery
      const hostTs = syn.options.ts?.[0] ?? 0
      peer.expectNone()
      expect(connecting.pollUnsafe()).toBeUndefined()

      yield* peer.send({ flags: "S.", seq: 0, ack: 1, window: 1000, options: { mss: 1400, sackOk: true, ts: [777, hostTs], wscale: 7 } })
      // RFC 9293 §3.10.7.3: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>; the window now scaled by our shift (2^20 >> 5).
      peer.expect({ flags: ".", seq: 1, ack: 1, window: 32768, options: { ts: [hostTs, 777] }, at: 0 })
      const connection = yield* peer.done(connecting)
      const info = connection.info()
      expect(info.state).toBe("ESTABLISHED")
      expect(info.mss).toBe(1400 - 12) // the peer's MSS less the timestamps every segment carries
      expect(info.windowScale).toEqual([7, 5])
      expect(info.sack).toBe(true)
      expect(info.timestamps).toBe(true)
      expect(info.sendWindow).toBe(1000) // a SYN's window is never scaled (RFC 7323 §2.2)
      peer.expectNone()
    }))

  it.effect("active open on a 9000-byte MTU offers MSS 8960", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make({ mtu: 9000 })
      yield* peer.connect()
      peer.expect({ flags: "S", seq: 0, options: { mss: 8960, sackOk: true, ts: [anyNumber(), 0], wscale: 5 } })
    }))

  it.effect("with SACK and timestamps off, the SYN offers MSS and wscale only", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make({ tcp: { sack: false, timestamps: false } })
      yield* peer.connect()
      const syn = peer.expect({ flags: "S", seq: 0, options: { mss: 1460, wscale: 5 } })
      expect(syn.layout).toEqual(["mss", "nop", "wscale"])
    }))

  it.effect("a SYN-ACK whose ACK is not ISS + 1 gets <SEQ=SEG.ACK><CTL=RST> and the attempt goes on (RFC 9293 §3.10.7.3)", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      const connecting = yield* peer.connect()
      const syn = peer.expect({ flags: "S", seq: 0 })
      yield* peer.send({ flags: "S.", seq: 0, ack: 5, options: { mss: 1460 } })
      peer.expect({ flags: "R", seq: 5, options: {} })
      yield* peer.send({ flags: "S.", seq: 0, ack: 0, options: { mss: 1460 } }) // SEG.ACK =< ISS
      peer.expect({ flags: "R", seq: 0 })
      peer.expectNone()
      expect(connecting.pollUnsafe()).toBeUndefined()
      // The real SYN-ACK still completes the handshake.
      yield* peer.send({ flags: "S.", seq: 0, ack: 1, options: { mss: 1460, ts: [1, syn.options.ts?.[0] ?? 0] } })
      peer.expect({ flags: ".", seq: 1, ack: 1 })
      expect((yield* peer.done(connecting)).state).toBe("ESTABLISHED")
    }))

  // A connect's wait for its handshake is interruptible (a timeout, a scope closing): the attempt is abandoned.
  it.effect("a connect waiting for its handshake can be interrupted, and the attempt is dropped", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      const connecting = yield* peer.connect()
      peer.expect({ flags: "S", seq: 0 })
      const interrupting = yield* peer.fork(Fiber.interrupt(connecting))
      expect(interrupting.pollUnsafe()).toBeDefined()
      expect(peer.host.tcp.tables.established.size).toBe(0)
    }))

  it.effect("SYN retransmission: 1 s initial RTO, doubling each time; after synRetries connect fails with timed-out (RFC 6298 §2.1, §5.5)", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make({ tcp: { synRetries: 3 } })
      const connecting = yield* peer.connect()
      yield* peer.after(14_999)
      const syns = peer.takeAll()
      expect(syns.map((s) => s.at)).toEqual([0, 1000, 3000, 7000])
      for (const s of syns) {
        expect(s.flags).toBe("S")
        expect(s.seq).toBe(0)
        expect(s.options.mss).toBe(1460)
      }
      // The TSval ticks in milliseconds (RFC 7323 §5.4): each retransmission carries the time it was sent.
      const ts = syns.map((s) => s.options.ts?.[0] ?? 0)
      expect(ts.map((t) => (t - (ts[0] ?? 0)) >>> 0)).toEqual([0, 1000, 3000, 7000])
      expect(connecting.pollUnsafe()).toBeUndefined()
      yield* peer.after(1)
      const result = yield* Fiber.await(connecting)
      expect(result._tag === "Failure" ? JSON.stringify(result.cause) : "succeeded").toContain("timed-out")
      peer.expectNone()
      expect(peer.host.tcp.tables.established.size).toBe(0)
      yield* peer.after(60_000)
      peer.expectNone()
    }))

  it.effect("passive open: the SYN-ACK echoes every option offered, announces MSS 1460; the ACK completes it and accept returns", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      const listener = yield* peer.listen(8080)
      const accepting = yield* peer.fork(listener.accept)
      yield* peer.send({ flags: "S", seq: 0, window: 5000, options: { mss: 1000, sackOk: true, ts: [10, 0], wscale: 2 } })
      const synAck = peer.expect({
        flags: "S.",
        seq: 0,
        ack: 1,
        window: 65535,
        options: { mss: 1460, sackOk: true, ts: [anyNumber(), 10], wscale: 5 },
        at: 0
      })
      expect(synAck.layout).toEqual(["mss", "sackOK", "TS", "nop", "wscale"])
      expect(accepting.pollUnsafe()).toBeUndefined()
      yield* peer.send({ flags: ".", seq: 1, ack: 1, window: 5000, options: { ts: [11, synAck.options.ts?.[0] ?? 0] } })
      peer.expectNone()
      const connection = yield* peer.done(accepting)
      const info = connection.info()
      expect(info.state).toBe("ESTABLISHED")
      expect(info.mss).toBe(1000 - 12) // min(peer's MSS, MTU − 40), less the timestamp option
      expect(info.sendWindow).toBe(5000 << 2) // the final ACK's window is scaled by the peer's shift
      expect(info.windowScale).toEqual([2, 5])
      expect(info.sack && info.timestamps).toBe(true)
    }))

  it.effect("passive open with only MSS offered: the SYN-ACK carries only MSS, and no later segment carries TS or a scaled window", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      const listener = yield* peer.listen(8080)
      yield* peer.send({ flags: "S", seq: 0, window: 8000, options: { mss: 1460 } })
      const synAck = peer.expect({ flags: "S.", seq: 0, ack: 1, window: 65535, options: { mss: 1460 } })
      expect(synAck.layout).toEqual(["mss"])
      yield* peer.send({ flags: ".", seq: 1, ack: 1, window: 8000 })
      const connection = yield* listener.accept
      expect(connection.info().windowScale).toEqual([0, 0])
      yield* peer.run(connection.write(new Uint8Array(100)))
      // Unscaled: the 1 MiB buffer shows as the largest 16-bit window.
      peer.expect({ flags: "P.", seq: 1, ack: 1, length: 100, window: 65535, options: {} })
      yield* peer.send({ flags: ".", seq: 1, ack: 101, window: 8000, data: 10 })
      peer.expect({ flags: ".", seq: 101, ack: 11, window: 65535, options: {} })
    }))

  it.effect("without window scaling on our side, the peer's wscale is ignored: its windows are taken unscaled", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make({ tcp: { windowScaling: false } })
      const listener = yield* peer.listen(8080)
      yield* peer.send({ flags: "S", seq: 0, window: 100, options: { mss: 1460, wscale: 7 } })
      peer.expect({ flags: "S.", seq: 0, ack: 1, options: { mss: 1460 } })
      yield* peer.send({ flags: ".", seq: 1, ack: 1, window: 100 })
      const connection = yield* listener.accept
      expect(connection.info().sendWindow).toBe(100)
      yield* peer.fork(connection.write(new Uint8Array(1000)))
      // 100 bytes, not 100 << 7: the window field is unscaled (RFC 7323 §2.2: both sides must send the option).
      const first = peer.expect({ flags: ".", seq: 1, length: 100 })
      expect(first.flags).not.toContain("P")
      peer.expectNone()
    }))

  it.effect("the peer without wscale: we send unscaled windows and take its windows unscaled", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make({ tcp: { receiveBuffer: 200_000 } })
      const connecting = yield* peer.connect()
      peer.expect({ flags: "S", seq: 0, options: { mss: 1460, sackOk: true, ts: [anyNumber(), 0], wscale: 2 } })
      yield* peer.send({ flags: "S.", seq: 0, ack: 1, window: 3000, options: { mss: 1460 } })
      // No wscale from the peer: our window field is the buffer room, capped at 65535 (RFC 7323 §2.2).
      peer.expect({ flags: ".", seq: 1, ack: 1, window: 65535, options: {} })
      const connection = yield* peer.done(connecting)
      expect(connection.info().windowScale).toEqual([0, 0])
      yield* peer.send({ flags: ".", seq: 1, ack: 1, window: 2000 })
      yield* peer.fork(connection.write(new Uint8Array(5000)))
      peer.expect({ flags: ".", seq: 1, length: 1460 })
      peer.expect({ flags: ".", seq: 1461, length: 540 }) // 2000 bytes: the window, unscaled
      peer.expectNone()
    }))

  // The peer's SYN-ACK (SEG.SEQ = IRS, left of RCV.NXT) completes the handshake by its ACK, as in Linux
  // (tcp_validate_incoming's SYN_RECV exception); a strict reading would answer it with a bare ACK and wait.
  it.effect("simultaneous open (RFC 9293 §3.5 figure 8): SYN crosses SYN; SYN-ACKs cross; both ESTABLISHED", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make({ tcp: { timestamps: false } })
      const connecting = yield* peer.connect({ localPort: 5555 })
      peer.expect({ flags: "S", seq: 0 })
      yield* peer.send({ flags: "S", seq: 0, window: 4000, options: { mss: 1200, sackOk: true, wscale: 3 } })
      // SYN-SENT → SYN-RECEIVED: <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>, the same ISS, with the options agreed.
      peer.expect({ flags: "S.", seq: 0, ack: 1, options: { mss: 1460, sackOk: true, wscale: 5 } })
      expect(connecting.pollUnsafe()).toBeUndefined()
      yield* peer.send({ flags: "S.", seq: 0, ack: 1, window: 4000, options: { mss: 1200, sackOk: true, wscale: 3 } })
      const connection = yield* peer.done(connecting)
      expect(connection.info().state).toBe("ESTABLISHED")
      expect(connection.info().mss).toBe(1200)
    }))

  it.effect("simultaneous open completed by a plain ACK after the SYN-ACKs cross", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make({ tcp: { timestamps: false } })
      const connecting = yield* peer.connect({ localPort: 5555 })
      peer.expect({ flags: "S", seq: 0 })
      yield* peer.send({ flags: "S", seq: 0, window: 4000, options: { mss: 1200 } })
      peer.expect({ flags: "S.", seq: 0, ack: 1, options: { mss: 1460 } })
      yield* peer.send({ flags: ".", seq: 1, ack: 1, window: 4000 })
      const connection = yield* peer.done(connecting)
      expect(connection.info().state).toBe("ESTABLISHED")
      peer.expectNone()
    }))

  it.effect("SYN-ACK retransmission for a passive open: 1 s, doubling; a repeated SYN gets it at once; after synAckRetries the child is gone", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make({ tcp: { synAckRetries: 2 } })
      yield* peer.listen(8080)
      yield* peer.send({ flags: "S", seq: 0, options: { mss: 1460 } })
      peer.expect({ flags: "S.", seq: 0, ack: 1, at: 0 })
      yield* peer.after(500)
      yield* peer.send({ flags: "S", seq: 0, options: { mss: 1460 } }) // the SYN again: the SYN-ACK was lost
      peer.expect({ flags: "S.", seq: 0, ack: 1, options: { mss: 1460 }, at: 500 })
      yield* peer.after(6_499)
      expect(peer.takeAll().map((s) => [s.flags, s.seq, s.at])).toEqual([["S.", 0, 1000], ["S.", 0, 3000]])
      expect(peer.host.tcp.tables.established.size).toBe(1)
      yield* peer.after(1)
      // At 7 s the last retransmission's timer expires: the child is dropped, silently.
      expect(peer.host.tcp.tables.established.size).toBe(0)
      peer.expectNone()
      // The ACK that comes too late finds only the listener: RST (RFC 9293 §3.10.7.2).
      yield* peer.send({ flags: ".", seq: 1, ack: 1 })
      peer.expect({ flags: "R", seq: 1 })
    }))
})
