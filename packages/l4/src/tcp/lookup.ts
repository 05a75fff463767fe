/**
 * The TCP lookup tables, as Linux's `inet_hashtables` (net/ipv4/inet_hashtables.c,
 * inet_connection_sock.c):
 *
 * - `EstablishedTable`: connections by 4-tuple, established and TIME_WAIT
 *   (Linux `ehash`), for demultiplexing an arriving segment;
 * - `ListenerTable`: listeners by local port and address, the specific
 *   address preferred over the wildcard (Linux `lhash2`,
 *   `__inet_lookup_listener`);
 * - `BindTable`: which local ports and addresses are taken, with Linux's
 *   EADDRINUSE and SO_REUSEADDR rules (Linux `bhash`, `inet_bind_bucket`,
 *   `inet_csk_bind_conflict`);
 * - `TcpTables`: the three together, and the 4-tuple check the ephemeral
 *   port search of connect() needs (RFC 6056 §2.2; Linux
 *   `__inet_hash_connect`, `__inet_check_established`).
 *
 * Every table is bounded and counts what it refused. Addresses are IPv4
 * addresses as unsigned 32-bit numbers (0 is the wildcard 0.0.0.0), ports
 * 16-bit numbers. Lookups allocate nothing.
 */

/** A connection's 4-tuple, from this host's side. */
export interface FourTuple {
  readonly localAddress: number
  readonly localPort: number
  readonly remoteAddress: number
  readonly remotePort: number
}

/** The wildcard address 0.0.0.0 (INADDR_ANY). */
const ANY_ADDRESS = 0

/** Linux `JHASH_INITVAL`. */
const JHASH_INITVAL = 0xdeadbeef

const rol32 = (x: number, n: number): number => (x << n) | (x >>> (32 - n))

/**
 * Bob Jenkins' lookup3 over three words with a seed (Linux `jhash_3words`),
 * the hash Linux keys with a random secret for the established table
 * (`inet_ehashfn`: laddr, faddr, lport << 16 | fport).
 */
const jhash3 = (a0: number, b0: number, c0: number, seed: number): number => {
  const init = (seed + JHASH_INITVAL + 12) | 0
  let a = (a0 + init) | 0
  let b = (b0 + init) | 0
  let c = (c0 + init) | 0
  // __jhash_final
  c ^= b
  c = (c - rol32(b, 14)) | 0
  a ^= c
  a = (a - rol32(c, 11)) | 0
  b ^= a
  b = (b - rol32(a, 25)) | 0
  c ^= b
  c = (c - rol32(b, 16)) | 0
  a ^= c
  a = (a - rol32(c, 4)) | 0
  b ^= a
  b = (b - rol32(a, 14)) | 0
  c ^= b
  c = (c - rol32(b, 24)) | 0
  return c
}

/**
 * The keyed hash of a 4-tuple the established table uses (Linux
 * `inet_ehashfn`: jhash over laddr, faddr, lport << 16 | fport under a
 * secret `seed`), a signed 32-bit number. Other per-connection tables (the
 * net-channel classifier) key with it so a peer cannot aim its tuples at one chain.
 */
export const fourTupleHash = (
  localAddress: number,
  localPort: number,
  remoteAddress: number,
  remotePort: number,
  seed: number
): number => jhash3(localAddress >>> 0, remoteAddress >>> 0, ((localPort & 0xffff) << 16) | (remotePort & 0xffff), seed | 0)

// ---------------------------------------------------------------------------
// Established and TIME_WAIT connections

/** What `EstablishedTable.insert` did: added the connection, or refused it (the 4-tuple is taken, or the table is full). */
export type EstablishedInsert = "inserted" | "exists" | "full"

/** What `EstablishedTable.enterTimeWait` did: put the TIME_WAIT connection in place, found no entry for the 4-tuple, or refused (TIME_WAIT limit reached). */
export type TimeWaitResult = "replaced" | "missing" | "full"

/** The established table's counters. */
export class EstablishedStats {
  /** Connections inserted. */
  inserted = 0
  /** Connections removed. */
  removed = 0
  /** Insertions refused: the 4-tuple was taken. */
  refusedExists = 0
  /** Insertions refused: `maxEntries` reached. */
  refusedFull = 0
  /** Connections that could not enter TIME_WAIT: `maxTimeWait` reached (Linux `TCPTimeWaitOverflow`). */
  timeWaitOverflow = 0
}

/** Settings of an `EstablishedTable`. */
export interface EstablishedTableOptions {
  /** Most entries, TIME_WAIT ones included (ours: 65 536). */
  readonly maxEntries?: number
  /** Most entries in TIME_WAIT (Linux `tcp_max_tw_buckets`; ours: 32 768). */
  readonly maxTimeWait?: number
  /** Bits of the tuple hash used as the bucket key, 1 to 30 (30: small integers V8 keeps unboxed). Fewer only to test collision chains. */
  readonly hashBits?: number
}

/** One entry: the 4-tuple, the connection, and the next entry of the same bucket. */
class Entry<C> implements FourTuple {
  readonly localAddress: number
  readonly localPort: number
  readonly remoteAddress: number
  readonly remotePort: number
  connection: C
  timeWait: boolean
  next: Entry<C> | undefined = undefined

  constructor(tuple: FourTuple, connection: C) {
    this.localAddress = tuple.localAddress >>> 0
    this.localPort = tuple.localPort & 0xffff
    this.remoteAddress = tuple.remoteAddress >>> 0
    this.remotePort = tuple.remotePort & 0xffff
    this.connection = connection
    this.timeWait = false
  }
}

/**
 * Connections by 4-tuple (Linux `ehash`), established and TIME_WAIT alike:
 * a `Map` from a keyed hash of the 4-tuple to a chain of entries, each
 * compared on the full 4-tuple. The hash is Linux's `inet_ehashfn`
 * (jhash under a random secret), so a peer cannot aim its tuples at one
 * chain. At most one entry per 4-tuple.
 */
export class EstablishedTable<C> {
  /** The counters. */
  readonly stats = new EstablishedStats()
  private readonly buckets = new Map<number, Entry<C>>()
  private readonly seed: number
  private readonly mask: number
  private readonly maxEntries: number
  private readonly maxTimeWait: number
  private count = 0
  private timeWaits = 0

  /** An empty table whose hash secret is drawn from `random` (uniform in [0, 1)). */
  constructor(random: () => number, options: EstablishedTableOptions = {}) {
    this.seed = Math.floor(random() * 4294967296) | 0
    const bits = Math.min(30, Math.max(1, Math.floor(options.hashBits ?? 30)))
    this.mask = bits >= 30 ? 0x3fffffff : (1 << bits) - 1
    this.maxEntries = Math.max(0, Math.floor(options.maxEntries ?? 65_536))
    this.maxTimeWait = Math.max(0, Math.floor(options.maxTimeWait ?? 32_768))
  }

  /** Entries, TIME_WAIT ones included. */
  get size(): number {
    return this.count
  }

  /** Entries in TIME_WAIT. */
  get timeWaitCount(): number {
    return this.timeWaits
  }

  private key(la: number, lp: number, ra: number, rp: number): number {
    return jhash3(la, ra, ((lp & 0xffff) << 16) | (rp & 0xffff), this.seed) & this.mask
  }

  private find(la: number, lp: number, ra: number, rp: number): Entry<C> | undefined {
    la >>>= 0
    ra >>>= 0
    lp &= 0xffff
    rp &= 0xffff
    let e = this.buckets.get(this.key(la, lp, ra, rp))
    while (e !== undefined) {
      if (e.localAddress === la && e.remoteAddress === ra && e.localPort === lp && e.remotePort === rp) return e
      e = e.next
    }
    return undefined
  }

  /** The connection an arriving segment belongs to, by the segment's destination (local) and source (remote) address and port. */
  lookup(localAddress: number, localPort: number, remoteAddress: number, remotePort: number): C | undefined {
    return this.find(localAddress, localPort, remoteAddress, remotePort)?.connection
  }

  /** Whether the entry for this 4-tuple is in TIME_WAIT (false when there is none). */
  isTimeWait(localAddress: number, localPort: number, remoteAddress: number, remotePort: number): boolean {
    return this.find(localAddress, localPort, remoteAddress, remotePort)?.timeWait ?? false
  }

  /**
   * Whether connect() may use this 4-tuple (Linux `__inet_check_established`):
   * no entry holds it, or a TIME_WAIT entry does that `reuseTimeWait`
   * accepts (Linux `tcp_twsk_unique`, `tcp_tw_reuse`). In the second case
   * the caller removes the TIME_WAIT entry before inserting its own.
   */
  isFree(
    localAddress: number,
    localPort: number,
    remoteAddress: number,
    remotePort: number,
    reuseTimeWait?: (connection: C) => boolean
  ): boolean {
    const e = this.find(localAddress, localPort, remoteAddress, remotePort)
    if (e === undefined) return true
    return e.timeWait && reuseTimeWait !== undefined && reuseTimeWait(e.connection)
  }

  /** Adds a connection under its 4-tuple; refused when the 4-tuple is taken or the table is full. */
  insert(tuple: FourTuple, connection: C): EstablishedInsert {
    if (this.find(tuple.localAddress, tuple.localPort, tuple.remoteAddress, tuple.remotePort) !== undefined) {
      this.stats.refusedExists++
      return "exists"
    }
    if (this.count >= this.maxEntries) {
      this.stats.refusedFull++
      return "full"
    }
    const e = new Entry(tuple, connection)
    const k = this.key(e.localAddress, e.localPort, e.remoteAddress, e.remotePort)
    e.next = this.buckets.get(k)
    this.buckets.set(k, e)
    this.count++
    this.stats.inserted++
    return "inserted"
  }

  /**
   * Puts `connection` (the TIME_WAIT state of the connection, the same
   * object or a smaller one) in place of the entry for `tuple` (Linux
   * `inet_twsk_hashdance`). Past `maxTimeWait` the entry is left as it was
   * and the caller closes without TIME_WAIT (Linux `tcp_time_wait`,
   * counted `TCPTimeWaitOverflow`).
   */
  enterTimeWait(tuple: FourTuple, connection: C): TimeWaitResult {
    const e = this.find(tuple.localAddress, tuple.localPort, tuple.remoteAddress, tuple.remotePort)
    if (e === undefined) return "missing"
    if (!e.timeWait) {
      if (this.timeWaits >= this.maxTimeWait) {
        this.stats.timeWaitOverflow++
        return "full"
      }
      e.timeWait = true
      this.timeWaits++
    }
    e.connection = connection
    return "replaced"
  }

  /** Removes the entry for `tuple`: any, or only if it holds `connection`. Whether one was removed. */
  remove(tuple: FourTuple, connection?: C): boolean {
    const la = tuple.localAddress >>> 0
    const lp = tuple.localPort & 0xffff
    const ra = tuple.remoteAddress >>> 0
    const rp = tuple.remotePort & 0xffff
    const k = this.key(la, lp, ra, rp)
    let prev: Entry<C> | undefined = undefined
    let e = this.buckets.get(k)
    while (e !== undefined) {
      if (e.localAddress === la && e.remoteAddress === ra && e.localPort === lp && e.remotePort === rp) {
        if (connection !== undefined && e.connection !== connection) return false
        if (prev !== undefined) prev.next = e.next
        else if (e.next !== undefined) this.buckets.set(k, e.next)
        else this.buckets.delete(k)
        e.next = undefined
        this.count--
        if (e.timeWait) this.timeWaits--
        this.stats.removed++
        return true
      }
      prev = e
      e = e.next
    }
    return false
  }

  /** Calls `f` with every connection and its 4-tuple (the table must not change meanwhile). */
  forEach(f: (connection: C, tuple: FourTuple) => void): void {
    for (const head of this.buckets.values()) {
      for (let e: Entry<C> | undefined = head; e !== undefined; e = e.next) f(e.connection, e)
    }
  }
}

// ---------------------------------------------------------------------------
// Listeners

/** What `ListenerTable.insert` did. */
export type ListenerInsert = "inserted" | "exists" | "full"

/** The listener table's counters. */
export class ListenerStats {
  /** Insertions refused: a listener holds that address and port. */
  refusedExists = 0
  /** Insertions refused: `maxListeners` reached. */
  refusedFull = 0
}

/** Settings of a `ListenerTable`. */
export interface ListenerTableOptions {
  /** Most listeners (ours: 4096). */
  readonly maxListeners?: number
}

/** The listeners of one port: the wildcard one and those on specific addresses. */
class PortListeners<L> {
  wildcard: L | undefined = undefined
  readonly exact = new Map<number, L>()
}

/**
 * Listeners by local port and address (Linux `lhash2`). A SYN goes to the
 * listener on its destination address if there is one, else to the
 * wildcard listener on its port: Linux `__inet_lookup_listener` scores an
 * exact `rcv_saddr` match above a wildcard one (`compute_score`). One
 * listener per address and port (SO_REUSEPORT is not supported; bound
 * devices are not scored).
 */
export class ListenerTable<L> {
  /** The counters. */
  readonly stats = new ListenerStats()
  private readonly ports = new Map<number, PortListeners<L>>()
  private readonly maxListeners: number
  private count = 0

  /** An empty table. */
  constructor(options: ListenerTableOptions = {}) {
    this.maxListeners = Math.max(0, Math.floor(options.maxListeners ?? 4096))
  }

  /** Listeners held. */
  get size(): number {
    return this.count
  }

  /** The listener for a SYN to `localAddress`:`localPort`: the one on that address, else the wildcard one. */
  lookup(localAddress: number, localPort: number): L | undefined {
    const p = this.ports.get(localPort & 0xffff)
    if (p === undefined) return undefined
    return p.exact.get(localAddress >>> 0) ?? p.wildcard
  }

  /** The listener on exactly this address (0: the wildcard) and port. */
  get(address: number, port: number): L | undefined {
    const p = this.ports.get(port & 0xffff)
    if (p === undefined) return undefined
    return (address >>> 0) === ANY_ADDRESS ? p.wildcard : p.exact.get(address >>> 0)
  }

  /** Adds a listener on `address` (0: every address) and `port`; refused if one is there or the table is full. */
  insert(address: number, port: number, listener: L): ListenerInsert {
    address >>>= 0
    port &= 0xffff
    if (this.get(address, port) !== undefined) {
      this.stats.refusedExists++
      return "exists"
    }
    if (this.count >= this.maxListeners) {
      this.stats.refusedFull++
      return "full"
    }
    let p = this.ports.get(port)
    if (p === undefined) {
      p = new PortListeners<L>()
      this.ports.set(port, p)
    }
    if (address === ANY_ADDRESS) p.wildcard = listener
    else p.exact.set(address, listener)
    this.count++
    return "inserted"
  }

  /** Removes the listener on `address` and `port`: any, or only if it is `listener`. Whether one was removed. */
  remove(address: number, port: number, listener?: L): boolean {
    address >>>= 0
    port &= 0xffff
    const p = this.ports.get(port)
    if (p === undefined) return false
    const held = address === ANY_ADDRESS ? p.wildcard : p.exact.get(address)
    if (held === undefined || (listener !== undefined && held !== listener)) return false
    if (address === ANY_ADDRESS) p.wildcard = undefined
    else p.exact.delete(address)
    if (p.wildcard === undefined && p.exact.size === 0) this.ports.delete(port)
    this.count--
    return true
  }
}

// ---------------------------------------------------------------------------
// Bound ports

/** Why `BindTable` refused: the address and port are taken (EADDRINUSE), or the table is full. */
export type BindRefusal = "addressInUse" | "full"

/** A socket's hold on a local address and port, from `BindTable`; give it back with `BindTable.release`. */
export interface TcpBinding {
  /** The local address (0: every address). */
  readonly address: number
  readonly port: number
  /** SO_REUSEADDR was set when it was bound. */
  readonly reuseAddress: boolean
  /** Made by connect() choosing a port (Linux `inet_hash_connect`, bucket `fastreuse = -1`), not by bind(). */
  readonly byConnect: boolean
  /** The socket listens. */
  readonly listening: boolean
  /** Not yet released. */
  readonly held: boolean
}

/** Options of `BindTable.bind`. */
export interface BindOptions {
  /** SO_REUSEADDR. */
  readonly reuseAddress?: boolean
}

/** The bind table's counters. */
export class BindStats {
  /** Bindings refused with EADDRINUSE (bind(), connect()'s port, or listen()). */
  refusedInUse = 0
  /** Bindings refused: `maxBindings` reached. */
  refusedFull = 0
}

/** Settings of a `BindTable`. */
export interface BindTableOptions {
  /** Most bindings held (ours: 131 072; every connection holds one). */
  readonly maxBindings?: number
}

/** One owner of a port (Linux: a socket on `tb->owners`). */
class Owner implements TcpBinding {
  readonly address: number
  readonly port: number
  readonly reuseAddress: boolean
  readonly byConnect: boolean
  listening = false
  held = true
  readonly table: BindTable

  constructor(table: BindTable, address: number, port: number, reuseAddress: boolean, byConnect: boolean) {
    this.table = table
    this.address = address
    this.port = port
    this.reuseAddress = reuseAddress
    this.byConnect = byConnect
  }

  /** Whether a SO_REUSEADDR newcomer still conflicts with this owner: it lacks SO_REUSEADDR or listens. */
  get blocking(): boolean {
    return !this.reuseAddress || this.listening
  }
}

/** Owners of one port on one address. */
class Group {
  owners = 0
  /** Owners that conflict even with a SO_REUSEADDR newcomer. */
  blocking = 0
}

/**
 * Owners of one port (Linux `inet_bind_bucket`), grouped by address. Most
 * ports are held on one address (an ephemeral port by connect()), so the
 * first group is a field and a `Map` is made only for a second address.
 */
class Bucket {
  /** The address of `first`, while it is the only group. */
  private firstAddress = 0
  private first: Group | undefined = undefined
  /** Every group, once there are two addresses (and from then on). */
  private groups: Map<number, Group> | undefined = undefined
  /** Owners made by bind() or inherited from a listener (Linux `fastreuse >= 0`): connect() does not pick this port. */
  byBind = 0
  owners = 0

  /** The owners on `address`, if any. */
  group(address: number): Group | undefined {
    if (this.groups !== undefined) return this.groups.get(address)
    return this.first !== undefined && this.firstAddress === address ? this.first : undefined
  }

  /** The owners on `address`, made if there are none. */
  groupFor(address: number): Group {
    const found = this.group(address)
    if (found !== undefined) return found
    const group = new Group()
    if (this.groups !== undefined) {
      this.groups.set(address, group)
    } else if (this.first === undefined) {
      this.firstAddress = address
      this.first = group
    } else {
      this.groups = new Map([[this.firstAddress, this.first], [address, group]])
      this.first = undefined
    }
    return group
  }

  /** Forgets the (empty) group on `address`. */
  remove(address: number): void {
    if (this.groups !== undefined) this.groups.delete(address)
    else if (this.firstAddress === address) this.first = undefined
  }

  /** Whether any group satisfies `test`. */
  some(test: (group: Group) => boolean): boolean {
    if (this.groups === undefined) return this.first !== undefined && test(this.first)
    for (const group of this.groups.values()) if (test(group)) return true
    return false
  }
}

/**
 * Local ports and addresses in use (Linux `bhash`), reference counted: one
 * binding per socket, so many connections share a port.
 *
 * The conflict rule is Linux's `inet_bind_conflict` as bind() applies it
 * (`inet_csk_get_port`, relax = true), without SO_REUSEPORT or bound
 * devices: a new binding on a port conflicts with an existing one whose
 * address overlaps it (equal, or either is 0.0.0.0), unless both have
 * SO_REUSEADDR and the existing one does not listen. So:
 *
 * - without SO_REUSEADDR, an address and port held by any socket (bound,
 *   listening, connected, TIME_WAIT) is EADDRINUSE, and the wildcard
 *   conflicts with every address on its port and vice versa;
 * - with SO_REUSEADDR on both, a socket binds beside connections and
 *   TIME_WAIT entries that hold the port (a restarted server: accepted
 *   connections and their TIME_WAIT keep the listener's SO_REUSEADDR), but
 *   never beside a listener; `listen` checks again, so two sockets bound
 *   together with SO_REUSEADDR cannot both listen.
 *
 * connect() takes a port with `bindConnect`, only on ports no bind() holds
 * (Linux `__inet_hash_connect` skips buckets with `fastreuse >= 0`) and
 * with the 4-tuple checked in the established table instead.
 */
export class BindTable {
  /** The counters. */
  readonly stats = new BindStats()
  private readonly buckets = new Map<number, Bucket>()
  private readonly maxBindings: number
  private count = 0

  /** An empty table. */
  constructor(options: BindTableOptions = {}) {
    this.maxBindings = Math.max(0, Math.floor(options.maxBindings ?? 131_072))
  }

  /** Bindings held. */
  get size(): number {
    return this.count
  }

  /** How many bindings hold `port` (any address). */
  owners(port: number): number {
    return this.buckets.get(port & 0xffff)?.owners ?? 0
  }

  /** Whether bind(`address`, `port`) with this SO_REUSEADDR would fail with EADDRINUSE now. */
  conflicts(address: number, port: number, reuseAddress: boolean): boolean {
    const bucket = this.buckets.get(port & 0xffff)
    if (bucket === undefined) return false
    address >>>= 0
    const blocks = (g: Group | undefined): boolean => g !== undefined && (reuseAddress ? g.blocking > 0 : g.owners > 0)
    if (address !== ANY_ADDRESS) return blocks(bucket.group(address)) || blocks(bucket.group(ANY_ADDRESS))
    return bucket.some(blocks)
  }

  /** Whether connect() may take `port` for a new 4-tuple: nothing bound by bind() holds it (Linux `__inet_hash_connect`). */
  isConnectOnly(port: number): boolean {
    return (this.buckets.get(port & 0xffff)?.byBind ?? 0) === 0
  }

  /** bind(): takes `address`:`port` unless that conflicts (EADDRINUSE) or the table is full. */
  bind(address: number, port: number, options: BindOptions = {}): TcpBinding | BindRefusal {
    const reuse = options.reuseAddress ?? false
    if (this.conflicts(address, port, reuse)) {
      this.stats.refusedInUse++
      return "addressInUse"
    }
    return this.add(address, port, reuse, false)
  }

  /**
   * connect() taking `port` on `address` after checking the 4-tuple is free
   * (Linux `__inet_hash_connect` → `inet_bind_hash`): allowed on a port no
   * bind() holds, beside other connections.
   */
  bindConnect(address: number, port: number): TcpBinding | BindRefusal {
    if (!this.isConnectOnly(port)) {
      this.stats.refusedInUse++
      return "addressInUse"
    }
    return this.add(address, port, false, true)
  }

  /**
   * An accepted connection joins its listener's port on the address the
   * SYN came to, with the listener's SO_REUSEADDR, without a conflict check
   * (Linux `inet_inherit_port`). Refused only when the table is full.
   */
  inherit(listener: TcpBinding, localAddress: number): TcpBinding | "full" {
    const r = this.add(localAddress, listener.port, listener.reuseAddress, listener.byConnect)
    return r === "addressInUse" ? "full" : r
  }

  /**
   * listen() on a held binding: checks the conflict rule again against the
   * other owners, now that this one listens (Linux `inet_csk_listen_start`
   * calls `get_port` again). False (EADDRINUSE, counted) if it conflicts.
   */
  listen(binding: TcpBinding): boolean {
    const owner = this.own(binding)
    if (owner === undefined) return false
    if (owner.listening) return true
    this.account(owner, -1)
    const clash = this.conflicts(owner.address, owner.port, owner.reuseAddress)
    if (!clash) owner.listening = true
    this.account(owner, +1)
    if (clash) this.stats.refusedInUse++
    return !clash
  }

  /** Gives a binding back. Whether it was held (releasing twice does nothing). */
  release(binding: TcpBinding): boolean {
    const owner = this.own(binding)
    if (owner === undefined) return false
    this.account(owner, -1)
    owner.held = false
    this.count--
    return true
  }

  private own(binding: TcpBinding): Owner | undefined {
    return binding instanceof Owner && binding.table === this && binding.held ? binding : undefined
  }

  private add(address: number, port: number, reuse: boolean, byConnect: boolean): TcpBinding | BindRefusal {
    if (this.count >= this.maxBindings) {
      this.stats.refusedFull++
      return "full"
    }
    const owner = new Owner(this, address >>> 0, port & 0xffff, reuse, byConnect)
    this.account(owner, +1)
    this.count++
    return owner
  }

  /** Adds (+1) or takes away (−1) an owner's share of its bucket and group. */
  private account(owner: Owner, delta: 1 | -1): void {
    let bucket = this.buckets.get(owner.port)
    if (bucket === undefined) {
      bucket = new Bucket()
      this.buckets.set(owner.port, bucket)
    }
    const group = bucket.groupFor(owner.address)
    group.owners += delta
    if (owner.blocking) group.blocking += delta
    bucket.owners += delta
    if (!owner.byConnect) bucket.byBind += delta
    if (group.owners === 0) bucket.remove(owner.address)
    if (bucket.owners === 0) this.buckets.delete(owner.port)
  }
}

// ---------------------------------------------------------------------------
// The three together

/** Settings of `TcpTables`. */
export interface TcpTablesOptions extends EstablishedTableOptions, ListenerTableOptions, BindTableOptions {}

/** A host's TCP lookup tables (Linux `inet_hashinfo`). */
export class TcpTables<C, L> {
  /** Connections by 4-tuple. */
  readonly established: EstablishedTable<C>
  /** Listeners by port and address. */
  readonly listeners: ListenerTable<L>
  /** Ports in use. */
  readonly ports: BindTable

  /** Empty tables; the established table's hash secret comes from `random` (uniform in [0, 1)). */
  constructor(random: () => number, options: TcpTablesOptions = {}) {
    this.established = new EstablishedTable<C>(random, options)
    this.listeners = new ListenerTable<L>(options)
    this.ports = new BindTable(options)
  }

  /**
   * Whether connect() may use `localPort` for this 4-tuple (RFC 6056 §2.2:
   * a local port may serve several connections as long as their 4-tuples
   * differ; Linux `__inet_hash_connect`): no bind() holds the port, and no
   * connection holds the 4-tuple (a TIME_WAIT one only if `reuseTimeWait`
   * accepts it; the caller then removes it). Taking the port is
   * `ports.bindConnect`, then `established.insert`.
   */
  isFourTupleFree(
    localAddress: number,
    localPort: number,
    remoteAddress: number,
    remotePort: number,
    reuseTimeWait?: (connection: C) => boolean
  ): boolean {
    return this.ports.isConnectOnly(localPort) &&
      this.established.isFree(localAddress, localPort, remoteAddress, remotePort, reuseTimeWait)
  }
}
