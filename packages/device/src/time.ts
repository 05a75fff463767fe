/**
 * Time on the simulated hardware, in microseconds. Everything reads Effect's
 * `Clock` (virtual under `TestClock`, whose time is fractional milliseconds),
 * so a whole network runs deterministically in tests.
 */
import { type Clock, Duration } from "effect"

/** Microseconds since the clock's epoch, from its (possibly fractional) milliseconds. */
export const nowMicros = (clock: Clock.Clock): number => clock.currentTimeMillisUnsafe() * 1000

/** A duration of `n` microseconds (fractions allowed). */
export const micros = (n: number): Duration.Duration => Duration.millis(n / 1000)

/** A duration as microseconds. */
export const toMicros = (d: Duration.Input): number => Duration.toMillis(Duration.fromInputUnsafe(d)) * 1000
