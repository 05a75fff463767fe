/**
 * Axis scales for the SVG charts: linear and logarithmic maps from data to
 * pixels, their "nice" tick values, and compact tick labels.
 */

/** A map from data values to pixels along one axis, with its tick values. */
export interface Scale {
  readonly toPixel: (value: number) => number
  readonly ticks: ReadonlyArray<number>
}

/** A step of 1, 2 or 5 × 10^k that cuts `span` into about `count` pieces. */
const niceStep = (span: number, count: number): number => {
  const raw = span / Math.max(1, count)
  const magnitude = 10 ** Math.floor(Math.log10(raw))
  const fraction = raw / magnitude
  return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * magnitude
}

/** The domain of a linear axis that starts at zero (or below, for negative data) and ends on a nice tick above `max`. */
export const linearDomain = (min: number, max: number): readonly [number, number] => {
  const low = Math.min(0, min)
  const high = max > low ? max : low + 1
  const step = niceStep(high - low, 5)
  return [Math.floor(low / step) * step, Math.ceil(high / step) * step]
}

/** The domain of a linear x axis: the data's range with 5% room at both ends. */
export const paddedDomain = (min: number, max: number): readonly [number, number] => {
  const room = (max - min) * 0.05 || Math.abs(min) * 0.05 || 1
  return [min - room, max + room]
}

/** A linear scale from `domain` onto the pixel range `[from, to]`, with about five nice ticks. */
export const linearScale = (domain: readonly [number, number], from: number, to: number): Scale => {
  const [low, high] = domain
  const span = high - low || 1
  const step = niceStep(span, 5)
  const ticks: Array<number> = []
  for (let tick = Math.ceil(low / step) * step; tick <= high + step * 1e-9; tick += step) ticks.push(Number(tick.toPrecision(12)))
  return { toPixel: (value) => from + ((value - low) / span) * (to - from), ticks }
}

/** The domain of a log axis: the data's range with a little room at both ends. */
export const logDomain = (min: number, max: number): readonly [number, number] => {
  const low = min > 0 ? min : 1
  const high = max > low ? max : low * 10
  return [low / 1.25, high * 1.25]
}

/** A log scale from `domain` (both ends positive) onto `[from, to]`; ticks at 1, 2, 5 × 10^k when the domain spans few decades. */
export const logScale = (domain: readonly [number, number], from: number, to: number): Scale => {
  const [low, high] = domain
  const lowLog = Math.log10(low)
  const span = Math.log10(high) - lowLog || 1
  const multiples = span <= 3 ? [1, 2, 5] : [1]
  const ticks: Array<number> = []
  for (let decade = Math.floor(lowLog); decade <= Math.ceil(Math.log10(high)); decade++) {
    for (const m of multiples) {
      const tick = m * 10 ** decade
      if (tick >= low * (1 - 1e-9) && tick <= high * (1 + 1e-9)) ticks.push(tick)
    }
  }
  return { toPixel: (value) => from + ((Math.log10(Math.max(value, low)) - lowLog) / span) * (to - from), ticks }
}

/** A short tick label: 1500, 65535, 250k, 2.5M, 0.25. */
export const formatTick = (value: number): string => {
  const magnitude = Math.abs(value)
  if (magnitude >= 1e6) return `${Number((value / 1e6).toPrecision(3))}M`
  if (magnitude >= 1e5) return `${Number((value / 1e3).toPrecision(3))}k`
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)))
}
