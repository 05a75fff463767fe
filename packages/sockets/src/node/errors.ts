/**
 * The errors Node code sees from a netstack socket: a `TcpError` reason
 * turned into the errno name (`code`), the negative libuv number (`errno`)
 * and the system call (`syscall`) that `net.Socket` reports for the same
 * failure, so `http`, `stream.pipeline` and applications that test
 * `err.code === "ECONNRESET"` work unchanged.
 */
import type { TcpError } from "@netstack/l4"
import { Schema } from "effect"
import { constants } from "node:os"
import { ERRNO } from "../errors.ts"

/** The system call a socket error is reported for (as `net.Socket` names it). */
export type Syscall = "connect" | "bind" | "read" | "write" | "shutdown" | "listen" | "getaddrinfo"

/**
 * A socket error in Node's shape (`code`, `errno`, `syscall`, and the remote
 * `address`/`port` for `connect`), e.g. `connect ECONNREFUSED 10.0.0.2:81`.
 * It is also a tagged error, so Effect code can match it by `_tag`.
 */
export class NetSocketError extends Schema.TaggedError<NetSocketError>()("NetSocketError", {
  /** The errno name, `ECONNRESET`… (`ENOTFOUND` for a name that is not an address). */
  code: Schema.String,
  /** libuv's negative errno (`-os.constants.errno[code]`; `ENOTFOUND` is libuv's `UV_EAI_NONAME`, -3008). */
  errno: Schema.optional(Schema.Number),
  syscall: Schema.String,
  address: Schema.optional(Schema.String),
  port: Schema.optional(Schema.Number),
  /** For `getaddrinfo`: the name that could not be resolved. */
  hostname: Schema.optional(Schema.String),
  /** What the stack said (`TcpError.detail`). */
  detail: Schema.optional(Schema.String)
}) {
  override get message(): string {
    const where = this.address === undefined ? this.hostname === undefined ? "" : ` ${this.hostname}` : ` ${this.address}${this.port === undefined ? "" : `:${this.port}`}`
    return `${this.syscall} ${this.code}${where}`
  }
}

/** libuv's errno for `code` (negative, as Node reports it), if the platform has it. */
const errnoOf = (code: string): number | undefined => {
  const value = (constants.errno as Readonly<Record<string, number | undefined>>)[code]
  return value === undefined ? undefined : -value
}

/** Where a failed connection attempt was going (Node adds it to `connect` errors). */
export interface Endpoint {
  readonly address: string
  readonly port: number
}

/** `error` as Node reports it from `syscall` (with the remote endpoint for `connect`). */
export const nodeErrorFromTcp = (error: TcpError, syscall: Syscall, endpoint?: Endpoint): NetSocketError => {
  const code = ERRNO[error.reason]
  const errno = errnoOf(code)
  return new NetSocketError({
    code,
    syscall,
    ...(errno === undefined ? {} : { errno }),
    ...(endpoint === undefined ? {} : { address: endpoint.address, port: endpoint.port }),
    ...(error.detail === undefined ? {} : { detail: error.detail })
  })
}

/** A name that is not a dotted IPv4 address: netstack has no resolver (Node's `getaddrinfo ENOTFOUND name`). */
export const notFound = (hostname: string): NetSocketError =>
  new NetSocketError({ code: "ENOTFOUND", errno: UV_EAI_NONAME, syscall: "getaddrinfo", hostname })

/** libuv's "name not known" (`UV_EAI_NONAME`), the errno Node reports with `ENOTFOUND` on every platform. */
const UV_EAI_NONAME = -3008
