/**
 * Effect's `HttpServer` served by a netstack host: a Node `http.Server`
 * that never listens on the kernel. Connections accepted from a netstack
 * `TcpListener` are wrapped in `NetSocket`s and handed to it with
 * `server.emit("connection", socket)` (Node's documented way to inject a
 * connection), and requests reach the Effect app through
 * `@effect/platform-node`'s `NodeHttpServer.makeHandler`, so parsing,
 * keep-alive and response writing are Node's own.
 *
 * Shutdown, when the scope closes, is graceful (as `server.close()` with
 * `closeIdleConnections()`): the listener closes (RFC 9293 §3.10.4 on a
 * LISTEN socket: pending connections are reset), idle connections close,
 * busy ones finish their response (sent with `Connection: close`) and
 * close; after `gracefulShutdownTimeout` the rest are reset.
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import type * as NodeServices from "@effect/platform-node/NodeServices"
import type { TcpListener } from "@netstack/l4"
import { CurrentHost } from "@netstack/stack"
import { ipv4FromString, ipv4ToString } from "@netstack/wire"
import { type Context, Deferred, Duration, Effect, Exit, Fiber, Layer, Result, Scope } from "effect"
import type { LazyArg } from "effect/Function"
import type * as Etag from "effect/http/Etag"
import type * as HttpPlatform from "effect/http/HttpPlatform"
import * as HttpServer from "effect/http/HttpServer"
import { ServeError } from "effect/http/HttpServerError"
import type { HttpServerRequest } from "effect/http/HttpServerRequest"
import type { HttpServerResponse } from "effect/http/HttpServerResponse"
import * as NetAddress from "effect/net/NetAddress"
import * as Http from "node:http"
import { NetSocket, type NetSocketOptions } from "../node/socket.ts"

/** How the server listens and shuts down. */
export interface ServerOptions {
  /** The TCP port on the host. */
  readonly port: number
  /** The local address to listen on, `a.b.c.d` (default `0.0.0.0`: every address of the host). */
  readonly address?: string
  /** Accept queue length (listen(2)'s backlog). */
  readonly backlog?: number
  /** How long busy connections may finish their responses when the scope closes (default 20 s, as NodeHttpServer). */
  readonly gracefulShutdownTimeout?: Duration.Input
  /** Makes the Node server (default `http.createServer()`); set Node's own timeouts on it. */
  readonly createServer?: LazyArg<Http.Server>
  /** Buffering of each connection's socket. */
  readonly socket?: NetSocketOptions
}

/** Responses in progress per connection, to tell idle connections from busy ones at shutdown. */
interface Connections {
  readonly active: Map<NetSocket, Set<Http.ServerResponse>>
  closing: boolean
  readonly drained: Deferred.Deferred<void>
}

/**
 * An `HttpServer` listening on `options.port` of the current host; it stops
 * (gracefully) when the scope closes.
 */
export const make = Effect.fn("NetstackHttpServer.make")(function*(options: ServerOptions) {
  const host = yield* CurrentHost
  const context = yield* Effect.context<never>()
  const scope = yield* Effect.scope
  const localAddress = options.address === undefined ? 0 : ipv4FromString(options.address)
  if (localAddress === undefined) {
    return yield* new ServeError({ cause: new Error(`listen ${options.address}: expected a.b.c.d`) })
  }
  const listener = yield* host.listen(options.port, {
    localAddress,
    ...(options.backlog === undefined ? {} : { backlog: options.backlog })
  }).pipe(Effect.mapError((cause) => new ServeError({ cause })))
  const address = yield* Effect.fromResult(
    NetAddress.inetAddressFromIpString(ipv4ToString(listener.localAddress), listener.localPort)
  ).pipe(Effect.mapError((cause) => new ServeError({ cause })))

  const server = options.createServer?.() ?? Http.createServer()
  const connections: Connections = { active: new Map(), closing: false, drained: yield* Deferred.make<void>() }
  server.on("request", (request: Http.IncomingMessage, response: Http.ServerResponse) => trackRequest(connections, request, response))
  const acceptor = yield* Effect.forkIn(acceptLoop(listener, server, connections, context, options.socket ?? {}), scope)

  const shutdown = yield* Effect.cached(Effect.gen(function*() {
    yield* Fiber.interrupt(acceptor)
    yield* listener.close()
    yield* Effect.sync(() => closeIdle(connections))
    const timeout = options.gracefulShutdownTimeout ?? Duration.seconds(20)
    yield* Effect.timeoutOrElse(Deferred.await(connections.drained), {
      duration: timeout,
      orElse: () => Effect.sync(() => {
        for (const socket of connections.active.keys()) socket.resetAndDestroy()
      })
    })
  }))
  yield* Scope.addFinalizer(scope, shutdown)

  return HttpServer.make({
    address,
    serve: Effect.fnUntraced(function*(httpApp, middleware) {
      const serveScope = yield* Effect.scope
      const requestScope = Scope.forkUnsafe(serveScope, "parallel")
      const handler = yield* NodeHttpServer.makeHandler<
        HttpServerRequest | Scope.Scope,
        unknown,
        Effect.Effect<HttpServerResponse, unknown, HttpServerRequest | Scope.Scope>
      >(httpApp, { scope: requestScope, ...(middleware === undefined ? {} : { middleware }) })
      yield* Scope.addFinalizer(serveScope, Effect.ensuring(shutdown, Effect.sync(() => server.off("request", handler))))
      server.on("request", handler)
    })
  })
})

/**
 * Provides an `HttpServer` listening on `port` of the current host.
 *
 * @example
 * const Hello = HttpRouter.add("GET", "/", HttpServerResponse.text("hello"))
 * const App = HttpRouter.serve(Hello).pipe(
 *   Layer.provide(NetstackHttpServer.layer(80)), // with the HTTP platform services
 *   Layer.provide(Host.layer({ name: "web", interfaces: [{ mac: 1, addresses: ["10.0.0.2/24"], port: wire.b }] }))
 * )
 */
export const layerServer = (
  port: number,
  options: Omit<ServerOptions, "port"> = {}
): Layer.Layer<HttpServer.HttpServer, ServeError, CurrentHost> =>
  Layer.effect(HttpServer.HttpServer, make({ ...options, port }))

/**
 * `layerServer` with the services serving needs (the Node HTTP platform,
 * ETags, file system and path), as `NodeHttpServer.layer` provides them.
 */
export const layer = (
  port: number,
  options: Omit<ServerOptions, "port"> = {}
): Layer.Layer<
  HttpServer.HttpServer | NodeServices.NodeServices | HttpPlatform.HttpPlatform | Etag.Generator,
  ServeError,
  CurrentHost
> => Layer.mergeAll(layerServer(port, options), NodeHttpServer.layerHttpServices)

// ---------------------------------------------------------------------------
// Internals
// ---------------------------------------------------------------------------

/** Accepts connections until the listener closes, handing each to the Node server. */
const acceptLoop = (
  listener: TcpListener,
  server: Http.Server,
  connections: Connections,
  context: Context.Context<never>,
  socketOptions: NetSocketOptions
): Effect.Effect<void> =>
  Effect.gen(function*() {
    for (;;) {
      const accepted = yield* Effect.result(listener.accept)
      // `accept` fails only once the listener is closed.
      if (Result.isFailure(accepted)) return
      const socket = NetSocket.fromConnection(accepted.success, context, socketOptions)
      connections.active.set(socket, new Set())
      socket.once("close", () => {
        connections.active.delete(socket)
        if (connections.closing && connections.active.size === 0) Deferred.doneUnsafe(connections.drained, Exit.void)
      })
      // Node's http.Server takes any Duplex this way ("connection" event: "can also be explicitly emitted").
      server.emit("connection", socket)
    }
  })

/** Follows a response on its connection until it is done; during shutdown, the connection closes after it. */
const trackRequest = (connections: Connections, request: Http.IncomingMessage, response: Http.ServerResponse): void => {
  const responses = request.socket instanceof NetSocket ? connections.active.get(request.socket) : undefined
  if (responses === undefined) return
  const socket = request.socket
  responses.add(response)
  if (connections.closing) lastResponse(response)
  response.once("close", () => {
    responses.delete(response)
    if (connections.closing && responses.size === 0) socket.destroySoon()
  })
}

/** RFC 9112 §9.6: a server that is closing the connection says so in its response (Node then closes after it). */
const lastResponse = (response: Http.ServerResponse): void => {
  if (!response.headersSent) response.setHeader("connection", "close")
}

/** Starts the shutdown: idle connections close now (Node's `closeIdleConnections`), busy ones after their responses. */
const closeIdle = (connections: Connections): void => {
  connections.closing = true
  if (connections.active.size === 0) Deferred.doneUnsafe(connections.drained, Exit.void)
  for (const [socket, responses] of connections.active) {
    if (responses.size === 0) socket.destroy()
    else for (const response of responses) lastResponse(response)
  }
}
