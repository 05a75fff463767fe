/**
 * The frame every chart shares: the SVG document, its layout (plot area,
 * legend rows below it), a title, axes with ticks, grid lines and labels,
 * and the legend. Charts draw their marks inside `Layout`'s plot area.
 */
import { formatTick, type Scale } from "./scale.ts"

/** Series colours, distinguishable in print and for common colour blindness (Okabe–Ito). */
export const PALETTE: ReadonlyArray<string> = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]

/** The colour of series `i`. */
export const colour = (i: number): string => PALETTE[i % PALETTE.length] ?? "#000000"

/** Where things go: the plot area is `left..right` × `top..bottom` (pixels, y down). */
export interface Layout {
  readonly width: number
  readonly height: number
  readonly left: number
  readonly right: number
  readonly top: number
  readonly bottom: number
}

const WIDTH = 760
const PLOT_HEIGHT = 320
const LEGEND_ROW = 20

/** The layout of a chart whose legend has `entries` rows. */
export const layout = (entries: number): Layout => {
  const top = 48
  const bottom = top + PLOT_HEIGHT
  return { width: WIDTH, height: bottom + 60 + entries * LEGEND_ROW + 8, left: 78, right: WIDTH - 24, top, bottom }
}

/** Escapes text for XML content and attribute values. */
export const escapeXml = (text: string): string =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

/** Rounds a pixel coordinate to a tenth, to keep the documents small. */
export const px = (value: number): string => String(Math.round(value * 10) / 10)

/** A text element. */
export const text = (x: number, y: number, content: string, attributes = ""): string =>
  `<text x="${px(x)}" y="${px(y)}"${attributes === "" ? "" : ` ${attributes}`}>${escapeXml(content)}</text>`

/** A line segment. */
export const line = (x1: number, y1: number, x2: number, y2: number, attributes: string): string =>
  `<line x1="${px(x1)}" y1="${px(y1)}" x2="${px(x2)}" y2="${px(y2)}" ${attributes}/>`

/** The y axis: grid lines and labels at the scale's ticks, and the axis label turned on its side. */
export const yAxis = (scale: Scale, box: Layout, label: string): string => {
  const parts = scale.ticks.map((tick) => {
    const y = scale.toPixel(tick)
    return line(box.left, y, box.right, y, `stroke="#e3e3e3"`) +
      text(box.left - 8, y + 4, formatTick(tick), `text-anchor="end"`)
  })
  const middle = (box.top + box.bottom) / 2
  parts.push(text(18, middle, label, `text-anchor="middle" transform="rotate(-90 18 ${px(middle)})"`))
  parts.push(line(box.left, box.top, box.left, box.bottom, `stroke="#333"`))
  return parts.join("\n")
}

/** A numeric x axis: ticks and labels at the scale's ticks (or `ticks`), and the axis label. */
export const xAxis = (scale: Scale, box: Layout, label: string, ticks: ReadonlyArray<number> = scale.ticks): string => {
  const parts = ticks.map((tick) => {
    const x = scale.toPixel(tick)
    return line(x, box.bottom, x, box.bottom + 5, `stroke="#333"`) + text(x, box.bottom + 19, formatTick(tick), `text-anchor="middle"`)
  })
  parts.push(line(box.left, box.bottom, box.right, box.bottom, `stroke="#333"`))
  parts.push(text((box.left + box.right) / 2, box.bottom + 40, label, `text-anchor="middle"`))
  return parts.join("\n")
}

/** Splits `label` at spaces into lines of at most about `width` characters. */
const wrap = (label: string, width: number): Array<string> => {
  const lines: Array<string> = []
  for (const word of label.split(" ")) {
    const last = lines.length - 1
    const current = lines[last]
    if (current !== undefined && current.length + 1 + word.length <= width) lines[last] = `${current} ${word}`
    else lines.push(word)
  }
  return lines
}

/** A category x axis: each label centred under its group of `groupWidth` pixels, wrapped onto two lines when long. */
export const categoryAxis = (categories: ReadonlyArray<string>, centres: ReadonlyArray<number>, groupWidth: number, box: Layout): string =>
  [
    line(box.left, box.bottom, box.right, box.bottom, `stroke="#333"`),
    ...categories.map((category, i) => {
      const x = centres[i] ?? box.left
      const lines = wrap(category, Math.max(8, Math.floor(groupWidth / 7)))
      const spans = lines.map((l, j) => `<tspan x="${px(x)}" dy="${j === 0 ? 0 : 14}">${escapeXml(l)}</tspan>`).join("")
      return `<text x="${px(x)}" y="${px(box.bottom + 19)}" text-anchor="middle">${spans}</text>`
    })
  ].join("\n")

/** One legend row: a short line (dashed for reference lines) or a filled box, then the label. */
export interface LegendEntry {
  readonly label: string
  readonly colour: string
  readonly mark: "line" | "dashed" | "box"
}

/** The legend, one entry a row under the x axis. */
export const legend = (entries: ReadonlyArray<LegendEntry>, box: Layout): string =>
  entries.map((entry, i) => {
    const y = box.bottom + 66 + i * LEGEND_ROW
    const x = box.left
    const mark = entry.mark === "box"
      ? `<rect x="${px(x)}" y="${px(y - 10)}" width="22" height="12" fill="${entry.colour}"/>`
      : line(x, y - 4, x + 22, y - 4, `stroke="${entry.colour}" stroke-width="2.5"${entry.mark === "dashed" ? ` stroke-dasharray="6 4"` : ""}`)
    return mark + text(x + 30, y, entry.label)
  }).join("\n")

/** The SVG document: white background, the title, then the chart's parts. */
export const document = (box: Layout, title: string, parts: ReadonlyArray<string>): string =>
  [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${box.width}" height="${box.height}" viewBox="0 0 ${box.width} ${box.height}" ` +
    `font-family="Helvetica, Arial, sans-serif" font-size="12" fill="#222">`,
    `<rect width="${box.width}" height="${box.height}" fill="#fff"/>`,
    text(box.width / 2, 26, title, `text-anchor="middle" font-size="15" font-weight="bold"`),
    ...parts,
    `</svg>`,
    ""
  ].join("\n")
