/**
 * A host's net channels (Van Jacobson and Felderman, "Speeding up
 * Networking", 2006; OSv's `net_channel`): a fast path for established TCP
 * flows beside the classic receive path.
 *
 * - The classifier (installed on each interface's driver, `classifierFor`)
 *   sees every received packet after GRO. An IPv4 TCP segment without SYN,
 *   FIN or RST for a flow with an open channel is pushed onto that channel
 *   (after the bookkeeping the link layer and IPv4 would have done: the
 *   interface's rx counters, IPv4's `InReceives`/`InDelivers`, link padding
 *   trimmed, the headers pulled); everything else goes the slow path
 *   unchanged (`link.receive` → IPv4 → TCP).
 * - A channel per connection, opened when its handshake completes and
 *   closed when it stops receiving (`isReceiving`: the peer's FIN brings
 *   CLOSE-WAIT, CLOSING or TIME-WAIT; a reset, an abort or a timeout
 *   CLOSED; our own FIN alone does not, FIN-WAIT-1 and -2 still take data,
 *   RFC 9293 §3.10.7.4 seventh).
 * - Its consumers run TCP input (`Tcp.receiveSegment`, the slow path's own
 *   code from the checksum on) for what is queued, woken once the NAPI poll
 *   has classified its whole batch (the driver's `batchDone`), one wake-up
 *   per channel however many packets the batch queued on it. As in OSv, the
 *   connection's own fibers are its consumers: a fiber waiting on it (to
 *   read, to write, polling it; `@netstack/l4` `awaitAsChannelConsumer`)
 *   is woken through the latch it waits on and runs the queue itself, one
 *   wake-up where a consumer fiber and then the reader would be two. With
 *   nobody waiting (an idle sender's ACKs, data for a socket nobody reads)
 *   the channel's own consumer fiber runs it, up to `batch` packets at a
 *   time, yielding to other fibers while more wait. A waiter that cannot
 *   run what it was woken for hands it to the consumer fiber.
 * - Order: before the slow path runs TCP input for a segment of a flow, the
 *   segments still queued on that flow's channel are run (TCP hears a FIN
 *   after the data sent before it). A closed channel stays in the table
 *   (the classifier sends its flow the slow path) until its consumer has
 *   run what it held; then it leaves the table. Every queued packet is run
 *   exactly once: whoever takes it from the queue runs it. TCP input never
 *   runs inside TCP input: a fiber resumed in the middle of a segment (by
 *   a latch TCP input opened) leaves the queue alone.
 * - Off (the default) or on per host, at run time: turning it off runs
 *   every queued packet at once and removes every channel.
 */
import type { PacketBuffer } from "@netstack/buffers"
import type { NetTrace } from "@netstack/device"
import type { RxClassifier } from "@netstack/driver"
import { type ChannelConsumerKind, isReceiving, type Tcb, type Tcp, type TcpChannelHooks } from "@netstack/l4"
import { ETHERNET_HEADER_LENGTH, EtherTypes, IPV4_HEADER_LENGTH, readU16 } from "@netstack/wire"
import { Effect, FiberSet, Latch, Scheduler, type Scope } from "effect"
import { NetChannel, type NetChannelOwner } from "./channel.ts"
import { ChannelTable } from "./channel-table.ts"
import { classify, type ClassifierContext, type ClassifierDevice } from "./classifier.ts"
import { NetChannelStats } from "./stats.ts"

/** Net-channel settings of a host. */
export interface NetChannelsOptions {
  /** On from the start (default off). */
  readonly enabled?: boolean
  /** Packets a channel holds before it drops (default 256, twice a NAPI budget's worth and more). */
  readonly capacity?: number
  /** Packets a consumer runs per batch before it yields to other fibers (default 64, a NAPI weight). */
  readonly batch?: number
}

/** An interface as the fast path needs it: the classifier's view and its rx counters (an `@netstack/l2` `NetDevice` fits). */
export interface ChannelDevice extends ClassifierDevice {
  readonly ifindex: number
  readonly stats: { rxPackets: number; rxBytes: number }
}

/** What a host's net channels are built on. */
export interface NetChannelsDependencies {
  /** The host's TCP (and through it IPv4, timers and trace). */
  readonly tcp: Tcp
  /** Where drops are counted by reason (the host's link layer's). */
  readonly drops: { readonly count: (reason: string) => void }
  /** Uniform in [0, 1): the host's seeded random source (the table's hash secret). */
  readonly random: () => number
  /** The host's link layer: while a tap watches it, frames take the slow path so the tap sees them. */
  readonly link: { readonly tapped: boolean }
}

/** `n` as a whole number of at least 1, or `fallback` when it is not a finite number. */
const positive = (n: number | undefined, fallback: number): number =>
  n === undefined || !Number.isFinite(n) ? fallback : Math.max(1, Math.floor(n))

/** The consumer fibers' fork. */
type RunFork = (effect: Effect.Effect<void>) => unknown

/** A host's net channels. */
export class NetChannels {
  /** The counters. */
  readonly stats = new NetChannelStats()
  private channelCapacity: number
  private batchSize: number
  private readonly tcp: Tcp
  private readonly trace: NetTrace
  private readonly drops: NetChannelsDependencies["drops"]
  private readonly table: ChannelTable<NetChannel>
  private readonly context: ClassifierContext<NetChannel>
  private readonly hooks: TcpChannelHooks
  private readonly owner: NetChannelOwner
  private readonly runFork: RunFork
  private readonly dispatcher: Scheduler.SchedulerDispatcher
  /** Channels the current NAPI batch queued packets on, to wake when it is done. */
  private toWake: Array<NetChannel> = []
  private on = false

  private constructor(
    deps: NetChannelsDependencies,
    options: NetChannelsOptions,
    runFork: RunFork,
    dispatcher: Scheduler.SchedulerDispatcher
  ) {
    this.tcp = deps.tcp
    this.trace = deps.tcp.trace
    this.drops = deps.drops
    this.runFork = runFork
    this.dispatcher = dispatcher
    this.channelCapacity = positive(options.capacity, 256)
    this.batchSize = positive(options.batch, 64)
    const table = new ChannelTable<NetChannel>(deps.random)
    this.table = table
    const ipv4 = deps.tcp.ipv4
    this.context = {
      isLocal: (address) => ipv4.addresses.isLocal(address),
      tapped: () => deps.link.tapped,
      filterEmpty: () => ipv4.filter.isEmpty("prerouting") && ipv4.filter.isEmpty("input"),
      lookup: (la, lp, ra, rp) => table.lookup(la, lp, ra, rp)
    }
    this.hooks = {
      open: (tcb) => this.open(tcb),
      beforeInput: (la, lp, ra, rp) => this.beforeInput(la, lp, ra, rp)
    }
    this.owner = {
      close: (channel) => this.close(channel),
      drain: (channel, kind) => this.runForWaiter(channel, kind),
      wakeConsumer: (channel) => this.handBack(channel)
    }
  }

  /**
   * Net channels for `deps.tcp`'s host, on if `options.enabled`; consumer
   * fibers run in the current scope, and packets still queued when it
   * closes are released.
   */
  static make(deps: NetChannelsDependencies, options: NetChannelsOptions = {}): Effect.Effect<NetChannels, never, Scope.Scope> {
    return Effect.gen(function*() {
      const runFork = yield* FiberSet.makeRuntime<never, void, never>()
      // A closed channel's consumer is woken through the runtime's scheduler, as `Latch.open` does: it runs once the
      // fiber that closed the connection yields, never inside the TCP code that closed it.
      const scheduler = yield* Scheduler.Scheduler
      const channels = new NetChannels(deps, options, (effect) => runFork(effect), scheduler.makeDispatcher())
      yield* Effect.addFinalizer(() => Effect.sync(() => channels.releaseAll()))
      if (options.enabled === true) channels.enabled = true
      return channels
    })
  }

  /** Most packets a channel holds (a setting for channels opened from now on; at least 1). */
  get capacity(): number {
    return this.channelCapacity
  }

  set capacity(n: number) {
    this.channelCapacity = positive(n, this.channelCapacity)
  }

  /** Packets a consumer runs per batch before it yields to other fibers (at least 1). */
  get batch(): number {
    return this.batchSize
  }

  set batch(n: number) {
    this.batchSize = positive(n, this.batchSize)
  }

  /** Whether the fast path runs. */
  get enabled(): boolean {
    return this.on
  }

  /**
   * Turns the fast path on (every connection that receives gets a channel) or
   * off (every queued packet is run now, then every channel removed).
   */
  set enabled(on: boolean) {
    if (on === this.on) return
    if (on) this.start()
    else this.stop()
  }

  /** Turns the fast path on. */
  enable(): Effect.Effect<void> {
    return Effect.sync(() => {
      this.enabled = true
    })
  }

  /** Turns the fast path off: queued packets are run, channels removed. */
  disable(): Effect.Effect<void> {
    return Effect.sync(() => {
      this.enabled = false
    })
  }

  /** Channels in the table (open and closing). */
  channels(): ReadonlyArray<NetChannel> {
    return this.table.entries()
  }

  /** The channel of a 4-tuple from this host's side, if it has one. */
  channelOf(localAddress: number, localPort: number, remoteAddress: number, remotePort: number): NetChannel | undefined {
    return this.table.lookup(localAddress >>> 0, localPort & 0xffff, remoteAddress >>> 0, remotePort & 0xffff)
  }

  /** The classifier for `device`'s driver (it takes nothing while channels are off). */
  classifierFor(device: ChannelDevice): RxClassifier {
    return {
      classify: (packet) => this.on && this.receive(device, packet),
      batchDone: () => this.wakeQueued()
    }
  }

  // ------------------------------------------------------------------ the fast path

  /** The classifier: true when `packet` went onto a channel (or was dropped there), false for the slow path. */
  private receive(device: ChannelDevice, packet: PacketBuffer): boolean {
    const trace = this.trace
    const channel = classify(packet, device, this.context)
    if (typeof channel === "string") {
      this.stats.slowPath[channel]++
      if (trace.enabled) trace.record("channel-slow", packet, device.name, channel)
      return false
    }
    // What the slow path does and counts on the way to TCP: the link layer (`LinkLayer.receive`/`deliver`: rx
    // counters, packet type, EtherType, input interface, Ethernet header pulled) and IPv4 (`Ipv4.receive`/
    // `deliverLocal`: InReceives, link padding trimmed (RFC 1122 §3.3.1 note), InDelivers, IPv4 header pulled).
    const link = device.stats
    link.rxPackets++
    link.rxBytes += packet.length
    const meta = packet.meta
    meta.macHeader = packet.data
    meta.packetType = "host"
    meta.protocol = EtherTypes.ipv4
    meta.inputInterface = device.ifindex
    const totalLength = readU16(packet.bytes, packet.data + ETHERNET_HEADER_LENGTH + 2)
    packet.pull(ETHERNET_HEADER_LENGTH)
    meta.networkHeader = packet.data
    if (packet.length > totalLength) packet.trim(totalLength)
    packet.pull(IPV4_HEADER_LENGTH)
    meta.transportHeader = packet.data
    const ip = this.tcp.ipv4.stats
    ip.InReceives++
    ip.InDelivers++
    if (!channel.push(packet)) {
      // A full channel drops (as a full socket backlog does: Linux TCPBacklogDrop).
      this.stats.overflowDrops++
      this.drops.count("channel.overflow")
      if (trace.enabled) trace.record("channel-drop", packet, channel.name, `full ${channel.capacity}`)
      packet.release()
      return true
    }
    this.stats.fastPath++
    if (trace.enabled) trace.record("channel-push", packet, channel.name, `queued ${channel.size}`)
    if (!channel.queuedWake) {
      channel.queuedWake = true
      this.toWake.push(channel)
    }
    return true
  }

  /**
   * The end of a NAPI poll's batch: the consumers of the channels it filled
   * run now (OSv wakes a channel's consumer after its driver's rx loop), one
   * wake-up per channel however many packets the batch queued on it: a
   * fiber waiting on the connection if there is one (OSv's `soreceive`,
   * `sosend` and `poll` flush the channel themselves), else the channel's
   * consumer fiber. Either may run right here, in the poll, after its
   * batch and outside any TCP input.
   */
  private wakeQueued(): void {
    const channels = this.toWake
    if (channels.length === 0) return
    this.toWake = []
    // A poll nested inside TCP input (a transmit that looped straight back) must not run TCP input: the
    // consumers run once the caller yields.
    const nested = this.tcp.inInput
    for (const channel of channels) {
      channel.queuedWake = false
      // Run already (a slow-path segment of its flow later in the batch flushed it first).
      if (channel.size === 0) continue
      if (nested) {
        this.stats.consumerWakeups++
        this.wake(channel)
      } else if (channel.open && channel.waiters.signal()) {
        this.stats.waiterWakeups++
      } else {
        this.stats.consumerWakeups++
        Latch.openUnsafe(channel.wakeup)
      }
    }
  }

  /**
   * Wakes `channel`'s consumer once the caller's fiber yields (for a close or
   * a retirement: the consumer must not run inside the TCP code that closed
   * the connection).
   */
  private wake(channel: NetChannel): void {
    if (channel.wakePending) return
    channel.wakePending = true
    this.dispatcher.scheduleTask(channel.wakeTask, 0)
  }

  /**
   * TCP input for one queued packet (the slow path's code from the TCP
   * checksum on); the trace says who ran it: `reader`, `writer`, `poller`,
   * `consumer`, or `flush` (before a slow-path segment) and `disable`.
   */
  private input(channel: NetChannel, packet: PacketBuffer, by: ChannelConsumerKind | "flush" | "disable"): void {
    channel.processed++
    if (this.trace.enabled) this.trace.record("channel-input", packet, channel.name, by)
    this.tcp.receiveSegment(packet, channel.remoteAddress, channel.localAddress)
  }

  /** Runs every packet `channel` holds now; how many. */
  private drain(channel: NetChannel, by: ChannelConsumerKind | "flush" | "disable"): number {
    let n = 0
    for (let packet = channel.shift(); packet !== undefined; packet = channel.shift()) {
      this.input(channel, packet, by)
      n++
    }
    return n
  }

  /**
   * A fiber waiting on the connection runs what `channel` holds, in its own
   * fiber (woken by the channel, or about to wait); how many. Never inside
   * TCP input (the caller checks; checked again here).
   */
  private runForWaiter(channel: NetChannel, kind: ChannelConsumerKind): number {
    if (channel.size === 0 || this.tcp.inInput) return 0
    // One clock read for the lot, as the softirq's NAPI polls (`TimerQueue.batch`).
    const n = this.tcp.timers.batch(() => this.drain(channel, kind))
    this.stats.inputsByConsumer[kind] += n
    return n
  }

  /** A waiter woken to run `channel` could not: its consumer fiber runs it once the caller yields. */
  private handBack(channel: NetChannel): void {
    this.stats.waiterFallbacks++
    this.wake(channel)
  }

  /** The consumer fiber of `channel`: runs what is queued, a batch at a time; ends once the channel is closed and empty. */
  private consumer(channel: NetChannel): Effect.Effect<void> {
    const self = this
    const timers = this.tcp.timers
    const runBatch = (): void => {
      self.stats.consumerBatches++
      for (let i = 0; i < self.batchSize; i++) {
        const packet = channel.shift()
        if (packet === undefined) return
        self.stats.consumerInputs++
        self.stats.inputsByConsumer.consumer++
        self.input(channel, packet, "consumer")
      }
    }
    return Effect.gen(function*() {
      for (;;) {
        yield* Latch.await(channel.wakeup)
        if (channel.retired) return
        Latch.closeUnsafe(channel.wakeup)
        while (channel.size > 0) {
          // One clock read per batch, as the softirq's NAPI polls (`TimerQueue.batch`).
          timers.batch(runBatch)
          if (channel.size > 0) yield* Effect.yieldNow
        }
        if (channel.retired) return
        if (!channel.open) {
          // Closed and empty: out of the table; its flow's packets took the slow path meanwhile.
          self.retire(channel)
          return
        }
      }
    })
  }

  // ------------------------------------------------------------------ channel lifecycle (hooks from TCP)

  /** `tcb` completed its handshake: its channel (a closing one of the same 4-tuple is reopened, its queue kept in order). */
  private open(tcb: Tcb): void {
    if (!this.on || tcb.channel !== undefined) return
    let channel = this.table.lookup(tcb.localAddress >>> 0, tcb.localPort, tcb.remoteAddress >>> 0, tcb.remotePort)
    if (channel === undefined) {
      channel = new NetChannel(tcb, this.channelCapacity, this.owner)
      this.table.add(channel)
      this.runFork(this.consumer(channel))
    } else {
      channel.open = true
    }
    // The fibers waiting on the connection are the channel's first consumers.
    channel.waiters = tcb.channelWaiters
    this.stats.channelsOpen++
    this.stats.channelsOpened++
    tcb.channel = channel
  }

  /** The connection stopped receiving: the classifier stops using the channel; its consumer runs what is left, then retires it. */
  private close(channel: NetChannel): void {
    if (!channel.open) return
    channel.open = false
    this.stats.channelsOpen--
    this.stats.channelsClosed++
    this.wake(channel)
  }

  /** The slow path brings a segment of this flow: what its channel holds goes first. */
  private beforeInput(localAddress: number, localPort: number, remoteAddress: number, remotePort: number): void {
    const channel = this.table.lookup(localAddress >>> 0, localPort, remoteAddress >>> 0, remotePort)
    if (channel === undefined || channel.size === 0) return
    this.stats.flushedForSlowPath += this.drain(channel, "flush")
  }

  /** Out of the table; its consumer ends. */
  private retire(channel: NetChannel): void {
    channel.retired = true
    this.table.remove(channel)
    this.wake(channel)
  }

  // ------------------------------------------------------------------ on and off

  private start(): void {
    this.on = true
    this.tcp.setChannelHooks(this.hooks)
    // Connections past their handshake get their channels now.
    this.tcp.tables.established.forEach((tcb) => {
      if (isReceiving(tcb.state)) this.open(tcb)
    })
  }

  private stop(): void {
    this.on = false
    this.tcp.setChannelHooks(undefined)
    this.tcp.tables.established.forEach((tcb) => {
      tcb.channel = undefined
    })
    const channels = this.table.entries()
    for (const channel of channels) this.close(channel)
    // Queued packets are run now, in order, then the channels leave the table.
    this.tcp.timers.batch(() => {
      for (const channel of channels) {
        this.stats.flushedAtDisable += this.drain(channel, "disable")
        this.retire(channel)
      }
    })
  }

  /** The host is going away: what is still queued is released. */
  private releaseAll(): void {
    for (const channel of this.table.entries()) {
      for (let packet = channel.shift(); packet !== undefined; packet = channel.shift()) packet.release()
      this.retire(channel)
    }
  }
}
