/**
 * Capture files written by tools no one here wrote (tcpdump, dumpcap, editcap,
 * mergecap; see test/fixtures/README.md) read by our decoder give the frames,
 * lengths, interfaces, bytes and exact timestamps tshark reads in them. The
 * tshark readings are committed beside each file, so these tests need no
 * tools; when tshark is installed the readings are also taken afresh.
 */
import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { readCaptureFile } from "@netstack/wire"
import { Effect, Stream } from "effect"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import {
  asTshark,
  bytewise,
  decodeChunks,
  fromTshark,
  splitAt,
  type TsharkFrame,
  tsharkMissing,
  tsharkRead
} from "./support/pcap-support.ts"

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))

/** Each fixture, what it must contain, and what is special about it. */
const FIXTURES = [
  { name: "tcpdump-us.pcap", format: "pcap", frames: 6, note: "microsecond magic" },
  { name: "tcpdump-ns.pcap", format: "pcap", frames: 4, note: "nanosecond magic, 1442-byte frames" },
  { name: "tcpdump-snaplen96.pcap", format: "pcap", frames: 2, note: "snaplen 96: cap_len < len" },
  { name: "dumpcap.pcapng", format: "pcapng", frames: 4, note: "IDB options, if_tsresol 9, trailing ISB" },
  { name: "editcap-us.pcapng", format: "pcapng", frames: 6, note: "IDB without if_tsresol (10^-6)" },
  { name: "editcap-comments.pcapng", format: "pcapng", frames: 4, note: "SHB comment, EPB comment options" },
  { name: "mergecap-two-interfaces.pcapng", format: "pcapng", frames: 10, note: "two IDBs, tsresol 6 and 9" },
  { name: "two-sections.pcapng", format: "pcapng", frames: 8, note: "two Section Header Blocks" }
] as const

const recorded = (name: string): ReadonlyArray<TsharkFrame> =>
  JSON.parse(readFileSync(fixture(`${name}.tshark.json`), "utf8")) as ReadonlyArray<TsharkFrame>

describe("capture fixtures made by tcpdump, dumpcap, editcap and mergecap", () => {
  for (const f of FIXTURES) {
    it(`${f.name} (${f.note}): our frames are tshark's`, () => {
      const bytes = new Uint8Array(readFileSync(fixture(f.name)))
      const expected = recorded(f.name).map(fromTshark)
      expect(expected).toHaveLength(f.frames)
      const decoded = decodeChunks([bytes])
      expect(decoded.error).toBeUndefined()
      expect(decoded.frames.map(asTshark)).toEqual(expected)
      for (const frame of decoded.frames) expect(frame.linkType).toBe(1)
      // the same frames whatever the chunking: byte by byte, and cut at odd places
      expect(decodeChunks(bytewise(bytes)).frames).toEqual(decoded.frames)
      expect(decodeChunks(splitAt(bytes, [3, 17, 25, 100, 333, 1000, 4097])).frames).toEqual(decoded.frames)
    })
  }

  it("the fixtures cover what they claim", () => {
    const two = decodeChunks([new Uint8Array(readFileSync(fixture("mergecap-two-interfaces.pcapng")))]).frames
    expect(new Set(two.map((f) => f.interfaceIndex))).toEqual(new Set([0, 1]))
    // interface 0 has microsecond resolution, interface 1 nanosecond: only 1 has sub-microsecond digits
    expect(two.some((f) => f.interfaceIndex === 1 && f.timestamp % 1000n !== 0n)).toBe(true)
    expect(two.every((f) => f.interfaceIndex === 1 || f.timestamp % 1000n === 0n)).toBe(true)
    // interleaved: the interfaces alternate somewhere
    expect(two.some((f, i) => i > 0 && f.interfaceIndex !== two[i - 1]?.interfaceIndex)).toBe(true)
    const snap = decodeChunks([new Uint8Array(readFileSync(fixture("tcpdump-snaplen96.pcap")))]).frames
    expect(snap.every((f) => f.data.length === 96 && f.originalLength > 96)).toBe(true)
    const ns = decodeChunks([new Uint8Array(readFileSync(fixture("tcpdump-ns.pcap")))]).frames
    expect(ns.some((f) => f.timestamp % 1000n !== 0n)).toBe(true)
  })

  it.effect("readCaptureFile streams a fixture from the file system in small chunks", () =>
    Effect.gen(function*() {
      const frames = yield* readCaptureFile(fixture("two-sections.pcapng"), { chunkSize: 100 }).pipe(Stream.runCollect)
      expect(frames.map(asTshark)).toEqual(recorded("two-sections.pcapng").map(fromTshark))
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  const missing = tsharkMissing("fresh tshark readings of the fixtures")
  // tshark takes about a second to start; on a busy machine the fixtures take longer than vitest's 5 s default.
  it.skipIf(missing !== undefined)("tshark still reads each fixture as recorded", () => {
    for (const f of FIXTURES) {
      const fresh = tsharkRead(fixture(f.name))
      expect(fresh.frames, f.name).toEqual(recorded(f.name))
    }
  }, 60_000)
})
