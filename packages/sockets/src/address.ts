/**
 * Socket addresses as the API takes and gives them: an IPv4 address (dotted
 * text, or the 32-bit number the stack uses) and a port, checked once at the
 * call (EINVAL for a malformed one, as `inet_pton` and `bind(2)` refuse it).
 */
import { ipv4FromString, ipv4ToString } from "@netstack/wire"
import { type ErrorContext, type NetstackSocketError, socketError } from "./errors.ts"

/** An IPv4 address: dotted-decimal text (`10.0.0.2`) or its 32-bit number. */
export type AddressInput = string | number

/** An address and port, as sockets report them (`getsockname`/`getpeername`). */
export interface SocketAddress {
  readonly address: string
  readonly port: number
}

/** An address and port, as calls take them. */
export interface EndpointInput {
  readonly address: AddressInput
  readonly port: number
}

/** `a.b.c.d:port`, for errors and traces. */
export const formatEndpoint = (address: number, port: number): string => `${ipv4ToString(address)}:${port}`

/** The address as the API reports it. */
export const socketAddress = (address: number, port: number): SocketAddress => ({ address: ipv4ToString(address), port })

/** The 32-bit address of `input`, or EINVAL. */
export const parseAddress = (input: AddressInput, context: ErrorContext): number | NetstackSocketError => {
  if (typeof input === "number") {
    return Number.isInteger(input) && input >= 0 && input <= 0xffffffff
      ? input >>> 0
      : socketError("invalid-argument", { ...context, address: String(input), detail: "not a 32-bit address" })
  }
  const parsed = ipv4FromString(input)
  return parsed === undefined
    ? socketError("invalid-argument", { ...context, address: input, detail: "expected a.b.c.d" })
    : parsed
}

/** `port` if it is one (1..65535, or 0 where `zero` allows an ephemeral choice), else EINVAL. */
export const checkPort = (port: number, zero: boolean, context: ErrorContext): number | NetstackSocketError =>
  Number.isInteger(port) && port >= (zero ? 0 : 1) && port <= 65535
    ? port
    : socketError("invalid-argument", { ...context, detail: `port ${port}` })

/** Both parts of an endpoint, checked. */
export const parseEndpoint = (
  input: EndpointInput,
  zeroPort: boolean,
  context: ErrorContext
): { readonly address: number; readonly port: number } | NetstackSocketError => {
  const address = parseAddress(input.address, context)
  if (typeof address !== "number") return address
  const port = checkPort(input.port, zeroPort, { ...context, address: `${ipv4ToString(address)}:${input.port}` })
  if (typeof port !== "number") return port
  return { address, port }
}
