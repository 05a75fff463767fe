/**
 * Reading capture files as streams: `decodeCaptureStream` turns the bytes of
 * a pcap or pcapng file, in chunks split anywhere, into its frames;
 * `readCaptureFile` streams a file from Effect's `FileSystem` through it.
 *
 * Frames are emitted as soon as their record or block is complete. On
 * malformed input the stream first emits every frame completed before the
 * fault, then fails with the `CaptureFormatError` (a file cut mid-record thus
 * yields its complete frames, then `truncated`).
 */
import { Cause, Effect, FileSystem, type PlatformError, Pull, Stream } from "effect"
import { isReadonlyArrayNonEmpty, type NonEmptyReadonlyArray } from "effect/Array"
import { dual } from "effect/Function"
import { CaptureDecoder, type CaptureDecodeOptions } from "./decoder.ts"
import type { CaptureFormatError } from "./errors.ts"
import type { PcapFrame } from "./frame.ts"

/**
 * The frames of the pcap or pcapng file whose bytes `self` emits, in file
 * order; fails with a `CaptureFormatError` on malformed input, after the
 * frames before the fault. Memory: one record or block, bounded by
 * `options.maxRecordBytes` (default 256 MiB), plus the current chunk.
 */
export const decodeCaptureStream: {
  (
    options?: CaptureDecodeOptions
  ): <E, R>(self: Stream.Stream<Uint8Array, E, R>) => Stream.Stream<PcapFrame, E | CaptureFormatError, R>
  <E, R>(
    self: Stream.Stream<Uint8Array, E, R>,
    options?: CaptureDecodeOptions
  ): Stream.Stream<PcapFrame, E | CaptureFormatError, R>
} = dual(
  (args) => Stream.isStream(args[0]),
  <E, R>(
    self: Stream.Stream<Uint8Array, E, R>,
    options?: CaptureDecodeOptions
  ): Stream.Stream<PcapFrame, E | CaptureFormatError, R> =>
    Stream.transformPull(self, (upstream) =>
      Effect.sync(() => {
        const decoder = new CaptureDecoder(options)
        let failure: CaptureFormatError | undefined
        const onEnd = (): Effect.Effect<never, CaptureFormatError | Cause.Done> => {
          const error = decoder.end()
          return error === undefined ? Cause.done() : Effect.fail(error)
        }
        const pull: Pull.Pull<NonEmptyReadonlyArray<PcapFrame>, E | CaptureFormatError> = Effect.suspend(() => {
          if (failure !== undefined) return Effect.fail(failure)
          return upstream.pipe(
            Pull.catchDone(onEnd),
            Effect.flatMap((chunks) => {
              const out: Array<PcapFrame> = []
              for (const chunk of chunks) {
                failure = decoder.push(chunk, out)
                if (failure !== undefined) break
              }
              if (isReadonlyArrayNonEmpty(out)) return Effect.succeed(out)
              return failure !== undefined ? Effect.fail(failure) : pull
            })
          )
        })
        return pull
      })
    )
)

/**
 * The frames of the pcap or pcapng file at `path`, read in chunks through
 * `FileSystem` (64 KiB by default; `chunkSize` changes it).
 */
export const readCaptureFile = (
  path: string,
  options?: CaptureDecodeOptions & { readonly chunkSize?: number | undefined }
): Stream.Stream<PcapFrame, CaptureFormatError | PlatformError.PlatformError, FileSystem.FileSystem> =>
  Stream.unwrap(
    Effect.map(Effect.service(FileSystem.FileSystem), (fs) =>
      decodeCaptureStream(fs.stream(path, { chunkSize: options?.chunkSize }), options))
  ).pipe(Stream.withSpan("readCaptureFile", { attributes: { path } }))
