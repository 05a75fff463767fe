/**
 * Throwaway network namespaces for tests that put Linux on the other end of a
 * wire. Every name carries the test's process id, every address is in a range
 * the test owns inside its namespaces, and everything is deleted afterwards.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"

/** Runs `ip` with `args`, throwing on failure (test setup errors are test failures). */
export const ip = (...args: ReadonlyArray<string>): string => execFileSync("ip", args, { encoding: "utf8" })

/** Runs `command` inside namespace `ns` and returns its stdout. */
export const inNs = (ns: string, command: ReadonlyArray<string>, input?: string): string =>
  execFileSync("ip", ["netns", "exec", ns, ...command], { encoding: "utf8", input, timeout: 30_000 })

/** Starts `command` inside namespace `ns` in the background. */
export const spawnInNs = (ns: string, command: ReadonlyArray<string>): ChildProcess =>
  spawn("ip", ["netns", "exec", ns, ...command], { stdio: ["pipe", "pipe", "pipe"] })

/** Two namespaces joined by a veth pair, with IPv4 and IPv6 addresses on each end. */
export interface NamespacePair {
  readonly a: string
  readonly b: string
  /** Interface names inside `a` and `b`. */
  readonly ifA: string
  readonly ifB: string
  readonly ipv4A: string
  readonly ipv4B: string
  readonly ipv6A: string
  readonly ipv6B: string
  /** Deletes both namespaces (and so the veth pair). */
  readonly close: () => void
}

let counter = 0

/**
 * Creates two namespaces joined by veth: `a` has 10.213.<k>.1/24 and
 * fd00:213:<k>::1/64, `b` has .2 and ::2 (no duplicate address detection, so
 * IPv6 works at once), both up with loopback.
 */
export const makeNamespacePair = (): NamespacePair => {
  const k = (process.pid + counter++) % 250
  const tag = `${process.pid}-${counter}`
  const a = `nst-a-${tag}`
  const b = `nst-b-${tag}`
  ip("netns", "add", a)
  ip("netns", "add", b)
  const close = () => {
    for (const ns of [a, b]) {
      try {
        ip("netns", "del", ns)
      } catch {
        // already gone
      }
    }
  }
  try {
    ip("link", "add", "veth-a", "netns", a, "type", "veth", "peer", "name", "veth-b", "netns", b)
    const pair: NamespacePair = {
      a,
      b,
      ifA: "veth-a",
      ifB: "veth-b",
      ipv4A: `10.213.${k}.1`,
      ipv4B: `10.213.${k}.2`,
      ipv6A: `fd00:213:${k}::1`,
      ipv6B: `fd00:213:${k}::2`,
      close
    }
    for (const [ns, dev, v4, v6] of [
      [a, "veth-a", pair.ipv4A, pair.ipv6A],
      [b, "veth-b", pair.ipv4B, pair.ipv6B]
    ] as const) {
      inNs(ns, ["ip", "link", "set", "lo", "up"])
      inNs(ns, ["ip", "addr", "add", `${v4}/24`, "dev", dev])
      inNs(ns, ["ip", "-6", "addr", "add", `${v6}/64`, "dev", dev, "nodad"])
      inNs(ns, ["ip", "link", "set", dev, "up"])
    }
    return pair
  } catch (error) {
    close()
    throw error
  }
}

/** Resolves when `child` has printed `pattern` on stdout or stderr (or after `ms`). */
export const waitForOutput = (child: ChildProcess, pattern: RegExp, ms = 10_000): Promise<boolean> =>
  new Promise((resolve) => {
    let seen = ""
    const timer = setTimeout(() => resolve(false), ms)
    const onData = (chunk: Buffer) => {
      seen += chunk.toString()
      if (pattern.test(seen)) {
        clearTimeout(timer)
        resolve(true)
      }
    }
    child.stdout?.on("data", onData)
    child.stderr?.on("data", onData)
  })

/** Sends SIGINT to `child` and resolves when it has exited. */
export const stop = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null) return resolve()
    child.once("exit", () => resolve())
    child.kill("SIGINT")
  })
