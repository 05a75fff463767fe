/**
 * What the Linux interoperability tests of the `netstack` command share:
 * whether they can run here (root, the tools, /dev/net/tun, the TAP addon),
 * throwaway network namespaces, `netstack` processes inside them (run with
 * this Node, which runs the TypeScript sources), and SHA-256 of files and of
 * the HTTP app's `/bytes/N` pattern.
 */
import { patternBytes } from "@netstack/cli"
import { TapDevice } from "@netstack/device"
import { Namespace as BaseNamespace, skipReason, stopChild } from "@netstack/test-support"
import { type ChildProcess, type SpawnSyncReturns } from "node:child_process"
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

/** A network namespace this test made, where `netstack` can run; `close` kills what runs in it and deletes it. */
export class Namespace extends BaseNamespace {
  /** `netstack ARGS` in the namespace, run to completion. */
  netstack(args: ReadonlyArray<string>, timeout = 60_000): SpawnSyncReturns<string> {
    return this.runResult([process.execPath, NETSTACK_BIN, ...args], timeout)
  }
}

export { stopChild }

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
