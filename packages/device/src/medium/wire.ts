/**
 * A wire joining two ports, like a veth pair: what port `a` sends arrives at
 * port `b` and the other way round. Each direction has its own impairments
 * and counters; a partition cuts both directions until healed. Without
 * delay, rate limit or reordering a frame is handed to the peer's receiver
 * inside `send` (veth's direct hand-off); otherwise a scheduler fiber per
 * direction, forked into the caller's scope, delivers it when it is due.
 * Time comes from the `Clock` and randomness from the `Random` in the context
 * of `Wire.make`, so a wire is deterministic under `TestClock` and
 * `Random.withSeed`.
 *
 * Like veth, a wire carries offload metadata (partial or verified checksums)
 * to a far end that takes it, so neither NIC sums the frame, and a direction
 * without impairments hands a sent packet itself to the far end's NIC, as
 * veth hands the skb over (`MediumPort.handOver`): no copy on either side.
 */
import { Clock, Effect, Random, type Scope } from "effect"
import type { MediumCounters } from "./counters.ts"
import { DeliveryScheduler } from "./delivery-scheduler.ts"
import { ImpairedPath } from "./impaired-path.ts"
import { type Impairments, InvalidImpairments, NO_IMPAIRMENTS, validateImpairments } from "./impairments.ts"
import { type MediumPort, ReceiverSlot } from "./port.ts"

/** A direction of a wire: from port `a` to port `b`, or back. */
export type WireDirection = "aToB" | "bToA"

/** How to build a wire: `impairments` for both directions, `aToB`/`bToA` override it field by field for one. */
export interface WireOptions {
  readonly impairments?: Impairments | undefined
  readonly aToB?: Impairments | undefined
  readonly bToA?: Impairments | undefined
}

/** Two ports joined by an impairable link. */
export interface Wire {
  /** One end. */
  readonly a: MediumPort
  /** The other end. */
  readonly b: MediumPort
  /** Cuts the wire: every frame, either way, is dropped (also those in flight when they come due). */
  readonly partition: () => void
  /** Reconnects a partitioned wire. */
  readonly heal: () => void
  /** Whether the wire is partitioned. */
  readonly partitioned: () => boolean
  /** Replaces one direction's impairments (or both); out of range: `InvalidImpairments` and nothing changes. */
  readonly setImpairments: (direction: WireDirection | "both", impairments: Impairments) => InvalidImpairments | undefined
  /** A snapshot of one direction's counters. */
  readonly counters: (direction: WireDirection) => MediumCounters
}

/** Builds {@link Wire}s. */
export const Wire = {
  /** A wire whose scheduler fibers live in the current scope; fails with `InvalidImpairments` if one is out of range. */
  make: Effect.fn("Wire.make")(function*(
    options: WireOptions = {}
  ): Effect.fn.Return<Wire, InvalidImpairments, Scope.Scope> {
    const shared = options.impairments ?? NO_IMPAIRMENTS
    const forward = validateImpairments({ ...shared, ...options.aToB })
    if (forward instanceof InvalidImpairments) return yield* forward
    const backward = validateImpairments({ ...shared, ...options.bToA })
    if (backward instanceof InvalidImpairments) return yield* backward
    const clock = yield* Clock.Clock
    const random = yield* Random.Random
    let cut = false
    const blocked = () => cut
    const slotA = new ReceiverSlot()
    const slotB = new ReceiverSlot()
    const atA = new DeliveryScheduler(clock)
    const atB = new DeliveryScheduler(clock)
    const aToB = new ImpairedPath({ clock, random, scheduler: atB, slot: slotB, blocked }, forward)
    const bToA = new ImpairedPath({ clock, random, scheduler: atA, slot: slotA, blocked }, backward)
    yield* Effect.forkScoped(atA.run())
    yield* Effect.forkScoped(atB.run())
    const paths = { aToB, bToA }
    return {
      a: {
        send: (frame, release, offload) => aToB.send(frame, release, offload),
        handOver: (packet, offload) => aToB.handOver(packet, offload),
        attach: (receiver, accepts, zeroCopy) => slotA.attach(receiver, accepts, zeroCopy),
        offloadSupport: slotB.offloadSupport
      },
      b: {
        send: (frame, release, offload) => bToA.send(frame, release, offload),
        handOver: (packet, offload) => bToA.handOver(packet, offload),
        attach: (receiver, accepts, zeroCopy) => slotB.attach(receiver, accepts, zeroCopy),
        offloadSupport: slotA.offloadSupport
      },
      partition: () => {
        cut = true
      },
      heal: () => {
        cut = false
      },
      partitioned: () => cut,
      setImpairments: (direction, impairments) => {
        const valid = validateImpairments(impairments)
        if (valid instanceof InvalidImpairments) return valid
        if (direction === "both") {
          aToB.setImpairments(valid)
          bToA.setImpairments(valid)
        } else {
          paths[direction].setImpairments(valid)
        }
        return undefined
      },
      counters: (direction) => paths[direction].counters()
    }
  })
}
