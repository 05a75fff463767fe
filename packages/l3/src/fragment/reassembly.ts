/**
 * IPv4 reassembly (RFC 791 §3.2, "Fragmentation and Reassembly", with the
 * hole descriptors of RFC 815; Linux net/ipv4/ip_fragment.c and
 * net/ipv4/inet_fragment.c).
 *
 * Fragments are queued per datagram, keyed by (source, destination,
 * identification, protocol) (RFC 791 §3.2). Each queue keeps RFC 815's list
 * of holes, the ranges of data still missing, starting as [0, ∞): a fragment
 * must fill part of one hole (it splits it in up to two), and the datagram
 * is complete when the last fragment (MF clear) has fixed the end and no
 * hole is left. Then the datagram is the offset-0 fragment's header (offset
 * and MF cleared, total length and checksum rewritten) followed by every
 * fragment's data in order, shared rather than copied when it fits in
 * `MAX_FRAGMENTS` runs.
 *
 * Hostile input is handled as Linux does since CVE-2018-5391 (FragmentSmack):
 * a fragment that overlaps data already held drops the whole datagram
 * (RFC 5722 §4 says so for IPv6), an exact duplicate is dropped alone
 * (`inet_frag_queue_insert`, `IPFRAG_DUP`), a datagram over 65535 bytes is
 * dropped (`ip_frag_reasm`), and memory is bounded: while the bytes held are
 * at the high threshold, fragments are refused (Linux ≥ 4.17 refuses new
 * queues above `ipfrag_high_thresh`; here every fragment that would pass the
 * threshold is refused, unless it completes its datagram). The number of
 * queues is bounded too. A queue lives 30 s from its first fragment
 * (RFC 791 §3.2 suggests 15 s; RFC 1122 §3.3.2 says 60 to 120 s; Linux
 * `ipfrag_time` is 30 s); on expiry it is dropped and `onTimeout` gets the
 * offset-0 fragment if it arrived, so the caller can send ICMP time exceeded,
 * code 1, only then (RFC 1122 §3.2.1.4 / RFC 792; Linux `ip_expire`).
 *
 * Memory is counted as a "truesize" (Linux `skb->truesize`): the fragment
 * buffer's linear storage, its fragment bytes and a fixed descriptor overhead.
 */
import { ChecksumState, internetChecksum, MAX_FRAGMENTS, PacketBuffer, type SharedBytes } from "@netstack/buffers"
import { forEachStorageRun } from "@netstack/device"
import type { TimerHandle, TimerQueue } from "@netstack/l2"
import { IPV4_HEADER_LENGTH, Ipv4View, readU16, writeU16 } from "@netstack/wire"
import type { ReassemblyDrop } from "./defects.ts"
import { IPV4_MAX_DATAGRAM } from "./fragment.ts"
import { copyPacketMetadata } from "./metadata.ts"

const FLAG_MF = 0x2000
const FLAGS_KEPT = 0xc000
const OFFSET_MASK = 0x1fff

/** Bytes charged per held fragment for its descriptor, as `sk_buff` overhead in Linux's truesize. */
export const REASSEMBLY_FRAGMENT_OVERHEAD = 256

/** The timer operations the reassembler uses (a host's `TimerQueue`). */
export type ReassemblyTimers = Pick<TimerQueue, "now" | "schedule" | "cancel">

/** Settings of a `Reassembler`. */
export interface ReassemblerOptions {
  /** The host's timers; every queue's timeout is one of them. */
  readonly timers: ReassemblyTimers
  /** Lifetime of a queue from its first fragment (Linux `ipfrag_time`, 30 s). */
  readonly timeoutMicros?: number
  /** Bytes held above which fragments are refused (Linux `ipfrag_high_thresh`, 4 MiB). */
  readonly highThresholdBytes?: number
  /** Most datagrams reassembled at once; a fragment of a new one beyond it is refused. */
  readonly maxQueues?: number
  /**
   * Called when a queue times out, with its offset-0 fragment (data at its
   * IPv4 header) if that arrived, else `undefined`. The fragment is valid
   * during the call only: the reassembler releases it afterwards.
   */
  readonly onTimeout: (firstFragment: PacketBuffer | undefined) => void
}

/**
 * Reassembly counters, named as in `/proc/net/snmp` (`Ip:` line, RFC 4293's
 * ipSystemStatsReasm*) and Linux's `IpExt: ReasmOverlaps`, plus this
 * implementation's own reasons.
 */
export class ReassemblyStats {
  /** Fragments received that needed reassembly. */
  ReasmReqds = 0
  /** Datagrams reassembled. */
  ReasmOKs = 0
  /** Failures of the reassembly algorithm: timeouts, overlaps, oversize, refusals, invalid fragments (not duplicates). */
  ReasmFails = 0
  /** Queues that timed out. */
  ReasmTimeout = 0
  /** Datagrams dropped because a fragment overlapped data already held. */
  ReasmOverlaps = 0
  /** Exact duplicate fragments dropped alone. */
  ReasmDuplicates = 0
  /** Fragments refused because the bytes held were at the high threshold. */
  ReasmMemoryRefusals = 0
  /** Fragments refused because the number of queues was at its bound. */
  ReasmQueueRefusals = 0
  /** Datagrams dropped for exceeding 65535 bytes. */
  ReasmOversized = 0
  /** Datagrams dropped for contradicting fragments (their end, or their ECN codepoints). */
  ReasmInconsistent = 0
  /** Fragments dropped as not well-formed. */
  ReasmInvalid = 0
}

/** One fragment held: its data range in the datagram and its buffer. */
interface Held {
  /** Byte offset of its data in the datagram. */
  readonly start: number
  /** Byte offset just past its data. */
  readonly end: number
  /**
   * The fragment: data at its IPv4 header for the offset-0 one, at its data
   * for the others; trimmed to its data.
   */
  readonly buffer: PacketBuffer
}

/** A datagram being reassembled (Linux `struct ipq`). */
interface Queue {
  readonly key: string
  /** RFC 815 holes, sorted, disjoint: [start, end) pairs; `end` is Infinity until the last fragment. */
  holes: Array<number>
  /** Held fragments by data start (for duplicates and assembly). */
  readonly fragments: Map<number, Held>
  /** The offset-0 fragment, once it arrived. */
  first: Held | undefined
  /** End of the data, once the last fragment (MF clear) arrived; else -1. */
  length: number
  /** Largest end of data held. */
  maxEnd: number
  /** Bytes charged. */
  truesize: number
  /** RFC 3168 §5.3: the ECN codepoints seen, one bit per codepoint (Linux `ip4_frag_ecn`). */
  ecn: number
  timer: TimerHandle | undefined
}

/** ECN bits as Linux's IPFRAG_ECN_*: Not-ECT, ECT(1), ECT(0), CE. */
const ECN_BIT = [1, 2, 4, 8] as const
const ECN_NOT_ECT = 1
const ECN_CE = 8

/** RFC 815: a new datagram is one hole, from 0 to infinity. */
const INITIAL_HOLES: ReadonlyArray<number> = Object.freeze([0, Number.POSITIVE_INFINITY])

/** The truesize of a buffer: its linear storage, its fragment bytes, and the descriptor overhead. */
const truesizeOf = (buffer: PacketBuffer): number =>
  buffer.end + buffer.fragmentLength + REASSEMBLY_FRAGMENT_OVERHEAD

/**
 * Index of the hole that holds all of [start, end), or -1. Holes are
 * [h[2i], h[2i+1]) pairs, sorted: binary search for the last hole starting
 * at or before `start`.
 */
const findHole = (holes: ReadonlyArray<number>, start: number, end: number): number => {
  let lo = 0
  let hi = holes.length / 2 - 1
  let found = -1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    if (holes[2 * mid] <= start) {
      found = mid
      lo = mid + 1
    } else {
      hi = mid - 1
    }
  }
  if (found < 0 || end > holes[2 * found + 1]) return -1
  return found
}

/** Reassembles IPv4 datagrams from their fragments for one host. */
export class Reassembler {
  /** The counters. */
  readonly stats = new ReassemblyStats()
  private readonly timers: ReassemblyTimers
  private readonly timeoutMicros: number
  private readonly highThresholdBytes: number
  private readonly maxQueues: number
  private readonly onTimeout: (firstFragment: PacketBuffer | undefined) => void
  private readonly queues = new Map<string, Queue>()
  private held = 0

  private constructor(options: ReassemblerOptions) {
    this.timers = options.timers
    this.timeoutMicros = options.timeoutMicros ?? 30_000_000
    this.highThresholdBytes = options.highThresholdBytes ?? 4 * 1024 * 1024
    this.maxQueues = options.maxQueues ?? 1024
    this.onTimeout = options.onTimeout
  }

  /**
   * A reassembler. Defaults: 30 s timeout (Linux `ipfrag_time`), 4 MiB high
   * threshold (Linux `ipfrag_high_thresh`), 1024 queues.
   */
  static make(options: ReassemblerOptions): Reassembler {
    return new Reassembler(options)
  }

  /** Bytes held in all queues (truesize; Linux `frag_mem_limit`). */
  get bytesHeld(): number {
    return this.held
  }

  /** Datagrams being reassembled. */
  get queueCount(): number {
    return this.queues.size
  }

  /** The counters and the two gauges, as name → value. */
  snapshot(): Readonly<Record<string, number>> {
    return { ...this.stats, bytesHeld: this.held, queues: this.queues.size }
  }

  /**
   * Adds a fragment (data at its IPv4 header, checksum already verified by
   * the caller). The reassembler takes ownership of it in every case.
   * Returns the whole datagram when its last hole closes (data at its IPv4
   * header, the caller's to release), `"held"` while it is incomplete, or why
   * the fragment was dropped (and released; when the reason concerns the
   * whole datagram, its queue was dropped and released too). A packet that
   * is not a fragment is returned as it is, uncounted.
   */
  add(fragment: PacketBuffer): PacketBuffer | "held" | ReassemblyDrop {
    const view = Ipv4View.parse(fragment)
    if (!(view instanceof Ipv4View)) {
      this.stats.ReasmReqds++
      return this.refuse(fragment, "invalid")
    }
    if (!view.isFragment) return fragment
    const stats = this.stats
    stats.ReasmReqds++
    const headerLength = view.headerLength
    const totalLength = view.totalLength
    // RFC 1122 §3.3.1 note: bytes after the total length are link padding.
    if (fragment.length > totalLength) fragment.trim(totalLength)
    const more = view.moreFragments
    const start = view.fragmentByteOffset
    let length = totalLength - headerLength
    // Linux ip_frag_queue: a non-last fragment's data is cut to a multiple of 8 (RFC 791 §3.2).
    if (more) length &= ~7
    if (length === 0) return this.refuse(fragment, "invalid")
    const end = start + length
    const key = `${view.source}:${view.destination}:${view.identification}:${view.protocol}`
    const ecn = ECN_BIT[view.ecn]
    let queue = this.queues.get(key)

    // RFC 791 §3.1: the datagram, with at least a 20-byte header, fits 65535 bytes.
    if (end > IPV4_MAX_DATAGRAM - IPV4_HEADER_LENGTH) {
      if (queue !== undefined) this.dropQueue(queue)
      stats.ReasmOversized++
      return this.refuse(fragment, "too-big")
    }

    let hole = 0
    if (queue !== undefined) {
      // Linux ip_frag_queue: the end, once fixed, is the end; nothing lies past it.
      const contradicts = more
        ? queue.length >= 0 && end > queue.length
        : queue.length >= 0
        ? end !== queue.length
        : queue.maxEnd > end
      if (contradicts) {
        this.dropQueue(queue)
        stats.ReasmInconsistent++
        return this.refuse(fragment, "inconsistent")
      }
      hole = findHole(queue.holes, start, end)
      if (hole < 0) {
        const same = queue.fragments.get(start)
        if (same !== undefined && same.end === end) {
          // Linux IPFRAG_DUP: the copy goes, the queue stays.
          stats.ReasmDuplicates++
          fragment.release()
          return "duplicate"
        }
        // CVE-2018-5391 / RFC 5722 §4: any overlap drops the whole datagram.
        this.dropQueue(queue)
        stats.ReasmOverlaps++
        return this.refuse(fragment, "overlap")
      }
    } else if (this.queues.size >= this.maxQueues) {
      stats.ReasmQueueRefusals++
      return this.refuse(fragment, "queue-limit")
    }

    // Keep only the fragment's data (and the header of the offset-0 one).
    if (start !== 0) fragment.pull(headerLength)
    const keep = start === 0 ? headerLength + length : length
    if (fragment.length > keep) fragment.trim(keep)
    const truesize = truesizeOf(fragment)

    // RFC 815: the hole the fragment falls in gives way to what is left of it on either side. A last
    // fragment (MF clear) falls in the open hole [x, ∞) (anything else was refused above as
    // inconsistent) and closes it at its end.
    const holes = queue === undefined ? INITIAL_HOLES : queue.holes
    const holeStart = holes[2 * hole]
    const holeEnd = more ? holes[2 * hole + 1] : end
    const replacement: Array<number> = []
    if (start > holeStart) replacement.push(holeStart, start)
    if (end < holeEnd) replacement.push(end, holeEnd)
    const completes = queue !== undefined && replacement.length === 0 && holes.length === 2 &&
      (!more || queue.length >= 0)
    // The memory bound: refuse what would pass the threshold, unless it completes its datagram.
    if (!completes && this.held + truesize > this.highThresholdBytes) {
      stats.ReasmMemoryRefusals++
      return this.refuse(fragment, "memory")
    }
    if (queue === undefined) {
      const created: Queue = {
        key,
        holes: replacement,
        fragments: new Map(),
        first: undefined,
        length: -1,
        maxEnd: 0,
        truesize: 0,
        ecn: 0,
        timer: undefined
      }
      created.timer = this.timers.schedule(this.timers.now() + this.timeoutMicros, () => this.expire(created))
      this.queues.set(key, created)
      queue = created
    } else {
      queue.holes.splice(2 * hole, 2, ...replacement)
    }
    if (!more) queue.length = end
    const entry: Held = { start, end, buffer: fragment }
    queue.fragments.set(start, entry)
    if (start === 0) queue.first = entry
    if (end > queue.maxEnd) queue.maxEnd = end
    queue.truesize += truesize
    queue.ecn |= ecn
    this.held += truesize

    if (queue.length < 0 || queue.holes.length > 0) return "held"
    return this.assemble(queue)
  }

  /** Drops every queue (releasing its fragments and cancelling its timer), as when the host goes down. */
  clear(): void {
    for (const queue of [...this.queues.values()]) this.dropQueue(queue)
  }

  // ------------------------------------------------------------------ internals

  /** Counts a failure, releases `fragment` and returns `reason`. */
  private refuse(fragment: PacketBuffer, reason: ReassemblyDrop): ReassemblyDrop {
    this.stats.ReasmFails++
    if (reason === "invalid") this.stats.ReasmInvalid++
    fragment.release()
    return reason
  }

  /** Removes `queue`, cancels its timer and releases its fragments. */
  private dropQueue(queue: Queue): void {
    this.unlink(queue)
    for (const held of queue.fragments.values()) held.buffer.release()
    queue.fragments.clear()
    queue.first = undefined
  }

  /** Removes `queue` from the table and the memory count, cancelling its timer. */
  private unlink(queue: Queue): void {
    if (this.queues.get(queue.key) === queue) this.queues.delete(queue.key)
    this.timers.cancel(queue.timer)
    queue.timer = undefined
    this.held -= queue.truesize
    queue.truesize = 0
  }

  /** Linux `ip_expire`: the queue's time is up. */
  private expire(queue: Queue): void {
    if (this.queues.get(queue.key) !== queue) return
    this.stats.ReasmTimeout++
    this.stats.ReasmFails++
    const first = queue.first
    this.unlink(queue)
    queue.timer = undefined
    // RFC 1122 §3.2.1.4: time exceeded only if fragment zero is available.
    try {
      this.onTimeout(first?.buffer)
    } finally {
      for (const held of queue.fragments.values()) held.buffer.release()
      queue.fragments.clear()
      queue.first = undefined
    }
  }

  /**
   * Linux `ip_frag_reasm`: the offset-0 fragment's header and buffer, every
   * other fragment's data appended as shared runs (copied into one fresh
   * buffer when they would exceed `MAX_FRAGMENTS`).
   */
  private assemble(queue: Queue): PacketBuffer | ReassemblyDrop {
    const stats = this.stats
    this.unlink(queue)
    const first = queue.first
    const fragments = [...queue.fragments.values()].sort((a, b) => a.start - b.start)
    queue.fragments.clear()
    queue.first = undefined
    const releaseAll = (): void => {
      for (const held of fragments) held.buffer.release()
    }
    if (first === undefined) {
      // Unreachable: no hole left means offset 0 arrived.
      releaseAll()
      stats.ReasmFails++
      return "invalid"
    }
    const head = first.buffer
    const headerLength = (head.bytes[head.data] & 0x0f) << 2
    const total = headerLength + queue.length
    if (total > IPV4_MAX_DATAGRAM) {
      releaseAll()
      stats.ReasmFails++
      stats.ReasmOversized++
      return "too-big"
    }
    // RFC 3168 §5.3 (Linux ip_frag_ecn_table): Not-ECT mixed with ECT or CE is invalid; CE wins over ECT.
    const ecn = queue.ecn
    if ((ecn & ECN_NOT_ECT) !== 0 && ecn !== ECN_NOT_ECT) {
      releaseAll()
      stats.ReasmFails++
      stats.ReasmInconsistent++
      return "ecn-mismatch"
    }

    // The runs of the other fragments' data, adjacent runs of one storage merged.
    const storages: Array<SharedBytes> = []
    const starts: Array<number> = []
    const lengths: Array<number> = []
    for (const held of fragments) {
      if (held === first) continue
      forEachStorageRun(held.buffer, 0, held.buffer.length, (storage, start, n) => {
        const last = storages.length - 1
        if (last >= 0 && storages[last] === storage && starts[last] + lengths[last] === start) {
          lengths[last] += n
        } else {
          storages.push(storage)
          starts.push(start)
          lengths.push(n)
        }
      })
    }

    let datagram: PacketBuffer
    if (head.fragments.length + storages.length <= MAX_FRAGMENTS) {
      datagram = head
      for (let i = 0; i < storages.length; i++) datagram.addFragment(storages[i], starts[i], lengths[i])
      for (const held of fragments) if (held !== first) held.buffer.release()
    } else {
      const headroom = head.headroom
      datagram = PacketBuffer.alloc(headroom + total)
      datagram.reserve(headroom)
      datagram.put(total)
      const out = datagram.writableBytes()
      let at = headroom
      if (out instanceof Uint8Array) {
        for (const held of fragments) {
          held.buffer.copyOut(0, held.buffer.length, out, at)
          at += held.buffer.length
        }
      }
      copyPacketMetadata(head.meta, datagram.meta)
      releaseAll()
    }
    if (datagram.length !== total) {
      datagram.release()
      stats.ReasmFails++
      return "invalid"
    }

    // RFC 791 §3.2: the reassembled header — offset 0, MF clear, total length and checksum rewritten.
    const bytes = datagram.writableBytes()
    if (!(bytes instanceof Uint8Array)) {
      stats.ReasmFails++
      return "invalid"
    }
    const d = datagram.data
    writeU16(bytes, d + 2, total)
    writeU16(bytes, d + 6, readU16(bytes, d + 6) & FLAGS_KEPT & ~FLAG_MF & ~OFFSET_MASK)
    if ((ecn & ECN_CE) !== 0) bytes[d + 1] |= 0x03
    writeU16(bytes, d + 10, 0)
    writeU16(bytes, d + 10, internetChecksum(bytes, d, d + headerLength))
    datagram.meta.checksum = ChecksumState.none
    datagram.resetNetworkHeader()
    stats.ReasmOKs++
    return datagram
  }
}
