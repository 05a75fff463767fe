/**
 * Socket options (setsockopt(2)): the buffer sizes (SO_SNDBUF, SO_RCVBUF),
 * TCP_NODELAY, SO_KEEPALIVE, SO_REUSEADDR, SO_LINGER and IP_TTL, checked by
 * a Schema at the call (EINVAL for a value out of range, as Linux refuses
 * it). Each socket kind applies the ones that mean something to it.
 */
import { Duration, Option, Result, Schema } from "effect"
import { type ErrorContext, type NetstackSocketError, socketError } from "./errors.ts"

/** Options every socket kind accepts (those that do not apply to a kind are refused with ENOPROTOOPT). */
export interface SocketOptions {
  /** SO_SNDBUF: bytes the send buffer holds; a write waits while it is full. */
  readonly sendBuffer?: number | undefined
  /** SO_RCVBUF: bytes the receive buffer (TCP: and so the window offered; UDP/raw/packet: the queue) holds. */
  readonly receiveBuffer?: number | undefined
  /** TCP_NODELAY: no Nagle (RFC 896, RFC 1122 §4.2.3.4): small segments go at once. */
  readonly noDelay?: boolean | undefined
  /** SO_KEEPALIVE (RFC 1122 §4.2.3.6): probe an idle connection; no answer ends it with ETIMEDOUT. */
  readonly keepalive?: boolean | undefined
  /** SO_REUSEADDR: bind a port that another socket holds in a way that allows sharing (listen, UDP bind). */
  readonly reuseAddress?: boolean | undefined
  /**
   * SO_LINGER: how `close` ends a TCP connection. Absent: close returns at
   * once and the FIN exchange finishes in the background; zero: abortive
   * close (RST, RFC 9293 §3.10.5); a duration: close waits up to it for the
   * FIN to be acknowledged.
   */
  readonly linger?: Duration.Input | undefined
  /** IP_TTL: time to live of sent datagrams (1..255). */
  readonly ttl?: number | undefined
}

/** Byte counts: 1 .. 2^31 - 1 (Linux keeps socket buffer sizes in an int). */
const Bytes = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 0x7fffffff }))

/** Schema of the options other than `linger` (a `Duration.Input`, checked apart). */
export const SocketOptionsSchema = Schema.Struct({
  sendBuffer: Schema.optional(Bytes),
  receiveBuffer: Schema.optional(Bytes),
  noDelay: Schema.optional(Schema.Boolean),
  keepalive: Schema.optional(Schema.Boolean),
  reuseAddress: Schema.optional(Schema.Boolean),
  ttl: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 255 })))
})

/** The option names. */
export type SocketOptionName = keyof SocketOptions

/**
 * `options` checked: the linger time in milliseconds (undefined when off),
 * or EINVAL naming the bad field.
 */
export const checkOptions = (
  options: SocketOptions,
  context: ErrorContext
): { readonly lingerMillis: number | undefined } | NetstackSocketError => {
  const { linger, ...rest } = options
  const decoded = Schema.decodeUnknownResult(SocketOptionsSchema)(rest)
  if (Result.isFailure(decoded)) return socketError("invalid-argument", { ...context, detail: decoded.failure.message })
  if (linger === undefined) return { lingerMillis: undefined }
  const duration = Duration.fromInput(linger)
  if (Option.isNone(duration) || !Duration.isFinite(duration.value) || Duration.toMillis(duration.value) < 0) {
    return socketError("invalid-argument", { ...context, detail: "linger: a finite, non-negative duration" })
  }
  return { lingerMillis: Duration.toMillis(duration.value) }
}

/** Checks that only `allowed` options are set: ENOPROTOOPT names the first that is not (Linux `setsockopt` for an option of another level). */
export const refuseOptions = (
  options: SocketOptions,
  allowed: ReadonlyArray<SocketOptionName>,
  context: ErrorContext
): NetstackSocketError | undefined => {
  for (const key of Object.keys(options) as Array<SocketOptionName>) {
    if (options[key] !== undefined && !allowed.includes(key)) {
      return socketError("protocol-unavailable", { ...context, detail: `${key} does not apply to this socket` })
    }
  }
  return undefined
}
