/**
 * Software GSO for TCP: cuts a TSO super-packet into wire-sized segments, as
 * the kernel's `tcp_gso_segment` (net/ipv4/tcp_offload.c) under
 * `inet_gso_segment` (net/ipv4/af_inet.c) / `ipv6_gso_segment`
 * (net/ipv6/ip6_offload.c) over `skb_segment` (net/core/skbuff.c). The driver
 * runs it when the NIC has no TSO; the simulated NIC runs it as its TSO
 * engine.
 *
 * ## What a super-packet is (the contract with the stack)
 *
 * `packet.data` is at the Ethernet header, optionally followed by one 802.1Q
 * (0x8100) or 802.1ad (0x88a8) tag, then:
 * - IPv4 (`meta.gsoType === "tcpv4"`): any header length (options are copied
 *   into every segment, as Linux does); not a fragment; protocol 6. The total
 *   length is either exact (IP header to the end of the packet) or 0, which
 *   means "the rest of the packet" and is how a super-packet above 64 KiB
 *   says it (Linux BIG TCP for IPv4).
 * - IPv6 (`"tcpv6"`): Next Header 6 directly; extension headers (a Hop-by-Hop
 *   Jumbo Payload included) are not supported and refused as `not-tcp`. The
 *   Payload Length is exact or 0 (BIG TCP, after the stack dropped the jumbo
 *   option).
 * - TCP with options, then the payload, in the linear area and/or fragments.
 *
 * `meta.gsoSize` is the MSS: payload bytes per segment. The TCP checksum field
 * may hold anything (the pseudo-header sum of `CHECKSUM_PARTIAL`, or a full
 * checksum): each segment's is computed afresh from the addresses.
 *
 * ## Segments
 *
 * Segment `i` carries a copy of the headers and payload bytes
 * `[i × mss, min((i + 1) × mss, payload))`; a super-packet carrying no more
 * than one MSS (even none) gives one segment. Per RFC 9293 and Linux:
 * sequence number `seq + i × mss`; CWR kept on the first segment only
 * (RFC 3168 §6.1.2: it marks the first new data after a window reduction);
 * FIN and PSH kept on the last only; IPv4 total length, identification
 * `id + i` (mod 2^16; Linux without `SKB_GSO_TCP_FIXEDID`, see
 * `GsoOptions.fixedId`) and header checksum recomputed; IPv6 Payload Length
 * set. The urgent pointer is copied unchanged (as Linux). The TCP checksum is
 * computed in full, or left partial (pseudo-header sum in the field,
 * `meta.checksum = Partial(transport header, 16)`) for a NIC with transmit
 * checksum offload. Segments have `gsoType "none"` and the rest of the
 * metadata copied, header offsets set to their own layout.
 *
 * Payload bytes are not copied: each segment's linear area holds only its
 * headers (all segments' headers share one allocation) and its payload is a
 * list of fragments over the super-packet's storage (linear area and
 * fragments), reference counted. Only a segment whose payload would span more
 * than `MAX_FRAGMENTS` runs gets a private copy.
 *
 * ## Ownership
 *
 * `segmentTcp` neither changes nor releases its input: the caller keeps it
 * and releases it when done (the segments hold their own references on the
 * storage they share). `segmentIfNeeded` consumes its input on success.
 *
 * ## Deliberate differences from Linux
 *
 * - Each segment's TCP checksum starts from a pseudo-header sum computed from
 *   the addresses, not from the super-packet's checksum field adjusted by
 *   the length difference (`tcp_gso_segment`'s `delta`), so a super-packet
 *   whose field holds a full checksum (not `CHECKSUM_PARTIAL`) works too.
 * - A super-packet of one MSS or less still gives a (fresh) segment, where
 *   Linux returns no list and sends the original.
 * - No `frag_list`; a segment whose payload spans more than `MAX_FRAGMENTS`
 *   runs is copied.
 */
import {
  ChecksumState,
  finishChecksum,
  foldSum,
  internetChecksum,
  ipv4PseudoHeaderSum,
  MAX_FRAGMENTS,
  PacketBuffer,
  sumBytes,
  sumPacket,
  UNSET_OFFSET
} from "@netstack/buffers"
import {
  ETHERNET_HEADER_LENGTH,
  EtherTypes,
  headerDefects,
  IPV4_HEADER_LENGTH,
  IPV6_HEADER_LENGTH,
  isHeaderDefect,
  isVlanEtherType,
  readU16,
  readU32,
  TCP_HEADER_LENGTH,
  TCP_PROTOCOL,
  TcpFlags,
  VLAN_TAG_LENGTH,
  writeU16,
  writeU32
} from "@netstack/wire"
import { countStorageRuns, forEachStorageRun } from "./runs.ts"

/**
 * Why a packet could not be segmented (`gso.<reason>`, preallocated):
 * - `not-tcp-gso`: `meta.gsoType` is not `"tcpv4"` or `"tcpv6"`;
 * - `bad-gso-size`: `meta.gsoSize` is not a positive integer, a segment
 *   would not fit the IP length field (IPv4 total length, IPv6 payload length),
 *   or the packet would become more than 65,535 segments (`GSO_MAX_SEGS`);
 * - `released`: the buffer was released;
 * - `truncated`: the packet ends inside the Ethernet, VLAN, IP or TCP header;
 * - `unsupported-ethertype`: neither IPv4 nor IPv6 after at most one tag;
 * - `gso-type-mismatch`: the EtherType is not the IP version `gsoType` says;
 * - `bad-ip-header`: wrong IP version, or an IPv4 header length below 20;
 * - `bad-ip-length`: the IP length field is neither exact nor 0;
 * - `ip-fragment`: IPv4 MF or a fragment offset is set;
 * - `not-tcp`: the IPv4 protocol or IPv6 Next Header is not TCP (IPv6 extension headers included);
 * - `bad-tcp-header`: a TCP data offset below 5.
 */
export const GsoDefect = headerDefects("gso", [
  "not-tcp-gso",
  "bad-gso-size",
  "released",
  "truncated",
  "unsupported-ethertype",
  "gso-type-mismatch",
  "bad-ip-header",
  "bad-ip-length",
  "ip-fragment",
  "not-tcp",
  "bad-tcp-header"
])
/** A GSO defect. */
export type GsoDefect = (typeof GsoDefect)[keyof typeof GsoDefect]

/** True for a `GsoDefect` (any other value, a segment list included, is not one). */
export const isGsoDefect = (u: unknown): u is GsoDefect => isHeaderDefect(u) && u.header === "gso"

/** How `segmentTcp` finishes each segment. */
export interface GsoOptions {
  /**
   * `"full"`: the TCP checksum is computed in software. `"partial"`: the
   * field holds the pseudo-header sum and `meta.checksum` is `Partial`, for a
   * NIC with transmit checksum offload (or `resolvePartialChecksum`).
   */
  readonly checksum: "full" | "partial"
  /**
   * Give every IPv4 segment the super-packet's identification instead of
   * `id + i` (Linux `SKB_GSO_TCP_FIXEDID`, for DF datagrams whose ids were
   * fixed, RFC 6864 §4.1). Default false.
   */
  readonly fixedId?: boolean
  /**
   * Where the super-packet starts: at its Ethernet header (`"link"`, the
   * default, as a driver sees it) or at its IP header (`"network"`, as IP
   * output sees it: Linux's `ip_finish_output_gso`, which segments in
   * software before fragmenting segments too large for the route).
   */
  readonly from?: "link" | "network"
}

/** Headroom each segment gets: the super-packet's, up to this. */
const MAX_SEGMENT_HEADROOM = 128
/** Longest header chain: Ethernet 14 + one tag 4 + IPv4 60 (IPv6 40) + TCP 60. */
const MAX_HEADER_CHAIN = 14 + 4 + 60 + 60
const TCP_CHECKSUM_FIELD = 16
const MAX_IP_LENGTH = 0xffff
/** Most segments one super-packet may become (the kernel's `GSO_MAX_SEGS`). */
const MAX_SEGMENTS = 0xffff

/** Scratch for the header chain (single-threaded; copied out before returning). */
const scratch = new Uint8Array(MAX_HEADER_CHAIN)

/** Where the headers of a super-packet are, from `packet.data`. */
interface Layout {
  readonly version: 4 | 6
  /** Offset of the IP header (the link-layer length). */
  readonly ip: number
  /** Offset of the TCP header. */
  readonly tcp: number
  /** TCP header length. */
  readonly tcpLength: number
  /** Offset of the payload: the length of the header chain. */
  readonly payload: number
}

/** Parses the header chain copied into `scratch` (`available` bytes of it) for `gsoType`. */
const parseLayout = (packetLength: number, available: number, version: 4 | 6, from: "link" | "network"): Layout | GsoDefect => {
  const b = scratch
  let ip = 0
  let etherType: number = version === 4 ? EtherTypes.ipv4 : EtherTypes.ipv6
  if (from === "link") {
    if (available < ETHERNET_HEADER_LENGTH) return GsoDefect.truncated
    ip = ETHERNET_HEADER_LENGTH
    etherType = readU16(b, 12)
  }
  if (from === "link" && isVlanEtherType(etherType)) {
    // IEEE 802.1Q-2018 §9.6: TCI then the inner EtherType.
    if (available < ETHERNET_HEADER_LENGTH + VLAN_TAG_LENGTH) return GsoDefect.truncated
    etherType = readU16(b, ETHERNET_HEADER_LENGTH + 2)
    ip += VLAN_TAG_LENGTH
  }
  if (etherType !== EtherTypes.ipv4 && etherType !== EtherTypes.ipv6) return GsoDefect["unsupported-ethertype"]
  if ((etherType === EtherTypes.ipv4 ? 4 : 6) !== version) return GsoDefect["gso-type-mismatch"]
  let tcp: number
  if (version === 4) {
    // RFC 791 §3.1.
    if (available < ip + IPV4_HEADER_LENGTH) return GsoDefect.truncated
    if (b[ip] >>> 4 !== 4) return GsoDefect["bad-ip-header"]
    const ihl = (b[ip] & 0x0f) << 2
    if (ihl < IPV4_HEADER_LENGTH) return GsoDefect["bad-ip-header"]
    if (available < ip + ihl) return GsoDefect.truncated
    const totalLength = readU16(b, ip + 2)
    if (totalLength !== 0 && totalLength !== packetLength - ip) return GsoDefect["bad-ip-length"]
    if ((readU16(b, ip + 6) & 0x3fff) !== 0) return GsoDefect["ip-fragment"]
    if (b[ip + 9] !== TCP_PROTOCOL) return GsoDefect["not-tcp"]
    tcp = ip + ihl
  } else {
    // RFC 8200 §3.
    if (available < ip + IPV6_HEADER_LENGTH) return GsoDefect.truncated
    if (b[ip] >>> 4 !== 6) return GsoDefect["bad-ip-header"]
    const payloadLength = readU16(b, ip + 4)
    if (payloadLength !== 0 && payloadLength !== packetLength - ip - IPV6_HEADER_LENGTH) return GsoDefect["bad-ip-length"]
    if (b[ip + 6] !== TCP_PROTOCOL) return GsoDefect["not-tcp"]
    tcp = ip + IPV6_HEADER_LENGTH
  }
  // RFC 9293 §3.1: data offset in 32-bit words, at least 5.
  if (available < tcp + TCP_HEADER_LENGTH) return GsoDefect.truncated
  const tcpLength = (b[tcp + 12] >>> 4) << 2
  if (tcpLength < TCP_HEADER_LENGTH) return GsoDefect["bad-tcp-header"]
  if (available < tcp + tcpLength) return GsoDefect.truncated
  return { version, ip, tcp, tcpLength, payload: tcp + tcpLength }
}

/** A buffer over `bytes` with the first `headroom` bytes as headroom and the rest as linear data. */
const wrapWithHeadroom = (bytes: Uint8Array, headroom: number): PacketBuffer => {
  const buffer = PacketBuffer.wrap(bytes)
  // Cannot fail: headroom ≤ bytes.length.
  buffer.pull(headroom)
  return buffer
}

/** Adds packet bytes `[offset, offset + length)` of `source` to `target` as fragments; false (target unchanged) on failure. */
const attachPayload = (target: PacketBuffer, source: PacketBuffer, offset: number, length: number): boolean => {
  const before = target.length
  let ok = true
  forEachStorageRun(source, offset, length, (storage, start, n) => {
    if (ok && target.addFragment(storage, start, n) !== undefined) ok = false
  })
  if (!ok) target.trim(before)
  return ok
}

/**
 * Segments a TCP super-packet (see the module comment for the layout it
 * accepts and what each segment gets), after Linux `tcp_gso_segment` /
 * `inet_gso_segment` / `ipv6_gso_segment`. Returns the segments in sequence
 * order, or the defect that refuses the packet. The input is neither changed
 * nor released: the caller keeps it.
 */
export const segmentTcp = (packet: PacketBuffer, options: GsoOptions): ReadonlyArray<PacketBuffer> | GsoDefect => {
  if (packet.isReleased) return GsoDefect.released
  const meta = packet.meta
  if (meta.gsoType !== "tcpv4" && meta.gsoType !== "tcpv6") return GsoDefect["not-tcp-gso"]
  const mss = meta.gsoSize
  if (!Number.isInteger(mss) || mss <= 0) return GsoDefect["bad-gso-size"]
  const available = Math.min(packet.length, MAX_HEADER_CHAIN)
  // The headers are read through a copy, so a chain straddling fragments leaves the input untouched.
  packet.copyOut(0, available, scratch)
  const layout = parseLayout(packet.length, available, meta.gsoType === "tcpv4" ? 4 : 6, options.from ?? "link")
  if (isHeaderDefect(layout)) return layout
  const { ip, payload: headerLength, tcp, tcpLength, version } = layout
  const payloadLength = packet.length - headerLength
  const ipHeaderLength = tcp - ip
  // Each segment must fit its length field (IPv4 total length; IPv6 payload length, no jumbograms).
  const largest = Math.min(mss, payloadLength) + tcpLength + (version === 4 ? ipHeaderLength : 0)
  if (largest > MAX_IP_LENGTH) return GsoDefect["bad-gso-size"]
  const count = payloadLength === 0 ? 1 : Math.ceil(payloadLength / mss)
  if (count > MAX_SEGMENTS) return GsoDefect["bad-gso-size"]

  const template = scratch.slice(0, headerLength)
  const headroom = Math.min(packet.headroom, MAX_SEGMENT_HEADROOM)
  const seq0 = readU32(template, tcp + 4)
  const flags0 = template[tcp + 13]
  const id0 = version === 4 ? readU16(template, ip + 4) : 0
  const fixedId = options.fixedId === true
  const partial = options.checksum === "partial"
  // The pseudo-header without its length (RFC 9293 §3.1; RFC 8200 §8.1): addresses and protocol.
  const pseudoBase = version === 4
    ? ipv4PseudoHeaderSum(readU32(template, ip + 12), readU32(template, ip + 16), TCP_PROTOCOL, 0)
    : sumBytes(template, ip + 8, ip + IPV6_HEADER_LENGTH, TCP_PROTOCOL)

  /** Writes segment `i`'s headers (with `length` payload bytes) at `out[at]`. */
  const writeHeaders = (out: Uint8Array, at: number, i: number, length: number): void => {
    out.set(template, at)
    const o = at + ip
    if (version === 4) {
      // inet_gso_segment: total length, id (+ i unless fixed), header checksum (RFC 791 §3.1).
      writeU16(out, o + 2, ipHeaderLength + tcpLength + length)
      writeU16(out, o + 4, fixedId ? id0 : (id0 + i) & 0xffff)
      writeU16(out, o + 10, 0)
      writeU16(out, o + 10, internetChecksum(out, o, o + ipHeaderLength))
    } else {
      // ipv6_gso_segment: payload length.
      writeU16(out, o + 4, tcpLength + length)
    }
    const t = at + tcp
    // tcp_gso_segment: seq advances by the MSS; CWR on the first, FIN and PSH on the last only.
    writeU32(out, t + 4, seq0 + i * mss)
    let flags = flags0
    if (i > 0) flags &= ~TcpFlags.cwr
    if (i < count - 1) flags &= ~(TcpFlags.fin | TcpFlags.psh)
    out[t + 13] = flags
    const pseudo = foldSum(pseudoBase + tcpLength + length)
    if (partial) {
      writeU16(out, t + TCP_CHECKSUM_FIELD, pseudo)
    } else {
      // A TCP header is a multiple of 4 bytes, so the payload's sum adds in the same byte lane.
      writeU16(out, t + TCP_CHECKSUM_FIELD, 0)
      const data = sumPacket(packet, headerLength + i * mss, length) ?? 0
      const sum = sumBytes(out, t, t + tcpLength, foldSum(pseudo + data))
      writeU16(out, t + TCP_CHECKSUM_FIELD, finishChecksum(sum))
    }
  }

  /** Segment `i` in a storage of its own, payload copied (more runs than a packet's fragments). */
  const copiedSegment = (i: number, length: number): PacketBuffer => {
    const bytes = new Uint8Array(headroom + headerLength + length)
    writeHeaders(bytes, headroom, i, length)
    packet.copyOut(headerLength + i * mss, length, bytes, headroom + headerLength)
    return wrapWithHeadroom(bytes, headroom)
  }

  const stride = headroom + headerLength
  const slab = new Uint8Array(stride * count)
  const segments: Array<PacketBuffer> = []
  for (let i = 0; i < count; i++) {
    const start = i * mss
    const length = Math.min(mss, payloadLength - start)
    let segment: PacketBuffer
    if (countStorageRuns(packet, headerLength + start, length) <= MAX_FRAGMENTS) {
      writeHeaders(slab, i * stride + headroom, i, length)
      segment = wrapWithHeadroom(slab.subarray(i * stride, (i + 1) * stride), headroom)
      if (!attachPayload(segment, packet, headerLength + start, length)) {
        segment.release()
        segment = copiedSegment(i, length)
      }
    } else {
      segment = copiedSegment(i, length)
    }
    const m = segment.meta
    m.copyFrom(meta)
    m.gsoSize = 0
    m.gsoType = "none"
    m.gsoSegments = 0
    m.macHeader = ip === 0 ? UNSET_OFFSET : headroom
    m.networkHeader = headroom + ip
    m.transportHeader = headroom + tcp
    m.checksum = partial ? ChecksumState.partial(headroom + tcp, TCP_CHECKSUM_FIELD) : ChecksumState.none
    segments.push(segment)
  }
  // The sender's charge goes with the data (as `tcp_gso_segment` moves `skb->destructor` to the segments):
  // each segment carries its payload's share, and the super-packet, released next, none.
  const owner = meta.txOwner
  if (owner !== undefined) {
    let left = meta.txCharge
    for (let i = 0; i < count; i++) {
      const m = segments[i].meta
      const share = i === count - 1 ? left : Math.min(left, Math.min(mss, payloadLength - i * mss))
      m.txOwner = owner
      m.txCharge = share
      left -= share
    }
    meta.txOwner = undefined
    meta.txCharge = 0
  }
  return segments
}

/**
 * The frames `packet` goes out as: itself when it is not a super-packet
 * (`gsoType "none"`), else its segments (`segmentTcp`), in which case the
 * input is released. On a defect nothing is changed or released: the caller
 * still owns the packet (to drop and count it under `defect.name`).
 */
export const segmentIfNeeded = (
  packet: PacketBuffer,
  options: GsoOptions
): ReadonlyArray<PacketBuffer> | GsoDefect => {
  if (packet.meta.gsoType === "none" && !packet.isReleased) return [packet]
  const segments = segmentTcp(packet, options)
  if (isHeaderDefect(segments)) return segments
  packet.release()
  return segments
}
