/**
 * `Host.layer` and `CurrentHost`: a program asks for "the host it runs on"
 * and is given one by a Layer, with interfaces, addresses and routes
 * declared up front; a bad declaration fails the layer with a typed error;
 * releasing the layer stops the host's fibers. Under TestClock.
 */
import { describe, expect, it } from "@effect/vitest"
import { Wire } from "@netstack/device"
import { advanceClock, CurrentHost, Host, whileClockAdvances } from "@netstack/stack"
import { Context, Duration, Effect, Exit, Layer, Scope } from "effect"
import { ip } from "./support/topology.ts"

describe("Host.layer", () => {
  it.effect("provides CurrentHost: a loopback-only host pings 127.0.0.1", () =>
    Effect.gen(function*() {
      const program = Effect.gen(function*() {
        const host = yield* CurrentHost
        return { name: host.name, reply: yield* host.ping("127.0.0.1") }
      })
      const result = yield* whileClockAdvances(program).pipe(Effect.provide(Host.layer({ name: "a" })))
      expect(result._tag === "Success" ? result.success : undefined).toMatchObject({
        name: "a",
        reply: { from: "127.0.0.1", bytes: 64, intact: true }
      })
    }))

  it.effect("declares interfaces (plugged into a wire), addresses and routes up front", () =>
    Effect.gen(function*() {
      const wire = yield* Wire.make({ impairments: { delay: Duration.millis(1) } })
      const b = Context.get(
        yield* Layer.build(Host.layer({
          name: "b",
          interfaces: [{ mac: 0x020000000002, port: wire.b, addresses: ["10.0.0.2/24"] }],
          routes: [{ destination: "default", via: "10.0.0.1", metric: 5 }]
        })),
        CurrentHost
      )
      expect(b.ipv4.fib.lookup(ip("192.0.2.1"))).toMatchObject({ gateway: ip("10.0.0.1"), metric: 5 })
      const ping = Effect.flatMap(Effect.service(CurrentHost), (host) => host.ping("10.0.0.2"))
      const reply = yield* whileClockAdvances(ping).pipe(
        Effect.provide(Host.layer({ name: "a", interfaces: [{ mac: 0x020000000001, port: wire.a, addresses: ["10.0.0.1/24"] }] }))
      )
      expect(reply._tag === "Success" ? reply.success : undefined).toMatchObject({ from: "10.0.0.2", intact: true })
      expect(b.icmp.stats.InEchos).toBe(1)
    }))

  it.effect("a bad declaration fails the layer with a typed error", () =>
    Effect.gen(function*() {
      const noGateway = yield* Effect.flip(Layer.build(Host.layer({ name: "c", routes: [{ destination: "default", via: "10.9.9.9" }] })))
      expect(noGateway).toMatchObject({ _tag: "InvalidSpecification", reason: "no interface reaches it" })
      const badAddress = yield* Effect.flip(Layer.build(Host.layer({ name: "c", interfaces: [{ mac: 0x020000000003, addresses: ["10.0.0.300/24"] }] })))
      expect(badAddress).toMatchObject({ _tag: "InvalidSpecification", specification: "10.0.0.300/24" })
      const badNic = yield* Effect.flip(Layer.build(Host.layer({ name: "c", interfaces: [{ mac: 0x020000000003, mtu: 10 }] })))
      expect(badNic._tag).toBe("InvalidNicConfig")
    }))

  it.effect("releasing the layer stops the host's fibers: no timer fires, no packet is processed", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const host = Context.get(yield* Layer.buildWithScope(Host.layer({ name: "a" }), scope), CurrentHost)
      // Alive: the timer fiber runs callbacks, the softirq delivers through lo.
      let fired = 0
      host.timers.after(1_000, () => fired++)
      expect((yield* whileClockAdvances(host.ping("127.0.0.1")))._tag).toBe("Success")
      yield* advanceClock(2)
      expect(fired).toBe(1)
      const rounds = host.softirq.stats.rounds

      yield* Scope.close(scope, Exit.void)
      host.timers.after(1_000, () => fired++)
      const after = yield* whileClockAdvances(host.ping("127.0.0.1", { sequence: 2 }))
      expect(after._tag === "Failure" ? after.failure.reason : undefined).toBe("timeout")
      yield* advanceClock(5)
      expect(fired).toBe(1) // the timer fiber is gone
      expect(host.softirq.stats.rounds).toBe(rounds) // so is the softirq (and the NIC and driver fibers feeding it)
      expect(host.icmp.stats.InEchos).toBe(1)
    }))
})
