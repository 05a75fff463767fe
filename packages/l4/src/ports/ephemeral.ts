/**
 * Ephemeral port selection (RFC 6056), shared by UDP (a socket bound to port
 * 0) and TCP (connect without a bound port).
 *
 * The algorithm is RFC 6056 §3.3.4 Algorithm 4, "Double-Hash Port
 * Selection", in the form Linux uses in `__inet_hash_connect`
 * (net/ipv4/inet_hashtables.c):
 *
 * - F and G of the RFC are the two 32-bit halves of one keyed hash of the
 *   flow (local address, remote address, remote port) under a secret key
 *   (Linux `secure_ipv4_port_ephemeral`: `siphash_3u32` under `net_secret`);
 * - G picks a slot of a table of counters initialised at random (Linux
 *   `table_perturb`, filled on first use); the start is
 *   `(table[G] + F) mod N`, rounded down to even;
 * - the search tries the ports of the start's parity first, then the others
 *   (Linux leaves the other parity to `bind`), wrapping around the range, and
 *   takes the first one the caller's `inUse` does not claim;
 * - on success `table[G]` moves on by the distance searched plus 2, or by a
 *   random even step below 16 when that is larger (Linux's fix for
 *   CVE-2022-1012: with little contention the next port is less predictable).
 *
 * So consecutive connections to one destination walk forward through the
 * range from a secret start, different destinations start at unrelated
 * places (RFC 6056 §3.3.4: G's table separates them), and the work per
 * allocation is bounded by the size of the range (at most N calls to
 * `inUse`). The range is Linux's `net.ipv4.ip_local_port_range`, 32768–60999
 * by default. Linux drops the last port of an odd-sized range; here the
 * search covers every port of the range.
 */
import { Schema } from "effect"
import { type KeyedHashKey, keyedHash64, makeKeyedHashKey } from "./keyed-hash.ts"

/** Linux's default `net.ipv4.ip_local_port_range`. */
export const DEFAULT_EPHEMERAL_RANGE: EphemeralRange = { low: 32768, high: 60999 }

/** An inclusive range of local ports. */
export interface EphemeralRange {
  readonly low: number
  readonly high: number
}

/** The flow a port is chosen for (RFC 6056 §3.3.4: the inputs of F and G); zeros where unknown (an unconnected UDP socket). */
export interface EphemeralFlow {
  readonly localAddress: number
  readonly remoteAddress: number
  readonly remotePort: number
}

/** A port range that cannot be used (Linux `ip_local_port_range` refuses it with EINVAL). */
export class InvalidPortRange extends Schema.TaggedError<InvalidPortRange>()("InvalidPortRange", {
  low: Schema.Number,
  high: Schema.Number,
  reason: Schema.String
}) {}

/** Every port of the range is in use for this flow (Linux: EADDRNOTAVAIL from connect, EADDRINUSE/EAGAIN from bind). */
export class EphemeralPortsExhausted extends Schema.TaggedError<EphemeralPortsExhausted>()("EphemeralPortsExhausted", {
  low: Schema.Number,
  high: Schema.Number,
  /** Ports tried: the whole range. */
  tried: Schema.Number
}) {}

/** How an allocator is built. */
export interface EphemeralPortsOptions {
  /** Uniform numbers in [0, 1) (the host passes Effect's seeded `Random`): the key, the table, the random steps. */
  readonly random: () => number
  /** Default {@link DEFAULT_EPHEMERAL_RANGE}. */
  readonly range?: EphemeralRange
  /** The secret of F and G; drawn from `random` on first use when absent. */
  readonly key?: KeyedHashKey
  /** Slots of the perturbation table, a power of two (Linux has 2^16); default 1024. */
  readonly tableSize?: number
}

/** Counters of an allocator. */
export class EphemeralStats {
  /** Ports handed out. */
  allocated = 0
  /** Allocations that found the whole range in use. */
  exhausted = 0
  /** Calls to `inUse`: the work done. */
  probes = 0
}

/** Why a range is invalid, or undefined. */
const rangeProblem = (low: number, high: number): string | undefined =>
  !Number.isInteger(low) || !Number.isInteger(high)
    ? "ports must be integers"
    : low < 1 || high > 65535
    ? "ports must be 1 to 65535"
    : low > high
    ? "low must not exceed high"
    : undefined

/** Ephemeral port selection for one host (one network namespace). */
export class EphemeralPorts {
  readonly stats = new EphemeralStats()
  private readonly random: () => number
  private readonly tableSize: number
  private low: number
  private high: number
  private key: KeyedHashKey | undefined
  private table: Uint32Array | undefined = undefined

  private constructor(random: () => number, range: EphemeralRange, key: KeyedHashKey | undefined, tableSize: number) {
    this.random = random
    this.low = range.low
    this.high = range.high
    this.key = key
    this.tableSize = tableSize
  }

  /** An allocator, or why its range or table size is unusable. */
  static make(options: EphemeralPortsOptions): EphemeralPorts | InvalidPortRange {
    const range = options.range ?? DEFAULT_EPHEMERAL_RANGE
    const problem = rangeProblem(range.low, range.high)
    if (problem !== undefined) return new InvalidPortRange({ low: range.low, high: range.high, reason: problem })
    const tableSize = options.tableSize ?? 1024
    if (!Number.isInteger(tableSize) || tableSize < 1 || tableSize > 65536 || (tableSize & (tableSize - 1)) !== 0) {
      return new InvalidPortRange({ low: range.low, high: range.high, reason: "table size must be a power of two up to 65536" })
    }
    return new EphemeralPorts(options.random, range, options.key, tableSize)
  }

  /** An allocator with Linux's range and a 1024-slot table (these defaults cannot be refused). */
  static makeDefault(random: () => number, key?: KeyedHashKey): EphemeralPorts {
    return new EphemeralPorts(random, DEFAULT_EPHEMERAL_RANGE, key, 1024)
  }

  /** The current range (`sysctl net.ipv4.ip_local_port_range`). */
  get range(): EphemeralRange {
    return { low: this.low, high: this.high }
  }

  /** Changes the range (`sysctl -w net.ipv4.ip_local_port_range="LOW HIGH"`). */
  setRange(low: number, high: number): InvalidPortRange | undefined {
    const problem = rangeProblem(low, high)
    if (problem !== undefined) return new InvalidPortRange({ low, high, reason: problem })
    this.low = low
    this.high = high
    return undefined
  }

  /**
   * A port for `flow` that `inUse` does not claim (UDP: no conflicting
   * binding; TCP: no connection with the same 4-tuple), or
   * `EphemeralPortsExhausted` after trying every port of the range once.
   */
  allocate(flow: EphemeralFlow, inUse: (port: number) => boolean): number | EphemeralPortsExhausted {
    const low = this.low
    const size = this.high - low + 1
    const table = this.perturbTable()
    // RFC 6056 §3.3.4: offset = F(local, remote, remote port, key1); index = G(…, key2).
    const hash = keyedHash64(this.secret(), flow.localAddress >>> 0, flow.remoteAddress >>> 0, flow.remotePort & 0xffff)
    const index = hash.high & (table.length - 1)
    // Linux: offset = (table_perturb[index] + (port_offset >> 32)) % remaining, then even.
    const offset = ((table[index] + hash.low) % size) & ~1
    const half = Math.ceil(size / 2)
    for (let j = 0; j < size; j++) {
      // Ports of the start's parity first, then the others (a permutation of 0 … size-1).
      const step = j < half ? 2 * j : 2 * (j - half) + 1
      const port = low + ((offset + step) % size)
      this.stats.probes++
      if (inUse(port)) continue
      // Linux: i = max(i, get_random_u32_below(8) * 2); table_perturb[index] += i + 2.
      const advance = Math.max(step, Math.floor(this.random() * 8) * 2)
      table[index] = table[index] + advance + 2
      this.stats.allocated++
      return port
    }
    this.stats.exhausted++
    return new EphemeralPortsExhausted({ low, high: this.high, tried: size })
  }

  /** The key, drawn on first use (Linux `net_get_random_once`). */
  private secret(): KeyedHashKey {
    if (this.key === undefined) this.key = makeKeyedHashKey(this.random)
    return this.key
  }

  /** The table of counters, filled at random on first use (RFC 6056 §3.3.4; Linux `get_random_sleepable_once`). */
  private perturbTable(): Uint32Array {
    if (this.table !== undefined) return this.table
    const table = new Uint32Array(this.tableSize)
    for (let i = 0; i < table.length; i++) table[i] = Math.floor(this.random() * 65536)
    this.table = table
    return table
  }
}
