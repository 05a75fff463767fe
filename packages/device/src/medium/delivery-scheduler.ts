/**
 * Timed delivery into one port: frames wait in a {@link DueQueue} and one
 * fiber sleeps on the `Clock` until the earliest is due, then lands every due
 * frame in one go. When idle the fiber waits on a latch (no polling); a frame
 * due earlier than the fiber's current wake-up time opens the latch, so the
 * fiber re-plans at once.
 */
import { type Clock, Effect, Latch } from "effect"
import { micros, nowMicros } from "../time.ts"
import { DueQueue } from "./due-queue.ts"
import type { FrameOffload } from "./offload.ts"
import type { FrameRelease } from "./port.ts"

/** Where a scheduled frame goes when it is due (an impaired path, which counts it and hands it on). */
export interface Landing {
  /** Takes a frame whose time has come, its metadata, and the sender's release (to call once done with it). */
  readonly land: (frame: Uint8Array, release: FrameRelease | undefined, offload: FrameOffload | undefined) => void
}

interface Scheduled {
  readonly frame: Uint8Array
  readonly landing: Landing
  readonly release: FrameRelease | undefined
  readonly offload: FrameOffload | undefined
}

/** The due-time-ordered delivery queue of one port and the fiber that drains it. */
export class DeliveryScheduler {
  private readonly queue = new DueQueue<Scheduled>()
  private readonly signal: Latch.Latch = Latch.makeUnsafe(false)
  /** When the fiber next looks at the queue by itself; `Infinity` while it waits idle. */
  private wakeAt = -Infinity
  private readonly clock: Clock.Clock

  constructor(clock: Clock.Clock) {
    this.clock = clock
  }

  /** True when no frame is queued. */
  get isEmpty(): boolean {
    return this.queue.earliest === Infinity
  }

  /** True if some queued frame is due at or before `time` (microseconds): a frame due by then must queue behind it. */
  hasDueBy(time: number): boolean {
    return this.queue.earliest <= time
  }

  /** Queues `frame` (with its metadata) to land on `landing` at `due` (microseconds on the clock). */
  schedule(due: number, frame: Uint8Array, landing: Landing, release?: FrameRelease, offload?: FrameOffload): void {
    this.queue.push(due, { frame, landing, release, offload })
    if (due < this.wakeAt) {
      this.wakeAt = due
      Latch.openUnsafe(this.signal)
    }
  }

  /** Lands every frame due at or before `limit`, in due order (insertion order for equal times). */
  private landDue(limit: number): void {
    for (;;) {
      const next = this.queue.popDue(limit)
      if (next === undefined) return
      next.landing.land(next.frame, next.release, next.offload)
    }
  }

  /** The fiber body: fork it into the medium's scope. */
  run(): Effect.Effect<never> {
    const self = this
    const clock = this.clock
    return Effect.gen(function*() {
      let limit = nowMicros(clock)
      for (;;) {
        self.landDue(limit)
        const now = nowMicros(clock)
        Latch.closeUnsafe(self.signal)
        const target = self.queue.earliest
        if (target <= now) {
          // Frames sent while landing (a receiver answering at once) are due already.
          limit = now
          continue
        }
        self.wakeAt = target
        if (target === Infinity) {
          yield* Latch.await(self.signal)
          limit = nowMicros(clock)
        } else {
          const slept = yield* Effect.raceFirst(
            Effect.as(Effect.sleep(micros(target - now)), true),
            Effect.as(Latch.await(self.signal), false)
          )
          // After a full sleep the target is due even if float rounding left the clock a hair short of it.
          limit = slept ? Math.max(nowMicros(clock), target) : nowMicros(clock)
        }
        self.wakeAt = -Infinity
      }
    })
  }
}
