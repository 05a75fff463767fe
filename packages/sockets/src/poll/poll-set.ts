/**
 * An epoll(7)-like set of sockets: interest added, modified and removed
 * per socket (`epoll_ctl` ADD/MOD/DEL), and `wait` (`epoll_wait`) returning
 * the sockets that are ready and for what. Level-triggered by default: a
 * socket is reported on every wait while a bit it is watched for is up.
 * Edge-triggered (EPOLLET) reports a socket when a watched bit comes up
 * (and once when it is added ready); here an edge is a rise of the level,
 * looked at again after each use of the socket through this API, where
 * Linux also wakes on every arrival while the level stays up.
 *
 * Errors and hang-ups are reported whether asked for or not, as epoll
 * does. A closed socket reports a hang-up until it is removed.
 */
import { Duration, Effect, Latch, Option } from "effect"
import { awaitLatch } from "../internal/latches.ts"
import { type NetstackSocketError, socketError } from "../errors.ts"
import { type Interest, interestMask, type Pollable, type Readiness, readinessOf } from "./events.ts"

/** How a socket is watched. */
export interface WatchOptions {
  /** EPOLLET: report rises of the level only. */
  readonly edgeTriggered?: boolean | undefined
}

/** A ready socket, as `wait` returns it. */
export interface PollEvent<S extends Pollable> {
  readonly socket: S
  /** What it is ready for, of what it is watched for (plus errors and hang-ups). */
  readonly events: Readiness
}

/** What `wait` takes. */
export interface WaitOptions {
  /** Most sockets reported at once (epoll_wait's maxevents); all by default. */
  readonly maxEvents?: number | undefined
  /** Give up after this long with no socket ready (an empty result); zero polls without waiting; forever by default. */
  readonly timeout?: Duration.Input | undefined
}

interface Entry<S extends Pollable> {
  readonly socket: S
  interest: number
  edge: boolean
  /** The watched bits at the last look (edge-triggered: what is not a rise). */
  seen: number
}

/** A set of sockets waited on together. */
export class PollSet<S extends Pollable = Pollable> {
  private readonly entries = new Map<S, Entry<S>>()
  /** Opened when the set changes, so a wait in progress looks at new interest at once. */
  private readonly membership = Latch.makeUnsafe(false)
  /** Where the next wait starts looking, so that with `maxEvents` every ready socket gets its turn. */
  private start = 0

  /** An empty set (epoll_create). */
  static make<S extends Pollable = Pollable>(): Effect.Effect<PollSet<S>> {
    return Effect.sync(() => new PollSet<S>())
  }

  /** Sockets in the set. */
  get size(): number {
    return this.entries.size
  }

  /** EPOLL_CTL_ADD: watch `socket` for `interest`; EEXIST if it is in the set already. */
  add(socket: S, interest: Interest, options: WatchOptions = {}): Effect.Effect<void, NetstackSocketError> {
    return Effect.suspend(() => {
      if (this.entries.has(socket)) return Effect.fail(socketError("already-exists", { operation: "epoll_ctl" }))
      this.entries.set(socket, { socket, interest: interestMask(interest), edge: options.edgeTriggered === true, seen: 0 })
      Latch.openUnsafe(this.membership)
      return Effect.void
    })
  }

  /** EPOLL_CTL_MOD: watch `socket` for `interest` instead; ENOENT if it is not in the set. */
  modify(socket: S, interest: Interest, options: WatchOptions = {}): Effect.Effect<void, NetstackSocketError> {
    return Effect.suspend(() => {
      const entry = this.entries.get(socket)
      if (entry === undefined) return Effect.fail(socketError("not-found", { operation: "epoll_ctl" }))
      entry.interest = interestMask(interest)
      entry.edge = options.edgeTriggered === true
      entry.seen = 0
      Latch.openUnsafe(this.membership)
      return Effect.void
    })
  }

  /** EPOLL_CTL_DEL: stop watching `socket`; ENOENT if it is not in the set. */
  remove(socket: S): Effect.Effect<void, NetstackSocketError> {
    return Effect.suspend(() => {
      if (!this.entries.delete(socket)) return Effect.fail(socketError("not-found", { operation: "epoll_ctl" }))
      Latch.openUnsafe(this.membership)
      return Effect.void
    })
  }

  /**
   * epoll_wait: the ready sockets, waiting until there is one (or the
   * timeout passes: then none). EINVAL for `maxEvents` below 1 or a timeout
   * that is not a duration.
   */
  wait(options: WaitOptions = {}): Effect.Effect<ReadonlyArray<PollEvent<S>>, NetstackSocketError> {
    const max = options.maxEvents ?? Infinity
    if (!(max >= 1)) return Effect.fail(socketError("invalid-argument", { operation: "epoll_wait", detail: `maxEvents ${max}` }))
    const self = this
    const loop = Effect.gen(function*() {
      for (;;) {
        const ready = self.collect(max)
        if (ready.length > 0) return ready
        yield* self.changes()
      }
    })
    if (options.timeout === undefined) return loop
    const timeout = Duration.fromInput(options.timeout)
    if (Option.isNone(timeout)) return Effect.fail(socketError("invalid-argument", { operation: "epoll_wait", detail: "timeout" }))
    if (Duration.toMillis(timeout.value) <= 0) return Effect.sync(() => this.collect(max))
    return Effect.map(Effect.timeoutOption(loop, timeout.value), Option.getOrElse(() => []))
  }

  /** The ready sockets now (up to `max`), starting after where the last look stopped. */
  private collect(max: number): ReadonlyArray<PollEvent<S>> {
    const entries = [...this.entries.values()]
    const ready: Array<PollEvent<S>> = []
    const count = entries.length
    for (let i = 0; i < count && ready.length < max; i++) {
      const entry = entries[(this.start + i) % count]
      if (entry === undefined) continue
      const mask = entry.socket.pollSource.mask() & entry.interest
      if (entry.edge) {
        const rising = mask & ~entry.seen
        entry.seen = mask
        if (rising === 0) continue
      } else if (mask === 0) continue
      ready.push({ socket: entry.socket, events: readinessOf(mask) })
    }
    if (count > 0) this.start = (this.start + 1) % count
    return ready
  }

  /** Ends when any socket's watched state may have changed, or the set did. */
  private changes(): Effect.Effect<void> {
    return Effect.suspend(() => {
      Latch.closeUnsafe(this.membership)
      const waits: Array<Effect.Effect<void>> = [awaitLatch(this.membership)]
      for (const entry of this.entries.values()) waits.push(entry.socket.pollSource.changed(entry.interest))
      return Effect.raceAll(waits)
    })
  }
}
