/**
 * A line chart as an SVG document: each series a polyline with a marker
 * (and a tooltip) at every point, reference lines dashed across the chart,
 * y linear from zero, x linear or logarithmic.
 */
import type { LinePlot } from "./plot.ts"
import { linearDomain, linearScale, logDomain, logScale, paddedDomain } from "./scale.ts"
import { colour, document, escapeXml, layout, legend, type LegendEntry, line, px, xAxis, yAxis } from "./svg.ts"

/** Renders `plot`; points with a non-finite coordinate (or x ≤ 0 on a log axis) are left out. */
export const lineChart = (plot: LinePlot): string => {
  const logX = plot.logX ?? false
  const usable = (x: number, y: number): boolean => Number.isFinite(x) && Number.isFinite(y) && (!logX || x > 0)
  const series = plot.series.map((s) => ({ label: s.label, points: s.points.filter(([x, y]) => usable(x, y)) }))
  const references = (plot.references ?? []).filter((r) => Number.isFinite(r.y))
  const xs = [...series.flatMap((s) => s.points.map(([x]) => x)), ...(plot.xTicks ?? [])]
  const ys = [...series.flatMap((s) => s.points.map(([, y]) => y)), ...references.map((r) => r.y)]
  const xMin = xs.length === 0 ? 1 : Math.min(...xs)
  const xMax = xs.length === 0 ? 10 : Math.max(...xs)
  const box = layout(series.length + references.length)
  const x = logX
    ? logScale(logDomain(xMin, xMax), box.left, box.right)
    : linearScale(paddedDomain(xMin, xMax), box.left, box.right)
  const y = linearScale(linearDomain(ys.length === 0 ? 0 : Math.min(...ys), ys.length === 0 ? 1 : Math.max(...ys)), box.bottom, box.top)
  const entries: Array<LegendEntry> = []
  const parts = [yAxis(y, box, plot.yLabel), xAxis(x, box, plot.xLabel, plot.xTicks ?? x.ticks)]
  references.forEach((reference, i) => {
    const c = colour(series.length + i)
    const at = y.toPixel(reference.y)
    parts.push(line(box.left, at, box.right, at, `stroke="${c}" stroke-width="2" stroke-dasharray="6 4"`))
    entries.push({ label: `${reference.label} (${Number(reference.y.toPrecision(3))})`, colour: c, mark: "dashed" })
  })
  series.forEach((s, i) => {
    const c = colour(i)
    const coordinates = s.points.map(([vx, vy]) => `${px(x.toPixel(vx))},${px(y.toPixel(vy))}`)
    if (coordinates.length > 1) parts.push(`<polyline points="${coordinates.join(" ")}" fill="none" stroke="${c}" stroke-width="2.5"/>`)
    for (const [vx, vy] of s.points) {
      parts.push(
        `<circle cx="${px(x.toPixel(vx))}" cy="${px(y.toPixel(vy))}" r="4" fill="${c}">` +
          `<title>${escapeXml(`${s.label}: ${Number(vy.toPrecision(4))} at ${vx}`)}</title></circle>`
      )
    }
    entries.push({ label: s.label, colour: c, mark: "line" })
  })
  parts.push(legend(entries, box))
  return document(box, plot.title, parts)
}
