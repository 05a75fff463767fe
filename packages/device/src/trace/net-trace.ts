/**
 * Tracepoints on the packet path, in the manner of OSv's `net_trace`: each
 * stage a packet passes (device rx, NAPI poll, GRO, the receive handler,
 * xmit, tx completion, and later the protocol layers) records one line, so a
 * packet's whole path can be read back. Off by default; when off a tracepoint
 * costs one branch. Records go to a bounded ring that keeps the newest.
 */
import type { PacketBuffer } from "@netstack/buffers"
import { type Clock, Context } from "effect"
import { nowMicros } from "../time.ts"

/** The stages the device and driver record; higher layers add their own names. */
export type TraceStage = "device-rx" | "device-tx" | "napi-poll" | "gro" | "receive" | "xmit" | "gso" | "tx-completion"

/**
 * The receive stages of the layers above the driver, on the slow path:
 * `l2-rx` (the link layer took the frame), `ip-rcv` (IPv4 validated the
 * header), `ip-local` (delivered to a protocol), `tcp-rcv` (TCP input;
 * detail `slow`).
 */
export type StackTraceStage = "l2-rx" | "ip-rcv" | "ip-local" | "tcp-rcv"

/**
 * The net-channel stages (the fast path skips `l2-rx`, `ip-rcv` and
 * `ip-local`): `channel-push` (the classifier queued the packet on its
 * connection's channel), `channel-drop` (the channel was full),
 * `channel-slow` (the classifier left the packet to the slow path; detail:
 * why), `channel-input` (the channel's consumer runs TCP input for it; then
 * `tcp-rcv` with detail `channel`).
 */
export type ChannelTraceStage = "channel-push" | "channel-drop" | "channel-slow" | "channel-input"

/** One tracepoint hit. */
export interface TraceRecord {
  /** Microseconds on the stack's clock. */
  readonly time: number
  readonly stage: string
  /** The packet's trace id (`meta.traceId`). */
  readonly packet: number
  /** Device name and queue, e.g. `eth0:0`. */
  readonly where: string
  /** Packet length at this stage. */
  readonly length: number
  /** Anything stage-specific (`merged 3`, `budget 64`). */
  readonly detail: string
}

/** The trace of one network namespace (host). */
export class NetTrace {
  /** Whether tracepoints record. Read on every tracepoint; everything else happens only when true. */
  enabled = false
  /** Records that were overwritten because the ring was full. */
  overwritten = 0
  private readonly ring: Array<TraceRecord> = []
  private next = 0
  private nextId = 1
  private clock: Clock.Clock | undefined = undefined
  private readonly capacity: number

  constructor(capacity = 8192) {
    this.capacity = capacity
  }

  /** Starts recording, stamping records with `clock`. */
  enable(clock: Clock.Clock): void {
    this.clock = clock
    this.enabled = true
  }

  /** Stops recording (records are kept). */
  disable(): void {
    this.enabled = false
  }

  /** Records `stage` for `packet` (giving it a trace id the first time) at `where`. Call only when `enabled`. */
  record(stage: string, packet: PacketBuffer, where: string, detail = ""): void {
    this.recordAs(stage, this.idOf(packet), packet.length, where, detail)
  }

  /** `packet`'s trace id, given to it now if it has none. */
  idOf(packet: PacketBuffer): number {
    if (packet.meta.traceId === 0) packet.meta.traceId = this.nextId++
    return packet.meta.traceId
  }

  /**
   * Records `stage` for the packet traced as `id` (see `idOf`), `length`
   * bytes long: for a packet already handed on, which its new owner may
   * have changed or released. Call only when `enabled`.
   */
  recordAs(stage: string, id: number, length: number, where: string, detail = ""): void {
    const record: TraceRecord = {
      time: this.clock === undefined ? 0 : nowMicros(this.clock),
      stage,
      packet: id,
      where,
      length,
      detail
    }
    if (this.ring.length < this.capacity) {
      this.ring.push(record)
    } else {
      this.ring[this.next] = record
      this.next = (this.next + 1) % this.capacity
      this.overwritten++
    }
  }

  /** Every kept record, oldest first. */
  records(): ReadonlyArray<TraceRecord> {
    return this.ring.length < this.capacity ? this.ring.slice() : [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)]
  }

  /** The stages packet `id` passed, in order. */
  path(id: number): ReadonlyArray<TraceRecord> {
    return this.records().filter((r) => r.packet === id)
  }

  /** Forgets every record. */
  clear(): void {
    this.ring.length = 0
    this.next = 0
    this.overwritten = 0
  }
}

/** One line per record: `    12.500 µs  device-rx      #7  eth0:0  len 98  detail`. */
export const formatTrace = (records: ReadonlyArray<TraceRecord>): string =>
  records
    .map((r) => `${r.time.toFixed(3).padStart(12)} µs  ${r.stage.padEnd(14)} #${String(r.packet).padEnd(5)} ${r.where.padEnd(10)} len ${r.length}${r.detail === "" ? "" : `  ${r.detail}`}`)
    .join("\n")

/** The trace of the current network namespace; a disabled one unless a host provides its own. */
export const CurrentNetTrace = Context.Reference<NetTrace>("@netstack/device/NetTrace", {
  defaultValue: () => new NetTrace()
})
