/**
 * What a UDP socket operation fails with: one tagged error whose `reason`
 * names the errno Linux would return (`errno` gives it), including the
 * errors an ICMP message leaves on a connected socket (Linux `sk_err`,
 * converted by `icmp_err_convert`).
 */
import type { SendError } from "@netstack/l3"
import { Schema } from "effect"

/** Each reason and the errno Linux reports for it. */
const ERRNO = {
  "address-in-use": "EADDRINUSE",
  "address-not-available": "EADDRNOTAVAIL",
  "ports-exhausted": "EADDRINUSE",
  "no-buffer-space": "ENOBUFS",
  "invalid-argument": "EINVAL",
  "destination-required": "EDESTADDRREQ",
  "message-too-big": "EMSGSIZE",
  "network-unreachable": "ENETUNREACH",
  "host-unreachable": "EHOSTUNREACH",
  "permission-denied": "EACCES",
  "not-permitted": "EPERM",
  "connection-refused": "ECONNREFUSED",
  "protocol-unavailable": "ENOPROTOOPT",
  "host-down": "EHOSTDOWN",
  "not-on-network": "ENONET",
  "protocol-error": "EPROTO",
  "not-supported": "EOPNOTSUPP",
  "closed": "EBADF"
} as const

/** Why a UDP operation failed. */
export type UdpErrorReason = keyof typeof ERRNO

const REASONS = Object.keys(ERRNO) as Array<UdpErrorReason>

/** A failed UDP socket operation; `errno` is the Linux error number's name. */
export class UdpError extends Schema.TaggedError<UdpError>()("UdpError", {
  reason: Schema.Literals(REASONS),
  /** The address involved, `a.b.c.d:port` or `a.b.c.d`. */
  address: Schema.optional(Schema.String),
  /** The path MTU, with `message-too-big` when it is known. */
  mtu: Schema.optional(Schema.Number),
  /** More about it (the ICMP type and code of an asynchronous error). */
  detail: Schema.optional(Schema.String)
}) {
  /** The errno Linux reports (`ECONNREFUSED`, …). */
  get errno(): string {
    return ERRNO[this.reason]
  }
}

/** The socket error for an IPv4 `SendError` (the errno `ip_queue_xmit`'s callers return). */
export const fromSendError = (error: SendError): UdpError => {
  const reason: UdpErrorReason = (() => {
    switch (error.reason) {
      case "no-route":
        return "network-unreachable"
      case "unreachable":
        return "host-unreachable"
      case "prohibited":
        return "permission-denied"
      case "filtered":
        return "not-permitted"
      case "message-too-big":
        return "message-too-big"
      case "no-source":
        return "address-not-available"
      case "no-headroom":
        return "no-buffer-space"
    }
  })()
  return new UdpError({ reason, address: error.destination, ...(error.mtu === undefined ? {} : { mtu: error.mtu }) })
}

/**
 * Linux `icmp_err_convert`: the error of each destination-unreachable code
 * (RFC 792, RFC 1122 §3.2.2.1, RFC 1812 §5.2.7.1) and whether it is "hard"
 * (reported to a connected socket without IP_RECVERR).
 */
export const UNREACHABLE_ERRORS: ReadonlyArray<{ readonly reason: UdpErrorReason; readonly hard: boolean }> = [
  { reason: "network-unreachable", hard: false }, // 0 net unreachable
  { reason: "host-unreachable", hard: false }, // 1 host unreachable
  { reason: "protocol-unavailable", hard: true }, // 2 protocol unreachable
  { reason: "connection-refused", hard: true }, // 3 port unreachable
  { reason: "message-too-big", hard: false }, // 4 fragmentation needed (handled apart)
  { reason: "not-supported", hard: false }, // 5 source route failed
  { reason: "network-unreachable", hard: true }, // 6 destination network unknown
  { reason: "host-down", hard: true }, // 7 destination host unknown
  { reason: "not-on-network", hard: true }, // 8 source host isolated
  { reason: "network-unreachable", hard: true }, // 9 network administratively prohibited
  { reason: "host-unreachable", hard: true }, // 10 host administratively prohibited
  { reason: "network-unreachable", hard: false }, // 11 network unreachable for TOS
  { reason: "host-unreachable", hard: false }, // 12 host unreachable for TOS
  { reason: "host-unreachable", hard: true }, // 13 communication administratively prohibited
  { reason: "host-unreachable", hard: true }, // 14 host precedence violation
  { reason: "host-unreachable", hard: true } // 15 precedence cutoff in effect
]
