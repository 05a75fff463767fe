/**
 * Net channels: the fast path (classifier → channel → consumer fiber → TCP
 * input) against the slow path (link layer → IPv4 → TCP input) on the same
 * in-process workloads, both measured in one run, on the real clock:
 *
 * - bulk: a one-way TCP transfer between two hosts on one wire (MTU 1500,
 *   TSO/GRO/checksum offload), application bytes per second from the first
 *   write to the receiver reading the FIN;
 * - request/response: small ping-pong exchanges (64-byte request, 64-byte
 *   reply, TCP_NODELAY) on one connection; the p50 and p99 of the round trip.
 *
 * `npm run bench -- channels`.
 */
import { Network } from "@netstack/stack"
import { Effect, Fiber } from "effect"
import { compare, isQuick, type Measurement, median, quantile, type SuiteResult } from "./harness.ts"
import { countReceived } from "./transfer.ts"

const CHUNK = 64 * 1024
const BULK_BYTES = 64 * 1024 * 1024
const EXCHANGES = 4000
/** The size of a ping-pong request and of its reply, bytes. */
export const MESSAGE = 64

/** Two hosts on one wire, with net channels on or off at both. */
const pair = (netChannels: boolean) =>
  Effect.gen(function*() {
    const tcp = { sendBuffer: 4 * 1024 * 1024, receiveBuffer: 4 * 1024 * 1024 }
    const net = Network.make()
    const a = yield* net.host("a", { tcp, netChannels })
    const b = yield* net.host("b", { tcp, netChannels })
    yield* net.link(a, b, {
      a: "10.0.0.1/24",
      b: "10.0.0.2/24",
      mtu: 1500,
      nic: { offloads: { rxChecksum: true, txChecksum: true, tso: true, scatterGather: true }, rxRingSize: 1024, txRingSize: 1024 }
    })
    return { a, b }
  })

/** One bulk transfer of `total` bytes; ns per byte, and how many segments took the fast path at the receiver. */
const bulk = (netChannels: boolean, total: number): Promise<{ readonly nsPerByte: number; readonly fastPath: number }> =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const { a, b } = yield* pair(netChannels)
    const listener = yield* b.listen(5001)
    const receiver = yield* Effect.forkChild(Effect.flatMap(listener.accept, (connection) => countReceived(connection, new Uint8Array(1024 * 1024))))
    const connection = yield* a.connect("10.0.0.2", 5001)
    const chunk = new Uint8Array(CHUNK).fill(0x5a)
    const t0 = performance.now()
    for (let sent = 0; sent < total; sent += CHUNK) yield* connection.write(chunk)
    yield* connection.shutdown()
    const received = yield* Fiber.join(receiver)
    const nsPerByte = ((performance.now() - t0) * 1e6) / received
    if (received !== total) return yield* Effect.die(`received ${received} of ${total} bytes`)
    return { nsPerByte, fastPath: b.channels.stats.fastPath }
  })))

/**
 * `count` request/response exchanges of `MESSAGE` bytes each way on one
 * connection (TCP_NODELAY) between two hosts on one wire (MTU 1500,
 * offloaded), net channels on or off; each round trip in ns, sorted.
 */
export const pingPong = (netChannels: boolean, count: number): Promise<ReadonlyArray<number>> =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const { a, b } = yield* pair(netChannels)
    const listener = yield* b.listen(7, { noDelay: true })
    yield* Effect.forkChild(Effect.gen(function*() {
      const connection = yield* listener.accept
      const reply = new Uint8Array(MESSAGE).fill(2)
      for (;;) {
        let got = 0
        while (got < MESSAGE) {
          const chunk = yield* connection.read(MESSAGE - got)
          if (chunk === undefined) return
          got += chunk.length
        }
        yield* connection.write(reply)
      }
    }))
    const connection = yield* a.connect("10.0.0.2", 7, { noDelay: true })
    const request = new Uint8Array(MESSAGE).fill(1)
    const times: Array<number> = []
    for (let i = 0; i < count; i++) {
      const t0 = performance.now()
      yield* connection.write(request)
      let got = 0
      while (got < MESSAGE) {
        const chunk = yield* connection.read(MESSAGE - got)
        if (chunk === undefined) return yield* Effect.die("the server closed")
        got += chunk.length
      }
      times.push((performance.now() - t0) * 1e6)
    }
    yield* connection.shutdown()
    return times.sort((x, y) => x - y)
  })))

/** The channels suite: bulk throughput and ping-pong p50/p99, fast path against slow path, alternated runs. */
export const channelsSuite = async (runs = isQuick() ? 1 : 3): Promise<SuiteResult> => {
  const bulkBytes = isQuick() ? BULK_BYTES / 4 : BULK_BYTES
  const exchanges = isQuick() ? EXCHANGES / 4 : EXCHANGES
  await bulk(true, 8 * 1024 * 1024) // warm up both paths
  await bulk(false, 8 * 1024 * 1024)
  await pingPong(true, 500)
  await pingPong(false, 500)
  const fastBulk: Array<number> = []
  const slowBulk: Array<number> = []
  let fastSegments = 0
  const fastP50: Array<number> = []
  const fastP99: Array<number> = []
  const slowP50: Array<number> = []
  const slowP99: Array<number> = []
  for (let i = 0; i < runs; i++) {
    const slow = await bulk(false, bulkBytes)
    const fast = await bulk(true, bulkBytes)
    slowBulk.push(slow.nsPerByte)
    fastBulk.push(fast.nsPerByte)
    fastSegments = fast.fastPath
    const slowTimes = await pingPong(false, exchanges)
    const fastTimes = await pingPong(true, exchanges)
    slowP50.push(quantile(slowTimes, 0.5))
    slowP99.push(quantile(slowTimes, 0.99))
    fastP50.push(quantile(fastTimes, 0.5))
    fastP99.push(quantile(fastTimes, 0.99))
  }
  const m = (name: string, xs: Array<number>, bytesPerOp?: number): Measurement =>
    bytesPerOp === undefined ? { name, nsPerOp: median(xs) } : { name, nsPerOp: median(xs), bytesPerOp }
  const fastBulkM = m("TCP bulk, net channels on (fast path), MTU 1500 offloaded", fastBulk, 1)
  const slowBulkM = m("TCP bulk, net channels off (slow path)", slowBulk, 1)
  const fastP50M = m(`${MESSAGE}-byte ping-pong p50, net channels on`, fastP50)
  const slowP50M = m(`${MESSAGE}-byte ping-pong p50, net channels off`, slowP50)
  const fastP99M = m(`${MESSAGE}-byte ping-pong p99, net channels on`, fastP99)
  const slowP99M = m(`${MESSAGE}-byte ping-pong p99, net channels off`, slowP99)
  const gbits = (nsPerByte: number): string => `${(8 / nsPerByte).toFixed(2)} Gbit/s`
  const us = (ns: number): string => `${(ns / 1000).toFixed(1)} µs`
  return {
    rows: [
      compare("channels", fastBulkM, slowBulkM),
      compare("channels", fastP50M, slowP50M),
      compare("channels", fastP99M, slowP99M)
    ],
    notes: [
      `channels: bulk ${gbits(fastBulkM.nsPerOp)} with net channels, ${gbits(slowBulkM.nsPerOp)} without ` +
      `(${(slowBulkM.nsPerOp / fastBulkM.nsPerOp).toFixed(2)}×; ${fastSegments} segments took the fast path at the receiver in the last run); ` +
      `ping-pong round trip p50 ${us(fastP50M.nsPerOp)} vs ${us(slowP50M.nsPerOp)} (${(slowP50M.nsPerOp / fastP50M.nsPerOp).toFixed(2)}×), ` +
      `p99 ${us(fastP99M.nsPerOp)} vs ${us(slowP99M.nsPerOp)} (${(slowP99M.nsPerOp / fastP99M.nsPerOp).toFixed(2)}×); ` +
      `medians of ${runs} alternated runs (${bulkBytes / 1024 / 1024} MiB, ${exchanges} exchanges each)`
    ]
  }
}
