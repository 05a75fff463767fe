/**
 * A grouped bar chart as an SVG document: per category one bar of each
 * series side by side, its value written above it; y linear from zero or
 * logarithmic.
 */
import type { BarPlot } from "./plot.ts"
import { formatTick, linearDomain, linearScale, logDomain, logScale } from "./scale.ts"
import { categoryAxis, colour, document, escapeXml, layout, legend, px, text, yAxis } from "./svg.ts"

/** Renders `plot`; a non-finite value (or one ≤ 0 on a log axis) draws no bar. */
export const barChart = (plot: BarPlot): string => {
  const logY = plot.logY ?? false
  const usable = (v: number | undefined): v is number => v !== undefined && Number.isFinite(v) && (!logY || v > 0)
  const values = plot.series.flatMap((s) => s.values.filter(usable))
  const box = layout(plot.series.length)
  const low = values.length === 0 ? 1 : Math.min(...values)
  const high = values.length === 0 ? 10 : Math.max(...values)
  const y = logY ? logScale(logDomain(low, high), box.bottom, box.top) : linearScale(linearDomain(Math.min(0, low), high), box.bottom, box.top)
  const base = logY ? box.bottom : y.toPixel(0)
  const group = (box.right - box.left) / Math.max(1, plot.categories.length)
  const bar = (group * 0.8) / Math.max(1, plot.series.length)
  const centres = plot.categories.map((_, i) => box.left + group * (i + 0.5))
  const parts = [yAxis(y, box, plot.yLabel), categoryAxis(plot.categories, centres, group, box)]
  plot.series.forEach((s, j) => {
    const c = colour(j)
    s.values.forEach((value, i) => {
      if (!usable(value)) return
      const x = box.left + group * i + group * 0.1 + bar * j
      const top = y.toPixel(value)
      parts.push(
        `<rect x="${px(x)}" y="${px(Math.min(top, base))}" width="${px(bar * 0.92)}" height="${px(Math.abs(base - top))}" fill="${c}">` +
          `<title>${escapeXml(`${s.label}, ${plot.categories[i] ?? ""}: ${Number(value.toPrecision(4))}`)}</title></rect>`
      )
      parts.push(text(x + bar * 0.46, Math.min(top, base) - 4, formatTick(Number(value.toPrecision(3))), `text-anchor="middle" font-size="10"`))
    })
  })
  parts.push(legend(plot.series.map((s, j) => ({ label: s.label, colour: colour(j), mark: "box" as const })), box))
  return document(box, plot.title, parts)
}
