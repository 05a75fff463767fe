/**
 * Malformed capture files fail the stream with a `CaptureFormatError` naming
 * the reason and the byte offset, after the frames before the fault, and
 * never throw: truncation at every byte, each corrupted length or field, and
 * random corruption (where the result must not depend on the chunking).
 */
import { describe, expect, it } from "@effect/vitest"
import { type CaptureFormatReason, LINKTYPE_ETHERNET, type PcapFrame, pcapFileHeader, pcapRecord } from "@netstack/wire"
import fc from "fast-check"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { decodeChunks, splitAt } from "./support/pcap-support.ts"
import { block, concat, custom, epb, idb, isb, nrb, type Option, shb, spb, tsresol } from "./support/pcapng-builder.ts"

const fixture = (name: string): Uint8Array =>
  new Uint8Array(readFileSync(fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))))

const data = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => i & 0xff)

/** A file as its parts: each part's bytes and how many frames it holds. */
interface Parts {
  readonly parts: ReadonlyArray<{ readonly bytes: Uint8Array; readonly frames: number }>
}

const pcapParts = (): Parts => {
  const header = pcapFileHeader({ nanosecond: true })
  const records = [0, 1, 5, 60, 3].map((n, i) =>
    pcapRecord({ timestamp: 1_000_000_000n * BigInt(i + 1), data: data(n) }, { nanosecond: true })
  )
  return {
    parts: [header, ...records].map((bytes, i) => ({ bytes: bytes as Uint8Array, frames: i === 0 ? 0 : 1 }))
  }
}

const pcapngParts = (le: boolean): Parts => {
  const packet = (b: Uint8Array) => ({ bytes: b, frames: 1 })
  const other = (b: Uint8Array) => ({ bytes: b, frames: 0 })
  return {
    parts: [
      other(shb(le)),
      other(idb(le, { options: [tsresol(9)] })),
      packet(epb(le, { interfaceId: 0, timestamp: 1n, data: data(5) })),
      other(nrb(le)),
      packet(spb(le, { data: data(3) })),
      other(isb(le, 0)),
      other(custom(le, data(9))),
      other(shb(!le)),
      other(idb(!le)),
      packet(epb(!le, { interfaceId: 0, timestamp: 2n, data: data(0) }))
    ]
  }
}

const bytesOf = (p: Parts): Uint8Array => concat(...p.parts.map((x) => x.bytes))

/** Where each part starts, and how many frames precede it. */
const boundaries = (p: Parts): ReadonlyArray<{ readonly start: number; readonly framesBefore: number }> => {
  let start = 0
  let framesBefore = 0
  return p.parts.map((x) => {
    const b = { start, framesBefore }
    start += x.bytes.length
    framesBefore += x.frames
    return b
  })
}

describe("malformed capture files", () => {
  const files: ReadonlyArray<readonly [string, Parts]> = [
    ["pcap", pcapParts()],
    ["pcapng little-endian then big-endian", pcapngParts(true)],
    ["pcapng big-endian then little-endian", pcapngParts(false)]
  ]
  for (const [name, parts] of files) {
    it(`${name} cut at every byte: the complete frames, then truncated at the cut unit`, () => {
      const whole = bytesOf(parts)
      const all = decodeChunks([whole])
      expect(all.error).toBeUndefined()
      const starts = boundaries(parts)
      for (let cut = 0; cut <= whole.length; cut++) {
        const unit = [...starts].reverse().find((b) => b.start <= cut)
        const atBoundary = cut === whole.length || starts.some((b) => b.start === cut)
        const headerless = cut < (parts.parts[0]?.bytes.length ?? 0)
        for (const chunks of [[whole.subarray(0, cut)], splitAt(whole.subarray(0, cut), [cut >> 1, cut - 3])]) {
          const decoded = decodeChunks(chunks)
          if (atBoundary && !headerless) {
            expect(decoded.error, `cut ${cut}`).toBeUndefined()
          } else {
            expect(decoded.error?.reason, `cut ${cut}`).toBe("truncated")
            expect(decoded.error?.offset, `cut ${cut}`).toBe(headerless ? 0 : unit?.start)
          }
          // every frame completed before the cut is emitted, and no other
          const expectedFrames = cut === whole.length ? all.frames.length : (unit?.framesBefore ?? 0)
          expect(decoded.frames, `cut ${cut}`).toEqual(all.frames.slice(0, expectedFrames))
        }
      }
    })
  }

  /** Decodes `bytes` whole and byte by byte; both must fail alike; returns the reason and offset. */
  const failure = (bytes: Uint8Array, maxRecordBytes?: number) => {
    const whole = decodeChunks([bytes], maxRecordBytes)
    const split = decodeChunks(splitAt(bytes, [1, 2, 5, 9, 13, 21, 30, 31, 47, 64]), maxRecordBytes)
    expect(split).toEqual(whole)
    return { reason: whole.error?.reason, offset: whole.error?.offset, frames: whole.frames.length }
  }

  const expectFailure = (
    bytes: Uint8Array,
    reason: CaptureFormatReason,
    offset: number,
    frames = 0,
    maxRecordBytes?: number
  ) => expect(failure(bytes, maxRecordBytes)).toEqual({ reason, offset, frames })

  it("names bad magic numbers and versions", () => {
    expectFailure(Uint8Array.of(0x7f, 0x45, 0x4c, 0x46, 1, 2, 3), "bad-magic", 0)
    expectFailure(new Uint8Array(0), "truncated", 0)
    expectFailure(Uint8Array.of(0xd4, 0xc3, 0xb2), "truncated", 0)
    const header = pcapFileHeader() as Uint8Array
    const old = header.slice()
    old[4] = 1 // version 1.4
    expectFailure(old, "unsupported-version", 4)
    const swapped = header.slice()
    swapped[6] = 2 // version 2.2: lengths swapped, refused
    expectFailure(swapped, "unsupported-version", 4)
    for (const le of [true, false]) {
      const section = shb(le)
      const magic = section.slice()
      magic[8] ^= 0xff
      expectFailure(magic, "bad-byte-order-magic", 8)
      expectFailure(concat(shb(le, { major: 2 })), "unsupported-version", 12)
      expectFailure(concat(shb(le, { minor: 1 })), "unsupported-version", 12)
      // a bad second section after good frames: the frames come first
      const good = concat(shb(le), idb(le), epb(le, { interfaceId: 0, timestamp: 0n, data: data(2) }))
      expectFailure(concat(good, magic), "bad-byte-order-magic", good.length + 8, 1)
    }
  })

  it("names corrupted pcap record lengths", () => {
    const header = pcapFileHeader() as Uint8Array
    const record = (caplen: number, len: number, payload: number) => {
      const r = new Uint8Array(16 + payload)
      const v = new DataView(r.buffer)
      v.setUint32(8, caplen, true)
      v.setUint32(12, len, true)
      return r
    }
    const good = pcapRecord({ timestamp: 0n, data: data(10) }) as Uint8Array
    expectFailure(concat(header, good, record(0xffffffff, 10, 0)), "record-too-long", 24 + 26 + 8, 1)
    expectFailure(concat(header, record(101, 101, 101)), "record-too-long", 24 + 8, 0, 100)
    expect(failure(concat(header, record(100, 100, 100)), 100)).toEqual({ reason: undefined, offset: undefined, frames: 1 })
    // a length beyond the end of the file, within the limit: truncated, after the frames before it
    expectFailure(concat(header, good, good, record(5000, 5000, 30)), "truncated", 24 + 52, 2)
  })

  it("names corrupted pcapng block lengths", () => {
    for (const le of [true, false]) {
      const head = concat(shb(le), idb(le))
      const packet = epb(le, { interfaceId: 0, timestamp: 9n, data: data(6) })
      const at = head.length
      const withLength = (b: Uint8Array, length: number, where: "leading" | "trailing" | "both" = "both") => {
        const copy = b.slice()
        const v = new DataView(copy.buffer)
        if (where !== "trailing") v.setUint32(4, length, le)
        if (where !== "leading") v.setUint32(copy.length - 4, length, le)
        return copy
      }
      expectFailure(concat(head, withLength(packet, packet.length + 2)), "block-length-unaligned", at + 4)
      expectFailure(concat(head, withLength(packet, 28)), "block-too-short", at + 4)
      expectFailure(concat(head, withLength(packet, 8)), "block-too-short", at + 4)
      expectFailure(concat(head, withLength(packet, 0xfffffff0)), "block-too-long", at + 4)
      expectFailure(concat(head, withLength(packet, 64)), "block-too-long", at + 4, 0, 60)
      expectFailure(concat(head, withLength(packet, packet.length + 4, "trailing")), "block-length-mismatch", at + packet.length - 4)
      // the same on a block that is skipped, not read
      const stats = isb(le, 0)
      expectFailure(concat(head, withLength(stats, 1, "trailing"), packet), "block-length-mismatch", at + stats.length - 4)
      const unknown = block(le, 0x1234, data(8))
      expectFailure(concat(head, withLength(unknown, 3, "leading")), "block-length-unaligned", at + 4)
      // the length of the section header itself (in its own byte order)
      expectFailure(withLength(shb(le), 24), "block-too-short", 4)
      // a block length pointing past the end: truncated at the block
      expectFailure(concat(head, packet, withLength(packet, 4000, "leading")), "truncated", at + packet.length, 1)
    }
  })

  it("names bad packet blocks and options", () => {
    for (const le of [true, false]) {
      const head = concat(shb(le), idb(le))
      const at = head.length
      const packet = epb(le, { interfaceId: 0, timestamp: 9n, data: data(8) })
      const bigCaplen = packet.slice()
      new DataView(bigCaplen.buffer).setUint32(20, 9, le)
      expectFailure(concat(head, bigCaplen), "bad-captured-length", at + 20)
      expectFailure(concat(head, epb(le, { interfaceId: 1, timestamp: 0n, data: data(1) })), "unknown-interface", at + 8)
      expectFailure(concat(shb(le), spb(le, { data: data(4) })), "unknown-interface", shb(le).length)
      expectFailure(concat(shb(le), epb(le, { interfaceId: 0, timestamp: 0n, data: data(1) })), "unknown-interface", shb(le).length + 8)
      const option = (o: Option) => concat(shb(le), idb(le, { options: [o] }))
      const idbAt = shb(le).length
      expectFailure(option({ code: 9, value: Uint8Array.of(6, 0) }), "bad-option", idbAt + 16)
      expectFailure(option({ code: 14, value: new Uint8Array(4) }), "bad-option", idbAt + 16)
      // an option whose length runs past the block
      const overrun = idb(le, { options: [{ code: 2, value: data(4) }] })
      new DataView(overrun.buffer).setUint16(18, 200, le)
      expectFailure(concat(shb(le), overrun), "bad-option", idbAt + 16)
    }
  })

  it("a declared length is checked, never allocated before the bytes arrive", () => {
    // a 255 MiB block (under the 256 MiB limit) of which 64 KiB arrive
    const head = concat(shb(true), idb(true))
    const big = new Uint8Array(65536)
    const v = new DataView(big.buffer)
    v.setUint32(0, 6, true)
    v.setUint32(4, 255 * 1024 * 1024, true)
    const before = process.memoryUsage().arrayBuffers
    const decoded = decodeChunks([head, ...splitAt(big, [100, 5000, 30000])])
    const grown = process.memoryUsage().arrayBuffers - before
    expect(decoded.error).toMatchObject({ reason: "truncated", offset: head.length })
    expect(grown).toBeLessThan(32 * 1024 * 1024)
  })

  it("random corruption: a CaptureFormatError or frames, never a throw, and the same for any chunking", () => {
    const sources = [
      bytesOf(pcapParts()),
      bytesOf(pcapngParts(true)),
      bytesOf(pcapngParts(false)),
      fixture("editcap-comments.pcapng"),
      fixture("tcpdump-snaplen96.pcap")
    ]
    const corrupted = fc
      .record({
        source: fc.constantFrom(...sources),
        edits: fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 4 }),
        cutTo: fc.option(fc.nat(), { nil: undefined })
      })
      .map(({ cutTo, edits, source }) => {
        const copy = source.slice(0, cutTo === undefined ? source.length : cutTo % (source.length + 1))
        for (const e of edits) if (copy.length > 0) copy[e.at % copy.length] = e.value
        return copy
      })
    fc.assert(
      fc.property(corrupted, fc.array(fc.nat(), { maxLength: 12 }), (bytes, cuts) => {
        const whole = decodeChunks([bytes])
        expect(decodeChunks(splitAt(bytes, cuts))).toEqual(whole)
        if (whole.error !== undefined) {
          expect(whole.error.offset).toBeGreaterThanOrEqual(0)
          expect(whole.error.offset).toBeLessThanOrEqual(bytes.length)
        }
        for (const frame of whole.frames) expect(frame.data.length).toBeLessThanOrEqual(bytes.length)
      }),
      { numRuns: 500 }
    )
  })

  it("the frames before a fault keep their values", () => {
    const frames: ReadonlyArray<PcapFrame> = [1, 2, 3].map((i) => ({
      timestamp: BigInt(i) * 1_000_000n,
      linkType: LINKTYPE_ETHERNET,
      interfaceIndex: 0,
      data: data(i * 10),
      originalLength: i * 10
    }))
    const file = concat(pcapFileHeader() as Uint8Array, ...frames.map((f) => pcapRecord(f) as Uint8Array))
    const decoded = decodeChunks([file.subarray(0, file.length - 1)])
    expect(decoded.frames).toEqual(frames.slice(0, 2))
    expect(decoded.error).toMatchObject({ _tag: "CaptureFormatError", reason: "truncated", offset: 24 + 26 + 36 })
    expect(decoded.error?.message).toMatch(/^capture truncated at byte 86: /)
  })
})
