/**
 * netstack on a Linux TAP against Linux over veth, measured in the same run:
 *
 * - TCP throughput: a stock `iperf3 -c` in a namespace against `netstack up
 *   --serve iperf3:5201` on a TAP in that namespace, forward and reverse
 *   (`-R`); the baseline is `iperf3 -c` against `iperf3 -s` across a veth
 *   pair between two namespaces. The figure is `end.sum_received.bits_per_second`
 *   of `iperf3 --json`. Both links keep their defaults: MTU 1500, TSO on (a
 *   note gives `ethtool -k`'s view of TSO and GRO). A run whose one-second
 *   intervals go empty after data flowed is reported as stalled.
 * - ICMP echo round trip: `ping -c 200 -i 0.01` from the namespace to
 *   netstack over the TAP, against ping across the veth pair; min/avg/max/mdev
 *   from ping's summary, p50 and p99 from the individual replies.
 *
 * Subject and baseline alternate (the order flips each round) for several
 * rounds and each figure is the median, because the machine is a noisy
 * 2-core VM shared with others. Without root, iperf3, ping, ip, /dev/net/tun
 * or the TAP addon the suite reports no rows and a note saying why. The
 * namespaces and processes it makes are removed afterwards, also on failure
 * and on SIGINT.
 */
import { TapDevice } from "@netstack/device"
import { makeNamespacePair, Namespace, type NamespacePair, skipReason, spawnInNs, stopChild, waitForOutput } from "@netstack/test-support"
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { compare, type Comparison, type Measurement, type SuiteResult } from "./harness.ts"

/** The `netstack` binary (TypeScript, run directly by this Node). */
const NETSTACK_BIN = fileURLToPath(new URL("../packages/cli/bin/netstack.ts", import.meta.url))
const SUITE = "tap"
const IPERF3_PORT = 5201

/** How long and how often the suite measures. */
export interface TapBenchOptions {
  /** `iperf3 -t`, seconds per run (default 5, or `NETSTACK_BENCH_TAP_SECONDS`). */
  readonly seconds: number
  /** Rounds of subject and baseline, alternating (default 3, or `NETSTACK_BENCH_TAP_ROUNDS`). */
  readonly rounds: number
  /** Echo requests per ping run (default 200). */
  readonly pings: number
  /** Seconds between echo requests (default 0.01). */
  readonly pingInterval: number
}

const envNumber = (name: string, fallback: number): number => {
  const value = Number(process.env[name])
  return Number.isFinite(value) && value > 0 ? value : fallback
}

const defaults = (): TapBenchOptions => ({
  seconds: envNumber("NETSTACK_BENCH_TAP_SECONDS", 5),
  rounds: envNumber("NETSTACK_BENCH_TAP_ROUNDS", 3),
  pings: 200,
  pingInterval: 0.01
})

/** Why the suite cannot run here, or undefined. */
const unavailable = (): string | undefined => {
  const missing = skipReason("the TAP benchmark", ["ip", "iperf3", "ping"], true)
  if (missing !== undefined) return missing
  const tap = !existsSync("/dev/net/tun") ? "no /dev/net/tun" : TapDevice.unavailable()?.reason
  if (tap === undefined) return undefined
  const reason = `skipping the TAP benchmark: ${tap}`
  console.log(reason)
  return reason
}

/** What a command run to completion did. */
interface RunResult {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs `command` in namespace `ns` to completion (killed after `timeout` ms). */
type RunIn = (ns: string, command: ReadonlyArray<string>, timeout: number) => Promise<RunResult>

/**
 * A `RunIn` that keeps its commands in `running` while they run, so a
 * cleanup can stop them. Asynchronous, so SIGINT is handled between and
 * during runs.
 */
const runner = (running: Set<ChildProcess>): RunIn => (ns, command, timeout) =>
  new Promise((resolve) => {
    const child = spawn("ip", ["netns", "exec", ns, ...command], { stdio: ["ignore", "pipe", "pipe"], timeout })
    running.add(child)
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => void (stdout += chunk.toString()))
    child.stderr.on("data", (chunk: Buffer) => void (stderr += chunk.toString()))
    child.once("error", (error) => void (stderr += error.message))
    child.once("close", (status) => {
      running.delete(child)
      resolve({ status, stdout, stderr })
    })
  })

/** The median of `values` (NaN when empty). */
const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

/** The `q` quantile (0..1) of `values`, nearest rank. */
const quantile = (values: ReadonlyArray<number>, q: number): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN
}

/** What `iperf3 --json` reports, as far as this suite reads it. */
interface Iperf3Report {
  readonly error?: string
  readonly intervals?: ReadonlyArray<{ readonly sum?: { readonly bytes: number } }>
  readonly end?: { readonly sum_received?: { readonly bytes: number; readonly bits_per_second: number } }
}

/** One iperf3 run: the rate received, and how many of its one-second intervals moved nothing after data had flowed. */
interface Iperf3Run {
  readonly bps: number
  readonly bytes: number
  readonly stalled: number
  readonly intervals: number
}

/** One `iperf3 -c` run from `ns` to `server`. */
const iperf3 = async (runIn: RunIn, ns: string, server: string, seconds: number, reverse: boolean): Promise<Iperf3Run> => {
  const run = await runIn(
    ns,
    ["iperf3", "-c", server, "-p", String(IPERF3_PORT), "-t", String(seconds), "--json", ...(reverse ? ["-R"] : [])],
    (seconds + 30) * 1000
  )
  let report: Iperf3Report
  try {
    report = JSON.parse(run.stdout) as Iperf3Report
  } catch {
    throw new Error(`iperf3 -c ${server}${reverse ? " -R" : ""} printed no JSON (status ${run.status}): ${run.stderr}`)
  }
  const received = report.end?.sum_received
  if (report.error !== undefined || received === undefined) {
    throw new Error(`iperf3 -c ${server}${reverse ? " -R" : ""}: ${report.error ?? "no sum_received"}`)
  }
  const perInterval = (report.intervals ?? []).map((i) => i.sum?.bytes ?? 0)
  const first = perInterval.findIndex((b) => b > 0)
  const stalled = first < 0 ? perInterval.length : perInterval.slice(first).filter((b) => b === 0).length
  return { bps: received.bits_per_second, bytes: received.bytes, stalled, intervals: perInterval.length }
}

/** A ping run's round trips in milliseconds. */
interface PingFigures {
  readonly min: number
  readonly avg: number
  readonly max: number
  readonly mdev: number
  readonly p50: number
  readonly p99: number
}

/** `ping -c N -i I` from `ns` to `target`: the summary and quantiles of the individual replies. */
const ping = async (runIn: RunIn, ns: string, target: string, options: TapBenchOptions): Promise<PingFigures> => {
  const run = await runIn(
    ns,
    ["ping", "-c", String(options.pings), "-i", String(options.pingInterval), "-W", "1", target],
    options.pings * (options.pingInterval + 1) * 1000 + 10_000
  )
  const summary = /rtt min\/avg\/max\/mdev = ([\d.]+)\/([\d.]+)\/([\d.]+)\/([\d.]+) ms/.exec(run.stdout)
  const replies = [...run.stdout.matchAll(/ time=([\d.]+) ms/g)].map((m) => Number(m[1]))
  if (summary === null || replies.length < options.pings * 0.9) {
    throw new Error(`ping ${target}: ${replies.length} of ${options.pings} replies (status ${run.status}): ${run.stdout.slice(-300)}${run.stderr}`)
  }
  return {
    min: Number(summary[1]),
    avg: Number(summary[2]),
    max: Number(summary[3]),
    mdev: Number(summary[4]),
    p50: quantile(replies, 0.5),
    p99: quantile(replies, 0.99)
  }
}

/** `ethtool -k IFACE` in `ns`: whether TSO and GRO are on, as one phrase. */
const offloadState = async (runIn: RunIn, ns: string, iface: string): Promise<string> => {
  const run = await runIn(ns, ["ethtool", "-k", iface], 10_000)
  if (run.status !== 0) return "offloads unknown (no ethtool)"
  const state = (feature: string) => new RegExp(`^${feature}: (\\w+)`, "m").exec(run.stdout)?.[1] ?? "?"
  return `TSO ${state("tcp-segmentation-offload")}, GRO ${state("generic-receive-offload")}`
}

/** `netstack up ARGS` in `ns`, once it has printed its ready line. */
const startNetstack = async (ns: Namespace, args: ReadonlyArray<string>): Promise<ChildProcess> => {
  const child = ns.spawn([process.execPath, NETSTACK_BIN, "up", ...args])
  let output = ""
  child.stdout?.on("data", (chunk: Buffer) => void (output += chunk.toString()))
  child.stderr?.on("data", (chunk: Buffer) => void (output += chunk.toString()))
  if (!(await waitForOutput(child, /^ready /m, 30_000))) throw new Error(`netstack up printed no ready line: ${output}`)
  return child
}

/** Runs `subject` and `baseline` `rounds` times, alternating which goes first; their results in round order. */
const alternate = async <A>(
  rounds: number,
  subject: () => Promise<A>,
  baseline: () => Promise<A>
): Promise<{ readonly subject: Array<A>; readonly baseline: Array<A> }> => {
  const s: Array<A> = []
  const b: Array<A> = []
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      s.push(await subject())
      b.push(await baseline())
    } else {
      b.push(await baseline())
      s.push(await subject())
    }
  }
  return { subject: s, baseline: b }
}

const gbit = (bps: number): string => `${(bps / 1e9).toFixed(2)} Gbit/s`

/** A throughput as a measurement: ns per byte, one byte per op (so the table shows GB/s). */
const rate = (name: string, bps: number): Measurement => ({ name, nsPerOp: 8e9 / bps, bytesPerOp: 1 })

/** The suite: TCP throughput both ways and ping round trips, netstack on a TAP against Linux over veth. */
export const tapSuite = async (overrides: Partial<TapBenchOptions> = {}): Promise<SuiteResult> => {
  const options = { ...defaults(), ...overrides }
  const reason = unavailable()
  if (reason !== undefined) return { rows: [], notes: [`tap suite skipped: ${reason}`] }

  const k = process.pid % 250
  const linux = `10.223.${k}.1`
  const netstack = `10.223.${k}.2`
  let tapNs: Namespace | undefined = undefined
  let pair: NamespacePair | undefined = undefined
  // The baseline's iperf3 server and the commands running now (the subject's netstack belongs to its namespace).
  const children = new Set<ChildProcess>()
  const runIn = runner(children)
  let cleaning: Promise<void> | undefined = undefined
  const cleanup = (): Promise<void> =>
    (cleaning ??= (async () => {
      await Promise.all([...children].map((child) => stopChild(child, "SIGTERM", 5_000)))
      await tapNs?.close()
      pair?.close()
    })())
  const onSigint = () => void cleanup().then(() => process.exit(130))
  process.once("SIGINT", onSigint)
  try {
    // The subject: netstack on tap0 in its own namespace, Linux's end of the TAP at .1.
    tapNs = new Namespace("nst-bench-tap")
    await startNetstack(tapNs, ["--tap", "tap0", "--ip", `${netstack}/24`, "--serve", `iperf3:${IPERF3_PORT}`])
    tapNs.run(["ip", "addr", "add", `${linux}/24`, "dev", "tap0"])
    tapNs.run(["ip", "link", "set", "tap0", "up"])
    // The baseline: iperf3 -s in b, the client in a, across veth.
    pair = makeNamespacePair()
    const server = spawnInNs(pair.b, ["iperf3", "-s", "--forceflush", "-p", String(IPERF3_PORT)])
    children.add(server)
    if (!(await waitForOutput(server, /Server listening/, 10_000))) throw new Error("iperf3 -s did not start")
    const veth = pair
    const tap = tapNs.name
    // Warm up: neighbour entries, the first connection.
    await ping(runIn, tap, netstack, { ...options, pings: 3 })
    await ping(runIn, veth.a, veth.ipv4B, { ...options, pings: 3 })
    const offloads = `TAP (Linux's tap0: ${await offloadState(runIn, tap, "tap0")}; netstack's NIC: TSO, GRO, checksum offload on), ` +
      `veth (${await offloadState(runIn, veth.a, veth.ifA)}; veth hands TSO super-packets over whole, so there is nothing for GRO to merge)`

    const rows: Array<Comparison> = []
    const notes: Array<string> = []
    for (const reverse of [false, true]) {
      const direction = reverse ? "netstack → Linux (-R)" : "Linux → netstack"
      const runs = await alternate(
        options.rounds,
        () => iperf3(runIn, tap, netstack, options.seconds, reverse),
        () => iperf3(runIn, veth.a, veth.ipv4B, options.seconds, reverse)
      )
      const subject = median(runs.subject.map((r) => r.bps))
      const baseline = median(runs.baseline.map((r) => r.bps))
      rows.push(compare(SUITE, rate(`iperf3 ${direction} over TAP`, subject), rate(`iperf3 Linux → Linux over veth${reverse ? " (-R)" : ""}`, baseline), 0.5))
      notes.push(
        `tap: iperf3 -t ${options.seconds} ${direction}: netstack on TAP ${gbit(subject)} vs Linux over veth ${gbit(baseline)} ` +
          `= ${(subject / baseline).toFixed(2)}× (target ≥ 0.5×); median of ${options.rounds} alternating rounds ` +
          `(TAP ${runs.subject.map((r) => gbit(r.bps)).join(", ")}; veth ${runs.baseline.map((r) => gbit(r.bps)).join(", ")})`
      )
      for (const [link, list] of [["TAP", runs.subject], ["veth", runs.baseline]] as const) {
        const stalls = list.filter((r) => r.stalled > 0)
        if (stalls.length === 0) continue
        notes.push(
          `tap: iperf3 ${direction} over ${link} STALLED in ${stalls.length} of ${list.length} runs: ` +
            stalls.map((r) => `${r.stalled} of ${r.intervals} intervals empty after ${(r.bytes / 2 ** 30).toFixed(2)} GiB`).join("; ") +
            ` — the rate above is capped by the stall, not by speed`
        )
      }
    }
    const pings = await alternate(
      options.rounds,
      () => ping(runIn, tap, netstack, options),
      () => ping(runIn, veth.a, veth.ipv4B, options)
    )
    const figure = (runs: ReadonlyArray<PingFigures>, key: keyof PingFigures) => median(runs.map((r) => r[key]))
    for (const key of ["avg", "p50", "p99"] as const) {
      const subject = figure(pings.subject, key)
      const baseline = figure(pings.baseline, key)
      rows.push(compare(SUITE, { name: `ping RTT ${key} to netstack over TAP`, nsPerOp: subject * 1e6 }, { name: `ping RTT ${key} to Linux over veth`, nsPerOp: baseline * 1e6 }))
    }
    const line = (runs: ReadonlyArray<PingFigures>) =>
      (["min", "avg", "max", "mdev", "p50", "p99"] as const).map((key) => `${key} ${(figure(runs, key) * 1000).toFixed(0)}`).join(", ") + " µs"
    notes.push(
      `tap: ping -c ${options.pings} -i ${options.pingInterval} (median of ${options.rounds} alternating rounds): ` +
        `netstack over TAP ${line(pings.subject)}; Linux over veth ${line(pings.baseline)}; ` +
        `avg ratio (veth / TAP) ${(figure(pings.baseline, "avg") / figure(pings.subject, "avg")).toFixed(2)}×. ` +
        `Over veth Linux answers inside ping's own send; over TAP each echo wakes netstack's process, then ping's`,
      `tap: MTU 1500 on both links; ${offloads}`
    )
    return { rows, notes }
  } finally {
    process.removeListener("SIGINT", onSigint)
    await cleanup()
  }
}
