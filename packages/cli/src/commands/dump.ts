/**
 * `netstack dump`: brings a host up on a medium (the flags `up` takes) and
 * prints one line per frame its interface sends or receives, as `tcpdump
 * -i any -n -tt` does (time, interface, In/Out, the decoded frame), or one
 * JSON object per frame with `--json`, or writes them to a pcap file with
 * `-w FILE`. The frames come from the link layer's taps (where Linux's
 * packet sockets see them, `dev_queue_xmit_nit` and `__netif_receive_skb`),
 * so TSO super-packets appear whole, as tcpdump shows them on Linux.
 * `-c N` stops after N frames; SIGINT stops it too. Either way it reports on
 * stderr how many frames it captured and how many it dropped (a full queue,
 * as libpcap's `ps_drop`).
 */
import { PacketBuffer } from "@netstack/buffers"
import { type CapturedFrame, captureTap } from "@netstack/l2"
import type { Host } from "@netstack/stack"
import { decodeFrame, formatFrame, frameToJson, ipv4ToString, type Json, pcapFileHeader, pcapRecord, PcapWriteError } from "@netstack/wire"
import { Clock, Console, Effect, FileSystem, Option, Queue, Schema } from "effect"
import { CliError, Command, Flag } from "effect/cli"
import { bringUp, type HostChoice, hostFlags } from "../link/bring-up.ts"
import { errorText } from "./up.ts"

/** What a dump does. */
export interface DumpOptions {
  /** Stop after this many frames; until interrupted without it. */
  readonly count?: number | undefined
  /** Write a libpcap file here instead of printing. */
  readonly pcap?: string | undefined
  /** One JSON object per frame instead of a line. */
  readonly json?: boolean | undefined
  /** Most frames waiting to be printed or written; more are dropped and counted. Default 4096. */
  readonly bufferFrames?: number | undefined
}

/** What a dump saw. */
export interface DumpSummary {
  /** Frames printed or written. */
  readonly captured: number
  /** Frames dropped because the queue was full. */
  readonly dropped: number
  readonly file?: string | undefined
}

/** Bad `dump` settings. */
export class DumpUsageError extends Schema.TaggedError<DumpUsageError>()("DumpUsageError", {
  message: Schema.String
}) {}

/** `seconds.microseconds`, as tcpdump -tt prints a timestamp. */
const formatTime = (nanos: bigint): string => {
  const micros = nanos / 1000n
  return `${micros / 1_000_000n}.${(micros % 1_000_000n).toString().padStart(6, "0")}`
}

/** A JSON object (not an array or a scalar). */
const isObject = (json: Json): json is { readonly [key: string]: Json } => typeof json === "object" && json !== null && !Array.isArray(json)

/** The line (or JSON object) for the `index`-th captured frame. */
export const describeLiveFrame = (frame: CapturedFrame, index: number, json: boolean): string => {
  const decoded = decodeFrame(PacketBuffer.wrap(frame.data))
  if (json) {
    const object = frameToJson(decoded, {
      index,
      timestamp: frame.timestamp,
      ...(frame.originalLength !== frame.data.length ? { originalLength: frame.originalLength } : {})
    })
    return JSON.stringify({ interface: frame.device, direction: frame.direction, ...(isObject(object) ? object : {}) })
  }
  return `${formatTime(frame.timestamp)} ${frame.device} ${frame.direction === "in" ? "In " : "Out"} ${formatFrame(decoded)}`
}

/**
 * Taps every interface of `host` and prints (through `write`) or writes to
 * `options.pcap` each frame, until `options.count` frames or interruption;
 * `finish` gets the summary either way.
 */
export const runDump = Effect.fn("netstack.dump")(function*(
  host: Host,
  options: DumpOptions,
  write: (text: string) => Effect.Effect<void>,
  finish: (summary: DumpSummary) => Effect.Effect<void> = () => Effect.void
) {
  const limit = options.count
  const clock = yield* Clock.Clock
  const queue = yield* Queue.bounded<CapturedFrame>(options.bufferFrames ?? 4096)
  let accepted = 0
  let dropped = 0
  let handled = 0
  const removeTap = host.link.addTap(captureTap(clock, {}, (frame) => {
    if (limit !== undefined && accepted >= limit) return
    if (Queue.offerUnsafe(queue, frame)) accepted++
    else dropped++
  }))
  yield* Effect.addFinalizer(() => Effect.sync(removeTap))

  const path = options.pcap
  const file = path === undefined ? undefined : yield* (yield* FileSystem.FileSystem).open(path, { flag: "w" })
  if (file !== undefined) {
    const header = pcapFileHeader()
    if (header instanceof PcapWriteError) return yield* header
    yield* file.writeAll(header)
  }
  const summary = (): DumpSummary => ({ captured: handled, dropped, ...(path === undefined ? {} : { file: path }) })

  yield* Effect.gen(function*() {
    while (limit === undefined || handled < limit) {
      const batch = yield* Queue.takeAll(queue)
      if (file === undefined) {
        for (const frame of batch) yield* write(describeLiveFrame(frame, ++handled, options.json ?? false))
        continue
      }
      for (const frame of batch) {
        const record = pcapRecord(frame)
        if (record instanceof PcapWriteError) return yield* record
        yield* file.writeAll(record)
        handled++
      }
    }
    if (file !== undefined) yield* file.sync
  }).pipe(Effect.ensuring(Effect.suspend(() => finish(summary()))))
  return summary()
})

/** `dump`'s flags: the host's, then tcpdump's `-c` and `-w`. */
const dumpFlags = {
  ...hostFlags,
  count: Flag.Int("count").pipe(Flag.withAlias("c"), Flag.withDescription("Stop after COUNT frames"), Flag.optional),
  write: Flag.String("write").pipe(Flag.withAlias("w"), Flag.withDescription("Write the frames to a pcap FILE instead of printing them"), Flag.optional),
  json: Flag.Boolean("json").pipe(Flag.withDescription("One JSON object per frame (with -w: a JSON summary at the end)"), Flag.withDefault(false))
} as const

/** The values `dump` is run with. */
type DumpFlags = HostChoice & { readonly count: Option.Option<number>; readonly write: Option.Option<string>; readonly json: boolean }

/** Brings the host up and dumps its frames. */
export const dump = (flags: DumpFlags) =>
  Effect.gen(function*() {
    const count = Option.getOrUndefined(flags.count)
    if (count !== undefined && count < 1) return yield* new DumpUsageError({ message: `dump: invalid count ${count}` })
    const { host, device, medium, mac } = yield* bringUp(flags)
    const addresses = host.ipv4.addresses.on(device).map((a) => `${ipv4ToString(a.address)}/${a.prefixLength}`)
    yield* Console.error(
      `listening on ${device.name} (${medium.description}, ${mac} ${addresses.join(" ")}), link-type EN10MB (Ethernet)` +
        (Option.isSome(flags.write) ? `, writing ${flags.write.value}` : "")
    )
    yield* runDump(
      host,
      { count, pcap: Option.getOrUndefined(flags.write), json: flags.json },
      (line) => Console.log(line),
      (summary) =>
        flags.json && summary.file !== undefined
          ? Console.log(JSON.stringify(summary))
          : Console.error(`${summary.captured} packets captured, ${summary.dropped} dropped`)
    )
  }).pipe(Effect.scoped)

/** The `dump` subcommand. */
export const dumpCommand = Command.make("dump", dumpFlags, (flags) =>
  dump(flags).pipe(
    Effect.mapError((error) => new CliError.UserError({ cause: error, userMessage: errorText(error) }))
  )).pipe(Command.withDescription("Bring a host up on a medium and print (or -w write to a pcap) every frame of its interface"))
