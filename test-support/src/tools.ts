/**
 * Which external tools and privileges this machine has, for tests that use
 * Linux as an oracle. A test that needs something missing skips and prints
 * why (`skipReason`), so a run without root or without the Debian packages is
 * still honest about what it did not check.
 */
import { spawnSync } from "node:child_process"

/** True when `command` is on PATH. */
export const hasCommand = (command: string): boolean =>
  spawnSync("sh", ["-c", `command -v ${command}`], { encoding: "utf8" }).status === 0

/** True when running as root (needed for network namespaces and captures). */
export const isRoot = (): boolean => typeof process.getuid === "function" && process.getuid() === 0

/**
 * Why a test needing `commands` (and root, if `root`) cannot run here, or
 * `undefined` when it can. Prints the reason once, so skipped tests are visible.
 */
export const skipReason = (what: string, commands: ReadonlyArray<string>, root = false): string | undefined => {
  const missing = commands.filter((c) => !hasCommand(c))
  const reasons = [
    ...(missing.length > 0 ? [`missing ${missing.join(", ")} (install: see .ci/run)`] : []),
    ...(root && !isRoot() ? ["not running as root"] : [])
  ]
  if (reasons.length === 0) return undefined
  const reason = `skipping ${what}: ${reasons.join("; ")}`
  console.log(reason)
  return reason
}
