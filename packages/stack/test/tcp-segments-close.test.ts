/**
 * Scripted segment-level tests of how connections end and what keeps them
 * alive: active, passive and simultaneous close (RFC 9293 §3.6, §3.10.4,
 * the FIN steps of §3.10.7.4), half-close, CLOSE with unread data (RFC 2525
 * §2.17), FIN retransmission, TIME-WAIT (2 MSL), an orphaned FIN-WAIT-2,
 * keepalives (RFC 1122 §4.2.3.6), the user timeout (RFC 9293 §3.8.3,
 * RFC 5482), SYN cookies (RFC 4987 §3.6) and ICMP fragmentation needed
 * lowering the MSS (RFC 1191 §6.4, RFC 5927 §4.1).
 */
import { describe, expect, it } from "@effect/vitest"
import { PacketBuffer } from "@netstack/buffers"
import { emitEthernet, emitIcmpv4, emitIpv4, EtherTypes, Icmpv4Types, ipv4FromString, writeU16, writeU32 } from "@netstack/wire"
import { Effect, Fiber } from "effect"
import { HOST_ADDRESS, PEER_ADDRESS, TcpPeer } from "./support/tcp-peer.ts"

/** The failure reason of a finished fiber, or "succeeded" / "running". */
const outcome = <A, E>(fiber: Fiber.Fiber<A, E>): string => {
  const exit = fiber.pollUnsafe()
  if (exit === undefined) return "running"
  if (exit._tag === "Success") return "succeeded"
  const text = JSON.stringify(exit.cause)
  const match = /"reason":"([a-z-]+)"/.exec(text)
  return match?.[1] ?? text
}

/** settings.ts defaults, ms: TIME-WAIT (2 MSL, Linux TCP_TIMEWAIT_LEN) and the orphaned FIN-WAIT-2 timeout. */
const TIME_WAIT_MS = 60_000
const FIN_TIMEOUT_MS = 60_000

describe("TCP close, segment by segment", () => {
  it.effect("active close: FIN-WAIT-1 → (ACK) FIN-WAIT-2 → (FIN) TIME-WAIT, for exactly 2 MSL, then CLOSED", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      const connection = yield* peer.establishActive()
      yield* peer.run(connection.write(new Uint8Array(100)))
      peer.expect({ flags: "P.", seq: 1, length: 100 })
      yield* peer.run(connection.shutdown())
      // The FIN follows the data at once (it needs no window), <SEQ=101><ACK=1><CTL=FIN,ACK>.
      peer.expect({ flags: "F.", seq: 101, ack: 1, length: 0 })
      expect(connection.state).toBe("FIN-WAIT-1")
      yield* peer.send({ flags: ".", ack: 101 }) // the data, not yet the FIN
      expect(connection.state).toBe("FIN-WAIT-1")
      yield* peer.send({ flags: ".", ack: 102 })
      expect(connection.state).toBe("FIN-WAIT-2")
      peer.expectNone()
      yield* peer.after(1000)
      yield* peer.send({ flags: "F.", seq: 1, ack: 102 })
      // The peer's FIN is acknowledged at once (RFC 9293 §3.10.7.4 eighth step).
      peer.expect({ flags: ".", seq: 102, ack: 2, at: 1000 })
      expect(connection.state).toBe("TIME-WAIT")
      const closing = yield* peer.fork(connection.whenClosed)
      expect(outcome(closing)).toBe("succeeded") // the application is done once TIME-WAIT begins
      yield* peer.after(TIME_WAIT_MS - 1)
      expect(connection.state).toBe("TIME-WAIT")
      expect(peer.host.tcp.tables.established.size).toBe(1)
      yield* peer.after(1)
      expect(connection.state).toBe("CLOSED")
      expect(peer.host.tcp.tables.established.size).toBe(0)
      peer.expectNone()
    }))

  it.effect("TIME-WAIT acknowledges a retransmitted FIN and restarts its 2 MSL wait", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      const connection = yield* peer.establishActive()
      yield* peer.run(connection.shutdown())
      peer.expect({ flags: "F.", seq: 1 })
      yield* peer.send({ flags: "F.", seq: 1, ack: 2 })
      peer.expect({ flags: ".", seq: 2, ack: 2, at: 0 })
      expect(connection.state).toBe("TIME-WAIT")
      yield* peer.after(30_000)
      yield* peer.send({ flags: "F.", seq: 1, ack: 2 }) // our ACK was lost: the peer's FIN again
      peer.expect({ flags: ".", seq: 2, ack: 2, at: 30_000 })
      yield* peer.after(TIME_WAIT_MS - 1)
      expect(connection.state).toBe("TIME-WAIT")
      yield* peer.after(1)
      expect(connection.state).toBe("CLOSED")
    }))

  it.effect("a FIN that acknowledges ours in FIN-WAIT-1 goes straight to TIME-WAIT", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      const connection = yield* peer.establishActive()
      yield* peer.run(connection.shutdown())
      peer.expect({ flags: "F.", seq: 1 })
      yield* peer.send({ flags: "F.", seq: 1, ack: 2 })
      peer.expect({ flags: ".", seq: 2, ack: 2 })
      expect(connection.state).toBe("TIME-WAIT")
    }))

  it.effect("simultaneous close (RFC 9293 §3.6 figure 13): FINs cross, FIN-WAIT-1 → CLOSING → TIME-WAIT", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      const connection = yield* peer.establishActive()
      yield* peer.run(connection.shutdown())
      peer.expect({ flags: "F.", seq: 1, ack: 1 })
      yield* peer.send({ flags: "F.", seq: 1, ack: 1 }) // the peer's FIN, sent before ours arrived
      peer.expect({ flags: ".", seq: 2, ack: 2 })
      expect(connection.state).toBe("CLOSING")
      yield* peer.send({ flags: ".", seq: 2, ack: 2 })
      expect(connection.state).toBe("TIME-WAIT")
      peer.expectNone()
      yield* peer.after(TIME_WAIT_MS)
      expect(connection.state).toBe("CLOSED")
    }))

  it.effect("passive close: the peer's FIN → CLOSE-WAIT (read ends, writing goes on); CLOSE → LAST-ACK; the ACK of our FIN → CLOSED", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      const { connection } = yield* peer.establishPassive()
      yield* peer.send({ flags: "FP.", seq: 1, ack: 1, data: 20 })
      peer.expect({ flags: ".", seq: 1, ack: 22 })
      expect(connection.state).toBe("CLOSE-WAIT")
      expect((yield* connection.read())?.length).toBe(20)
      expect(yield* connection.read()).toBeUndefined() // end of the peer's data
      yield* peer.run(connection.write(new Uint8Array(50)))
      peer.expect({ flags: "P.", seq: 1, ack: 22, length: 50 })
      yield* peer.send({ flags: ".", seq: 22, ack: 51 })
      yield* peer.run(connection.close())
      peer.expect({ flags: "F.", seq: 51, ack: 22 })
      expect(connection.state).toBe("LAST-ACK")
      const closing = yield* peer.fork(connection.whenClosed)
      expect(outcome(closing)).toBe("running")
      yield* peer.send({ flags: ".", seq: 22, ack: 52 })
      expect(connection.state).toBe("CLOSED") // no TIME-WAIT for the passive closer
      expect(outcome(closing)).toBe("succeeded")
      expect(peer.host.tcp.tables.established.size).toBe(0)
      peer.expectNone()
    }))

  it.effect("LAST-ACK retransmits its FIN until acknowledged", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      const { connection } = yield* peer.establishPassive()
      yield* peer.send({ flags: "F.", seq: 1, ack: 1 })
      peer.expect({ flags: ".", ack: 2 })
      yield* peer.run(connection.close())
      peer.expect({ flags: "F.", seq: 1, at: 0 })
      yield* peer.after(200)
      peer.expect({ flags: "F.", seq: 1, at: 200 })
      yield* peer.send({ flags: ".", seq: 2, ack: 2 })
      expect(connection.state).toBe("CLOSED")
    }))

  it.effect("FIN retransmission: RTO, then doubling (RFC 6298 §5.5); the ACK of the FIN stops it", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      const connection = yield* peer.establishActive()
      yield* peer.run(connection.close())
      peer.expect({ flags: "F.", seq: 1, at: 0 })
      yield* peer.after(1500)
      // The handshake's RTT sample was 0: RTO = the 200 ms minimum, then 400, 800.
      expect(peer.takeAll().map((s) => [s.flags, s.seq, s.at])).toEqual([["F.", 1, 200], ["F.", 1, 600], ["F.", 1, 1400]])
      yield* peer.send({ flags: ".", ack: 2 })
      expect(connection.state).toBe("FIN-WAIT-2")
      yield* peer.after(10_000)
      peer.expectNone()
    }))

  it.effect("half-close: after shutdown we keep reading and acknowledging; writing fails with broken-pipe", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      const connection = yield* peer.establishActive()
      yield* peer.run(connection.shutdown())
      peer.expect({ flags: "F.", seq: 1 })
      yield* peer.send({ flags: ".", ack: 2 })
      expect(connection.state).toBe("FIN-WAIT-2")
      const writing = yield* peer.fork(connection.write(new Uint8Array(10)))
      expect(outcome(writing)).toBe("broken-pipe")
      for (let i = 0; i < 3; i++) {
        yield* peer.send({ flags: "P.", seq: 1 + 1000 * i, ack: 2, data: 1000 })
        peer.expect({ flags: ".", seq: 2, ack: 1001 + 1000 * i })
      }
      const received = yield* connection.read()
      expect(received?.length).toBe(3000)
      yield* peer.send({ flags: "F.", seq: 3001, ack: 2 })
      peer.expect({ flags: ".", seq: 2, ack: 3002 })
      expect(connection.state).toBe("TIME-WAIT")
      expect(yield* connection.read()).toBeUndefined()
    }))

  it.effect("CLOSE with unread data resets the connection instead of a FIN (RFC 9293 §3.10.4, RFC 2525 §2.17)", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      const connection = yield* peer.establishActive()
      yield* peer.run(connection.write(new Uint8Array(30)))
      peer.expect({ flags: "P.", seq: 1, length: 30 })
      yield* peer.send({ flags: "P.", seq: 1, ack: 31, data: 100 })
      peer.expect({ flags: ".", ack: 101 })
      yield* peer.run(connection.close())
      peer.expect({ flags: "R.", seq: 31, ack: 101, length: 0 })
      peer.expectNone()
      expect(connection.state).toBe("CLOSED")
      expect(peer.host.tcp.stats.TCPAbortOnClose).toBe(1)
      yield* peer.after(5000)
      peer.expectNone()
    }))

  it.effect("data arriving after CLOSE (the application reads no more) is answered with RST", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      const connection = yield* peer.establishActive()
      yield* peer.run(connection.close())
      peer.expect({ flags: "F.", seq: 1 })
      yield* peer.send({ flags: ".", ack: 2 })
      expect(connection.state).toBe("FIN-WAIT-2")
      yield* peer.send({ flags: "P.", seq: 1, ack: 2, data: 10 })
      peer.expect({ flags: "R.", seq: 2, length: 0 })
      expect(connection.state).toBe("CLOSED")
      expect(peer.host.tcp.stats.TCPAbortOnData).toBe(1)
    }))

  it.effect("an orphaned FIN-WAIT-2 whose peer never sends its FIN ends after finTimeout", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      const connection = yield* peer.establishActive()
      yield* peer.run(connection.close())
      peer.expect({ flags: "F.", seq: 1 })
      yield* peer.after(100)
      yield* peer.send({ flags: ".", ack: 2 })
      expect(connection.state).toBe("FIN-WAIT-2")
      yield* peer.after(FIN_TIMEOUT_MS - 1)
      expect(connection.state).toBe("FIN-WAIT-2")
      yield* peer.after(1)
      expect(connection.state).toBe("CLOSED")
      expect(peer.host.tcp.tables.established.size).toBe(0)
      // Gone: the peer's late FIN finds no connection.
      yield* peer.send({ flags: "F.", seq: 1, ack: 2 })
      peer.expect({ flags: "R", seq: 2 })
    }))

  it.effect("a shutdown half-closed connection (not orphaned) stays in FIN-WAIT-2 past finTimeout", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      const connection = yield* peer.establishActive()
      yield* peer.run(connection.shutdown())
      peer.expect({ flags: "F.", seq: 1 })
      yield* peer.send({ flags: ".", ack: 2 })
      yield* peer.after(3 * FIN_TIMEOUT_MS)
      expect(connection.state).toBe("FIN-WAIT-2")
      peer.expectNone()
    }))
})

describe("TCP keepalive and the user timeout", () => {
  it.effect("keepalive (RFC 1122 §4.2.3.6): a probe after keepaliveTime idle, then every keepaliveInterval; keepaliveProbes unanswered → timed-out", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make({ tcp: { keepaliveTime: 10_000_000, keepaliveInterval: 1_000_000, keepaliveProbes: 3 } })
      const connection = yield* peer.establishActive({ connect: { keepalive: true } })
      const reading = yield* peer.fork(connection.read())
      yield* peer.after(9_999)
      peer.expectNone()
      yield* peer.after(1)
      // The probe: <SEQ=SND.UNA − 1>, no data — the peer must answer it with an ACK (Linux; RFC 1122 allows 1 garbage byte).
      peer.expect({ flags: ".", seq: 0, ack: 1, length: 0, at: 10_000 })
      yield* peer.send({ flags: ".", ack: 1 })
      peer.expectNone()
      // Answered: idle again, the next probe keepaliveTime after the answer.
      yield* peer.after(10_000)
      peer.expect({ flags: ".", seq: 0, length: 0, at: 20_000 })
      yield* peer.after(3_000)
      expect(peer.takeAll().map((s) => s.at)).toEqual([21_000, 22_000])
      expect(peer.host.tcp.stats.TCPKeepAlive).toBe(4)
      expect(connection.state).toBe("CLOSED") // three probes unanswered: dropped at the next interval
      expect(outcome(reading)).toBe("timed-out")
      peer.expectNone()
    }))

  it.effect("keepalive probes wait while data flows: any segment received restarts the idle time", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make({ tcp: { keepaliveTime: 10_000_000, keepaliveInterval: 1_000_000, keepaliveProbes: 3 } })
      const connection = yield* peer.establishActive({ connect: { keepalive: true } })
      for (let i = 0; i < 5; i++) {
        yield* peer.after(8_000)
        yield* peer.send({ flags: "P.", data: 1 })
        peer.expect({ flags: ".", ack: 2 + i })
      }
      yield* peer.after(9_999)
      peer.expectNone()
      yield* peer.after(1)
      peer.expect({ flags: ".", seq: 0, length: 0, at: 50_000 })
      expect(connection.state).toBe("ESTABLISHED")
    }))

  it.effect("without keepalive an idle connection sends nothing, for hours", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      const connection = yield* peer.establishActive()
      yield* peer.after(5 * 3600_000)
      peer.expectNone()
      expect(connection.state).toBe("ESTABLISHED")
    }))

  it.effect("user timeout (RFC 5482, TCP_USER_TIMEOUT): data unacknowledged that long aborts the connection, on time", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      const connection = yield* peer.establishActive({ connect: { userTimeout: 1_000_000 } })
      const reading = yield* peer.fork(connection.read())
      yield* peer.run(connection.write(new Uint8Array(10)))
      peer.expect({ flags: "P.", seq: 1, at: 0 })
      yield* peer.after(999)
      // Retransmissions at 200 and 600 ms; the next (1400 ms) is pulled in to the user timeout.
      expect(peer.takeAll().map((s) => s.at)).toEqual([200, 600])
      expect(connection.state).toBe("ESTABLISHED")
      yield* peer.after(1)
      expect(connection.state).toBe("CLOSED")
      expect(outcome(reading)).toBe("timed-out")
      peer.expectNone() // aborted silently, as a retransmission timeout does
    }))

  it.effect("user timeout: acknowledgments that keep coming keep the connection, however long the transfer", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      const connection = yield* peer.establishActive({ connect: { userTimeout: 1_000_000 } })
      for (let i = 0; i < 5; i++) {
        yield* peer.run(connection.write(new Uint8Array(10)))
        peer.expect({ flags: "P.", seq: 1 + 10 * i })
        yield* peer.after(900)
        yield* peer.send({ flags: ".", ack: 11 + 10 * i })
        peer.takeAll() // the retransmissions of the moment
      }
      expect(connection.state).toBe("ESTABLISHED")
    }))
})

describe("TCP SYN cookies (RFC 4987 §3.6)", () => {
  it.effect("when the SYN backlog overflows the SYN-ACK carries a cookie and no state is kept; the ACK that returns it creates the connection", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make({ tcp: { maxSynBacklog: 1 } })
      const listener = yield* peer.listen(8080, { backlog: 1 })
      // The first SYN takes the one SYN-RECEIVED slot.
      yield* peer.send({ flags: "S", seq: 0, options: { mss: 1460 } })
      peer.expect({ flags: "S.", seq: 0, ack: 1 })
      expect(peer.host.tcp.tables.established.size).toBe(1)
      // The second, from another port, gets a cookie: no connection is kept for it.
      const clientIsn = 123_456_789
      yield* peer.send({
        flags: "S",
        seq: clientIsn,
        absolute: true,
        sourcePort: 40_001,
        options: { mss: 1400, sackOk: true, ts: [5000, 0], wscale: 3 }
      })
      const synAck = peer.next()
      expect(synAck.flags).toBe("S.")
      expect(synAck.destinationPort).toBe(40_001)
      expect(synAck.rawAck).toBe(clientIsn + 1)
      // Options it echoes: the MSS it will use, SACK, TS (carrying the options in its low bits), wscale.
      expect(synAck.options.mss).toBe(1460)
      expect(synAck.options.sackOk).toBe(true)
      expect(synAck.options.wscale).toBe(5)
      expect(synAck.options.ts?.[1]).toBe(5000)
      expect(peer.host.tcp.stats.SyncookiesSent).toBe(1)
      expect(peer.host.tcp.tables.established.size).toBe(1)
      yield* peer.after(5000)
      peer.takeAll() // the first SYN-ACK's retransmissions; the cookie SYN-ACK is never retransmitted
      expect(peer.sent.filter((s) => s.destinationPort === 40_001).length).toBe(1)
      const cookie = synAck.rawSeq
      const tsEcr = synAck.options.ts?.[0] ?? 0
      // An ACK that does not return the cookie (its hash bits changed) is refused with an RST.
      yield* peer.send({ flags: ".", seq: clientIsn + 1, ack: (cookie + 1 + 0x10000) >>> 0, absolute: true, sourcePort: 40_001, options: { ts: [5005, tsEcr] } })
      peer.expect({ flags: "R" })
      expect(peer.host.tcp.stats.SyncookiesFailed).toBe(1)
      expect(peer.host.tcp.tables.established.size).toBe(1)
      // The right one creates the connection, with what the cookie and the TSecr carried back.
      yield* peer.send({ flags: ".", seq: clientIsn + 1, ack: (cookie + 1) >>> 0, absolute: true, sourcePort: 40_001, options: { ts: [5010, tsEcr] } })
      peer.expectNone()
      expect(peer.host.tcp.stats.SyncookiesRecv).toBe(1)
      const connection = yield* listener.accept
      expect(connection.remotePort).toBe(40_001)
      const info = connection.info()
      expect(info.state).toBe("ESTABLISHED")
      expect(info.mss).toBe(1300 - 12) // the largest cookie MSS (536, 1300, 1440, 1460) not above 1400, less TS
      expect(info.sack).toBe(true)
      expect(info.timestamps).toBe(true)
      expect(info.windowScale).toEqual([3, 5])
      // It works: data both ways.
      yield* peer.send({ flags: "P.", seq: clientIsn + 1, ack: (cookie + 1) >>> 0, absolute: true, sourcePort: 40_001, data: 10, options: { ts: [5020, tsEcr] } })
      expect((yield* connection.read())?.length).toBe(10)
      const ack = peer.next()
      expect([ack.flags, ack.rawSeq, ack.rawAck, ack.destinationPort]).toEqual([".", (cookie + 1) >>> 0, clientIsn + 11, 40_001])
      yield* peer.run(connection.write(new Uint8Array(5)))
      const data = peer.next()
      expect([data.flags, data.rawSeq, data.length, data.destinationPort]).toEqual(["P.", (cookie + 1) >>> 0, 5, 40_001])
      expect(peer.host.tcp.stats.TCPChallengeACK).toBe(0)
    }))

  it.effect("with synCookies never, an overflowing SYN is dropped without an answer", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make({ tcp: { maxSynBacklog: 1, synCookies: "never" } })
      yield* peer.listen(8080, { backlog: 1 })
      yield* peer.send({ flags: "S", seq: 0, options: { mss: 1460 } })
      peer.expect({ flags: "S.", seq: 0, ack: 1 })
      yield* peer.send({ flags: "S", seq: 0, sourcePort: 40_001, options: { mss: 1460 } })
      peer.expectNone()
      expect(peer.host.tcp.stats.ListenDrops).toBe(1)
      expect(peer.host.tcp.stats.SyncookiesSent).toBe(0)
    }))
})

describe("TCP and ICMP fragmentation needed (RFC 1191 §6.4, RFC 5927)", () => {
  /**
   * An ICMP "fragmentation needed and DF set" (type 3, code 4) from a router
   * 10.0.0.254 reporting next-hop MTU `mtu`, quoting the IPv4 header and
   * first 8 bytes of a segment the host sent with sequence number `rawSeq`.
   */
  const fragmentationNeeded = (peer: TcpPeer, rawSeq: number, mtu: number): Uint8Array => {
    const hostIp = ipv4FromString(HOST_ADDRESS) ?? 0
    const peerIp = ipv4FromString(PEER_ADDRESS) ?? 0
    const tcpStart = new Uint8Array(8)
    writeU16(tcpStart, 0, peer.hostPort)
    writeU16(tcpStart, 2, peer.peerPort)
    writeU32(tcpStart, 4, rawSeq)
    const packet = PacketBuffer.fromBytes(tcpStart, 200)
    const ip = {
      dscp: 0,
      ecn: 0,
      identification: 1,
      reservedFlag: false,
      moreFragments: false,
      fragmentOffset: 0,
      ttl: 64
    }
    const failed = emitIpv4(packet, { ...ip, dontFragment: true, protocol: 6, source: hostIp, destination: peerIp }) ??
      emitIcmpv4(packet, { type: Icmpv4Types.destinationUnreachable, code: 4, restOfHeader: mtu }) ??
      emitIpv4(packet, { ...ip, dontFragment: false, protocol: 1, source: ipv4FromString("10.0.0.254") ?? 0, destination: hostIp }) ??
      emitEthernet(packet, { destination: 0x020000000001, source: 0x020000000002, etherType: EtherTypes.ipv4 })
    if (failed !== undefined) throw new Error(`could not build the ICMP frame: ${String(failed)}`)
    return packet.toUint8Array()
  }

  it.effect("a segment too big for the path: the MSS drops to MTU − 40 − options and what was in flight is sent again in smaller segments", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      const connection = yield* peer.establishActive()
      yield* peer.run(connection.write(new Uint8Array(2 * 1448)))
      const first = peer.expect({ seq: 1, length: 1448 })
      expect(first.dontFragment).toBe(true)
      peer.expect({ seq: 1449, length: 1448 })
      peer.inject(fragmentationNeeded(peer, first.rawSeq, 1000))
      yield* peer.settle
      expect(connection.info().mss).toBe(1000 - 40 - 12)
      // Linux `tcp_simple_retransmit`: resent at once at the new size, no timeout waited for.
      expect(peer.takeAll().map((s) => [s.seq, s.length, s.at])).toEqual([[1, 948, 0], [949, 948, 0], [1897, 948, 0], [2845, 52, 0]])
      yield* peer.send({ flags: ".", ack: 2897 })
      yield* peer.run(connection.write(new Uint8Array(2000)))
      expect(peer.takeAll().map((s) => s.length)).toEqual([948, 948, 104])
    }))

  it.effect("an ICMP quoting a sequence number not in flight is ignored (RFC 5927 §4.1)", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make()
      const connection = yield* peer.establishActive()
      yield* peer.run(connection.write(new Uint8Array(1448)))
      const first = peer.expect({ seq: 1, length: 1448 })
      peer.inject(fragmentationNeeded(peer, (first.rawSeq + 5000) >>> 0, 1000))
      yield* peer.settle
      expect(connection.info().mss).toBe(1448)
      peer.expectNone()
    }))
})
