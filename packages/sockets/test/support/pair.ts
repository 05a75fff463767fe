/**
 * Two hosts on one wire for the socket tests: a (10.0.0.1/24) and b
 * (10.0.0.2/24), 1 ms apart, each with its `Sockets`; the wire can be
 * partitioned and each host's frames watched.
 */
import type { Wire } from "@netstack/device"
import type { EthernetDevice, NetDevice } from "@netstack/l2"
import type { TcpSettings } from "@netstack/l4"
import { makeSockets, type SocketsShape } from "@netstack/sockets"
import { type Host, Network, whileClockAdvances } from "@netstack/stack"
import { Duration, Effect, Random, type Scope } from "effect"
import { TestClock } from "effect/testing"

/** What `pair` made. */
export interface Pair {
  readonly a: Host
  readonly b: Host
  readonly sa: SocketsShape
  readonly sb: SocketsShape
  readonly wire: Wire
  readonly devA: EthernetDevice
  readonly devB: EthernetDevice
}

/** a and b joined by a wire with a 1 ms delay each way; `netChannels` turns net channels on at both. */
export const pair = (
  options: { readonly tcp?: Partial<TcpSettings>; readonly delayMillis?: number; readonly netChannels?: boolean } = {}
): Effect.Effect<Pair, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const net = Network.make()
    const settings = { ...(options.tcp === undefined ? {} : { tcp: options.tcp }), netChannels: options.netChannels ?? false }
    const a = yield* net.host("a", settings)
    const b = yield* net.host("b", settings)
    const link = yield* net.link(a, b, { a: "10.0.0.1/24", b: "10.0.0.2/24", impairments: { delay: Duration.millis(options.delayMillis ?? 1) } })
    return { a, b, sa: makeSockets(a), sb: makeSockets(b), wire: link.wire, devA: link.a, devB: link.b }
  })

/** Sockets connected a → b (port 80), the server's end accepted; `netChannels` as for `pair`. */
export const connected = (options: { readonly sendBuffer?: number; readonly netChannels?: boolean } = {}) =>
  Effect.gen(function*() {
    const p = yield* pair({ netChannels: options.netChannels ?? false })
    const listener = yield* p.sb.listen({ port: 80 })
    const ends = yield* whileClockAdvances(Effect.gen(function*() {
      const client = yield* p.sa.connect({ address: "10.0.0.2", port: 80 }, options.sendBuffer === undefined ? {} : { sendBuffer: options.sendBuffer })
      const server = yield* p.sb.accept(listener)
      return { client, server }
    }))
    if (ends._tag === "Failure") return yield* Effect.die(ends.failure)
    return { ...p, listener, ...ends.success }
  })

/** `n` bytes of a pattern that depends on `seed`. */
export const pattern = (n: number, seed = 7): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed + (i >> 8)) & 0xff)

/** Watches the frames `device` sends (a copy of each). */
export const sentFrames = (host: Host, device: NetDevice): ReadonlyArray<Uint8Array> => {
  const frames: Array<Uint8Array> = []
  host.link.addTap((frame, dev, direction) => {
    if (dev === device && direction === "out") frames.push(frame.toUint8Array())
  })
  return frames
}

/** The TCP flags byte of an Ethernet/IPv4/TCP frame, or undefined for anything else. */
export const tcpFlags = (frame: Uint8Array): number | undefined => {
  if (frame.length < 34 || frame[12] !== 0x08 || frame[13] !== 0x00 || frame[23] !== 6) return undefined
  const ihl = ((frame[14] ?? 0) & 0x0f) * 4
  return frame[14 + ihl + 13]
}

/** TCP flag bits. */
export const FIN = 0x01
export const SYN = 0x02
export const RST = 0x04
export const PSH = 0x08

/** Runs a scoped program under a fresh TestClock with Effect's `Random` seeded by `seed` (for fast-check's async properties). */
export const deterministic = <A, E>(seed: number, program: Effect.Effect<A, E, Scope.Scope>): Promise<A> =>
  Effect.runPromise(program.pipe(Effect.scoped, Random.withSeed(seed), Effect.provide(TestClock.layer())))

