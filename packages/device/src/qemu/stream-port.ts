/**
 * A medium port over a byte stream with QEMU's stream framing (a 4-byte
 * big-endian length, then the frame): what `-netdev stream` and passt speak.
 * One connection at a time carries the frames; the stream is swapped when a
 * server accepts a new client, and frames sent while nothing is connected are
 * dropped and counted, as a cable with nothing at the other end.
 *
 * Sending writes the prefix and the frame into the socket, corked so that all
 * frames sent in one turn of the event loop leave in one `writev`; the frame
 * goes back to its sender (`release`) once Node has written it. At most
 * `txQueueLimit` frames wait in the socket; more are dropped and counted.
 * Receiving cuts the stream into frames ({@link StreamDeframer}) and hands
 * each to the receiver inside the `data` event. A length prefix of zero or
 * over the limit means the stream is out of step: the connection is closed
 * and the reason counted. Stream framing carries no offload metadata.
 */
import type { Socket } from "node:net"
import { Latch } from "effect"
import type { FrameOffload } from "../medium/offload.ts"
import { completeChecksum, needsChecksum } from "../medium/offload.ts"
import { type FrameReceiver, type FrameRelease, type MediumPort, ReceiverSlot } from "../medium/port.ts"
import { type FramingDefect, lengthPrefix, QEMU_MAX_FRAME, StreamDeframer } from "./framing.ts"

/** Why the last connection ended. */
export type StreamCloseReason = FramingDefect | "peer-closed" | "error" | "closed"

/** Counters of a stream medium. */
export interface StreamCounters {
  /** Frames taken from the stream and handed on (or dropped unattached), and their bytes. */
  readonly rxFrames: number
  readonly rxBytes: number
  /** Frames that arrived with no receiver attached. */
  readonly rxUnattached: number
  /** Frames written into the socket, and their bytes (without the prefix). */
  readonly txFrames: number
  readonly txBytes: number
  /** Frames dropped because `txQueueLimit` frames were waiting in the socket. */
  readonly txQueueDrops: number
  /** Frames dropped because no peer was connected. */
  readonly txNotConnected: number
  /** Super-packets dropped: stream framing carries no GSO metadata. */
  readonly txUnsupported: number
  /** Connections closed because a length prefix was zero / over the limit. */
  readonly closedZeroLength: number
  readonly closedTooLong: number
  /** Connections taken up, ended, and (servers) refused while one was in use. */
  readonly connections: number
  readonly disconnections: number
  readonly rejectedConnections: number
}

/** Settings of a stream medium. */
export interface StreamPortOptions {
  /** Most frames waiting in the socket; default 1024. */
  readonly txQueueLimit?: number | undefined
  /** Longest frame accepted from the stream; default QEMU's 69632 (`NET_BUFSIZE`). */
  readonly maxFrame?: number | undefined
}

/** A medium port that speaks stream framing over whichever socket is current. */
export class StreamPort {
  private readonly slot = new ReceiverSlot()
  private readonly txQueueLimit: number
  private readonly maxFrame: number
  private socket: Socket | undefined = undefined
  private pending = 0
  private uncorkScheduled = false
  private reason: StreamCloseReason | undefined = undefined
  /** Open while a peer is connected. */
  readonly connectedLatch: Latch.Latch = Latch.makeUnsafe(false)
  /** Open once a connection has ended (reset when a new one starts). */
  readonly endedLatch: Latch.Latch = Latch.makeUnsafe(false)
  private readonly c = {
    rxFrames: 0,
    rxBytes: 0,
    rxUnattached: 0,
    txFrames: 0,
    txBytes: 0,
    txQueueDrops: 0,
    txNotConnected: 0,
    txUnsupported: 0,
    closedZeroLength: 0,
    closedTooLong: 0,
    connections: 0,
    disconnections: 0,
    rejectedConnections: 0
  }

  constructor(options: StreamPortOptions = {}) {
    this.txQueueLimit = Math.max(1, options.txQueueLimit ?? 1024)
    this.maxFrame = Math.max(1, options.maxFrame ?? QEMU_MAX_FRAME)
  }

  /** True while a peer is connected. */
  get connected(): boolean {
    return this.socket !== undefined
  }

  /** Why the last connection ended, if one did. */
  get closeReason(): StreamCloseReason | undefined {
    return this.reason
  }

  /** A server refused a second client. */
  rejected(): void {
    this.c.rejectedConnections++
  }

  /** Takes up `socket` as the stream (a server's new client, a client's connection). */
  adopt(socket: Socket): void {
    const c = this.c
    c.connections++
    this.socket = socket
    this.pending = 0
    this.reason = undefined
    socket.setNoDelay?.(true)
    Latch.closeUnsafe(this.endedLatch)
    Latch.openUnsafe(this.connectedLatch)
    let ended = false
    const end = (reason: StreamCloseReason) => {
      if (ended) return
      ended = true
      this.reason = reason
      c.disconnections++
      if (this.socket === socket) {
        this.socket = undefined
        Latch.closeUnsafe(this.connectedLatch)
        Latch.openUnsafe(this.endedLatch)
      }
    }
    const deframer = new StreamDeframer(this.maxFrame, (frame) => {
      c.rxFrames++
      c.rxBytes += frame.length
      if (!this.slot.attached) c.rxUnattached++
      this.slot.deliver(frame)
    })
    socket.on("data", (chunk: Uint8Array) => {
      if (ended) return
      const defect = deframer.push(chunk)
      if (defect === undefined) return
      if (defect === "zero-length") c.closedZeroLength++
      else c.closedTooLong++
      end(defect)
      socket.destroy()
    })
    socket.on("end", () => {
      end("peer-closed")
      socket.destroy()
    })
    socket.on("error", () => end("error"))
    socket.on("close", () => end("peer-closed"))
  }

  /** Ends the current connection (the scope closes). */
  close(): void {
    const socket = this.socket
    if (socket === undefined) return
    this.reason = "closed"
    socket.destroy()
  }

  readonly attach = (receiver: FrameReceiver): void => this.slot.attach(receiver)

  readonly send = (frame: Uint8Array, release?: FrameRelease, offload?: FrameOffload): void => {
    const c = this.c
    const socket = this.socket
    if (offload !== undefined && offload.gsoType !== "none") {
      c.txUnsupported++
      return release?.(frame)
    }
    if (socket === undefined || socket.destroyed) {
      c.txNotConnected++
      return release?.(frame)
    }
    if (this.pending >= this.txQueueLimit) {
      c.txQueueDrops++
      return release?.(frame)
    }
    // Stream framing has no header for metadata: a partial checksum is completed here (as QEMU's
    // virtio backend does for a peer without the offload).
    if (needsChecksum(offload)) completeChecksum(frame, offload.csumStart, offload.csumOffset)
    if (!this.uncorkScheduled) {
      this.uncorkScheduled = true
      socket.cork()
      queueMicrotask(() => {
        this.uncorkScheduled = false
        socket.uncork()
      })
    }
    this.pending++
    c.txFrames++
    c.txBytes += frame.length
    socket.write(lengthPrefix(frame.length))
    socket.write(frame, () => {
      this.pending--
      release?.(frame)
    })
  }

  /** A snapshot of the counters. */
  counters(): StreamCounters {
    return { ...this.c }
  }

  /** The port a NIC plugs into. */
  port(): MediumPort {
    return { send: this.send, attach: this.attach }
  }
}
