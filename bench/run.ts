/**
 * `npm run bench`: runs every suite, prints the report (each figure beside
 * its baseline from the same run, targets, notes) and writes
 * `bench/results.md`, `bench/results.json` and each suite's plots as
 * `bench/results/<name>.svg` (all three are git-ignored).
 *
 *   npm run bench                       every suite
 *   npm run bench -- tcp mtu            only the suites named
 *   npm run bench -- --quick [NAME…]    fewer runs and smaller transfers, to check the plumbing
 *
 * Each suite runs in a process of its own: what one suite leaves behind (a
 * grown heap, call sites the JIT saw other shapes at) would otherwise slow
 * the next one down (the MTU 1500 transfer ran at 2.1 Gbit/s after the
 * buffer and driver suites, 3.6 Gbit/s alone). A suite that fails, exits
 * early or runs past `NETSTACK_BENCH_SUITE_TIMEOUT` seconds (default 1200)
 * is reported as failed, and the others still run.
 */
import { spawn } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { cpus, tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { isQuick, QUICK_ENV, type SuiteResult } from "./harness.ts"
import { renderPlot } from "./report/plot.ts"
import { reportMarkdown, type SuiteReport } from "./report/markdown.ts"

/** Every suite by name, in the order they run; each module is loaded only when its suite runs. */
const suites: Readonly<Record<string, () => SuiteResult | Promise<SuiteResult>>> = {
  buffers: async () => (await import("./buffers.bench.ts")).buffersSuite(),
  wire: async () => (await import("./wire.bench.ts")).wireSuite(),
  driver: async () => (await import("./driver.bench.ts")).driverSuite(),
  forward: async () => (await import("./forward.bench.ts")).forwardSuite(),
  tcp: async () => (await import("./tcp.bench.ts")).tcpSuite(),
  mtu: async () => (await import("./mtu.bench.ts")).mtuSuite(),
  flows: async () => (await import("./flows.bench.ts")).flowsSuite(),
  latency: async () => (await import("./latency.bench.ts")).latencySuite(),
  channels: async () => (await import("./channels.bench.ts")).channelsSuite(),
  connections: async () => (await import("./connections.bench.ts")).connectionsSuite(),
  tap: async () => (await import("./tap.bench.ts")).tapSuite()
}

/** Section titles of suites that do not name their own. */
const TITLES: Readonly<Record<string, string>> = {
  buffers: "Packet buffers: checksum, push/pull, clone, copy, pool",
  wire: "Header decoding: views against Schema codecs",
  driver: "Driver: medium → NIC → NAPI",
  forward: "Forwarding 64-byte frames through a router host",
  channels: "Net channels: fast path against slow path",
  connections: "Connections",
  tap: "netstack on a Linux TAP against Linux over veth"
}

const args = process.argv.slice(2)

// A child: `run.ts --suite NAME FILE` runs one suite and writes its result to FILE as JSON.
const childAt = args.indexOf("--suite")
if (childAt >= 0) {
  const name = args[childAt + 1] ?? ""
  const file = args[childAt + 2] ?? ""
  const suite = suites[name]
  if (suite === undefined || file === "") {
    console.error(`bench: --suite needs a suite name and a result file`)
    process.exit(2)
  }
  const result = await Promise.resolve()
    .then(suite)
    .catch((error: unknown): SuiteResult => ({ rows: [], notes: [`${name} suite failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`] }))
  writeFileSync(file, JSON.stringify(result))
  // Whatever the suite left open (sockets, timers) goes with the process.
  process.exit(0)
}

/** Runs suite `name` in a child process (same Node, same environment); its result, or a failure note. */
const runIsolated = (name: string, timeoutSeconds: number): Promise<SuiteResult> => {
  const dir = mkdtempSync(join(tmpdir(), "netstack-bench-"))
  const file = join(dir, "result.json")
  const failed = (why: string): SuiteResult => ({ rows: [], notes: [`${name} suite failed: ${why}`] })
  return new Promise<SuiteResult>((resolve) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "--suite", name, file], { stdio: ["ignore", "inherit", "inherit"] })
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutSeconds * 1000)
    child.on("error", (error) => {
      clearTimeout(timer)
      resolve(failed(error.message))
    })
    child.on("exit", (code, signal) => {
      clearTimeout(timer)
      try {
        if (signal === "SIGKILL") resolve(failed(`no result after ${timeoutSeconds} s; stopped`))
        else if (code !== 0) resolve(failed(`its process exited with ${signal ?? `code ${code}`}`))
        else resolve(JSON.parse(readFileSync(file, "utf8")) as SuiteResult)
      } catch (error) {
        resolve(failed(`no readable result (${error instanceof Error ? error.message : String(error)})`))
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })
  })
}

if (args.includes("--quick")) {
  process.env[QUICK_ENV] = "1"
  // The TAP suite reads its own knobs.
  process.env["NETSTACK_BENCH_TAP_SECONDS"] ??= "1"
  process.env["NETSTACK_BENCH_TAP_ROUNDS"] ??= "1"
}
const wanted = args.filter((a) => !a.startsWith("--"))
const unknown = wanted.filter((name) => !(name in suites))
if (unknown.length > 0) {
  console.error(`unknown suite ${unknown.join(", ")}; the suites: ${Object.keys(suites).join(", ")}`)
  process.exit(2)
}

const outDir = new URL(".", import.meta.url)
const plotDir = new URL("results/", outDir)
const suiteTimeout = Number(process.env["NETSTACK_BENCH_SUITE_TIMEOUT"] ?? 1200)
const reports: Array<SuiteReport> = []
for (const name of Object.keys(suites)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue
  console.error(`bench: ${name}…`)
  const t0 = performance.now()
  const result = await runIsolated(name, suiteTimeout)
  const plotFiles = (result.plots ?? []).map((plot) => {
    mkdirSync(plotDir, { recursive: true })
    writeFileSync(new URL(`${plot.name}.svg`, plotDir), renderPlot(plot))
    return { title: plot.title, path: `results/${plot.name}.svg` }
  })
  const seconds = (performance.now() - t0) / 1000
  console.error(`bench: ${name} took ${seconds.toFixed(0)} s`)
  const title = result.title ?? TITLES[name]
  reports.push({ name, seconds, result: title === undefined ? result : { ...result, title }, plotFiles })
}

const run = { node: process.version, date: new Date().toISOString(), cpu: `${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}`, quick: isQuick() }
const markdown = reportMarkdown(run, reports)
console.log(markdown)
writeFileSync(new URL("results.md", outDir), markdown + "\n")
writeFileSync(
  new URL("results.json", outDir),
  JSON.stringify(
    {
      ...run,
      // The flat lists of earlier reports, then everything per suite.
      rows: reports.flatMap((r) => r.result.rows),
      notes: reports.flatMap((r) => r.result.notes),
      suites: reports.map((r) => ({ name: r.name, seconds: r.seconds, plotFiles: r.plotFiles, ...r.result }))
    },
    null,
    2
  ) + "\n"
)

