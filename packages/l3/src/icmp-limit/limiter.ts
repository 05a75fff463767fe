/**
 * The ICMP error rate limiter: token buckets as RFC 1812 §4.3.2.8 and
 * RFC 4443 §2.4(f) recommend, shaped as Linux's two limits
 * (net/ipv4/icmp.c):
 *
 * - a global bucket for the host (`icmp_global_allow`, sysctls
 *   `icmp_msgs_per_sec` 1000 and `icmp_msgs_burst` 50): `msgsPerSecond`
 *   tokens a second, at most `burst` stored;
 * - a bucket per destination (`icmpv4_xrlim_allow` over
 *   `inet_peer_xrlim_allow`, sysctl `icmp_ratelimit` 1000 ms,
 *   `XRLIM_BURST_FACTOR` 6): one token per `intervalMicros`, at most
 *   `destinationBurst` stored. A destination seen for the first time starts
 *   with a full bucket.
 *
 * A message goes only if both buckets hold a token; it then takes one from
 * each (as Linux ≥ 6.11, which consumes the global credit only once the
 * per-destination check passed). Tokens are counted in millionths so the
 * refill is exact integer arithmetic on microseconds: deterministic, with
 * none of Linux's random jitter. Which messages are limited is the caller's
 * choice (Linux `icmp_ratemask`: errors, not echo replies).
 */

/** Settings of an `IcmpRateLimiter`. */
export interface IcmpRateLimiterOptions {
  /** Global refill rate (Linux `icmp_msgs_per_sec`, 1000). */
  readonly msgsPerSecond?: number
  /** Global bucket size (Linux `icmp_msgs_burst`, 50). */
  readonly burst?: number
  /** One per-destination token per this many µs (Linux `icmp_ratelimit`, 1 s); 0 disables the per-destination limit. */
  readonly intervalMicros?: number
  /** Per-destination bucket size in tokens (Linux `XRLIM_BURST_FACTOR`, 6). */
  readonly destinationBurst?: number
  /** Most destinations tracked; the least recently used is forgotten beyond it. */
  readonly maxDestinations?: number
}

/** The limiter's counters. */
export class IcmpRateLimitStats {
  /** Messages allowed. */
  allowed = 0
  /** Messages refused by the global bucket. */
  refusedGlobal = 0
  /** Messages refused by their destination's bucket. */
  refusedDestination = 0
  /** Destinations forgotten to make room. */
  evictions = 0
}

/** One destination's bucket: tokens in µs of credit, and when it was last refilled. */
interface Bucket {
  credit: number
  last: number
}

const MICRO = 1_000_000

/** Decides whether an ICMP error may be sent now. */
export class IcmpRateLimiter {
  /** The counters. */
  readonly stats = new IcmpRateLimitStats()
  private readonly msgsPerSecond: number
  private readonly globalCap: number
  private readonly intervalMicros: number
  private readonly destinationCap: number
  private readonly maxDestinations: number
  /** Global credit in millionths of a token. */
  private globalCredit: number
  private globalLast: number | undefined = undefined
  /** By destination, least recently used first. */
  private readonly destinations = new Map<number, Bucket>()

  /** A limiter; defaults are Linux's: 1000 msgs/s with a burst of 50, and 1 per second per destination with a burst of 6. */
  constructor(options: IcmpRateLimiterOptions = {}) {
    this.msgsPerSecond = Math.max(0, options.msgsPerSecond ?? 1000)
    this.globalCap = Math.max(0, Math.floor(options.burst ?? 50)) * MICRO
    this.intervalMicros = Math.max(0, options.intervalMicros ?? 1_000_000)
    this.destinationCap = Math.max(1, Math.floor(options.destinationBurst ?? 6)) * this.intervalMicros
    this.maxDestinations = Math.max(1, Math.floor(options.maxDestinations ?? 1024))
    this.globalCredit = this.globalCap
  }

  /** Destinations tracked. */
  get size(): number {
    return this.destinations.size
  }

  /** Whole tokens in the global bucket at `nowMicros` (refilled, not consumed). */
  globalTokens(nowMicros: number): number {
    this.refillGlobal(nowMicros)
    return Math.floor(this.globalCredit / MICRO)
  }

  /**
   * Whether an ICMP error to `destination` (an unsigned 32-bit address) may
   * go at `nowMicros`; if so, a token is taken from both buckets. A clock
   * that goes backwards refills nothing.
   */
  allow(destination: number, nowMicros: number): boolean {
    const stats = this.stats
    // Linux icmp_global_allow: the host-wide budget first.
    this.refillGlobal(nowMicros)
    if (this.globalCredit < MICRO) {
      stats.refusedGlobal++
      return false
    }
    // Linux inet_peer_xrlim_allow: token += elapsed, capped at 6 × timeout; a message costs one timeout.
    const interval = this.intervalMicros
    if (interval > 0) {
      let bucket = this.destinations.get(destination)
      if (bucket === undefined) {
        if (this.destinations.size >= this.maxDestinations) this.evict()
        bucket = { credit: this.destinationCap, last: nowMicros }
      } else {
        this.destinations.delete(destination)
        const elapsed = nowMicros - bucket.last
        if (elapsed > 0) {
          bucket.credit = Math.min(this.destinationCap, bucket.credit + elapsed)
          bucket.last = nowMicros
        }
      }
      // Most recently used last.
      this.destinations.set(destination, bucket)
      if (bucket.credit < interval) {
        stats.refusedDestination++
        return false
      }
      bucket.credit -= interval
    }
    this.globalCredit -= MICRO
    stats.allowed++
    return true
  }

  /** Forgets every destination and refills the global bucket. */
  clear(): void {
    this.destinations.clear()
    this.globalCredit = this.globalCap
    this.globalLast = undefined
  }

  /** Adds `msgsPerSecond` tokens a second since the last refill, up to the burst. */
  private refillGlobal(nowMicros: number): void {
    const last = this.globalLast
    if (last === undefined || nowMicros > last) {
      if (last !== undefined) {
        this.globalCredit = Math.min(this.globalCap, this.globalCredit + (nowMicros - last) * this.msgsPerSecond)
      }
      this.globalLast = nowMicros
    }
  }

  /** Forgets the least recently used destination. */
  private evict(): void {
    const oldest = this.destinations.keys().next()
    if (oldest.done !== true) {
      this.destinations.delete(oldest.value)
      this.stats.evictions++
    }
  }
}
