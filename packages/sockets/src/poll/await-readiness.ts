/** Waiting for one socket's readiness (poll(2) on a single descriptor, level-triggered). */
import { Effect } from "effect"
import { type Interest, interestMask, type Pollable, type Readiness, readinessOf } from "./events.ts"

/** Waits until a bit of `interest` (or an error, or a hang-up) is up, and returns what is up of them. */
export const awaitReadiness = (socket: Pollable, interest: Interest): Effect.Effect<Readiness> => {
  const wanted = interestMask(interest)
  const source = socket.pollSource
  return Effect.gen(function*() {
    for (;;) {
      const mask = source.mask() & wanted
      if (mask !== 0) return readinessOf(mask)
      yield* source.changed(wanted)
    }
  })
}
