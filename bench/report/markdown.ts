/**
 * The benchmark report as Markdown (`bench/results.md`): a summary of the
 * targets, then a section per suite with its comparisons, its own tables,
 * links to its plots, its targets (with a CPU profile under each one
 * missed) and its notes.
 */
import type { Comparison, SuiteResult, TargetCheck } from "../harness.ts"
import { formatMeasurement } from "../harness.ts"
import type { ProfileSummary } from "./profile-summary.ts"

/** One suite's outcome as the report shows it. */
export interface SuiteReport {
  readonly name: string
  readonly seconds: number
  readonly result: SuiteResult
  /** Each plot's file, relative to the report. */
  readonly plotFiles: ReadonlyArray<{ readonly title: string; readonly path: string }>
}

/** What the report says about the run itself. */
export interface RunInfo {
  readonly node: string
  readonly date: string
  readonly cpu: string
  readonly quick: boolean
}

const cell = (text: string): string => text.replace(/\|/g, "\\|").replace(/\n/g, " ")

/** A Markdown table. */
export const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): Array<string> => [
  `| ${header.map(cell).join(" | ")} |`,
  `|${header.map(() => "---").join("|")}|`,
  ...rows.map((row) => `| ${row.map(cell).join(" | ")} |`)
]

/** A number with three significant digits (two decimals below 10). */
const figure = (value: number): string => (Math.abs(value) >= 100 ? value.toFixed(0) : Math.abs(value) >= 10 ? value.toFixed(1) : value.toFixed(2))

/** "0.62 Gbit/s ≥ 3 Gbit/s: MISSED" */
export const targetLine = (t: TargetCheck): string =>
  `${t.figure}: ${figure(t.value)}${t.unit === "×" ? "×" : ` ${t.unit}`}, target ≥ ${t.target}${t.unit === "×" ? "×" : ` ${t.unit}`}` +
  `${t.source === undefined ? "" : ` (${t.source})`}: ${t.met ? "met" : "**MISSED**"}`

const comparisonRow = (r: Comparison): Array<string> => [
  r.subject.name,
  formatMeasurement(r.subject),
  r.baseline.name,
  formatMeasurement(r.baseline),
  `${r.speedup.toFixed(2)}×`,
  r.target === undefined ? "" : `≥ ${r.target}× ${r.speedup >= r.target ? "met" : "**MISSED**"}`
]

/** A CPU profile as a table of the hottest functions and a line of self time by area. */
export const profileMarkdown = (p: ProfileSummary): Array<string> => [
  `Where the time goes: CPU profile of ${p.subject} (${p.samples} samples over ${p.durationMs.toFixed(0)} ms` +
  `${p.minorPageFaults === undefined ? "" : `, ${p.minorPageFaults} minor page faults`}; self = on top of the stack, total = anywhere on it):`,
  "",
  ...table(
    ["function", "location", "self %", "total %"],
    p.top.map((f) => [`\`${f.name}\``, f.location === "" ? "" : `\`${f.location}\``, f.selfPercent.toFixed(1), f.totalPercent.toFixed(1)])
  ),
  "",
  `Self time by area: ${p.areas.slice(0, 10).map((a) => `${a.area} ${a.selfPercent.toFixed(1)}%`).join(", ")}.`
]

const section = (s: SuiteReport): Array<string> => {
  const r = s.result
  const lines = [`## ${r.title ?? s.name}`, "", `\`npm run bench -- ${s.name}\`, ${s.seconds.toFixed(0)} s.`]
  if (r.description !== undefined) lines.push("", r.description)
  // The suite's own tables and plots first; then every comparison in the common form.
  for (const t of r.tables ?? []) {
    lines.push("")
    if (t.title !== undefined) lines.push(`**${t.title}**`, "")
    lines.push(...table(t.header, t.rows))
  }
  for (const plot of s.plotFiles) lines.push("", `[![${plot.title}](${plot.path})](${plot.path})`)
  if (r.rows.length > 0) {
    if ((r.tables ?? []).length > 0) lines.push("", "**Comparisons** (speedup = baseline time / subject time)")
    lines.push("", ...table(["subject", "measured", "baseline", "measured", "speedup", "target"], r.rows.map(comparisonRow)))
  }
  const targets = r.targets ?? []
  if (targets.length > 0) {
    lines.push("", "Targets:", "")
    for (const t of targets) {
      lines.push(`- ${targetLine(t)}`)
      if (!t.met && t.profile !== undefined) lines.push("", ...profileMarkdown(t.profile).map((l) => (l === "" ? "" : `  ${l}`)), "")
    }
  }
  if (r.notes.length > 0) lines.push("", ...r.notes.map((n) => `- ${n}`))
  return lines
}

/** The whole report. */
export const reportMarkdown = (run: RunInfo, suites: ReadonlyArray<SuiteReport>): string => {
  const targets = suites.flatMap((s) => (s.result.targets ?? []).map((t) => [s.name, t] as const))
  const ratioTargets = suites.flatMap((s) => s.result.rows.filter((r) => r.target !== undefined).map((r) => [s.name, r] as const))
  const lines = [
    "# netstack benchmarks",
    "",
    `Node ${run.node} on ${run.cpu}, ${run.date}${run.quick ? ", **quick mode** (fewer runs, smaller transfers: check the plumbing, not the figures)" : ""}. ` +
    "Every figure is measured beside a baseline in the same run; speedup = baseline time / subject time " +
    "(for rates: subject rate / baseline rate). The machine is shared and noisy: figures are medians of alternated runs.",
    "",
    "## Targets",
    "",
    ...table(
      ["suite", "figure", "result"],
      [
        ...targets.map(([name, t]) => [name, t.figure, targetLine(t).slice(t.figure.length + 2)]),
        ...ratioTargets.map(([name, r]) => [
          name,
          `${r.subject.name} / ${r.baseline.name}`,
          `${r.speedup.toFixed(2)}×, target ≥ ${r.target}×: ${r.speedup >= (r.target ?? 0) ? "met" : "**MISSED**"}`
        ])
      ]
    ),
    "",
    ...suites.flatMap((s) => [...section(s), ""])
  ]
  return lines.join("\n")
}
