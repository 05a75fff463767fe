/**
 * TCP bulk transfer between two hosts in one process, on the real clock,
 * against Node's own `net` over 127.0.0.1 (the kernel's loopback) measured
 * in the same run: (a) MTU 1500 and no offloads (software checksums and
 * software GSO in the driver), (b) MTU 65535 with TSO, GRO and checksum
 * offload. The figure is application bytes per second, from the first
 * write to the receiver reading the FIN (`transfer.ts`). Targets: offloaded
 * ≥ 1× Node with `onread` (issue 6) and ≥ 2× (issue 9), MTU 1500 software
 * ≥ 3 Gbit/s (issue 6); a missed target carries a CPU profile of its
 * transfer (`profile.ts`).
 */
import { checkTarget, compare, gbits, isQuick, median, type Measurement, type SuiteResult, type TargetCheck } from "./harness.ts"
import { profileTransfer } from "./profile.ts"
import { type IsolatedSubject, startSubject } from "./subject.ts"

/**
 * Bytes of each timed transfer: long enough (some 200 ms at 40 Gbit/s) that a run's start, whose caches the other
 * subjects' runs have just used, weighs little; at 256 MiB a netstack run after 1.5 s of idling measured 33-37
 * Gbit/s against 44-46 back to back, where Node's measured the same either way.
 */
const TOTAL = 1024 * 1024 * 1024
/** Bytes of each warm-up transfer. */
const WARM_UP = 256 * 1024 * 1024

/**
 * The figures, each the median of `runs` alternated transfers, and every
 * run's ns per byte. Each subject runs in a process of its own
 * (`subject.ts`): netstack on two networks kept up across their transfers
 * (warmed first, as the kernel under Node's sockets is warm), Node with
 * each read path; `cold` is one transfer on a network brought up for it,
 * in a fresh process, whose buffer memory is touched for the first time.
 */
export const tcpBulk = async (runs = 5, total = TOTAL): Promise<{
  readonly offloaded: Measurement
  readonly cold: Measurement
  readonly software: Measurement
  readonly node: Measurement
  readonly nodeEvents: Measurement
  readonly samples: Readonly<Record<"offloaded" | "cold" | "software" | "node" | "nodeEvents", ReadonlyArray<number>>>
}> => {
  const samples = {
    offloaded: new Array<number>(),
    cold: new Array<number>(),
    software: new Array<number>(),
    node: new Array<number>(),
    nodeEvents: new Array<number>()
  }
  const fresh = await startSubject({ kind: "netstack-fresh", mtu: 65535, offloaded: true })
  try {
    samples.cold.push((await fresh.run(total)).nsPerByte)
  } finally {
    await fresh.close()
  }
  // The warm-up cycles the 1024-descriptor rings and fills the page recyclers, and lets V8 optimize the path: at
  // MTU 65535 its functions reach their last tier after some 12 000 segments (--trace-opt: compiles go on through
  // the third 256 MiB transfer), four transfers of 256 MiB; at MTU 1500 the JIT takes some 500 MB of traffic (a
  // few hundred thousand frames) to settle: eight warm-up transfers of a quarter each.
  const subjects: Array<readonly [keyof typeof samples, IsolatedSubject, number]> = []
  try {
    subjects.push(["node", await startSubject({ kind: "node", onread: true }), total])
    subjects.push(["nodeEvents", await startSubject({ kind: "node", onread: false }), total])
    const warmUp = Math.min(total, WARM_UP)
    subjects.push(["offloaded", await startSubject({ kind: "netstack", mtu: 65535, offloaded: true, warmUp, rounds: 4 }), total])
    subjects.push(["software", await startSubject({ kind: "netstack", mtu: 1500, offloaded: false, warmUp: warmUp / 4, rounds: 8 }), total / 2])
    // The order rotates from run to run, so that no subject always runs first or last in a round.
    for (let i = 0; i < runs; i++) {
      for (let k = 0; k < subjects.length; k++) {
        const entry = subjects[(i + k) % subjects.length]
        if (entry === undefined) continue
        const [key, subject, bytes] = entry
        samples[key].push((await subject.run(bytes)).nsPerByte)
      }
    }
  } finally {
    for (const [, subject] of subjects) await subject.close()
  }
  return {
    offloaded: { name: "netstack TCP bulk, MTU 65535, TSO/GRO/checksum offload", nsPerOp: median(samples.offloaded), bytesPerOp: 1 },
    cold: {
      name: "netstack TCP bulk, MTU 65535 offloaded, first transfer on a fresh network (cold memory)",
      nsPerOp: median(samples.cold),
      bytesPerOp: 1
    },
    software: { name: "netstack TCP bulk, MTU 1500, software checksums and GSO", nsPerOp: median(samples.software), bytesPerOp: 1 },
    node: { name: "Node net over 127.0.0.1, `onread` into one buffer", nsPerOp: median(samples.node), bytesPerOp: 1 },
    nodeEvents: { name: "Node net over 127.0.0.1, 'data' events", nsPerOp: median(samples.nodeEvents), bytesPerOp: 1 },
    samples
  }
}

/**
 * The TCP suite: both netstack figures against Node `net` over loopback (its
 * fastest read path, and the common one). Targets: offloaded ≥ 1× Node
 * with `onread` (issue 6) and ≥ 2× (issue 9), MTU 1500 with software
 * checksums ≥ 3 Gbit/s (issue 6); a missed target carries a CPU profile of
 * its transfer.
 */
export const tcpSuite = async (): Promise<SuiteResult> => {
  const quick = isQuick()
  const total = quick ? 32 * 1024 * 1024 : TOTAL
  // Five runs: this VM's speed drifts from one minute to the next, and a transfer takes well under a second.
  const runs = quick ? 1 : 5
  const { offloaded, cold, software, node, nodeEvents, samples } = await tcpBulk(runs, total)
  const rate = (m: Measurement): string => `${gbits(m.nsPerOp).toFixed(2)} Gbit/s`
  const overOnread = node.nsPerOp / offloaded.nsPerOp
  const overEvents = nodeEvents.nsPerOp / offloaded.nsPerOp
  const softwareRate = gbits(software.nsPerOp)
  // Profiles of transfers as long as the timed ones, so their shares match the figures.
  const offloadedProfile = overOnread < 2 || overEvents < 2 ? await profileTransfer(65535, true, total) : undefined
  const softwareProfile = softwareRate < 3 ? await profileTransfer(1500, false, total / 4) : undefined
  const issue9 = "issue 9"
  const targets: Array<TargetCheck> = [
    checkTarget("offloaded in-process TCP / Node net over loopback (onread)", overOnread, "×", 1, { source: "issue 6" }),
    checkTarget("offloaded in-process TCP / Node net over loopback (onread)", overOnread, "×", 2, {
      source: issue9,
      ...(overOnread < 2 && offloadedProfile !== undefined ? { profile: offloadedProfile } : {})
    }),
    checkTarget("offloaded in-process TCP / Node net over loopback ('data' events)", overEvents, "×", 2, {
      source: issue9,
      ...(overOnread >= 2 && offloadedProfile !== undefined ? { profile: offloadedProfile } : {})
    }),
    checkTarget("MTU 1500 in-process TCP, software checksums and GSO", softwareRate, "Gbit/s", 3, {
      source: "issue 6",
      ...(softwareProfile === undefined ? {} : { profile: softwareProfile })
    })
  ]
  return {
    title: "TCP bulk transfer: in-process netstack against Node net over loopback",
    description: "One connection between two hosts in one process, on the real clock: 64 KiB writes, `readInto` one buffer; " +
      "against Node `net` over 127.0.0.1 with `onread` into one buffer (its fastest read path) and with 'data' events. " +
      `Medians of ${runs} alternated runs of ${total / 1024 / 1024} MiB (MTU 1500 software: half of that), ` +
      "each subject in a process of its own (netstack on a network kept up across the runs and warmed first); the cold figure is one transfer on a fresh network in a fresh process.",
    rows: [
      compare("tcp", offloaded, node),
      compare("tcp", offloaded, nodeEvents),
      compare("tcp", cold, nodeEvents),
      compare("tcp", software, node)
    ],
    targets,
    plots: [{
      kind: "bar",
      name: "tcp-bulk",
      title: "TCP bulk throughput, one connection",
      yLabel: "Gbit/s",
      categories: ["netstack, MTU 65535 offloaded", "netstack, same, cold", "netstack, MTU 1500 software", "Node net, onread", "Node net, 'data' events"],
      series: [{
        label: `median of ${runs} alternated runs of ${total / 1024 / 1024} MiB (MTU 1500: half)`,
        values: [offloaded, cold, software, node, nodeEvents].map((m) => gbits(m.nsPerOp))
      }]
    }],
    notes: [
      `tcp: offloaded ${rate(offloaded)} (${rate(cold)} on a fresh network), MTU 1500 software ${rate(software)}; Node net over loopback ${rate(node)} with onread, ` +
      `${rate(nodeEvents)} with 'data' events`
    ],
    data: { totalBytes: total, runs, nsPerByte: samples }
  }
}
