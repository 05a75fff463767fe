/**
 * What opening or running a TAP device can fail with, as typed errors.
 */
import { Schema } from "effect"

/** The TAP addon is not there: not built at install time (no headers, no compiler), not Linux, or a load error. */
export class TapUnavailable extends Schema.TaggedError<TapUnavailable>()("TapUnavailable", {
  reason: Schema.String
}) {}

/** Linux refused for lack of privilege (`EPERM`/`EACCES`: creating a TAP needs `CAP_NET_ADMIN`). */
export class TapPermissionDenied extends Schema.TaggedError<TapPermissionDenied>()("TapPermissionDenied", {
  device: Schema.String,
  operation: Schema.String,
  message: Schema.String
}) {}

/** Any other failure of a TAP system call: `code` is the errno name (`EBUSY`, `ENOENT`, …). */
export class TapError extends Schema.TaggedError<TapError>()("TapError", {
  device: Schema.String,
  operation: Schema.String,
  code: Schema.String,
  message: Schema.String
}) {}

/** Everything `TapDevice.open` can fail with. */
export type TapOpenError = TapUnavailable | TapPermissionDenied | TapError

/** The typed error for an exception the addon threw while doing `operation` on `device`. */
export const tapErrorFrom = (device: string, operation: string, error: unknown): TapPermissionDenied | TapError => {
  const code = typeof error === "object" && error !== null && "code" in error && typeof error.code === "string"
    ? error.code
    : "EUNKNOWN"
  const message = error instanceof Error ? error.message : String(error)
  return code === "EPERM" || code === "EACCES"
    ? new TapPermissionDenied({ device, operation, message })
    : new TapError({ device, operation, code, message })
}
