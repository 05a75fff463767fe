/**
 * Effect's `HttpClient` over a netstack host: `@effect/platform-node`'s
 * node:http client (`NodeHttpClient.makeNodeHttp`) with an `HttpAgent`
 * whose `http.Agent` opens its connections with `NetSocket.connect`
 * instead of `net.connect`. Node keeps doing the HTTP/1.1 work (request
 * framing, keep-alive pooling, response parsing); the bytes go through the
 * host's TCP.
 *
 * URLs name hosts by dotted IPv4 address (or `localhost`); other names fail
 * with `ENOTFOUND`, as a failed DNS lookup does: netstack has no resolver.
 * `https:` URLs are refused (`EPROTONOSUPPORT`) until TLS is wired in.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { CurrentHost, type Host } from "@netstack/stack"
import { ipv4FromString } from "@netstack/wire"
import { type Context, Effect, Layer, type Scope } from "effect"
import type { HttpClient } from "effect/http/HttpClient"
import * as Http from "node:http"
import * as Https from "node:https"
import { type Duplex, PassThrough } from "node:stream"
import { NetSocketError } from "../node/errors.ts"
import { NetSocket, type NetSocketOptions } from "../node/socket.ts"

/** The agent's pooling (`http.AgentOptions`, keep-alive on by default) and its sockets' buffering. */
export interface AgentOptions extends Http.AgentOptions {
  readonly socket?: NetSocketOptions
}

/** An `http.Agent` whose connections are netstack TCP connections of `host`. */
export class NetstackHttpAgent extends Http.Agent {
  private readonly host: Host
  private readonly context: Context.Context<never>
  private readonly socketOptions: NetSocketOptions

  constructor(host: Host, context: Context.Context<never>, options: AgentOptions = {}) {
    const { socket, ...agentOptions } = options
    super({ keepAlive: true, ...agentOptions })
    this.host = host
    this.context = context
    this.socketOptions = socket ?? {}
  }

  /** A lazily connecting `NetSocket` to the request's host and port (as `net.createConnection`). */
  override createConnection(options: Http.ClientRequestArgs): Duplex {
    const hostname = options.hostname ?? options.host ?? "localhost"
    const port = Number(options.port ?? options.defaultPort ?? 80)
    const localAddress = options.localAddress === undefined ? undefined : ipv4FromString(options.localAddress)
    if (options.localAddress !== undefined && localAddress === undefined) {
      return failedSocket(new NetSocketError({ code: "EINVAL", syscall: "bind", address: options.localAddress, detail: "expected a.b.c.d" }))
    }
    return NetSocket.connect(this.host, hostname, port, this.context, {
      ...this.socketOptions,
      ...(localAddress === undefined ? {} : { localAddress }),
      ...(options.localPort === undefined ? {} : { localPort: options.localPort })
    })
  }
}

/** An `https.Agent` that refuses: TLS over netstack is not wired in yet. */
class UnsupportedHttpsAgent extends Https.Agent {
  override createConnection(): Duplex {
    return failedSocket(new NetSocketError({ code: "EPROTONOSUPPORT", syscall: "connect", detail: "https over netstack is not supported yet" }))
  }
}

/** A socket that fails at once with `error`, as one whose connect failed: the request reports it as its `error`. */
const failedSocket = (error: NetSocketError): Duplex => {
  const socket = new PassThrough()
  process.nextTick(() => socket.destroy(error))
  return socket
}

/** Netstack agents for the current host, destroyed (their sockets closed) with the scope. */
export const makeAgent = (
  options: AgentOptions = {}
): Effect.Effect<NodeHttpClient.HttpAgent["Service"], never, CurrentHost | Scope.Scope> =>
  Effect.gen(function*() {
    const host = yield* CurrentHost
    const context = yield* Effect.context<never>()
    const http = yield* Effect.acquireRelease(
      Effect.sync(() => new NetstackHttpAgent(host, context, options)),
      (agent) => Effect.sync(() => agent.destroy())
    )
    const https = yield* Effect.acquireRelease(
      Effect.sync(() => new UnsupportedHttpsAgent()),
      (agent) => Effect.sync(() => agent.destroy())
    )
    return { http, https }
  })

/** Provides `NodeHttpClient.HttpAgent` with netstack agents for the current host. */
export const layerAgent = (options: AgentOptions = {}): Layer.Layer<NodeHttpClient.HttpAgent, never, CurrentHost> =>
  Layer.effect(NodeHttpClient.HttpAgent, makeAgent(options))

/** An `HttpClient` whose requests go over the current host's TCP, with the given agent options. */
export const layerOptions = (options: AgentOptions = {}): Layer.Layer<HttpClient, never, CurrentHost> =>
  Layer.provide(NodeHttpClient.layerNodeHttpNoAgent, layerAgent(options))

/**
 * An `HttpClient` whose requests go over the current host's TCP (keep-alive
 * connections pooled per host and port).
 *
 * @example
 * const body = yield* HttpClient.get("http://10.0.0.2/").pipe(Effect.flatMap((r) => r.text))
 * // provided with NetstackHttpClient.layer and Host.layer({ … })
 */
export const layer: Layer.Layer<HttpClient, never, CurrentHost> = layerOptions()
