/**
 * Net channels' ordering and teardown races, made exact: segments are put
 * on a connection's channel by calling the host's classifier directly
 * (what the NAPI poll does), and the consumer fiber cannot run until the
 * test yields, so each race is set up in one synchronous step.
 *
 * - Data queued when the FIN arrives by the slow path: the data is run
 *   first, in order, then the FIN; every byte is read once, ACKs never go
 *   backwards, nothing is taken out of order.
 * - An abort with data queued: the queued segments are still run, once
 *   (each gets the RST a closed port gives, RFC 9293 §3.10.7.1), by the
 *   consumer; a segment arriving meanwhile takes the slow path, after them.
 */
import { describe, expect, it } from "@effect/vitest"
import { PacketBuffer } from "@netstack/buffers"
import { Effect } from "effect"
import { establishedWithChannel } from "./support/channel-peer.ts"

const established = Effect.gen(function*() {
  const base = yield* establishedWithChannel
  const { peer, host } = base
  const classifier = host.channels.classifierFor(peer.device)
  /** What the driver's NAPI poll does with a received frame: the classifier, then (if it declines) the link layer. */
  const arrive = (frame: Uint8Array): "fast" | "slow" => {
    if (classifier.classify(PacketBuffer.fromBytes(frame, 64))) return "fast"
    host.link.receive(peer.device, PacketBuffer.fromBytes(frame, 64))
    return "slow"
  }
  /** The end of the poll's batch: the consumers of the channels it filled are woken. */
  const endBatch = () => classifier.batchDone()
  /** The order TCP input ran segments in: "channel" or "slow", with their lengths. */
  const inputs = () => host.trace.records().filter((r) => r.stage === "tcp-rcv").map((r) => `${r.detail} ${r.length}`)
  return { ...base, arrive, endBatch, inputs }
})

describe("net channels: ordering and teardown", () => {
  it.effect("data queued on the channel when the FIN arrives by the slow path is run first, in order, exactly once", () =>
    Effect.gen(function*() {
      const { peer, host, connection, channel, arrive, inputs } = yield* established
      const before = { ...host.tcp.stats }
      const traced = inputs().length
      expect(arrive(peer.frame({ flags: "P.", data: 1000 }))).toBe("fast")
      expect(arrive(peer.frame({ flags: "P.", data: 1000 }))).toBe("fast")
      expect(arrive(peer.frame({ flags: "P.", data: 500 }))).toBe("fast")
      expect(channel.size).toBe(3)
      expect(channel.processed).toBe(0)
      // the FIN, in the same poll: TCP runs the three queued segments first, then the FIN
      expect(arrive(peer.frame({ flags: "F." }))).toBe("slow")
      expect(inputs().slice(traced)).toEqual(["channel 1020", "channel 1020", "channel 520", "slow 20"])
      expect(channel.size).toBe(0)
      expect(channel.processed).toBe(3)
      expect(host.channels.stats.flushedForSlowPath).toBe(3)
      expect(connection.state).toBe("CLOSE-WAIT")
      expect(connection.tcb.rcvNxt - connection.tcb.irs).toBe(1 + 2500 + 1)
      // the channel closed at CLOSE-WAIT; its consumer finds nothing left and takes it out of the table
      expect(channel.open).toBe(false)
      yield* peer.settle
      expect(host.channels.channels()).toEqual([])
      expect(host.channels.stats.consumerInputs).toBe(0)
      expect(channel.processed).toBe(3)
      // every byte once, in order; every ACK moves forward and the last covers the FIN
      const read = yield* peer.run(connection.readAll())
      expect(read.length).toBe(2500)
      const acks = peer.takeAll().map((s) => s.ack)
      expect(acks.length).toBeGreaterThan(0)
      expect(acks).toEqual([...acks].sort((x, y) => x - y))
      expect(new Set(acks).size).toBe(acks.length)
      expect(acks.at(-1)).toBe(2502)
      expect(host.tcp.stats.InSegs - before.InSegs).toBe(4)
      expect(host.tcp.stats.TCPOFOQueue - before.TCPOFOQueue).toBe(0)
    }))

  it.effect("an abort with data queued: the queued segments are run once, after the abort, and answered with RSTs", () =>
    Effect.gen(function*() {
      const { peer, host, connection, channel, arrive, inputs } = yield* established
      const before = { ...host.tcp.stats }
      const traced = inputs().length
      for (const size of [100, 200, 300]) expect(arrive(peer.frame({ flags: "P.", data: size }))).toBe("fast")
      yield* connection.abort()
      expect(connection.state).toBe("CLOSED")
      expect(channel.open).toBe(false)
      expect(channel.size).toBe(3) // not run yet, not lost
      // a segment arriving while the channel is being torn down: the slow path, after what the channel holds
      expect(arrive(peer.frame({ flags: "P.", data: 400 }))).toBe("slow")
      expect(host.channels.stats.slowPath["channel-closing"]).toBe(1)
      expect(inputs().slice(traced)).toEqual(["channel 120", "channel 220", "channel 320", "slow 420"])
      expect(channel.processed).toBe(3)
      yield* peer.settle
      // nothing is run twice: the consumer found the channel empty
      expect(host.channels.stats.consumerInputs).toBe(0)
      expect(channel.processed).toBe(3)
      expect(inputs().length - traced).toBe(4)
      expect(host.channels.channels()).toEqual([])
      // the abort's RST, then one RST per segment for the closed connection (RFC 9293 §3.10.7.1: <SEQ=SEG.ACK><CTL=RST>;
      // the listener sees a stray ACK, RFC 9293 §3.10.7.2, and answers the same way)
      const resets = peer.takeAll()
      expect(resets.map((s) => s.flags)).toEqual(["R.", "R", "R", "R", "R"])
      expect(resets.slice(1).every((s) => s.seq === resets[0]?.seq)).toBe(true)
      expect(host.tcp.stats.InSegs - before.InSegs).toBe(4)
      expect(host.tcp.stats.OutRsts - before.OutRsts).toBe(5)
    }))

  it.effect("an abort with data queued and nothing else arriving: the consumer runs the queue once, then the channel leaves the table", () =>
    Effect.gen(function*() {
      const { peer, host, connection, channel, arrive, inputs } = yield* established
      const before = { ...host.tcp.stats }
      const traced = inputs().length
      for (const size of [100, 200]) expect(arrive(peer.frame({ flags: "P.", data: size }))).toBe("fast")
      yield* connection.abort()
      expect(channel.size).toBe(2)
      expect(host.channels.channels()).toEqual([channel])
      yield* peer.settle
      expect(inputs().slice(traced)).toEqual(["channel 120", "channel 220"])
      expect(host.channels.stats.consumerInputs).toBe(2)
      expect(channel.processed).toBe(2)
      expect(host.channels.channels()).toEqual([])
      expect(host.tcp.stats.InSegs - before.InSegs).toBe(2)
      expect(host.tcp.stats.OutRsts - before.OutRsts).toBe(3)
      expect(peer.takeAll().map((s) => s.flags)).toEqual(["R.", "R", "R"])
    }))

  it.effect("data queued when the application closes: the channel stays (FIN-WAIT-1 still receives) and the data is taken", () =>
    Effect.gen(function*() {
      const { peer, host, connection, channel, arrive, endBatch } = yield* established
      expect(arrive(peer.frame({ flags: "P.", data: 300 }))).toBe("fast")
      yield* connection.shutdown()
      expect(connection.state).toBe("FIN-WAIT-1")
      expect(channel.open).toBe(true)
      expect(channel.size).toBe(1)
      endBatch()
      expect(host.channels.stats.consumerInputs).toBe(1)
      expect(yield* peer.run(connection.read(1000))).toHaveLength(300)
      // the peer's ACK of our FIN and its data keep the fast path in FIN-WAIT-2
      const fin = peer.takeAll().find((s) => s.flags.includes("F"))
      expect(fin).toBeDefined()
      expect(arrive(peer.frame({ flags: "P.", data: 50 }))).toBe("fast")
      endBatch()
      yield* peer.settle
      expect(connection.state).toBe("FIN-WAIT-2")
      expect(yield* peer.run(connection.read(1000))).toHaveLength(50)
      // its FIN ends the channel (TIME-WAIT)
      expect(arrive(peer.frame({ flags: "F." }))).toBe("slow")
      yield* peer.settle
      expect(connection.state).toBe("TIME-WAIT")
      expect(host.channels.channels()).toEqual([])
    }))
})
