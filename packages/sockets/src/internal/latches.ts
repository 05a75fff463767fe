/**
 * Waiting on the stack's wake-up latches: the transports open a latch when
 * something changes (data arrived, room freed, the connection ended) and a
 * waiter closes it first when its condition does not hold, then awaits it.
 */
import { Effect, Latch } from "effect"

/**
 * Waits for `latch` to open, then yields once. A latch opened by the
 * stack resumes its waiters at once, in the middle of the protocol work
 * that opened it (the rest of the segment is not yet processed: the state
 * may still change); yielding lets that work finish before the waiter looks.
 */
export const awaitLatch = (latch: Latch.Latch): Effect.Effect<void> => Effect.andThen(Latch.await(latch), Effect.yieldNow)

/** Ends (after a yield, as `awaitLatch`) when the first of `latches` opens; never with none. */
export const awaitAny = (latches: ReadonlyArray<Latch.Latch>): Effect.Effect<void> => {
  const [first, ...rest] = latches
  if (first === undefined) return Effect.never
  if (rest.length === 0) return awaitLatch(first)
  return Effect.andThen(Effect.raceAll(latches.map((latch) => Latch.await(latch))), Effect.yieldNow)
}

/**
 * A signal the socket raises whenever the application uses it (Linux has
 * no such thing: it wakes edge-triggered waiters on every arrival; here a
 * level that stayed up is looked at again after each use).
 */
export class UseSignal {
  private readonly latch = Latch.makeUnsafe(false)

  /** The socket was used. */
  raise(): void {
    Latch.openUnsafe(this.latch)
  }

  /** Ends at the next use after it starts. */
  readonly next: Effect.Effect<void> = Effect.suspend(() => {
    Latch.closeUnsafe(this.latch)
    return awaitLatch(this.latch)
  })
}
