/**
 * A host's net-channel counters. What the slow path counts on the way
 * through the layers the fast path skips is counted by the fast path in
 * the same places, so the usual counters read the same whichever path a
 * packet took: the interface's `rxPackets`/`rxBytes` (`ip -s link`), IPv4's
 * `InReceives` and `InDelivers` (`/proc/net/snmp`), TCP's `InSegs` and the
 * rest (TCP input is shared). These counters say which path was taken.
 */
import type { ChannelConsumerKind } from "@netstack/l4"
import { type SlowPathReason, slowPathReasons } from "./classifier.ts"

/** Counters of a host's net channels. */
export class NetChannelStats {
  /** Packets the classifier queued on a channel (the fast path). */
  fastPath = 0
  /** Packets the classifier left to the slow path, by reason (only while channels are on). */
  readonly slowPath: Record<SlowPathReason, number> = {
    device: 0,
    tapped: 0,
    truncated: 0,
    nonlinear: 0,
    "not-for-host": 0,
    "not-ipv4": 0,
    "ip-bad-header": 0,
    "ip-options": 0,
    "ip-bad-checksum": 0,
    "ip-fragment": 0,
    "not-tcp": 0,
    "martian-source": 0,
    "not-local": 0,
    filtered: 0,
    "tcp-bad-header": 0,
    "tcp-control": 0,
    "no-channel": 0,
    "channel-closing": 0
  }
  /** Packets dropped because their channel was full (also the drop reason `channel.overflow`). */
  overflowDrops = 0
  /** Packets TCP input ran for in a channel's consumer fiber (also `inputsByConsumer.consumer`). */
  consumerInputs = 0
  /** Batches the consumer fibers ran. */
  consumerBatches = 0
  /**
   * Queued packets TCP input ran for, by the fiber that ran them: one
   * waiting on the connection to read, to write or polling it (woken by
   * the channel, or about to wait), or the channel's consumer fiber.
   */
  readonly inputsByConsumer: Record<ChannelConsumerKind, number> = { reader: 0, writer: 0, poller: 0, consumer: 0 }
  /** End-of-batch wake-ups given to a fiber waiting on the connection (it runs the queue itself: one wake-up, not two). */
  waiterWakeups = 0
  /** End-of-batch wake-ups of a channel's consumer fiber (nobody waited on the connection). */
  consumerWakeups = 0
  /** Queues a woken waiter could not run (it was interrupted, or resumed inside TCP input): its consumer fiber ran them. */
  waiterFallbacks = 0
  /** Queued packets run first because the slow path brought a segment of the same flow (a FIN, an RST …). */
  flushedForSlowPath = 0
  /** Queued packets run when channels were turned off. */
  flushedAtDisable = 0
  /** Channels open now (their connection receiving). */
  channelsOpen = 0
  /** Channels opened, ever. */
  channelsOpened = 0
  /** Channels closed (their connection stopped receiving, or channels were turned off). */
  channelsClosed = 0

  /** Packets left to the slow path, whatever the reason. */
  get slowPathTotal(): number {
    let n = 0
    for (const reason of slowPathReasons) n += this.slowPath[reason]
    return n
  }

  /** A plain copy (for printing and comparing). */
  snapshot(): NetChannelCounters {
    return {
      fastPath: this.fastPath,
      slowPath: { ...this.slowPath },
      overflowDrops: this.overflowDrops,
      consumerInputs: this.consumerInputs,
      consumerBatches: this.consumerBatches,
      inputsByConsumer: { ...this.inputsByConsumer },
      waiterWakeups: this.waiterWakeups,
      consumerWakeups: this.consumerWakeups,
      waiterFallbacks: this.waiterFallbacks,
      flushedForSlowPath: this.flushedForSlowPath,
      flushedAtDisable: this.flushedAtDisable,
      channelsOpen: this.channelsOpen,
      channelsOpened: this.channelsOpened,
      channelsClosed: this.channelsClosed
    }
  }
}

/** `NetChannelStats` as plain data. */
export interface NetChannelCounters {
  readonly fastPath: number
  readonly slowPath: Readonly<Record<SlowPathReason, number>>
  readonly overflowDrops: number
  readonly consumerInputs: number
  readonly consumerBatches: number
  readonly inputsByConsumer: Readonly<Record<ChannelConsumerKind, number>>
  readonly waiterWakeups: number
  readonly consumerWakeups: number
  readonly waiterFallbacks: number
  readonly flushedForSlowPath: number
  readonly flushedAtDisable: number
  readonly channelsOpen: number
  readonly channelsOpened: number
  readonly channelsClosed: number
}
