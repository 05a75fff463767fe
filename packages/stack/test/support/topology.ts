/**
 * What the stack's tests share: the a — r — b topology, driving the
 * TestClock while an effect runs, counter snapshots, and the setup of
 * deterministic fast-check properties (TestClock and a seeded `Random`).
 */
import type { Impairments } from "@netstack/device"
import { type Host, type Link, Network } from "@netstack/stack"
import { ipv4FromString } from "@netstack/wire"
import { Duration, Effect, Random, type Scope } from "effect"
import { TestClock } from "effect/testing"

/** `a.b.c.d` as a number (0 for a typo, which then fails the test's expectations). */
export const ip = (text: string): number => ipv4FromString(text) ?? 0

/** How `triangle` builds its two links. */
export interface TriangleOptions {
  readonly mtuAR?: number
  readonly mtuRB?: number
  /** Impairments of both wires; default a 1 ms delay. */
  readonly impairments?: Impairments
}

/** The triangle: its network, three hosts and two links. */
export interface Triangle {
  readonly net: Network
  readonly a: Host
  readonly r: Host
  readonly b: Host
  readonly ar: Link
  readonly rb: Link
}

/** a (10.0.1.1) — r (10.0.1.254 | 10.0.2.254) — b (10.0.2.1); 1 ms wires by default; default routes via r. */
export const triangle = (options: TriangleOptions = {}): Effect.Effect<Triangle, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const net = Network.make()
    const a = yield* net.host("a")
    const r = yield* net.router("r")
    const b = yield* net.host("b")
    const impairments = options.impairments ?? { delay: Duration.millis(1) }
    const ar = yield* net.link(a, r, {
      a: "10.0.1.1/24",
      b: "10.0.1.254/24",
      impairments,
      ...(options.mtuAR === undefined ? {} : { mtu: options.mtuAR })
    })
    const rb = yield* net.link(r, b, {
      a: "10.0.2.254/24",
      b: "10.0.2.1/24",
      impairments,
      ...(options.mtuRB === undefined ? {} : { mtu: options.mtuRB })
    })
    a.addRoute({ destination: "default", via: "10.0.1.254" })
    b.addRoute({ destination: "default", via: "10.0.2.254" })
    return { net, a, r, b, ar, rb }
  })

/** A host's IPv4, ICMP and drop counters. */
export const counters = (host: Host) => ({
  ...host.ipv4.stats,
  icmp: { ...host.icmp.stats },
  drops: host.link.drops.snapshot()
})


/** Runs a scoped program under a fresh TestClock with Effect's `Random` seeded by `seed` (for fast-check's async properties). */
export const deterministic = <A, E>(seed: number, program: Effect.Effect<A, E, Scope.Scope>): Promise<A> =>
  Effect.runPromise(program.pipe(Effect.scoped, Random.withSeed(seed), Effect.provide(TestClock.layer())))
