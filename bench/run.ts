/**
 * `npm run bench`: runs every suite, prints a table of each figure beside its
 * baseline from the same run, and writes `bench/results.md` and
 * `bench/results.json`.
 */
import { writeFileSync } from "node:fs"
import { buffersSuite } from "./buffers.bench.ts"
import { type Comparison, formatMeasurement, type SuiteResult } from "./harness.ts"
import { wireSuite } from "./wire.bench.ts"
import { driverSuite } from "./driver.bench.ts"
import { forwardSuite } from "./forward.bench.ts"
import { tcpSuite } from "./tcp.bench.ts"
import { channelsSuite } from "./channels.bench.ts"

const suites: Readonly<Record<string, () => SuiteResult | Promise<SuiteResult>>> = {
  buffers: buffersSuite,
  wire: wireSuite,
  driver: driverSuite,
  forward: forwardSuite,
  tcp: tcpSuite,
  channels: channelsSuite
}

// `npm run bench -- forward driver` runs only the suites named; no names runs them all.
const wanted = process.argv.slice(2)
const rows: Array<Comparison> = []
const notes: Array<string> = []
for (const [name, suite] of Object.entries(suites)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue
  const result = await suite()
  rows.push(...result.rows)
  notes.push(...result.notes)
}

const header = "| suite | subject | measured | baseline | measured | speedup | target |"
const lines = [
  `# netstack benchmarks`,
  "",
  `Node ${process.version}, ${new Date().toISOString()}. Speedup = baseline time / subject time, both measured in this run.`,
  "",
  header,
  "|---|---|---|---|---|---|---|",
  ...rows.map((r) =>
    `| ${r.suite} | ${r.subject.name} | ${formatMeasurement(r.subject)} | ${r.baseline.name} | ${formatMeasurement(r.baseline)} | ` +
    `${r.speedup.toFixed(2)}× | ${r.target === undefined ? "" : `≥ ${r.target}× ${r.speedup >= r.target ? "met" : "MISSED"}`} |`
  ),
  "",
  ...notes.map((n) => `- ${n}`)
]
console.log(lines.join("\n"))
const outDir = new URL(".", import.meta.url)
writeFileSync(new URL("results.md", outDir), lines.join("\n") + "\n")
writeFileSync(new URL("results.json", outDir), JSON.stringify({ node: process.version, rows, notes }, null, 2) + "\n")
