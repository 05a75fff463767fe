/**
 * TCP bulk throughput against the link MTU: one connection between two
 * in-process hosts at MTU 1500, 4000, 9000, 16000 and 65535 with TSO, GRO
 * and checksum offload, and at 1500 and 9000 with software checksums and
 * GSO; against Node `net` over 127.0.0.1 (the kernel's loopback, whose MTU
 * is 65536), `onread` and 'data' events, measured in the same run. Every
 * point is the median of alternated runs (the order flips each run).
 *
 * `npm run bench -- mtu`.
 */
import { compare, type Comparison, gbits, isQuick, median, type SuiteResult } from "./harness.ts"
import { type IsolatedSubject, startSubject } from "./subject.ts"

const OFFLOADED_MTUS: ReadonlyArray<number> = [1500, 4000, 9000, 16000, 65535]
const SOFTWARE_MTUS: ReadonlyArray<number> = [1500, 9000]
const MIB = 1024 * 1024

interface Point {
  readonly mtu: number
  readonly offloaded: boolean
}

const label = (p: Point): string => `netstack MTU ${p.mtu}, ${p.offloaded ? "offloaded" : "software checksums"}`

/** The MTU suite: the sweep, its table and plot, each point against both Node baselines. */
export const mtuSuite = async (): Promise<SuiteResult> => {
  const quick = isQuick()
  const runs = quick ? 1 : 3
  // 1 GiB runs, as in the TCP suite: the start of a run, after the other subjects' runs, weighs little.
  const total = quick ? 32 * MIB : 1024 * MIB
  const nodeTotal = quick ? 64 * MIB : 1024 * MIB
  const points: ReadonlyArray<Point> = [
    ...OFFLOADED_MTUS.map((mtu) => ({ mtu, offloaded: true })),
    ...SOFTWARE_MTUS.map((mtu) => ({ mtu, offloaded: false }))
  ]
  const samples = new Map<string, Array<number>>()
  const faults = new Map<string, Array<number>>()
  const record = (key: string, nsPerByte: number, into = samples): void => {
    const list = into.get(key) ?? []
    list.push(nsPerByte)
    into.set(key, list)
  }
  // MTU 1500 runs at a fraction of the rate: a quarter of the bytes.
  const bytesOf = (p: Point): number => (p.mtu > 1500 ? total : total / 4)
  // Every subject in a process of its own (`subject.ts`): a network per point, kept up for all its runs and warmed by
  // four transfers of up to 256 MiB (see `openNetstack`), and Node with each read path (`onread` warmed by a first
  // transfer).
  const beds = new Map<string, IsolatedSubject>()
  const node = await startSubject({ kind: "node", onread: true })
  const nodeEventsSubject = await startSubject({ kind: "node", onread: false })
  try {
    for (const p of points) {
      beds.set(label(p), await startSubject({ kind: "netstack", mtu: p.mtu, offloaded: p.offloaded, warmUp: Math.min(bytesOf(p), 256 * MIB), rounds: 4 }))
    }
    await node.run(64 * MIB)
    for (let run = 0; run < runs; run++) {
      record("node", (await node.run(nodeTotal)).nsPerByte)
      record("nodeEvents", (await nodeEventsSubject.run(nodeTotal)).nsPerByte)
      for (const p of run % 2 === 0 ? points : [...points].reverse()) {
        const bed = beds.get(label(p))
        if (bed === undefined) continue
        const { minorPageFaults, nsPerByte } = await bed.run(bytesOf(p))
        record(label(p), nsPerByte)
        record(label(p), minorPageFaults, faults)
      }
    }
  } finally {
    for (const bed of beds.values()) await bed.close()
    await node.close()
    await nodeEventsSubject.close()
  }
  const nsPerByte = (key: string): number => median(samples.get(key) ?? [])
  const onread = { name: "Node net over 127.0.0.1, `onread` into one buffer", nsPerOp: nsPerByte("node"), bytesPerOp: 1 }
  const nodeEvents = { name: "Node net over 127.0.0.1, 'data' events", nsPerOp: nsPerByte("nodeEvents"), bytesPerOp: 1 }
  const rows: Array<Comparison> = points.map((p) => compare("mtu", { name: label(p), nsPerOp: nsPerByte(label(p)), bytesPerOp: 1 }, onread))
  const rate = (key: string): number => gbits(nsPerByte(key))
  const cells = (p: Point | undefined): Array<string> => {
    if (p === undefined) return ["", "", "", ""]
    const ns = nsPerByte(label(p))
    return [
      rate(label(p)).toFixed(2),
      `${(onread.nsPerOp / ns).toFixed(2)}×`,
      `${(nodeEvents.nsPerOp / ns).toFixed(2)}×`,
      median(faults.get(label(p)) ?? []).toFixed(0)
    ]
  }
  const software = (mtu: number): Point | undefined => points.find((p) => !p.offloaded && p.mtu === mtu)
  const best = points.reduce((b, p) => (rate(label(p)) > rate(label(b)) ? p : b))
  return {
    title: "TCP throughput against MTU",
    description: "One in-process connection at each MTU (TSO/GRO/checksum offload; at 1500 and 9000 also software checksums and GSO) " +
      "against Node `net` over 127.0.0.1 in the same run. " +
      `Medians of ${runs} alternated runs of ${total / MIB} MiB (MTU 1500: ${total / 4 / MIB} MiB; Node: ${nodeTotal / MIB} MiB), ` +
      "each subject in a process of its own, each point on a network kept up across its runs and warmed first.",
    rows,
    tables: [{
      title: "Gbit/s, the ratio to Node net with onread and with 'data' events, and the minor page faults of a transfer " +
        "(first touches of memory; each point's network is kept up across its runs and was warmed first)",
      header: ["MTU", "offloaded Gbit/s", "/ onread", "/ 'data'", "page faults", "software Gbit/s", "/ onread", "/ 'data'", "page faults"],
      rows: OFFLOADED_MTUS.map((mtu) => [String(mtu), ...cells(points.find((p) => p.offloaded && p.mtu === mtu)), ...cells(software(mtu))])
    }],
    plots: [{
      kind: "line",
      name: "tcp-mtu",
      title: "In-process TCP bulk throughput against MTU",
      xLabel: "link MTU (bytes, log scale)",
      yLabel: "Gbit/s",
      logX: true,
      xTicks: OFFLOADED_MTUS,
      series: [
        { label: "netstack, TSO/GRO/checksum offload", points: OFFLOADED_MTUS.map((mtu) => [mtu, rate(label({ mtu, offloaded: true }))] as const) },
        { label: "netstack, software checksums and GSO", points: SOFTWARE_MTUS.map((mtu) => [mtu, rate(label({ mtu, offloaded: false }))] as const) }
      ],
      references: [
        { label: "Node net over 127.0.0.1, onread", y: gbits(onread.nsPerOp) },
        { label: "Node net over 127.0.0.1, 'data' events", y: gbits(nodeEvents.nsPerOp) }
      ]
    }],
    notes: [
      `mtu: best ${label(best)} at ${rate(label(best)).toFixed(2)} Gbit/s = ${(onread.nsPerOp / nsPerByte(label(best))).toFixed(2)}× Node net with onread ` +
      `(${gbits(onread.nsPerOp).toFixed(2)} Gbit/s), ${(nodeEvents.nsPerOp / nsPerByte(label(best))).toFixed(2)}× with 'data' events ` +
      `(${gbits(nodeEvents.nsPerOp).toFixed(2)} Gbit/s)`
    ],
    data: { totalBytes: total, nodeTotalBytes: nodeTotal, runs, nsPerByte: Object.fromEntries(samples), minorPageFaults: Object.fromEntries(faults) }
  }
}
