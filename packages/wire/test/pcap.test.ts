/**
 * libpcap files: what we write reads back the same whatever the chunking (µs
 * and ns, either byte order, truncated to the snaplen); the header and record
 * bytes are the layout of draft-ietf-opsawg-pcap §4/§5; tshark reads our
 * files with the right frames, lengths and timestamps; frames that cannot be
 * written are refused with a typed error.
 */
import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import {
  decodeCaptureStream,
  encodePcap,
  LINKTYPE_ETHERNET,
  PcapFrame,
  pcapFileHeader,
  pcapRecord,
  PcapWriteError,
  type PcapWriteOptions,
  readCaptureFile,
  timestampDate,
  timestampMicros,
  writePcapFile
} from "@netstack/wire"
import { Effect, Result, Schema, Stream } from "effect"
import fc from "fast-check"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { asTshark, decodeChunks, fromTshark, splitAt, tsharkMissing, tsharkRead } from "./support/pcap-support.ts"

const MAX_TIMESTAMP = 2n ** 32n * 1_000_000_000n - 1n

/** Frame data of a length drawn explicitly (fast-check's default sizes are small). */
const frameData = fc.integer({ min: 0, max: 1600 }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n }))

/** Frames a pcap file can hold; `micro` keeps timestamps on whole microseconds. */
const frames = (micro: boolean) =>
  fc.array(
    fc.record({
      timestamp: fc.bigInt({ min: 0n, max: MAX_TIMESTAMP }).map((t) => (micro ? t - (t % 1000n) : t)),
      data: frameData,
      extra: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 70000 }))
    }).map(({ data, extra, timestamp }): PcapFrame => ({
      timestamp,
      linkType: LINKTYPE_ETHERNET,
      interfaceIndex: 0,
      data,
      originalLength: data.length + extra
    })),
    { maxLength: 12 }
  )

const encode = (input: ReadonlyArray<PcapFrame>, options: PcapWriteOptions): Uint8Array => {
  const chunks = Effect.runSync(Stream.fromIterable(input).pipe(encodePcap(options), Stream.runCollect))
  return new Uint8Array(Buffer.concat(chunks))
}

const cuts = fc.array(fc.nat(), { maxLength: 20 })

describe("pcap writing and reading", () => {
  it("round trip: frames → encode → any chunking → decode gives the frames (µs and ns, both byte orders)", () => {
    for (const nanosecond of [false, true]) {
      fc.assert(
        fc.property(frames(!nanosecond), fc.boolean(), cuts, (input, bigEndian, at) => {
          const bytes = encode(input, { nanosecond, bigEndian })
          const decoded = decodeChunks(splitAt(bytes, at))
          expect(decoded.error).toBeUndefined()
          expect(decoded.frames).toEqual(input)
        }),
        { numRuns: 150 }
      )
    }
  })

  it("a microsecond file drops the nanoseconds below the microsecond", () => {
    fc.assert(
      fc.property(frames(false), (input) => {
        const decoded = decodeChunks([encode(input, {})])
        expect(decoded.frames.map((f) => f.timestamp)).toEqual(input.map((f) => f.timestamp - (f.timestamp % 1000n)))
      })
    )
  })

  it("frames longer than the snaplen are truncated; the original length is kept", () => {
    fc.assert(
      fc.property(frames(false), fc.integer({ min: 1, max: 200 }), cuts, (input, snaplen, at) => {
        const decoded = decodeChunks(splitAt(encode(input, { snaplen, nanosecond: true }), at))
        expect(decoded.error).toBeUndefined()
        expect(decoded.frames).toEqual(input.map((f) => ({ ...f, data: f.data.subarray(0, snaplen) })))
      })
    )
  })

  it("the File Header and a record have the draft-ietf-opsawg-pcap layout", () => {
    // §4: magic, version 2.4, two reserved words, snaplen, link type; little-endian by default
    expect([...(pcapFileHeader() as Uint8Array)]).toEqual([
      0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x04, 0x00, 1, 0, 0, 0
    ])
    expect([...(pcapFileHeader({ nanosecond: true, bigEndian: true, snaplen: 1500, linkType: 101 }) as Uint8Array)])
      .toEqual([0xa1, 0xb2, 0x3c, 0x4d, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x05, 0xdc, 0, 0, 0, 101])
    // §5: seconds, fraction, captured length, original length, data
    const record = pcapRecord(
      { timestamp: 1_700_000_000_123_456_789n, data: Uint8Array.of(9, 8, 7), originalLength: 60 },
      { bigEndian: true }
    )
    expect([...(record as Uint8Array)]).toEqual([
      0x65, 0x53, 0xf1, 0x00, 0x00, 0x01, 0xe2, 0x40, 0, 0, 0, 3, 0, 0, 0, 60, 9, 8, 7
    ])
    const nano = pcapRecord({ timestamp: 1_700_000_000_123_456_789n, data: new Uint8Array(10) }, {
      nanosecond: true,
      snaplen: 4
    })
    expect([...(nano as Uint8Array)]).toEqual([
      0x00, 0xf1, 0x53, 0x65, 0x15, 0xcd, 0x5b, 0x07, 4, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0
    ])
  })

  it("pcapFileHeader and pcapRecord, written one by one, make the file encodePcap makes", () => {
    fc.assert(
      fc.property(frames(false), fc.boolean(), (input, nanosecond) => {
        const parts = [pcapFileHeader({ nanosecond }), ...input.map((f) => pcapRecord(f, { nanosecond }))]
        const bytes = Buffer.concat(parts.map((p) => (p instanceof Uint8Array ? p : new Uint8Array(0))))
        expect(bytes).toEqual(Buffer.from(encode(input, { nanosecond })))
      })
    )
  })

  it("refuses what pcap cannot hold, with a typed error", () => {
    const reason = (x: Uint8Array | PcapWriteError) => (x instanceof PcapWriteError ? x.reason : "written")
    expect(reason(pcapRecord({ timestamp: -1n, data: new Uint8Array(1) }))).toBe("timestamp-out-of-range")
    expect(reason(pcapRecord({ timestamp: MAX_TIMESTAMP + 1n, data: new Uint8Array(1) }))).toBe(
      "timestamp-out-of-range"
    )
    expect(reason(pcapRecord({ timestamp: MAX_TIMESTAMP, data: new Uint8Array(1) }))).toBe("written")
    expect(reason(pcapRecord({ timestamp: 0n, data: new Uint8Array(1), originalLength: 2 ** 32 }))).toBe(
      "length-out-of-range"
    )
    expect(reason(pcapRecord({ timestamp: 0n, data: new Uint8Array(1), originalLength: 1.5 }))).toBe(
      "length-out-of-range"
    )
    expect(reason(pcapRecord({ timestamp: 0n, data: new Uint8Array(1), linkType: 113 }))).toBe("link-type-mismatch")
    expect(reason(pcapRecord({ timestamp: 0n, data: new Uint8Array(1), linkType: 113 }, { linkType: 113 }))).toBe(
      "written"
    )
    expect(reason(pcapFileHeader({ snaplen: 0 }))).toBe("bad-options")
    expect(reason(pcapFileHeader({ linkType: 65536 }))).toBe("bad-options")
  })

  it.effect("encodePcap writes the records before a frame it cannot write, then fails", () =>
    Effect.gen(function*() {
      const good = { timestamp: 5_000_000_000n, data: Uint8Array.of(1, 2, 3) }
      const chunks: Array<Uint8Array> = []
      const result = yield* Stream.fromIterable([good, good, { timestamp: -5n, data: new Uint8Array(4) }, good]).pipe(
        encodePcap(),
        Stream.runForEach((chunk) => Effect.sync(() => void chunks.push(chunk))),
        Effect.result
      )
      expect(Result.isFailure(result) && result.failure.reason).toBe("timestamp-out-of-range")
      expect(Result.isFailure(result) && result.failure.detail).toMatch(/^frame 2:/)
      const decoded = decodeChunks(chunks)
      expect(decoded.error).toBeUndefined()
      expect(decoded.frames.map((f) => f.timestamp)).toEqual([5_000_000_000n, 5_000_000_000n])
    }))

  it.effect("bad options fail the stream before anything is written", () =>
    Effect.gen(function*() {
      const result = yield* Stream.make({ timestamp: 0n, data: new Uint8Array(1) }).pipe(
        encodePcap({ snaplen: -1 }),
        Stream.runCollect,
        Effect.result
      )
      expect(Result.isFailure(result) && result.failure.reason).toBe("bad-options")
    }))

  it("an empty stream of frames is a File Header alone, which reads as no frames", () => {
    const bytes = encode([], {})
    expect(bytes.length).toBe(24)
    expect(decodeChunks([bytes])).toEqual({ frames: [], error: undefined })
  })

  it.effect("upstream errors pass through after the frames already read; data-first and data-last agree", () =>
    Effect.gen(function*() {
      const input = [0, 1, 2].map((i): PcapFrame => ({
        timestamp: BigInt(i) * 1_000_000n,
        linkType: 1,
        interfaceIndex: 0,
        data: Uint8Array.of(i),
        originalLength: 1
      }))
      const bytes = encode(input, {})
      const cut = 24 + 17 * 2 + 5
      const upstream = Stream.concat(Stream.make(bytes.subarray(0, cut)), Stream.fail("disk on fire" as const))
      const seen: Array<PcapFrame> = []
      const result = yield* decodeCaptureStream(upstream).pipe(
        Stream.runForEach((f) => Effect.sync(() => void seen.push(f))),
        Effect.result
      )
      expect(Result.isFailure(result) && result.failure).toBe("disk on fire")
      expect(seen).toEqual(input.slice(0, 2))
      const dataLast = yield* Stream.make(bytes).pipe(decodeCaptureStream({ maxRecordBytes: 1 }), Stream.runCollect)
      expect(dataLast).toEqual(input)
      for (const frame of dataLast) expect(Schema.is(PcapFrame)(frame)).toBe(true)
    }))

  it("timestampMicros and timestampDate round down", () => {
    expect(timestampMicros({ timestamp: 1_999n })).toBe(1n)
    expect(timestampMicros({ timestamp: -1n })).toBe(-1n)
    expect(timestampDate({ timestamp: 1_700_000_000_123_999_999n }).toISOString()).toBe("2023-11-14T22:13:20.123Z")
  })
})

describe("pcap files on disk", () => {
  const withTempDir = <A, E, R>(f: (dir: string) => Effect.Effect<A, E, R>) =>
    Effect.acquireUseRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), "netstack-pcap-"))),
      f,
      (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
    )

  const sample: ReadonlyArray<PcapFrame> = Array.from({ length: 40 }, (_, i) => ({
    timestamp: 1_700_000_000_000_000_000n + BigInt(i) * 1_234_567_891n,
    linkType: 1,
    interfaceIndex: 0,
    data: Uint8Array.from({ length: 60 + i * 37 }, (_, k) => (k * 7 + i) & 0xff),
    originalLength: 60 + i * 37 + (i % 3) * 100
  }))

  it.effect("writePcapFile then readCaptureFile gives the frames back", () =>
    withTempDir((dir) =>
      Effect.gen(function*() {
        const path = join(dir, "out.pcap")
        yield* writePcapFile(path, Stream.fromIterable(sample).pipe(Stream.rechunk(7)), { nanosecond: true })
        const back = yield* readCaptureFile(path, { chunkSize: 333 }).pipe(Stream.runCollect)
        expect(back).toEqual(sample)
      })
    ).pipe(Effect.provide(NodeFileSystem.layer)))

  const missing = tsharkMissing("tshark reading our pcap files")
  for (const nanosecond of [false, true]) {
    it.effect.skipIf(missing !== undefined)(
      `tshark reads our ${nanosecond ? "nanosecond" : "microsecond"} file: frames, lengths, timestamps, bytes`,
      () =>
        withTempDir((dir) =>
          Effect.gen(function*() {
            const path = join(dir, "ours.pcap")
            yield* writePcapFile(path, Stream.fromIterable(sample), { nanosecond, snaplen: 1000, bigEndian: nanosecond })
            const tshark = tsharkRead(path)
            expect(tshark.stderr).toBe("")
            expect(tshark.frames.map(fromTshark)).toEqual(
              sample.map((f) =>
                asTshark({
                  ...f,
                  timestamp: nanosecond ? f.timestamp : f.timestamp - (f.timestamp % 1000n),
                  data: f.data.subarray(0, 1000)
                })
              )
            )
            // and the file on disk is the bytes encodePcap gives
            expect(new Uint8Array(readFileSync(path))).toEqual(encode(sample, { nanosecond, snaplen: 1000, bigEndian: nanosecond }))
          })
        ).pipe(Effect.provide(NodeFileSystem.layer))
    )
  }
})
