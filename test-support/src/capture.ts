/**
 * Minimal libpcap writing for oracle tests, written independently of
 * `@netstack/wire`'s writer so a tool reading the file checks our packets,
 * not our pcap code. Also runs a tool over packets via a temporary file.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** LINKTYPE_ETHERNET. */
export const LINKTYPE_ETHERNET = 1
/** LINKTYPE_IPV4: raw IPv4 packets, no link header. */
export const LINKTYPE_IPV4 = 228
/** LINKTYPE_IPV6: raw IPv6 packets, no link header. */
export const LINKTYPE_IPV6 = 229

/** A little-endian microsecond pcap of `packets`, the i-th stamped i microseconds after the epoch. */
export const rawPcap = (packets: ReadonlyArray<Uint8Array>, linkType: number): Uint8Array => {
  const out = new Uint8Array(24 + packets.reduce((n, p) => n + 16 + p.length, 0))
  const view = new DataView(out.buffer)
  view.setUint32(0, 0xa1b2c3d4, true)
  view.setUint16(4, 2, true)
  view.setUint16(6, 4, true)
  view.setUint32(16, 0x40000, true)
  view.setUint32(20, linkType, true)
  let at = 24
  packets.forEach((p, i) => {
    view.setUint32(at + 4, i, true)
    view.setUint32(at + 8, p.length, true)
    view.setUint32(at + 12, p.length, true)
    out.set(p, at + 16)
    at += 16 + p.length
  })
  return out
}

/** Writes `packets` to a temporary pcap, calls `use` with its path, and removes it. */
export const withCapture = <A>(packets: ReadonlyArray<Uint8Array>, linkType: number, use: (path: string) => A): A => {
  const dir = mkdtempSync(join(tmpdir(), "netstack-capture-"))
  try {
    const path = join(dir, "packets.pcap")
    writeFileSync(path, rawPcap(packets, linkType))
    return use(path)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
