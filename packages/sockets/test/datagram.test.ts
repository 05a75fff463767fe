/**
 * Datagram (UDP) sockets between two hosts: an echo through the Stream and
 * Sink views with message boundaries and addresses kept, and the bounded
 * receive queue: datagrams beyond SO_RCVBUF are dropped and counted, never
 * queued without bound.
 */
import { describe, expect, it } from "@effect/vitest"
import { advanceClock, whileClockAdvances } from "@netstack/stack"
import { Effect, Stream } from "effect"
import { pair, pattern } from "./support/pair.ts"

describe("datagram sockets", () => {
  it.effect("send and receive: an echo server over the Stream, boundaries and addresses kept", () =>
    Effect.gen(function*() {
      const { sa, sb } = yield* pair()
      const server = yield* sb.bind({ port: 7 })
      yield* Effect.forkChild(server.stream().pipe(Stream.runForEach((d) => sb.send(server, d.data, d.from))))
      const client = yield* sa.bind({ address: "10.0.0.1" })
      const sizes = [1, 512, 1472, 3000]
      yield* Stream.run(Stream.fromIterable(sizes.map((n, i) => pattern(n, i))), client.sink({ address: "10.0.0.2", port: 7 }))
      const replies = yield* whileClockAdvances(client.stream().pipe(Stream.take(sizes.length), Stream.runCollect), 1_000)
      expect(replies._tag).toBe("Success")
      if (replies._tag !== "Success") return
      expect(replies.success.map((d) => d.data)).toEqual(sizes.map((n, i) => pattern(n, i)))
      expect(replies.success.map((d) => d.from)).toEqual(sizes.map(() => ({ address: "10.0.0.2", port: 7 })))
      expect(replies.success[0]?.to).toBe("10.0.0.1")
      // A connected socket sends without an address and hears only its peer.
      yield* client.connect({ address: "10.0.0.2", port: 7 })
      expect(yield* client.remoteAddress).toEqual({ address: "10.0.0.2", port: 7 })
      yield* sa.send(client, pattern(9))
      const reply = yield* whileClockAdvances(sa.receive(client), 1_000)
      expect(reply._tag === "Success" && reply.success.data).toEqual(pattern(9))
    }).pipe(Effect.scoped))

  it.effect("a bounded receive queue: what passes SO_RCVBUF is dropped and counted, the rest is received", () =>
    Effect.gen(function*() {
      const { b, sa, sb } = yield* pair()
      // Each datagram is charged its size plus 256 bytes (the skb overhead): two of 500 bytes fit in 2000.
      const server = yield* sb.bind({ port: 9 }, { receiveBuffer: 2000 })
      const client = yield* sa.bind()
      for (let i = 0; i < 20; i++) yield* sa.send(client, pattern(500, i), { address: "10.0.0.2", port: 9 })
      yield* whileClockAdvances(advanceClock(20))
      expect(server.drops).toBe(18)
      expect(b.udp.stats.RcvbufErrors).toBe(18)
      const first = yield* sb.receive(server)
      const second = yield* sb.receive(server)
      expect([first.data, second.data]).toEqual([pattern(500, 0), pattern(500, 1)])
      expect(server.tryReceive()).toBeUndefined()
      // Drained: room again.
      yield* sa.send(client, pattern(500, 99), { address: "10.0.0.2", port: 9 })
      const later = yield* whileClockAdvances(sb.receive(server), 1_000)
      expect(later._tag === "Success" && later.success.data).toEqual(pattern(500, 99))
      expect(server.options.receiveBuffer).toBe(2000)
    }).pipe(Effect.scoped))
})
