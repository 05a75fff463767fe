/**
 * Impairments of one direction of a medium, in the manner of Linux `netem`
 * (`tc qdisc add dev veth0 root netem delay 10ms 2ms loss 1% rate 1mbit`):
 * delay and jitter, loss, duplication, corruption, reordering, and a rate
 * limit with a bounded queue. Validated by a Schema; resolved once into plain
 * numbers (microseconds, probabilities) so the per-frame path does no work
 * beyond arithmetic.
 */
import { Duration, Result, Schema } from "effect"
import { toMicros } from "../time.ts"

/** A finite duration of zero or more. */
const NonNegativeDuration = Schema.Duration.check(
  Schema.makeFilter((d: Duration.Duration) =>
    (Duration.isFinite(d) && Duration.toMillis(d) >= 0) || "a finite, non-negative duration"
  )
)

/** A probability, 0..1. */
const Probability = Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 }))

/** Schema of {@link Impairments}: every field optional, each checked for its range. */
export const ImpairmentsSchema = Schema.Struct({
  /** Fixed one-way delay added to every frame. */
  delay: Schema.optional(NonNegativeDuration),
  /** Each frame's delay varies uniformly within ±jitter (clamped so the total delay is never negative). */
  jitter: Schema.optional(NonNegativeDuration),
  /** Probability that a frame is dropped. */
  loss: Schema.optional(Probability),
  /** Probability that a frame is delivered twice. */
  duplicate: Schema.optional(Probability),
  /** Probability that a delivered copy has one random bit flipped. */
  corrupt: Schema.optional(Probability),
  /** Probability that a frame is held back by `reorderDelay`, so later frames overtake it. */
  reorder: Schema.optional(Probability),
  /** How long a reordered frame is held back; default 2 × `delay`, or 1 ms without delay. */
  reorderDelay: Schema.optional(NonNegativeDuration),
  /** Link rate in bits per second: frames are serialized back to back at this rate. No limit when absent. */
  rate: Schema.optional(Schema.Number.check(Schema.isFinite(), Schema.isGreaterThan(0))),
  /** Frames that may wait to be serialized (with `rate`); beyond it frames are dropped. Default {@link DEFAULT_QUEUE_LIMIT}. */
  queueLimit: Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)))
})

/** Impairments of one direction of a medium; all optional, nothing set means a perfect link. */
export type Impairments = typeof ImpairmentsSchema.Type

/** No impairment: frames are handed over at once, unchanged. */
export const NO_IMPAIRMENTS: Impairments = {}

/** Default `queueLimit` with a rate limit: Linux's default `txqueuelen`. */
export const DEFAULT_QUEUE_LIMIT = 1000

/** Default `reorderDelay` when there is no `delay` to double, in microseconds. */
const DEFAULT_REORDER_DELAY_MICROS = 1000

/** Impairment settings out of range; `message` names the offending field. */
export class InvalidImpairments extends Schema.TaggedError<InvalidImpairments>()("InvalidImpairments", {
  message: Schema.String
}) {}

/** `input` checked against {@link ImpairmentsSchema}, or the error naming the offending field. */
export const validateImpairments = (input: Impairments): Impairments | InvalidImpairments => {
  const result = Schema.decodeUnknownResult(ImpairmentsSchema)(input)
  return Result.isSuccess(result) ? result.success : new InvalidImpairments({ message: result.failure.message })
}

/** Impairments resolved to plain numbers for the per-frame path. */
export interface ResolvedImpairments {
  readonly delayMicros: number
  readonly jitterMicros: number
  readonly loss: number
  readonly duplicate: number
  readonly corrupt: number
  readonly reorder: number
  readonly reorderDelayMicros: number
  /** Bits per second; 0: no rate limit. */
  readonly rate: number
  readonly queueLimit: number
  /** True when nothing can delay a frame: delivery may be synchronous. */
  readonly immediate: boolean
  /** True when nothing can delay, drop, duplicate or change a frame: no impairment at all. */
  readonly untouched: boolean
}

/** Resolves validated impairments (see `validateImpairments`) to numbers. */
export const resolveImpairments = (i: Impairments): ResolvedImpairments => {
  const delayMicros = i.delay === undefined ? 0 : toMicros(i.delay)
  const jitterMicros = i.jitter === undefined ? 0 : toMicros(i.jitter)
  const reorder = i.reorder ?? 0
  const rate = i.rate ?? 0
  return {
    delayMicros,
    jitterMicros,
    loss: i.loss ?? 0,
    duplicate: i.duplicate ?? 0,
    corrupt: i.corrupt ?? 0,
    reorder,
    reorderDelayMicros: i.reorderDelay !== undefined
      ? toMicros(i.reorderDelay)
      : delayMicros > 0
      ? 2 * delayMicros
      : DEFAULT_REORDER_DELAY_MICROS,
    rate,
    queueLimit: i.queueLimit ?? DEFAULT_QUEUE_LIMIT,
    immediate: delayMicros === 0 && jitterMicros === 0 && reorder === 0 && rate === 0,
    untouched: delayMicros === 0 && jitterMicros === 0 && reorder === 0 && rate === 0 && (i.loss ?? 0) === 0 &&
      (i.duplicate ?? 0) === 0 && (i.corrupt ?? 0) === 0
  }
}
