/**
 * One connection's net channel: a bounded single-producer queue of packets
 * (the NAPI poll pushes; Van Jacobson's channel is a ring with a producer
 * and a consumer index) and the latch that wakes its consumer fiber.
 *
 * A channel is `open` while its connection receives (ESTABLISHED,
 * FIN-WAIT-1, FIN-WAIT-2): the classifier queues the flow's segments on it.
 * When the connection stops receiving (the peer's FIN, or CLOSED) the channel closes: the classifier sends the flow the slow path, and what
 * is queued is still processed, once, before the channel leaves the table.
 *
 * Its consumers are the fibers waiting on its connection (`waiters`: they
 * run the queue when the channel wakes them) and, when none waits, its own
 * consumer fiber.
 */
import type { PacketBuffer } from "@netstack/buffers"
import { type ChannelConsumerKind, ChannelWaiters, type ConnectionChannel } from "@netstack/l4"
import { ipv4ToString } from "@netstack/wire"
import { Latch } from "effect"
import type { FlowKey } from "./channel-table.ts"

/** What a channel asks of the net channels that made it. */
export interface NetChannelOwner {
  /** Its connection stopped receiving. */
  readonly close: (channel: NetChannel) => void
  /** Runs what it holds now through TCP input in the caller's fiber (a `kind`); how many. */
  readonly drain: (channel: NetChannel, kind: ChannelConsumerKind) => number
  /** Wakes its consumer fiber once the caller yields (a waiter woken for the queue could not run it). */
  readonly wakeConsumer: (channel: NetChannel) => void
}

/** A connection's net channel. */
export class NetChannel implements FlowKey, ConnectionChannel {
  readonly localAddress: number
  readonly localPort: number
  readonly remoteAddress: number
  readonly remotePort: number
  /** Taking packets (the connection receives); false once closing. */
  open = true
  /** Out of the table: its consumer ends. */
  retired = false
  /** `local:port ← remote:port`, for traces. */
  readonly name: string
  /** What the connection calls when it stops receiving. */
  readonly leave: () => void
  /** Runs the queue in the caller's fiber (a fiber waiting on the connection); how many packets. */
  readonly drain: (kind: ChannelConsumerKind) => number
  /** Hands the queue to the consumer fiber. */
  readonly wakeConsumer: () => void
  /** The fibers waiting on its connection (the connection's `channelWaiters`, set when it opens for one). */
  waiters: ChannelWaiters = new ChannelWaiters()
  /** Open when there are packets to process (and nobody waits on the connection) or the channel closed: the consumer fiber runs. */
  readonly wakeup = Latch.makeUnsafe(false)
  /** A wake-up is scheduled (after a close) and has not run yet. */
  wakePending = false
  /** Queued packets in the current NAPI batch: woken when the batch is done. */
  queuedWake = false
  /** Opens `wakeup` (scheduled by `NetChannels`, so the consumer runs after the caller, never inside it). */
  readonly wakeTask: () => void
  /** Packets queued on it. */
  pushed = 0
  /** Packets TCP input ran for (by a waiting fiber or its consumer, or earlier for the slow path's or a teardown's sake). */
  processed = 0
  /** Packets dropped because it was full. */
  overflows = 0
  private readonly ring: Array<PacketBuffer | undefined>
  private head = 0
  private count = 0

  /** A channel for `flow` holding at most `capacity` packets, run and closed through `owner`. */
  constructor(flow: FlowKey, capacity: number, owner: NetChannelOwner) {
    this.localAddress = flow.localAddress >>> 0
    this.localPort = flow.localPort & 0xffff
    this.remoteAddress = flow.remoteAddress >>> 0
    this.remotePort = flow.remotePort & 0xffff
    this.name = `${ipv4ToString(this.localAddress)}:${this.localPort}←${ipv4ToString(this.remoteAddress)}:${this.remotePort}`
    this.leave = () => owner.close(this)
    this.drain = (kind) => owner.drain(this, kind)
    this.wakeConsumer = () => owner.wakeConsumer(this)
    this.wakeTask = () => {
      this.wakePending = false
      Latch.openUnsafe(this.wakeup)
    }
    this.ring = new Array<PacketBuffer | undefined>(Math.max(1, Math.floor(capacity))).fill(undefined)
  }

  /** Packets waiting. */
  get size(): number {
    return this.count
  }

  /** Most packets it holds. */
  get capacity(): number {
    return this.ring.length
  }

  /** Queues `packet` (the caller wakes the consumer); false (the caller keeps the packet) when full. */
  push(packet: PacketBuffer): boolean {
    const ring = this.ring
    if (this.count === ring.length) {
      this.overflows++
      return false
    }
    ring[(this.head + this.count) % ring.length] = packet
    this.count++
    this.pushed++
    return true
  }

  /** Takes the oldest packet, or undefined when empty. */
  shift(): PacketBuffer | undefined {
    if (this.count === 0) return undefined
    const ring = this.ring
    const packet = ring[this.head]
    ring[this.head] = undefined
    this.head = (this.head + 1) % ring.length
    this.count--
    return packet
  }
}
