/**
 * The forwarding database of a bridge (IEEE 802.1D-2004 §7.8 "The Filtering
 * Database", §7.9; Linux `net/bridge/br_fdb.c`): which port each station's
 * MAC address was last seen on, learned from the source addresses of
 * received frames, plus static entries the user adds and local entries for
 * the addresses of the bridge and its ports.
 *
 * Pure bookkeeping with times passed in (microseconds on the stack's clock):
 * the bridge device decides when to learn, look up and sweep. A dynamic
 * entry not refreshed for the ageing time is expired: lookups ignore it at
 * once, the next sweep removes it. The number of dynamic entries is bounded
 * (`maxLearned`); past it new addresses are not learned (counted), as Linux's
 * `fdb_max_learned`.
 */
import { macToString } from "@netstack/wire"
import type { NetDevice } from "../net-device.ts"

/**
 * How an entry came to be: `local` (an address of the bridge or of a port:
 * frames to it are for this host; Linux `BR_FDB_LOCAL`, shown `permanent`),
 * `static` (added by the user, never aged or moved; `BR_FDB_STATIC`),
 * `dynamic` (learned, aged).
 */
export type FdbEntryKind = "local" | "static" | "dynamic"

/** One forwarding database entry. */
export interface FdbEntry {
  /** The station's address, 48 bits as a number. */
  readonly mac: number
  /** The port the address is reached through; `undefined` for the bridge's own address. */
  readonly port: NetDevice | undefined
  readonly kind: FdbEntryKind
  /** When the address was last seen as a source (µs), or the entry was added. */
  readonly updated: number
  /** When a frame was last forwarded to the address (µs), or the entry was added. */
  readonly used: number
}

/** The bridge counters the forwarding database updates. */
export interface FdbCounters {
  /** Dynamic entries created. */
  learned: number
  /** Dynamic entries moved to another port (the station moved). */
  moved: number
  /** Dynamic entries removed by ageing. */
  aged: number
  /** New source addresses not learned because the table was at `maxLearned`. */
  learnLimitHits: number
  /** Frames received on a port with one of the bridge's local addresses as source. */
  ownAddressSeen: number
}

/** The result of learning a source address. */
export type LearnResult = "learned" | "refreshed" | "moved" | "limit" | "own-address" | "static" | "disabled"

interface Slot {
  readonly mac: number
  port: NetDevice | undefined
  kind: FdbEntryKind
  updated: number
  used: number
}

/** Linux's default ageing time, `BR_DEFAULT_AGEING_TIME`: 300 s, in µs. */
export const DEFAULT_AGEING_TIME_MICROS = 300_000_000

/** The default bound on dynamic entries. */
export const DEFAULT_FDB_MAX_LEARNED = 8192

/** A bridge's forwarding database. */
export class ForwardingDatabase {
  private readonly slots = new Map<number, Slot>()
  private dynamicCount = 0
  private readonly counters: FdbCounters
  /** Dynamic entries unused for this long (µs) are expired; `Infinity` never ages, `0` learns nothing. */
  ageingMicros: number
  /** The most dynamic entries the table holds. */
  maxLearned: number

  /** An empty table updating `counters`. */
  constructor(counters: FdbCounters, ageingMicros: number, maxLearned: number) {
    this.counters = counters
    this.ageingMicros = ageingMicros
    this.maxLearned = maxLearned
  }

  /** Entries of any kind (expired dynamic ones included until swept). */
  get size(): number {
    return this.slots.size
  }

  /** Dynamic entries (expired ones included until swept). */
  get learnedCount(): number {
    return this.dynamicCount
  }

  private expired(slot: Slot, now: number): boolean {
    return slot.kind === "dynamic" && now - slot.updated >= this.ageingMicros
  }

  /** The live entry for `mac` (`br_fdb_find_rcu`; an expired dynamic entry counts as absent, as `has_expired`). */
  find(mac: number, now: number): FdbEntry | undefined {
    const slot = this.slots.get(mac)
    return slot === undefined || this.expired(slot, now) ? undefined : slot
  }

  /** Records that a frame was forwarded to `mac` now (the `used` time of `bridge -s fdb show`). */
  touch(mac: number, now: number): void {
    const slot = this.slots.get(mac)
    if (slot !== undefined) slot.used = now
  }

  /**
   * Learns that `mac` (a valid unicast source) was seen on `port` now
   * (`br_fdb_update`): refreshes a dynamic entry, moves it if the station
   * moved, creates it if new and the table has room. Local and static
   * entries are left alone (a local address seen on a port is counted, as
   * Linux warns "received packet with own address as source address").
   * With an ageing time of 0 nothing is learned (every entry would be
   * expired at once: the bridge floods everything, like a hub).
   */
  learn(mac: number, port: NetDevice, now: number): LearnResult {
    if (this.ageingMicros <= 0) return "disabled"
    const slot = this.slots.get(mac)
    if (slot !== undefined) {
      if (slot.kind === "local") {
        this.counters.ownAddressSeen++
        return "own-address"
      }
      if (slot.kind === "static") return "static"
      if (!this.expired(slot, now)) {
        slot.updated = now
        if (slot.port === port) return "refreshed"
        slot.port = port
        this.counters.moved++
        return "moved"
      }
      // expired but not swept yet: it ages out here and is learned afresh
      this.slots.delete(mac)
      this.dynamicCount--
      this.counters.aged++
    }
    if (this.dynamicCount >= this.maxLearned) {
      this.counters.learnLimitHits++
      return "limit"
    }
    this.slots.set(mac, { mac, port, kind: "dynamic", updated: now, used: now })
    this.dynamicCount++
    this.counters.learned++
    return "learned"
  }

  /** Adds or replaces a static entry (`bridge fdb add MAC dev PORT master static`); refuses to replace a local one. */
  addStatic(mac: number, port: NetDevice, now: number): boolean {
    const slot = this.slots.get(mac)
    if (slot?.kind === "local") return false
    if (slot?.kind === "dynamic") this.dynamicCount--
    this.slots.set(mac, { mac, port, kind: "static", updated: now, used: now })
    return true
  }

  /** Adds the local entry of an address of the bridge or of a port (`fdb_add_local`), replacing any other. */
  addLocal(mac: number, port: NetDevice | undefined, now: number): void {
    const slot = this.slots.get(mac)
    if (slot?.kind === "dynamic") this.dynamicCount--
    if (slot?.kind === "local") return
    this.slots.set(mac, { mac, port, kind: "local", updated: now, used: now })
  }

  /** Removes the local entry of `mac` if it points at `port`. */
  removeLocal(mac: number, port: NetDevice | undefined): void {
    const slot = this.slots.get(mac)
    if (slot !== undefined && slot.kind === "local" && slot.port === port) this.slots.delete(mac)
  }

  /** Removes a static or dynamic entry (`bridge fdb del`); local entries stay. */
  remove(mac: number): boolean {
    const slot = this.slots.get(mac)
    if (slot === undefined || slot.kind === "local") return false
    if (slot.kind === "dynamic") this.dynamicCount--
    this.slots.delete(mac)
    return true
  }

  /** Removes every entry through `port` (`br_fdb_delete_by_port`); returns how many. */
  flushPort(port: NetDevice): number {
    let n = 0
    for (const slot of [...this.slots.values()]) {
      if (slot.port !== port) continue
      if (slot.kind === "dynamic") this.dynamicCount--
      this.slots.delete(slot.mac)
      n++
    }
    return n
  }

  /** Removes the dynamic entries expired at `now` (`br_fdb_cleanup`); returns how many. */
  expire(now: number): number {
    let n = 0
    for (const slot of [...this.slots.values()]) {
      if (!this.expired(slot, now)) continue
      this.slots.delete(slot.mac)
      this.dynamicCount--
      n++
    }
    this.counters.aged += n
    return n
  }

  /** When the next dynamic entry expires (µs), or `undefined` if none ever does. */
  nextExpiry(): number | undefined {
    if (!Number.isFinite(this.ageingMicros)) return undefined
    let oldest = Infinity
    for (const slot of this.slots.values()) if (slot.kind === "dynamic" && slot.updated < oldest) oldest = slot.updated
    return oldest === Infinity ? undefined : oldest + this.ageingMicros
  }

  /** Every live entry at `now`, by address. */
  entries(now: number): ReadonlyArray<FdbEntry> {
    const out: Array<FdbEntry> = []
    for (const slot of this.slots.values()) if (!this.expired(slot, now)) out.push({ ...slot })
    return out.sort((a, b) => a.mac - b.mac)
  }
}

/** Options of `formatFdb`. */
export interface FormatFdbOptions {
  /** Add `used U/P` (seconds since last used / last updated), as `bridge -s fdb show`. */
  readonly statistics?: boolean | undefined
  /** Now (µs), for the statistics. */
  readonly now?: number | undefined
}

/**
 * The entries as `bridge fdb show` prints them (iproute2 `bridge/fdb.c`
 * `print_fdb`), one line each: `MAC dev PORT master BRIDGE [permanent|static]`,
 * the bridge's own address as `dev BRIDGE master BRIDGE permanent`.
 */
export const formatFdb = (
  bridgeName: string,
  entries: ReadonlyArray<FdbEntry>,
  options: FormatFdbOptions = {}
): string =>
  entries.map((e) => {
    const flag = e.kind === "local" ? " permanent" : e.kind === "static" ? " static" : ""
    const now = options.now ?? 0
    const stats = options.statistics === true
      ? ` used ${Math.max(0, Math.floor((now - e.used) / 1e6))}/${Math.max(0, Math.floor((now - e.updated) / 1e6))}`
      : ""
    return `${macToString(e.mac)} dev ${e.port?.name ?? bridgeName}${stats} master ${bridgeName}${flag}`
  }).join("\n")
