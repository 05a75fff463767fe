/**
 * TCP between two hosts on a wire, under TestClock: the handshake, data
 * both ways, half-close and close, refused connections.
 */
import { describe, expect, it } from "@effect/vitest"
import type { Impairments } from "@netstack/device"
import { Network, whileClockAdvances } from "@netstack/stack"
import { Deferred, Duration, Effect, Fiber } from "effect"

const pair = (impairments: Impairments = { delay: Duration.millis(1) }) =>
  Effect.gen(function*() {
    const net = Network.make()
    const a = yield* net.host("a")
    const b = yield* net.host("b")
    const link = yield* net.link(a, b, { a: "10.0.0.1/24", b: "10.0.0.2/24", impairments })
    return { net, a, b, link }
  })

const pattern = (n: number, seed = 7): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff)

describe("TCP basics", () => {
  it.effect("handshake, data both ways, and a graceful close", () =>
    Effect.gen(function*() {
      const { a, b } = yield* pair()
      const server = yield* b.listen(80)
      const serverSide = yield* Effect.forkChild(Effect.gen(function*() {
        const conn = yield* server.accept
        const request = yield* conn.readAll()
        yield* conn.write(request.map((x) => x ^ 0xff))
        yield* conn.close()
        return request.length
      }))
      const result = yield* whileClockAdvances(Effect.scoped(Effect.gen(function*() {
        const conn = yield* a.connect("10.0.0.2", 80)
        const data = pattern(100_000)
        yield* conn.write(data)
        yield* conn.shutdown()
        const reply = yield* conn.readAll()
        return { sent: data, reply, info: conn.info() }
      })), 20_000)
      expect(result._tag).toBe("Success")
      if (result._tag !== "Success") return
      expect(result.success.reply).toEqual(result.success.sent.map((x) => x ^ 0xff))
      expect(yield* Fiber.join(serverSide)).toBe(100_000)
    }))

  it.effect("data flows on, in order, after more than 2^31 bytes of sequence space (comparisons with ISS wrap)", () =>
    Effect.gen(function*() {
      const { a, b } = yield* pair()
      // As if each side had already sent 2 GiB + 64 KiB: SND.UNA is more than 2^31 ahead of ISS, where "SND.UNA > ISS"
      // reads false again (RFC 9293 §3.4). Only the SYN's acknowledgment may tell where the data starts.
      const pastHalfTheSpace = (sndUna: number): number => (sndUna - 2 ** 31 - 65536) >>> 0
      const server = yield* b.listen(80)
      const serverSide = yield* Effect.forkChild(Effect.gen(function*() {
        const conn = yield* server.accept
        conn.tcb.iss = pastHalfTheSpace(conn.tcb.sndUna)
        const request = yield* conn.readAll()
        yield* conn.write(request.map((x) => x ^ 0xff))
        yield* conn.close()
        return { length: request.length, unacknowledged: conn.tcb.send.length }
      }))
      const result = yield* whileClockAdvances(Effect.scoped(Effect.gen(function*() {
        const conn = yield* a.connect("10.0.0.2", 80)
        conn.tcb.iss = pastHalfTheSpace(conn.tcb.sndUna)
        const data = pattern(300_000)
        yield* conn.write(data)
        yield* conn.shutdown()
        const reply = yield* conn.readAll()
        return { sent: data, reply, unacknowledged: conn.tcb.send.length }
      })), 20_000)
      expect(result._tag).toBe("Success")
      if (result._tag !== "Success") return
      expect(result.success.reply).toEqual(result.success.sent.map((x) => x ^ 0xff))
      expect(result.success.unacknowledged).toBe(0) // acknowledged data left the send buffer
      const served = yield* Fiber.join(serverSide)
      expect(served.length).toBe(300_000)
    }))

  it.effect("a closed port answers RST: connection refused", () =>
    Effect.gen(function*() {
      const { a } = yield* pair()
      const result = yield* whileClockAdvances(Effect.scoped(a.connect("10.0.0.2", 81)))
      expect(result._tag === "Failure" ? result.failure.reason : "").toBe("connection-refused")
    }))
  it.effect("a TSO sender's NIC paces by wire frames: bulk data at MTU 1500 never overruns the peer's receive ring", () =>
    Effect.gen(function*() {
      const net = Network.make()
      const a = yield* net.host("a")
      const b = yield* net.host("b")
      // Each 64 KiB super-packet leaves as 45 frames: a NIC that yielded every 64 packets (not frames) would put
      // 2880 frames on the wire at once, far more than the receiver's 256 descriptors.
      const nic = { offloads: { rxChecksum: true, txChecksum: true, tso: true, scatterGather: true }, rxRingSize: 256, txRingSize: 256 }
      const link = yield* net.link(a, b, { a: "10.0.0.1/24", b: "10.0.0.2/24", mtu: 1500, nic })
      const server = yield* b.listen(80)
      const total = 8 * 1024 * 1024
      const serverSide = yield* Effect.forkChild(Effect.flatMap(server.accept, (conn) => conn.readAll()))
      const result = yield* whileClockAdvances(Effect.scoped(Effect.gen(function*() {
        const conn = yield* a.connect("10.0.0.2", 80)
        yield* conn.write(pattern(total))
        yield* conn.shutdown()
        return yield* Fiber.join(serverSide)
      })), 20_000)
      expect(result._tag === "Success" && result.success).toEqual(pattern(total))
      expect(link.a.driver.nic.stats()["tx_queue_0_wire_frames"]).toBeGreaterThan(total / 1500)
      expect(link.b.driver.nic.stats()["rx_missed_errors"]).toBe(0)
      expect(a.tcp.stats.RetransSegs).toBe(0)
    }))
  it.effect("TCP small queues: a sender with a 4 MiB window keeps at most its limit below TCP, and every byte arrives", () =>
    Effect.gen(function*() {
      const net = Network.make()
      const tcp = { sendBuffer: 4 * 1024 * 1024, receiveBuffer: 4 * 1024 * 1024 }
      const a = yield* net.host("a", { tcp })
      const b = yield* net.host("b", { tcp })
      // A 1 Gbit/s NIC: the writer outruns the wire, so without TSQ the window's worth would wait in the qdisc and ring.
      const nic = { offloads: { rxChecksum: true, txChecksum: true, tso: true, scatterGather: true }, linkSpeed: 1e9, txRingSize: 1024 }
      const link = yield* net.link(a, b, { a: "10.0.0.1/24", b: "10.0.0.2/24", mtu: 1500, nic })
      const server = yield* b.listen(80)
      const total = 8 * 1024 * 1024
      const serverSide = yield* Effect.forkChild(Effect.flatMap(server.accept, (conn) => conn.readAll()))
      const limit = 256 * 1024
      const result = yield* whileClockAdvances(Effect.scoped(Effect.gen(function*() {
        const conn = yield* a.connect("10.0.0.2", 80)
        let mostQueued = 0
        let mostInQdisc = 0
        const data = pattern(total)
        // Sampled after every 64 KiB write: the writer runs whenever the send buffer takes more.
        for (let at = 0; at < total; at += 65536) {
          yield* conn.write(data.subarray(at, at + 65536))
          mostQueued = Math.max(mostQueued, conn.tcb.queuedBytes)
          mostInQdisc = Math.max(mostInQdisc, link.a.qdisc.length)
        }
        yield* conn.shutdown()
        const received = yield* Fiber.join(serverSide)
        return { received, mostQueued, mostInQdisc, queuedAtEnd: conn.tcb.queuedBytes, inFlight: conn.info().inFlight }
      })), 60_000)
      expect(result._tag).toBe("Success")
      if (result._tag !== "Success") return
      expect(result.success.received).toEqual(pattern(total))
      // The limit, plus the super-packet that crossed it.
      expect(result.success.mostQueued).toBeGreaterThan(0)
      expect(result.success.mostQueued).toBeLessThanOrEqual(limit + 64 * 1024)
      expect(result.success.mostInQdisc).toBeLessThan(8)
      expect(result.success.queuedAtEnd).toBe(0)
    }))

  it.effect("readInto: a waiting reader's array takes the data straight from the packets, every byte in order under loss and reordering, and a reader interrupted while waiting loses nothing", () =>
    Effect.gen(function*() {
      const { a, b } = yield* pair({ delay: Duration.millis(1), loss: 0.05, reorder: 0.1 })
      const server = yield* b.listen(80)
      const data = pattern(400_000, 3)
      const go = yield* Deferred.make<void>()
      const sender = yield* Effect.forkChild(Effect.gen(function*() {
        const conn = yield* server.accept
        yield* Deferred.await(go)
        yield* conn.write(data)
        yield* conn.close()
      }))
      const result = yield* whileClockAdvances(Effect.scoped(Effect.gen(function*() {
        const conn = yield* a.connect("10.0.0.2", 80)
        const received = new Uint8Array(data.length)
        let at = 0
        let reads = 0
        // A first reader gives up while it waits (its array parked): the bytes are the next reader's.
        const impatient = yield* Effect.forkChild(conn.readInto(new Uint8Array(1000)))
        yield* Effect.yieldNow
        yield* Fiber.interrupt(impatient)
        yield* Deferred.succeed(go, undefined)
        for (;;) {
          // Arrays smaller than a segment and larger than several, each offset into `received`.
          const size = reads % 3 === 0 ? 700 : 5000
          const n = yield* conn.readInto(received.subarray(0, Math.min(received.length, at + size)), at)
          if (n === undefined) break
          at += n
          reads++
        }
        return { received: received.subarray(0, at), reads, unread: conn.info().unread }
      })), 60_000)
      expect(result._tag).toBe("Success")
      if (result._tag !== "Success") return
      expect(result.success.received.length).toBe(data.length)
      expect(result.success.received).toEqual(data)
      expect(result.success.unread).toBe(0)
      yield* Fiber.join(sender)
    }))
})
