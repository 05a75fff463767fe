/**
 * Header defects: why a view refused a packet. A defect is a preallocated,
 * immutable value naming the header and the reason (`ipv4.bad-checksum`), so
 * refusing a packet allocates nothing and a flood of bad input costs no more
 * than good input. The name is the counter the drop is recorded under.
 *
 * `MalformedHeader` is the same information as a typed, yieldable error for
 * Effect code off the hot path.
 */
import { Schema } from "effect"

/** Why `header` was refused. `name` is `${header}.${reason}`. */
export interface HeaderDefect<H extends string = string, R extends string = string> {
  readonly _tag: "HeaderDefect"
  readonly header: H
  readonly reason: R
  readonly name: `${H}.${R}`
}

/** The defects of one header, one frozen value per reason. */
export const headerDefects = <const H extends string, const R extends string>(
  header: H,
  reasons: ReadonlyArray<R>
): { readonly [K in R]: HeaderDefect<H, K> } => {
  const out: Record<string, HeaderDefect<H, R>> = {}
  for (const reason of reasons) {
    out[reason] = Object.freeze({ _tag: "HeaderDefect", header, reason, name: `${header}.${reason}` as const })
  }
  return out as { readonly [K in R]: HeaderDefect<H, K> }
}

/** True for a `HeaderDefect`. */
export const isHeaderDefect = (u: unknown): u is HeaderDefect =>
  typeof u === "object" && u !== null && "_tag" in u && u._tag === "HeaderDefect"

/** A malformed header as a typed error, for Effect code: which header, why, and where. */
export class MalformedHeader extends Schema.TaggedError<MalformedHeader>()("MalformedHeader", {
  header: Schema.String,
  reason: Schema.String,
  /** Offset of the header from the start of the frame. */
  offset: Schema.Number
}) {
  /** The error for `defect` found at `offset`. */
  static fromDefect(defect: HeaderDefect, offset: number): MalformedHeader {
    return new MalformedHeader({ header: defect.header, reason: defect.reason, offset })
  }
  override get message(): string {
    return `${this.header}.${this.reason} at offset ${this.offset}`
  }
}
