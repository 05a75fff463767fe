/**
 * A `Latch.Latch` that costs one small object while nobody waits on it.
 *
 * Effect's own latch builds its effects (`open`, `release`, `close`,
 * `await`) and two closures in its constructor: some ten objects, about
 * 750 bytes, for every latch. A connection has four (readable, writable,
 * opened, closed), and most of them are never waited on while the
 * connection idles, so this one makes each effect when it is asked for and
 * its waiter list when the first fiber waits. It behaves exactly as
 * Effect's latch: `openUnsafe` resumes the waiters at once, in order; the
 * `open` and `release` effects resume them through the fiber's scheduler.
 */
import { Effect, Exit, type Fiber, type Latch } from "effect"

type Resume = (effect: Effect.Effect<void>) => void

/** A latch with no per-instance closures or effects. */
export class LightLatch implements Latch.Latch {
  private opened: boolean
  /** Fibers waiting, in order (made when the first one waits). */
  private waiters: Array<Resume> | undefined = undefined
  /** Waiters handed to the scheduler by `open`/`release`, not yet resumed. */
  private scheduled: Array<Resume> | undefined = undefined

  constructor(open: boolean) {
    this.opened = open
  }

  /** Opens it and resumes the waiters through the scheduler; false if it was open. */
  get open(): Effect.Effect<boolean> {
    return Effect.withFiber((fiber) => {
      if (this.opened) return Effect.succeed(false)
      this.opened = true
      return this.scheduleWaiters(fiber)
    })
  }

  /** Resumes the current waiters through the scheduler without opening it; false if it was open. */
  get release(): Effect.Effect<boolean> {
    return Effect.withFiber((fiber) => this.opened ? Effect.succeed(false) : this.scheduleWaiters(fiber))
  }

  /** Waits until it is open. */
  get await(): Effect.Effect<void> {
    return Effect.callback<void>((resume) => {
      if (this.opened) return resume(Exit.void)
      ;(this.waiters ??= []).push(resume)
      return Effect.sync(() => this.forget(resume))
    })
  }

  /** Closes it; false if it was closed. */
  get close(): Effect.Effect<boolean> {
    return Effect.sync(() => this.closeUnsafe())
  }

  /** Opens it and resumes every waiter now; false if it was open. */
  openUnsafe(): boolean {
    if (this.opened) return false
    this.opened = true
    // Both lists are taken before any waiter runs: a resumed waiter may close the latch and wait again.
    const waiters = this.waiters
    this.waiters = undefined
    this.flushScheduled()
    if (waiters !== undefined) for (let i = 0; i < waiters.length; i++) waiters[i]?.(Exit.void)
    return true
  }

  /** Closes it; false if it was closed. */
  closeUnsafe(): boolean {
    if (!this.opened) return false
    this.opened = false
    return true
  }

  /** Runs `self` once it is open. */
  whenOpen<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    return Effect.flatMap(this.await, () => self)
  }

  /** Whether it is open. */
  isOpen(): boolean {
    return this.opened
  }

  private scheduleWaiters(fiber: Fiber.Fiber<unknown, unknown>): Effect.Effect<boolean> {
    const waiters = this.waiters
    if (waiters === undefined || waiters.length === 0) return Effect.succeed(true)
    if (this.scheduled === undefined) {
      this.scheduled = waiters
      fiber.currentDispatcher.scheduleTask(() => this.flushScheduled(), 0)
    } else {
      for (const waiter of waiters) this.scheduled.push(waiter)
    }
    this.waiters = undefined
    return Effect.succeed(true)
  }

  private flushScheduled(): void {
    const scheduled = this.scheduled
    if (scheduled === undefined) return
    this.scheduled = undefined
    for (let i = 0; i < scheduled.length; i++) scheduled[i]?.(Exit.void)
  }

  private forget(resume: Resume): void {
    const waiters = this.waiters
    let at = waiters === undefined ? -1 : waiters.indexOf(resume)
    if (waiters !== undefined && at >= 0) {
      waiters.splice(at, 1)
      return
    }
    const scheduled = this.scheduled
    at = scheduled === undefined ? -1 : scheduled.indexOf(resume)
    if (scheduled !== undefined && at >= 0) scheduled.splice(at, 1)
  }
}
