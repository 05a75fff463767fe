/**
 * Throwaway network namespaces for tests that put Linux on the other end of a
 * wire. Every name carries the test's process id, every address is in a range
 * the test owns inside its namespaces, and everything is deleted afterwards.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync, type SpawnSyncReturns } from "node:child_process"

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

/**
 * Resolves with everything `child` has printed on stdout and stderr once
 * `pattern` appears in it; rejects after `ms` with what it printed.
 */
export const outputMatching = (child: ChildProcess, pattern: RegExp, ms = 20_000): Promise<string> =>
  new Promise((resolve, reject) => {
    let seen = ""
    const timer = setTimeout(() => reject(new Error(`no ${pattern} in: ${seen}`)), ms)
    const onData = (chunk: Buffer) => {
      seen += chunk.toString()
      if (pattern.test(seen)) {
        clearTimeout(timer)
        resolve(seen)
      }
    }
    child.stdout?.on("data", onData)
    child.stderr?.on("data", onData)
  })

/** Resolves true when `child` has printed `pattern` on stdout or stderr, false after `ms`. */
export const waitForOutput = (child: ChildProcess, pattern: RegExp, ms = 10_000): Promise<boolean> =>
  outputMatching(child, pattern, ms).then(() => true, () => false)

/** Sends SIGINT to `child` and resolves when it has exited. */
export const stop = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null) return resolve()
    child.once("exit", () => resolve())
    child.kill("SIGINT")
  })

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

let made = 0

/**
 * A network namespace made here (`PREFIX-PID-N`, loopback up); `close`
 * kills what was started in it and deletes it.
 */
export class Namespace {
  readonly name: string
  private readonly children: Array<ChildProcess> = []

  constructor(prefix: string) {
    this.name = `${prefix}-${process.pid}-${made++}`
    execFileSync("ip", ["netns", "add", this.name])
    try {
      this.run(["ip", "link", "set", "lo", "up"])
    } catch (error) {
      execFileSync("ip", ["netns", "del", this.name], { stdio: "ignore" })
      throw error
    }
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

  /** Kills what was started in the namespace (SIGTERM, SIGKILL after a grace period) and deletes it. */
  async close(): Promise<void> {
    for (const child of this.children) await stopChild(child, "SIGTERM", 5_000)
    try {
      execFileSync("ip", ["netns", "del", this.name], { stdio: "ignore" })
    } catch {
      // already gone
    }
  }
}
