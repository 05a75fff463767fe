/**
 * SYN cookies (RFC 4987 §3.6), as Linux's net/ipv4/syncookies.c: under a
 * SYN flood a listener answers a SYN without keeping state, encoding what it
 * must remember into the ISN of its SYN-ACK; the client's ACK of that ISN
 * brings it back.
 *
 * The cookie (Linux `secure_tcp_syn_cookie`) is
 *
 *     H0(4-tuple) + clientIsn + (count << 24) + ((H1(4-tuple, count) + mssIndex) mod 2^24)
 *
 * where `count` is a coarse clock (one tick per 60 s, Linux
 * `tcp_cookie_time`, `TCP_SYNCOOKIE_PERIOD`), H0 and H1 SipHash under two
 * secrets (Linux `cookie_hash`, `syncookie_secret[2]`), and `mssIndex`
 * the index in Linux's `msstab` of the MSS granted. A cookie is accepted
 * while its count is less than `MAX_SYNCOOKIE_AGE` (2) ticks old
 * (`check_tcp_syn_cookie`): between 60 and 120 s.
 *
 * The options of the SYN that do not fit in the ISN travel in the low six
 * bits of the SYN-ACK's TSval when the client sent timestamps, and come back
 * in the ACK's TSecr (Linux `cookie_init_timestamp`,
 * `cookie_timestamp_decode`): window scale (4 bits, 15 = none), SACK
 * permitted, ECN. Without timestamps the connection goes on without them.
 */
import type { FourTuple } from "./lookup.ts"
import { SipHash } from "./siphash.ts"

/**
 * The MSS values a cookie can carry (Linux `msstab`, chosen from observed
 * traffic: "An Analysis of TCP Maximum Segment Sizes", Alcock and Nelson,
 * 2011); sorted.
 */
export const SYN_COOKIE_MSS: ReadonlyArray<number> = [536, 1300, 1440, 1460]

/** Linux `COOKIEBITS`: the low 24 bits carry the hash and the data, the top 8 the count. */
const COOKIE_BITS = 24
const COOKIE_MASK = (1 << COOKIE_BITS) - 1
/** Linux `TSBITS`: option bits in the low bits of the TSval. */
const TS_BITS = 6
const TS_MASK = (1 << TS_BITS) - 1
/** Linux `TS_OPT_WSCALE_MASK`: 15, an invalid shift, stands for "no window scale option". */
const TS_OPT_WSCALE_MASK = 0xf
const TS_OPT_SACK = 1 << 4
const TS_OPT_ECN = 1 << 5
/** The largest window shift (RFC 7323 §2.3). */
const MAX_WSCALE = 14

/** The SYN's options a cookie carries in the TSval. */
export interface SynCookieOptions {
  /** The client's window scale shift; absent when it sent none. */
  readonly wscale?: number
  /** The client sent SACK-permitted. */
  readonly sackOk: boolean
  /** The client asked for ECN. */
  readonly ecn: boolean
}

/** What `SynCookies.make` gives: the SYN-ACK's ISN and the MSS it commits to. */
export interface SynCookie {
  readonly isn: number
  /** The largest `SYN_COOKIE_MSS` entry not above the client's MSS (536 below that, as Linux). */
  readonly mss: number
}

/** Settings of `SynCookies`, like Linux's sysctls. */
export interface SynCookiesOptions {
  /** Length of one count tick, in µs (Linux `TCP_SYNCOOKIE_PERIOD`, 60 s). */
  readonly periodMicros?: number
  /** Ticks a cookie stays valid, 1 to 255 (Linux `MAX_SYNCOOKIE_AGE`, 2). */
  readonly maxAge?: number
  /** Window scaling is on (Linux `tcp_window_scaling`): off, a cookie claiming a scale is refused. */
  readonly windowScaling?: boolean
  /** SACK is on (Linux `tcp_sack`): off, a cookie claiming SACK is refused. */
  readonly sack?: boolean
  /** ECN is on (Linux `tcp_ecn`): off, the decoded ECN bit reads false. */
  readonly ecn?: boolean
}

/** The SYN cookie counters (Linux `SyncookiesSent`, `SyncookiesRecv`, `SyncookiesFailed`), with the failures by reason. */
export class SynCookieStats {
  /** Cookies sent (`make`). */
  sent = 0
  /** Valid cookies received (`check`). */
  recv = 0
  /** Invalid cookies received: `failedAge + failedHash`. */
  failed = 0
  /** Refused: the count in the cookie is `maxAge` ticks old or more, or in the future (stale, or forged). */
  failedAge = 0
  /** Refused: the data left after the hash is not an MSS index (forged, tampered, or another 4-tuple's). */
  failedHash = 0
  /** Cookies whose TSecr claimed an option this host has off (`decodeTimestamp`). */
  failedOptions = 0
}

/** Makes and checks SYN cookies under two 128-bit secrets drawn once per host. */
export class SynCookies {
  /** The counters. */
  readonly stats = new SynCookieStats()
  private readonly key0: SipHash
  private readonly key1: SipHash
  private readonly periodMicros: number
  private readonly maxAge: number
  private readonly windowScaling: boolean
  private readonly sack: boolean
  private readonly ecn: boolean

  /** Draws the secrets (Linux `syncookie_secret[2]`) from `random` (uniform in [0, 1)). */
  constructor(random: () => number, options: SynCookiesOptions = {}) {
    this.key0 = SipHash.fromRandom(random)
    this.key1 = SipHash.fromRandom(random)
    const period = options.periodMicros ?? 60_000_000
    this.periodMicros = Number.isFinite(period) && period >= 1 ? period : 60_000_000
    this.maxAge = Math.min(255, Math.max(1, Math.floor(options.maxAge ?? 2)))
    this.windowScaling = options.windowScaling ?? true
    this.sack = options.sack ?? true
    this.ecn = options.ecn ?? true
  }

  /** Linux `tcp_cookie_time`: the count at `nowMicros`, modulo 2^32. */
  private count(nowMicros: number): number {
    const ticks = Math.floor(nowMicros / this.periodMicros)
    return Number.isFinite(ticks) && ticks > 0 ? ticks % 4294967296 : 0
  }

  /** Linux `cookie_hash`: the client's address and port first, as the SYN carries them. */
  private hash(key: SipHash, t: FourTuple, count: number): number {
    return key.hash4(t.remoteAddress, t.localAddress, ((t.remotePort & 0xffff) << 16) | (t.localPort & 0xffff), count)
  }

  /**
   * The cookie ISN for a SYN with sequence number `clientIsn` and MSS option
   * `clientMss` on `tuple` (Linux `__cookie_v4_init_sequence`): the MSS is
   * rounded down to a `SYN_COOKIE_MSS` entry, which the caller then uses.
   */
  make(tuple: FourTuple, clientIsn: number, clientMss: number, nowMicros: number): SynCookie {
    let index = SYN_COOKIE_MSS.length - 1
    for (; index > 0; index--) if (clientMss >= (SYN_COOKIE_MSS[index] ?? 0)) break
    const count = this.count(nowMicros)
    const isn = (this.hash(this.key0, tuple, 0) + (clientIsn >>> 0) + ((count << COOKIE_BITS) >>> 0) +
      ((this.hash(this.key1, tuple, count) + index) & COOKIE_MASK)) >>> 0
    this.stats.sent++
    return { isn, mss: SYN_COOKIE_MSS[index] ?? 536 }
  }

  /**
   * Checks the ACK completing a cookie handshake (Linux `__cookie_v4_check`):
   * `ackNumber` is the ACK's acknowledgment number (our ISN + 1),
   * `clientIsn` its sequence number − 1. The MSS the cookie carries, or
   * undefined (counted) when it is not a cookie of ours for this 4-tuple
   * from the last `maxAge` ticks.
   */
  check(tuple: FourTuple, ackNumber: number, clientIsn: number, nowMicros: number): { readonly mss: number } | undefined {
    const cookie = (ackNumber - 1) >>> 0
    const count = this.count(nowMicros)
    // Strip the first hash and the client's ISN: left is (count << 24) + (H1 + data) mod 2^24.
    const rest = (cookie - this.hash(this.key0, tuple, 0) - (clientIsn >>> 0)) >>> 0
    const age = (count - (rest >>> COOKIE_BITS)) & 0xff
    if (age >= this.maxAge) {
      this.stats.failed++
      this.stats.failedAge++
      return undefined
    }
    const data = (rest - this.hash(this.key1, tuple, (count - age) >>> 0)) & COOKIE_MASK
    const mss = SYN_COOKIE_MSS[data]
    if (mss === undefined) {
      this.stats.failed++
      this.stats.failedHash++
      return undefined
    }
    this.stats.recv++
    return { mss }
  }

  /**
   * The TSval of a cookie SYN-ACK (Linux `cookie_init_timestamp`): the
   * largest value not above `nowTsval` (modulo 2^32) whose low six bits are
   * the options, so later TSvals never go back. A window scale above 14 is
   * taken as 14 (RFC 7323 §2.3). `nowTsval` is the host's timestamp clock
   * before the connection's offset: the caller adds the offset when it
   * sends, and takes it off the TSecr before `decodeTimestamp` (Linux
   * `tcp_make_synack` adds `ts_off`, `cookie_v4_check` subtracts it).
   */
  timestamp(nowTsval: number, options: SynCookieOptions): number {
    let bits = options.wscale === undefined || !Number.isFinite(options.wscale)
      ? TS_OPT_WSCALE_MASK
      : Math.min(MAX_WSCALE, Math.max(0, Math.floor(options.wscale)))
    if (options.sackOk) bits |= TS_OPT_SACK
    if (options.ecn) bits |= TS_OPT_ECN
    const now = nowTsval >>> 0
    return (now - ((now - bits) & TS_MASK)) >>> 0
  }

  /**
   * The options a cookie carried, from the ACK's TSecr (minus the timestamp
   * offset, if one was added): Linux `cookie_timestamp_decode`. Undefined
   * (counted) when they claim SACK or a window scale while this host has
   * that option off.
   */
  decodeTimestamp(tsecr: number): SynCookieOptions | undefined {
    const bits = tsecr & TS_MASK
    const sackOk = (bits & TS_OPT_SACK) !== 0
    const wscale = bits & TS_OPT_WSCALE_MASK
    if ((sackOk && !this.sack) || (wscale !== TS_OPT_WSCALE_MASK && !this.windowScaling)) {
      this.stats.failedOptions++
      return undefined
    }
    const ecn = this.ecn && (bits & TS_OPT_ECN) !== 0
    return wscale === TS_OPT_WSCALE_MASK ? { sackOk, ecn } : { wscale, sackOk, ecn }
  }
}
