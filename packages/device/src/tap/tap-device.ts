/**
 * A Linux TAP device as a medium: the frames Linux sends out of the TAP
 * interface arrive at the attached receiver (a NIC), and what the NIC sends
 * comes into Linux as if received on that interface
 * (Documentation/networking/tuntap.rst).
 *
 * Opened `IFF_TAP | IFF_NO_PI | IFF_VNET_HDR` with a 12-byte header
 * (`TUNSETVNETHDRSZ`), each frame carries a `virtio_net_hdr` that maps onto
 * `FrameOffload`: Linux accepts partial checksums and TSO super-packets from
 * the NIC (it segments or checksums them itself, or takes them whole), and
 * with `TUNSETOFFLOAD` (`TUN_F_CSUM`, `TUN_F_TSO4`, `TUN_F_TSO6`, as the
 * attached receiver takes them) hands over its own partial checksums and
 * super-packets instead of completing and cutting them.
 *
 * I/O is driven by readiness, not threads: the addon polls the fd on Node's
 * event loop; when it is readable it reads up to `readBatch` frames into one
 * shared buffer and calls back once per batch, and every frame is handed to
 * the receiver inside that call. Sent frames wait in a bounded queue that is
 * written in batches (one call into the addon, one `writev` per frame) at the
 * end of the current microtask; when the fd cannot take more (`EAGAIN`) the
 * addon polls for writable and the rest goes when it can. A full queue drops
 * and counts.
 *
 * The device is created if missing (not persistent: it disappears when its fd
 * is closed, with the scope). Bringing it up is `up: true` (`SIOCSIFFLAGS`) or
 * `ip link set NAME up`.
 */
import { Effect, type Scope } from "effect"
import {
  completeChecksum,
  type FrameOffload,
  FULL_OFFLOAD_SUPPORT,
  needsChecksum,
  NO_OFFLOAD_SUPPORT,
  type OffloadSupport
} from "../medium/offload.ts"
import { type FrameReceiver, type FrameRelease, type MediumPort, ReceiverSlot } from "../medium/port.ts"
import { type NativeTapHandle, type TapAddon, tapAddon } from "./binding.ts"
import { TapError, tapErrorFrom, type TapOpenError, TapPermissionDenied, TapUnavailable } from "./errors.ts"
import { decodeVnetHeader, encodeVnetHeader, isVnetHeaderDefect, VNET_HEADER_SIZE } from "./vnet-header.ts"

/** `TUNSETOFFLOAD` flags (include/uapi/linux/if_tun.h). */
export const TUN_F_CSUM = 0x01
export const TUN_F_TSO4 = 0x02
export const TUN_F_TSO6 = 0x04

/** How to open a TAP device. */
export interface TapOptions {
  /** Interface name, 1 to 15 bytes; default `nst%d` (Linux fills in the number). An existing TAP of that name is attached to. */
  readonly name?: string | undefined
  /** Exchange `virtio_net_hdr` metadata with each frame (`IFF_VNET_HDR`); default true. */
  readonly vnetHeader?: boolean | undefined
  /** The most offloads to ask Linux for (default both); what the attached receiver takes narrows them. */
  readonly offloads?: Partial<OffloadSupport> | undefined
  /** Bring the interface up (`SIOCSIFFLAGS`); default false. */
  readonly up?: boolean | undefined
  /** Most frames read per batch; default 64. */
  readonly readBatch?: number | undefined
  /** Most frames waiting to be written; default 1024. */
  readonly txQueueLimit?: number | undefined
}

/** A TAP device's counters. */
export interface TapCounters {
  /** Frames read from the fd and handed on (or dropped unattached), and their bytes without the header. */
  readonly rxFrames: number
  readonly rxBytes: number
  /** Read batches (callbacks from the addon). */
  readonly rxBatches: number
  /** Frames dropped for a header that could not be read (too short, a GSO type never enabled). */
  readonly rxMalformed: number
  /** Frames that arrived with no receiver attached. */
  readonly rxUnattached: number
  /** Frames written to the fd, and the bytes (without the header) of every frame handed to Linux, refused ones included. */
  readonly txFrames: number
  readonly txBytes: number
  /** Calls into the addon that wrote frames. */
  readonly txBatches: number
  /** Times the fd was full (`EAGAIN`) and writing waited for it. */
  readonly txStalls: number
  /** Frames dropped because the queue was full. */
  readonly txQueueDrops: number
  /** Frames Linux refused (e.g. `EIO` while the interface is down, `EINVAL` for a bad header). */
  readonly txErrors: number
  /** Frames dropped because the device was closed, or that needed a header the device was opened without. */
  readonly txDropped: number
}

/** A TAP device as a medium port. */
export interface TapMedium extends MediumPort {
  /** The interface name Linux gave it. */
  readonly name: string
  /** A snapshot of the counters. */
  readonly counters: () => TapCounters
  /** The `TUNSETOFFLOAD` flags in force (`TUN_F_*`). */
  readonly offloadFlags: () => number
  /** What went wrong after opening, if anything (the poll failed, `TUNSETOFFLOAD` was refused); the last one. */
  readonly failure: () => TapError | TapPermissionDenied | undefined
}

/** Largest interface name (`IFNAMSIZ` - 1). */
const MAX_NAME = 15
/** Room for the read batch: a 64 KiB super-packet and its header at least, and many ordinary frames. */
const READ_BUFFER_BYTES = 1024 * 1024
/** Frames per call into the addon when writing. */
const WRITE_BATCH = 256

interface Pending {
  readonly frame: Uint8Array
  readonly release: FrameRelease | undefined
  readonly offload: FrameOffload | undefined
}

const validName = (name: string): boolean =>
  name.length > 0 && Buffer.byteLength(name) <= MAX_NAME && !/[\s/:]/.test(name)

/** Runs an addon call, turning what it throws into a typed error. */
const attempt = <A>(device: string, operation: string, f: () => A): A | TapPermissionDenied | TapError => {
  try {
    return f()
  } catch (error) {
    return tapErrorFrom(device, operation, error)
  }
}

const isFailure = (value: unknown): value is TapPermissionDenied | TapError =>
  value instanceof TapPermissionDenied || value instanceof TapError

/** The running device: the addon handle, the receive and send paths, the counters. */
class Tap {
  readonly name: string
  private readonly addon: TapAddon
  private readonly fd: number
  private readonly vnet: boolean
  private readonly ceiling: OffloadSupport
  private readonly queueLimit: number
  private readonly slot = new ReceiverSlot()
  private readonly readBuffer = new ArrayBuffer(READ_BUFFER_BYTES)
  private readonly readBytes = new Uint8Array(this.readBuffer)
  private readonly lengths: Uint32Array
  private readonly status = new Int32Array(2)
  private readonly headers = new Uint8Array(WRITE_BATCH * VNET_HEADER_SIZE)
  private readonly batch: Array<Uint8Array> = []
  private handle: NativeTapHandle | undefined = undefined
  private queue: Array<Pending> = []
  private queueHead = 0
  private flushScheduled = false
  private waitingWritable = false
  private closed = false
  private flags = 0
  private lastFailure: TapError | TapPermissionDenied | undefined = undefined
  private readonly c = {
    rxFrames: 0,
    rxBytes: 0,
    rxBatches: 0,
    rxMalformed: 0,
    rxUnattached: 0,
    txFrames: 0,
    txBytes: 0,
    txBatches: 0,
    txStalls: 0,
    txQueueDrops: 0,
    txErrors: 0,
    txDropped: 0
  }

  constructor(addon: TapAddon, fd: number, name: string, options: TapOptions) {
    this.addon = addon
    this.fd = fd
    this.name = name
    this.vnet = options.vnetHeader ?? true
    this.ceiling = { checksum: options.offloads?.checksum ?? true, gso: options.offloads?.gso ?? true }
    this.queueLimit = Math.max(1, options.txQueueLimit ?? 1024)
    this.lengths = new Uint32Array(Math.max(1, Math.min(1024, options.readBatch ?? 64)))
  }

  /** Starts polling the fd. */
  start(): TapPermissionDenied | TapError | undefined {
    const handle = attempt(this.name, "start", () =>
      this.addon.start(
        this.fd,
        this.readBuffer,
        this.lengths,
        this.status,
        this.onFrames,
        this.onWritable,
        this.onError,
        this.lengths.length
      ))
    if (isFailure(handle)) return handle
    this.handle = handle
    return undefined
  }

  /** Stops polling, closes the fd (the device goes away) and releases what is queued. */
  close(): void {
    if (this.closed) return
    this.closed = true
    if (this.handle !== undefined) this.addon.close(this.handle)
    else this.addon.closeFd(this.fd)
    for (let i = this.queueHead; i < this.queue.length; i++) {
      const p = this.queue[i]
      if (p !== undefined) p.release?.(p.frame)
      this.c.txDropped++
    }
    this.queue = []
    this.queueHead = 0
  }

  /** A batch of `count` frames is in the read buffer, back to back, each with its header. */
  private readonly onFrames = (count: number): void => {
    const c = this.c
    c.rxBatches++
    const bytes = this.readBytes
    const header = this.vnet ? VNET_HEADER_SIZE : 0
    let at = 0
    for (let i = 0; i < count; i++) {
      const length = this.lengths[i] ?? 0
      const start = at
      at += length
      let offload: FrameOffload | undefined = undefined
      if (header > 0) {
        const decoded = decodeVnetHeader(bytes, start, length)
        if (isVnetHeaderDefect(decoded)) {
          c.rxMalformed++
          continue
        }
        offload = decoded
      }
      const frame = bytes.subarray(start + header, start + length)
      c.rxFrames++
      c.rxBytes += frame.length
      if (!this.slot.attached) c.rxUnattached++
      this.slot.deliver(frame, offload)
    }
  }

  private readonly onWritable = (): void => {
    this.waitingWritable = false
    this.flush()
  }

  private readonly onError = (code: string, message: string): void => {
    this.lastFailure = new TapError({ device: this.name, operation: "poll", code, message })
  }

  /** The TUNSETOFFLOAD flags for a receiver that takes `accepts`, within the ceiling. */
  private flagsFor(accepts: OffloadSupport): number {
    if (!this.vnet || !accepts.checksum || !this.ceiling.checksum) return 0
    // Linux takes TSO flags only together with TUN_F_CSUM (drivers/net/tun.c `set_offload`).
    return TUN_F_CSUM | (accepts.gso && this.ceiling.gso ? TUN_F_TSO4 | TUN_F_TSO6 : 0)
  }

  readonly attach = (receiver: FrameReceiver, accepts?: OffloadSupport): void => {
    const wanted = this.flagsFor(accepts ?? NO_OFFLOAD_SUPPORT)
    let granted = accepts ?? NO_OFFLOAD_SUPPORT
    if (wanted !== this.flags && !this.closed) {
      const result = attempt(this.name, "TUNSETOFFLOAD", () => this.addon.setOffload(this.fd, wanted))
      if (isFailure(result)) {
        this.lastFailure = result
        granted = NO_OFFLOAD_SUPPORT
      } else {
        this.flags = wanted
      }
    }
    if (this.flags === 0) granted = NO_OFFLOAD_SUPPORT
    this.slot.attach(receiver, granted)
  }

  readonly offloadSupport = (): OffloadSupport => (this.vnet ? FULL_OFFLOAD_SUPPORT : NO_OFFLOAD_SUPPORT)

  readonly send = (frame: Uint8Array, release?: FrameRelease, offload?: FrameOffload): void => {
    const c = this.c
    if (this.closed) {
      c.txDropped++
      return release?.(frame)
    }
    let meta = offload
    if (!this.vnet && meta !== undefined) {
      // No header to carry it: complete a partial checksum here; a super-packet cannot go.
      if (meta.gsoType !== "none") {
        c.txDropped++
        return release?.(frame)
      }
      if (needsChecksum(meta)) completeChecksum(frame, meta.csumStart, meta.csumOffset)
      meta = undefined
    }
    if (this.queue.length - this.queueHead >= this.queueLimit) {
      c.txQueueDrops++
      return release?.(frame)
    }
    this.queue.push({ frame, release, offload: meta })
    if (!this.flushScheduled && !this.waitingWritable) {
      this.flushScheduled = true
      queueMicrotask(this.flushSoon)
    }
  }

  private readonly flushSoon = (): void => {
    this.flushScheduled = false
    if (!this.waitingWritable) this.flush()
  }

  /** Writes queued frames in batches until the queue is empty or the fd is full. */
  private flush(): void {
    const handle = this.handle
    if (this.closed || handle === undefined) return
    const c = this.c
    const header = this.vnet ? VNET_HEADER_SIZE : 0
    while (this.queueHead < this.queue.length) {
      const count = Math.min(WRITE_BATCH, this.queue.length - this.queueHead)
      const frames = this.batch
      frames.length = count
      for (let i = 0; i < count; i++) {
        const p = this.queue[this.queueHead + i]
        if (p === undefined) continue
        frames[i] = p.frame
        if (header > 0) encodeVnetHeader(this.headers, i * header, p.offload)
      }
      const errorsBefore = this.status[0] ?? 0
      const written = this.addon.write(handle, this.headers, frames, count, header)
      c.txBatches++
      c.txErrors += (this.status[0] ?? 0) - errorsBefore
      // `written` frames were consumed: sent, or refused and counted in status[0].
      for (let i = 0; i < written; i++) {
        const p = this.queue[this.queueHead + i]
        if (p === undefined) continue
        c.txBytes += p.frame.length
        p.release?.(p.frame)
      }
      c.txFrames += written - ((this.status[0] ?? 0) - errorsBefore)
      this.queueHead += written
      if (written < count) {
        // EAGAIN: the addon polls for writable and calls onWritable.
        c.txStalls++
        this.waitingWritable = true
        break
      }
    }
    this.batch.length = 0
    if (this.queueHead === this.queue.length) {
      this.queue = []
      this.queueHead = 0
    } else if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead)
      this.queueHead = 0
    }
  }

  counters(): TapCounters {
    return { ...this.c }
  }

  offloadFlags(): number {
    return this.flags
  }

  failure(): TapError | TapPermissionDenied | undefined {
    return this.lastFailure
  }
}

/** Opens TAP devices. */
export const TapDevice = {
  /** Why TAP devices cannot be opened here (no addon: not built, not Linux, a load error), or `undefined`. */
  unavailable: (): TapUnavailable | undefined => {
    const addon = tapAddon()
    return addon instanceof TapUnavailable ? addon : undefined
  },

  /**
   * Creates (or attaches to) the TAP device `options.name` and polls it; the
   * fd is closed, and a non-persistent device removed, when the scope
   * closes. Fails with `TapUnavailable` (no addon, with the reason),
   * `TapPermissionDenied` (no `CAP_NET_ADMIN`) or `TapError`.
   */
  open: Effect.fn("TapDevice.open")(function*(
    options: TapOptions = {}
  ): Effect.fn.Return<TapMedium, TapOpenError, Scope.Scope> {
    const addon = tapAddon()
    if (addon instanceof TapUnavailable) return yield* addon
    const wanted = options.name ?? "nst%d"
    if (!validName(wanted)) {
      return yield* new TapError({
        device: wanted,
        operation: "TUNSETIFF",
        code: "EINVAL",
        message: "an interface name is 1 to 15 bytes without spaces, '/' or ':'"
      })
    }
    const vnet = options.vnetHeader ?? true
    const tap = yield* Effect.acquireRelease(
      Effect.suspend(() => {
        const opened = attempt(wanted, "open", () => addon.open(wanted, vnet ? VNET_HEADER_SIZE : 0))
        if (isFailure(opened)) return Effect.fail(opened)
        const device = new Tap(addon, opened.fd, opened.name, options)
        const up = options.up === true ? attempt(opened.name, "SIOCSIFFLAGS", () => addon.setUp(opened.name, true)) : undefined
        const failed = isFailure(up) ? up : device.start()
        if (failed !== undefined) {
          device.close()
          return Effect.fail(failed)
        }
        return Effect.succeed(device)
      }),
      (device) => Effect.sync(() => device.close())
    )
    const medium: TapMedium = {
      name: tap.name,
      send: tap.send,
      attach: tap.attach,
      offloadSupport: tap.offloadSupport,
      counters: () => tap.counters(),
      offloadFlags: () => tap.offloadFlags(),
      failure: () => tap.failure()
    }
    return medium
  })
}
