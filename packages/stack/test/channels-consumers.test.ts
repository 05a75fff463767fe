/**
 * Who runs a net channel's queue (OSv: the thread blocked in `soreceive`,
 * `sosend` or `poll` flushes the channel itself). A fiber waiting on the
 * connection is woken by the channel through the latch it waits on and runs
 * TCP input itself: one wake-up instead of two (consumer fiber, then
 * reader). With nobody waiting, the channel's consumer fiber runs it, so an
 * idle connection's segments are still processed at once. The trace's
 * `channel-input` detail and `NetChannelStats.inputsByConsumer` say who ran
 * each packet.
 */
import { describe, expect, it } from "@effect/vitest"
import { PacketBuffer } from "@netstack/buffers"
import { awaitAsChannelConsumer } from "@netstack/l4"
import { Effect, Fiber, Latch } from "effect"
import { establishedWithChannel } from "./support/channel-peer.ts"

/** A peer talking to a host with channels on, tracing, the connection (host port 8080) established. */
const established = Effect.gen(function*() {
  const base = yield* establishedWithChannel
  const { host } = base
  /** Who ran each packet the channel queued (the `channel-input` details), in order. */
  const runBy = () => host.trace.records().filter((r) => r.stage === "channel-input").map((r) => r.detail)
  return { ...base, runBy }
})

describe("net channels: the connection's own fibers consume its channel", () => {
  it.effect("a reader blocked on the connection runs the queued segment itself; the consumer fiber is not woken", () =>
    Effect.gen(function*() {
      const { peer, host, connection, runBy } = yield* established
      const reader = yield* peer.fork(connection.read(1000))
      expect(reader.pollUnsafe()).toBeUndefined()
      expect(connection.tcb.channelWaiters.size).toBe(1)
      yield* peer.send({ flags: "P.", data: 100 })
      expect(yield* peer.done(reader)).toHaveLength(100)
      const stats = host.channels.stats
      expect(stats.inputsByConsumer).toEqual({ reader: 1, writer: 0, poller: 0, consumer: 0 })
      expect(stats.waiterWakeups).toBe(1)
      expect(stats.consumerWakeups).toBe(0)
      expect(stats.consumerInputs).toBe(0)
      expect(runBy()).toEqual(["reader"])
      // the fast path's stages, the input in the reader's fiber
      const input = host.trace.records().filter((r) => r.stage === "channel-input").at(-1)
      expect(host.trace.path(input?.packet ?? -1).map((r) => r.stage)).toEqual([
        "device-rx",
        "napi-poll",
        "receive",
        "channel-push",
        "channel-input",
        "tcp-rcv"
      ])
      expect(connection.tcb.channelWaiters.size).toBe(0)
      // TCP's answer is the same whoever ran the input: the data is acknowledged at once (quick-ack)
      expect(peer.takeAll().at(-1)?.ack).toBe(101)
    }))

  it.effect("with nobody waiting, the consumer fiber runs an idle connection's data and its sender's ACKs at once", () =>
    Effect.gen(function*() {
      const { peer, host, connection, runBy } = yield* established
      const t0 = peer.now()
      yield* peer.send({ flags: "P.", data: 100 })
      // processed without any reader: acknowledged at once, the bytes wait in the receive buffer
      expect(connection.tcb.receive.length).toBe(100)
      const ack = peer.takeAll().at(-1)
      expect(ack?.ack).toBe(101)
      expect(ack?.at).toBe(t0)
      // an idle sender: its data written (nobody waits for room), the peer's ACK taken by the consumer fiber
      yield* peer.run(connection.write(new Uint8Array(500)))
      expect(connection.tcb.send.length).toBe(500)
      yield* peer.send({ flags: ".", ack: 501 })
      expect(connection.tcb.send.length).toBe(0)
      expect(connection.tcb.sndUna - connection.tcb.iss).toBe(501)
      const stats = host.channels.stats
      expect(stats.inputsByConsumer).toEqual({ reader: 0, writer: 0, poller: 0, consumer: 2 })
      expect(stats.consumerWakeups).toBe(2)
      expect(stats.waiterWakeups).toBe(0)
      expect(runBy()).toEqual(["consumer", "consumer"])
      expect(yield* peer.run(connection.read(1000))).toHaveLength(100)
    }))

  it.effect("a writer waiting for send-buffer space runs the ACKs that free it itself", () =>
    Effect.gen(function*() {
      const { peer, host, connection, runBy } = yield* established
      connection.setSendBuffer(1000)
      const writer = yield* peer.fork(connection.write(new Uint8Array(3000).fill(7)))
      expect(writer.pollUnsafe()).toBeUndefined()
      expect(connection.tcb.channelWaiters.size).toBe(1)
      expect(peer.takeAll().map((s) => [s.seq, s.length])).toEqual([[1, 1000]])
      // each ACK frees the buffer: the writer, woken by the channel, runs it and writes the next 1000 bytes
      yield* peer.send({ flags: ".", ack: 1001 })
      expect(peer.takeAll().map((s) => [s.seq, s.length])).toEqual([[1001, 1000]])
      expect(writer.pollUnsafe()).toBeUndefined()
      yield* peer.send({ flags: ".", ack: 2001 })
      expect(peer.takeAll().map((s) => [s.seq, s.length])).toEqual([[2001, 1000]])
      // the last 1000 bytes fit: the write returned; the last ACK finds nobody waiting and goes to the consumer fiber
      yield* peer.done(writer)
      yield* peer.send({ flags: ".", ack: 3001 })
      expect(connection.tcb.send.length).toBe(0)
      expect(host.channels.stats.inputsByConsumer).toEqual({ reader: 0, writer: 2, poller: 0, consumer: 1 })
      expect(runBy()).toEqual(["writer", "writer", "consumer"])
    }))

  it.effect("a reader resumed inside TCP input leaves the queue alone: the segments run in order, once, never one inside another", () =>
    Effect.gen(function*() {
      const { peer, host, connection, runBy } = yield* established
      const classifier = host.channels.classifierFor(peer.device)
      const reader = yield* peer.fork(connection.read(1000))
      // two segments queued (the poll's batch is not over), then the FIN of the same batch by the slow path
      expect(classifier.classify(PacketBuffer.fromBytes(peer.frame({ flags: "P.", data: 100 }), 64))).toBe(true)
      expect(classifier.classify(PacketBuffer.fromBytes(peer.frame({ flags: "P.", data: 200 }), 64))).toBe(true)
      const traced = host.trace.records().length
      host.link.receive(peer.device, PacketBuffer.fromBytes(peer.frame({ flags: "F." }), 64))
      // the FIN's flush runs both; the first one's data resumes the reader in the middle of its TCP input: it reads
      // that, and runs nothing itself
      expect(runBy()).toEqual(["flush", "flush"])
      const inputs = host.trace.records().slice(traced).filter((r) => r.stage === "tcp-rcv").map((r) => `${r.detail} ${r.length}`)
      expect(inputs).toEqual(["channel 120", "channel 220", "slow 20"])
      expect(yield* peer.done(reader)).toHaveLength(100)
      expect(host.channels.stats.inputsByConsumer).toEqual({ reader: 0, writer: 0, poller: 0, consumer: 0 })
      expect(host.channels.stats.flushedForSlowPath).toBe(2)
      classifier.batchDone()
      yield* peer.settle
      expect(yield* peer.run(connection.read(1000))).toHaveLength(200)
      expect(yield* peer.run(connection.read(1000))).toBeUndefined()
      expect(connection.state).toBe("CLOSE-WAIT")
      expect(host.channels.channels()).toEqual([])
    }))

  it.effect("a waiter woken for the queue that stops waiting without running it hands it to the consumer fiber", () =>
    Effect.gen(function*() {
      const { peer, host, connection, channel, runBy } = yield* established
      const tcb = connection.tcb
      // a waiter whose wait goes on past its latch (as a poll's race may), then is interrupted
      const latch = Latch.makeUnsafe(false)
      const stuck = yield* peer.fork(awaitAsChannelConsumer(tcb, "poller", latch, Latch.await(latch).pipe(Effect.andThen(Effect.never))))
      expect(tcb.channelWaiters.size).toBe(1)
      yield* peer.send({ flags: "P.", data: 100 })
      // woken by the channel, but not run yet: the segment waits, unacknowledged
      expect(host.channels.stats.waiterWakeups).toBe(1)
      expect(channel.size).toBe(1)
      expect(tcb.channelWaiters.size).toBe(0)
      yield* Fiber.interrupt(stuck)
      yield* peer.settle
      expect(channel.size).toBe(0)
      expect(host.channels.stats.waiterFallbacks).toBe(1)
      expect(host.channels.stats.inputsByConsumer).toEqual({ reader: 0, writer: 0, poller: 0, consumer: 1 })
      expect(runBy()).toEqual(["consumer"])
      expect(peer.takeAll().at(-1)?.ack).toBe(101)
      expect(yield* peer.run(connection.read(1000))).toHaveLength(100)
    }))

  it.effect("a reader interrupted while waiting leaves the registry: later segments go to the consumer fiber", () =>
    Effect.gen(function*() {
      const { peer, host, connection } = yield* established
      const reader = yield* peer.fork(connection.read(1000))
      expect(connection.tcb.channelWaiters.size).toBe(1)
      yield* Fiber.interrupt(reader)
      expect(connection.tcb.channelWaiters.size).toBe(0)
      yield* peer.send({ flags: "P.", data: 100 })
      expect(host.channels.stats.inputsByConsumer.consumer).toBe(1)
      expect(host.channels.stats.waiterFallbacks).toBe(0)
      expect(connection.tcb.receive.length).toBe(100)
    }))
})
