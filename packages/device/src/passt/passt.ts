/**
 * passt (https://passt.top) as a medium: netstack starts `passt` as a child
 * process and talks to it over a connected Unix socket pair, passed as the
 * child's fd 3 (`passt --foreground --fd 3`), with QEMU's stream framing. To
 * netstack's NIC, passt looks like a router on the link: it answers ARP,
 * DHCP and NDP itself and carries the guest's TCP, UDP and ICMP through the
 * host's own sockets (no privileges, no TAP).
 *
 * Node's `stdio: "pipe"` for a child's extra fd is a `socketpair(AF_UNIX,
 * SOCK_STREAM)` (libuv `uv_spawn`), which is what `--fd` wants. The child is
 * stopped when the scope closes. `passt` not installed: `PasstUnavailable`.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { Socket } from "node:net"
import { Effect, Latch, Schema, type Scope } from "effect"
import type { MediumPort } from "../medium/port.ts"
import { type StreamCloseReason, type StreamCounters, StreamPort, type StreamPortOptions } from "../qemu/stream-port.ts"

/** passt could not be started: not installed (`ENOENT`), not executable, or it left at once. */
export class PasstUnavailable extends Schema.TaggedError<PasstUnavailable>()("PasstUnavailable", {
  reason: Schema.String
}) {}

/** How to start passt. */
export interface PasstOptions extends StreamPortOptions {
  /** The program; default `passt` from PATH. */
  readonly command?: string | undefined
  /** More arguments (`--address`, `--tcp-ports none`, `--quiet`, …) after `--foreground --fd 3`. */
  readonly args?: ReadonlyArray<string> | undefined
}

/** A running passt as a medium port. */
export interface PasstMedium extends MediumPort {
  /** The child's process id. */
  readonly pid: number
  /** A snapshot of the stream's counters. */
  readonly counters: () => StreamCounters
  /** True while passt's end of the socket is open. */
  readonly connected: () => boolean
  /** Why the stream ended, if it did. */
  readonly closeReason: () => StreamCloseReason | undefined
  /** The child's exit code (or signal name) once it has exited. */
  readonly exit: () => number | string | undefined
  /** What passt printed on stderr (the last 16 KiB), for diagnostics. */
  readonly stderr: () => string
  /** Waits until the stream has ended (passt exited or closed its end). */
  readonly awaitDisconnected: Effect.Effect<void>
}

const STDERR_KEPT = 16 * 1024

/** Starts passt. */
export const Passt = {
  /** Spawns passt on a socket pair; it is stopped (SIGTERM) when the scope closes. */
  start: Effect.fn("Passt.start")(function*(
    options: PasstOptions = {}
  ): Effect.fn.Return<PasstMedium, PasstUnavailable, Scope.Scope> {
    const command = options.command ?? "passt"
    const stream = new StreamPort(options)
    let stderr = ""
    let exit: number | string | undefined = undefined
    const child = yield* Effect.acquireRelease(
      Effect.callback<ChildProcess, PasstUnavailable>((resume) => {
        const child = spawn(command, ["--foreground", "--fd", "3", ...(options.args ?? [])], {
          stdio: ["ignore", "ignore", "pipe", "pipe"]
        })
        const onError = (error: Error) => {
          const code = "code" in error && typeof error.code === "string" ? error.code : "EUNKNOWN"
          resume(Effect.fail(
            new PasstUnavailable({
              reason: code === "ENOENT" ? `${command} is not installed (not found on PATH)` : `${command}: ${error.message}`
            })
          ))
        }
        child.once("error", onError)
        child.once("spawn", () => {
          child.off("error", onError)
          child.on("error", () => {})
          resume(Effect.succeed(child))
        })
        return Effect.sync(() => void child.kill("SIGTERM"))
      }),
      (child) =>
        Effect.callback<void>((resume) => {
          stream.close()
          if (exit !== undefined) return resume(Effect.void)
          child.once("exit", () => resume(Effect.void))
          child.kill("SIGTERM")
        })
    )
    child.stderr?.on("data", (chunk: Uint8Array) => {
      stderr = (stderr + Buffer.from(chunk).toString("utf8")).slice(-STDERR_KEPT)
    })
    child.on("exit", (code, signal) => {
      exit = code ?? signal ?? "unknown"
    })
    const socket = child.stdio[3]
    if (!(socket instanceof Socket)) {
      return yield* new PasstUnavailable({ reason: "the child's fd 3 is not a socket" })
    }
    stream.adopt(socket)
    return {
      ...stream.port(),
      pid: child.pid ?? 0,
      counters: () => stream.counters(),
      connected: () => stream.connected,
      closeReason: () => stream.closeReason,
      exit: () => exit,
      stderr: () => stderr,
      awaitDisconnected: Latch.await(stream.endedLatch)
    }
  })
}
