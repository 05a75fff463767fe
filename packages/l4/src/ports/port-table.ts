/**
 * The local ports bound by one transport protocol of one host (Linux's
 * `udp_table` / `inet_bind_hashbucket`): who holds which (local address,
 * port), with 0.0.0.0 the wildcard address (INADDR_ANY, every local
 * address).
 *
 * Conflicts are Linux's (`udp_lib_lport_inuse`, `inet_bind_conflict`): two
 * bindings of one port conflict when their addresses are equal or either is
 * the wildcard, unless both set SO_REUSEADDR (`reuseAddress`). A conflict is
 * EADDRINUSE. With SO_REUSEADDR on every binding of a port, several sockets
 * share it: they all hear broadcasts; a unicast datagram goes to one of
 * them (the caller's lookup decides; UDP picks the most recently bound of
 * the best matches, as Linux's hash chain puts new sockets first).
 * SO_REUSEPORT, bound devices and the TIME-WAIT subtleties of TCP are not
 * modelled.
 *
 * The table is bounded: beyond `capacity` bindings a bind fails with
 * `PortTableFull` (ENOBUFS), so a flood of binds costs bounded memory.
 */
import { ipv4ToString } from "@netstack/wire"
import { Schema } from "effect"

/** The wildcard local address (INADDR_ANY). */
export const ANY_ADDRESS = 0

/** One bound (local address, port) and its owner (a socket). */
export interface PortBinding<S> {
  /** The local address, or 0 for every address (may change once: a connect fills a wildcard with the route's source). */
  address: number
  readonly port: number
  /** SO_REUSEADDR. */
  readonly reuseAddress: boolean
  readonly owner: S
}

/** The (address, port) is taken (EADDRINUSE). */
export class PortInUse extends Schema.TaggedError<PortInUse>()("PortInUse", {
  address: Schema.String,
  port: Schema.Number
}) {}

/** The table holds `capacity` bindings already (ENOBUFS). */
export class PortTableFull extends Schema.TaggedError<PortTableFull>()("PortTableFull", {
  capacity: Schema.Number
}) {}

/** How a port table is built. */
export interface PortTableOptions {
  /** Most bindings at once; default 65536. */
  readonly capacity?: number
}

/** The bound ports of one protocol. */
export class PortTable<S> {
  /** Most bindings at once. */
  readonly capacity: number
  /** Bindings by port, newest first. */
  private readonly byPort = new Map<number, Array<PortBinding<S>>>()
  private count = 0

  constructor(options: PortTableOptions = {}) {
    this.capacity = options.capacity ?? 65536
  }

  /** Bindings held. */
  get size(): number {
    return this.count
  }

  /** True when binding (`address`, `port`) with `reuseAddress` would conflict with a binding held. */
  conflicts(address: number, port: number, reuseAddress: boolean): boolean {
    const list = this.byPort.get(port)
    if (list === undefined) return false
    for (const b of list) {
      if (b.address !== address && b.address !== ANY_ADDRESS && address !== ANY_ADDRESS) continue
      if (!(reuseAddress && b.reuseAddress)) return true
    }
    return false
  }

  /** Why binding (`address`, `port`) would fail now, or undefined when it would succeed. */
  check(address: number, port: number, reuseAddress = false): PortInUse | PortTableFull | undefined {
    if (this.conflicts(address, port, reuseAddress)) return new PortInUse({ address: ipv4ToString(address), port })
    if (this.count >= this.capacity) return new PortTableFull({ capacity: this.capacity })
    return undefined
  }

  /** Binds (`address`, `port`) for `owner`, or says why not. `port` must be 1 to 65535 (the caller picks ephemeral ports). */
  bind(address: number, port: number, owner: S, reuseAddress = false): PortBinding<S> | PortInUse | PortTableFull {
    return this.check(address, port, reuseAddress) ?? this.insert(address, port, owner, reuseAddress)
  }

  /** Adds a binding without checking: only after `check` said yes (for owners that need their binding while they are built). */
  insert(address: number, port: number, owner: S, reuseAddress = false): PortBinding<S> {
    const binding: PortBinding<S> = { address, port, reuseAddress, owner }
    const list = this.byPort.get(port)
    if (list === undefined) this.byPort.set(port, [binding])
    else list.unshift(binding)
    this.count++
    return binding
  }

  /** Releases a binding; false if it was not held. */
  unbind(binding: PortBinding<S>): boolean {
    const list = this.byPort.get(binding.port)
    if (list === undefined) return false
    const i = list.indexOf(binding)
    if (i < 0) return false
    list.splice(i, 1)
    if (list.length === 0) this.byPort.delete(binding.port)
    this.count--
    return true
  }

  /** The bindings of `port`, newest first (empty when none). */
  bindingsOn(port: number): ReadonlyArray<PortBinding<S>> {
    return this.byPort.get(port) ?? EMPTY
  }

  /** Every binding (for listings such as `ss -u -a`). */
  all(): ReadonlyArray<PortBinding<S>> {
    return [...this.byPort.values()].flat()
  }
}

const EMPTY: ReadonlyArray<never> = []
