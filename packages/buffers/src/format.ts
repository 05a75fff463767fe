/**
 * Human-readable renderings of a buffer, for the demo, traces and test
 * failure messages.
 */
import type { PacketBuffer } from "./packet-buffer.ts"

/** One line: the four offsets, lengths, fragments and sharing, e.g. `head=0 data=64 tail=84 end=256 len=20 ...`. */
export const formatLayout = (buffer: PacketBuffer): string =>
  buffer.isReleased
    ? "released"
    : `head=${buffer.head} data=${buffer.data} tail=${buffer.tail} end=${buffer.end} ` +
      `len=${buffer.length} headroom=${buffer.headroom} tailroom=${buffer.tailroom} ` +
      `frags=${buffer.fragments.length}${buffer.fragmentLength > 0 ? `(${buffer.fragmentLength}B)` : ""} ` +
      `${buffer.isShared ? "shared" : "private"}`

/** Hex bytes of `bytes[start, end)`, 16 to a line, each line prefixed with its offset from `start`. */
export const hexdump = (bytes: Uint8Array, start = 0, end = bytes.length): string => {
  const lines: Array<string> = []
  for (let line = start; line < end; line += 16) {
    const hex: Array<string> = []
    for (let i = line; i < Math.min(line + 16, end); i++) hex.push((bytes[i] ?? 0).toString(16).padStart(2, "0"))
    lines.push(`${(line - start).toString(16).padStart(4, "0")}  ${hex.join(" ")}`)
  }
  return lines.join("\n")
}
