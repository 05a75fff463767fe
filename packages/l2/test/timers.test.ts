/**
 * The host's timer queue around NAPI batches: `afterBatch` work runs once
 * the outermost batch is over (at once outside one), in order, each piece
 * once, and a piece that throws is counted, not thrown into the poll.
 */
import { describe, expect, it } from "@effect/vitest"
import { TimerQueue } from "@netstack/l2"
import { Duration, Effect } from "effect"
import { TestClock } from "effect/testing"

describe("TimerQueue.soon", () => {
  it.effect("runs at the end of the batch inside one, and outside one from the timer fiber, never in the caller's stack", () =>
    Effect.gen(function*() {
      const timers = yield* TimerQueue.make()
      const log: Array<string> = []
      timers.batch(() => {
        timers.soon(() => log.push("soon, in a batch"))
        log.push("end of work")
      })
      expect(log).toEqual(["end of work", "soon, in a batch"])
      timers.soon(() => log.push("soon, outside"))
      log.push("caller goes on")
      expect(log).toEqual(["end of work", "soon, in a batch", "caller goes on"])
      yield* TestClock.adjust(Duration.zero)
      expect(log).toEqual(["end of work", "soon, in a batch", "caller goes on", "soon, outside"])
    }))
})

describe("TimerQueue.afterBatch", () => {
  it.effect("runs deferred work after the outermost batch, in order, once; at once outside a batch", () =>
    Effect.gen(function*() {
      const timers = yield* TimerQueue.make()
      const log: Array<string> = []
      timers.afterBatch(() => log.push("outside"))
      expect(log).toEqual(["outside"])
      timers.batch(() => {
        timers.afterBatch(() => log.push("first"))
        timers.batch(() => timers.afterBatch(() => log.push("nested")))
        log.push("end of work")
        timers.afterBatch(() => {
          log.push("second")
          // A batch run by deferred work ends with what it defers itself.
          timers.batch(() => timers.afterBatch(() => log.push("from a deferred batch")))
        })
      })
      expect(log).toEqual(["outside", "end of work", "first", "nested", "second", "from a deferred batch"])
      timers.batch(() => 0)
      expect(log.length).toBe(6)
    }))

  it.effect("counts deferred work that throws and runs the rest", () =>
    Effect.gen(function*() {
      const timers = yield* TimerQueue.make()
      const ran: Array<number> = []
      const result = timers.batch(() => {
        timers.afterBatch(() => {
          throw new Error("a bug in the layer that deferred it")
        })
        timers.afterBatch(() => ran.push(2))
        return 42
      })
      expect(result).toBe(42)
      expect(ran).toEqual([2])
      expect(timers.failures).toBe(1)
    }))
})
