/**
 * Sockets as the consumers of their connections' net channels (OSv's
 * `soreceive`, `sosend` and `poll` flush the channel themselves): a
 * `PollSet` waiter, a blocked receive and a blocked send are woken by the
 * channel and run TCP input for what it queued in their own fiber; the
 * readiness they report is the one after that input.
 */
import { describe, expect, it } from "@effect/vitest"
import type { StreamSocket } from "@netstack/sockets"
import { advanceClock, whileClockAdvances } from "@netstack/stack"
import { Effect, Fiber, Result } from "effect"
import { connected, pattern } from "./support/pair.ts"

const NONE = { readable: false, writable: false, error: false, hangup: false, peerClosed: false }

/** Sockets connected a → b (port 80) with net channels on at both hosts, the server's end accepted: b's channel is open. */
const connectedWithChannels = (options: { readonly sendBuffer?: number } = {}) =>
  Effect.tap(connected({ ...options, netChannels: true }), (p) => Effect.sync(() => expect(p.b.channels.stats.channelsOpen).toBe(1)))

describe("sockets consume their connection's net channel", () => {
  it.effect("a PollSet waiter is woken by the channel, runs the segment itself, and reports the socket readable", () =>
    Effect.gen(function*() {
      const { sa, sb, b, client, server } = yield* connectedWithChannels()
      const set = yield* sb.pollSet<StreamSocket>()
      yield* set.add(server, { readable: true })
      const waiting = yield* Effect.forkChild(set.wait())
      yield* advanceClock(5)
      expect(waiting.pollUnsafe()).toBeUndefined()
      expect(server.connection.tcb.channelWaiters.size).toBe(1)
      const before = { ...b.channels.stats.inputsByConsumer }
      yield* sa.send(client, pattern(100))
      const ready = yield* whileClockAdvances(Fiber.join(waiting))
      expect(ready).toEqual(Result.succeed([{ socket: server, events: { ...NONE, readable: true } }]))
      const stats = b.channels.stats
      expect(stats.inputsByConsumer.poller - before.poller).toBe(1)
      expect(stats.inputsByConsumer.consumer - before.consumer).toBe(0)
      expect(stats.waiterWakeups).toBe(1)
      // the data is in the receive buffer: the receive takes it without waiting
      expect(server.connection.tcb.receive.length).toBe(100)
      expect(yield* sb.receive(server)).toEqual(pattern(100))
      expect(server.connection.tcb.channelWaiters.size).toBe(0)
    }).pipe(Effect.scoped))

  it.effect("one wait reports every socket whose channel queued data: polling runs each socket's channel (OSv's sopoll)", () =>
    Effect.gen(function*() {
      const { sa, sb, b, devB, listener, client, server } = yield* connectedWithChannels()
      const second = yield* whileClockAdvances(Effect.gen(function*() {
        const client2 = yield* sa.connect({ address: "10.0.0.2", port: 80 })
        const server2 = yield* sb.accept(listener)
        return { client2, server2 }
      }))
      if (second._tag === "Failure") return yield* Effect.die(second.failure)
      const { client2, server2 } = second.success
      // b's NIC holds its interrupt 200 µs after a frame (ethtool -C rx-usecs): frames arriving together are one NAPI batch
      expect(devB.driver.nic.setCoalescing({ rxUsecs: 200 })).toBeUndefined()
      const set = yield* sb.pollSet<StreamSocket>()
      yield* set.add(server, { readable: true })
      yield* set.add(server2, { readable: true })
      const waiting = yield* Effect.forkChild(set.wait())
      yield* advanceClock(5)
      expect(waiting.pollUnsafe()).toBeUndefined()
      // both segments leave at the same instant and reach b in one NAPI batch
      yield* Effect.all([sa.send(client, pattern(100)), sa.send(client2, pattern(200))])
      const ready = yield* whileClockAdvances(Fiber.join(waiting))
      expect(Result.isSuccess(ready) && ready.success.map((e) => e.socket).sort((x) => (x === server ? -1 : 1))).toEqual([server, server2])
      expect(b.channels.stats.inputsByConsumer.poller).toBe(2)
      expect(b.channels.stats.inputsByConsumer.consumer).toBe(0)
      expect(yield* sb.receive(server2)).toEqual(pattern(200))
    }).pipe(Effect.scoped))

  it.effect("a blocked receive runs the segment itself", () =>
    Effect.gen(function*() {
      const { sa, sb, b, client, server } = yield* connectedWithChannels()
      const receiving = yield* Effect.forkChild(sb.receive(server))
      yield* advanceClock(5)
      expect(receiving.pollUnsafe()).toBeUndefined()
      const before = { ...b.channels.stats.inputsByConsumer }
      yield* sa.send(client, pattern(300))
      const got = yield* whileClockAdvances(Fiber.join(receiving))
      expect(got).toEqual(Result.succeed(pattern(300)))
      expect(b.channels.stats.inputsByConsumer.reader - before.reader).toBe(1)
      expect(b.channels.stats.inputsByConsumer.consumer - before.consumer).toBe(0)
    }).pipe(Effect.scoped))

  it.effect("a send blocked on a full send buffer runs the peer's ACKs itself; every byte arrives", () =>
    Effect.gen(function*() {
      const { a, sa, sb, client, server } = yield* connectedWithChannels({ sendBuffer: 8 * 1024 })
      const data = pattern(64 * 1024)
      const sending = yield* Effect.forkChild(sa.send(client, data))
      const received = yield* whileClockAdvances(Effect.gen(function*() {
        const chunks: Array<Uint8Array> = []
        let total = 0
        while (total < data.length) {
          const chunk = yield* sb.receive(server)
          if (chunk === undefined) break
          chunks.push(chunk)
          total += chunk.length
        }
        return chunks
      }))
      expect(Result.isSuccess(received)).toBe(true)
      if (Result.isSuccess(received)) {
        const bytes = new Uint8Array(data.length)
        let at = 0
        for (const chunk of received.success) {
          bytes.set(chunk, at)
          at += chunk.length
        }
        expect(at).toBe(data.length)
        expect(bytes).toEqual(data)
      }
      expect(yield* whileClockAdvances(Fiber.join(sending))).toEqual(Result.succeed(undefined))
      // the sender waited for room several times (64 KiB through 8 KiB): the ACKs that freed it ran in its fiber
      expect(a.channels.stats.inputsByConsumer.writer).toBeGreaterThan(0)
      expect(a.channels.stats.waiterFallbacks).toBe(0)
    }).pipe(Effect.scoped))
})
