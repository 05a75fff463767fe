/**
 * One impaired one-way path of a medium (a wire direction, a hub link): the
 * per-frame decisions, taken synchronously at `send` with the medium's
 * `Random`, in this order: partition, loss, duplication (one extra copy);
 * then for each copy the rate limiter's queue, corruption, delay with jitter,
 * and reordering. A copy due now, with nothing queued ahead of it, is handed
 * to the receiver at once; every other copy waits in the destination's
 * {@link DeliveryScheduler}.
 *
 * Offload metadata travels with every copy, except a corrupted one: before
 * the bit flip the path completes a partial checksum in the copy and drops
 * the metadata, so the receiver verifies that copy in full and catches the
 * damage (trusting `NEEDS_CSUM` or `DATA_VALID` on a damaged frame would
 * hide it, as a real link's damage is never marked valid).
 */
import type { PacketBuffer } from "@netstack/buffers"
import type { Clock, Random } from "effect"
import { nowMicros } from "../time.ts"
import { Counters, type MediumCounters } from "./counters.ts"
import type { DeliveryScheduler, Landing } from "./delivery-scheduler.ts"
import { type Impairments, resolveImpairments, type ResolvedImpairments } from "./impairments.ts"
import { completeChecksum, type FrameOffload, needsChecksum } from "./offload.ts"
import type { FrameRelease, ReceiverSlot } from "./port.ts"

/** What a path needs from the medium it belongs to. */
export interface PathEnvironment {
  readonly clock: Clock.Clock
  readonly random: Random.Random
  /** The destination port's scheduler. */
  readonly scheduler: DeliveryScheduler
  /** The destination port's receiver. */
  readonly slot: ReceiverSlot
  /** True while a partition separates the two ends. */
  readonly blocked: () => boolean
}

/**
 * Returns a copy of `frame` with bit `bit` (0 = most significant bit of byte 0)
 * flipped; a partial checksum (`offload`) is completed in the copy first.
 */
export const flipBit = (frame: Uint8Array, bit: number, offload?: FrameOffload): Uint8Array => {
  const copy = frame.slice()
  if (needsChecksum(offload)) completeChecksum(copy, offload.csumStart, offload.csumOffset)
  const byte = bit >>> 3
  copy[byte] = (copy[byte] ?? 0) ^ (0x80 >>> (bit & 7))
  return copy
}

/** One direction of a medium with its impairments and counters. */
export class ImpairedPath implements Landing {
  private readonly stats = new Counters()
  private readonly env: PathEnvironment
  private plan: ResolvedImpairments
  /** Microseconds at which the last accepted frame finishes serializing (rate limit). */
  private lastDeparture = -Infinity
  /** Serialization start times still in the future: the frames waiting in the rate limiter's queue. */
  private readonly waitingStarts: Array<number> = []
  private waitingHead = 0

  /** A path with `impairments` (already validated). */
  constructor(env: PathEnvironment, impairments: Impairments) {
    this.env = env
    this.plan = resolveImpairments(impairments)
  }

  /** Replaces the impairments (already validated); frames already scheduled keep their times. */
  setImpairments(impairments: Impairments): void {
    this.plan = resolveImpairments(impairments)
  }

  /** A snapshot of the counters. */
  counters(): MediumCounters {
    return this.stats.snapshot()
  }

  /**
   * Takes one frame (and its metadata) from the sending port; `release` goes
   * back to the sender once the path is done with `frame`.
   */
  send(frame: Uint8Array, release?: FrameRelease, offload?: FrameOffload): void {
    const c = this.stats
    const p = this.plan
    const random = this.env.random
    c.sent++
    if (this.env.blocked()) {
      c.partitionDropped++
      return release?.(frame)
    }
    if (p.loss > 0 && random.nextDoubleUnsafe() < p.loss) {
      c.lost++
      return release?.(frame)
    }
    const now = nowMicros(this.env.clock)
    if (p.duplicate > 0 && random.nextDoubleUnsafe() < p.duplicate) {
      c.duplicated++
      const copy = frame.slice()
      this.forward(frame, now, release, offload)
      this.forward(copy, now, undefined, offload)
    } else {
      this.forward(frame, now, release, offload)
    }
  }

  /**
   * Hands `packet` itself to the receiver (see `MediumPort.handOver`) when
   * the path would deliver it at once and unchanged: no impairment at all,
   * no partition, nothing queued ahead of it, a receiver that takes packets.
   * Counted as sent and delivered. False otherwise, changing nothing.
   */
  handOver(packet: PacketBuffer, offload?: FrameOffload): boolean {
    const slot = this.env.slot
    if (!this.plan.untouched || this.env.blocked() || !this.env.scheduler.isEmpty || !slot.takesPacket(offload)) return false
    this.stats.sent++
    this.stats.delivered++
    slot.handOver(packet, offload)
    return true
  }

  /** Rate limit, corruption, delay, reordering, then hand over or schedule one copy. */
  private forward(
    frame: Uint8Array,
    now: number,
    release: FrameRelease | undefined,
    offload: FrameOffload | undefined
  ): void {
    const c = this.stats
    const p = this.plan
    const random = this.env.random
    let departure = now
    if (p.rate > 0) {
      const waiting = this.waitingStarts
      while (this.waitingHead < waiting.length && (waiting[this.waitingHead] ?? Infinity) <= now) this.waitingHead++
      if (this.waitingHead > 64 && this.waitingHead * 2 > waiting.length) {
        waiting.splice(0, this.waitingHead)
        this.waitingHead = 0
      }
      const start = Math.max(now, this.lastDeparture)
      if (start > now) {
        if (waiting.length - this.waitingHead >= p.queueLimit) {
          c.rateDropped++
          return release?.(frame)
        }
        waiting.push(start)
      }
      departure = start + (frame.length * 8 * 1e6) / p.rate
      this.lastDeparture = departure
    }
    let out = frame
    let outRelease = release
    let outOffload = offload
    if (p.corrupt > 0 && frame.length > 0 && random.nextDoubleUnsafe() < p.corrupt) {
      const bits = frame.length * 8
      out = flipBit(frame, Math.min(bits - 1, Math.floor(random.nextDoubleUnsafe() * bits)), offload)
      outOffload = undefined
      c.corrupted++
      release?.(frame) // what travels on is a corrupted copy; the original is done with
      outRelease = undefined
    }
    let delay = p.delayMicros
    if (p.jitterMicros > 0) delay = Math.max(0, delay + (2 * random.nextDoubleUnsafe() - 1) * p.jitterMicros)
    if (p.reorder > 0 && random.nextDoubleUnsafe() < p.reorder) {
      delay += p.reorderDelayMicros
      c.reordered++
    }
    const due = departure + delay
    const scheduler = this.env.scheduler
    if (due <= now && !scheduler.hasDueBy(now)) {
      this.hand(out, outOffload, outRelease)
    } else {
      c.inFlight++
      scheduler.schedule(due, out, this, outRelease, outOffload)
    }
  }

  /** A scheduled copy is due. */
  land(frame: Uint8Array, release: FrameRelease | undefined, offload: FrameOffload | undefined): void {
    const c = this.stats
    c.inFlight--
    if (!this.env.blocked()) return this.hand(frame, offload, release)
    c.partitionDropped++
    release?.(frame)
  }

  /**
   * Hands a copy to the receiver (counted before the receiver runs, so a
   * receiver sees balanced counters), with the sender's `release`, which the
   * slot calls once the receiver is done with the frame.
   */
  private hand(frame: Uint8Array, offload: FrameOffload | undefined, release: FrameRelease | undefined): void {
    const slot = this.env.slot
    if (slot.attached) this.stats.delivered++
    else this.stats.unattachedDropped++
    slot.deliver(frame, offload, release)
  }
}
