/**
 * An oracle no one here wrote: frames our emitters build, written to a pcap,
 * are read by tshark (checksum validation on) with no malformed packet and
 * no expert error, and every field tshark shows equals ours.
 */
import { describe, expect, it } from "@effect/vitest"
import { PacketBuffer } from "@netstack/buffers"
import {
  ExpertSeverity,
  LINKTYPE_ETHERNET,
  PAYLOAD_AS_DATA,
  skipReason,
  STRICT_PREFERENCES,
  tsharkFields,
  tsharkProblems,
  withCapture
} from "@netstack/test-support"
import { decodeFrame, frameToJson } from "@netstack/wire"
import { ethernetFrame } from "@netstack/wire/testing"
import fc from "fast-check"
import { expectedTsharkFields, mismatches, TSHARK_FIELDS } from "./support/tshark-mapping.ts"

const missing = skipReason("the tshark oracle for emitted frames", ["tshark"])

describe("emitted frames, read by tshark", () => {
  it.skipIf(missing !== undefined)("are well-formed, checksum-correct, and decoded to the same fields", () => {
    const frames = fc.sample(ethernetFrame, { numRuns: 400, seed: 2026 })
    withCapture(frames, LINKTYPE_ETHERNET, (path) => {
      const problems = tsharkProblems(path, ExpertSeverity.error, PAYLOAD_AS_DATA)
      const report = problems.flatMap((p, i) => (p.length > 0 ? [`frame ${i + 1}: ${p.join("; ")}`] : []))
      expect(report).toEqual([])
      const theirs = tsharkFields(path, TSHARK_FIELDS, STRICT_PREFERENCES, PAYLOAD_AS_DATA)
      expect(theirs.length).toBe(frames.length)
      const differences = frames.flatMap((bytes, i) => {
        const ours = frameToJson(decodeFrame(PacketBuffer.wrap(bytes.slice())))
        return mismatches(expectedTsharkFields(ours), theirs[i] ?? {}).map((m) => `frame ${i + 1}: ${m}`)
      })
      expect(differences).toEqual([])
    })
  }, 120_000)
})
