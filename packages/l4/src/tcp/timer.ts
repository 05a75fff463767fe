/**
 * A connection timer (the kernel's `sk_reset_timer`): armed and re-armed
 * far more often than it fires (every ACK moves the retransmission timer),
 * so it keeps at most one entry in the host's `TimerQueue` and moves only a
 * deadline. An entry that comes due before the deadline arms the next one;
 * re-arming later costs nothing, re-arming earlier adds an entry. It
 * holds its owner and a shared action rather than a closure of its own, so
 * an idle connection's timers are four small objects.
 */
import type { TimerHandle, TimerQueue } from "@netstack/l2"

/** One re-armable timer of a connection: runs `action(owner)` when it fires. */
export class ConnectionTimer<T> {
  /** When it fires (µs), or undefined when stopped. */
  private deadline: number | undefined = undefined
  /** The queue entry that will look at the deadline, and when it is due. */
  private entry: TimerHandle | undefined = undefined
  private readonly timers: TimerQueue
  private readonly owner: T
  private readonly action: (owner: T) => void

  constructor(timers: TimerQueue, owner: T, action: (owner: T) => void) {
    this.timers = timers
    this.owner = owner
    this.action = action
  }

  private onEntry(): void {
    // The entry is due at its own time (the queue may run it when the float clock is a hair short of it):
    // judge the deadline against that, not against the clock, or a deadline equal to it would re-arm forever.
    const dueAt = this.entry?.at ?? this.timers.now()
    this.entry = undefined
    const deadline = this.deadline
    if (deadline === undefined) return
    if (deadline > dueAt) {
      this.schedule(deadline)
      return
    }
    this.deadline = undefined
    this.action(this.owner)
  }

  /** A queue entry at `deadline` (the one closure a timer makes, only while an entry is pending). */
  private schedule(deadline: number): void {
    this.entry = this.timers.schedule(deadline, () => this.onEntry())
  }

  /** Whether the timer is armed. */
  get armed(): boolean {
    return this.deadline !== undefined
  }

  /** When it will fire, or undefined. */
  get at(): number | undefined {
    return this.deadline
  }

  /** Fires `delay` µs from now (replacing any earlier setting). */
  arm(delay: number): void {
    this.armAt(this.timers.now() + delay)
  }

  /** Fires at `deadline` (µs on the host clock). */
  armAt(deadline: number): void {
    this.deadline = deadline
    if (this.entry === undefined || this.entry.at > deadline) {
      this.timers.cancel(this.entry)
      this.schedule(deadline)
    }
  }

  /** Arms it unless it is armed already. */
  ensure(delay: number): void {
    if (this.deadline === undefined) this.arm(delay)
  }

  /** Stops it (its queue entry stays, to be reused by the next `arm`, and does nothing when due). */
  stop(): void {
    this.deadline = undefined
  }

  /** Stops it and drops its queue entry (the connection is gone). */
  dispose(): void {
    this.deadline = undefined
    if (this.entry !== undefined) {
      this.timers.cancel(this.entry)
      this.entry = undefined
    }
  }
}
