/**
 * connect(2) on a stream socket: RFC 9293 §3.10.1 active OPEN, with the
 * socket options applied to the new connection before its handshake
 * completes (buffer sizes, TCP_NODELAY and SO_KEEPALIVE as Linux applies
 * options set before connect), an optional time limit (ETIMEDOUT, the
 * connection abandoned), and the socket closed with the scope.
 */
import type { Host } from "@netstack/stack"
import { TcpConnection, TcpError } from "@netstack/l4"
import { Duration, Effect, Option, Scope } from "effect"
import { awaitLatch } from "../internal/latches.ts"
import { type AddressInput, type EndpointInput, formatEndpoint, parseAddress, parseEndpoint, checkPort } from "../address.ts"
import { fromTcpError, type NetstackSocketError, socketError } from "../errors.ts"
import { checkOptions, refuseOptions, type SocketOptions } from "../options.ts"
import { applyStreamOptions, STREAM_OPTIONS, StreamSocket } from "./stream-socket.ts"

/** What `connect` takes besides the peer. */
export interface ConnectOptions extends SocketOptions {
  /** Local address (bind before connect); default: the route's preferred source (RFC 1122 §3.3.4.3). */
  readonly localAddress?: AddressInput | undefined
  /** Local port; default an ephemeral one (RFC 6056). */
  readonly localPort?: number | undefined
  /** Give up the handshake after this long (ETIMEDOUT); without it, after the SYN retries (tcp_syn_retries). */
  readonly timeout?: Duration.Input | undefined
}

/** Opens a connection to `to` from `host`; the socket is closed (as SO_LINGER says) with the scope. */
export const connectStream = (
  host: Host,
  to: EndpointInput,
  options: ConnectOptions = {}
): Effect.Effect<StreamSocket, NetstackSocketError, Scope.Scope> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function*() {
      const context = { operation: "connect" }
      const { localAddress, localPort, timeout, ...socketOptions } = options
      const peer = parseEndpoint(to, false, context)
      if (!("port" in peer)) return yield* peer
      const address = formatEndpoint(peer.address, peer.port)
      const where = { operation: "connect", address }
      const refused = refuseOptions(socketOptions, STREAM_OPTIONS, where)
      if (refused !== undefined) return yield* refused
      const checked = checkOptions(socketOptions, where)
      if (!("lingerMillis" in checked)) return yield* checked
      const local = localAddress === undefined ? undefined : parseAddress(localAddress, where)
      if (typeof local === "object") return yield* local
      const port = localPort === undefined ? undefined : checkPort(localPort, false, where)
      if (typeof port === "object") return yield* port
      const limit = timeout === undefined ? undefined : Duration.fromInput(timeout)
      if (limit !== undefined && Option.isNone(limit)) return yield* socketError("invalid-argument", { ...where, detail: "timeout" })
      const tcb = host.tcp.connect(peer.address, peer.port, {
        ...(local === undefined ? {} : { localAddress: local }),
        ...(port === undefined ? {} : { localPort: port }),
        ...(socketOptions.noDelay === undefined ? {} : { noDelay: socketOptions.noDelay }),
        ...(socketOptions.keepalive === undefined ? {} : { keepalive: socketOptions.keepalive }),
        ...(socketOptions.ttl === undefined ? {} : { ttl: socketOptions.ttl })
      })
      if (tcb instanceof TcpError) return yield* fromTcpError(tcb, where)
      const connection = new TcpConnection(tcb)
      applyStreamOptions(connection, { sendBuffer: socketOptions.sendBuffer, receiveBuffer: socketOptions.receiveBuffer })
      const handshake = restore(awaitLatch(tcb.opened)).pipe(Effect.onInterrupt(() => connection.abort()))
      if (limit === undefined) yield* handshake
      else {
        const done = yield* Effect.timeoutOption(handshake, limit.value)
        if (Option.isNone(done)) {
          yield* connection.abort()
          return yield* socketError("timed-out", { ...where, detail: `no answer within ${Duration.format(limit.value)}` })
        }
      }
      if (tcb.error !== undefined) return yield* fromTcpError(tcb.error, where)
      if (tcb.state === "CLOSED") return yield* socketError("connection-aborted", where)
      const socket = new StreamSocket(connection, checked.lingerMillis)
      yield* Scope.addFinalizer(yield* Effect.scope, socket.close)
      return socket
    })
  )
