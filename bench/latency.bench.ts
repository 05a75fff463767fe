/**
 * Request/response latency: 64-byte ping-pong on one connection, the round
 * trip's p50, p99 and p99.9, through netstack between two in-process hosts
 * (net channels off and on; the channels suite's `pingPong`) against Node
 * `net` over 127.0.0.1 with `setNoDelay`, measured in the same run. Every
 * percentile is the median over alternated runs.
 *
 * `npm run bench -- latency`.
 */
import { createServer, connect as nodeConnect } from "node:net"
import { MESSAGE, pingPong } from "./channels.bench.ts"
import { compare, type Comparison, isQuick, type Measurement, median, quantile, type SuiteResult } from "./harness.ts"

const PERCENTILES: ReadonlyArray<readonly [label: string, q: number]> = [["p50", 0.5], ["p99", 0.99], ["p99.9", 0.999]]

/** `count` exchanges of `MESSAGE` bytes each way through Node `net` over 127.0.0.1, TCP_NODELAY at both ends; each round trip in ns, sorted. */
const nodePingPong = (count: number): Promise<ReadonlyArray<number>> =>
  new Promise((resolve, reject) => {
    const reply = Buffer.alloc(MESSAGE, 2)
    const request = Buffer.alloc(MESSAGE, 1)
    const server = createServer((socket) => {
      socket.setNoDelay(true)
      let pending = 0
      socket.on("data", (data: Buffer) => {
        pending += data.length
        for (; pending >= MESSAGE; pending -= MESSAGE) socket.write(reply)
      })
      socket.on("error", reject)
    })
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      const client = nodeConnect({ host: "127.0.0.1", port, noDelay: true })
      const times: Array<number> = []
      let got = 0
      let t0 = 0
      const send = (): void => {
        t0 = performance.now()
        client.write(request)
      }
      client.on("connect", send)
      client.on("data", (data: Buffer) => {
        got += data.length
        if (got < MESSAGE) return
        got -= MESSAGE
        times.push((performance.now() - t0) * 1e6)
        if (times.length < count) return send()
        client.end()
        server.close()
        resolve(times.sort((x, y) => x - y))
      })
      client.on("error", reject)
    })
  })

type Subject = "off" | "on" | "node"

const NAMES: Readonly<Record<Subject, string>> = {
  off: "netstack in-process, net channels off",
  on: "netstack in-process, net channels on",
  node: "Node net over 127.0.0.1, setNoDelay"
}

/** The latency suite: each percentile of each netstack path against Node's, with a table and a bar chart. */
export const latencySuite = async (): Promise<SuiteResult> => {
  const quick = isQuick()
  const runs = quick ? 1 : 3
  const exchanges = quick ? 2000 : 20000
  const run: Readonly<Record<Subject, (count: number) => Promise<ReadonlyArray<number>>>> = {
    off: (count) => pingPong(false, count),
    on: (count) => pingPong(true, count),
    node: nodePingPong
  }
  const subjects: ReadonlyArray<Subject> = ["off", "on", "node"]
  const figures: Record<Subject, Array<ReadonlyArray<number>>> = { off: [], on: [], node: [] }
  for (const subject of subjects) await run[subject](500) // warm up
  for (let i = 0; i < runs; i++) {
    for (const subject of i % 2 === 0 ? subjects : [...subjects].reverse()) {
      const sorted = await run[subject](exchanges)
      figures[subject].push(PERCENTILES.map(([, q]) => quantile(sorted, q)))
    }
  }
  /** Percentile `p` (an index into PERCENTILES) of `subject`, ns: the median over runs. */
  const ns = (subject: Subject, p: number): number => median(figures[subject].map((f) => f[p] ?? Number.NaN))
  const measurement = (subject: Subject, p: number): Measurement => ({
    name: `${MESSAGE}-byte ping-pong ${PERCENTILES[p]?.[0] ?? ""}, ${NAMES[subject]}`,
    nsPerOp: ns(subject, p)
  })
  const rows: Array<Comparison> = PERCENTILES.flatMap((_, p) => [
    compare("latency", measurement("off", p), measurement("node", p)),
    compare("latency", measurement("on", p), measurement("node", p))
  ])
  const us = (value: number): string => (value / 1000).toFixed(1)
  const values = subjects.flatMap((s) => PERCENTILES.map((_, p) => ns(s, p)))
  const spread = Math.max(...values) / Math.min(...values)
  return {
    title: "Request/response latency",
    description: `${MESSAGE}-byte request, ${MESSAGE}-byte reply, one at a time on one connection, TCP_NODELAY; the round trip as the ` +
      "client sees it. netstack between two in-process hosts (MTU 1500, offloaded) with net channels off and on, against Node `net` " +
      `over 127.0.0.1 in the same run. Percentiles of ${exchanges} exchanges; medians of ${runs} alternated runs. ` +
      "Speedup = Node's round trip / netstack's.",
    rows,
    tables: [{
      title: "Round trip, µs",
      header: ["", ...PERCENTILES.map(([label]) => label), ...PERCENTILES.map(([label]) => `Node / netstack ${label}`)],
      rows: subjects.map((s) => [
        NAMES[s],
        ...PERCENTILES.map((_, p) => us(ns(s, p))),
        ...PERCENTILES.map((_, p) => `${(ns("node", p) / ns(s, p)).toFixed(2)}×`)
      ])
    }],
    plots: [{
      kind: "bar",
      name: "latency",
      title: `${MESSAGE}-byte ping-pong round trip`,
      yLabel: spread > 30 ? "µs (log scale)" : "µs",
      logY: spread > 30,
      categories: PERCENTILES.map(([label]) => label),
      series: subjects.map((s) => ({ label: NAMES[s], values: PERCENTILES.map((_, p) => ns(s, p) / 1000) }))
    }],
    notes: [
      `latency: p50 ${subjects.map((s) => `${s === "node" ? "Node" : `channels ${s}`} ${us(ns(s, 0))} µs`).join(", ")}; ` +
      `p99 ${subjects.map((s) => `${us(ns(s, 1))}`).join(" / ")} µs; p99.9 ${subjects.map((s) => `${us(ns(s, 2))}`).join(" / ")} µs (off / on / Node)`
    ],
    data: { exchanges, runs, percentiles: PERCENTILES.map(([label]) => label), nsByRun: figures }
  }
}
