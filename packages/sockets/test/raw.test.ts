/**
 * Raw IP sockets (raw(7)) between two hosts: an ICMP socket sees the echo
 * requests its host answers (IP header included) and the replies to the
 * echo requests it sends itself; IP_HDRINCL sends the application's header;
 * a raw socket takes a protocol no handler knows, so no ICMP protocol
 * unreachable goes back (RFC 1122 §3.2.2.1 only without one).
 */
import { describe, expect, it } from "@effect/vitest"
import { internetChecksum } from "@netstack/buffers"
import { advanceClock, whileClockAdvances } from "@netstack/stack"
import { Effect, Result } from "effect"
import { pair, pattern } from "./support/pair.ts"

/** An ICMP echo request (RFC 792): type 8, code 0, checksum, identifier, sequence number, data. */
const echoRequest = (id: number, seq: number, data: Uint8Array): Uint8Array => {
  const message = new Uint8Array(8 + data.length)
  message[0] = 8
  message[4] = id >> 8
  message[5] = id & 0xff
  message[6] = seq >> 8
  message[7] = seq & 0xff
  message.set(data, 8)
  const sum = internetChecksum(message)
  message[2] = sum >> 8
  message[3] = sum & 0xff
  return message
}

describe("raw sockets", () => {
  it.effect("an ICMP socket sees the echo request its host answers, IP header first", () =>
    Effect.gen(function*() {
      const { a, sb } = yield* pair()
      const raw = yield* sb.raw(1)
      const ping = yield* whileClockAdvances(a.ping("10.0.0.2"))
      expect(ping._tag).toBe("Success")
      const seen = yield* sb.receive(raw)
      expect(seen.from).toBe("10.0.0.1")
      expect(seen.to).toBe("10.0.0.2")
      expect((seen.data[0] ?? 0) >> 4).toBe(4) // IPv4 header first
      expect(seen.data[9]).toBe(1) // protocol ICMP
      expect(seen.data[20]).toBe(8) // echo request
    }).pipe(Effect.scoped))

  it.effect("sends an echo request it built and receives the reply", () =>
    Effect.gen(function*() {
      const { sa } = yield* pair()
      const raw = yield* sa.raw(1)
      const data = pattern(56)
      yield* sa.send(raw, echoRequest(0x4242, 1, data), "10.0.0.2")
      const replies = yield* whileClockAdvances(Effect.gen(function*() {
        // The socket also sees what else ICMP brings; the reply is type 0.
        for (;;) {
          const d = yield* sa.receive(raw)
          if (d.data[20] === 0) return d
        }
      }), 1_000)
      expect(replies._tag).toBe("Success")
      if (replies._tag !== "Success") return
      const reply = replies.success.data
      const ihl = ((reply[0] ?? 0) & 0x0f) * 4
      expect(replies.success.from).toBe("10.0.0.2")
      expect([reply[ihl + 4], reply[ihl + 5], reply[ihl + 6], reply[ihl + 7]]).toEqual([0x42, 0x42, 0, 1])
      expect(reply.subarray(ihl + 8)).toEqual(data)
      expect(internetChecksum(reply, ihl)).toBe(0)
    }).pipe(Effect.scoped))

  it.effect("IP_HDRINCL: the application's header (TTL, protocol) goes out; a raw socket takes an unknown protocol without ICMP", () =>
    Effect.gen(function*() {
      const { a, b, sa, sb } = yield* pair()
      const header = new Uint8Array(20 + 12)
      header[0] = 0x45
      header[8] = 33 // TTL
      header[9] = 253 // experimental protocol (RFC 3692)
      header.set([10, 0, 0, 2], 16) // destination; source 0: filled in from the route
      header.set(pattern(12), 20)
      // Without a socket for 253: protocol unreachable comes back (RFC 1122 §3.2.2.1).
      const sender = yield* sa.raw(255)
      yield* sa.send(sender, header)
      yield* whileClockAdvances(advanceClock(10))
      expect(b.ipv4.stats.InUnknownProtos).toBe(1)
      expect(a.icmp.stats.InDestUnreachs).toBe(1)
      const receiver = yield* sb.raw(253)
      yield* sa.send(sender, header)
      const got = yield* whileClockAdvances(sb.receive(receiver), 1_000)
      expect(got._tag).toBe("Success")
      if (got._tag !== "Success") return
      expect(got.success.data[8]).toBe(33)
      expect(got.success.data[9]).toBe(253)
      expect(got.success.from).toBe("10.0.0.1")
      expect(got.success.data.subarray(20)).toEqual(pattern(12))
      yield* advanceClock(10)
      expect(b.ipv4.stats.InUnknownProtos).toBe(1)
      expect(a.icmp.stats.InDestUnreachs).toBe(1)
      // Closed: no more copies, and ICMP protocol unreachable again.
      yield* sb.close(receiver)
      yield* sa.send(sender, header)
      yield* whileClockAdvances(advanceClock(10))
      expect(b.ipv4.stats.InUnknownProtos).toBe(2)
      expect(Result.isFailure(yield* Effect.result(sb.receive(receiver)))).toBe(true)
      // IPPROTO_RAW receives nothing; protocol 0 is not a raw protocol.
      expect(Result.isFailure(yield* Effect.result(sb.raw(0)))).toBe(true)
    }).pipe(Effect.scoped))
})
