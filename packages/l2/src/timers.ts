/**
 * The timers of one host (the kernel's timer wheel, for one network
 * namespace): neighbour retransmits and state changes, reassembly timeouts,
 * bridge aging. Callbacks are plain synchronous functions run by one fiber
 * that sleeps on the stack's `Clock` until the earliest deadline, so every
 * timer is exact and deterministic under `TestClock`.
 *
 * `now()` is the host's time for the layers (neighbour `used`/`confirmed`
 * stamps, path-MTU expiry, reassembly deadlines). Inside `batch` (one NAPI
 * poll: synchronous work on up to 64 packets) the clock is read once and
 * reused, as the kernel reads `jiffies` rather than the clock source on its
 * fast paths; under `TestClock` time cannot move inside a batch, so nothing
 * changes, and on the real clock a batch lasts microseconds.
 */
import { nowMicros } from "@netstack/device"
import { Clock, Duration, Effect, Latch, type Scope } from "effect"

/** A scheduled timer; cancel it with `TimerQueue.cancel`. */
export interface TimerHandle {
  readonly at: number
  readonly id: number
}

interface Entry {
  readonly at: number
  readonly id: number
  readonly run: () => void
}

/** A host's timers. */
export class TimerQueue {
  private readonly clock: Clock.Clock
  /** Min-heap by (at, id). */
  private readonly heap: Array<Entry> = []
  private readonly cancelled = new Set<number>()
  private nextId = 1
  private readonly wake: Latch.Latch = Latch.makeUnsafe(false)
  /** Nesting depth of `batch` calls; the cached time is valid while it is above 0. */
  private batchDepth = 0
  /** The time read in the current batch, or -1 before the first read. */
  private batchNow = -1
  /** Work to run when the outermost batch ends (`afterBatch`). */
  private readonly batchEnd: Array<() => void> = []
  /** Timers that have run. */
  fired = 0
  /** Callbacks (timers, `afterBatch` work) that threw: a bug in the layer that scheduled them; the queue carries on. */
  failures = 0

  private constructor(clock: Clock.Clock) {
    this.clock = clock
  }

  /** A timer queue whose fiber runs in the current scope. */
  static make(): Effect.Effect<TimerQueue, never, Scope.Scope> {
    return Effect.gen(function*() {
      const timers = new TimerQueue(yield* Clock.Clock)
      yield* Effect.forkScoped(timers.run())
      return timers
    })
  }

  /** Microseconds now, on the stack's clock (read once per `batch`). */
  now(): number {
    if (this.batchDepth === 0) return nowMicros(this.clock)
    if (this.batchNow < 0) this.batchNow = nowMicros(this.clock)
    return this.batchNow
  }

  /**
   * Runs `work` with `now()` reading the clock at most once (the softirq
   * wraps each NAPI poll in it); then what `afterBatch` deferred.
   */
  batch<A>(work: () => A): A {
    this.batchDepth++
    try {
      return work()
    } finally {
      if (--this.batchDepth === 0) {
        this.batchNow = -1
        this.runBatchEnd()
      }
    }
  }

  /**
   * Runs `callback` once the current batch is over (at once outside a
   * batch): a task woken by the softirq runs after it, as on a kernel,
   * where a reader woken by `sk_data_ready` gets the CPU only once the NAPI
   * poll has finished.
   */
  afterBatch(callback: () => void): void {
    if (this.batchDepth === 0) return callback()
    this.batchEnd.push(callback)
  }

  /**
   * Runs `callback` soon, never in the caller's stack: when the current
   * batch is over, or outside a batch from the timer fiber (a zero-delay
   * timer). Cheaper than `after(0)` inside a NAPI poll, where the timer
   * fiber would have to be woken and its sleep raced again: a kernel's
   * tasklet raised from the softirq runs at its end.
   */
  soon(callback: () => void): void {
    if (this.batchDepth === 0) this.after(0, callback)
    else this.batchEnd.push(callback)
  }

  private runBatchEnd(): void {
    if (this.batchEnd.length === 0) return
    // Taken first: a callback may run a batch of its own, whose end runs what that batch defers.
    const pending = this.batchEnd.splice(0)
    for (const callback of pending) {
      try {
        callback()
      } catch {
        // As with timers: a callback's bug is counted, never thrown into the poll that deferred it.
        this.failures++
      }
    }
  }

  /** Runs `callback` at `atMicros` (or as soon as possible if that is past). */
  schedule(atMicros: number, callback: () => void): TimerHandle {
    const entry: Entry = { at: atMicros, id: this.nextId++, run: callback }
    this.push(entry)
    if (this.heap[0] === entry) Latch.openUnsafe(this.wake)
    return { at: entry.at, id: entry.id }
  }

  /** Runs `callback` after `delayMicros`. */
  after(delayMicros: number, callback: () => void): TimerHandle {
    return this.schedule(this.now() + delayMicros, callback)
  }

  /** Cancels a timer that has not run yet (a no-op otherwise). */
  cancel(handle: TimerHandle | undefined): void {
    if (handle !== undefined) this.cancelled.add(handle.id)
  }

  /** Timers waiting (cancelled ones included until they come due). */
  get pending(): number {
    return this.heap.length
  }

  private run(): Effect.Effect<never> {
    const timers = this
    return Effect.forever(
      Effect.gen(function*() {
        const next = timers.heap[0]
        if (next === undefined) {
          Latch.closeUnsafe(timers.wake)
          yield* Latch.await(timers.wake)
          return
        }
        const wait = next.at - timers.now()
        if (wait <= 0) return timers.fireDue(timers.now())
        Latch.closeUnsafe(timers.wake)
        // Sleep to the deadline, unless a sooner timer is scheduled meanwhile: then look again.
        const slept = yield* Effect.raceFirst(
          Effect.as(Effect.sleep(Duration.millis(wait / 1000)), true),
          Effect.as(Latch.await(timers.wake), false)
        )
        // After a full sleep `next` is due, even if the float clock is a hair short of its deadline.
        if (slept) timers.fireDue(next.at)
      }),
      // Idle, it waits on a latch: no yield (a setImmediate hop) after every turn; Effect's budget yields it when busy.
      { disableYield: true }
    )
  }

  /** Runs every timer due at or before `deadline` (or now, if later), in order. */
  private fireDue(deadline: number): void {
    const limit = Math.max(deadline, this.now())
    for (let e = this.heap[0]; e !== undefined && e.at <= limit; e = this.heap[0]) {
      this.pop()
      if (this.cancelled.delete(e.id)) continue
      this.fired++
      try {
        e.run()
      } catch {
        // A callback's bug must not stop the host's other timers (the fiber would die): counted, never thrown.
        this.failures++
      }
    }
  }

  private push(entry: Entry): void {
    const h = this.heap
    h.push(entry)
    let i = h.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(h[i], h[parent])) break
      ;[h[i], h[parent]] = [h[parent], h[i]]
      i = parent
    }
  }

  private pop(): void {
    const h = this.heap
    const last = h.pop()
    if (last === undefined || h.length === 0) return
    h[0] = last
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < h.length && before(h[l], h[m])) m = l
      if (r < h.length && before(h[r], h[m])) m = r
      if (m === i) return
      ;[h[i], h[m]] = [h[m], h[i]]
      i = m
    }
  }
}

const before = (a: Entry, b: Entry): boolean => a.at < b.at || (a.at === b.at && a.id < b.id)
