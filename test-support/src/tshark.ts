/**
 * tshark as an oracle: reads a capture and returns, per frame, the values of
 * the requested fields, with preferences that make it strict (checksums
 * validated, absolute TCP sequence numbers).
 */
import { execFileSync } from "node:child_process"

/** Preferences for every tshark run: validate every checksum, raw sequence numbers. */
export const STRICT_PREFERENCES: ReadonlyArray<string> = [
  "ip.check_checksum:TRUE",
  "tcp.check_checksum:TRUE",
  "udp.check_checksum:TRUE",
  "tcp.relative_sequence_numbers:FALSE",
  "tcp.analyze_sequence_numbers:FALSE",
  "tcp.calculate_timestamps:FALSE"
]

/**
 * Decode-As rules that hand every UDP and TCP payload to the plain `data`
 * dissector, so random payloads on random ports are not taken for some
 * application protocol: the oracle then judges our headers only.
 */
export const PAYLOAD_AS_DATA: ReadonlyArray<string> = ["-d", "udp.port==0-65535,data", "-d", "tcp.port==0-65535,data"]

/** One frame's fields: every occurrence of each field, as tshark prints them. */
export type TsharkFrame = Readonly<Record<string, ReadonlyArray<string>>>

/** The values of `fields` in every frame of the capture at `path`. */
export const tsharkFields = (
  path: string,
  fields: ReadonlyArray<string>,
  preferences: ReadonlyArray<string> = STRICT_PREFERENCES,
  extraArgs: ReadonlyArray<string> = []
): ReadonlyArray<TsharkFrame> => {
  const args = [
    "-r",
    path,
    "-T",
    "json",
    ...extraArgs,
    ...preferences.flatMap((p) => ["-o", p]),
    ...fields.flatMap((f) => ["-e", f])
  ]
  const out = execFileSync("tshark", args, { encoding: "utf8", maxBuffer: 256 * 1024 * 1024, stdio: ["ignore", "pipe", "ignore"] })
  const parsed: unknown = JSON.parse(out.trim() === "" ? "[]" : out)
  if (!Array.isArray(parsed)) return []
  return parsed.map((packet: unknown) => {
    const layers =
      typeof packet === "object" && packet !== null && "_source" in packet &&
        typeof packet._source === "object" && packet._source !== null && "layers" in packet._source
        ? packet._source.layers
        : {}
    return (typeof layers === "object" && layers !== null ? layers : {}) as TsharkFrame
  })
}

/** Expert-info severities (epan/proto.h PI_NOTE, PI_WARN, PI_ERROR). */
export const ExpertSeverity = { note: 2097152, warning: 4194304, error: 8388608 } as const

/**
 * The problems tshark reports in each frame: a malformed packet, and every
 * expert item at `minimum` severity or above (errors by default: a bad
 * checksum, a field out of range).
 */
export const tsharkProblems = (
  path: string,
  minimum: number = ExpertSeverity.error,
  extraArgs: ReadonlyArray<string> = []
): ReadonlyArray<ReadonlyArray<string>> =>
  tsharkFields(path, ["_ws.malformed", "_ws.expert.message", "_ws.expert.severity"], STRICT_PREFERENCES, extraArgs).map((frame) => {
    const problems: Array<string> = []
    if ((frame["_ws.malformed"] ?? []).length > 0) problems.push("malformed")
    const messages = frame["_ws.expert.message"] ?? []
    const severities = frame["_ws.expert.severity"] ?? []
    messages.forEach((m, i) => {
      if (Number(severities[i] ?? 0) >= minimum) problems.push(m)
    })
    return problems
  })
