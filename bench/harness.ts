/**
 * A small benchmark harness. Every figure is measured beside a baseline in
 * the same run and reported as a ratio, because shared machines are noisy:
 * a ratio survives a slow neighbour, an absolute figure does not.
 */

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

/** What a suite reports: its comparisons, and lines of derived figures (rates against targets). */
export interface SuiteResult {
  readonly rows: ReadonlyArray<Comparison>
  readonly notes: ReadonlyArray<string>
}

/** Keeps a value alive so the optimizer cannot drop the work that produced it. */
export let sink: unknown = undefined
/** Records `value` in `sink`. */
export const consume = (value: unknown): void => {
  sink = value
}

/**
 * Times `body`, which performs `opsPerCall` operations per call: warms up,
 * then takes the median of several samples of about `sampleMs` each.
 */
export const measure = (
  name: string,
  body: () => void,
  options: { readonly opsPerCall?: number; readonly bytesPerOp?: number; readonly sampleMs?: number } = {}
): Measurement => {
  const opsPerCall = options.opsPerCall ?? 1
  const sampleMs = options.sampleMs ?? 150
  let calls = 1
  for (;;) {
    const t0 = performance.now()
    for (let i = 0; i < calls; i++) body()
    if (performance.now() - t0 > sampleMs / 4) break
    calls *= 2
  }
  const samples: Array<number> = []
  for (let s = 0; s < 7; s++) {
    const t0 = performance.now()
    for (let i = 0; i < calls; i++) body()
    samples.push(((performance.now() - t0) * 1e6) / (calls * opsPerCall))
  }
  samples.sort((a, b) => a - b)
  const nsPerOp = samples[Math.floor(samples.length / 2)] ?? Number.NaN
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
