/**
 * `netstack ping ADDR`: brings a host up on a medium (the flags `up`
 * takes) and sends ICMP echo requests (RFC 792) to ADDR, printing what
 * Linux's `ping` (iputils) prints: the `PING` line, one line per reply or
 * ICMP error, local send errors (`ping: local error: message too long,
 * mtu=N` for `-M do` over the path MTU, RFC 1191 §3), and the statistics.
 * Requests go out every `-i` seconds whether or not the last was answered,
 * as ping does; after the last one it waits up to `-W` seconds for what is
 * still outstanding. Like ping, it exits with 1 when nothing answered.
 * SIGINT stops it early and still prints the statistics.
 */
import type { EchoEvent } from "@netstack/l3"
import type { Host } from "@netstack/stack"
import { ipv4FromString, ipv4ToString } from "@netstack/wire"
import { Clock, Console, Deferred, Duration, Effect, Fiber, Option, Queue, Runtime, Schema } from "effect"
import { Argument, CliError, Command, Flag } from "effect/cli"
import { bringUp, type HostChoice, hostFlags } from "../link/bring-up.ts"
import { errorText } from "./up.ts"

/** What one `ping` run does. */
export interface PingSettings {
  /** Dotted IPv4 address. */
  readonly destination: string
  /** Echo requests to send; 0 sends until interrupted. */
  readonly count: number
  /** Bytes of data after the 8-byte ICMP header (`-s`). */
  readonly size: number
  /** Seconds between requests (`-i`). */
  readonly interval: number
  /** Seconds to wait for outstanding replies after the last request (`-W`). */
  readonly timeout: number
  /** Set DF (`-M do`): never fragment, report the path MTU instead (RFC 1191). */
  readonly dontFragment: boolean
  /** IP time to live (`-t`); the host's default without it. */
  readonly ttl?: number | undefined
}

/** One thing that happened to one request. */
export type PingEvent =
  | {
    readonly type: "reply"
    readonly sequence: number
    readonly from: string
    /** Bytes of the ICMP message (`64 bytes from …`). */
    readonly bytes: number
    readonly ttl: number
    readonly milliseconds: number
    readonly duplicate: boolean
    /** The first byte of data that differs from what was sent, if one does. */
    readonly wrongByte?: { readonly index: number; readonly expected: number; readonly actual: number } | undefined
  }
  | {
    readonly type: "icmp-error"
    readonly sequence: number
    readonly from: string
    readonly icmpType: number
    readonly icmpCode: number
    /** The next-hop MTU of a fragmentation needed (RFC 1191 §4). */
    readonly mtu?: number | undefined
    readonly text: string
  }
  | {
    readonly type: "local-error"
    readonly sequence: number
    /** The `SendError` reason (`message-too-big`, `no-route`…). */
    readonly reason: string
    readonly mtu?: number | undefined
    readonly text: string
  }

/** Round-trip statistics in milliseconds (ping's `rtt min/avg/max/mdev`). */
export interface RttStatistics {
  readonly min: number
  readonly avg: number
  readonly max: number
  readonly mdev: number
}

/** What a ping run adds up to. */
export interface PingSummary {
  readonly destination: string
  readonly size: number
  readonly transmitted: number
  readonly received: number
  readonly duplicates: number
  readonly errors: number
  /** Percent of requests without a reply. */
  readonly loss: number
  /** Milliseconds from the first request to the end. */
  readonly milliseconds: number
  readonly rtt: RttStatistics | undefined
  readonly events: ReadonlyArray<PingEvent>
}

/** Bad `ping` settings. */
export class PingUsageError extends Schema.TaggedError<PingUsageError>()("PingUsageError", {
  message: Schema.String
}) {}

/**
 * No request was answered: ping's exit status 1, after the statistics
 * have been printed (so nothing more is reported).
 */
export class NoReply extends Schema.TaggedError<NoReply>()("NoReply", {
  destination: Schema.String,
  transmitted: Schema.Number
}) {
  override readonly [Runtime.errorExitCode] = 1
  override readonly [Runtime.errorReported] = false
}

/** iputils' text for an ICMP error (ping_common.c / ping.c `pr_icmph`). */
export const icmpErrorText = (type: number, code: number, mtu: number | undefined): string => {
  if (type === 3) {
    const texts = [
      "Destination Net Unreachable",
      "Destination Host Unreachable",
      "Destination Protocol Unreachable",
      "Destination Port Unreachable",
      `Frag needed and DF set (mtu = ${mtu ?? 0})`,
      "Source Route Failed",
      "Destination Net Unknown",
      "Destination Host Unknown",
      "Source Host Isolated",
      "Destination Net Prohibited",
      "Destination Host Prohibited",
      "Destination Net Unreachable for Type of Service",
      "Destination Host Unreachable for Type of Service",
      "Packet filtered",
      "Precedence Violation",
      "Precedence Cutoff"
    ]
    return texts[code] ?? `Dest Unreachable, Bad Code: ${code}`
  }
  if (type === 11) return code === 0 ? "Time to live exceeded" : code === 1 ? "Frag reassembly time exceeded" : `Time exceeded, Bad Code: ${code}`
  if (type === 12) return "Parameter problem"
  return `Bad ICMP type: ${type}`
}

/** What ping prints when the stack refuses to send (the errno a socket would report). */
const localErrorText = (reason: string, mtu: number | undefined): string => {
  switch (reason) {
    case "message-too-big":
      return `ping: local error: message too long, mtu=${mtu ?? 0}`
    case "no-route":
      return "ping: sendmsg: Network is unreachable"
    case "unreachable":
      return "ping: sendmsg: No route to host"
    case "prohibited":
      return "ping: sendmsg: Permission denied"
    case "filtered":
      return "ping: sendmsg: Operation not permitted"
    case "no-source":
      return "ping: sendmsg: Cannot assign requested address"
    default:
      return `ping: sendmsg: ${reason}`
  }
}

/** A round trip as iputils prints it: 3 significant digits below 100 ms, whole milliseconds above. */
export const formatRtt = (ms: number): string =>
  ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3)

/** A number as C's `%g` prints it (6 significant digits, no trailing zeros). */
const percent = (value: number): string => String(Number(value.toPrecision(6)))

/** The line ping prints for `event`. */
export const eventLine = (event: PingEvent): string => {
  switch (event.type) {
    case "reply": {
      const line = `${event.bytes} bytes from ${event.from}: icmp_seq=${event.sequence} ttl=${event.ttl} time=${formatRtt(event.milliseconds)} ms` +
        (event.duplicate ? " (DUP!)" : "")
      const wrong = event.wrongByte
      return wrong === undefined
        ? line
        : `${line}\nwrong data byte #${wrong.index} should be 0x${wrong.expected.toString(16)} but was 0x${wrong.actual.toString(16)}`
    }
    case "icmp-error":
      return `From ${event.from} icmp_seq=${event.sequence} ${event.text}`
    case "local-error":
      return event.text
  }
}

/** ping's first line: `PING 10.0.0.2 (10.0.0.2) 56(84) bytes of data.` */
export const headerLine = (settings: PingSettings): string =>
  `PING ${settings.destination} (${settings.destination}) ${settings.size}(${settings.size + 28}) bytes of data.`

/** ping's closing statistics, with the blank line before them. */
export const summaryLines = (summary: PingSummary): ReadonlyArray<string> => {
  const counts = [
    `${summary.transmitted} packets transmitted`,
    `${summary.received} received`,
    ...(summary.duplicates > 0 ? [`+${summary.duplicates} duplicates`] : []),
    ...(summary.errors > 0 ? [`+${summary.errors} errors`] : []),
    `${percent(summary.loss)}% packet loss`,
    `time ${Math.round(summary.milliseconds)}ms`
  ]
  const rtt = summary.rtt
  return [
    "",
    `--- ${summary.destination} ping statistics ---`,
    counts.join(", "),
    ...(rtt === undefined
      ? []
      : [`rtt min/avg/max/mdev = ${rtt.min.toFixed(3)}/${rtt.avg.toFixed(3)}/${rtt.max.toFixed(3)}/${rtt.mdev.toFixed(3)} ms`])
  ]
}

/** The data of each request: bytes 0, 1, 2… (iputils fills its pattern the same way after the timestamp). */
const requestData = (size: number): Uint8Array => Uint8Array.from({ length: size }, (_, i) => i & 0xff)

/** The first byte where `actual` differs from `expected`, if any. */
const firstDifference = (expected: Uint8Array, actual: Uint8Array) => {
  const length = Math.max(expected.length, actual.length)
  for (let i = 0; i < length; i++) {
    if (expected[i] !== actual[i]) return { index: i, expected: expected[i] ?? 0, actual: actual[i] ?? 0 }
  }
  return undefined
}

/** Checks settings as ping does before sending anything. */
export const checkPingSettings = (settings: PingSettings): PingUsageError | undefined => {
  if (ipv4FromString(settings.destination) === undefined) {
    return new PingUsageError({ message: `ping: ${settings.destination}: expected a dotted IPv4 address` })
  }
  if (!Number.isInteger(settings.count) || settings.count < 0) return new PingUsageError({ message: `ping: invalid count: ${settings.count}` })
  // 65535 - 20 (IPv4 header) - 8 (ICMP header): iputils' limit.
  if (!Number.isInteger(settings.size) || settings.size < 0 || settings.size > 65507) {
    return new PingUsageError({ message: `ping: invalid packet size: ${settings.size} (0 to 65507)` })
  }
  if (!(settings.interval > 0)) return new PingUsageError({ message: `ping: bad timing interval: ${settings.interval}` })
  if (!(settings.timeout > 0)) return new PingUsageError({ message: `ping: bad linger time: ${settings.timeout}` })
  if (settings.ttl !== undefined && (!Number.isInteger(settings.ttl) || settings.ttl < 1 || settings.ttl > 255)) {
    return new PingUsageError({ message: `ping: invalid ttl: ${settings.ttl} (1 to 255)` })
  }
  return undefined
}

/** An echo event as the ICMP listener heard it, with the time it arrived (µs on the `Clock`). */
interface Arrival {
  readonly event: EchoEvent
  readonly at: number
}

/**
 * Pings as `settings` say from `host`. In text mode `write` gets ping's
 * lines as they happen and the statistics at the end; with `json` it gets
 * one JSON object (the `PingSummary`) at the end. The statistics are
 * written even when the run is interrupted.
 */
export const runPing: (
  host: Host,
  settings: PingSettings,
  write: (text: string) => Effect.Effect<void>,
  json?: boolean
) => Effect.Effect<PingSummary, PingUsageError> = Effect.fn("netstack.ping")(function*(
  host: Host,
  settings: PingSettings,
  write: (text: string) => Effect.Effect<void>,
  json = false
) {
  const invalid = checkPingSettings(settings)
  if (invalid !== undefined) return yield* invalid
  const destination = ipv4FromString(settings.destination) ?? 0
  const icmp = host.icmp
  // Round trips in microseconds from the nanosecond clock (the stack's own time is read in milliseconds).
  const clock = yield* Clock.Clock
  const nowMicros = () => Number(clock.currentTimeNanosUnsafe() / 1000n)
  const data = requestData(settings.size)
  const events: Array<PingEvent> = []
  const sentAt = new Map<number, number>()
  const answered = new Set<number>()
  const rtts: Array<number> = []
  let transmitted = 0
  let duplicates = 0
  let errors = 0
  let sending = true
  const startedAt = yield* Clock.currentTimeMillis
  let finishedAt: number | undefined = undefined
  const settled = yield* Deferred.make<void>()

  const summary = (now: number): PingSummary => {
    const received = rtts.length
    const sum = rtts.reduce((a, b) => a + b, 0)
    const avg = received === 0 ? 0 : sum / received
    const squares = rtts.reduce((a, b) => a + b * b, 0)
    return {
      destination: settings.destination,
      size: settings.size,
      transmitted,
      received,
      duplicates,
      errors,
      loss: transmitted === 0 ? 0 : ((transmitted - received) * 100) / transmitted,
      milliseconds: (finishedAt ?? now) - startedAt,
      rtt: received === 0 ? undefined : {
        min: rtts.reduce((a, b) => Math.min(a, b), Infinity),
        avg,
        max: rtts.reduce((a, b) => Math.max(a, b), 0),
        // iputils: sqrt(mean of squares - square of mean)
        mdev: Math.sqrt(Math.max(0, squares / received - avg * avg))
      },
      events
    }
  }

  const record = (event: PingEvent) =>
    Effect.gen(function*() {
      events.push(event)
      if (!json) yield* write(eventLine(event))
      if (!sending && sentAt.size > 0 && [...sentAt.keys()].every((s) => answered.has(s))) {
        yield* Deferred.succeed(settled, undefined)
      }
    })

  const handle = ({ event, at }: Arrival) => {
    const sent = sentAt.get(event.sequence)
    if (sent === undefined) return Effect.void
    const from = ipv4ToString(event.from)
    if (event._tag === "error") {
      if (answered.has(event.sequence)) return Effect.void
      answered.add(event.sequence)
      errors++
      return record({
        type: "icmp-error",
        sequence: event.sequence,
        from,
        icmpType: event.type,
        icmpCode: event.code,
        ...(event.mtu === undefined ? {} : { mtu: event.mtu }),
        text: icmpErrorText(event.type, event.code, event.mtu)
      })
    }
    const duplicate = answered.has(event.sequence)
    const milliseconds = (at - sent) / 1000
    if (duplicate) duplicates++
    else {
      answered.add(event.sequence)
      rtts.push(milliseconds)
    }
    return record({
      type: "reply",
      sequence: event.sequence,
      from,
      bytes: event.length,
      ttl: event.ttl,
      milliseconds,
      duplicate,
      wrongByte: firstDifference(data, event.data)
    })
  }

  const arrivals = yield* Queue.unbounded<Arrival>()
  const identifier = icmp.allocateIdentifier()
  const stopListening = icmp.listen(identifier, (event) => void Queue.offerUnsafe(arrivals, { event, at: nowMicros() }))
  const receiver = yield* Effect.forkChild(
    Effect.forever(Effect.flatMap(Queue.take(arrivals), handle))
  )

  const send = (sequence: number) =>
    Effect.gen(function*() {
      sentAt.set(sequence, nowMicros())
      transmitted++
      const error = icmp.sendEcho(destination, identifier, sequence, data, {
        ...(settings.ttl === undefined ? {} : { ttl: settings.ttl }),
        dontFragment: settings.dontFragment
      })
      if (error === undefined) return
      answered.add(sequence)
      errors++
      yield* record({
        type: "local-error",
        sequence,
        reason: error.reason,
        ...(error.mtu === undefined ? {} : { mtu: error.mtu }),
        text: localErrorText(error.reason, error.mtu)
      })
    })

  const finish = Effect.gen(function*() {
    stopListening()
    yield* Fiber.interrupt(receiver)
    const done = summary(yield* Clock.currentTimeMillis)
    if (json) yield* write(JSON.stringify(done))
    else for (const line of summaryLines(done)) yield* write(line)
  })

  if (!json) yield* write(headerLine(settings))
  yield* Effect.gen(function*() {
    // icmp_seq runs 1, 2, … and wraps at 16 bits, as ping's does.
    for (let n = 1; settings.count === 0 || n <= settings.count; n++) {
      yield* send(n & 0xffff)
      if (settings.count === 0 || n < settings.count) yield* Effect.sleep(Duration.seconds(settings.interval))
    }
    sending = false
    if (![...sentAt.keys()].every((s) => answered.has(s))) {
      yield* Deferred.await(settled).pipe(Effect.timeoutOption(Duration.seconds(settings.timeout)))
    }
    finishedAt = yield* Clock.currentTimeMillis
  }).pipe(Effect.ensuring(finish))
return summary(finishedAt ?? (yield* Clock.currentTimeMillis))
})

/** `ping`'s flags: the host's, then ping's own (named as iputils names them). */
const pingFlags = {
  ...hostFlags,
  count: Flag.Int("count").pipe(
    Flag.withAlias("c"),
    Flag.withDescription("Stop after sending COUNT requests (0: until interrupted)"),
    Flag.withDefault(4)
  ),
  size: Flag.Int("size").pipe(Flag.withAlias("s"), Flag.withDescription("Bytes of data in each request"), Flag.withDefault(56)),
  interval: Flag.Finite("interval").pipe(Flag.withAlias("i"), Flag.withDescription("Seconds between requests"), Flag.withDefault(1)),
  timeout: Flag.Finite("timeout").pipe(
    Flag.withAlias("W"),
    Flag.withDescription("Seconds to wait for replies after the last request"),
    Flag.withDefault(2)
  ),
  pmtudisc: Flag.Literals("pmtudisc", ["do", "dont"]).pipe(
    Flag.withAlias("M"),
    Flag.withDescription("do: set DF and report the path MTU (RFC 1191); dont: let IP fragment"),
    Flag.withDefault("dont")
  ),
  ttl: Flag.Int("ttl").pipe(Flag.withAlias("t"), Flag.withDescription("IP time to live"), Flag.optional),
  json: Flag.Boolean("json").pipe(Flag.withDescription("Print one JSON summary instead of ping's lines"), Flag.withDefault(false))
} as const

/** The values `ping` is run with. */
type PingFlags = HostChoice & {
  readonly count: number
  readonly size: number
  readonly interval: number
  readonly timeout: number
  readonly pmtudisc: "do" | "dont"
  readonly ttl: Option.Option<number>
  readonly json: boolean
  readonly address: string
}

/** Brings the host up and pings; fails with `NoReply` (exit 1) when nothing answered. */
export const ping = (flags: PingFlags) =>
  Effect.gen(function*() {
    const settings: PingSettings = {
      destination: flags.address,
      count: flags.count,
      size: flags.size,
      interval: flags.interval,
      timeout: flags.timeout,
      dontFragment: flags.pmtudisc === "do",
      ttl: Option.getOrUndefined(flags.ttl)
    }
    const invalid = checkPingSettings(settings)
    if (invalid !== undefined) return yield* invalid
    const { host } = yield* bringUp(flags)
    const summary = yield* runPing(host, settings, (line) => Console.log(line), flags.json)
    if (summary.received === 0) return yield* new NoReply({ destination: summary.destination, transmitted: summary.transmitted })
  }).pipe(Effect.scoped)

/** The `ping` subcommand. */
export const pingCommand = Command.make(
  "ping",
  { ...pingFlags, address: Argument.String("address").pipe(Argument.withDescription("IPv4 address to ping")) },
  (flags) =>
    ping(flags).pipe(
      Effect.mapError((error) =>
        error._tag === "NoReply"
          ? error
          : new CliError.UserError({ cause: error, userMessage: error._tag === "PingUsageError" ? error.message : errorText(error) })
      )
    )
).pipe(Command.withDescription("Bring a host up on a medium and ping an address from it, as Linux's ping does"))
