/**
 * The IPv4 forwarding information base (Linux's FIB with its `local` and
 * `main` tables, as `ip route` manages them).
 *
 * Route selection follows the pruning rules of RFC 1812 §5.2.4.3 ("Next
 * Hop Address"): of the routes whose prefix matches the destination (Basic
 * Match), the longest prefix wins (Longest Match), then the lowest metric
 * (Best Metric; Linux's route priority), then the first added. Weak TOS
 * is not applied: routes carry no TOS. As in Linux's default policy rules
 * (`ip rule`: 0 local, 32766 main) the `local` table — the host's own and
 * broadcast addresses — is consulted before `main`.
 *
 * Each table keeps one `Map` per prefix length, keyed by the masked
 * destination as a signed 32-bit integer, and the list of prefix lengths in
 * use, longest first. A lookup masks the destination once per length in use
 * and probes an open-addressing hash index (typed arrays) of every prefix,
 * stopping at the first hit: at most 33 probes per table, no allocation.
 */
import type { NetDevice } from "@netstack/l2"
import {
  DuplicateRoute,
  formatRoute,
  InvalidRoute,
  PREFIX_MASKS,
  type Route,
  type RouteProtocol,
  type RouteScope,
  type RouteTable,
  type RouteType,
  tableOf,
  validateRoute
} from "./route.ts"

/**
 * Which routes `Fib.delete` removes: every route matching all the given
 * fields (an absent field matches anything, as `ip route flush` selectors).
 * A device matches by `ifindex`.
 */
export interface RouteSelector {
  readonly destination?: number | undefined
  readonly prefixLength?: number | undefined
  readonly type?: RouteType | undefined
  readonly device?: NetDevice | undefined
  readonly gateway?: number | undefined
  readonly metric?: number | undefined
  readonly protocol?: RouteProtocol | undefined
  readonly scope?: RouteScope | undefined
  readonly table?: RouteTable | undefined
}

/** How `Fib.add` treats a route with the same prefix and metric as one already present. */
export interface AddOptions {
  /**
   * `ip route append`: accept another route with the same prefix and metric
   * unless it is the same route (same type, device and gateway). Without it
   * (`ip route add`, NLM_F_EXCL) any route with the same prefix and metric is
   * a duplicate. Routes of protocol `kernel` are always appended, as the
   * kernel's `fib_magic` does for interface addresses.
   */
  readonly append?: boolean | undefined
}

/**
 * One routing table: a map per prefix length of buckets (the routes of one
 * prefix, lowest metric first), and for lookups an open-addressing hash index
 * over every (prefix length, masked destination) in typed arrays, so a probe
 * is a few integer operations with no call into `Map` and no allocation.
 */
class Table {
  /** `buckets[length]`: masked destination (signed 32-bit) → routes of that prefix, lowest metric first. */
  readonly buckets: Array<Map<number, Array<Route>>> = Array.from({ length: 33 }, () => new Map<number, Array<Route>>())
  /** Prefix lengths with at least one route, longest first; the first `used` entries are valid. */
  private readonly lengths = new Int8Array(33)
  private used = 0
  // The index: linear probing; slotLength -1 marks an empty slot.
  private shift = 28
  private slotMask = 15
  private slotLength = new Int8Array(16).fill(-1)
  private slotKey = new Int32Array(16)
  private slotBucket: Array<ReadonlyArray<Route> | undefined> = new Array<ReadonlyArray<Route> | undefined>(16).fill(undefined)
  private entries = 0

  /** Records a new bucket (a prefix not seen before) in the index. */
  added(length: number, key: number, bucket: ReadonlyArray<Route>): void {
    if ((this.entries + 1) * 2 > this.slotMask + 1) {
      this.reindex()
    } else {
      this.place(length, key, bucket)
      this.entries++
    }
    if (this.buckets[length].size === 1) this.refreshLengths()
  }

  /** Rebuilds the index and the lengths in use from the buckets (after deletions or to grow). */
  reindex(): void {
    let total = 0
    for (const map of this.buckets) total += map.size
    let capacity = 16
    while (capacity < total * 2 + 2) capacity *= 2
    this.shift = 32 - Math.log2(capacity)
    this.slotMask = capacity - 1
    this.slotLength = new Int8Array(capacity).fill(-1)
    this.slotKey = new Int32Array(capacity)
    this.slotBucket = new Array<ReadonlyArray<Route> | undefined>(capacity).fill(undefined)
    this.entries = total
    this.buckets.forEach((map, length) => {
      for (const [key, bucket] of map) this.place(length, key, bucket)
    })
    this.refreshLengths()
  }

  /** The best route of this table for `destination` (a signed 32-bit integer), allocation-free. */
  lookup(destination: number): Route | undefined {
    const lengths = this.lengths
    const slotLength = this.slotLength
    const slotKey = this.slotKey
    const mask = this.slotMask
    const shift = this.shift
    for (let i = 0; i < this.used; i++) {
      const length = lengths[i]
      const key = destination & PREFIX_MASKS[length]
      let slot = hash(length, key) >>> shift
      for (;;) {
        const at = slotLength[slot]
        if (at === -1) break
        if (at === length && slotKey[slot] === key) {
          const bucket = this.slotBucket[slot]
          if (bucket !== undefined) return bucket[0]
        }
        slot = (slot + 1) & mask
      }
    }
    return undefined
  }

  private place(length: number, key: number, bucket: ReadonlyArray<Route>): void {
    let slot = hash(length, key) >>> this.shift
    while (this.slotLength[slot] !== -1) slot = (slot + 1) & this.slotMask
    this.slotLength[slot] = length
    this.slotKey[slot] = key
    this.slotBucket[slot] = bucket
  }

  private refreshLengths(): void {
    let n = 0
    for (let length = 32; length >= 0; length--) {
      if (this.buckets[length].size > 0) this.lengths[n++] = length
    }
    this.used = n
  }
}

/** Multiplicative (Fibonacci) hash of a prefix; callers keep the top bits. */
const hash = (length: number, key: number): number => {
  const h = key ^ Math.imul(length + 1, 0x9e3779b1)
  return Math.imul(h ^ (h >>> 15), 0x85ebca6b)
}

const sameDevice = (a: NetDevice | undefined, b: NetDevice | undefined): boolean =>
  a === b || (a !== undefined && b !== undefined && a.ifindex === b.ifindex)

const matches = (route: Route, selector: RouteSelector): boolean =>
  (selector.destination === undefined || route.destination === selector.destination) &&
  (selector.prefixLength === undefined || route.prefixLength === selector.prefixLength) &&
  (selector.type === undefined || route.type === selector.type) &&
  (selector.device === undefined || sameDevice(route.device, selector.device)) &&
  (selector.gateway === undefined || route.gateway === selector.gateway) &&
  (selector.metric === undefined || route.metric === selector.metric) &&
  (selector.protocol === undefined || route.protocol === selector.protocol) &&
  (selector.scope === undefined || route.scope === selector.scope) &&
  (selector.table === undefined || tableOf(route.type) === selector.table)

/** A frozen copy of a validated route holding only the `Route` fields. */
const freezeRoute = (route: Route): Route =>
  Object.freeze({
    destination: route.destination,
    prefixLength: route.prefixLength,
    type: route.type,
    device: route.device,
    gateway: route.gateway,
    metric: route.metric,
    source: route.source,
    mtu: route.mtu,
    protocol: route.protocol,
    scope: route.scope
  })

/** Orders buckets as the kernel's trie dumps them: by address, then shorter prefix first. */
const byPrefix = (a: ReadonlyArray<Route>, b: ReadonlyArray<Route>): number =>
  a[0].destination - b[0].destination || a[0].prefixLength - b[0].prefixLength

/** The IPv4 routing tables of a host (`ip route`). */
export class Fib {
  private readonly main = new Table()
  private readonly local = new Table()
  private cached: ReadonlyArray<Route> | undefined = undefined

  /**
   * Adds a route (`ip route add`, or `ip route append` with `append`).
   * Refuses an invalid route (a destination with host bits set is refused,
   * as Linux does, not masked) or a duplicate; nothing changes on error.
   * `local` and `broadcast` routes go to the `local` table.
   */
  add(route: Route, options?: AddOptions): DuplicateRoute | InvalidRoute | undefined {
    const reason = validateRoute(route)
    if (reason !== undefined) return new InvalidRoute({ route: formatRoute(route, true), reason })
    const table = tableOf(route.type) === "local" ? this.local : this.main
    const buckets = table.buckets[route.prefixLength]
    const key = route.destination | 0
    const bucket = buckets.get(key)
    const append = options?.append === true || route.protocol === "kernel"
    if (bucket !== undefined) {
      for (const existing of bucket) {
        if (existing.metric !== route.metric) continue
        if (
          !append ||
          (existing.type === route.type && sameDevice(existing.device, route.device) && existing.gateway === route.gateway)
        ) {
          return new DuplicateRoute({ route: formatRoute(route, true) })
        }
      }
    }
    const stored = freezeRoute(route)
    if (bucket === undefined) {
      const created = [stored]
      buckets.set(key, created)
      table.added(route.prefixLength, key, created)
    } else {
      // After every route of a lower or equal metric: lowest metric first, then insertion order.
      let at = bucket.length
      while (at > 0 && bucket[at - 1].metric > stored.metric) at--
      bucket.splice(at, 0, stored)
    }
    this.cached = undefined
    return undefined
  }

  /** Removes every route matching `selector` (`ip route flush SELECTOR`); returns how many. */
  delete(selector: RouteSelector): number {
    let removed = 0
    for (const table of [this.main, this.local]) {
      let changed = false
      for (const buckets of table.buckets) {
        for (const [key, bucket] of buckets) {
          const kept = bucket.filter((route) => !matches(route, selector))
          if (kept.length === bucket.length) continue
          removed += bucket.length - kept.length
          changed = true
          if (kept.length === 0) buckets.delete(key)
          else buckets.set(key, kept)
        }
      }
      if (changed) table.reindex()
    }
    if (removed > 0) this.cached = undefined
    return removed
  }

  /**
   * The route for `destination` (unsigned 32-bit): the `local` table first,
   * then `main`; in each the longest matching prefix, then the lowest metric
   * (first added among equal metrics). Allocation-free.
   */
  lookup(destination: number): Route | undefined {
    const d = destination | 0
    return this.local.lookup(d) ?? this.main.lookup(d)
  }

  /** Every route: the `main` table then the `local` table, each by address, shorter prefix first, then metric. */
  routes(): ReadonlyArray<Route> {
    if (this.cached === undefined) this.cached = Object.freeze([...this.list(this.main), ...this.list(this.local)])
    return this.cached
  }

  /** Removes every route out of `device` (the interface went down or away); returns how many. */
  flushDevice(device: NetDevice): number {
    return this.delete({ device })
  }

  /** Number of routes in both tables. */
  get size(): number {
    return this.routes().length
  }

  /**
   * The routes as text, one per line: `ip route show` for `main`,
   * `ip route show table local` for `local`, and without a table both, the
   * `local` ones marked `table local` (as `ip route show table all`).
   */
  format(table?: RouteTable): string {
    const lines: Array<string> = []
    if (table !== "local") for (const route of this.list(this.main)) lines.push(formatRoute(route))
    if (table !== "main") for (const route of this.list(this.local)) lines.push(formatRoute(route, table === undefined))
    return lines.join("\n")
  }

  private list(table: Table): Array<Route> {
    const buckets: Array<ReadonlyArray<Route>> = []
    for (const map of table.buckets) for (const bucket of map.values()) buckets.push(bucket)
    buckets.sort(byPrefix)
    return buckets.flat()
  }
}
