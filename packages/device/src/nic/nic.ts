/**
 * The simulated NIC: what the driver programs, and what the medium delivers
 * frames to.
 *
 * Receive: the medium hands a frame to the NIC; the NIC picks a queue (RSS),
 * "DMAs" the frame into the buffer posted on that queue's next descriptor, or
 * across the next ones when it is longer than a buffer (mergeable receive
 * buffers; not enough posted: the frame is lost and counted as
 * `rx_missed_errors`). A frame an in-process medium lends with its memory
 * is not copied: it takes the place of the posted descriptors it would have
 * filled, whose buffers wait there, untouched, to be posted again (a page
 * flip, see `FrameKeeper` and `RxRing.flip`; counted as `rx_flipped`). Then
 * the NIC verifies its checksum if it has rx checksum offload, and tells the
 * queue's interrupt coalescer, which raises the interrupt line.
 * With rx checksumming and TSO it takes TSO super-packets from a medium whole
 * in the same way, as one packet with GSO metadata.
 *
 * Transmit: the driver fills tx descriptors and rings the doorbell (`kick`);
 * the queue's transmit engine takes the ready descriptors in order,
 * completes partial checksums and segments TSO super-packets if it has those
 * offloads, hands each frame to the medium, marks the descriptors done and
 * tells the coalescer, which raises the completion interrupt. With a line
 * rate the engine is a fiber that gives each frame its time on the wire;
 * without one the doorbell is answered in the caller's own turn (as veth's
 * transmit hands the skb on inside the call), and the engine fiber takes
 * over only to yield after each burst of 64 frames. A medium that would
 * deliver a packet at once and unchanged to a NIC (a wire direction without
 * impairments, a loopback) is handed the packet itself instead of a frame
 * copied out of it, as veth hands the skb to its peer: the receiving NIC
 * puts that very packet on its ring (`rx_handed_over`), and the sender's
 * descriptor completes with nothing to release (the sender's charge comes
 * back when the driver cleans it, as for any completion).
 *
 * On a medium that carries offload metadata (a `virtio_net_hdr` with each
 * frame: in-process wires, hubs and loopback, a TAP with `IFF_VNET_HDR`) the
 * NIC passes partial checksums (and, where taken, TSO super-packets) through
 * instead of computing them, and trusts received frames marked partial or
 * verified instead of summing them (see `tx-offload.ts`, `rx-offload.ts`).
 */
import { ChecksumState, LentBytes, PacketBuffer } from "@netstack/buffers"
import { Clock, Context, Effect, Latch, Layer, PubSub, type Scope } from "effect"
import { Coalescer, type CoalescingSettings } from "../irq/coalescer.ts"
import { isGsoDefect, segmentTcp } from "../offload/gso.ts"
import { IrqLine } from "../irq/irq-line.ts"
import { type FrameOffload, NO_OFFLOAD_SUPPORT, type OffloadSupport, partialChecksum } from "../medium/offload.ts"
import type { FrameKeeper, FrameRelease, MediumPort, PacketTaker, ZeroCopyReceiver } from "../medium/port.ts"
import { type DmaFailure, RxRing } from "../ring/rx-ring.ts"
import { TxRing } from "../ring/tx-ring.ts"
import { micros, nowMicros } from "../time.ts"
import { CurrentNetTrace, type NetTrace } from "../trace/net-trace.ts"
import { coalescingProblem, InvalidNicConfig, type NicConfig, type NicOptions, type Offloads, resolveNicConfig } from "./config.ts"
import { verifyRxChecksum } from "./rx-checksum.ts"
import { applyRxOffload, superPacketSegments } from "./rx-offload.ts"
import { TxDma } from "./tx-dma.ts"
import { handOverPacket, type WireFrame, wireFrames } from "./tx-offload.ts"
import { rssQueueSelector } from "./rss-selector.ts"
import { NicErrorStats, type NicStatsSnapshot, RxQueueStats, snapshotStats, TxQueueStats } from "./stats.ts"

/** Ethernet header plus one 802.1Q tag: a frame may be this much longer than the MTU. */
const LINK_OVERHEAD = 18
/** The shortest frame that holds an Ethernet header. */
const MIN_FRAME = 14
/** Wire frames a transmit engine sends before yielding to the other fibers (when it has no line rate to pace it). */
const TX_BURST = 64
/** What a packet the medium took whole becomes: no frames to send. */
const NO_FRAMES: ReadonlyArray<WireFrame> = []
/** What `takeHead` returns for a packet a medium took whole: no frames to send, and its descriptor already done. */
const HANDED_ON: ReadonlyArray<WireFrame> = []

/** Chooses the receive queue of a frame and reports the hash it used (RSS), or 0 for "no hash". */
export interface QueueSelector {
  readonly select: (frame: PacketBuffer) => { readonly queue: number; readonly hash: number }
}

/** Queue 0 without a hash. */
const SINGLE_QUEUE_CHOICE = { queue: 0, hash: 0 } as const

/** Every frame to queue 0 (a single-queue NIC). */
export const SINGLE_QUEUE: QueueSelector = { select: () => SINGLE_QUEUE_CHOICE }

/** A frame as a packet: itself, or a buffer over its bytes. */
const asPacket = (frame: Uint8Array | PacketBuffer): PacketBuffer => frame instanceof PacketBuffer ? frame : PacketBuffer.wrap(frame)

/** A change of carrier (link up or down) and when it happened (µs). */
export interface CarrierEvent {
  readonly up: boolean
  readonly time: number
}

/** One receive queue, as the driver sees it. */
export interface NicRxQueue {
  readonly index: number
  readonly ring: RxRing
  /** The interrupt line of this queue (shared with the tx queue of the same index). */
  readonly irq: IrqLine
  readonly stats: RxQueueStats
}

/** One transmit queue, as the driver sees it. */
export interface NicTxQueue {
  readonly index: number
  readonly ring: TxRing
  readonly irq: IrqLine
  readonly stats: TxQueueStats
  /** The doorbell: tells the device that descriptors are ready. */
  readonly kick: () => void
}

/** A network interface card: the registers and rings a driver programs. */
export interface NicDevice {
  readonly config: NicConfig
  readonly name: string
  readonly mac: number
  readonly mtu: number
  readonly offloads: Offloads
  readonly rx: ReadonlyArray<NicRxQueue>
  readonly tx: ReadonlyArray<NicTxQueue>
  /** One interrupt line per queue pair (`eth0-TxRx-0`, …). */
  readonly irqs: ReadonlyArray<IrqLine>
  /** Whether the carrier is up. */
  readonly linkUp: () => boolean
  /** Raises or drops the carrier (cable plugged or pulled), publishing a `CarrierEvent`. */
  readonly setLink: (up: boolean) => void
  /** Carrier changes, as they happen. */
  readonly carrier: PubSub.PubSub<CarrierEvent>
  /** Plugs the NIC into a medium port. */
  readonly attach: (port: MediumPort) => void
  /** The medium side: where a port delivers a frame, with its offload metadata if any (the DMA engine). */
  readonly receive: (frame: Uint8Array, offload?: FrameOffload) => void
  /** `ethtool -C`: new coalescing settings for every interrupt line (refused, changing nothing, when unusable). */
  readonly setCoalescing: (settings: Partial<CoalescingSettings>) => InvalidNicConfig | undefined
  /** `ethtool -K`: turns offloads on or off. */
  readonly setOffloads: (offloads: Partial<Offloads>) => void
  /** Sets how frames are spread over the receive queues (RSS). */
  readonly setQueueSelector: (selector: QueueSelector) => void
  /** Device-wide error counters (live). */
  readonly errors: NicErrorStats
  /** `ethtool -S`: every counter, by name. */
  readonly stats: () => NicStatsSnapshot
}

/**
 * What the NIC takes from a medium: checksum metadata with rx checksumming,
 * super-packets too with TSO as well (received whole across mergeable
 * buffers, see `receive`). Linux's TAP maps these onto `TUN_F_CSUM`/`TUN_F_TSO4`.
 */
const acceptedOffloads = (offloads: Offloads): OffloadSupport =>
  offloads.rxChecksum ? { checksum: true, gso: offloads.tso } : NO_OFFLOAD_SUPPORT

/** Builds a NIC from `options`. Its coalescing timers and transmit engines are fibers in the current scope. */
const makeNic = (options: NicOptions): Effect.Effect<NicDevice, InvalidNicConfig, Scope.Scope> =>
  Effect.gen(function*() {
    const resolved = resolveNicConfig(options)
    if (resolved instanceof InvalidNicConfig) return yield* resolved
    const config = resolved
    const clock = yield* Clock.Clock
    const trace: NetTrace = yield* CurrentNetTrace
    const carrier = yield* PubSub.unbounded<CarrierEvent>()
    let offloads: Offloads = config.offloads
    // RSS spreads flows over the queues of a multi-queue NIC (Microsoft's default key, ixgbe's hash types).
    let selector: QueueSelector = config.rxQueues > 1 ? rssQueueSelector({ queues: config.rxQueues }) : SINGLE_QUEUE
    let linkUp = true
    let port: MediumPort | undefined = undefined
    const errors = new NicErrorStats()
    const maxFrame = config.mtu + LINK_OVERHEAD

    const irqs = Array.from(
      { length: Math.max(config.rxQueues, config.txQueues) },
      (_, i) => new IrqLine(`${config.name}-TxRx-${i}`)
    )
    const coalescers: Array<Coalescer> = []
    for (const line of irqs) coalescers.push(yield* Coalescer.make(line, config.coalescing))

    const rx: Array<NicRxQueue> = Array.from({ length: config.rxQueues }, (_, index) => ({
      index,
      ring: new RxRing(config.rxRingSize),
      irq: irqs[index],
      stats: new RxQueueStats()
    }))

    const dma = new TxDma()

    const tx: Array<NicTxQueue> = []
    for (let index = 0; index < config.txQueues; index++) {
      const ring = new TxRing(config.txRingSize)
      const stats = new TxQueueStats()
      const doorbell = Latch.makeUnsafe(false)
      const where = `${config.name}:${index}`
      const coalescer = coalescers[index]
      // Wire frames since the engine last yielded, across doorbells: a TSO super-packet counts as every frame it is cut into.
      let burst = 0
      // The ring is being worked on (by the engine fiber or by a doorbell answered in place).
      let busy = false
      // A burst is over: nothing more goes out until the engine fiber has yielded once.
      let paused = false

      /**
       * Takes the packet at the head of the ring to the medium: handed over
       * whole (`HANDED_ON`: the medium owns it now, and its descriptor is
       * done, see `TxRing.handOn`), or the wire frames it becomes, for the
       * caller to send and then complete the descriptor; counted either way
       * (a dropped packet has no frames).
       */
      const takeHead = (packet: PacketBuffer): ReadonlyArray<WireFrame> => {
        const support = port?.offloadSupport?.() ?? NO_OFFLOAD_SUPPORT
        if (linkUp && port !== undefined && config.linkSpeed === undefined) {
          // Read first: once handed over, the packet is the receiver's, which may change or release it at once.
          const length = packet.length
          const traceId = trace.enabled ? trace.idOf(packet) : 0
          // The sender's charge stays with the descriptor, to come back when the driver cleans it (see `TxRing.handOn`).
          const meta = packet.meta
          const owner = meta.txOwner
          const charge = meta.txCharge
          meta.txOwner = undefined
          meta.txCharge = 0
          if (handOverPacket(port, packet, offloads, support)) {
            // The medium took the packet itself (veth's skb hand-off): one frame, nothing copied.
            stats.packets++
            stats.bytes += length
            stats.wireFrames++
            if (trace.enabled) trace.recordAs("device-tx", traceId, length, where, "handed over")
            burst++
            ring.handOn(owner, charge)
            return HANDED_ON
          }
          meta.txOwner = owner
          meta.txCharge = charge
        }
        const frames = linkUp ? wireFrames(packet, offloads, support, dma) : []
        if (frames === undefined) errors.txErrors++
        else if (!linkUp) errors.txCarrierErrors++
        else {
          stats.packets++
          stats.bytes += packet.length
          if (trace.enabled) trace.record("device-tx", packet, where, `${frames.length} frame(s)`)
          burst += frames.length
          return frames
        }
        return NO_FRAMES
      }

      const sendFrame = (frame: WireFrame): void => {
        stats.wireFrames++
        if (frame.offload === undefined) port?.send(frame.bytes, dma.release)
        else port?.send(frame.bytes, dma.release, frame.offload)
      }

      /**
       * Without a line rate: sends every ready packet in ring order, until
       * the ring is empty or a burst of TX_BURST wire frames is done (then
       * `paused`). A NIC without a line rate still takes turns with the rest
       * of the machine: after a burst the other fibers (the receiver's NAPI,
       * this host's completion handling) run before it sends more, as a real
       * link's pacing would; the count runs on over doorbells, so many small
       * turns (a packet or two each) pause as one burst.
       */
      const pump = (): void => {
        let sent = 0
        for (let packet = ring.peek(); packet !== undefined; packet = ring.peek()) {
          const frames = takeHead(packet)
          if (frames !== HANDED_ON) {
            for (let i = 0; i < frames.length; i++) sendFrame(frames[i])
            ring.complete()
          }
          sent++
          if (burst >= TX_BURST) {
            burst = 0
            paused = true
            break
          }
        }
        if (sent > 0) coalescer.txEvent()
      }

      const engine = Effect.forever(
        Effect.gen(function*() {
          yield* Latch.await(doorbell)
          Latch.closeUnsafe(doorbell)
          const lineRate = config.linkSpeed
          if (lineRate === undefined) {
            // A doorbell rung while a pump runs further down this stack: that pump takes the new packets.
            if (busy) return
            for (;;) {
              if (paused) {
                yield* Effect.yieldNow
                paused = false
              }
              busy = true
              pump()
              busy = false
              if (!paused) return
            }
          }
          // At line rate: each frame takes its time on the wire.
          let sent = 0
          for (let packet = ring.peek(); packet !== undefined; packet = ring.peek()) {
            const frames = takeHead(packet)
            // Handed over (only if the line rate was lifted meanwhile): the packet is gone, its descriptor done.
            if (frames !== HANDED_ON) {
              for (const frame of frames) {
                yield* Effect.sleep(micros((frame.bytes.length * 8 * 1e6) / lineRate))
                sendFrame(frame)
              }
              ring.complete()
            }
            sent++
          }
          burst = 0
          if (sent > 0) coalescer.txEvent()
        }),
        // No yield after every turn (a setImmediate hop each): bursts and the line rate pace the engine.
        { disableYield: true }
      )
      yield* Effect.forkScoped(engine)

      /**
       * The doorbell. Without a line rate it is answered in the caller's own
       * turn, as veth's `ndo_start_xmit` hands the skb to its peer inside the
       * transmit call: the ready packets go out at once (`pump`), with no
       * wake-up of the engine fiber, which takes over only after a burst.
       */
      const kick = (): void => {
        if (busy) return
        if (paused || config.linkSpeed !== undefined) return void Latch.openUnsafe(doorbell)
        busy = true
        pump()
        busy = false
        // The burst is over: the engine fiber goes on after its yield.
        if (paused) Latch.openUnsafe(doorbell)
      }
      tx.push({ index, ring, irq: irqs[index], stats, kick })
    }

    /**
     * A TSO super-packet the NIC did not ask for (it lacks rx checksumming or
     * TSO, but the medium, e.g. a TAP whose offloads were just turned off,
     * still had some on their way): the NIC cuts it into MTU-sized segments
     * with partial checksums and receives each, as Linux segments for a device
     * lacking the GSO type (`skb_gso_segment`); GRO in the driver merges them
     * again.
     */
    const receiveSuperPacket = (frame: Uint8Array, offload: FrameOffload): void => {
      const packet = PacketBuffer.wrap(frame)
      packet.meta.gsoType = offload.gsoType
      packet.meta.gsoSize = offload.gsoSize
      const segments = offload.gsoSize > 0 ? segmentTcp(packet, { checksum: "partial" }) : undefined
      if (segments === undefined || isGsoDefect(segments)) {
        errors.rxOffloadErrors++
        return
      }
      errors.rxGsoPackets++
      errors.rxGsoSegmented++
      errors.rxGsoSegments += segments.length
      for (const s of segments) {
        const state = s.meta.checksum
        const bytes = s.toUint8Array()
        const meta = state._tag === "Partial" ? partialChecksum(state.start - s.data, state.offset) : undefined
        s.release()
        receive(bytes, meta)
      }
    }

    /**
     * Places a lent frame on the next posted descriptors without copying it
     * (see `RxRing.flip`): the buffer over its memory, a `DmaFailure`, or
     * `undefined` when it cannot be flipped and is written as any other.
     */
    const flipIn = (ring: RxRing, frame: Uint8Array, release: FrameRelease): PacketBuffer | DmaFailure | undefined => {
      const memory = frame.buffer
      if (!(memory instanceof ArrayBuffer)) return undefined
      const start = frame.byteOffset
      const storage = new LentBytes(new Uint8Array(memory), () => release(frame))
      const buffer = PacketBuffer.fromStorage(storage, start, start + frame.length)
      if (!(buffer instanceof PacketBuffer)) return undefined
      const failure = ring.flip(buffer)
      if (failure === "short-headroom") return undefined
      if (failure !== undefined) return failure
      errors.rxFlipped++
      return buffer
    }

    const receive = (frame: Uint8Array, offload?: FrameOffload): void => {
      accept(frame, offload, undefined)
    }

    const keepFrame: FrameKeeper = (frame, release, offload) => accept(frame, offload, release)

    /**
     * Takes a packet a medium handed over itself (veth's skb hand-off): it
     * is this NIC's from now on. A charge still on it goes back at once
     * (`skb_orphan`; a sending NIC keeps its sender's on its ring), its
     * metadata becomes the receiver's, and it takes the
     * place of the posted descriptors it would have filled (`RxRing.flip`;
     * counted as `rx_handed_over`); bytes it shares with others stay shared,
     * copy-on-write. Without the headroom the driver reserves, or with a
     * partial checksum only the NIC could complete (rx checksumming off), it
     * is received as a frame copied out of it, and released.
     */
    const takePacket: PacketTaker = (packet, offload) => {
      // A sender that still charges the packet gets its charge back now (`skb_orphan`); a NIC's charge stays on its ring.
      packet.orphan()
      const dropped = (): void => void packet.release()
      if (offload !== undefined && (offload.gsoType !== "none" || !offloads.rxChecksum)) {
        receive(packet.toUint8Array(), offload)
        return dropped()
      }
      if (!linkUp) {
        errors.rxCarrierDrops++
        return dropped()
      }
      if (packet.length > maxFrame || packet.length < MIN_FRAME) {
        errors.rxLengthErrors++
        return dropped()
      }
      packet.meta.reset()
      const { queue, hash } = pickQueue(packet)
      const q = rx[queue]
      const failure = q.ring.flip(packet)
      if (failure !== undefined) {
        if (failure === "short-headroom") receive(packet.toUint8Array(), offload)
        else missed(q, failure)
        return dropped()
      }
      errors.rxHandedOver++
      finish(q, queue, hash, packet, packet, offload, 0)
    }

    const zeroCopy: ZeroCopyReceiver = { keepFrame, takePacket }

    /** The receive queue of a frame, and the RSS hash that chose it (0 on a single-queue NIC). */
    const pickQueue = (frame: Uint8Array | PacketBuffer): { readonly queue: number; readonly hash: number } => {
      if (rx.length <= 1) return SINGLE_QUEUE_CHOICE
      const chosen = selector.select(asPacket(frame))
      return chosen.queue < rx.length ? chosen : { queue: 0, hash: chosen.hash }
    }

    /** Counts a frame the ring could not take: no posted buffer (missed), or longer than the whole ring. */
    const missed = (q: NicRxQueue, failure: DmaFailure): void => {
      if (failure === "too-long") errors.rxLengthErrors++
      else {
        errors.rxMissedErrors++
        q.stats.missed++
      }
    }

    /** Receives `frame`; with `release` (a lent frame) it may keep it instead of copying it, and says whether it did. */
    const accept = (frame: Uint8Array, offload: FrameOffload | undefined, release: FrameRelease | undefined): boolean => {
      if (!linkUp) {
        errors.rxCarrierDrops++
        return false
      }
      // A TSO super-packet the NIC takes whole: the segments it stands for (`meta.gsoSegments`); 0 for any other frame.
      let segments = 0
      if (offload !== undefined && offload.gsoType !== "none" && frame.length > maxFrame) {
        if (!acceptedOffloads(offloads).gso) {
          receiveSuperPacket(frame, offload)
          return false
        }
        segments = superPacketSegments(frame, offload, maxFrame)
        if (segments === 0) {
          errors.rxOffloadErrors++
          return false
        }
      } else if (frame.length > maxFrame || frame.length < MIN_FRAME) {
        errors.rxLengthErrors++
        return false
      }
      const { queue, hash } = pickQueue(frame)
      const q = rx[queue]
      const flipped = release === undefined ? undefined : flipIn(q.ring, frame, release)
      const written = flipped ?? q.ring.dma(frame)
      if (typeof written === "string") {
        missed(q, written)
        return false
      }
      finish(q, queue, hash, written, frame, offload, segments)
      return flipped instanceof PacketBuffer
    }

    /**
     * The rest of receiving a frame now in the ring as `written` (its first
     * buffer): metadata, offloads, rx checksum verification over `whole` (the
     * frame as the medium handed it, bytes or the packet itself), counters,
     * and the coalescer.
     */
    const finish = (
      q: NicRxQueue,
      queue: number,
      hash: number,
      written: PacketBuffer,
      whole: Uint8Array | PacketBuffer,
      offload: FrameOffload | undefined,
      segments: number
    ): void => {
      const meta = written.meta
      meta.inputInterface = config.ifindex
      if (config.rxTimestamps) meta.timestamp = nowMicros(clock)
      meta.flowHash = hash
      if (segments > 0 && offload !== undefined) {
        // Mergeable receive buffers (virtio 1.2 §5.1.6.4, VIRTIO_NET_F_GUEST_TSO4/6): the super-packet is received
        // as one packet, with the GSO metadata GRO gives a merged one (tcp_gro_complete).
        meta.gsoType = offload.gsoType
        meta.gsoSize = offload.gsoSize
        meta.gsoSegments = segments
        errors.rxGsoPackets++
        errors.rxGsoWhole++
      }
      const applied = offload === undefined ? "none" : applyRxOffload(written, whole, offload, offloads.rxChecksum)
      if (applied === "trusted") errors.rxChecksumTrusted++
      else if (applied === "completed") errors.rxChecksumCompleted++
      else {
        if (applied === "invalid") errors.rxOffloadErrors++
        if (offloads.rxChecksum) {
          // A frame spread over buffers is verified as the medium handed it (the same bytes).
          const verdict = verifyRxChecksum(
            whole instanceof PacketBuffer || written.headLength !== whole.length ? asPacket(whole) : written
          )
          if (verdict === "good") {
            meta.checksum = ChecksumState.unnecessary
            errors.rxChecksumGood++
          } else if (verdict === "bad") errors.rxChecksumBad++
        }
      }
      q.stats.packets++
      q.stats.bytes += whole.length
      if (trace.enabled) trace.record("device-rx", written, `${config.name}:${queue}`)
      coalescers[queue].rxEvent()
    }

    const device: NicDevice = {
      config,
      name: config.name,
      mac: config.mac,
      mtu: config.mtu,
      get offloads() {
        return offloads
      },
      rx,
      tx,
      irqs,
      linkUp: () => linkUp,
      setLink: (up) => {
        if (up === linkUp) return
        linkUp = up
        PubSub.publishUnsafe(carrier, { up, time: nowMicros(clock) })
      },
      carrier,
      attach: (medium) => {
        port = medium
        medium.attach(receive, acceptedOffloads(offloads), zeroCopy)
      },
      receive,
      setCoalescing: (settings) => {
        for (const c of coalescers) {
          const next = { ...c.current, ...settings }
          const problem = coalescingProblem(next)
          if (problem !== undefined) return problem
        }
        for (const c of coalescers) c.configure({ ...c.current, ...settings })
        return undefined
      },
      setOffloads: (changes) => {
        offloads = { ...offloads, ...changes }
        // Tell the medium what the NIC takes now (Linux's TAP: TUNSETOFFLOAD again).
        port?.attach(receive, acceptedOffloads(offloads), zeroCopy)
      },
      setQueueSelector: (next) => {
        selector = next
      },
      errors,
      stats: () =>
        snapshotStats(
          rx.map((q) => q.stats),
          tx.map((q) => q.stats),
          errors,
          irqs.map((l) => l.delivered)
        )
    }
    return device
  })

/** The NIC of a device, as a service: the driver programs it, tests swap it for a mock. */
export class Nic extends Context.Service<Nic, NicDevice>()("@netstack/device/Nic") {
  /** A simulated NIC, its fibers in the current scope. */
  static readonly make = makeNic
  /** A layer providing a simulated NIC built from `options`. */
  static readonly layer = (options: NicOptions) => Layer.effect(Nic, makeNic(options))
}
