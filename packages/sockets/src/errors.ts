/**
 * The one error family of the socket API: `NetstackSocketError`, whose
 * `reason` names what went wrong and whose `errno` is the name Linux's
 * socket calls return for it (`ECONNREFUSED`, …), with the conversions from
 * the transports' own errors (TCP's `TcpError`, UDP's `UdpError`, IPv4's
 * `SendError`).
 *
 * The tag is not `SocketError` so that it never meets `effect/socket`'s
 * `SocketError` in one `catchTag`.
 */
import type { SendError } from "@netstack/l3"
import { fromSendError, type TcpError, type UdpError } from "@netstack/l4"
import { Schema } from "effect"

/** Each reason and the errno Linux reports for it (errno(3) names). */
export const ERRNO = {
  "connection-refused": "ECONNREFUSED",
  "connection-reset": "ECONNRESET",
  "connection-aborted": "ECONNABORTED",
  "timed-out": "ETIMEDOUT",
  "network-unreachable": "ENETUNREACH",
  "network-down": "ENETDOWN",
  "host-unreachable": "EHOSTUNREACH",
  "host-down": "EHOSTDOWN",
  "not-on-network": "ENONET",
  "address-in-use": "EADDRINUSE",
  "address-not-available": "EADDRNOTAVAIL",
  "not-connected": "ENOTCONN",
  "destination-required": "EDESTADDRREQ",
  "broken-pipe": "EPIPE",
  "message-too-big": "EMSGSIZE",
  "no-buffer-space": "ENOBUFS",
  "permission-denied": "EACCES",
  "not-permitted": "EPERM",
  "protocol-unavailable": "ENOPROTOOPT",
  "protocol-not-supported": "EPROTONOSUPPORT",
  "protocol-error": "EPROTO",
  "not-supported": "EOPNOTSUPP",
  "no-device": "ENODEV",
  "already-exists": "EEXIST",
  "not-found": "ENOENT",
  "closed": "EBADF",
  "invalid-argument": "EINVAL"
} as const

/** Why a socket call failed. */
export type SocketErrorReason = keyof typeof ERRNO

/** The errno names. */
export type Errno = (typeof ERRNO)[SocketErrorReason]

const REASONS = Object.keys(ERRNO) as Array<SocketErrorReason>
const ERRNOS = [...new Set(Object.values(ERRNO))] as Array<Errno>

/**
 * A failed socket call: `reason`, the `errno` name Linux reports for it, the
 * call (`connect`, `send`, …), the address involved and what the stack said.
 *
 * @example
 * sockets.connect({ address: "10.0.0.2", port: 81 }).pipe(
 *   Effect.catchTag("NetstackSocketError", (e) => Effect.succeed(e.errno)) // "ECONNREFUSED"
 * )
 */
export class NetstackSocketError extends Schema.TaggedError<NetstackSocketError>()("NetstackSocketError", {
  reason: Schema.Literals(REASONS),
  errno: Schema.Literals(ERRNOS),
  /** The socket call that failed: `connect`, `listen`, `send`, `receive`, … */
  operation: Schema.optional(Schema.String),
  /** The address involved, `a.b.c.d:port` or `a.b.c.d`. */
  address: Schema.optional(Schema.String),
  /** More about it (the transport's own description). */
  detail: Schema.optional(Schema.String)
}) {
  override get message(): string {
    const where = this.address === undefined ? "" : ` ${this.address}`
    const what = this.detail === undefined ? "" : ` (${this.detail})`
    return `${this.operation ?? "socket"} ${this.errno}${where}${what}`
  }
}

/** Where an error happened, for its fields. */
export interface ErrorContext {
  readonly operation?: string | undefined
  readonly address?: string | undefined
  readonly detail?: string | undefined
}

/** The error for `reason`, with its errno filled in. */
export const socketError = (reason: SocketErrorReason, context: ErrorContext = {}): NetstackSocketError =>
  new NetstackSocketError({
    reason,
    errno: ERRNO[reason],
    ...(context.operation === undefined ? {} : { operation: context.operation }),
    ...(context.address === undefined ? {} : { address: context.address }),
    ...(context.detail === undefined ? {} : { detail: context.detail })
  })

/** A TCP error as a socket error (TCP's reasons are a subset: the errno comments in `TcpError`). */
export const fromTcpError = (error: TcpError, context: ErrorContext = {}): NetstackSocketError =>
  socketError(error.reason, { ...context, detail: context.detail ?? error.detail })

/**
 * A UDP error as a socket error. An exhausted ephemeral range is EADDRINUSE,
 * as Linux's `inet_autobind` reports it.
 */
export const fromUdpError = (error: UdpError, context: ErrorContext = {}): NetstackSocketError => {
  const reason: SocketErrorReason = error.reason === "ports-exhausted" ? "address-in-use" : error.reason
  const detail = context.detail ?? error.detail ?? (error.reason === "ports-exhausted" ? "ephemeral ports exhausted" : undefined)
  return socketError(reason, { ...context, address: context.address ?? error.address, detail })
}

/** IPv4's refusal to send a datagram as a socket error (the errno `ip_push_pending_frames`' callers return). */
export const fromIpSendError = (error: SendError, context: ErrorContext = {}): NetstackSocketError =>
  fromUdpError(fromSendError(error), context)
