/**
 * The buffers part of `netstack demo`: one UDP datagram built the way the
 * stack builds every packet (payload first, then each header pushed into
 * headroom), then cloned, written copy-on-write, checksummed incrementally and
 * split into fragments. Returns the lines to print, so tests can check them.
 */
import {
  BufferPool,
  finishChecksum,
  formatLayout,
  hexdump,
  internetChecksum,
  ipv4PseudoHeaderSum,
  PacketBuffer,
  sumBytes,
  sumPacket,
  updateChecksum16
} from "@netstack/buffers"

const ETHERNET_HEADER = 14
const IPV4_HEADER = 20
const UDP_HEADER = 8
const IPPROTO_UDP = 17
const SOURCE = 0x0a000001 // 10.0.0.1
const DESTINATION = 0x0a000002 // 10.0.0.2

const hex16 = (n: number): string => `0x${n.toString(16).padStart(4, "0")}`

/** Writes the IPv4, UDP and Ethernet headers of the demo datagram into `frame`'s headroom. */
const pushHeaders = (frame: PacketBuffer, log: (line: string) => void): void => {
  const payloadLength = frame.length
  frame.push(UDP_HEADER)
  frame.resetTransportHeader()
  frame.setUint16(0, 40000) // source port
  frame.setUint16(2, 7) // destination port (echo)
  frame.setUint16(4, UDP_HEADER + payloadLength)
  frame.setUint16(6, 0)
  const udpSum = sumBytes(frame.bytes, frame.data, frame.tail, ipv4PseudoHeaderSum(SOURCE, DESTINATION, IPPROTO_UDP, UDP_HEADER + payloadLength))
  frame.setUint16(6, finishChecksum(udpSum) || 0xffff) // RFC 768: a computed zero is sent as all ones
  log(`  push UDP header   ${formatLayout(frame)}`)

  frame.push(IPV4_HEADER)
  frame.resetNetworkHeader()
  frame.setUint8(0, 0x45) // version 4, IHL 5
  frame.setUint8(1, 0)
  frame.setUint16(2, IPV4_HEADER + UDP_HEADER + payloadLength)
  frame.setUint16(4, 0x1234) // identification
  frame.setUint16(6, 0x4000) // DF
  frame.setUint8(8, 64) // TTL
  frame.setUint8(9, IPPROTO_UDP)
  frame.setUint16(10, 0)
  frame.setUint32(12, SOURCE)
  frame.setUint32(16, DESTINATION)
  frame.setUint16(10, internetChecksum(frame.bytes, frame.data, frame.data + IPV4_HEADER))
  log(`  push IPv4 header  ${formatLayout(frame)}`)

  frame.push(ETHERNET_HEADER)
  frame.resetMacHeader()
  frame.setBytes(0, Uint8Array.of(0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01))
  frame.setUint16(12, 0x0800)
  log(`  push Ethernet     ${formatLayout(frame)}`)
}

/** What the buffers demo reports, and the frame it built (for the next part of the demo). */
export interface BuffersDemo {
  readonly lines: ReadonlyArray<string>
  readonly frame: Uint8Array
}

/** Runs the buffers demo: its report, one line per element, and the frame it built. */
export const buffersDemo = (): BuffersDemo => {
  const lines: Array<string> = []
  const log = (line: string): void => {
    lines.push(line)
  }
  const pool = BufferPool.make({ count: 4, size: 256 })
  const acquired = pool.acquire()
  if (!(acquired instanceof PacketBuffer)) return { lines: ["pool exhausted"], frame: new Uint8Array(0) }
  const frame = acquired

  log("== buffers: one UDP datagram, built from the payload outwards")
  frame.reserve(64)
  const payload = new TextEncoder().encode("hello, netstack")
  frame.put(payload.length)
  frame.setBytes(0, payload)
  log(`  reserve 64, put ${payload.length}  ${formatLayout(frame)}`)
  pushHeaders(frame, log)
  log(hexdump(frame.bytes, frame.data, frame.tail).replace(/^/gm, "    "))

  const ip = frame.data + ETHERNET_HEADER
  log(`  IPv4 header checksum ${hex16(frame.bytes[ip + 10] * 256 + frame.bytes[ip + 11])}; ` +
    `sum over the header verifies to ${hex16(internetChecksum(frame.bytes, ip, ip + IPV4_HEADER))} (0x0000 = valid)`)
  const udp = ip + IPV4_HEADER
  const udpLength = frame.tail - udp
  const udpCheck = internetChecksum(frame.bytes, udp, frame.tail, ipv4PseudoHeaderSum(SOURCE, DESTINATION, IPPROTO_UDP, udpLength))
  log(`  UDP checksum with pseudo-header verifies to ${hex16(udpCheck)} (0x0000 = valid)`)

  log("== clone: shared bytes, own offsets")
  const built = frame.toUint8Array()
  const clone = frame.clone()
  if (!(clone instanceof PacketBuffer)) return { lines, frame: built }
  clone.pull(ETHERNET_HEADER)
  log(`  original ${formatLayout(frame)}`)
  log(`  clone    ${formatLayout(clone)}   (Ethernet header pulled)`)

  log("== copy-on-write: the clone decrements the TTL")
  const oldTtlWord = clone.bytes[clone.data + 8] * 256 + clone.bytes[clone.data + 9]
  const oldChecksum = clone.bytes[clone.data + 10] * 256 + clone.bytes[clone.data + 11]
  clone.setUint8(8, 63)
  const newTtlWord = clone.bytes[clone.data + 8] * 256 + clone.bytes[clone.data + 9]
  const incremental = updateChecksum16(oldChecksum, oldTtlWord, newTtlWord)
  clone.setUint16(10, 0)
  const recomputed = internetChecksum(clone.bytes, clone.data, clone.data + IPV4_HEADER)
  clone.setUint16(10, incremental)
  log(`  clone    ${formatLayout(clone)}   TTL ${clone.bytes[clone.data + 8]}`)
  log(`  original ${formatLayout(frame)}   TTL ${frame.bytes[ip + 8]} (untouched)`)
  log(`  RFC 1624 incremental checksum ${hex16(incremental)}, full recomputation ${hex16(recomputed)}`)

  log("== fragments: the payload as three scatter-gather pages")
  const paged = PacketBuffer.alloc(64)
  paged.reserve(64)
  paged.addFragmentBytes(payload.slice(0, 5))
  paged.addFragmentBytes(payload.slice(5, 10))
  paged.addFragmentBytes(payload.slice(10))
  const acrossFragments = finishChecksum(sumPacket(paged) ?? 0)
  const linear = internetChecksum(payload)
  log(`  ${formatLayout(paged)}`)
  log(`  checksum across fragments ${hex16(acrossFragments)}, over the linear payload ${hex16(linear)}`)
  paged.linearize()
  log(`  linearized: ${formatLayout(paged)}`)

  clone.release()
  frame.release()
  const stats = pool.stats()
  log("== pool")
  log(`  capacity=${stats.capacity} inUse=${stats.inUse} highWater=${stats.highWater} acquired=${stats.acquired} ` +
    `released=${stats.released} exhausted=${stats.exhausted} doubleReleases=${stats.doubleReleases}`)
  return { lines, frame: built }
}
