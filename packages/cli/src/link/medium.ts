/**
 * The media a command-line host can sit on, as flags: a Linux TAP device,
 * a QEMU `-netdev stream` (client, or server with `listen:`), a QEMU
 * `-netdev dgram`, or passt. Exactly one is chosen.
 */
import { type MediumPort, Passt, QemuDgram, QemuStream, TapDevice } from "@netstack/device"
import { Effect, Option, Schema, type Scope } from "effect"
import { Flag } from "effect/cli"

/** The medium flags every command that brings a host up takes. */
export const mediumFlags = {
  tap: Flag.String("tap").pipe(
    Flag.withDescription("Attach to the Linux TAP device NAME (created if missing; needs CAP_NET_ADMIN)"),
    Flag.optional
  ),
  qemuStream: Flag.String("qemu-stream").pipe(
    Flag.withDescription("QEMU -netdev stream: HOST:PORT or unix:PATH to connect to; listen:HOST:PORT or listen:unix:PATH to serve"),
    Flag.optional
  ),
  qemuDgram: Flag.String("qemu-dgram").pipe(
    Flag.withDescription("QEMU -netdev dgram: LOCAL_HOST:PORT,REMOTE_HOST:PORT (one frame per UDP datagram)"),
    Flag.optional
  ),
  passt: Flag.Boolean("passt").pipe(Flag.withDescription("Start passt on a socket pair and use it"), Flag.withDefault(false))
} as const

/** The values of `mediumFlags`. */
export interface MediumChoice {
  readonly tap: Option.Option<string>
  readonly qemuStream: Option.Option<string>
  readonly qemuDgram: Option.Option<string>
  readonly passt: boolean
}

/** The medium flags are missing, repeated, or malformed. */
export class MediumSpecError extends Schema.TaggedError<MediumSpecError>()("MediumSpecError", {
  message: Schema.String
}) {}

/** A medium that is open, and what to call it in output. */
export interface OpenMedium {
  readonly port: MediumPort
  /** `tap nst0`, `qemu-stream 127.0.0.1:10000`… */
  readonly description: string
  /** A TAP (or other medium) that carries offload metadata with frames: the NIC may offload checksums and TSO. */
  readonly offloads: boolean
}

/** `host:port` → parts, or undefined. */
const hostPort = (text: string): { readonly host: string; readonly port: number } | undefined => {
  const at = text.lastIndexOf(":")
  if (at <= 0) return undefined
  const port = Number(text.slice(at + 1))
  if (!Number.isInteger(port) || port < 0 || port > 65535) return undefined
  return { host: text.slice(0, at), port }
}

/** A QEMU stream address: `unix:PATH` or `HOST:PORT`. */
const streamAddress = (text: string) => (text.startsWith("unix:") ? { path: text.slice(5) } : hostPort(text))

/** Opens the one medium `choice` names, for the life of the scope. */
export const openMedium = (choice: MediumChoice): Effect.Effect<OpenMedium, MediumSpecError | MediumOpenError, Scope.Scope> =>
  Effect.gen(function*() {
    const chosen = [Option.isSome(choice.tap), Option.isSome(choice.qemuStream), Option.isSome(choice.qemuDgram), choice.passt]
      .filter(Boolean).length
    if (chosen !== 1) {
      return yield* new MediumSpecError({ message: "choose exactly one medium: --tap NAME, --qemu-stream ADDR, --qemu-dgram ADDR or --passt" })
    }
    if (Option.isSome(choice.tap)) {
      const tap = yield* TapDevice.open({ name: choice.tap.value, up: true })
      return { port: tap, description: `tap ${tap.name}`, offloads: true }
    }
    if (Option.isSome(choice.qemuStream)) {
      const text = choice.qemuStream.value
      const listening = text.startsWith("listen:")
      const address = streamAddress(listening ? text.slice(7) : text)
      if (address === undefined) return yield* new MediumSpecError({ message: `--qemu-stream ${text}: expected HOST:PORT or unix:PATH` })
      const port = listening ? yield* QemuStream.listen(address) : yield* QemuStream.connect(address)
      return { port, description: `qemu-stream ${text}`, offloads: false }
    }
    if (Option.isSome(choice.qemuDgram)) {
      const text = choice.qemuDgram.value
      const [local, remote] = text.split(",").map(hostPort)
      if (local === undefined || remote === undefined) {
        return yield* new MediumSpecError({ message: `--qemu-dgram ${text}: expected LOCAL_HOST:PORT,REMOTE_HOST:PORT` })
      }
      const port = yield* QemuDgram.open({ local, remote })
      return { port, description: `qemu-dgram ${text}`, offloads: false }
    }
    const port = yield* Passt.start({})
    return { port, description: `passt (pid ${port.pid})`, offloads: false }
  })

/** What opening a medium can fail with. */
export type MediumOpenError = Effect.Error<ReturnType<typeof TapDevice.open>> | Effect.Error<ReturnType<typeof QemuStream.connect>> | Effect.Error<ReturnType<typeof QemuDgram.open>> | Effect.Error<ReturnType<typeof Passt.start>>
