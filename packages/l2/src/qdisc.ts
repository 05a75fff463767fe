/**
 * The queueing discipline in front of a device (`pfifo_fast` reduced to one
 * band): when the driver's queue is stopped, frames wait here, in order, up
 * to `txqueuelen`; a drain fiber sends them when the driver wakes the queue.
 * Beyond the limit frames are dropped and counted.
 */
import type { PacketBuffer } from "@netstack/buffers"
import type { DriverShape } from "@netstack/driver"
import { Effect, Latch, type Scope } from "effect"

/** Linux's default `txqueuelen`. */
export const DEFAULT_TXQUEUELEN = 1000

/** A bounded FIFO in front of a driver. */
export class PfifoQdisc {
  /** Frames dropped because the queue was full. */
  drops = 0
  /** Frames that had to wait (the driver's queue was stopped). */
  requeues = 0
  private readonly backlog: Array<PacketBuffer> = []
  private head = 0
  private readonly pending: Latch.Latch = Latch.makeUnsafe(false)
  private readonly driver: DriverShape
  private readonly limit: number

  private constructor(driver: DriverShape, limit: number) {
    this.driver = driver
    this.limit = limit
  }

  /** A qdisc for `driver` with its drain fiber in the current scope. */
  static make(driver: DriverShape, limit = DEFAULT_TXQUEUELEN): Effect.Effect<PfifoQdisc, never, Scope.Scope> {
    return Effect.gen(function*() {
      const qdisc = new PfifoQdisc(driver, limit)
      yield* Effect.forkScoped(qdisc.drain())
      yield* Effect.addFinalizer(() => Effect.sync(() => qdisc.clear()))
      return qdisc
    })
  }

  /** Frames waiting. */
  get length(): number {
    return this.backlog.length - this.head
  }

  /** Sends `frame` now if nothing is waiting and the driver takes it; otherwise queues it (or drops it when full). */
  enqueue(frame: PacketBuffer): "sent" | "queued" | "dropped" {
    if (this.length === 0) {
      const result = this.driver.xmit(frame)
      if (result !== "busy") return result
    }
    if (this.length >= this.limit) {
      this.drops++
      frame.release()
      return "dropped"
    }
    this.requeues++
    this.backlog.push(frame)
    Latch.openUnsafe(this.pending)
    return "queued"
  }

  private drain(): Effect.Effect<never> {
    const qdisc = this
    return Effect.forever(
      Effect.gen(function*() {
        yield* Latch.await(qdisc.pending)
        while (qdisc.head < qdisc.backlog.length) {
          const frame = qdisc.backlog[qdisc.head]
          if (qdisc.driver.xmit(frame) === "busy") {
            yield* qdisc.driver.awaitWake(qdisc.driver.queueOf(frame))
            // the driver may have stopped another queue: give it a moment rather than spin
            if (qdisc.driver.xmit(frame) === "busy") {
              yield* Effect.yieldNow
              continue
            }
          }
          qdisc.head++
        }
        qdisc.backlog.length = 0
        qdisc.head = 0
        Latch.closeUnsafe(qdisc.pending)
      }),
      // Idle, it waits on a latch: no yield (a setImmediate hop) after every turn; Effect's budget yields it when busy.
      { disableYield: true }
    )
  }

  private clear(): void {
    for (let i = this.head; i < this.backlog.length; i++) this.backlog[i].release()
    this.backlog.length = 0
    this.head = 0
  }
}
