/**
 * Where the time goes: a V8 CPU profile (what `Profiler.stop` returns)
 * reduced to its hottest functions by self time, each with its total time
 * (self plus everything it called), and self time summed by area (a
 * workspace package, a dependency, Node's internals, the garbage collector).
 */
import type { Profiler } from "node:inspector"
import { fileURLToPath } from "node:url"

/** One function of the profile. */
export interface HotFunction {
  readonly name: string
  /** `path:line` relative to the repository, or the script's URL outside it. */
  readonly location: string
  /** Share of all samples with this function on top of the stack. */
  readonly selfPercent: number
  /** Share of all samples with this function anywhere on the stack. */
  readonly totalPercent: number
}

/** Self time summed over one area of the code. */
export interface AreaShare {
  readonly area: string
  readonly selfPercent: number
}

/** A profile reduced to what a reader needs. */
export interface ProfileSummary {
  /** What was profiled. */
  readonly subject: string
  readonly durationMs: number
  readonly samples: number
  /** Minor page faults (first touches of fresh memory) while the profiler ran, when counted. */
  readonly minorPageFaults?: number
  /** The hottest functions by self time, hottest first. */
  readonly top: ReadonlyArray<HotFunction>
  /** Self time by area, largest first. */
  readonly areas: ReadonlyArray<AreaShare>
}

const REPOSITORY = fileURLToPath(new URL("../..", import.meta.url))

/** A script URL relative to the repository (`packages/l4/src/tcp/output.ts`), or as it is. */
const relative = (url: string): string => {
  if (!url.startsWith("file://")) return url
  const path = fileURLToPath(url)
  return path.startsWith(REPOSITORY) ? path.slice(REPOSITORY.length) : path
}

/** The area of a repository-relative path: `packages/l4`, `effect`, `node`, `bench`, or the V8 pseudo-function's name. */
const areaOf = (path: string, name: string): string => {
  if (path === "") return name.startsWith("(") ? name : "(native)"
  if (path.startsWith("node:")) return "node"
  const workspace = /^packages\/([^/]+)\//.exec(path)
  if (workspace !== null) return `packages/${workspace[1] ?? ""}`
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path)
  if (dependency !== null) return dependency[1] ?? "node_modules"
  const top = /^([^/]+)\//.exec(path)
  return top?.[1] ?? path
}

/** Summarizes `profile`: the `count` hottest functions by self time and self time by area. */
export const summarizeProfile = (subject: string, profile: Profiler.Profile, count = 15): ProfileSummary => {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  const keyOf = (node: Profiler.ProfileNode): string => {
    const frame = node.callFrame
    return `${frame.functionName}\u0000${frame.url}\u0000${frame.lineNumber}\u0000${frame.columnNumber}`
  }
  // Samples in order (or, without them, each node's hit count as that many samples).
  const samples = profile.samples ?? profile.nodes.flatMap((node) => Array.from({ length: node.hitCount ?? 0 }, () => node.id))
  const self = new Map<string, number>()
  const total = new Map<string, number>()
  const frames = new Map<string, Profiler.ProfileNode>()
  for (const id of samples) {
    const leaf = byId.get(id)
    if (leaf === undefined) continue
    const leafKey = keyOf(leaf)
    self.set(leafKey, (self.get(leafKey) ?? 0) + 1)
    const seen = new Set<string>()
    for (let node: Profiler.ProfileNode | undefined = leaf; node !== undefined; node = byId.get(parent.get(node.id) ?? -1)) {
      const key = keyOf(node)
      if (seen.has(key)) continue
      seen.add(key)
      frames.set(key, node)
      total.set(key, (total.get(key) ?? 0) + 1)
    }
  }
  const percent = (n: number): number => (samples.length === 0 ? 0 : (100 * n) / samples.length)
  const located = (node: Profiler.ProfileNode) => {
    const path = relative(node.callFrame.url)
    return { name: node.callFrame.functionName === "" ? "(anonymous)" : node.callFrame.functionName, path, line: node.callFrame.lineNumber + 1 }
  }
  const top = [...self.entries()]
    .sort((x, y) => y[1] - x[1])
    .slice(0, count)
    .flatMap(([key, hits]): Array<HotFunction> => {
      const node = frames.get(key)
      if (node === undefined) return []
      const { name, path, line } = located(node)
      return [{ name, location: path === "" ? "" : `${path}:${line}`, selfPercent: percent(hits), totalPercent: percent(total.get(key) ?? 0) }]
    })
  const areas = new Map<string, number>()
  for (const [key, hits] of self) {
    const node = frames.get(key)
    if (node === undefined) continue
    const { name, path } = located(node)
    const area = areaOf(path, name)
    areas.set(area, (areas.get(area) ?? 0) + hits)
  }
  return {
    subject,
    durationMs: (profile.endTime - profile.startTime) / 1000,
    samples: samples.length,
    top,
    areas: [...areas.entries()].sort((x, y) => y[1] - x[1]).map(([area, hits]) => ({ area, selfPercent: percent(hits) }))
  }
}
