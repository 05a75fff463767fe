/**
 * Readiness of single sockets and of an epoll-like `PollSet`, driven by
 * real traffic between two hosts: readable after data arrives, writable
 * once acknowledged data frees send-buffer space, peer-closed after the
 * peer's FIN and hung up once both sides shut down, error after an RST; a
 * listener readable while a connection waits; UDP readable on a datagram;
 * level- and edge-triggered waits, timeouts, and the set's ctl errors.
 */
import { describe, expect, it } from "@effect/vitest"
import type { Pollable, StreamSocket } from "@netstack/sockets"
import { advanceClock, whileClockAdvances } from "@netstack/stack"
import { Effect, Fiber, Result } from "effect"
import { connected, pair, pattern } from "./support/pair.ts"

const NONE = { readable: false, writable: false, error: false, hangup: false, peerClosed: false }

describe("readiness of one socket", () => {
  it.effect("readable once data arrives, and no longer once it is read", () =>
    Effect.gen(function*() {
      const { sa, sb, client, server } = yield* connected()
      expect(server.readiness()).toEqual({ ...NONE, writable: true })
      const waiter = yield* Effect.forkChild(sb.poll(server, { readable: true }))
      yield* advanceClock(5)
      expect(waiter.pollUnsafe()).toBeUndefined()
      yield* sa.send(client, pattern(100))
      const ready = yield* whileClockAdvances(Fiber.join(waiter))
      expect(ready).toEqual(Result.succeed({ ...NONE, readable: true }))
      yield* sb.receive(server)
      expect(server.readiness().readable).toBe(false)
    }).pipe(Effect.scoped))

  it.effect("writable again once the peer's ACKs free send-buffer space", () =>
    Effect.gen(function*() {
      const { sa, client, wire } = yield* connected({ sendBuffer: 16 * 1024 })
      wire.partition()
      yield* sa.send(client, pattern(16 * 1024))
      // A full send buffer: not writable (Linux `sk_stream_is_writeable`).
      expect(client.readiness().writable).toBe(false)
      const waiter = yield* Effect.forkChild(sa.poll(client, { writable: true }))
      yield* advanceClock(50)
      expect(waiter.pollUnsafe()).toBeUndefined()
      wire.heal()
      const ready = yield* whileClockAdvances(Fiber.join(waiter), 10_000)
      expect(ready).toEqual(Result.succeed({ ...NONE, writable: true }))
      expect(client.connection.tcb.send.length).toBeLessThan(8 * 1024)
    }).pipe(Effect.scoped))

  it.effect("peer-closed after the peer's FIN (EPOLLRDHUP), hung up once both directions are shut (EPOLLHUP)", () =>
    Effect.gen(function*() {
      const { sa, sb, client, server } = yield* connected()
      const waiter = yield* Effect.forkChild(sb.poll(server, { peerClosed: true }))
      yield* sa.shutdown(client, "write")
      const ready = yield* whileClockAdvances(Fiber.join(waiter))
      expect(ready).toEqual(Result.succeed({ ...NONE, peerClosed: true }))
      // EOF reads as readable too; the server can still write: not hung up.
      expect(server.readiness()).toEqual({ ...NONE, readable: true, writable: true, peerClosed: true })
      yield* sb.shutdown(server, "write")
      expect(server.readiness()).toEqual({ readable: true, writable: true, error: false, hangup: true, peerClosed: true })
    }).pipe(Effect.scoped))

  it.effect("error (and hang-up) after the peer's RST", () =>
    Effect.gen(function*() {
      const { sa, client, server } = yield* connected()
      const waiter = yield* Effect.forkChild(sa.poll(client, { readable: false }))
      yield* server.abort
      const ready = yield* whileClockAdvances(Fiber.join(waiter))
      expect(ready).toEqual(Result.succeed({ ...NONE, error: true, hangup: true }))
      expect(client.readiness()).toEqual({ readable: true, writable: true, error: true, hangup: true, peerClosed: true })
      const read = yield* Effect.result(sa.receive(client))
      expect(Result.isFailure(read) && read.failure.errno).toBe("ECONNRESET")
    }).pipe(Effect.scoped))

  it.effect("a listener is readable while a connection waits to be accepted; a UDP socket while a datagram waits", () =>
    Effect.gen(function*() {
      const { sa, sb } = yield* pair()
      const listener = yield* sb.listen({ port: 80 })
      expect(listener.readiness()).toEqual(NONE)
      const waiter = yield* Effect.forkChild(sb.poll(listener, { readable: true }))
      const connecting = yield* Effect.forkChild(sa.connect({ address: "10.0.0.2", port: 80 }))
      expect(yield* whileClockAdvances(Fiber.join(waiter))).toEqual(Result.succeed({ ...NONE, readable: true }))
      yield* sb.accept(listener)
      expect(listener.readiness()).toEqual(NONE)
      yield* Fiber.join(connecting)

      const udp = yield* sb.bind({ port: 53 })
      expect(udp.readiness()).toEqual({ ...NONE, writable: true })
      const sender = yield* sa.bind()
      const udpWaiter = yield* Effect.forkChild(sb.poll(udp, { readable: true }))
      yield* sa.send(sender, pattern(10), { address: "10.0.0.2", port: 53 })
      expect(yield* whileClockAdvances(Fiber.join(udpWaiter))).toEqual(Result.succeed({ ...NONE, readable: true }))
      yield* sb.close(udp)
      expect(udp.readiness()).toEqual({ ...NONE, hangup: true })

      // A connected socket's pending ICMP error (port unreachable) is EPOLLERR until a call takes it.
      const connectedUdp = yield* sa.bind()
      yield* connectedUdp.connect({ address: "10.0.0.2", port: 53 })
      const errorWaiter = yield* Effect.forkChild(sa.poll(connectedUdp, {}))
      yield* sa.send(connectedUdp, pattern(10))
      expect(yield* whileClockAdvances(Fiber.join(errorWaiter))).toEqual(Result.succeed({ ...NONE, error: true }))
      const taken = yield* Effect.result(sa.receive(connectedUdp))
      expect(Result.isFailure(taken) && taken.failure.errno).toBe("ECONNREFUSED")
      expect(connectedUdp.readiness()).toEqual({ ...NONE, writable: true })
    }).pipe(Effect.scoped))
})

describe("PollSet", () => {
  it.effect("level-triggered: reports every socket ready, again on each wait while it stays ready", () =>
    Effect.gen(function*() {
      const { sa, sb, client, server, listener } = yield* connected()
      const set = yield* sb.pollSet<Pollable>()
      yield* set.add(server, { readable: true })
      yield* set.add(listener, { readable: true })
      expect(yield* set.wait({ timeout: 0 })).toEqual([])
      const waiting = yield* Effect.forkChild(set.wait())
      yield* sa.send(client, pattern(10))
      const first = yield* whileClockAdvances(Fiber.join(waiting))
      expect(first).toEqual(Result.succeed([{ socket: server, events: { ...NONE, readable: true } }]))
      // Still unread: reported again.
      expect(yield* set.wait({ timeout: 0 })).toEqual([{ socket: server, events: { ...NONE, readable: true } }])
      // A second client: the listener is ready too.
      yield* Effect.forkChild(sa.connect({ address: "10.0.0.2", port: 80 }))
      yield* advanceClock(10)
      const both = yield* set.wait()
      expect(both.map((e) => e.socket).sort((x, y) => (x === server ? -1 : y === server ? 1 : 0))).toEqual([server, listener])
      yield* sb.receive(server)
      expect((yield* set.wait()).map((e) => e.socket)).toEqual([listener])
    }).pipe(Effect.scoped))

  it.effect("modify and remove change what is reported; a wait in progress sees a socket added ready; ctl errors", () =>
    Effect.gen(function*() {
      const { sb, server } = yield* connected()
      const set = yield* sb.pollSet<StreamSocket>()
      yield* set.add(server, { readable: true })
      const waiting = yield* Effect.forkChild(set.wait())
      yield* advanceClock(5)
      expect(waiting.pollUnsafe()).toBeUndefined()
      // Writable is up: asking for it ends the wait at once.
      yield* set.modify(server, { readable: true, writable: true })
      const ready = yield* whileClockAdvances(Fiber.join(waiting))
      expect(ready).toEqual(Result.succeed([{ socket: server, events: { ...NONE, writable: true } }]))
      yield* set.remove(server)
      const removed = yield* Effect.forkChild(set.wait({ timeout: "10 millis" }))
      yield* advanceClock(20)
      expect(yield* Fiber.join(removed)).toEqual([])
      expect(Result.isFailure(yield* Effect.result(set.remove(server)))).toBe(true)
      const again = yield* Effect.result(Effect.andThen(set.add(server, { readable: true }), set.add(server, { readable: true })))
      expect(Result.isFailure(again) && again.failure.errno).toBe("EEXIST")
      const missing = yield* Effect.result(set.modify(server, { writable: true }).pipe(Effect.andThen(set.remove(server)), Effect.andThen(set.modify(server, {}))))
      expect(Result.isFailure(missing) && missing.failure.errno).toBe("ENOENT")
      const zero = yield* Effect.result(set.wait({ maxEvents: 0 }))
      expect(Result.isFailure(zero) && zero.failure.errno).toBe("EINVAL")
    }).pipe(Effect.scoped))

  it.effect("edge-triggered: a socket is reported when it becomes ready, not again until it became unready and ready again", () =>
    Effect.gen(function*() {
      const { sa, sb, client, server } = yield* connected()
      const set = yield* sb.pollSet<StreamSocket>()
      yield* set.add(server, { readable: true }, { edgeTriggered: true })
      yield* sa.send(client, pattern(10))
      yield* advanceClock(5)
      expect(yield* set.wait({ timeout: 0 })).toEqual([{ socket: server, events: { ...NONE, readable: true } }])
      // Still readable, but no new edge.
      expect(yield* set.wait({ timeout: 0 })).toEqual([])
      const waiting = yield* Effect.forkChild(set.wait())
      yield* advanceClock(5)
      expect(waiting.pollUnsafe()).toBeUndefined()
      // Drained (level falls), then new data (level rises): an edge.
      yield* sb.receive(server)
      yield* advanceClock(1)
      expect(waiting.pollUnsafe()).toBeUndefined()
      yield* sa.send(client, pattern(10, 2))
      const ready = yield* whileClockAdvances(Fiber.join(waiting))
      expect(ready).toEqual(Result.succeed([{ socket: server, events: { ...NONE, readable: true } }]))
    }).pipe(Effect.scoped))

  it.effect("maxEvents: every ready socket gets its turn across waits", () =>
    Effect.gen(function*() {
      const { sa, sb } = yield* pair()
      const sockets = yield* Effect.forEach([1, 2, 3], (port) => sb.bind({ port }))
      const sender = yield* sa.bind()
      const set = yield* sb.pollSet()
      for (const socket of sockets) {
        yield* set.add(socket, { readable: true })
        yield* sa.send(sender, pattern(4), { address: "10.0.0.2", port: sockets.indexOf(socket) + 1 })
      }
      yield* advanceClock(10)
      const seen = new Set<Pollable>()
      for (let i = 0; i < 3; i++) for (const event of yield* set.wait({ maxEvents: 1 })) seen.add(event.socket)
      expect(seen.size).toBe(3)
    }).pipe(Effect.scoped))
})
