/**
 * Packet capture from the link layer's taps (what `tcpdump -i IFACE -w FILE`
 * does with a packet socket, `AF_PACKET` / `dev_queue_xmit_nit`): every frame
 * a tap sees on the chosen interfaces and directions is copied (at most
 * `snaplen` bytes) with the time on the stack's `Clock`, so captures are
 * deterministic under `TestClock`.
 *
 * - `captureToArray` keeps the frames in memory (bounded by `limit`), for
 *   tests and demos.
 * - `capturePcap` writes a libpcap file (draft-ietf-opsawg-pcap) while its
 *   scope is open: the tap copies frames into a bounded in-memory queue, a
 *   fiber drains it and writes through Effect's `FileSystem`; frames that do
 *   not fit in the queue are dropped and counted (as `ps_drop` of
 *   `pcap_stats`); when the scope closes the tap is removed, the queue is
 *   written out and the file closed.
 *
 * The tap never keeps or changes the frame: it copies bytes out of it, so the
 * frame stays owned by the link layer.
 */
import {
  LINKTYPE_ETHERNET,
  PCAP_DEFAULT_SNAPLEN,
  pcapFileHeader,
  type PcapFrameInput,
  pcapRecord,
  PcapWriteError
} from "@netstack/wire"
import { capturedFrame } from "@netstack/device"
import { Cause, Clock, Effect, Fiber, FileSystem, type PlatformError, Queue, type Scope } from "effect"
import type { LinkLayer, Tap, TapDirection } from "../link-layer.ts"

/** Which frames a capture keeps: `in` (received), `out` (sent) or `both`. */
export type CaptureDirection = TapDirection | "both"

/** What to capture. */
export interface CaptureOptions {
  /** Interface names to capture on; default every interface (`tcpdump -i any`, one link type). */
  readonly devices?: ReadonlyArray<string> | undefined
  /** Received, sent or both (`tcpdump -Q in|out|inout`); default both. */
  readonly direction?: CaptureDirection | undefined
  /** Bytes kept of each frame (`tcpdump -s`); default 262144. */
  readonly snaplen?: number | undefined
}

/** A captured frame: a `PcapFrameInput` plus where and which way it went. */
export interface CapturedFrame extends PcapFrameInput {
  /** Nanoseconds since the epoch on the stack's clock when the tap saw it. */
  readonly timestamp: bigint
  /** The first `snaplen` bytes of the frame, from its Ethernet header (a copy). */
  readonly data: Uint8Array
  /** The frame's full length. */
  readonly originalLength: number
  readonly linkType: number
  /** Name of the interface it went through. */
  readonly device: string
  readonly ifindex: number
  readonly direction: TapDirection
}

/** The default most frames `captureToArray` keeps. */
export const DEFAULT_ARRAY_CAPTURE_LIMIT = 100_000

/** The snaplen `options` ask for, or the default when it is not a positive integer below 2^32. */
const snaplenOf = (options: CaptureOptions): number => {
  const s = options.snaplen
  return s !== undefined && Number.isInteger(s) && s > 0 && s <= 0xffffffff ? s : PCAP_DEFAULT_SNAPLEN
}

/**
 * A tap that copies each matching frame (at most `snaplen` bytes, stamped on
 * `clock`) and hands the copy to `sink`. Plain synchronous code per frame.
 */
export const captureTap = (
  clock: Clock.Clock,
  options: CaptureOptions,
  sink: (frame: CapturedFrame) => void
): Tap => {
  const names = options.devices === undefined ? undefined : new Set(options.devices)
  const direction = options.direction ?? "both"
  const snaplen = snaplenOf(options)
  return (frame, device, dir) => {
    if (direction !== "both" && direction !== dir) return
    if (names !== undefined && !names.has(device.name)) return
    const length = frame.length
    // A partial checksum (the NIC or a peer completes it) is completed in the copy, so the capture
    // is what the wire carries (tcpdump on Linux shows the pseudo-header sum instead).
    const data = capturedFrame(frame, snaplen)
    if (data.length === 0 && length > 0) return
    sink({
      timestamp: clock.currentTimeNanosUnsafe(),
      data,
      originalLength: length,
      linkType: LINKTYPE_ETHERNET,
      device: device.name,
      ifindex: device.ifindex,
      direction: dir
    })
  }
}

/** A capture into memory. */
export interface ArrayCapture {
  /** The frames captured so far, in the order the taps saw them. */
  readonly frames: ReadonlyArray<CapturedFrame>
  /** Frames not kept because `limit` was reached. */
  readonly dropped: number
  /** Removes the tap; later frames are not captured. Idempotent. */
  readonly stop: () => void
}

/**
 * Captures the frames of `link`'s taps into memory, up to `limit` frames
 * (default 100 000; the rest are counted in `dropped`), until `stop()`.
 * Timestamps come from the current `Clock`.
 */
export const captureToArray = (
  link: LinkLayer,
  options: CaptureOptions & { readonly limit?: number | undefined } = {}
): Effect.Effect<ArrayCapture> =>
  Effect.map(Effect.service(Clock.Clock), (clock) => {
    const frames: Array<CapturedFrame> = []
    const limit = options.limit !== undefined && options.limit >= 0 ? options.limit : DEFAULT_ARRAY_CAPTURE_LIMIT
    let dropped = 0
    const remove = link.addTap(captureTap(clock, options, (frame) => {
      if (frames.length < limit) frames.push(frame)
      else dropped++
    }))
    return {
      frames,
      get dropped() {
        return dropped
      },
      stop: remove
    }
  })

/** What `capturePcap` takes besides the `CaptureOptions`. */
export interface PcapCaptureOptions extends CaptureOptions {
  /** Most frames waiting to be written; default 4096. */
  readonly bufferFrames?: number | undefined
  /** Most bytes waiting to be written; default 16 MiB. */
  readonly bufferBytes?: number | undefined
  /** Nanosecond timestamps (magic 0xa1b23c4d); default microseconds. */
  readonly nanosecond?: boolean | undefined
}

/** A pcap capture in progress (it ends when its scope closes). */
export interface PcapCapture {
  /** The file being written. */
  readonly path: string
  /** Frames the tap copied into the queue. */
  readonly captured: number
  /** Frames written to the file. */
  readonly written: number
  /** Frames dropped because the queue was full (`pcap_stats` `ps_drop`). */
  readonly dropped: number
  /** The write error that stopped the capture, if one did. */
  readonly failure: PlatformError.PlatformError | PcapWriteError | undefined
}

/** Default `bufferFrames`. */
export const DEFAULT_CAPTURE_BUFFER_FRAMES = 4096
/** Default `bufferBytes`: 16 MiB. */
export const DEFAULT_CAPTURE_BUFFER_BYTES = 16 * 1024 * 1024

const positiveOr = (n: number | undefined, fallback: number): number =>
  n !== undefined && Number.isInteger(n) && n > 0 ? n : fallback

/** One byte array holding the pcap records of `frames`, or the error of the first that cannot be written. */
const encodeRecords = (
  frames: ReadonlyArray<CapturedFrame>,
  options: { readonly snaplen: number; readonly nanosecond: boolean }
): Uint8Array | PcapWriteError => {
  const records: Array<Uint8Array> = []
  let total = 0
  for (const frame of frames) {
    const record = pcapRecord(frame, options)
    if (record instanceof PcapWriteError) return record
    records.push(record)
    total += record.length
  }
  const out = new Uint8Array(total)
  let at = 0
  for (const record of records) {
    out.set(record, at)
    at += record.length
  }
  return out
}

/**
 * Captures the frames of `link`'s taps to the libpcap file at `path`
 * (created or truncated; Ethernet link type) while the current scope is
 * open. The File Header is written at once; frames are written by a fiber as
 * they come; closing the scope removes the tap, writes every queued frame and
 * closes the file. Fails at once on a bad `snaplen` (`PcapWriteError`) or if
 * the file cannot be opened; a later write error stops the capture and is
 * reported in `failure`.
 */
export const capturePcap = (
  link: LinkLayer,
  path: string,
  options: PcapCaptureOptions = {}
): Effect.Effect<PcapCapture, PlatformError.PlatformError | PcapWriteError, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function*() {
    const snaplen = options.snaplen ?? PCAP_DEFAULT_SNAPLEN
    const nanosecond = options.nanosecond ?? false
    const header = pcapFileHeader({ snaplen, nanosecond, linkType: LINKTYPE_ETHERNET })
    if (header instanceof PcapWriteError) return yield* header
    const bufferFrames = positiveOr(options.bufferFrames, DEFAULT_CAPTURE_BUFFER_FRAMES)
    const bufferBytes = positiveOr(options.bufferBytes, DEFAULT_CAPTURE_BUFFER_BYTES)
    const fs = yield* FileSystem.FileSystem
    const clock = yield* Clock.Clock
    // the file is closed by the scope, after the finalizer below has written the queue out
    const file = yield* fs.open(path, { flag: "w" })
    yield* file.writeAll(header)

    const queue = yield* Queue.bounded<CapturedFrame, Cause.Done>(bufferFrames)
    let captured = 0
    let written = 0
    let dropped = 0
    let queuedBytes = 0
    let failure: PlatformError.PlatformError | PcapWriteError | undefined = undefined
    const state: PcapCapture = {
      path,
      get captured() {
        return captured
      },
      get written() {
        return written
      },
      get dropped() {
        return dropped
      },
      get failure() {
        return failure
      }
    }

    const removeTap = link.addTap(captureTap(clock, { ...options, snaplen }, (frame) => {
      if (failure !== undefined || queuedBytes + frame.data.length > bufferBytes || !Queue.offerUnsafe(queue, frame)) {
        dropped++
        return
      }
      queuedBytes += frame.data.length
      captured++
    }))

    const writer = Effect.gen(function*() {
      for (;;) {
        const batch = yield* Queue.takeAll(queue)
        for (const frame of batch) queuedBytes -= frame.data.length
        const bytes = encodeRecords(batch, { snaplen, nanosecond })
        if (bytes instanceof PcapWriteError) return yield* bytes
        yield* file.writeAll(bytes)
        written += batch.length
      }
    }).pipe(
      Effect.catchIf(Cause.isDone, () => Effect.void),
      Effect.catch((error) =>
        Effect.sync(() => {
          failure = error
          removeTap()
        })
      )
    )
    const fiber = yield* Effect.forkScoped(writer)

    // runs before the writer's and the file's finalizers (reverse order): stop, drain, sync
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        removeTap()
        yield* Queue.end(queue)
        yield* Fiber.await(fiber)
        if (failure === undefined) {
          yield* file.sync.pipe(Effect.catch((error) => Effect.sync(() => void (failure = error))))
        }
      })
    )
    return state
  })
