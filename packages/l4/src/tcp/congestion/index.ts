/**
 * Congestion control for TCP: the interface between the connection's core
 * and an algorithm (`CongestionControl`, `CongestionController`), and the
 * algorithms, Reno (RFC 5681) and CUBIC (RFC 9438). Choose one for a host
 * by Layer: `cubicLayer` (the default, as in Linux) or `newRenoLayer`.
 */
import { Layer } from "effect"
import { type CongestionAlgorithm, CongestionControl } from "./congestion-control.ts"
import { cubic } from "./cubic.ts"
import { newReno } from "./new-reno.ts"

export * from "./congestion-control.ts"
export { CUBIC_ALPHA, CUBIC_BETA, CUBIC_C, cubic, CubicController, cubicSsthresh } from "./cubic.ts"
export { newReno, RenoController, renoSsthresh } from "./new-reno.ts"
export { INFINITE_SSTHRESH } from "./window-growth.ts"

/** The algorithms by name, as Linux's `net.ipv4.tcp_available_congestion_control` lists them. */
export const congestionAlgorithms: ReadonlyArray<CongestionAlgorithm> = [cubic, newReno]

/**
 * The algorithm called `name` ("reno", "cubic"), as `sysctl
 * net.ipv4.tcp_congestion_control` or `TCP_CONGESTION` take it; undefined
 * for a name that is not available.
 *
 * @example
 * const algorithm = congestionAlgorithm("reno") ?? cubic
 */
export const congestionAlgorithm = (name: string): CongestionAlgorithm | undefined =>
  congestionAlgorithms.find((algorithm) => algorithm.name === name)

/** New connections use Reno: `Effect.provide(program, newRenoLayer)`. */
export const newRenoLayer: Layer.Layer<CongestionControl> = Layer.succeed(CongestionControl, newReno)

/** New connections use CUBIC (what a host uses when no `CongestionControl` is provided). */
export const cubicLayer: Layer.Layer<CongestionControl> = Layer.succeed(CongestionControl, cubic)
