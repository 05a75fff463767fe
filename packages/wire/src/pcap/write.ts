/**
 * Writing pcap files as streams (draft-ietf-opsawg-pcap §4, §5):
 * `encodePcap` turns frames into the bytes of a pcap file, the File Header
 * first; `writePcapFile` writes them to a path through Effect's `FileSystem`.
 *
 * Each chunk of frames becomes one byte array (one write), not one per frame.
 * A frame that cannot be written (timestamp before 1970 or after 2106, wrong
 * link type, …) fails the stream with a `PcapWriteError` after the records
 * of the frames before it; a file being written then keeps those records.
 */
import { Effect, FileSystem, type PlatformError, type Pull, Stream } from "effect"
import { isReadonlyArrayNonEmpty, type NonEmptyReadonlyArray } from "effect/Array"
import { dual } from "effect/Function"
import { PcapWriteError } from "./errors.ts"
import type { PcapFrameInput } from "./frame.ts"
import {
  checkPcapFrame,
  pcapFileHeaderFor,
  pcapRecordLength,
  type PcapWriteOptions,
  type PcapWriteSettings,
  pcapWriteSettings,
  writePcapRecord
} from "./libpcap.ts"

/** The records of the longest prefix of `frames` that can be written, and the error that stopped it, if any. */
const encodeChunk = (
  frames: ReadonlyArray<PcapFrameInput>,
  settings: PcapWriteSettings,
  firstIndex: number
): { readonly bytes: Uint8Array | undefined; readonly failure: PcapWriteError | undefined } => {
  let count = 0
  let total = 0
  let failure: PcapWriteError | undefined
  for (const frame of frames) {
    const problem = checkPcapFrame(frame, settings)
    if (problem !== undefined) {
      failure = new PcapWriteError({ reason: problem.reason, detail: `frame ${firstIndex + count}: ${problem.detail}` })
      break
    }
    total += pcapRecordLength(frame, settings)
    count++
  }
  if (count === 0) return { bytes: undefined, failure }
  const bytes = new Uint8Array(total)
  let at = 0
  for (let i = 0; i < count; i++) at += writePcapRecord(bytes, at, frames[i], settings)
  return { bytes, failure }
}

/**
 * The bytes of a pcap file holding the frames `self` emits: the File Header,
 * then one Packet Record per frame (data truncated to the snaplen, original
 * length kept). Options: `snaplen` (default 262144), `linkType` (default
 * Ethernet, 1), `nanosecond` timestamps (default microseconds), `bigEndian`
 * (default little-endian). Bad options fail the stream at once.
 */
export const encodePcap: {
  (
    options?: PcapWriteOptions
  ): <E, R>(self: Stream.Stream<PcapFrameInput, E, R>) => Stream.Stream<Uint8Array, E | PcapWriteError, R>
  <E, R>(
    self: Stream.Stream<PcapFrameInput, E, R>,
    options?: PcapWriteOptions
  ): Stream.Stream<Uint8Array, E | PcapWriteError, R>
} = dual(
  (args) => Stream.isStream(args[0]),
  <E, R>(
    self: Stream.Stream<PcapFrameInput, E, R>,
    options?: PcapWriteOptions
  ): Stream.Stream<Uint8Array, E | PcapWriteError, R> => {
    const settings = pcapWriteSettings(options)
    if (settings instanceof PcapWriteError) return Stream.fail(settings)
    const records = Stream.transformPull(self, (upstream) =>
      Effect.sync(() => {
        let failure: PcapWriteError | undefined
        let index = 0
        const pull: Pull.Pull<NonEmptyReadonlyArray<Uint8Array>, E | PcapWriteError> = Effect.suspend(() => {
          if (failure !== undefined) return Effect.fail(failure)
          return upstream.pipe(
            Effect.flatMap((frames) => {
              const encoded = encodeChunk(frames, settings, index)
              index += frames.length
              failure = encoded.failure
              const out = encoded.bytes === undefined ? [] : [encoded.bytes]
              if (isReadonlyArrayNonEmpty(out)) return Effect.succeed(out)
              return failure !== undefined ? Effect.fail(failure) : pull
            })
          )
        })
        return pull
      }))
    return Stream.concat(Stream.sync(() => pcapFileHeaderFor(settings)), records)
  }
)

/**
 * Writes the frames of `frames` to a pcap file at `path` (created or
 * truncated) through `FileSystem`. See `encodePcap` for the options.
 */
export const writePcapFile = Effect.fn("writePcapFile")(function*<E, R>(
  path: string,
  frames: Stream.Stream<PcapFrameInput, E, R>,
  options?: PcapWriteOptions
): Effect.fn.Return<void, E | PcapWriteError | PlatformError.PlatformError, R | FileSystem.FileSystem> {
  const fs = yield* FileSystem.FileSystem
  yield* Stream.run(encodePcap(frames, options), fs.sink(path))
})
