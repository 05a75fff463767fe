/**
 * The data of a plot, as a suite reports it: series of figures for a line
 * chart or a grouped bar chart. `renderPlot` turns one into an SVG document.
 */
import { barChart } from "./bar-chart.ts"
import { lineChart } from "./line-chart.ts"

/** A line through (x, y) points, in the order given. */
export interface LineSeries {
  readonly label: string
  readonly points: ReadonlyArray<readonly [x: number, y: number]>
}

/** A horizontal line across the whole chart: a baseline measured once, not along x. */
export interface ReferenceLine {
  readonly label: string
  readonly y: number
}

/** A line chart: y against x, x optionally on a log scale. */
export interface LinePlot {
  readonly kind: "line"
  /** File name without extension: lower case letters, digits and dashes. */
  readonly name: string
  readonly title: string
  readonly xLabel: string
  readonly yLabel: string
  readonly logX?: boolean
  /** Tick values of the x axis (default: nice values for the scale). */
  readonly xTicks?: ReadonlyArray<number>
  readonly series: ReadonlyArray<LineSeries>
  readonly references?: ReadonlyArray<ReferenceLine>
}

/** One bar per category: `values[i]` belongs to `categories[i]`. */
export interface BarSeries {
  readonly label: string
  readonly values: ReadonlyArray<number>
}

/** A grouped bar chart: per category, one bar of each series side by side. */
export interface BarPlot {
  readonly kind: "bar"
  /** File name without extension: lower case letters, digits and dashes. */
  readonly name: string
  readonly title: string
  readonly yLabel: string
  readonly categories: ReadonlyArray<string>
  readonly series: ReadonlyArray<BarSeries>
  readonly logY?: boolean
}

/** Any plot a suite can report. */
export type Plot = LinePlot | BarPlot

/** The SVG document of a plot. */
export const renderPlot = (plot: Plot): string => (plot.kind === "line" ? lineChart(plot) : barChart(plot))
