/**
 * The driver of one NIC: the receive path from interrupt to handler and the
 * transmit path from `xmit` to completion.
 *
 * Receive (Linux's NAPI): an interrupt wakes the line's handler fiber, which
 * masks the line and schedules the line's NAPI instance on the softirq. A
 * NAPI poll first cleans the paired tx ring, then takes up to its budget of
 * received frames (a frame longer than one receive buffer spans several
 * descriptors and comes back as one packet, the later buffers as fragments:
 * virtio's mergeable receive buffers), refills every freed descriptor from
 * the buffer pool, merges the batch with GRO, and hands each packet to the
 * receive handler, synchronously, as the kernel's softirq does. An instance
 * that finishes early leaves polling mode and unmasks its interrupt; one that
 * used its whole budget is polled again after the others. With net channels on, a classifier sees each
 * packet first and may take it for a connection's channel (the fast path).
 *
 * Transmit: `xmit` segments a TCP super-packet in software when the NIC lacks
 * TSO, completes a partial checksum when it lacks checksum offload,
 * linearizes when it lacks scatter-gather, fills tx descriptors and rings the
 * doorbell. A ring without room stops the queue (`busy`, the caller keeps the
 * packet); cleaning completions wakes it.
 */
import { BufferPool, type BufferPoolStats, PacketBuffer, resolvePartialChecksum } from "@netstack/buffers"
import { CurrentNetTrace, type IrqLine, Nic, type NicDevice, type NicTxQueue, segmentTcp } from "@netstack/device"
import { isHeaderDefect } from "@netstack/wire"
import { Context, Duration, Effect, Latch, Layer, type Scope } from "effect"
import { GroEngine } from "./gro/gro.ts"
import { type Pollable, Softirq, type SoftirqShape } from "./softirq/softirq.ts"

/** Where received packets go: the stack's link layer (or a test's sink). The handler owns each packet. */
export interface ReceiveHandlerShape {
  readonly receive: (packet: PacketBuffer) => void
}

/** The receive handler of a device (L2 provides it; tests provide their own). */
export class ReceiveHandler extends Context.Service<ReceiveHandler, ReceiveHandlerShape>()(
  "@netstack/driver/ReceiveHandler"
) {
  /** A handler that releases every packet (counts nothing): for benchmarks and tests of the lower layers. */
  static readonly discard = Layer.succeed(ReceiveHandler, { receive: (packet: PacketBuffer) => void packet.release() })
}

/**
 * A net-channel classifier (Van Jacobson's net channels; OSv's
 * `classifier::post_packet`, called from its drivers' receive path). It runs
 * synchronously in the NAPI poll and must not throw.
 */
export interface RxClassifier {
  /**
   * Sees each packet after GRO, before the receive handler, and either
   * takes it (`true`: it now owns the packet, e.g. queued on a connection's
   * channel) or leaves it for the receive handler (`false`: untouched).
   */
  readonly classify: (packet: PacketBuffer) => boolean
  /** The poll's batch is done and `classify` took some of it: wake whoever it queued work for. */
  readonly batchDone: () => void
}

/** Merges the in-order TCP segments of a batch (GRO); the identity when GRO is off. */
export type GroStage = (batch: ReadonlyArray<PacketBuffer>) => ReadonlyArray<PacketBuffer>

/** What `xmit` did: `sent` (the driver owns the packet now), `busy` (queue stopped; the caller keeps it), `dropped` (released). */
export type XmitResult = "sent" | "busy" | "dropped"

/** Driver settings. */
export interface DriverOptions {
  /**
   * Bytes per receive buffer, headroom included (default: a whole frame, at
   * least 2 KiB). A frame longer than a buffer spans several, as TSO
   * super-packets from a medium do: for a NIC on a TAP, 4096 lets a 64 KiB
   * one take 17 descriptors instead of 34.
   */
  readonly rxBufferSize?: number
  /**
   * Receive buffers preallocated in the pool (default: four rings' worth, at
   * most 8 MiB; a ring that needs more grows the pool at its first refill).
   */
  readonly rxBuffers?: number
  /**
   * The most receive buffers the pool may grow to when packets held upstream
   * (reassembly queues, socket queues) keep its buffers (default: eight rings'
   * worth); past it the rings run short and the refill is retried.
   */
  readonly rxBuffersMax?: number
  /** How long a ring left short waits before the refill is tried again (default 1 ms; virtio_net's `refill_work`). */
  readonly refillRetry?: Duration.Input
  /** Headroom reserved in front of each received frame (NET_SKB_PAD; default 64). */
  readonly headroom?: number
  /** The GRO stage (default: a `GroEngine`, as GRO is on by default in Linux); pass `(b) => b` to turn it off. */
  readonly gro?: GroStage
  /** Free tx descriptors needed to wake a stopped queue (default: a quarter of the ring). */
  readonly wakeThreshold?: number
}

/** Driver counters (beyond the NIC's and the softirq's). */
export class DriverStats {
  /** Interrupts the handler fibers took. */
  interrupts = 0
  /** Packets passed up (after GRO): to the receive handler or taken by the classifier. */
  delivered = 0
  /** Of those, packets the net-channel classifier took (the fast path). */
  classified = 0
  /** Receive buffers the pool could not supply when refilling (the ring runs short until a retry succeeds). */
  rxAllocFailures = 0
  /** Refills retried later because a ring was left short. */
  rxRefillRetries = 0
  /** `xmit` found the queue stopped or the ring too full. */
  txBusy = 0
  /** `xmit` dropped a packet (a super-packet it could not segment, a checksum it could not complete). */
  txDropped = 0
  /** Packets queued on tx rings (segments counted one each). */
  txQueued = 0
  /** Segments made by software GSO. */
  gsoSegments = 0
  /** Checksums completed in software for lack of tx checksum offload. */
  swChecksums = 0
  /** Packets linearized for lack of scatter-gather. */
  linearized = 0
  queueStops = 0
  queueWakes = 0
  /** Packets whose transmission completed (descriptors cleaned). */
  txCompleted = 0
}

/** The driver of a NIC. */
export interface DriverShape {
  readonly nic: NicDevice
  /** Queues `packet` for transmission on `queue` (default: `queueOf(packet)`). */
  readonly xmit: (packet: PacketBuffer, queue?: number) => XmitResult
  /** The tx queue `xmit` picks for `packet`: by flow hash over the NIC's queues. */
  readonly queueOf: (packet: PacketBuffer) => number
  /** True while tx queue `queue` is stopped. */
  readonly isStopped: (queue: number) => boolean
  /** Waits until tx queue `queue` is not stopped. */
  readonly awaitWake: (queue: number) => Effect.Effect<void>
  /** Busy polling (`SO_BUSY_POLL`): polls line `index` now from the caller's fiber; returns packets processed. */
  readonly busyPoll: (index: number, budget?: number) => number
  /** Turns busy-poll mode on for line `index` (its interrupt stays masked) or off. */
  readonly setBusyPolling: (index: number, on: boolean) => void
  /** Installs the net-channel classifier that sees each received packet before the handler (undefined: none). */
  readonly setClassifier: (classifier: RxClassifier | undefined) => void
  readonly stats: DriverStats
  /** The receive buffer pool's counters (`page_pool` stats). */
  readonly rxPoolStats: () => BufferPoolStats
}

/** Ethernet header plus one 802.1Q tag: a frame may be this much longer than the MTU. */
const LINK_OVERHEAD = 18
/** Bytes the pool preallocates at most (its default `rxBuffers`). */
const MAX_PREALLOCATED = 8 * 1024 * 1024

/**
 * The default receive buffer size, headroom included: one whole frame, at
 * least 2 KiB. Frames longer than a buffer still span several (mergeable
 * receive buffers, virtio 1.2 §5.1.6.3.2: a TAP's 64 KiB super-packets),
 * and `DriverOptions.rxBufferSize` may pick page-sized buffers for a large
 * MTU (a 1024-descriptor ring then holds 4 MiB, not 67 MB). Not the default:
 * such a ring holds only 60 frames of 64 KiB, fewer than a sending NIC puts
 * on the wire in one burst, and a hundred bulk flows over it lose frames
 * that only retransmission timeouts recover (several times slower).
 */
const rxBufferSize = (mtu: number, headroom: number): number => Math.max(2048, headroom + mtu + LINK_OVERHEAD)

/** One NAPI instance: the poll of one interrupt line (its rx ring and its paired tx ring). */
class Napi implements Pollable {
  readonly name: string
  scheduled = false
  busyPolling = false
  private readonly pollFn: (budget: number) => number
  private readonly irq: IrqLine

  constructor(name: string, irq: IrqLine, poll: (budget: number) => number) {
    this.name = name
    this.irq = irq
    this.pollFn = poll
  }

  poll(budget: number): number {
    return this.pollFn(budget)
  }

  complete(): void {
    this.scheduled = false
    if (!this.busyPolling) this.irq.unmask()
  }
}

const makeDriver = (
  options: DriverOptions = {}
): Effect.Effect<DriverShape, never, Scope.Scope | Nic | Softirq | ReceiveHandler> =>
  Effect.gen(function*() {
    const nic = yield* Nic
    const softirq: SoftirqShape = yield* Softirq
    const handler = yield* ReceiveHandler
    const trace = yield* CurrentNetTrace
    const config = nic.config
    const headroom = options.headroom ?? 64
    const gro: GroStage = options.gro ?? GroEngine.make().receive
    const stats = new DriverStats()
    let classifier: RxClassifier | undefined = undefined
    const bufferSize = options.rxBufferSize ?? rxBufferSize(config.mtu, headroom)
    const ringBuffers = config.rxQueues * config.rxRingSize
    // Preallocated: four rings' worth, but at most 8 MiB; the pool grows to eight rings' worth (one buffer at a
    // time) while the rings or packets held upstream need more.
    const rxBuffers = options.rxBuffers ?? Math.max(1, Math.min(4 * ringBuffers, Math.floor(MAX_PREALLOCATED / bufferSize)))
    const pool = BufferPool.make({
      count: rxBuffers,
      maxCount: options.rxBuffersMax ?? Math.max(rxBuffers, 8 * ringBuffers),
      size: bufferSize
    })
    /** Open while some ring is short of buffers: the refill fiber retries. */
    const starved = Latch.makeUnsafe(false)

    const refill = (index: number): void => {
      const ring = nic.rx[index].ring
      while (ring.free > 0) {
        // A buffer a page flip set aside on this descriptor goes back as it was: reserved, never written.
        if (ring.repost()) continue
        const buffer = pool.acquire()
        if (!(buffer instanceof PacketBuffer)) {
          stats.rxAllocFailures++
          Latch.openUnsafe(starved)
          return
        }
        buffer.reserve(headroom)
        ring.post(buffer)
      }
    }

    const stopped: Array<boolean> = nic.tx.map(() => false)
    const woken: Array<Latch.Latch> = nic.tx.map(() => Latch.makeUnsafe(true))
    const wakeThreshold = options.wakeThreshold ?? Math.max(1, Math.floor(config.txRingSize / 4))

    const cleanTx = (q: NicTxQueue): void => {
      const cleaned = q.ring.cleaned
      for (let packet = q.ring.clean(); packet !== undefined; packet = q.ring.clean()) {
        if (trace.enabled) trace.record("tx-completion", packet, `${nic.name}:${q.index}`)
        packet.release()
      }
      // Descriptors whose packet a medium took whole count too: their completion released nothing here.
      stats.txCompleted += q.ring.cleaned - cleaned
      if (stopped[q.index] && q.ring.free >= wakeThreshold) {
        stopped[q.index] = false
        stats.queueWakes++
        Latch.openUnsafe(woken[q.index])
      }
    }

    const pollLine = (index: number) => (budget: number): number => {
      const txq = nic.tx[index]
      if (txq !== undefined) cleanTx(txq)
      const rxq = nic.rx[index]
      if (rxq === undefined) return 0
      const batch: Array<PacketBuffer> = []
      while (batch.length < budget) {
        const packet = rxq.ring.take()
        if (packet === undefined) break
        batch.push(packet)
      }
      refill(index)
      if (batch.length === 0) return 0
      const where = `${nic.name}:${index}`
      if (trace.enabled) for (const p of batch) trace.record("napi-poll", p, where, `batch ${batch.length}/${budget}`)
      // Super-packets the NIC received whole: GRO passes them through, so the trace does not call them merged.
      const arrivedWhole = trace.enabled ? new Set(batch.filter((p) => p.meta.gsoSegments > 1)) : undefined
      const merged = gro(batch)
      const classifying = classifier
      let classified = 0
      for (const packet of merged) {
        if (trace.enabled) {
          if (packet.meta.gsoSegments > 1 && arrivedWhole?.has(packet) !== true) {
            trace.record("gro", packet, where, `merged ${packet.meta.gsoSegments}`)
          }
          trace.record("receive", packet, where)
        }
        stats.delivered++
        if (classifying !== undefined && classifying.classify(packet)) {
          classified++
          continue
        }
        handler.receive(packet)
      }
      if (classifying !== undefined && classified > 0) {
        stats.classified += classified
        classifying.batchDone()
      }
      return batch.length
    }

    const napis = nic.irqs.map((irq, index) => new Napi(`${nic.name}-napi-${index}`, irq, pollLine(index)))

    for (let i = 0; i < nic.rx.length; i++) refill(i)

    // virtio_net's `refill_work`: a ring the pool could not fill is filled again later. Without it a ring
    // left empty would stay empty: no frame is received, so no interrupt, no poll and no refill follow.
    const retryDelay = options.refillRetry ?? Duration.millis(1)
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.gen(function*() {
          yield* Latch.await(starved)
          yield* Effect.sleep(retryDelay)
          Latch.closeUnsafe(starved)
          stats.rxRefillRetries++
          for (let i = 0; i < nic.rx.length; i++) refill(i)
        }),
        // Idle, it waits on a latch: no yield (a setImmediate hop) after every turn; Effect's budget yields it when busy.
        { disableYield: true }
      )
    )

    // The top half, run by the line in the raiser's turn (request_irq): count, mask the line and leave the work to
    // NAPI (napi_schedule). A plain function, not a fiber: an interrupt costs no fiber resumption.
    for (let index = 0; index < nic.irqs.length; index++) {
      const irq = nic.irqs[index]
      const napi = napis[index]
      irq.handle(() => {
        stats.interrupts++
        irq.mask()
        if (!napi.scheduled && !napi.busyPolling) {
          napi.scheduled = true
          softirq.schedule(napi)
        }
      })
    }
    yield* Effect.addFinalizer(() => Effect.sync(() => nic.irqs.forEach((irq) => irq.handle(undefined))))

    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        for (const q of nic.rx) for (const b of q.ring.drain()) b.release()
        for (const q of nic.tx) for (const b of q.ring.drain()) b.release()
      })
    )

    /** Descriptors a packet needs: one, or one per segment when software GSO will split it. */
    const descriptorsFor = (packet: PacketBuffer): number => {
      if (packet.meta.gsoType === "none" || nic.offloads.tso) return 1
      return Math.max(1, packet.meta.gsoSegments)
    }

    const stop = (queue: number): void => {
      if (stopped[queue]) return
      stopped[queue] = true
      stats.queueStops++
      Latch.closeUnsafe(woken[queue])
    }

    const queueOf = (packet: PacketBuffer): number => (nic.tx.length === 1 ? 0 : packet.meta.flowHash % nic.tx.length)

    const xmit = (packet: PacketBuffer, queue?: number): XmitResult => {
      const index = queue ?? queueOf(packet)
      const q = nic.tx[index]
      if (q === undefined) {
        stats.txDropped++
        packet.release()
        return "dropped"
      }
      if (stopped[index] || q.ring.free < descriptorsFor(packet)) {
        stop(index)
        stats.txBusy++
        return "busy"
      }
      let frames: ReadonlyArray<PacketBuffer> = [packet]
      const offloads = nic.offloads
      if (packet.meta.gsoType !== "none" && !offloads.tso) {
        const segments = segmentTcp(packet, { checksum: offloads.txChecksum ? "partial" : "full" })
        packet.release()
        if (isHeaderDefect(segments)) {
          stats.txDropped++
          return "dropped"
        }
        stats.gsoSegments += segments.length
        frames = segments
      } else if (packet.meta.checksum._tag === "Partial" && !offloads.txChecksum) {
        // A computed zero goes out as 0xFFFF (Linux `skb_checksum_help`, CSUM_MANGLED_0): for UDP zero means
        // "no checksum" (RFC 768), for TCP the two are the same ones'-complement value.
        if (resolvePartialChecksum(packet, 0xffff) !== undefined) {
          stats.txDropped++
          packet.release()
          return "dropped"
        }
        stats.swChecksums++
      }
      for (const frame of frames) {
        if (!offloads.scatterGather && !frame.isLinear) {
          frame.linearize()
          stats.linearized++
        }
        if (trace.enabled) trace.record("xmit", frame, `${nic.name}:${index}`)
        if (!q.ring.fill(frame)) {
          // Cannot happen: room was checked above. Count and release rather than leak.
          stats.txDropped++
          frame.release()
          continue
        }
        stats.txQueued++
      }
      q.kick()
      if (q.ring.free === 0) stop(index)
      return "sent"
    }

    const shape: DriverShape = {
      nic,
      xmit,
      queueOf,
      isStopped: (queue) => stopped[queue] ?? false,
      awaitWake: (queue) => {
        const latch = woken[queue]
        return latch === undefined ? Effect.void : Latch.await(latch)
      },
      busyPoll: (index, budget) => {
        const napi = napis[index]
        if (napi === undefined) return 0
        return napi.poll(budget ?? softirq.weight)
      },
      setBusyPolling: (index, on) => {
        const napi = napis[index]
        if (napi === undefined) return
        napi.busyPolling = on
        if (on) nic.irqs[index].mask()
        else if (!napi.scheduled) nic.irqs[index].unmask()
      },
      setClassifier: (next) => {
        classifier = next
      },
      stats,
      rxPoolStats: () => pool.stats()
    }
    return shape
  })

/** The driver of the device's NIC. */
export class Driver extends Context.Service<Driver, DriverShape>()("@netstack/driver/Driver") {
  /** A driver for the `Nic` in context, its fibers in the current scope. */
  static readonly make = makeDriver
  /** A layer providing the driver (needs `Nic`, `Softirq` and `ReceiveHandler`). */
  static readonly layer = (options: DriverOptions = {}) => Layer.effect(Driver, makeDriver(options))
}
