/**
 * Net channels on a host, segment by segment (the scripted peer of
 * `support/tcp-peer.ts`, TestClock): which path each packet takes, as the
 * trace shows it (the fast path skips the link and IPv4 stages; SYN, FIN,
 * RST and unknown flows go through them); the usual counters read the same
 * whichever path was taken; the per-host switch; a full channel drops.
 */
import { describe, expect, it } from "@effect/vitest"
import { PacketBuffer } from "@netstack/buffers"
import type { NetTrace } from "@netstack/device"
import { captureToArray } from "@netstack/l2"
import type { Host } from "@netstack/stack"
import { Effect } from "effect"
import { TcpPeer } from "./support/tcp-peer.ts"

/** The stages the packet that last recorded `stage` went through (and the details), in order. */
const pathOfLast = (trace: NetTrace, stage: string): ReadonlyArray<string> => {
  const hit = trace.records().filter((r) => r.stage === stage).at(-1)
  if (hit === undefined) return []
  return trace.path(hit.packet).map((r) => (r.stage === "channel-slow" || r.stage === "tcp-rcv" ? `${r.stage}(${r.detail})` : r.stage))
}

const L2_L3 = ["l2-rx", "ip-rcv", "ip-local"]

/** A peer talking to a host with channels on, the connection (host port 8080) established. */
const established = (options: { readonly netChannels?: boolean; readonly capacity?: number } = {}) =>
  Effect.gen(function*() {
    const peer = yield* TcpPeer.make({ tcp: { timestamps: false } })
    if (options.capacity !== undefined) peer.host.channels.capacity = options.capacity
    peer.host.channels.enabled = options.netChannels ?? true
    const { connection } = yield* peer.establishPassive({ syn: { mss: 1460 } })
    return { peer, host: peer.host, connection }
  })

/** Every counter a host keeps, but the channels' own. */
const counters = (host: Host, peer: TcpPeer) => ({
  link: { rxPackets: peer.device.stats.rxPackets, rxBytes: peer.device.stats.rxBytes, rxDropped: peer.device.stats.rxDropped },
  ip: { ...host.ipv4.stats },
  tcp: { ...host.tcp.stats },
  drops: host.link.drops.snapshot()
})

describe("net channels: the path a packet takes", () => {
  it.effect("a data segment of an established flow skips the link and IPv4 stages; SYN, FIN, RST and unknown flows go through them", () =>
    Effect.gen(function*() {
      const peer = yield* TcpPeer.make({ tcp: { timestamps: false } })
      peer.host.channels.enabled = true
      yield* peer.host.startTracing()
      const trace = peer.host.trace
      const { connection } = yield* peer.establishPassive({ syn: { mss: 1460 } })
      // the SYN: a control segment, before any channel
      expect(trace.path(1).map((r) => r.stage)).toEqual(expect.arrayContaining(["device-rx", "receive", "channel-slow", ...L2_L3, "tcp-rcv"]))
      expect(trace.path(1).find((r) => r.stage === "channel-slow")?.detail).toBe("tcp-control")

      yield* peer.send({ flags: "P.", data: 100 })
      expect(pathOfLast(trace, "channel-push")).toEqual([
        "device-rx",
        "napi-poll",
        "receive",
        "channel-push",
        "channel-input",
        "tcp-rcv(channel)"
      ])
      expect(yield* peer.run(connection.read(1000))).toHaveLength(100)

      // an unknown flow (another peer port): the slow path, and TCP answers it with an RST
      yield* peer.send({ flags: "P.", data: 10, sourcePort: 41000 })
      expect(pathOfLast(trace, "channel-slow")).toEqual([
        "device-rx",
        "napi-poll",
        "receive",
        "channel-slow(no-channel)",
        ...L2_L3,
        "tcp-rcv(slow)"
      ])
      expect(peer.takeAll().filter((s) => s.flags === "R")).toHaveLength(1)

      // the FIN: the slow path; the channel closes (CLOSE-WAIT), the flow's next packets go the slow path too
      yield* peer.send({ flags: "F.", seq: 101 })
      expect(pathOfLast(trace, "channel-slow")).toEqual(["device-rx", "napi-poll", "receive", "channel-slow(tcp-control)", ...L2_L3, "tcp-rcv(slow)"])
      expect(connection.state).toBe("CLOSE-WAIT")
      expect(peer.host.channels.channels()).toEqual([])
      yield* peer.send({ flags: ".", seq: 102 })
      expect(pathOfLast(trace, "channel-slow")).toEqual(["device-rx", "napi-poll", "receive", "channel-slow(no-channel)", ...L2_L3, "tcp-rcv(slow)"])

      // an RST for a flow with a channel: the slow path
      const second = yield* TcpPeer.make({ tcp: { timestamps: false } })
      second.host.channels.enabled = true
      yield* second.host.startTracing()
      const other = yield* second.establishPassive({ syn: { mss: 1460 } })
      expect(second.host.channels.stats.channelsOpen).toBe(1)
      yield* second.send({ flags: "R", seq: 1 })
      expect(pathOfLast(second.host.trace, "channel-slow")).toEqual(["device-rx", "napi-poll", "receive", "channel-slow(tcp-control)", ...L2_L3, "tcp-rcv(slow)"])
      expect(other.connection.state).toBe("CLOSED")
      expect(second.host.channels.stats.channelsOpen).toBe(0)
      expect(second.host.channels.stats.fastPath).toBe(0)
      expect(peer.host.channels.stats.fastPath).toBe(1)
    }))

  it.effect("the interface, IPv4 and TCP counters and the host's replies are the same on either path", () =>
    Effect.gen(function*() {
      const script = (netChannels: boolean) =>
        Effect.gen(function*() {
          const { peer, host, connection } = yield* established({ netChannels })
          const t0 = peer.now()
          // a burst (one NAPI poll), single segments, an out-of-order one, a duplicate, a bad checksum, then FIN
          for (let i = 0; i < 5; i++) peer.inject(peer.frame({ flags: "P.", data: 500 }))
          yield* peer.settle
          yield* peer.send({ flags: "P.", seq: 2501 + 300, data: 300 })
          yield* peer.send({ flags: "P.", seq: 2501, data: 300 })
          yield* peer.send({ flags: "P.", seq: 1, data: 500 })
          yield* peer.send({ flags: "P.", data: 100, badChecksum: true })
          yield* peer.send({ flags: "P.", seq: 3101, data: 100 })
          yield* peer.send({ flags: "F.", seq: 3201 })
          const read = yield* peer.run(connection.readAll())
          yield* peer.after(1000)
          const replies = peer.takeAll().map((s) => ({ at: s.at - t0, flags: s.flags, seq: s.seq, ack: s.ack, window: s.window, length: s.length }))
          const { fastPath, consumerInputs, consumerBatches } = host.channels.stats
          return { read: read.length, replies, counters: counters(host, peer), fastPath, consumerInputs, consumerBatches }
        })
      const off = yield* script(false)
      const on = yield* script(true)
      expect(off.fastPath).toBe(0)
      expect(on.fastPath).toBe(10) // every data segment, the bad checksum one too (TCP input, shared, catches it)
      // the burst came in fewer NAPI polls than segments: the channel's consumer ran each poll's share as one batch
      expect(on.consumerInputs).toBe(10)
      expect(on.consumerBatches).toBeLessThan(on.consumerInputs)
      expect(on.read).toBe(3200)
      expect(on.counters).toEqual(off.counters)
      expect(on.replies).toEqual(off.replies)
      expect(on.counters.tcp.InCsumErrors).toBe(1)
      expect(on.counters.ip.InDelivers).toBe(on.counters.ip.InReceives)
    }))
})

describe("net channels: the per-host switch", () => {
  it.effect("turning channels off runs what is queued and removes every channel; turning them on gives established connections theirs", () =>
    Effect.gen(function*() {
      const { peer, host, connection } = yield* established()
      const channels = host.channels
      expect(channels.channels()).toHaveLength(1)
      expect(connection.tcb.channel).toBeDefined()
      // two segments queued on the channel (the consumer has not run: nothing yielded)
      const classifier = channels.classifierFor(peer.device)
      const classify = (packet: PacketBuffer) => classifier.classify(packet)
      expect(classify(PacketBuffer.fromBytes(peer.frame({ flags: "P.", data: 10 }), 64))).toBe(true)
      expect(classify(PacketBuffer.fromBytes(peer.frame({ flags: "P.", data: 20 }), 64))).toBe(true)
      const channel = channels.channels()[0]
      expect(channel?.size).toBe(2)
      yield* channels.disable()
      expect(channel?.size).toBe(0)
      expect(channel?.processed).toBe(2)
      expect(channels.stats.flushedAtDisable).toBe(2)
      expect(channels.channels()).toEqual([])
      expect(connection.tcb.channel).toBeUndefined()
      expect(connection.tcb.rcvNxt - connection.tcb.irs).toBe(1 + 30)
      // off: the classifier takes nothing (and counts nothing)
      const slowBefore = channels.stats.slowPathTotal
      expect(classify(PacketBuffer.fromBytes(peer.frame({ flags: "P.", data: 5 }), 64))).toBe(false)
      expect(channels.stats.slowPathTotal).toBe(slowBefore)
      yield* peer.settle
      expect(channels.stats.consumerInputs).toBe(0)
      // on again: the established connection gets a channel
      yield* channels.enable()
      expect(channels.channels()).toHaveLength(1)
      expect(channels.stats.channelsOpen).toBe(1)
      yield* peer.send({ flags: "P.", seq: 31, data: 40 })
      expect(channels.stats.fastPath).toBe(3)
      expect(yield* peer.run(connection.read(1000))).toHaveLength(70)
    }))

  it.effect("a host built with netChannels: true runs them from the start", () =>
    Effect.gen(function*() {
      const { Network } = yield* Effect.promise(() => import("@netstack/stack"))
      const net = Network.make()
      const on = yield* net.host("on", { netChannels: true })
      const off = yield* net.host("off")
      const sized = yield* net.host("sized", { netChannels: { enabled: true, capacity: 8, batch: 4 } })
      expect([on.channels.enabled, off.channels.enabled, sized.channels.enabled]).toEqual([true, false, true])
      expect([sized.channels.capacity, sized.channels.batch]).toEqual([8, 4])
    }))
})

describe("net channels: a full channel", () => {
  it.effect("drops what does not fit, counted under channel.overflow; TCP recovers it like any loss", () =>
    Effect.gen(function*() {
      const { peer, host, connection } = yield* established({ capacity: 2 })
      yield* host.startTracing()
      const classifier = host.channels.classifierFor(peer.device)
      const frames = [0, 1, 2].map(() => peer.frame({ flags: "P.", data: 100 }))
      for (const frame of frames) expect(classifier.classify(PacketBuffer.fromBytes(frame, 64))).toBe(true)
      classifier.batchDone()
      expect(host.channels.stats.overflowDrops).toBe(1)
      expect(host.link.drops.get("channel.overflow")).toBe(1)
      expect(host.trace.records().filter((r) => r.stage === "channel-drop")).toHaveLength(1)
      yield* peer.settle
      expect(yield* peer.run(connection.read(1000))).toHaveLength(200)
      // the peer sends the third again
      peer.takeAll()
      yield* peer.send({ flags: "P.", seq: 201, data: 100 })
      expect(yield* peer.run(connection.read(1000))).toHaveLength(100)
      expect(peer.takeAll().at(-1)?.ack).toBe(301)
    }))
})

describe("net channels: packet taps", () => {
  it.effect("while a capture watches the host, an established flow's segments take the slow path so the capture sees them; without it they take the channel", () =>
    Effect.gen(function*() {
      const { peer, host, connection } = yield* established()
      const capture = yield* captureToArray(host.link, { direction: "in" })
      yield* peer.send({ flags: "P.", data: 100 })
      expect(host.channels.stats.fastPath).toBe(0)
      expect(host.channels.stats.slowPath.tapped).toBe(1)
      expect(capture.frames.filter((f) => f.data.length >= 154)).toHaveLength(1)
      capture.stop()
      yield* peer.send({ flags: "P.", data: 100, seq: 101 })
      expect(host.channels.stats.fastPath).toBe(1)
      expect(yield* peer.run(connection.read(1000))).toHaveLength(200)
    }))
})
