/**
 * A connection's own fibers as the consumers of its net channel (OSv: a
 * thread blocked in `soreceive`, `sosend` or `poll` runs what its
 * connection's channel queued itself, so a packet costs one wake-up, not
 * two: no hop through a consumer thread before the reader's own).
 *
 * - A fiber about to wait on a connection (a read for data, a write for
 *   send-buffer space, a poll for readiness) first runs what the channel
 *   holds, then registers as a waiter for as long as it waits
 *   (`awaitAsChannelConsumer`).
 * - The channel, at the end of a NAPI batch that queued packets for the
 *   connection, wakes one waiter by opening the latch it waits on
 *   (`ChannelWaiters.signal`), instead of its own consumer fiber; with no
 *   waiter the consumer fiber runs the queue, as before (ACKs for an idle
 *   sender, data for a socket nobody reads).
 * - The woken waiter runs the queue (TCP input in its own fiber), then goes
 *   on with what it waited for. A waiter that cannot (interrupted, or woken
 *   inside TCP input) hands the queue to the consumer fiber, so nothing
 *   stays queued.
 *
 * TCP input never runs inside TCP input: a latch opened by TCP input
 * resumes its waiters at once, in the middle of the segment being
 * processed; a waiter resumed there (`TcpHost.inInput`) leaves the queue
 * alone. Every queued packet is run exactly once, in order: whoever takes it
 * from the queue runs it.
 */
import { Effect, Latch } from "effect"
import type { Tcb } from "./tcb.ts"

/** Who ran TCP input for a net channel's packet: a fiber waiting to read, to write or polling the connection, or the channel's consumer fiber. */
export type ChannelConsumerKind = "reader" | "writer" | "poller" | "consumer"

/** What a fiber waiting on a connection waits for. */
export type ChannelWaiterKind = Exclude<ChannelConsumerKind, "consumer">

/** One fiber waiting on a connection, as a consumer of its net channel. */
export class ChannelWaiter {
  readonly kind: ChannelWaiterKind
  /** The latch it waits on: opening it wakes the fiber. */
  readonly latch: Latch.Latch
  /** The channel woke it to run its queue: it must, or hand the queue to the consumer fiber. */
  signalled = false

  constructor(kind: ChannelWaiterKind, latch: Latch.Latch) {
    this.kind = kind
    this.latch = latch
  }
}

/** The fibers waiting on a connection now that run its net channel when the channel wakes them. */
export class ChannelWaiters {
  private readonly waiting: Array<ChannelWaiter> = []

  /** Fibers waiting (not yet woken by the channel). */
  get size(): number {
    return this.waiting.length
  }

  /** `waiter` waits from now on. */
  add(waiter: ChannelWaiter): void {
    this.waiting.push(waiter)
  }

  /** `waiter` stopped waiting (whether or not it was there). */
  remove(waiter: ChannelWaiter): void {
    const at = this.waiting.indexOf(waiter)
    if (at >= 0) this.waiting.splice(at, 1)
  }

  /**
   * Wakes one waiter to run the channel's queue, by opening the latch it
   * waits on: one still blocked (its latch closed) before one already on
   * its way back, and a reader first (most segments carry its data; an ACK
   * it runs opens the writers' latch as usual). The fiber may resume at
   * once, inside this call. False when nobody waits: the caller wakes the
   * channel's consumer fiber instead.
   */
  signal(): boolean {
    const waiting = this.waiting
    if (waiting.length === 0) return false
    let chosen = 0
    let best = -1
    for (let i = 0; i < waiting.length && best < 3; i++) {
      const w = waiting[i]
      const score = (Latch.isOpen(w.latch) ? 0 : 2) + (w.kind === "reader" ? 1 : 0)
      if (score > best) {
        best = score
        chosen = i
      }
    }
    const waiter = waiting[chosen]
    waiting.splice(chosen, 1)
    waiter.signalled = true
    Latch.openUnsafe(waiter.latch)
    return true
  }
}

/**
 * Runs what `tcb`'s net channel holds, now, in the caller's fiber (the
 * caller being a `kind`); how many packets. Nothing while TCP input is
 * running (the caller was resumed inside it): the queue waits for whoever
 * was woken for it.
 */
export const drainChannel = (tcb: Tcb, kind: ChannelConsumerKind): number => {
  const channel = tcb.channel
  if (channel === undefined || channel.size === 0 || tcb.host.inInput) return 0
  return channel.drain(kind)
}

/** The end of a waiter's wait: out of the registry; a waiter the channel woke runs the queue, or hands it on. */
const finishWait = (tcb: Tcb, waiter: ChannelWaiter, woke: boolean): void => {
  if (!waiter.signalled) tcb.channelWaiters.remove(waiter)
  const channel = tcb.channel
  if (channel === undefined || channel.size === 0) return
  if (woke && !tcb.host.inInput) channel.drain(waiter.kind)
  else if (waiter.signalled) channel.wakeConsumer()
}

/**
 * `wait` (which must end once `latch` opens) as a consumer of `tcb`'s net
 * channel: what the channel holds is run first (the caller has closed
 * `latch`: if that brings what it waits for, TCP input opens it again and
 * the wait ends at once); while waiting, the channel wakes this fiber
 * through `latch` to run what it queues; after the wait, what is queued is
 * run here (unless this fiber was resumed inside TCP input). Without a
 * channel it is just `wait`.
 */
export const awaitAsChannelConsumer = <A, E, R>(
  tcb: Tcb,
  kind: ChannelWaiterKind,
  latch: Latch.Latch,
  wait: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.suspend(() => {
    if (tcb.channel === undefined) return wait
    drainChannel(tcb, kind)
    if (Latch.isOpen(latch) || tcb.channel === undefined) return wait
    const waiter = new ChannelWaiter(kind, latch)
    tcb.channelWaiters.add(waiter)
    return Effect.onExit(wait, (exit) =>
      Effect.sync(() => {
        finishWait(tcb, waiter, exit._tag === "Success")
      }))
  })
