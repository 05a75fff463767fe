/**
 * GRO, generic receive offload: merges the in-order TCP segments of one flow
 * in a NAPI batch into one super-packet, after the kernel's `dev_gro_receive`
 * (net/core/gro.c), `inet_gro_receive` (net/ipv4/af_inet.c),
 * `ipv6_gro_receive` (net/ipv6/ip6_offload.c), `tcp_gro_receive` and
 * `tcp_gro_complete` (net/ipv4/tcp_offload.c). The merged packet is what
 * software GSO (`segmentTcp`) cuts back into the same segments, byte for byte.
 *
 * ## Order and ownership
 *
 * `receive` takes a batch (each packet an Ethernet frame at `data`) and
 * returns it with mergeable segments merged: a merged packet takes its first
 * segment's place, every other packet keeps its place, and nothing is
 * dropped or duplicated. Packets of one flow (same addresses, ports, link
 * header, IP version and IPv6 flow label) stay in their order: a packet of
 * the flow that cannot be merged ends the flow's merge, and later segments
 * start a new one, as Linux flushes the held packet. The engine owns the
 * batch's packets while it runs: merged segments (the donors) are released
 * once their payload is attached to the first one as fragments (sharing
 * their storage, reference counted); the returned packets are the caller's.
 *
 * ## Merge rules (`tcp_gro_receive`, `inet_gro_receive`, `ipv6_gro_receive`)
 *
 * A segment joins the flow's merge when: it continues the sequence (its
 * sequence number is the previous segment's plus its payload length); ACK
 * number, window, urgent pointer, data offset, reserved bits, the flags other
 * than PSH, and every option byte equal the first segment's; TTL / hop limit,
 * TOS / traffic class and DF equal; IPv4 ids are consecutive (first id + n),
 * or, with DF set, all equal (decided at the second segment as Linux's
 * `ip_fixedid`; `GroOptions.mergeFixedIds`); neither carries SYN, FIN, RST,
 * URG or CWR; the payload is non-empty and no larger than the first
 * segment's (a smaller one is merged and ends the merge); the checksum is
 * valid. A PSH segment is merged and ends the merge; a PSH segment never
 * starts one. A merge holds at most 64 KiB (the IP length field must hold
 * it: IPv4 total length, IPv6 payload length) and at most `MAX_FRAGMENTS`
 * fragments. Mergeable packets are exactly sized (no link padding after the
 * IP datagram), not IP fragments, IPv4 without options and with a valid
 * header checksum (Linux: `*(u8 *)iph != 0x45`, `ip_fast_csum`), IPv6 with TCP
 * as Next Header (no extension headers), one 802.1Q tag at most, and not
 * already GSO packets.
 *
 * Checksums: `meta.checksum` `Unnecessary` (the device verified it) or
 * `Partial` (locally generated, as Linux treats `CHECKSUM_PARTIAL`) is
 * trusted; otherwise (`None`, `Complete`) the TCP checksum is verified in
 * software, lazily (only for a segment that would merge), and a failing
 * segment is not merged (and counted).
 *
 * ## The merged packet (`tcp_gro_complete`, `inet_gro_complete`)
 *
 * The first segment's buffer, with the others' payloads appended as
 * fragments; IPv4 total length and header checksum / IPv6 payload length
 * updated; PSH set if the last merged segment had it; the TCP checksum field
 * set to the pseudo-header sum over the new length (as Linux
 * `tcp4_gro_complete`, so the packet is a valid partial-checksum
 * super-packet); `meta.gsoSize` = the first segment's payload length,
 * `meta.gsoType` tcpv4/tcpv6, `meta.gsoSegments` = segments merged,
 * `meta.checksum = Unnecessary`. A flow of one segment leaves it untouched.
 * Every merge is flushed at the end of the batch.
 *
 * ## Deliberate differences from Linux
 *
 * - Order: Linux passes unmergeable packets up at once and held merges at
 *   the flush, so they can overtake; here the batch order is kept.
 * - CWR on a first segment and FIN on a last one end the merge before them
 *   (Linux holds a CWR head and merges a FIN segment as the last).
 * - The urgent pointer must be equal too (so that GSO gives it back).
 * - No `frag_list`: a merge stops at `MAX_FRAGMENTS` fragments.
 * - `CHECKSUM_COMPLETE` sums are not used: such segments are verified in
 *   software like `None` ones.
 */
import {
  ChecksumState,
  finishChecksum,
  foldSum,
  internetChecksum,
  ipv4PseudoHeaderSum,
  MAX_FRAGMENTS,
  type PacketBuffer,
  sumBytes,
  sumPacket
} from "@netstack/buffers"
import { countStorageRuns, forEachStorageRun } from "@netstack/device"
import {
  ETHERNET_HEADER_LENGTH,
  EtherTypes,
  IPV4_HEADER_LENGTH,
  IPV6_HEADER_LENGTH,
  isVlanEtherType,
  readU16,
  readU32,
  TCP_HEADER_LENGTH,
  TCP_PROTOCOL,
  TcpFlags,
  VLAN_TAG_LENGTH,
  writeU16
} from "@netstack/wire"

/** GRO settings. */
export interface GroOptions {
  /**
   * Merges open at once (default 64; Linux holds `MAX_GRO_SKBS` = 8 per
   * hash bucket). Opening one more closes the oldest; closing early only
   * loses merging, never order.
   */
  readonly maxFlows?: number
  /**
   * Whether DF IPv4 segments with equal ids merge (Linux `ip_fixedid`;
   * default true). Software GSO then gives them ids `id + i` unless told
   * `fixedId` (RFC 6864 §4.1: the id of an atomic datagram carries nothing).
   */
  readonly mergeFixedIds?: boolean
}

/** A snapshot of the GRO counters. */
export interface GroStats {
  /** Batches received. */
  readonly batches: number
  /** Packets in. */
  readonly packetsIn: number
  /** Packets out (in minus merged away). */
  readonly packetsOut: number
  /** Segments merged into an earlier one (their descriptors released). */
  readonly mergedAway: number
  /** Merged packets flushed (flows of two segments or more). */
  readonly flowsFlushed: number
  /** Segments whose TCP checksum failed software verification (passed up unmerged). */
  readonly checksumFailures: number
}

const MAX_IP_LENGTH = 0xffff
/** Flags that keep a segment out of any merge (tcp_gro_receive: the flush flags but PSH, plus CWR). */
const NEVER_MERGED = TcpFlags.syn | TcpFlags.fin | TcpFlags.rst | TcpFlags.urg | TcpFlags.cwr

/** What classification found about one packet of the batch. Reused across batches. */
class Segment {
  packet: PacketBuffer | undefined = undefined
  /** Whether the packet has a flow key (TCP over IPv4 or IPv6, headers parseable). */
  keyed = false
  /** Whether it may be merged into a flow (exact length, no IP options or fragments, flags allowed, payload > 0). */
  mergeable = false
  /** Merged into an earlier segment (its descriptor released). */
  absorbed = false
  /** TCP checksum: 0 not checked yet, 1 valid, -1 invalid. */
  checksum = 0
  hash = 0
  version = 4
  /** Offsets from `packet.data`. */
  ip = 0
  tcp = 0
  tcpLength = 0
  payload = 0
  payloadLength = 0
  seq = 0
  flags = 0
}

/** One open merge: the first segment and what the next must be. */
class Flow {
  head: Segment = new Segment()
  /** Segments merged, the head included. */
  count = 1
  nextSeq = 0
  /** Payload bytes in the merge. */
  payload = 0
  /** The largest payload the merge may hold (the IP length field's limit). */
  limit = 0
  /** The last segment merged had PSH. */
  psh = false
  /** IPv4 ids: 0 undecided, 1 incrementing, 2 fixed (Linux `ip_fixedid`). */
  idMode = 0
}

/** Whether `a[i, i + n)` equals `b[j, j + n)`. */
const equalBytes = (a: Uint8Array, i: number, b: Uint8Array, j: number, n: number): boolean => {
  for (let k = 0; k < n; k++) if (a[i + k] !== b[j + k]) return false
  return true
}

/** Mixes a 32-bit word into a hash (murmur3-style). */
const mix = (h: number, word: number): number => {
  const x = Math.imul(h ^ word, 0x85ebca6b)
  return x ^ (x >>> 13)
}

/** The TCP pseudo-header sum (RFC 9293 §3.1, RFC 8200 §8.1) of segment `s` for a TCP length of `length`. */
const pseudoHeaderSum = (s: Segment, bytes: Uint8Array, ip: number, length: number): number =>
  s.version === 4
    ? ipv4PseudoHeaderSum(readU32(bytes, ip + 12), readU32(bytes, ip + 16), TCP_PROTOCOL, length)
    : sumBytes(bytes, ip + 8, ip + IPV6_HEADER_LENGTH, foldSum(TCP_PROTOCOL + length))

/**
 * Fills `s` from `packet`: the flow key's hash, the header offsets, and
 * whether it can be merged. Makes the header chain linear (`mayPull`), which
 * moves no byte of the packet's content.
 */
const classify = (s: Segment, packet: PacketBuffer): void => {
  s.packet = packet
  s.keyed = false
  s.mergeable = false
  s.absorbed = false
  s.checksum = 0
  if (packet.isReleased) return
  const length = packet.length
  if (length < ETHERNET_HEADER_LENGTH || (packet.headLength < ETHERNET_HEADER_LENGTH && packet.mayPull(ETHERNET_HEADER_LENGTH) !== undefined)) {
    return
  }
  let ip = ETHERNET_HEADER_LENGTH
  let etherType = readU16(packet.bytes, packet.data + 12)
  if (isVlanEtherType(etherType)) {
    ip += VLAN_TAG_LENGTH
    if (length < ip || (packet.headLength < ip && packet.mayPull(ip) !== undefined)) return
    etherType = readU16(packet.bytes, packet.data + ETHERNET_HEADER_LENGTH + 2)
  }
  let tcp: number
  let ipEnd: number
  let mergeable: boolean
  if (etherType === EtherTypes.ipv4) {
    if (length < ip + IPV4_HEADER_LENGTH || (packet.headLength < ip + IPV4_HEADER_LENGTH && packet.mayPull(ip + IPV4_HEADER_LENGTH) !== undefined)) {
      return
    }
    const b = packet.bytes
    const at = packet.data + ip
    const ihl = (b[at] & 0x0f) << 2
    const totalLength = readU16(b, at + 2)
    // RFC 791 §3.1; not a fragment (its TCP header, if any, is not the segment's).
    if (b[at] >>> 4 !== 4 || ihl < IPV4_HEADER_LENGTH || b[at + 9] !== TCP_PROTOCOL || (readU16(b, at + 6) & 0x3fff) !== 0) return
    if (totalLength < ihl + TCP_HEADER_LENGTH || ip + totalLength > length) return
    tcp = ip + ihl
    ipEnd = ip + totalLength
    // inet_gro_receive: `*(u8 *)iph == 0x45`, exact length, no bit but DF in the flags, valid header checksum.
    mergeable = ihl === IPV4_HEADER_LENGTH && ipEnd === length && (b[at + 6] & 0x80) === 0 &&
      finishChecksum(sumBytes(b, at, at + IPV4_HEADER_LENGTH)) === 0
  } else if (etherType === EtherTypes.ipv6) {
    if (length < ip + IPV6_HEADER_LENGTH || (packet.headLength < ip + IPV6_HEADER_LENGTH && packet.mayPull(ip + IPV6_HEADER_LENGTH) !== undefined)) {
      return
    }
    const b = packet.bytes
    const at = packet.data + ip
    const payloadLength = readU16(b, at + 4)
    // RFC 8200 §3: TCP right after the fixed header (no extension headers).
    if (b[at] >>> 4 !== 6 || b[at + 6] !== TCP_PROTOCOL) return
    if (payloadLength < TCP_HEADER_LENGTH || ip + IPV6_HEADER_LENGTH + payloadLength > length) return
    tcp = ip + IPV6_HEADER_LENGTH
    ipEnd = tcp + payloadLength
    mergeable = ipEnd === length
  } else {
    return
  }
  if (packet.headLength < tcp + TCP_HEADER_LENGTH && packet.mayPull(tcp + TCP_HEADER_LENGTH) !== undefined) return
  const tcpLength = (packet.bytes[packet.data + tcp + 12] >>> 4) << 2
  if (tcpLength < TCP_HEADER_LENGTH || tcp + tcpLength > ipEnd) return
  if (packet.headLength < tcp + tcpLength && packet.mayPull(tcp + tcpLength) !== undefined) return
  const b = packet.bytes
  const d = packet.data
  s.version = etherType === EtherTypes.ipv4 ? 4 : 6
  s.ip = ip
  s.tcp = tcp
  s.tcpLength = tcpLength
  s.payload = tcp + tcpLength
  s.payloadLength = ipEnd - s.payload
  s.seq = readU32(b, d + tcp + 4)
  s.flags = b[d + tcp + 13]
  // The flow key's hash: IP version, ports, addresses (the full key is compared in `sameFlow`).
  let h = mix(s.version, readU32(b, d + tcp))
  if (s.version === 4) {
    h = mix(mix(h, readU32(b, d + ip + 12)), readU32(b, d + ip + 16))
  } else {
    for (let k = 8; k < IPV6_HEADER_LENGTH; k += 4) h = mix(h, readU32(b, d + ip + k))
  }
  s.hash = h
  s.keyed = true
  s.mergeable = mergeable && s.payloadLength > 0 && (s.flags & NEVER_MERGED) === 0 && packet.meta.gsoType === "none"
}

/**
 * Whether `a` and `b` are the same flow: link header (MAC addresses,
 * EtherTypes, tag), stripped tag and input interface (`dev_gro_receive`'s
 * `gro_list_prepare`), addresses (and for IPv6 version and flow label,
 * `ipv6_gro_receive`), and ports.
 */
const sameFlow = (a: Segment, b: Segment): boolean => {
  if (a.hash !== b.hash || a.version !== b.version || a.ip !== b.ip) return false
  const p = a.packet
  const q = b.packet
  if (p === undefined || q === undefined) return false
  if (p.meta.vlanTag !== q.meta.vlanTag || p.meta.inputInterface !== q.meta.inputInterface) return false
  const x = p.bytes
  const y = q.bytes
  const i = p.data
  const j = q.data
  if (!equalBytes(x, i, y, j, a.ip)) return false
  if (a.version === 4) {
    if (!equalBytes(x, i + a.ip + 12, y, j + b.ip + 12, 8)) return false
  } else {
    if (((readU32(x, i + a.ip) ^ readU32(y, j + b.ip)) & 0xf00fffff) !== 0) return false
    if (!equalBytes(x, i + a.ip + 8, y, j + b.ip + 8, 32)) return false
  }
  return equalBytes(x, i + a.tcp, y, j + b.tcp, 4)
}

/**
 * The GRO engine of one NAPI context: `receive` merges a batch. Keeps its
 * scratch between batches and counts what it did. Single-threaded, like the
 * softirq that runs it.
 */
export class GroEngine {
  private readonly maxFlows: number
  private readonly mergeFixedIds: boolean
  private readonly segments: Array<Segment> = []
  private readonly open: Array<Flow> = []
  private readonly spareFlows: Array<Flow> = []
  private batches = 0
  private packetsIn = 0
  private packetsOut = 0
  private mergedAway = 0
  private flowsFlushed = 0
  private checksumFailures = 0

  private constructor(options: GroOptions) {
    const maxFlows = options.maxFlows ?? 64
    this.maxFlows = Number.isInteger(maxFlows) && maxFlows >= 1 ? maxFlows : 64
    this.mergeFixedIds = options.mergeFixedIds ?? true
  }

  /** An engine with `options` (defaults: 64 open merges, fixed-id merging on). */
  static make(options: GroOptions = {}): GroEngine {
    return new GroEngine(options)
  }

  /**
   * Merges `batch` (see the module comment): returns the packets in input
   * order, each merged packet at its first segment's place. Takes ownership
   * of the batch's packets; the returned ones are the caller's. A plain
   * function property, so it can be passed as the driver's GRO stage.
   */
  readonly receive = (batch: ReadonlyArray<PacketBuffer>): ReadonlyArray<PacketBuffer> => {
    const n = batch.length
    this.batches++
    this.packetsIn += n
    while (this.segments.length < n) this.segments.push(new Segment())
    for (let i = 0; i < n; i++) {
      const s = this.segments[i]
      classify(s, batch[i])
      if (!s.keyed) continue
      const flow = this.find(s)
      if (flow !== undefined) {
        if (this.merge(flow, s)) {
          if (flow.psh || s.payloadLength < flow.head.payloadLength) this.close(flow)
          continue
        }
        // tcp_gro_receive: a packet of the flow that does not merge flushes the held one.
        this.close(flow)
      }
      // A PSH segment is passed up at once (tcp_gro_receive's flush flags), never held.
      if (s.mergeable && (s.flags & TcpFlags.psh) === 0) this.openFlow(s)
    }
    while (this.open.length > 0) this.close(this.open[this.open.length - 1])
    const out: Array<PacketBuffer> = []
    for (let i = 0; i < n; i++) {
      const s = this.segments[i]
      if (!s.absorbed) out.push(batch[i])
      s.packet = undefined
    }
    this.packetsOut += out.length
    return out
  }

  /** A snapshot of the counters. */
  stats(): GroStats {
    return {
      batches: this.batches,
      packetsIn: this.packetsIn,
      packetsOut: this.packetsOut,
      mergedAway: this.mergedAway,
      flowsFlushed: this.flowsFlushed,
      checksumFailures: this.checksumFailures
    }
  }

  /** The open merge of `s`'s flow, if any. */
  private find(s: Segment): Flow | undefined {
    for (const flow of this.open) if (sameFlow(flow.head, s)) return flow
    return undefined
  }

  /** Opens a merge headed by `s`, closing the oldest when `maxFlows` are open. */
  private openFlow(s: Segment): void {
    if (this.open.length >= this.maxFlows) this.close(this.open[0])
    const flow = this.spareFlows.pop() ?? new Flow()
    flow.head = s
    flow.count = 1
    flow.nextSeq = (s.seq + s.payloadLength) >>> 0
    flow.payload = s.payloadLength
    flow.limit = MAX_IP_LENGTH - s.tcpLength - (s.version === 4 ? IPV4_HEADER_LENGTH : 0)
    flow.psh = false
    flow.idMode = 0
    this.open.push(flow)
  }

  /** Whether `s`'s TCP checksum is valid: trusted from the device, or verified in software once. */
  private checksumValid(s: Segment): boolean {
    if (s.checksum !== 0) return s.checksum === 1
    const p = s.packet
    if (p === undefined) return false
    const state = p.meta.checksum._tag
    let valid: boolean
    if (state === "Unnecessary" || state === "Partial") {
      valid = true
    } else {
      const length = s.tcpLength + s.payloadLength
      const sum = sumPacket(p, s.tcp, length, pseudoHeaderSum(s, p.bytes, p.data + s.ip, length))
      valid = sum !== undefined && finishChecksum(sum) === 0
      if (!valid) this.checksumFailures++
    }
    s.checksum = valid ? 1 : -1
    return valid
  }

  /** Merges `s` into `flow` if the rules allow (module comment); true when merged. */
  private merge(flow: Flow, s: Segment): boolean {
    const h = flow.head
    const hp = h.packet
    const sp = s.packet
    if (!s.mergeable || hp === undefined || sp === undefined) return false
    // tcp_gro_receive: next in sequence, no larger than the first segment.
    if (s.seq !== flow.nextSeq || s.payloadLength > h.payloadLength) return false
    if (s.tcpLength !== h.tcpLength || flow.payload + s.payloadLength > flow.limit) return false
    const x = hp.bytes
    const y = sp.bytes
    const ht = hp.data + h.tcp
    const st = sp.data + s.tcp
    // ACK number (8..11), data offset and reserved bits (12), flags but PSH (13), window (14..15).
    if (!equalBytes(x, ht + 8, y, st + 8, 5) || ((x[ht + 13] ^ y[st + 13]) & ~TcpFlags.psh) !== 0) return false
    if (!equalBytes(x, ht + 14, y, st + 14, 2)) return false
    // Urgent pointer (18..19; Linux does not compare it: kept so that GSO restores it) and every option byte.
    if (!equalBytes(x, ht + 18, y, st + 18, h.tcpLength - 18)) return false
    const hi = hp.data + h.ip
    const si = sp.data + s.ip
    let idMode = flow.idMode
    if (h.version === 4) {
      // inet_gro_flush: TOS, TTL and DF equal; ids consecutive, or all equal with DF.
      if (x[hi + 1] !== y[si + 1] || x[hi + 8] !== y[si + 8] || x[hi + 6] !== y[si + 6]) return false
      const offset = (readU16(y, si + 4) - readU16(x, hi + 4)) & 0xffff
      if (idMode === 0) {
        if (offset === 1) idMode = 1
        else if (offset === 0 && (x[hi + 6] & 0x40) !== 0 && this.mergeFixedIds) idMode = 2
        else return false
      } else if (offset !== (idMode === 2 ? 0 : flow.count & 0xffff)) {
        return false
      }
    } else {
      // ipv6_gro_receive: traffic class and hop limit equal (version and flow label are the flow key).
      if (((readU32(x, hi) ^ readU32(y, si)) & 0x0ff00000) !== 0 || x[hi + 7] !== y[si + 7]) return false
    }
    const runs = countStorageRuns(sp, s.payload, s.payloadLength)
    if (runs < 0 || hp.fragments.length + runs > MAX_FRAGMENTS) return false
    if (!this.checksumValid(h) || !this.checksumValid(s)) return false
    // skb_gro_receive: the payload joins the head as fragments over the donor's storage.
    const before = hp.length
    let ok = true
    forEachStorageRun(sp, s.payload, s.payloadLength, (storage, start, length) => {
      if (ok && hp.addFragment(storage, start, length) !== undefined) ok = false
    })
    if (!ok) {
      hp.trim(before)
      return false
    }
    sp.release()
    s.absorbed = true
    flow.idMode = idMode
    flow.count++
    flow.payload += s.payloadLength
    flow.nextSeq = (s.seq + s.payloadLength) >>> 0
    flow.psh = (s.flags & TcpFlags.psh) !== 0
    this.mergedAway++
    return true
  }

  /** Closes `flow`: completes its head when segments were merged into it. */
  private close(flow: Flow): void {
    const index = this.open.indexOf(flow)
    if (index >= 0) this.open.splice(index, 1)
    if (flow.count > 1) this.complete(flow)
    this.spareFlows.push(flow)
  }

  /** tcp_gro_complete / inet_gro_complete / ipv6_gro_complete: the merged packet's headers and metadata. */
  private complete(flow: Flow): void {
    const h = flow.head
    const p = h.packet
    if (p === undefined) return
    const bytes = p.writableBytes()
    if (!(bytes instanceof Uint8Array)) return
    const ip = p.data + h.ip
    const tcp = p.data + h.tcp
    const tcpLength = h.tcpLength + flow.payload
    if (h.version === 4) {
      writeU16(bytes, ip + 2, IPV4_HEADER_LENGTH + tcpLength)
      writeU16(bytes, ip + 10, 0)
      writeU16(bytes, ip + 10, internetChecksum(bytes, ip, ip + IPV4_HEADER_LENGTH))
    } else {
      writeU16(bytes, ip + 4, tcpLength)
    }
    if (flow.psh) bytes[tcp + 13] |= TcpFlags.psh
    writeU16(bytes, tcp + 16, pseudoHeaderSum(h, bytes, ip, tcpLength))
    const meta = p.meta
    meta.gsoSize = h.payloadLength
    meta.gsoType = h.version === 4 ? "tcpv4" : "tcpv6"
    meta.gsoSegments = flow.count
    meta.checksum = ChecksumState.unnecessary
    this.flowsFlushed++
  }
}
