/**
 * A hub joining any number of ports: a frame sent on one port reaches every
 * other port. Each (from, to) pair is its own impaired link, with the wire's
 * model (its own loss, duplication, corruption, delay, reordering, rate
 * queue and counters), so each delivery is decided independently; frames
 * arriving at a port from every link are delivered in due order by one
 * scheduler fiber per port. A partition isolates a subset of the ports from
 * the rest until healed.
 */
import { Clock, Effect, Random, type Scope } from "effect"
import { type MediumCounters, sumCounters } from "./counters.ts"
import { DeliveryScheduler } from "./delivery-scheduler.ts"
import { ImpairedPath } from "./impaired-path.ts"
import { type Impairments, InvalidImpairments, NO_IMPAIRMENTS, validateImpairments } from "./impairments.ts"
import { CHECKSUM_OFFLOAD_SUPPORT, NO_OFFLOAD_SUPPORT } from "./offload.ts"
import { type MediumPort, ReceiverSlot } from "./port.ts"

/** How to build a hub: the number of ports and the impairments of every link. */
export interface HubOptions {
  readonly ports: number
  readonly impairments?: Impairments | undefined
}

/** Selects links by their ends; an absent end matches every port. */
export interface HubLinks {
  readonly from?: number | undefined
  readonly to?: number | undefined
}

/** Ports joined so that each frame reaches every other port. */
export interface Hub {
  /** The ports, indexed from 0. */
  readonly ports: ReadonlyArray<MediumPort>
  /** Isolates `portIndexes` from the other ports (replacing any earlier partition): frames between the two groups are dropped. */
  readonly partition: (portIndexes: Iterable<number>) => void
  /** Ends the partition. */
  readonly heal: () => void
  /** Replaces the impairments of the selected links (all by default); out of range: `InvalidImpairments` and nothing changes. */
  readonly setImpairments: (impairments: Impairments, links?: HubLinks) => InvalidImpairments | undefined
  /** Counters summed over the selected links (all by default): `{ from: 0, to: 2 }` is one link. */
  readonly counters: (links?: HubLinks) => MediumCounters
}

/** Builds {@link Hub}s. */
export const Hub = {
  /** A hub whose scheduler fibers live in the current scope; fails with `InvalidImpairments` for bad settings or a port count that is not a positive integer. */
  make: Effect.fn("Hub.make")(function*(options: HubOptions): Effect.fn.Return<Hub, InvalidImpairments, Scope.Scope> {
    const n = options.ports
    if (!Number.isInteger(n) || n < 1) {
      return yield* new InvalidImpairments({ message: `a hub needs a positive whole number of ports, got ${n}` })
    }
    const impairments = validateImpairments(options.impairments ?? NO_IMPAIRMENTS)
    if (impairments instanceof InvalidImpairments) return yield* impairments
    const clock = yield* Clock.Clock
    const random = yield* Random.Random
    let isolated: ReadonlySet<number> | undefined = undefined
    const slots = Array.from({ length: n }, () => new ReceiverSlot())
    const schedulers = Array.from({ length: n }, () => new DeliveryScheduler(clock))
    /** links[from][to]; undefined on the diagonal. */
    const links: Array<Array<ImpairedPath | undefined>> = []
    for (let from = 0; from < n; from++) {
      const row: Array<ImpairedPath | undefined> = []
      for (let to = 0; to < n; to++) {
        const scheduler = schedulers[to]
        const slot = slots[to]
        if (from === to || scheduler === undefined || slot === undefined) {
          row.push(undefined)
          continue
        }
        const blocked = () => isolated !== undefined && isolated.has(from) !== isolated.has(to)
        row.push(new ImpairedPath({ clock, random, scheduler, slot, blocked }, impairments))
      }
      links.push(row)
    }
    for (const scheduler of schedulers) yield* Effect.forkScoped(scheduler.run())

    const selected = (sel: HubLinks = {}): Array<ImpairedPath> =>
      links.flatMap((row, from) =>
        sel.from !== undefined && sel.from !== from
          ? []
          : row.flatMap((link, to) => link === undefined || (sel.to !== undefined && sel.to !== to) ? [] : [link])
      )

    const ports = links.map((row, from): MediumPort => {
      const outgoing = row.filter((link): link is ImpairedPath => link !== undefined)
      const slot = slots[from] ?? new ReceiverSlot()
      const others = slots.filter((_, to) => to !== from)
      return {
        send: (frame, release, offload) => {
          // Every receiver gets its own copy, made before any delivery runs; the first link carries the original.
          const copies = outgoing.map((_, k) => k === 0 ? frame : frame.slice())
          for (let k = 0; k < outgoing.length; k++) {
            const link = outgoing[k]
            const copy = copies[k]
            if (link !== undefined && copy !== undefined) link.send(copy, k === 0 ? release : undefined, offload)
          }
          if (outgoing.length === 0) release?.(frame)
        },
        attach: (receiver, accepts, zeroCopy) => slot.attach(receiver, accepts, zeroCopy),
        // Checksum metadata only when every other attached receiver takes it (one frame reaches them all).
        offloadSupport: () =>
          others.every((s) => !s.attached || s.accepts.checksum) ? CHECKSUM_OFFLOAD_SUPPORT : NO_OFFLOAD_SUPPORT
      }
    })

    return {
      ports,
      partition: (portIndexes) => {
        isolated = new Set(portIndexes)
      },
      heal: () => {
        isolated = undefined
      },
      setImpairments: (next, sel) => {
        const valid = validateImpairments(next)
        if (valid instanceof InvalidImpairments) return valid
        for (const link of selected(sel)) link.setImpairments(valid)
        return undefined
      },
      counters: (sel) => sumCounters(selected(sel).map((link) => link.counters()))
    }
  })
}
