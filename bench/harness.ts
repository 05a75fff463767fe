/**
 * A small benchmark harness. Every figure is measured beside a baseline in
 * the same run and reported as a ratio, because shared machines are noisy:
 * a ratio survives a slow neighbour, an absolute figure does not.
 */
import type { ProfileSummary } from "./report/profile-summary.ts"
import type { Plot } from "./report/plot.ts"

/** One measured figure: nanoseconds per operation, and bytes per operation when it moves bytes. */
export interface Measurement {
  readonly name: string
  readonly nsPerOp: number
  readonly bytesPerOp?: number
}

/** A figure and its baseline from the same run. */
export interface Comparison {
  readonly suite: string
  readonly subject: Measurement
  readonly baseline: Measurement
  /** How many times faster the subject is than the baseline (baseline time / subject time). */
  readonly speedup: number
  /** What the ratio should be at least, if there is a target. */
  readonly target?: number
}

/** A figure checked against a target (a rate or a ratio), with where the time goes when it misses. */
export interface TargetCheck {
  /** What is measured, e.g. "offloaded in-process TCP / Node net (onread)". */
  readonly figure: string
  readonly value: number
  /** The figure's unit: "×" for a ratio, "Gbit/s", … */
  readonly unit: string
  /** The least acceptable value. */
  readonly target: number
  readonly met: boolean
  /** Where the target comes from (an issue). */
  readonly source?: string
  /** A CPU profile of the subject, taken when the target is missed. */
  readonly profile?: ProfileSummary
}

/** A table of its own in a suite's section of the report (cells already formatted). */
export interface Table {
  readonly title?: string
  readonly header: ReadonlyArray<string>
  readonly rows: ReadonlyArray<ReadonlyArray<string>>
}

/**
 * What a suite reports: its comparisons, and lines of derived figures (rates
 * against targets); optionally a title and description for its section of
 * the report, tables, plots (written as SVG files), checked targets, and raw
 * data for `results.json`.
 */
export interface SuiteResult {
  readonly rows: ReadonlyArray<Comparison>
  readonly notes: ReadonlyArray<string>
  readonly title?: string
  readonly description?: string
  readonly tables?: ReadonlyArray<Table>
  readonly plots?: ReadonlyArray<Plot>
  readonly targets?: ReadonlyArray<TargetCheck>
  /** Raw figures (every run of every point), for `results.json` only. */
  readonly data?: Readonly<Record<string, unknown>>
}

/** A target check of `value` against `target` (met when at least the target). */
export const checkTarget = (
  figure: string,
  value: number,
  unit: string,
  target: number,
  extra: { readonly source?: string; readonly profile?: ProfileSummary } = {}
): TargetCheck => ({ figure, value, unit, target, met: value >= target, ...extra })

/** `npm run bench -- --quick` sets this: fewer runs and smaller transfers, to check the plumbing fast. */
export const QUICK_ENV = "NETSTACK_BENCH_QUICK"

/** Whether the benchmarks run in quick mode. */
export const isQuick = (): boolean => process.env[QUICK_ENV] === "1"

/** The median of `xs` (the upper one of an even count); NaN when empty. */
export const median = (xs: ReadonlyArray<number>): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? Number.NaN

/** The `q` quantile (0..1) of ascending `sorted`, nearest rank; NaN when empty. */
export const quantile = (sorted: ReadonlyArray<number>, q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN

/** Gbit/s from ns per byte. */
export const gbits = (nsPerByte: number): number => 8 / nsPerByte

/** Keeps a value alive so the optimizer cannot drop the work that produced it. */
export let sink: unknown = undefined
/** Records `value` in `sink`. */
export const consume = (value: unknown): void => {
  sink = value
}

/**
 * Times `body`, which performs `opsPerCall` operations per call: warms up,
 * then takes the median of seven samples of about `sampleMs` each (three
 * of a third as long in quick mode).
 */
export const measure = (
  name: string,
  body: () => void,
  options: { readonly opsPerCall?: number; readonly bytesPerOp?: number; readonly sampleMs?: number } = {}
): Measurement => {
  const opsPerCall = options.opsPerCall ?? 1
  const quick = isQuick()
  const sampleMs = (options.sampleMs ?? 150) / (quick ? 3 : 1)
  let calls = 1
  for (;;) {
    const t0 = performance.now()
    for (let i = 0; i < calls; i++) body()
    if (performance.now() - t0 > sampleMs / 4) break
    calls *= 2
  }
  const samples: Array<number> = []
  for (let s = 0; s < (quick ? 3 : 7); s++) {
    const t0 = performance.now()
    for (let i = 0; i < calls; i++) body()
    samples.push(((performance.now() - t0) * 1e6) / (calls * opsPerCall))
  }
  const nsPerOp = median(samples)
  return options.bytesPerOp === undefined ? { name, nsPerOp } : { name, nsPerOp, bytesPerOp: options.bytesPerOp }
}

/** Pairs a subject with its baseline. */
export const compare = (suite: string, subject: Measurement, baseline: Measurement, target?: number): Comparison => ({
  suite,
  subject,
  baseline,
  speedup: baseline.nsPerOp / subject.nsPerOp,
  ...(target === undefined ? {} : { target })
})

/** Renders a measurement as ns/op, with GB/s when it moves bytes. */
export const formatMeasurement = (m: Measurement): string =>
  m.bytesPerOp === undefined
    ? `${m.nsPerOp.toFixed(1)} ns/op`
    : `${m.nsPerOp.toFixed(1)} ns/op (${(m.bytesPerOp / m.nsPerOp).toFixed(2)} GB/s)`
