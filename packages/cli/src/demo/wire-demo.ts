/**
 * The wire part of `netstack demo`: the frame the buffers demo built, read
 * back by the views and the frame decoder, as tcpdump would print it, and what
 * happens to the same frame cut short or corrupted.
 */
import { PacketBuffer } from "@netstack/buffers"
import { decodeFrame, formatFrame, frameToJson } from "@netstack/wire"

/** Decodes `frame` (a whole Ethernet frame) and returns the report lines. */
export const wireDemo = (frame: Uint8Array): ReadonlyArray<string> => {
  const decode = (bytes: Uint8Array) => decodeFrame(PacketBuffer.wrap(bytes.slice()))
  const decoded = decode(frame)
  const lines = ["== wire: the same frame, decoded", `  ${formatFrame(decoded)}`]
  for (const layer of decoded.layers) {
    lines.push(`  ${layer.layer.padEnd(8)} ${"checksum" in layer ? `checksum ${layer.checksum}` : ""}`.trimEnd())
  }
  const corrupted = frame.slice()
  corrupted[corrupted.length - 1] ^= 0xff
  const udp = decode(corrupted).layers.find((l) => l.layer === "udp")
  lines.push(`  one payload byte flipped: UDP checksum ${udp !== undefined && "checksum" in udp ? udp.checksum : "?"}`)
  lines.push(`  cut to 40 bytes: ${formatFrame(decode(frame.subarray(0, 40)))}`)
  lines.push(`  as JSON: ${JSON.stringify(frameToJson(decoded)).slice(0, 150)}…`)
  return lines
}
