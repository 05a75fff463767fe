/**
 * The path-MTU cache (RFC 1191 §6.3, "Purging stale PMTU information" and
 * §6.1; Linux's route exceptions, `__ip_rt_update_pmtu` in
 * net/ipv4/route.c).
 *
 * An ICMP destination unreachable, fragmentation needed, lowers the estimate
 * for its destination (RFC 1191 §6.1): a value not below the current
 * estimate is ignored (the estimate only grows back by expiring, RFC 1191
 * §6.3), an MTU field of 0 from an old router picks the next plateau below
 * the datagram that was too big (RFC 1191 §5 and §7), and nothing goes below
 * Linux's `min_pmtu` (552 bytes) unless configured lower: a report under it
 * stores `min_pmtu` and marks the entry locked, which tells the sender to
 * stop setting DF so routers may fragment (Linux `lock` on the MTU metric).
 * Entries expire 10 minutes after the update that set them (Linux
 * `mtu_expires`, 600 s; RFC 1191 §6.3 suggests 10 minutes), so the path is
 * probed again at the link MTU. The table is bounded; when full, a CLOCK
 * ("second chance") sweep evicts an expired or not recently used entry.
 */

/** RFC 1191 §7, Table 7-1: the MTU plateaus, largest first. */
export const PMTU_PLATEAUS: ReadonlyArray<number> = [65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68]

/** The smallest MTU an IPv4 path may have (RFC 791 §3.2; RFC 1191 §3). */
const MIN_IPV4_MTU = 68
/** The largest IPv4 datagram (RFC 791 §3.1). */
const MAX_IPV4_MTU = 0xffff

/**
 * RFC 1191 §7: the largest plateau strictly below `length` (68 at the least),
 * the estimate to use when a router reports an MTU of 0 about a datagram of
 * `length` bytes.
 */
export const plateauBelow = (length: number): number => {
  for (const plateau of PMTU_PLATEAUS) if (plateau < length) return plateau
  return MIN_IPV4_MTU
}

/** Settings of a `PmtuCache`. */
export interface PmtuCacheOptions {
  /** Lifetime of an estimate (Linux `net.ipv4.route.mtu_expires`, 600 s). */
  readonly expiresMicros?: number
  /** The lowest estimate stored (Linux `net.ipv4.route.min_pmtu`, 552); at least 68. */
  readonly minPmtu?: number
  /** Most destinations remembered. */
  readonly maxEntries?: number
  /**
   * The MTU assumed for a destination without an estimate when a report of 0
   * comes without the datagram's length (the first hop's usual MTU).
   */
  readonly assumedMtu?: number
}

/** One destination's estimate. */
export interface PmtuEntry {
  /** The path MTU estimate, bytes. */
  readonly mtu: number
  /** When it expires, µs on the host clock. */
  readonly expiresAt: number
  /** A report below `minPmtu` was clamped: send without DF so routers may fragment (Linux MTU lock). */
  readonly locked: boolean
}

/** The cache's counters. */
export class PmtuStats {
  /** Reports that lowered (or set) an estimate. */
  updates = 0
  /** Reports that confirmed the current estimate late in its life and renewed it. */
  refreshes = 0
  /** Reports ignored: not below the current estimate, or not a valid MTU. */
  ignored = 0
  /** Reports below `minPmtu`, clamped to it. */
  clamped = 0
  /** Estimates that expired. */
  expired = 0
  /** Estimates evicted to make room. */
  evictions = 0
}

interface Slot {
  mtu: number
  expiresAt: number
  locked: boolean
  /** CLOCK reference bit: read since the sweep last passed. */
  referenced: boolean
}

/** Path MTU estimates per destination (RFC 1191). */
export class PmtuCache {
  /** The counters. */
  readonly stats = new PmtuStats()
  /** Lifetime of an estimate, µs. */
  readonly expiresMicros: number
  /** The lowest estimate stored. */
  readonly minPmtu: number
  /** Most destinations remembered. */
  readonly maxEntries: number
  private readonly assumedMtu: number
  /** Insertion order is the CLOCK hand's order. */
  private readonly entries = new Map<number, Slot>()

  /** A cache; defaults: 600 s lifetime, `min_pmtu` 552, 4096 destinations, assumed MTU 1500. */
  constructor(options: PmtuCacheOptions = {}) {
    this.expiresMicros = options.expiresMicros ?? 600_000_000
    this.minPmtu = Math.min(Math.max(Math.floor(options.minPmtu ?? 552), MIN_IPV4_MTU), MAX_IPV4_MTU)
    this.maxEntries = Math.max(1, Math.floor(options.maxEntries ?? 4096))
    this.assumedMtu = options.assumedMtu ?? 1500
  }

  /** Destinations with an estimate (expired ones included until they are next looked at). */
  get size(): number {
    return this.entries.size
  }

  /**
   * The path MTU estimate for `destination` (an unsigned 32-bit address) at
   * `nowMicros`, or `undefined` when there is none or it expired (the caller
   * then uses the route's MTU).
   */
  get(destination: number, nowMicros: number): number | undefined {
    const slot = this.live(destination, nowMicros)
    if (slot === undefined) return undefined
    slot.referenced = true
    return slot.mtu
  }

  /** The whole entry for `destination` (see `get`), with its expiry and lock. */
  lookup(destination: number, nowMicros: number): PmtuEntry | undefined {
    const slot = this.live(destination, nowMicros)
    if (slot === undefined) return undefined
    slot.referenced = true
    return { mtu: slot.mtu, expiresAt: slot.expiresAt, locked: slot.locked }
  }

  /**
   * RFC 1191 §6.1: an ICMP fragmentation needed for `destination` reported
   * `mtu` (the Next-Hop MTU field). Returns the estimate now in force, or
   * `undefined` when the report was ignored.
   *
   * - `mtu` 0 (a router older than RFC 1191): the plateau below
   *   `datagramLength` (the total length of the quoted datagram) if given,
   *   else below the current estimate or the assumed MTU (RFC 1191 §5, §7).
   * - Not below the current estimate: ignored (RFC 1191 §6.1: a host must not
   *   raise its estimate on a report); equal to it and past half its life:
   *   renewed (Linux `__ip_rt_update_pmtu`).
   * - Below `minPmtu`: `minPmtu`, locked (Linux `ip_rt_min_pmtu`).
   */
  update(destination: number, mtu: number, nowMicros: number, datagramLength?: number): number | undefined {
    const stats = this.stats
    if (!Number.isInteger(mtu) || mtu < 0 || mtu > MAX_IPV4_MTU) {
      stats.ignored++
      return undefined
    }
    const slot = this.live(destination, nowMicros)
    let value = mtu
    if (value === 0) {
      const length = datagramLength !== undefined && Number.isFinite(datagramLength) && datagramLength > 0
        ? datagramLength
        : slot?.mtu ?? this.assumedMtu
      value = plateauBelow(length)
    }
    let locked = false
    if (value < this.minPmtu) {
      stats.clamped++
      value = this.minPmtu
      locked = true
    }
    const expiresAt = nowMicros + this.expiresMicros
    if (slot !== undefined) {
      if (value > slot.mtu) {
        stats.ignored++
        return undefined
      }
      if (value === slot.mtu) {
        // Linux __ip_rt_update_pmtu: a confirmation renews the estimate only past half its life.
        if (nowMicros < slot.expiresAt - this.expiresMicros / 2) {
          stats.ignored++
          return undefined
        }
        stats.refreshes++
      } else {
        stats.updates++
      }
      slot.mtu = value
      slot.expiresAt = expiresAt
      slot.locked = slot.locked || locked
      slot.referenced = true
      return value
    }
    if (this.entries.size >= this.maxEntries) this.evict(nowMicros)
    this.entries.set(destination, { mtu: value, expiresAt, locked, referenced: false })
    stats.updates++
    return value
  }

  /** Forgets the estimate for `destination`. */
  delete(destination: number): boolean {
    return this.entries.delete(destination)
  }

  /** Forgets every estimate. */
  clear(): void {
    this.entries.clear()
  }

  /** The slot for `destination` if it has not expired; an expired one is removed and counted. */
  private live(destination: number, nowMicros: number): Slot | undefined {
    const slot = this.entries.get(destination)
    if (slot === undefined) return undefined
    if (nowMicros >= slot.expiresAt) {
      this.entries.delete(destination)
      this.stats.expired++
      return undefined
    }
    return slot
  }

  /**
   * CLOCK sweep from the oldest entry: an expired one goes; a referenced one
   * loses its bit and moves to the back; the first unreferenced one goes.
   * Ends within two passes.
   */
  private evict(nowMicros: number): void {
    for (let steps = 2 * this.entries.size; steps > 0; steps--) {
      const oldest = this.entries.entries().next()
      if (oldest.done === true) return
      const [destination, slot] = oldest.value
      this.entries.delete(destination)
      if (nowMicros >= slot.expiresAt) {
        this.stats.expired++
        return
      }
      if (!slot.referenced) {
        this.stats.evictions++
        return
      }
      slot.referenced = false
      this.entries.set(destination, slot)
    }
  }
}
