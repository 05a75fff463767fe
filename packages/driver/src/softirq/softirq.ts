/**
 * The NET_RX softirq of one simulated CPU (the kernel's `net_rx_action`): a
 * poll list of NAPI instances with work, served round by round. Each round
 * has a budget (`netdev_budget`, 300 packets); each NAPI instance may use up
 * to its weight (64) per turn; one that used its whole weight goes to the
 * back of the list, one that finished early leaves it and re-enables its
 * interrupt. A round that runs out of budget yields to every other fiber
 * before the next (what ksoftirqd gives: fairness, and no receive livelock).
 *
 * `costPerPacket` charges virtual CPU time for each packet processed, so
 * tests under `TestClock` can offer more load than the CPU can take.
 */
import { Context, Duration, Effect, Latch, Layer, type Scope } from "effect"

/** A NAPI instance as the softirq sees it. */
export interface Pollable {
  /** e.g. `eth0-rx-0`. */
  readonly name: string
  /** Processes up to `budget` packets; returns how many it processed. */
  readonly poll: (budget: number) => number
  /** Called when `poll` did less than asked: leave polling mode (re-enable the interrupt). */
  readonly complete: () => void
}

/** Softirq settings. */
export interface SoftirqOptions {
  /** Packets per round across all instances (`net.core.netdev_budget`); default 300. */
  readonly budget?: number
  /** Packets per instance per turn (NAPI weight, `dev_weight`); default 64. */
  readonly weight?: number
  /** Virtual CPU time per packet processed (µs); default 0 (free). */
  readonly costPerPacketMicros?: number
  /**
   * Wraps each NAPI poll (synchronous work): the host passes its timer
   * queue's `batch`, so the layers above read the clock once per poll.
   */
  readonly aroundPoll?: (poll: () => number) => number
}

/** Counters, as `/proc/net/softnet_stat` has them. */
export class SoftnetStats {
  /** Packets processed by NAPI polls. */
  processed = 0
  /** Rounds that ended with work left because the budget ran out. */
  timeSqueeze = 0
  /** NAPI polls run. */
  polls = 0
  /** Rounds run. */
  rounds = 0
}

/** The softirq: schedule NAPI instances into it. */
export interface SoftirqShape {
  /** Adds `napi` to the poll list (it must not be on it already). */
  readonly schedule: (napi: Pollable) => void
  readonly stats: SoftnetStats
  readonly weight: number
}

const makeSoftirq = (options: SoftirqOptions = {}): Effect.Effect<SoftirqShape, never, Scope.Scope> =>
  Effect.gen(function*() {
    const budget = options.budget ?? 300
    const weight = options.weight ?? 64
    const cost = options.costPerPacketMicros ?? 0
    const aroundPoll = options.aroundPoll
    const stats = new SoftnetStats()
    const list: Array<Pollable> = []
    const raised = Latch.makeUnsafe(false)

    const round = Effect.gen(function*() {
      stats.rounds++
      let left = budget
      while (list.length > 0) {
        const napi = list.shift()
        if (napi === undefined) break
        const quota = Math.min(weight, left)
        const work = aroundPoll === undefined ? napi.poll(quota) : aroundPoll(() => napi.poll(quota))
        stats.polls++
        stats.processed += work
        left -= work
        if (cost > 0 && work > 0) yield* Effect.sleep(Duration.millis((work * cost) / 1000))
        // napi_poll: an instance that used its whole quota may have more; it stays on the list.
        if (work < quota) napi.complete()
        else list.push(napi)
        if (left <= 0) {
          if (list.length > 0) stats.timeSqueeze++
          break
        }
      }
    })

    yield* Effect.forkScoped(
      Effect.forever(
        Effect.gen(function*() {
          yield* Latch.await(raised)
          yield* round
          if (list.length === 0) Latch.closeUnsafe(raised)
          yield* Effect.yieldNow
        }),
        // The round ends with its own yield: Effect.forever's yield after each turn would be a second one.
        { disableYield: true }
      )
    )

    return {
      schedule: (napi) => {
        list.push(napi)
        Latch.openUnsafe(raised)
      },
      stats,
      weight
    }
  })

/** The NET_RX softirq of a simulated CPU, shared by the devices of a host. */
export class Softirq extends Context.Service<Softirq, SoftirqShape>()("@netstack/driver/Softirq") {
  /** A softirq with its fiber in the current scope. */
  static readonly make = makeSoftirq
  /** A layer providing a softirq. */
  static readonly layer = (options: SoftirqOptions = {}) => Layer.effect(Softirq, makeSoftirq(options))
}
