/**
 * The iperf3 server speaks the protocol a stock `iperf3 -c` expects: run
 * over Node's own sockets on 127.0.0.1 here (the transport does not matter
 * to it: it needs only a `SocketServer`), the client completes forward,
 * reverse, parallel and bidirectional tests over TCP and UDP, and the byte counts it prints
 * for the server's side are exactly what the server counted.
 */
import { NodeDatagramSocket, NodeSocketServer } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { makeIperf3Stats, serveIperf3 } from "@netstack/cli"
import { skipReason } from "@netstack/test-support"
import { Effect } from "effect"
import { SocketServer } from "effect/socket/SocketServer"
import { execFile } from "node:child_process"

const skip = skipReason("iperf3 interoperability", ["iperf3"])

/** What `iperf3 -J` prints at the end that these tests read. */
interface Iperf3Report {
  readonly error?: string
  readonly end: {
    readonly streams: ReadonlyArray<unknown>
    readonly sum_sent?: { readonly bytes: number }
    readonly sum_received?: { readonly bytes: number }
    readonly sum_sent_bidir_reverse?: { readonly bytes: number }
    readonly sum_received_bidir_reverse?: { readonly bytes: number }
    readonly sum?: { readonly bytes: number; readonly packets: number; readonly lost_packets: number; readonly jitter_ms: number }
  }
}

const iperf3Client = (port: number, args: ReadonlyArray<string>) =>
  Effect.callback<Iperf3Report>((resume) => {
    execFile("iperf3", ["-c", "127.0.0.1", "-p", String(port), "-t", "1", "-J", ...args], { timeout: 20_000 }, (_error, stdout) => {
      resume(Effect.sync(() => JSON.parse(stdout) as Iperf3Report))
    })
  })

/** Runs one client against a fresh server; returns the client's report and the server's counts. */
const runTest = (args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const server = yield* SocketServer
    const port = "port" in server.address ? server.address.port : 0
    const stats = makeIperf3Stats()
    const datagrams = yield* NodeDatagramSocket.make({ bind: { address: "127.0.0.1", port } })
    yield* Effect.forkScoped(serveIperf3({ stats, datagrams }))
    const report = yield* iperf3Client(port, args)
    return { report, stats }
  }).pipe(Effect.scoped, Effect.provide(NodeSocketServer.layer({ port: 0, host: "127.0.0.1" })))

describe.skipIf(skip !== undefined)("iperf3 server against a stock iperf3 client", () => {
  it.live("forward: the client sends, the server's received count is the client's receiver figure", () =>
    Effect.gen(function*() {
      const { report, stats } = yield* runTest([])
      expect(report.error).toBeUndefined()
      expect(stats.testsCompleted).toBe(1)
      expect(stats.bytesReceived).toBeGreaterThan(1_000_000)
      expect(report.end.sum_received?.bytes).toBe(stats.bytesReceived)
      expect(report.end.sum_sent?.bytes).toBeGreaterThanOrEqual(stats.bytesReceived)
    }))

  it.live("reverse (-R) with two parallel streams: the server sends on both", () =>
    Effect.gen(function*() {
      const { report, stats } = yield* runTest(["-R", "-P", "2"])
      expect(report.error).toBeUndefined()
      expect(report.end.streams).toHaveLength(2)
      expect(stats.bytesSent).toBeGreaterThan(1_000_000)
      expect(report.end.sum_sent?.bytes).toBe(stats.bytesSent)
      expect(report.end.sum_received?.bytes).toBeGreaterThan(0)
    }))

  it.live("bidirectional (--bidir): both directions counted", () =>
    Effect.gen(function*() {
      const { report, stats } = yield* runTest(["--bidir"])
      expect(report.error).toBeUndefined()
      expect(stats.bytesReceived).toBeGreaterThan(0)
      expect(stats.bytesSent).toBeGreaterThan(0)
      expect(report.end.sum_received?.bytes).toBe(stats.bytesReceived)
      expect(report.end.sum_sent_bidir_reverse?.bytes).toBe(stats.bytesSent)
    }))

  it.live("UDP (-u at 20 Mbit/s): the server counts the datagrams and reports no loss on loopback", () =>
    Effect.gen(function*() {
      const { report, stats } = yield* runTest(["-u", "-b", "20M", "-l", "1400"])
      expect(report.error).toBeUndefined()
      expect(stats.testsCompleted).toBe(1)
      // 20 Mbit/s for 1 s in 1400-byte datagrams: about 2.5 MB, 1800 datagrams.
      expect(stats.bytesReceived).toBeGreaterThan(1_500_000)
      expect(report.end.sum?.bytes).toBeGreaterThan(0)
      expect(report.end.sum?.lost_packets).toBe(0)
      expect(report.end.sum?.packets).toBeGreaterThan(1000)
    }))

  it.live("UDP reverse (-u -R): the server paces numbered datagrams the client receives in order", () =>
    Effect.gen(function*() {
      const { report, stats } = yield* runTest(["-u", "-R", "-b", "8M", "-l", "1400"])
      expect(report.error).toBeUndefined()
      // 8 Mbit/s for 1 s: about 1 MB.
      expect(stats.bytesSent).toBeGreaterThan(700_000)
      expect(stats.bytesSent).toBeLessThan(1_400_000)
      expect(report.end.sum?.lost_packets).toBe(0)
      expect(report.end.sum?.packets).toBeGreaterThan(500)
    }))

  it.live("SCTP, not served, is refused with a server error the client reports", () =>
    Effect.gen(function*() {
      const { report, stats } = yield* runTest(["--sctp"])
      expect(report.error).toMatch(/not implemented|server|sctp/i)
      expect(stats.testsCompleted).toBe(0)
    }))
})
