/**
 * `netstack get URL`: brings a host up on a medium (the flags `up` takes)
 * and fetches URL over the host's TCP with Effect's `HttpClient`
 * (`NetstackHttpClient`: Node's HTTP/1.1 client on netstack sockets). The
 * body streams to `-o FILE` or to stdout, chunk by chunk, never held whole
 * in memory, and is hashed (SHA-256) on the way. On a terminal, stderr shows
 * the bytes so far and the rate; `--json` prints one summary object
 * instead (the body then goes only to `-o FILE`, if given). A status other
 * than 2xx fails (exit 1) without writing the body, as wget does.
 */
import { NetstackHttpClient } from "@netstack/sockets"
import { CurrentHost, type Host } from "@netstack/stack"
import { Clock, Console, Duration, Effect, Fiber, FileSystem, Layer, Option, Schema, Sink, Stdio, Stream } from "effect"
import { Argument, CliError, Command, Flag } from "effect/cli"
import * as HttpClient from "effect/http/HttpClient"
import { createHash } from "node:crypto"
import { bringUp, type HostChoice, hostFlags } from "../link/bring-up.ts"
import { errorText } from "./up.ts"

/** Where the body goes. */
export type BodyOutput =
  | { readonly _tag: "file"; readonly path: string }
  | { readonly _tag: "stdout" }
  /** Nowhere: only counted and hashed. */
  | { readonly _tag: "discard" }

/** How far a transfer has come. */
export interface GetProgress {
  readonly bytes: number
  /** The `Content-Length`, when the server sent one. */
  readonly total: number | undefined
  readonly seconds: number
}

/** What a finished `get` reports (`--json`). */
export interface GetResult {
  readonly url: string
  readonly status: number
  readonly bytes: number
  /** From sending the request to the last byte of the body. */
  readonly seconds: number
  /** SHA-256 of the body, lowercase hex. */
  readonly sha256: string
  /** The file written, with `-o`. */
  readonly output?: string | undefined
}

/** The server answered with a status other than 2xx. */
export class HttpStatusError extends Schema.TaggedError<HttpStatusError>()("HttpStatusError", {
  url: Schema.String,
  status: Schema.Number
}) {
  override get message(): string {
    return `${this.url}: HTTP status ${this.status}`
  }
}

/** Settings of one fetch. */
export interface GetOptions {
  readonly url: string
  readonly output: BodyOutput
  /** Called about four times a second while the body arrives, and once at the end. */
  readonly progress?: ((progress: GetProgress) => Effect.Effect<void>) | undefined
}

/** Seconds since `start` (milliseconds on the `Clock`). */
const secondsSince = (start: number) => Effect.map(Clock.currentTimeMillis, (now) => (now - start) / 1000)

/** The sink that writes the body where `output` says. */
const bodySink = (output: BodyOutput) =>
  Effect.gen(function*() {
    if (output._tag === "file") return (yield* FileSystem.FileSystem).sink(output.path)
    if (output._tag === "stdout") return (yield* Stdio.Stdio).stdout()
    return Sink.drain
  })

/**
 * Fetches `options.url` with the `HttpClient` in context and streams its
 * body to `options.output`, hashing and counting it as it passes.
 */
export const fetchBody = Effect.fn("netstack.get")(function*(options: GetOptions) {
  const start = yield* Clock.currentTimeMillis
  const response = yield* HttpClient.get(options.url)
  if (response.status < 200 || response.status > 299) {
    return yield* new HttpStatusError({ url: options.url, status: response.status })
  }
  const length = Number(response.headers["content-length"])
  const total = Number.isFinite(length) ? length : undefined
  const hash = createHash("sha256")
  let bytes = 0
  const body = response.stream.pipe(
    Stream.tap((chunk) =>
      Effect.sync(() => {
        hash.update(chunk)
        bytes += chunk.length
      })
    )
  )
  const report = options.progress
  const reporter = report === undefined ? undefined : yield* Effect.forkChild(
    Effect.forever(
      Effect.sleep(Duration.millis(250)).pipe(
        Effect.andThen(secondsSince(start)),
        Effect.flatMap((seconds) => report({ bytes, total, seconds }))
      )
    )
  )
  yield* Stream.run(body, yield* bodySink(options.output))
  const seconds = yield* secondsSince(start)
  if (reporter !== undefined) yield* Fiber.interrupt(reporter)
  if (report !== undefined) yield* report({ bytes, total, seconds })
  return {
    url: options.url,
    status: response.status,
    bytes,
    seconds,
    sha256: hash.digest("hex"),
    ...(options.output._tag === "file" ? { output: options.output.path } : {})
  } satisfies GetResult
})

/** `123456789` → `117.7 MiB`. */
export const formatBytes = (bytes: number): string => {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"]
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${Math.round(bytes)} B` : `${value.toFixed(1)} ${units[unit]}`
}

/** The progress line: bytes (of the total), percent, and the mean rate so far. */
export const progressLine = (progress: GetProgress): string => {
  const rate = progress.seconds > 0 ? progress.bytes / progress.seconds : 0
  const of = progress.total === undefined
    ? ""
    : ` of ${formatBytes(progress.total)} (${progress.total === 0 ? 100 : Math.floor((progress.bytes * 100) / progress.total)}%)`
  return `${formatBytes(progress.bytes)}${of}  ${formatBytes(rate)}/s`
}

/** The closing line on stderr: status, bytes, time, rate, and where the body went. */
export const resultLine = (result: GetResult): string => {
  const rate = result.seconds > 0 ? result.bytes / result.seconds : 0
  return `HTTP ${result.status}: ${result.bytes} bytes in ${result.seconds.toFixed(2)} s (${formatBytes(rate)}/s)` +
    (result.output === undefined ? "" : ` to ${result.output}`)
}

/** Writes `text` to stderr as is (no newline added); progress is cosmetic, so a failed write is ignored. */
const stderrWriter = (stdio: Stdio.Stdio) => (text: string): Effect.Effect<void> =>
  Stream.run(Stream.succeed(text), stdio.stderr()).pipe(Effect.ignore)

/** `get`'s flags: the host's, the output file, and the format. */
const getFlags = {
  ...hostFlags,
  output: Flag.String("output").pipe(Flag.withAlias("o"), Flag.withDescription("Write the body to FILE (default: stdout)"), Flag.optional),
  json: Flag.Boolean("json").pipe(
    Flag.withDescription("Print a JSON summary {status, bytes, seconds, sha256}; the body goes only to -o FILE"),
    Flag.withDefault(false)
  )
} as const

/** The values `get` is run with. */
type GetFlags = HostChoice & { readonly output: Option.Option<string>; readonly json: boolean; readonly url: string }

/** Runs `fetchBody` on `host` (its `HttpClient` lives as long as the effect). */
export const fetchOnHost = (host: Host, options: GetOptions) =>
  fetchBody(options).pipe(
    Effect.provide(NetstackHttpClient.layer.pipe(Layer.provide(Layer.succeed(CurrentHost, host))))
  )

/** Brings the host up, fetches, and reports. */
export const get = (flags: GetFlags) =>
  Effect.gen(function*() {
    const output: BodyOutput = Option.isSome(flags.output)
      ? { _tag: "file", path: flags.output.value }
      : flags.json
      ? { _tag: "discard" }
      : { _tag: "stdout" }
    const stdio = yield* Stdio.Stdio
    const tty = yield* stdio.stderrIsTerminal
    const toStderr = stderrWriter(stdio)
    const { host } = yield* bringUp(flags)
    const result = yield* fetchOnHost(host, {
      url: flags.url,
      output,
      progress: tty && !flags.json ? (progress) => toStderr(`\r\x1b[K${progressLine(progress)}`) : undefined
    })
    if (tty && !flags.json) yield* toStderr("\n")
    if (flags.json) yield* Console.log(JSON.stringify(result))
    else yield* Console.error(resultLine(result))
  }).pipe(Effect.scoped)

/** The `get` subcommand. */
export const getCommand = Command.make(
  "get",
  { ...getFlags, url: Argument.String("url").pipe(Argument.withDescription("http://a.b.c.d[:port]/path")) },
  (flags) =>
    get(flags).pipe(
      Effect.mapError((error) => new CliError.UserError({ cause: error, userMessage: errorText(error) }))
    )
).pipe(Command.withDescription("Bring a host up on a medium and fetch a URL over it (HTTP/1.1 on netstack TCP)"))
