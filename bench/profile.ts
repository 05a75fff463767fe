/**
 * CPU profiles of benchmark subjects through `node:inspector`: where the
 * time of one in-process TCP bulk transfer goes, by function. The suites
 * attach one to each target they miss; run it alone to look at one:
 *
 *   node bench/profile.ts [--mtu 65535] [--software] [--mib 256] [--top 15]
 */
import { Session } from "node:inspector/promises"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { type ProfileSummary, summarizeProfile } from "./report/profile-summary.ts"
import { profileMarkdown } from "./report/markdown.ts"
import { warmNetstack } from "./transfer.ts"

/**
 * Runs `body` under the V8 sampling profiler (one sample every
 * `intervalMicros`) and summarizes what it sampled, with the minor page
 * faults it caused (time the kernel spends zeroing fresh memory shows up as
 * self time of whatever touched it first).
 */
export const profile = async (subject: string, body: () => Promise<unknown>, intervalMicros = 200, top = 15): Promise<ProfileSummary> => {
  const session = new Session()
  session.connect()
  try {
    await session.post("Profiler.enable")
    await session.post("Profiler.setSamplingInterval", { interval: intervalMicros })
    await session.post("Profiler.start")
    const faults = process.resourceUsage().minorPageFault
    const failure = await body().then(() => undefined, (error: unknown) => ({ error }))
    const minorPageFaults = process.resourceUsage().minorPageFault - faults
    const { profile: cpu } = await session.post("Profiler.stop")
    await session.post("Profiler.disable")
    if (failure !== undefined) throw failure.error
    return { ...summarizeProfile(subject, cpu, top), minorPageFaults }
  } finally {
    session.disconnect()
  }
}

/** A profile of one in-process TCP bulk transfer of `total` bytes between two hosts, on a network warmed by a first transfer. */
export const profileTransfer = async (mtu: number, offloaded: boolean, total: number, top = 15): Promise<ProfileSummary> => {
  const bed = await warmNetstack(mtu, offloaded, total)
  const subject = `netstack TCP bulk, ${total / 1024 / 1024} MiB, MTU ${mtu}, ${offloaded ? "TSO/GRO/checksum offload" : "software checksums and GSO"}`
  try {
    return await profile(subject, () => bed.transfer(total), 200, top)
  } finally {
    await bed.close()
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      mtu: { type: "string", default: "65535" },
      software: { type: "boolean", default: false },
      mib: { type: "string", default: "256" },
      top: { type: "string", default: "15" }
    }
  })
  const summary = await profileTransfer(Number(values.mtu), !values.software, Number(values.mib) * 1024 * 1024, Number(values.top))
  console.log(profileMarkdown(summary).join("\n"))
}
