/**
 * TCP throughput against the number of concurrent flows: N connections
 * between two in-process hosts (MTU 65535, TSO/GRO/checksum offload), each
 * moving TOTAL / N bytes at once, for N = 1, 10, 100, 1000; the aggregate
 * rate from the first write (every connection established) to the last
 * FIN read. The baseline is Node `net` with the same N connections over
 * 127.0.0.1 in the same run (`onread`, and 'data' events). Every point is
 * the median of alternated runs.
 *
 * `npm run bench -- flows`.
 */
import { compare, type Comparison, gbits, isQuick, median, type SuiteResult } from "./harness.ts"
import { startSubject } from "./subject.ts"

const FLOWS: ReadonlyArray<number> = [1, 10, 100, 1000]
const MIB = 1024 * 1024
const MTU = 65535

type Subject = "netstack" | "node" | "nodeEvents"

/** "1 flow of 128 MiB", "1000 flows of 131 KiB". */
const flowsOf = (flows: number, total: number): string => {
  const each = total / flows
  const size = each >= MIB ? `${Number((each / MIB).toPrecision(3))} MiB` : `${Number((each / 1024).toPrecision(3))} KiB`
  return `${flows} flow${flows === 1 ? "" : "s"} of ${size}`
}

/** The flows suite: aggregate throughput at each N, netstack against Node, with its table and plot. */
export const flowsSuite = async (): Promise<SuiteResult> => {
  const quick = isQuick()
  const runs = quick ? 1 : 3
  const total = quick ? 16 * MIB : 128 * MIB
  const samples: Record<Subject, Map<number, Array<number>>> = { netstack: new Map(), node: new Map(), nodeEvents: new Map() }
  const record = (subject: Subject, flows: number, nsPerByte: number): void => {
    const list = samples[subject].get(flows) ?? []
    list.push(nsPerByte)
    samples[subject].set(flows, list)
  }
  // Every subject in a process of its own (`subject.ts`): one network for every run, warmed by a first transfer (see
  // `openNetstack`), and Node with each read path.
  const bed = await startSubject({ kind: "netstack", mtu: MTU, offloaded: true, warmUp: total, rounds: 3, flows: 10 })
  const node = await startSubject({ kind: "node", onread: true })
  const nodeEvents = await startSubject({ kind: "node", onread: false })
  try {
    await node.run(8 * MIB, 10)
    for (let run = 0; run < runs; run++) {
      for (const flows of run % 2 === 0 ? FLOWS : [...FLOWS].reverse()) {
        record("node", flows, (await node.run(total, flows)).nsPerByte)
        record("nodeEvents", flows, (await nodeEvents.run(total, flows)).nsPerByte)
        record("netstack", flows, (await bed.run(total, flows)).nsPerByte)
      }
    }
  } finally {
    await bed.close()
    await node.close()
    await nodeEvents.close()
  }
  const ns = (subject: Subject, flows: number): number => median(samples[subject].get(flows) ?? [])
  const rate = (subject: Subject, flows: number): number => gbits(ns(subject, flows))
  const rows: Array<Comparison> = FLOWS.map((flows) =>
    compare(
      "flows",
      { name: `netstack, ${flowsOf(flows, total)}`, nsPerOp: ns("netstack", flows), bytesPerOp: 1 },
      { name: `Node net over 127.0.0.1, ${flowsOf(flows, total)}, onread`, nsPerOp: ns("node", flows), bytesPerOp: 1 }
    )
  )
  const series = (label: string, subject: Subject) => ({ label, points: FLOWS.map((flows) => [flows, rate(subject, flows)] as const) })
  return {
    title: "TCP throughput against concurrent flows",
    description: `N connections between two in-process hosts (MTU ${MTU}, TSO/GRO/checksum offload), each moving ${total / MIB} MiB / N at once, ` +
      "against Node `net` with N connections over 127.0.0.1 in the same run; aggregate application bytes per second. " +
      `Medians of ${runs} alternated runs, each subject in a process of its own.`,
    rows,
    tables: [{
      title: "Aggregate Gbit/s, and netstack's ratio to each Node baseline",
      header: ["flows", "netstack", "Node onread", "netstack / onread", "Node 'data'", "netstack / 'data'"],
      rows: FLOWS.map((flows) => [
        String(flows),
        rate("netstack", flows).toFixed(2),
        rate("node", flows).toFixed(2),
        `${(ns("node", flows) / ns("netstack", flows)).toFixed(2)}×`,
        rate("nodeEvents", flows).toFixed(2),
        `${(ns("nodeEvents", flows) / ns("netstack", flows)).toFixed(2)}×`
      ])
    }],
    plots: [{
      kind: "line",
      name: "tcp-flows",
      title: "Aggregate TCP throughput against concurrent flows",
      xLabel: "concurrent connections (log scale)",
      yLabel: "Gbit/s",
      logX: true,
      xTicks: FLOWS,
      series: [
        series(`netstack in-process, MTU ${MTU} offloaded`, "netstack"),
        series("Node net over 127.0.0.1, onread", "node"),
        series("Node net over 127.0.0.1, 'data' events", "nodeEvents")
      ]
    }],
    notes: [
      `flows: netstack ${FLOWS.map((f) => `${f}: ${rate("netstack", f).toFixed(2)}`).join(", ")} Gbit/s; ` +
      `Node onread ${FLOWS.map((f) => `${f}: ${rate("node", f).toFixed(2)}`).join(", ")} Gbit/s`
    ],
    data: {
      totalBytes: total,
      runs,
      nsPerByte: Object.fromEntries(Object.entries(samples).map(([subject, byFlows]) => [subject, Object.fromEntries(byFlows)]))
    }
  }
}
