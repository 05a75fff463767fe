/**
 * Typed errors of the buffers package. Every operation that would break a
 * buffer's invariants returns one of these (and changes nothing) instead of
 * throwing.
 */
import { Schema } from "effect"

/** `push` asked for more bytes than the headroom holds. */
export class HeadroomExceeded extends Schema.TaggedError<HeadroomExceeded>()("HeadroomExceeded", {
  requested: Schema.Number,
  available: Schema.Number
}) {}

/** `put` or `reserve` asked for more bytes than the tailroom holds. */
export class TailroomExceeded extends Schema.TaggedError<TailroomExceeded>()("TailroomExceeded", {
  requested: Schema.Number,
  available: Schema.Number
}) {}

/** `pull`, `trim` or a copy-out asked for bytes past the end of the packet data. */
export class LengthExceeded extends Schema.TaggedError<LengthExceeded>()("LengthExceeded", {
  requested: Schema.Number,
  available: Schema.Number
}) {}

/** A byte count or offset that is negative, fractional or not finite. */
export class InvalidLength extends Schema.TaggedError<InvalidLength>()("InvalidLength", {
  value: Schema.Number
}) {}

/** A write outside the linear data, `[data, tail)`, of the buffer. */
export class OutOfRange extends Schema.TaggedError<OutOfRange>()("OutOfRange", {
  offset: Schema.Number,
  length: Schema.Number,
  available: Schema.Number
}) {}

/** `reserve` on a buffer that already holds data (as `skb_reserve`, it is for empty buffers only). */
export class NotEmpty extends Schema.TaggedError<NotEmpty>()("NotEmpty", {
  length: Schema.Number
}) {}

/** `put` on a buffer with fragments: appending to the linear part would reorder the data. */
export class NonLinear extends Schema.TaggedError<NonLinear>()("NonLinear", {
  fragments: Schema.Number
}) {}

/** More fragments than `MAX_FRAGMENTS` (the kernel's `MAX_SKB_FRAGS`). */
export class TooManyFragments extends Schema.TaggedError<TooManyFragments>()("TooManyFragments", {
  limit: Schema.Number
}) {}

/** An operation on a buffer after it was released. */
export class BufferReleased extends Schema.TaggedError<BufferReleased>()("BufferReleased", {}) {}

/** A buffer or storage released a second time; the pool counts it and stays intact. */
export class DoubleRelease extends Schema.TaggedError<DoubleRelease>()("DoubleRelease", {}) {}

/** A pool with no free buffer. */
export class PoolExhausted extends Schema.TaggedError<PoolExhausted>()("PoolExhausted", {
  capacity: Schema.Number
}) {}

/** A checksum state that the requested operation cannot use. */
export class ChecksumStateMismatch extends Schema.TaggedError<ChecksumStateMismatch>()("ChecksumStateMismatch", {
  expected: Schema.String,
  actual: Schema.String
}) {}

/** Any error a `PacketBuffer` operation can return. */
export type PacketBufferError =
  | HeadroomExceeded
  | TailroomExceeded
  | LengthExceeded
  | InvalidLength
  | OutOfRange
  | NotEmpty
  | NonLinear
  | TooManyFragments
  | BufferReleased
