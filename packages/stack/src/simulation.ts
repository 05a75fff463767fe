/**
 * Driving a simulated network under Effect's `TestClock`: time moves only
 * when a test (or the demo) moves it, so these helpers move it in small
 * steps, letting every host's fibers (NICs, NAPI, timers, wires) run at each
 * step, the way time passes in a real network.
 */
import { Duration, Effect, Fiber, type Result } from "effect"
import { TestClock } from "effect/testing"

/**
 * Runs `effect` while the test clock moves on in `stepMillis` steps, until
 * it completes, and returns its result (success or failure). An effect still
 * running after `limitMillis` of simulated time is interrupted and the call
 * dies with a defect saying so (a test fails instead of hanging).
 */
export const whileClockAdvances = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  limitMillis = 10_000,
  stepMillis = 1
): Effect.Effect<Result.Result<A, E>, never, R> =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(Effect.result(effect))
    const step = Duration.millis(stepMillis)
    for (let t = 0; t < limitMillis && fiber.pollUnsafe() === undefined; t += stepMillis) yield* TestClock.adjust(step)
    if (fiber.pollUnsafe() === undefined) {
      yield* Fiber.interrupt(fiber)
      return yield* Effect.die(new Error(`whileClockAdvances: not done after ${limitMillis} ms of simulated time`))
    }
    return yield* Fiber.join(fiber)
  })

/** Moves the test clock on by `totalMillis` in `stepMillis` steps, letting every fiber run at each step. */
export const advanceClock = (totalMillis: number, stepMillis = 1): Effect.Effect<void> =>
  Effect.gen(function*() {
    const step = Duration.millis(stepMillis)
    for (let t = 0; t < totalMillis; t += stepMillis) yield* TestClock.adjust(step)
  })
