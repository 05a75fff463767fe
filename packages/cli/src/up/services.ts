/**
 * The services `netstack up --serve KIND:PORT` runs on a host: echo
 * (RFC 862), discard (RFC 863), http (a hello page and `/bytes/N`) and
 * iperf3 (TCP and UDP, for a stock `iperf3 -c`).
 */
import { EffectDatagramSocket, EffectSocketServer, makeSockets, NetstackHttpServer, Sockets } from "@netstack/sockets"
import { CurrentHost, type Host } from "@netstack/stack"
import { Effect, Schema } from "effect"
import { SocketServer } from "effect/socket/SocketServer"
import { serveDiscard, serveEcho } from "../services/echo.ts"
import { httpApp } from "../services/http.ts"
import { serveIperf3 } from "../services/iperf3/server.ts"
import { type Iperf3ServerStats, makeIperf3Stats } from "../services/iperf3/test-state.ts"

/** The kinds of service. */
export const SERVICE_KINDS = ["echo", "discard", "http", "iperf3"] as const

/** One `--serve` value. */
export interface ServiceSpec {
  readonly kind: (typeof SERVICE_KINDS)[number]
  readonly port: number
}

/** A `--serve` value that is not `KIND:PORT`. */
export class ServiceSpecError extends Schema.TaggedError<ServiceSpecError>()("ServiceSpecError", {
  message: Schema.String
}) {}

/** `http:8080` → `{ kind: "http", port: 8080 }`. */
export const parseService = (text: string): ServiceSpec | ServiceSpecError => {
  const [kind, portText] = text.split(":")
  const port = Number(portText)
  const known = SERVICE_KINDS.find((k) => k === kind)
  if (known === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
    return new ServiceSpecError({ message: `--serve ${text}: expected ${SERVICE_KINDS.join("|")}:PORT` })
  }
  return { kind: known, port }
}

/** Counters of the running services, for the exit summary. */
export interface ServiceStats {
  readonly iperf3: Iperf3ServerStats
}

/** Starts `spec` on `host` in the current scope (it runs until the scope closes). */
export const startService = (host: Host, spec: ServiceSpec, stats: ServiceStats) =>
  Effect.gen(function*() {
    if (spec.kind === "http") {
      const server = yield* NetstackHttpServer.make({ port: spec.port })
      yield* server.serve(httpApp(host.name))
      return
    }
    const socketServer = yield* EffectSocketServer.make({ port: spec.port })
    const run = spec.kind === "echo"
      ? serveEcho
      : spec.kind === "discard"
      ? serveDiscard
      : Effect.flatMap(
        EffectDatagramSocket.make({ bind: { port: spec.port } }),
        (datagrams) => serveIperf3({ stats: stats.iperf3, datagrams })
      )
    yield* Effect.forkScoped(run.pipe(Effect.provideService(SocketServer, socketServer)))
  }).pipe(Effect.provideService(CurrentHost, host), Effect.provideService(Sockets, makeSockets(host)))

/** Fresh counters. */
export const makeServiceStats = (): ServiceStats => ({ iperf3: makeIperf3Stats() })
