/**
 * An Effect HTTP app served by one in-process host (b, 10.0.0.2) with
 * `NetstackHttpServer` and fetched from another (a, 10.0.0.1) over a wire
 * with `NetstackHttpClient`: status, headers, 1 MiB bodies both ways byte
 * for byte, keep-alive reuse of one connection, the errors a client sees,
 * and a graceful shutdown. Node's http internals use real timers, so these
 * run on the live clock (the stack's timers follow it).
 */
import { describe, expect, it } from "@effect/vitest"
import { NetstackHttpClient, NetstackHttpServer, NetSocketError } from "@netstack/sockets"
import { CurrentHost, type Host, Network } from "@netstack/stack"
import { Context, Deferred, Effect, Exit, Fiber, Layer, Scope } from "effect"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"

/** `n` bytes of a pattern that does not repeat every 256 bytes. */
const pattern = (n: number): Uint8Array => {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = (i * 7 + (i >>> 8) * 13 + (i >>> 16)) & 0xff
  return out
}

const pair = Effect.gen(function*() {
  const net = Network.make()
  const a = yield* net.host("a")
  const b = yield* net.host("b")
  yield* net.link(a, b, { a: "10.0.0.1/24", b: "10.0.0.2/24" })
  return { a, b }
})

const hostLayer = (host: Host): Layer.Layer<CurrentHost> => Layer.succeed(CurrentHost)(host)

/** The app: `/` says hello, `/bytes/N` sends N pattern bytes, `/echo` returns the request body, `/slow` waits for `release`. */
const routes = (slow: { readonly started: Deferred.Deferred<void>; readonly release: Deferred.Deferred<void> }) =>
  Layer.mergeAll(
    HttpRouter.add("GET", "/", HttpServerResponse.text("hello")),
    HttpRouter.add(
      "GET",
      "/bytes/:n",
      Effect.map(HttpRouter.params, (params) => HttpServerResponse.uint8Array(pattern(Number(params["n"] ?? 0))))
    ),
    HttpRouter.add(
      "POST",
      "/echo",
      Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
        Effect.map(request.arrayBuffer, (body) =>
          HttpServerResponse.uint8Array(new Uint8Array(body), { contentType: "application/octet-stream" })))
    ),
    HttpRouter.add(
      "GET",
      "/slow",
      Effect.gen(function*() {
        yield* Deferred.succeed(slow.started, undefined)
        yield* Deferred.await(slow.release)
        return HttpServerResponse.text("finally")
      })
    )
  )

/** b serves the app on port 80 in its own scope; a's HttpClient. */
const setup = Effect.gen(function*() {
  const { a, b } = yield* pair
  const slow = { started: yield* Deferred.make<void>(), release: yield* Deferred.make<void>() }
  // Its own scope (a test closes it to shut the server down), closed with the test's otherwise.
  const serverScope = yield* Scope.fork(yield* Effect.scope)
  yield* Layer.buildWithScope(
    HttpRouter.serve(routes(slow), { disableLogger: true, disableListenLog: true }).pipe(
      Layer.provide(NetstackHttpServer.layer(80, { gracefulShutdownTimeout: "2 seconds" })),
      Layer.provide(hostLayer(b))
    ),
    serverScope
  )
  const clientContext = yield* Layer.build(NetstackHttpClient.layer.pipe(Layer.provide(hostLayer(a))))
  const client = Context.get(clientContext, HttpClient.HttpClient)
  return { a, b, client, slow, serverScope }
})

/** Waits (polling every 5 ms, at most 2 s) until `condition` holds. */
const eventually = (condition: () => boolean): Effect.Effect<void> =>
  Effect.gen(function*() {
    for (let waited = 0; !condition(); waited += 5) {
      if (waited >= 2000) return yield* Effect.die(new Error("condition not met within 2 s"))
      yield* Effect.sleep("5 millis")
    }
  })

describe("HTTP over netstack", () => {
  it.live("serves an Effect app to a netstack HttpClient on another host: status, headers, 1 MiB bodies, keep-alive", () =>
    Effect.gen(function*() {
      const { a, b, client } = yield* setup

      const hello = yield* client.get("http://10.0.0.2/")
      expect(hello.status).toBe(200)
      expect(hello.headers["content-type"]).toMatch(/^text\/plain/)
      expect(hello.headers["content-length"]).toBe("5")
      expect(yield* hello.text).toBe("hello")

      const size = 1024 * 1024
      const big = yield* client.get(`http://10.0.0.2/bytes/${size}`)
      expect(big.status).toBe(200)
      expect(big.headers["content-length"]).toBe(String(size))
      const bytes = new Uint8Array(yield* big.arrayBuffer)
      expect(bytes.length).toBe(size)
      expect(Buffer.compare(bytes, pattern(size))).toBe(0)

      const upload = pattern(size).map((x) => x ^ 0x5a)
      const echoed = yield* client.execute(
        HttpClientRequest.post("http://10.0.0.2/echo").pipe(HttpClientRequest.bodyUint8Array(upload))
      )
      expect(echoed.status).toBe(200)
      expect(echoed.headers["content-type"]).toBe("application/octet-stream")
      expect(Buffer.compare(new Uint8Array(yield* echoed.arrayBuffer), upload)).toBe(0)

      const missing = yield* client.get("http://10.0.0.2/nowhere")
      expect(missing.status).toBe(404)
      yield* missing.arrayBuffer

      for (let i = 0; i < 5; i++) expect(yield* Effect.flatMap(client.get("http://10.0.0.2/"), (r) => r.text)).toBe("hello")
      // Nine requests, one TCP connection: the agent kept it alive and reused it (RFC 9112 §9.3).
      expect(a.tcp.stats.ActiveOpens).toBe(1)
      expect(b.tcp.stats.PassiveOpens).toBe(1)
      expect(a.tcp.stats.OutRsts + b.tcp.stats.OutRsts).toBe(0)
    }), { timeout: 10_000 })

  it.live("a name that is not an address is ENOTFOUND; a closed port is ECONNREFUSED", () =>
    Effect.gen(function*() {
      const { client } = yield* setup
      const notFound = yield* Effect.flip(client.get("http://server.example/"))
      expect(notFound.reason._tag).toBe("TransportError")
      expect(notFound.reason.cause).toBeInstanceOf(NetSocketError)
      expect(notFound.reason.cause).toMatchObject({ code: "ENOTFOUND", errno: -3008, syscall: "getaddrinfo", hostname: "server.example" })

      const refused = yield* Effect.flip(client.get("http://10.0.0.2:81/"))
      expect(refused.reason.cause).toMatchObject({ code: "ECONNREFUSED", syscall: "connect", address: "10.0.0.2", port: 81 })

      const https = yield* Effect.flip(client.get("https://10.0.0.2/"))
      expect(https.reason.cause).toMatchObject({ code: "EPROTONOSUPPORT" })
    }), { timeout: 10_000 })

  it.live("shutting down closes idle connections at once, lets a busy one finish with Connection: close, then refuses", () =>
    Effect.gen(function*() {
      const { a, b, client, slow, serverScope } = yield* setup
      const request = yield* Effect.forkChild(Effect.flatMap(client.get("http://10.0.0.2/slow"), (r) =>
        Effect.map(r.text, (text) => ({ text, connection: r.headers["connection"] }))))
      yield* Deferred.await(slow.started)
      // A second connection (the first is busy), idle once this answer is read.
      expect(yield* Effect.flatMap(client.get("http://10.0.0.2/"), (r) => r.text)).toBe("hello")
      expect(a.tcp.stats.ActiveOpens).toBe(2)

      const closing = yield* Effect.forkChild(Scope.close(serverScope, Exit.void))
      // The idle connection is closed by the server (its FIN first: b holds the TIME-WAIT)…
      yield* eventually(() => b.tcp.stats.TW === 1)
      // …while the busy one stays open and the shutdown waits for it.
      expect(closing.pollUnsafe()).toBeUndefined()
      yield* Deferred.succeed(slow.release, undefined)
      expect(yield* Fiber.join(request)).toEqual({ text: "finally", connection: "close" })
      yield* Fiber.join(closing)
      const after = yield* Effect.flip(client.get("http://10.0.0.2/"))
      expect(after.reason.cause).toMatchObject({ code: "ECONNREFUSED" })
      expect(a.tcp.stats.EstabResets + b.tcp.stats.EstabResets).toBe(0)
    }), { timeout: 10_000 })
})
