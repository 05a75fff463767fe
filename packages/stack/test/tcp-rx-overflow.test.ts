/**
 * Bulk TCP flows into a NIC whose receive ring overflows: page-sized
 * receive buffers (`DriverOptions.rxBufferSize`) on a large-MTU link with
 * TSO, so a 64 KiB super-packet takes 17 descriptors and the ring holds a
 * handful of them. The NIC misses frames (`rx_missed_errors`), as a real
 * one does; TCP's loss recovery (RFC 6298 RTO, RFC 6675 SACK, RFC 5681 fast
 * retransmit) must get every byte of every flow through. Over an in-process
 * wire the whole path runs at once, so an ACK may be taken while the
 * retransmission it acknowledges is still being sent (the case that left
 * flows stalled forever with SND.NXT beyond the data).
 */
import { describe, expect, it } from "@effect/vitest"
import { Network, type TcpConnection, whileClockAdvances } from "@netstack/stack"
import { Effect, Fiber } from "effect"

/** Page-sized receive buffers, as a large-MTU NIC may be given. */
const PAGES = { rxBufferSize: 4096 }

const FLOWS = 20
const PER_FLOW = 160 * 1024
const CHUNK = 64 * 1024

describe("TCP over a NIC whose receive ring overflows", () => {
  it.effect("page-sized rx buffers on a 256-descriptor ring at MTU 65535: frames are missed, and every flow still completes", () =>
    Effect.gen(function*() {
      const net = Network.make()
      const tcp = { sendBuffer: 1024 * 1024, receiveBuffer: 1024 * 1024 }
      const a = yield* net.host("a", { tcp })
      const b = yield* net.host("b", { tcp })
      const link = yield* net.link(a, b, {
        a: "10.0.0.1/24",
        b: "10.0.0.2/24",
        mtu: 65535,
        nic: { offloads: { rxChecksum: true, txChecksum: true, tso: true, scatterGather: true }, rxRingSize: 256, txRingSize: 256 },
        driver: PAGES
      })
      const listener = yield* b.listen(5001, { backlog: FLOWS })
      const chunk = new Uint8Array(CHUNK).fill(0x5a)
      const readAll = (connection: TcpConnection) =>
        Effect.gen(function*() {
          let received = 0
          for (;;) {
            const data = yield* connection.read(CHUNK)
            if (data === undefined) break
            received += data.length
          }
          yield* connection.close()
          return received
        })
      const writeAll = (connection: TcpConnection) =>
        Effect.gen(function*() {
          for (let sent = 0; sent < PER_FLOW; sent += CHUNK) yield* connection.write(chunk.subarray(0, Math.min(CHUNK, PER_FLOW - sent)))
          yield* connection.shutdown()
        })
      const run = Effect.gen(function*() {
        const receiver = yield* Effect.forkChild(Effect.gen(function*() {
          const readers = []
          for (let i = 0; i < FLOWS; i++) readers.push(yield* Effect.forkChild(readAll(yield* listener.accept)))
          return yield* Effect.forEach(readers, Fiber.join)
        }))
        const connections: Array<TcpConnection> = []
        for (let i = 0; i < FLOWS; i++) connections.push(yield* a.connect("10.0.0.2", 5001))
        yield* Effect.forEach(connections, writeAll, { concurrency: "unbounded", discard: true })
        return yield* Fiber.join(receiver)
      })
      const result = yield* whileClockAdvances(run, 120_000, 5)
      expect(result._tag).toBe("Success")
      if (result._tag === "Success") expect(result.success).toEqual(Array.from({ length: FLOWS }, () => PER_FLOW))
      // The ring did overflow: the flows completed through loss recovery, not for lack of losses.
      expect(link.b.driver.nic.errors.rxMissedErrors).toBeGreaterThan(0)
      expect(a.tcp.stats.RetransSegs).toBeGreaterThan(0)
    }))
})
