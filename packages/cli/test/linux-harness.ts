/**
 * What the Linux interoperability tests of the `netstack` command share:
 * whether they can run here (root, the tools, /dev/net/tun, the TAP addon),
 * throwaway network namespaces, `netstack` processes inside them (run with
 * this Node, which runs the TypeScript sources), and SHA-256 of files and of
 * the HTTP app's `/bytes/N` pattern.
 */
import { patternBytes } from "@netstack/cli"
import { TapDevice } from "@netstack/device"
import { skipReason } from "@netstack/test-support"
import { type ChildProcess, execFileSync, spawn, spawnSync, type SpawnSyncReturns } from "node:child_process"
import { createHash } from "node:crypto"
import { createReadStream, existsSync } from "node:fs"
import { fileURLToPath } from "node:url"

/** The `netstack` binary (TypeScript, run directly by Node 24). */
export const NETSTACK_BIN = fileURLToPath(new URL("../bin/netstack.ts", import.meta.url))

/** Why `what` cannot run here (printed once), or undefined: root, `tools`, /dev/net/tun and the TAP addon are needed. */
export const linuxSkipReason = (what: string, tools: ReadonlyArray<string>): string | undefined => {
  const missing = skipReason(what, ["ip", ...tools], true)
  if (missing !== undefined) return missing
  const tap = !existsSync("/dev/net/tun") ? "no /dev/net/tun" : TapDevice.unavailable()?.reason
  if (tap === undefined) return undefined
  const reason = `skipping ${what}: ${tap}`
  console.log(reason)
  return reason
}

let made = 0

/** A network namespace this test made; `close` kills what runs in it and deletes it. */
export class Namespace {
  readonly name: string
  private readonly children: Array<ChildProcess> = []

  constructor(prefix: string) {
    this.name = `${prefix}-${process.pid}-${made++}`
    execFileSync("ip", ["netns", "add", this.name])
    this.run(["ip", "link", "set", "lo", "up"])
  }

  /** Runs `command` in the namespace; its stdout, or a thrown error with its stderr on failure. */
  run(command: ReadonlyArray<string>, options: { readonly timeout?: number; readonly input?: string } = {}): string {
    return execFileSync("ip", ["netns", "exec", this.name, ...command], {
      encoding: "utf8",
      timeout: options.timeout ?? 30_000,
      maxBuffer: 64 * 1024 * 1024,
      ...(options.input === undefined ? {} : { input: options.input })
    })
  }

  /** Runs `command` in the namespace and returns whatever happened (status, stdout, stderr). */
  runResult(command: ReadonlyArray<string>, timeout = 60_000): SpawnSyncReturns<string> {
    return spawnSync("ip", ["netns", "exec", this.name, ...command], { encoding: "utf8", timeout, maxBuffer: 64 * 1024 * 1024 })
  }

  /** Starts `command` in the namespace in the background; `close` kills it if it still runs. */
  spawn(command: ReadonlyArray<string>): ChildProcess {
    const child = spawn("ip", ["netns", "exec", this.name, ...command], { stdio: ["ignore", "pipe", "pipe"] })
    this.children.push(child)
    return child
  }

  /** `netstack ARGS` in the namespace, run to completion. */
  netstack(args: ReadonlyArray<string>, timeout = 60_000): SpawnSyncReturns<string> {
    return this.runResult([process.execPath, NETSTACK_BIN, ...args], timeout)
  }

  /** Kills what this test started in the namespace (SIGKILL after a grace period) and deletes it. */
  async close(): Promise<void> {
    for (const child of this.children) await stopChild(child, "SIGTERM", 5_000)
    try {
      execFileSync("ip", ["netns", "del", this.name], { stdio: "ignore" })
    } catch {
      // already gone
    }
  }
}

/** Sends `signal` to `child` and resolves once it has exited (SIGKILL after `graceMs`). */
export const stopChild = (child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs)
    child.once("exit", () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill(signal)
  })

/** A `netstack up` running in a namespace. */
export interface RunningNetstack {
  readonly child: ChildProcess
  /** The JSON of its `ready` line. */
  readonly ready: { readonly mac: string; readonly addresses: ReadonlyArray<string>; readonly interface: string }
  /** Everything it printed so far. */
  readonly output: () => string
  /** SIGINT, then what it printed (its `stopped …` line last). */
  readonly stop: () => Promise<string>
}

/** Starts `netstack up ARGS --json` in `ns` and waits for its `ready` line. */
export const startUp = (ns: Namespace, args: ReadonlyArray<string>, ms = 30_000): Promise<RunningNetstack> =>
  new Promise((resolve, reject) => {
    const child = ns.spawn([process.execPath, NETSTACK_BIN, "up", ...args, "--json"])
    let seen = ""
    const timer = setTimeout(() => reject(new Error(`netstack up printed no ready line in ${ms} ms: ${seen}`)), ms)
    const output = () => seen
    child.stdout?.on("data", (chunk: Buffer) => {
      seen += chunk.toString()
      const line = /^ready (\{.*\})$/m.exec(seen)
      if (line?.[1] === undefined) return
      clearTimeout(timer)
      resolve({
        child,
        ready: JSON.parse(line[1]) as RunningNetstack["ready"],
        output,
        stop: () => stopChild(child, "SIGINT", 20_000).then(output)
      })
    })
    child.stderr?.on("data", (chunk: Buffer) => void (seen += chunk.toString()))
    child.once("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`netstack up exited with ${code}: ${seen}`))
    })
  })

/** SHA-256 of a file, read as a stream. */
export const sha256File = (path: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const hash = createHash("sha256")
    createReadStream(path).on("data", (chunk) => hash.update(chunk)).on("error", reject).on("end", () => resolve(hash.digest("hex")))
  })

/** SHA-256 of the first `n` bytes of the HTTP app's pattern (byte i is i % 251). */
export const patternSha256 = (n: number): string => {
  const hash = createHash("sha256")
  const chunk = 1 << 20
  for (let at = 0; at < n; at += chunk) hash.update(patternBytes(at, Math.min(chunk, n - at)))
  return hash.digest("hex")
}

/** `k` for this process's addresses (10.x.k.y), so concurrent runs do not share a subnet. */
export const subnetOctet = (): number => process.pid % 250
