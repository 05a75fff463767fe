/**
 * What opening a socket medium (QEMU stream or dgram, passt) can fail with.
 */
import { Schema } from "effect"

/** A socket call failed: `operation` (connect, listen, bind, spawn…) on `address`, `code` the errno name. */
export class MediumSocketError extends Schema.TaggedError<MediumSocketError>()("MediumSocketError", {
  operation: Schema.String,
  address: Schema.String,
  code: Schema.String,
  message: Schema.String
}) {}

/** The typed error for what Node reported while doing `operation` on `address`. */
export const socketErrorFrom = (operation: string, address: string, error: unknown): MediumSocketError => {
  const code = typeof error === "object" && error !== null && "code" in error && typeof error.code === "string"
    ? error.code
    : "EUNKNOWN"
  const message = error instanceof Error ? error.message : String(error)
  return new MediumSocketError({ operation, address, code, message })
}
