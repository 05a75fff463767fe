/**
 * pcapng from hand-built blocks (draft-ietf-opsawg-pcapng): both byte orders,
 * several interfaces with different `if_tsresol` and `if_tsoffset`, Simple
 * and obsolete Packet Blocks, skipped Name Resolution, Interface Statistics,
 * Custom and unknown blocks, several sections; any chunking. tshark, when
 * installed, reads the same files and must agree.
 */
import { describe, expect, it } from "@effect/vitest"
import { type PcapFrame } from "@netstack/wire"
import fc from "fast-check"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { asTshark, bytewise, decodeChunks, fromTshark, splitAt, tsharkMissing, tsharkRead } from "./support/pcap-support.ts"
import {
  block,
  comment,
  concat,
  custom,
  dsb,
  epb,
  idb,
  isb,
  nrb,
  pb,
  shb,
  spb,
  tsoffset,
  tsresol
} from "./support/pcapng-builder.ts"

const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff)

const frame = (
  timestamp: bigint,
  interfaceIndex: number,
  data: Uint8Array,
  originalLength = data.length,
  linkType = 1
): PcapFrame => ({ timestamp, linkType, interfaceIndex, data, originalLength })

/**
 * One section in byte order `le` with four interfaces (default µs, ns with a
 * 1500-byte snaplen, 2^-10 s, ms with an offset of 1.6e9 s), a packet on
 * each, a Simple Packet Block, an obsolete Packet Block and every kind of
 * block the reader skips. Returns the bytes and the frames they hold. (tshark
 * shows a Custom Block as a frame of its own, so its readings are taken
 * without one.)
 */
const richSection = (
  le: boolean,
  withCustomBlock = true
): { readonly bytes: Uint8Array; readonly frames: ReadonlyArray<PcapFrame> } => {
  const d = [bytes(60, 1), bytes(61, 2), bytes(62, 3), bytes(63, 4), bytes(64, 5), bytes(65, 6), bytes(98, 7)]
  return {
    bytes: concat(
      shb(le, { options: [comment("hand-built section")] }),
      nrb(le),
      idb(le, { snaplen: 79 }),
      idb(le, { linkType: 1, snaplen: 1500, options: [comment("ns"), tsresol(9)] }),
      withCustomBlock ? custom(le, bytes(7, 9)) : new Uint8Array(0),
      idb(le, { options: [tsresol(0x80 | 10)] }),
      idb(le, { options: [tsoffset(le, 1_600_000_000n), tsresol(3)] }),
      epb(le, { interfaceId: 0, timestamp: 1_700_000_000_123_456n, data: d[0] }),
      epb(le, { interfaceId: 1, timestamp: 1_700_000_000_123_456_789n, data: d[1], options: [comment("x")] }),
      block(le, 0x80000001, bytes(20, 11)), // local use (§3.1), skipped
      dsb(le), // Decryption Secrets Block, skipped
      epb(le, { interfaceId: 2, timestamp: 1_741_000_000n * 1024n + 3n, data: d[2], originalLength: 1000 }),
      epb(le, { interfaceId: 3, timestamp: 100_000_123n, data: d[3] }),
      isb(le, 1),
      spb(le, { data: d[4] }),
      spb(le, { data: d[6].subarray(0, 79), originalLength: 98 }), // cut at interface 0's snaplen, not the padding
      pb(le, { interfaceId: 1, timestamp: 5n, data: d[5] }),
      block(le, 0x00000099, new Uint8Array(0)) // unknown, empty body
    ),
    frames: [
      frame(1_700_000_000_123_456_000n, 0, d[0]),
      frame(1_700_000_000_123_456_789n, 1, d[1]),
      // 3/1024 s = 2929687.5 ns, rounded down
      frame(1_741_000_000_002_929_687n, 2, d[2], 1000),
      // offset 1.6e9 s + 100000.123 s
      frame(1_600_100_000_123_000_000n, 3, d[3]),
      frame(0n, 0, d[4]),
      frame(0n, 0, d[6].subarray(0, 79), 98),
      frame(5n, 1, d[5])
    ]
  }
}

/** A second section: its own interface list, link type 101 (raw IP), 10^-7 s. */
const smallSection = (le: boolean): { readonly bytes: Uint8Array; readonly frames: ReadonlyArray<PcapFrame> } => {
  const d = bytes(40, 77)
  return {
    bytes: concat(
      shb(le),
      idb(le, { linkType: 101, options: [tsresol(7)] }),
      epb(le, { interfaceId: 0, timestamp: 17_000_000_001_234_567n, data: d })
    ),
    frames: [frame(1_700_000_000_123_456_700n, 0, d, d.length, 101)]
  }
}

describe("pcapng", () => {
  for (const le of [true, false]) {
    it(`reads every block kind in a ${le ? "little" : "big"}-endian section, at any chunking`, () => {
      const section = richSection(le)
      expect(decodeChunks([section.bytes])).toEqual({ frames: section.frames, error: undefined })
      expect(decodeChunks(bytewise(section.bytes)).frames).toEqual(section.frames)
      fc.assert(
        fc.property(fc.array(fc.nat(), { maxLength: 30 }), (cuts) => {
          expect(decodeChunks(splitAt(section.bytes, cuts))).toEqual({ frames: section.frames, error: undefined })
        }),
        { numRuns: 200 }
      )
    })
  }

  it("reads several sections, in different byte orders, each with its own interfaces", () => {
    const a = richSection(true)
    const b = smallSection(false)
    const c = richSection(false)
    const d = smallSection(true)
    const file = concat(a.bytes, b.bytes, c.bytes, d.bytes)
    const expected = [...a.frames, ...b.frames, ...c.frames, ...d.frames]
    expect(decodeChunks([file])).toEqual({ frames: expected, error: undefined })
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 40 }), (cuts) => {
        expect(decodeChunks(splitAt(file, cuts)).frames).toEqual(expected)
      }),
      { numRuns: 100 }
    )
  })

  it("an interface of an earlier section is not declared in the next one", () => {
    const file = concat(
      shb(true),
      idb(true),
      idb(true),
      epb(true, { interfaceId: 1, timestamp: 1n, data: bytes(4, 0) }),
      shb(true),
      idb(true),
      epb(true, { interfaceId: 1, timestamp: 1n, data: bytes(4, 0) })
    )
    const decoded = decodeChunks([file])
    expect(decoded.frames).toHaveLength(1)
    expect(decoded.error?.reason).toBe("unknown-interface")
  })

  it("reads Minor Version 2 as 1.0 (§4.1)", () => {
    const file = concat(shb(false, { minor: 2 }), idb(false), epb(false, { interfaceId: 0, timestamp: 7n, data: bytes(3, 1) }))
    expect(decodeChunks([file]).frames).toEqual([frame(7000n, 0, bytes(3, 1))])
  })

  it("random sections, interfaces, resolutions and packets decode to the frames put in", () => {
    const iface = fc.record({
      resolution: fc.oneof(
        fc.integer({ min: 0, max: 12 }).map((n) => ({ code: n, perSecond: 10n ** BigInt(n) })),
        fc.integer({ min: 0, max: 40 }).map((n) => ({ code: 0x80 | n, perSecond: 2n ** BigInt(n) }))
      ),
      explicit: fc.boolean(),
      offset: fc.option(fc.bigInt({ min: 0n, max: 2_000_000_000n }), { nil: undefined }),
      linkType: fc.integer({ min: 0, max: 0xffff })
    })
    const section = fc.record({
      le: fc.boolean(),
      interfaces: fc.array(iface, { minLength: 1, maxLength: 4 }),
      packets: fc.array(
        fc.record({
          which: fc.nat(),
          units: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
          data: fc.integer({ min: 0, max: 300 }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
          extra: fc.integer({ min: 0, max: 5000 })
        }),
        { maxLength: 6 }
      )
    })
    fc.assert(
      fc.property(fc.array(section, { minLength: 1, maxLength: 3 }), fc.array(fc.nat(), { maxLength: 20 }), (sections, cuts) => {
        const parts: Array<Uint8Array> = []
        const expected: Array<PcapFrame> = []
        for (const s of sections) {
          parts.push(shb(s.le))
          for (const i of s.interfaces) {
            const opts = [
              ...(i.explicit || i.resolution.code !== 6 ? [tsresol(i.resolution.code)] : []),
              ...(i.offset === undefined ? [] : [tsoffset(s.le, i.offset)])
            ]
            parts.push(idb(s.le, { linkType: i.linkType, options: opts }))
          }
          for (const p of s.packets) {
            const id = p.which % s.interfaces.length
            const i = s.interfaces[id]
            if (i === undefined) continue
            parts.push(epb(s.le, { interfaceId: id, timestamp: p.units, data: p.data, originalLength: p.data.length + p.extra }))
            // §4.3: (offset converted to units + timestamp) units since the epoch; nanoseconds rounded down
            const units = p.units + (i.offset ?? 0n) * i.resolution.perSecond
            expected.push(frame((units * 1_000_000_000n) / i.resolution.perSecond, id, p.data, p.data.length + p.extra, i.linkType))
          }
        }
        const decoded = decodeChunks(splitAt(concat(...parts), cuts))
        expect(decoded.error).toBeUndefined()
        expect(decoded.frames).toEqual(expected)
      }),
      { numRuns: 200 }
    )
  })

  const missing = tsharkMissing("tshark reading hand-built pcapng")
  it.skipIf(missing !== undefined)("tshark reads the hand-built files as we do", () => {
    const dir = mkdtempSync(join(tmpdir(), "netstack-pcapng-"))
    try {
      for (const le of [true, false]) {
        const a = richSection(le, false)
        const b = smallSection(!le)
        const path = join(dir, `hand-built-${le ? "le" : "be"}.pcapng`)
        writeFileSync(path, concat(a.bytes, b.bytes))
        const tshark = tsharkRead(path)
        expect(tshark.stderr).toBe("")
        const ours = decodeChunks([concat(a.bytes, b.bytes)])
        expect(ours.error).toBeUndefined()
        expect(tshark.frames.map(fromTshark)).toEqual(ours.frames.map(asTshark))
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
