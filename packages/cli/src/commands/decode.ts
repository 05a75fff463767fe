/**
 * `netstack decode FILE`: reads a pcap or pcapng capture and prints one
 * tcpdump-like line per frame, or with `--json` one JSON object per frame
 * with every decoded layer and field.
 */
import { PacketBuffer } from "@netstack/buffers"
import {
  decodeFrame,
  formatFrame,
  frameToJson,
  LINKTYPE_ETHERNET,
  type PcapFrame,
  readCaptureFile
} from "@netstack/wire"
import { Console, Effect, Stream } from "effect"
import { Argument, CliError, Command, Flag } from "effect/cli"

/** `seconds.microseconds`, as tcpdump -tt prints a timestamp. */
const formatTime = (nanos: bigint): string => {
  const micros = nanos / 1000n
  return `${micros / 1_000_000n}.${(micros % 1_000_000n).toString().padStart(6, "0")}`
}

/** The output for one captured frame: a line, or a JSON object on one line. */
export const describeCapturedFrame = (frame: PcapFrame, index: number, json: boolean): string => {
  if (frame.linkType !== LINKTYPE_ETHERNET) {
    return json
      ? JSON.stringify({ frame: index, linkType: frame.linkType, length: frame.data.length, layers: [] })
      : `${formatTime(frame.timestamp)} link type ${frame.linkType} not decoded, length ${frame.data.length}`
  }
  const decoded = decodeFrame(PacketBuffer.wrap(frame.data.slice()))
  if (json) {
    return JSON.stringify(frameToJson(decoded, {
      index,
      timestamp: frame.timestamp,
      ...(frame.originalLength !== frame.data.length ? { originalLength: frame.originalLength } : {})
    }))
  }
  return `${formatTime(frame.timestamp)} ${formatFrame(decoded)}`
}

/** The `decode` subcommand. */
export const decodeCommand = Command.make(
  "decode",
  {
    file: Argument.String("file").pipe(Argument.withDescription("A pcap or pcapng capture")),
    json: Flag.Boolean("json").pipe(Flag.withDescription("One JSON object per frame"), Flag.withDefault(false))
  },
  ({ file, json }) =>
    readCaptureFile(file).pipe(
      Stream.zipWithIndex,
      Stream.runForEach(([frame, i]) => Console.log(describeCapturedFrame(frame, i + 1, json))),
      Effect.mapError((error) =>
        new CliError.UserError({
          cause: error,
          userMessage: error._tag === "CaptureFormatError"
            ? `${file}: not a valid capture (${error.reason} at byte ${error.offset}${error.detail ? `: ${error.detail}` : ""})`
            : `${file}: ${error.message}`
        })
      )
    )
).pipe(Command.withDescription("Print each frame of a pcap/pcapng file, tcpdump-like or as JSON"))
