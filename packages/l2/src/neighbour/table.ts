/**
 * The neighbour table for IPv4 over Ethernet: ARP (RFC 826) with Linux's
 * neighbour state machine (`net/core/neighbour.c`, `net/ipv4/arp.c`).
 *
 * Output (`neigh_resolve_output`, `__neigh_event_send`): a packet to a
 * REACHABLE, DELAY, PROBE or PERMANENT neighbour gets its Ethernet header
 * and goes to the link layer; to a STALE one likewise, and the entry moves
 * to DELAY; otherwise it waits on the entry (at most `unres_qlen`, oldest
 * dropped first) while broadcast requests go out every `retrans_time`,
 * `mcast_solicit` of them (RFC 1122 §2.3.2.1). A reply releases the queue in
 * order; no reply hands every queued packet to `unreachable` (RFC 1122
 * §2.3.2.2) and the entry becomes FAILED.
 *
 * Timers (`neigh_timer_handler`): REACHABLE lasts the randomized reachable
 * time after the last confirmation, then becomes STALE (or DELAY if the
 * entry was used within `delay_first_probe_time`); DELAY becomes REACHABLE
 * if confirmed meanwhile, otherwise PROBE, which sends `ucast_solicit`
 * unicast requests `retrans_time` apart and then fails.
 *
 * Receive (`arp_rcv`, `arp_process`; RFC 826 "Packet Reception"): a
 * request for one of our addresses is answered and its sender learned
 * (STALE); any ARP from a known neighbour updates its entry (the merge
 * flag), REACHABLE for a unicast reply, STALE otherwise; unsolicited ARP
 * from strangers creates nothing (Linux's `arp_accept` = 0).
 *
 * GC (`neigh_periodic_work`, `neigh_forced_gc`): bounded by `gc_thresh3`
 * entries of at most `unres_qlen` packets each.
 *
 * Everything runs synchronously on the caller's stack or on the host's
 * `TimerQueue`; drops are counted in the link layer's `DropCounters`.
 */
import type { PacketBuffer } from "@netstack/buffers"
import {
  ArpOperations,
  ArpView,
  BROADCAST_MAC,
  emitEthernet,
  EtherTypes,
  ipv4ToString,
  isMulticastMac,
  readU32
} from "@netstack/wire"
import type { DropCounters } from "../drops.ts"
import type { LinkLayer } from "../link-layer.ts"
import type { NetDevice } from "../net-device.ts"
import type { TimerHandle, TimerQueue } from "../timers.ts"
import {
  buildArpFrame,
  ipv4MulticastMac,
  isIpv4Loopback,
  isIpv4Multicast,
  LIMITED_BROADCAST
} from "./arp.ts"
import { formatNeighbour, type NeighbourEntry } from "./format.ts"
import { type NeighbourParameters, resolveNeighbourParameters } from "./parameters.ts"
import { isConnectedState, isTimerState, isValidState, type NeighbourState } from "./state.ts"
import { neighbourCountersOf, NeighbourStats } from "./stats.ts"

/** What the neighbour subsystem needs from the network layer. */
export interface AddressBook {
  /** Whether `address` (IPv4, u32) is one of this host's addresses on `device` (answer ARP requests for it). */
  readonly isLocal: (device: NetDevice, address: number) => boolean
  /** The sender address for an ARP request for `target` on `device` (RFC 1122 §2.3.2.1: preferably one on the same subnet), or undefined. */
  readonly sourceFor: (device: NetDevice, target: number) => number | undefined
}

/** How a neighbour table is built. */
export interface NeighbourOptions {
  readonly link: LinkLayer
  readonly timers: TimerQueue
  /** A uniform random number in [0, 1) (the stack passes Effect's seeded Random), for the randomized reachable time. */
  readonly random: () => number
  readonly addresses: AddressBook
  /** Called once for each packet dropped because resolution failed (the network layer sends ICMP host unreachable, RFC 1122 §2.3.2.2). The callee owns the packet. */
  readonly unreachable: (packet: PacketBuffer, device: NetDevice) => void
  readonly parameters?: Partial<NeighbourParameters>
}

/** How `output` maps the next hop to a MAC. */
export type NeighbourOutputKind = "unicast" | "broadcast" | "multicast"

/** The smallest timer step (Linux `HZ/100`). */
const MIN_TIMER_MICROS = 10_000
/** Linux's `next = now + HZ` default step of the timer handler. */
const DEFAULT_TIMER_MICROS = 1_000_000
/** The forced GC runs at most this often above `gc_thresh2`, and spares entries updated this recently (`5 * HZ`). */
const FORCED_GC_INTERVAL_MICROS = 5_000_000
/** The reachable time is drawn again this often (`neigh_periodic_work`: `300 * HZ`). */
const REACHABLE_TIME_REFRESH_MICROS = 300_000_000

/** `__neigh_update` flags. */
const UPDATE_OVERRIDE = 1
const UPDATE_ADMIN = 2

const isU32 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffffffff
const isMac = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= BROADCAST_MAC

/** One neighbour (Linux `struct neighbour`). */
class Entry {
  readonly device: NetDevice
  readonly address: number
  state: NeighbourState = "NONE"
  /** `ha`: meaningful while the state is valid (kept after FAILED, as Linux does). */
  mac = 0
  /** `arp_queue`: packets waiting for resolution, oldest first. */
  queue: Array<PacketBuffer> = []
  probes = 0
  updated: number
  confirmed: number
  used: number
  timer: TimerHandle | undefined = undefined
  dead = false
  /** Runs the table's timer handler for this entry (one closure per entry). */
  readonly fire: () => void

  constructor(device: NetDevice, address: number, now: number, confirmed: number, onTimer: (entry: Entry) => void) {
    this.device = device
    this.address = address
    this.updated = now
    this.used = now
    this.confirmed = confirmed
    this.fire = () => onTimer(this)
  }
}

/** A host's ARP cache and neighbour state machine (Linux `arp_tbl`). */
export class NeighbourTable {
  /** `/proc/net/stat/arp_cache`. */
  readonly stats = new NeighbourStats()
  /** The table's parameters (defaults overridden by the options). */
  readonly parameters: NeighbourParameters
  private readonly link: LinkLayer
  private readonly drops: DropCounters
  private readonly timers: TimerQueue
  private readonly random: () => number
  private readonly addresses: AddressBook
  private readonly unreachable: (packet: PacketBuffer, device: NetDevice) => void
  /** ifindex → address → entry. */
  private readonly byDevice = new Map<number, Map<number, Entry>>()
  /** Entries subject to GC (all but PERMANENT), oldest first (Linux `tbl->gc_list`). */
  private readonly gcList = new Set<Entry>()
  private count = 0
  private currentReachableTime: number
  private lastRand: number
  private lastFlush: number
  private gcTimer: TimerHandle | undefined = undefined
  /** Scratch Ethernet fields for `transmit` (no allocation per packet; the stack is single-threaded). */
  private readonly header = { destination: 0, source: 0, etherType: EtherTypes.ipv4 }
  private readonly gcFire = (): void => this.periodicGc()
  private readonly timerFire = (entry: Entry): void => this.timerHandler(entry)

  private constructor(options: NeighbourOptions) {
    this.link = options.link
    this.drops = options.link.drops
    this.timers = options.timers
    this.random = options.random
    this.addresses = options.addresses
    this.unreachable = options.unreachable
    this.parameters = resolveNeighbourParameters(options.parameters)
    const now = this.timers.now()
    this.currentReachableTime = this.drawReachableTime()
    this.lastRand = now
    this.lastFlush = now
  }

  /** A table sending through `options.link` and timing with `options.timers`. */
  static make(options: NeighbourOptions): NeighbourTable {
    return new NeighbourTable(options)
  }

  // ------------------------------------------------------------------ output

  /**
   * Sends an IPv4 packet (data at its IP header) to `nextHop` through
   * `device`: fills the Ethernet header and hands it to `link.transmit` when
   * the neighbour is known; otherwise queues it on the entry and starts
   * resolution. `kind` "broadcast" uses ff:ff:ff:ff:ff:ff, "multicast" the
   * RFC 1112 §6.4 MAC; a loopback device needs no resolution (its own MAC,
   * 0). The table owns the packet from here.
   */
  output(device: NetDevice, nextHop: number, packet: PacketBuffer, kind: NeighbourOutputKind = "unicast"): void {
    // Linux `arp_constructor`: NOARP devices, broadcast and multicast need no resolution.
    if (device.kind === "loopback") return this.transmit(device, device.mac, packet)
    if (kind === "broadcast" || nextHop === LIMITED_BROADCAST) return this.transmit(device, BROADCAST_MAC, packet)
    if (!isU32(nextHop)) return this.drop(packet, "neigh.bad-address")
    if (kind === "multicast" || isIpv4Multicast(nextHop)) return this.transmit(device, ipv4MulticastMac(nextHop), packet)
    let entry = this.lookup(device, nextHop)
    if (entry === undefined) {
      entry = this.create(device, nextHop, false)
      // `ip_finish_output2`: SKB_DROP_REASON_NEIGH_CREATEFAIL.
      if (entry === undefined) return this.drop(packet, "neigh.table-full")
    }
    this.resolveOutput(entry, packet)
  }

  /** `neigh_resolve_output` with `neigh_event_send`: send, or queue and resolve. */
  private resolveOutput(entry: Entry, packet: PacketBuffer): void {
    // The entry was removed while this packet was being handed back to it: start over.
    if (entry.dead) return this.output(entry.device, entry.address, packet)
    const now = this.timers.now()
    entry.used = now
    switch (entry.state) {
      case "REACHABLE":
      case "PERMANENT":
      case "DELAY":
      case "PROBE":
        return this.transmit(entry.device, entry.mac, packet)
      case "STALE":
        // `__neigh_event_send`: STALE → DELAY, first probe after `delay_first_probe_time`.
        entry.state = "DELAY"
        entry.updated = now
        this.setTimer(entry, now + this.parameters.delay_first_probe_time)
        return this.transmit(entry.device, entry.mac, packet)
      case "INCOMPLETE":
        return this.enqueue(entry, packet)
      case "NONE":
      case "FAILED": {
        const p = this.parameters
        if (p.mcast_solicit <= 0) {
          // `__neigh_event_send` without multicast probes: FAILED at once (SKB_DROP_REASON_NEIGH_FAILED).
          entry.state = "FAILED"
          entry.updated = now
          return this.drop(packet, "neigh.failed")
        }
        entry.probes = p.ucast_solicit
        entry.state = "INCOMPLETE"
        entry.updated = now
        this.setTimer(entry, now + Math.max(p.retrans_time, MIN_TIMER_MICROS))
        this.enqueue(entry, packet)
        return this.probe(entry)
      }
    }
  }

  /** Queues on an unresolved entry; a full queue loses its oldest packet (`unres_discards`). */
  private enqueue(entry: Entry, packet: PacketBuffer): void {
    const limit = Math.max(1, this.parameters.unres_qlen)
    while (entry.queue.length >= limit) {
      const oldest = entry.queue.shift()
      if (oldest === undefined) break
      this.stats.unres_discards++
      this.drop(oldest, "neigh.queue-full") // SKB_DROP_REASON_NEIGH_QUEUEFULL
    }
    entry.queue.push(packet)
    const trace = this.link.trace
    if (trace.enabled) trace.record("neigh-queued", packet, entry.device.name, `waits for ${ipv4ToString(entry.address)} (${entry.state})`)
  }

  /** Fills the Ethernet header (`eth_header`) and hands the frame to the link layer. */
  private transmit(device: NetDevice, destination: number, packet: PacketBuffer): void {
    const header = this.header
    header.destination = destination
    header.source = device.mac
    if (emitEthernet(packet, header) !== undefined) return this.drop(packet, "neigh.no-headroom")
    packet.meta.protocol = EtherTypes.ipv4
    this.link.transmit(device, packet)
  }

  private drop(packet: PacketBuffer, reason: string): void {
    this.drops.count(reason)
    packet.release()
  }

  // ------------------------------------------------------------------ solicitation

  /** `neigh_probe`: one request, counted. */
  private probe(entry: Entry): void {
    this.solicit(entry)
    entry.probes++
  }

  /**
   * `arp_solicit`: while `probes` < `ucast_solicit` a unicast request to the
   * known address (PROBE), otherwise a broadcast one. The sender address is
   * the source of the newest queued packet when it is ours (`arp_announce`
   * 0), otherwise `addresses.sourceFor` (`inet_select_addr`), otherwise 0.
   */
  private solicit(entry: Entry): void {
    const device = entry.device
    const source = this.packetSource(entry.queue[entry.queue.length - 1], device) ??
      this.addresses.sourceFor(device, entry.address) ?? 0
    const unicast = entry.probes < this.parameters.ucast_solicit
    this.sendArp(device, {
      operation: ArpOperations.request,
      destination: unicast ? entry.mac : BROADCAST_MAC,
      senderIpv4: source,
      targetMac: unicast ? entry.mac : 0,
      targetIpv4: entry.address
    })
  }

  /** The IPv4 source address of `packet` if it is one of ours on `device`. */
  private packetSource(packet: PacketBuffer | undefined, device: NetDevice): number | undefined {
    if (packet === undefined || packet.isReleased || packet.headLength < 20) return undefined
    const bytes = packet.bytes
    if (bytes[packet.data] >>> 4 !== 4) return undefined
    const source = readU32(bytes, packet.data + 12)
    return this.addresses.isLocal(device, source) ? source : undefined
  }

  private sendArp(
    device: NetDevice,
    fields: {
      readonly operation: number
      readonly destination: number
      readonly senderIpv4: number
      readonly targetMac: number
      readonly targetIpv4: number
    }
  ): void {
    const frame = buildArpFrame({ ...fields, senderMac: device.mac })
    if (frame === undefined) return this.drops.count("arp.emit-failed")
    this.link.transmit(device, frame)
  }

  // ------------------------------------------------------------------ timers

  /** `neigh_timer_handler`. */
  private timerHandler(entry: Entry): void {
    entry.timer = undefined
    if (entry.dead || !isTimerState(entry.state)) return
    const p = this.parameters
    const now = this.timers.now()
    let next = now + DEFAULT_TIMER_MICROS
    if (entry.state === "REACHABLE") {
      if (now <= entry.confirmed + this.currentReachableTime) {
        next = entry.confirmed + this.currentReachableTime // confirmed meanwhile: still alive
      } else if (now <= entry.used + p.delay_first_probe_time) {
        entry.state = "DELAY" // used recently: give upper layers a chance to confirm
        entry.updated = now
        next = now + p.delay_first_probe_time
      } else {
        entry.state = "STALE" // suspected
        entry.updated = now
      }
    } else if (entry.state === "DELAY") {
      if (now <= entry.confirmed + p.delay_first_probe_time) {
        entry.state = "REACHABLE"
        entry.updated = now
        next = entry.confirmed + this.currentReachableTime
      } else {
        entry.state = "PROBE"
        entry.updated = now
        entry.probes = 0
        next = now + Math.max(p.retrans_time, MIN_TIMER_MICROS)
      }
    } else {
      next = now + Math.max(p.retrans_time, MIN_TIMER_MICROS) // INCOMPLETE, PROBE
    }
    const probing = entry.state === "INCOMPLETE" || entry.state === "PROBE"
    if (probing && entry.probes >= this.maxProbes(entry)) {
      entry.state = "FAILED"
      return this.invalidate(entry)
    }
    if (isTimerState(entry.state)) {
      entry.timer = this.timers.schedule(Math.max(next, now + MIN_TIMER_MICROS), entry.fire)
    }
    if (probing) this.probe(entry)
  }

  /** `neigh_max_probes`. */
  private maxProbes(entry: Entry): number {
    const p = this.parameters
    return p.ucast_solicit + (entry.state === "PROBE" ? p.mcast_resolicit : p.mcast_solicit)
  }

  /** `neigh_invalidate`: resolution failed; every queued packet goes to `unreachable` (`arp_error_report`). */
  private invalidate(entry: Entry): void {
    this.stats.res_failed++
    entry.updated = this.timers.now()
    const queued = entry.queue
    entry.queue = []
    for (const packet of queued) this.unreachable(packet, entry.device)
  }

  private setTimer(entry: Entry, at: number): void {
    this.timers.cancel(entry.timer)
    entry.timer = this.timers.schedule(at, entry.fire)
  }

  private cancelTimer(entry: Entry): void {
    this.timers.cancel(entry.timer)
    entry.timer = undefined
  }

  /** `neigh_rand_reach_time`: uniform in [base/2, 3·base/2). */
  private drawReachableTime(): number {
    const base = this.parameters.base_reachable_time
    const drawn = this.random()
    const r = Number.isFinite(drawn) ? Math.min(Math.max(drawn, 0), 1 - Number.EPSILON) : 0.5
    return Math.floor(r * base + base / 2)
  }

  // ------------------------------------------------------------------ state changes

  /**
   * `__neigh_update`: the one place an entry learns an address or changes
   * state from outside its timer. Without `UPDATE_ADMIN` a PERMANENT entry is
   * left alone; without `UPDATE_OVERRIDE` a different address does not
   * replace a valid one; a STALE update with the same address keeps the
   * current state. Becoming valid releases the queue, in order.
   */
  private update(entry: Entry, lladdr: number | undefined, requested: NeighbourState, flags: number): void {
    const old = entry.state
    if ((flags & UPDATE_ADMIN) === 0 && old === "PERMANENT") return
    const now = this.timers.now()
    if (!isValidState(requested)) {
      this.cancelTimer(entry)
      this.setState(entry, requested)
      if ((old === "INCOMPLETE" || old === "PROBE") && requested === "FAILED") this.invalidate(entry)
      return
    }
    const oldValid = isValidState(old)
    if (lladdr === undefined && !oldValid) return // no address given and none known
    const mac = lladdr ?? entry.mac
    if (isConnectedState(requested)) entry.confirmed = now
    let next = requested
    if (oldValid) {
      if (mac !== entry.mac && (flags & UPDATE_OVERRIDE) === 0) return
      if (mac === entry.mac && next === "STALE" && (flags & UPDATE_ADMIN) === 0) next = old
    }
    const changed = !oldValid || mac !== entry.mac
    if (next !== old || changed) entry.updated = now
    if (next !== old) {
      this.cancelTimer(entry)
      if (next === "PROBE") entry.probes = 0
      if (isTimerState(next)) this.setTimer(entry, now + (next === "REACHABLE" ? this.currentReachableTime : 0))
      this.setState(entry, next)
    }
    if (changed) {
      entry.mac = mac
      if (!isConnectedState(next)) entry.confirmed = now - 2 * this.parameters.base_reachable_time
    }
    if (next === old || oldValid) return
    // Resolved: send what waited, oldest first (through the output path: a STALE entry becomes DELAY).
    const queued = entry.queue
    entry.queue = []
    for (const packet of queued) this.resolveOutput(entry, packet)
  }

  /** Sets the state, moving the entry out of (PERMANENT) or into the GC list (`neigh_update_gc_list`). */
  private setState(entry: Entry, state: NeighbourState): void {
    entry.state = state
    if (entry.dead) return
    if (state === "PERMANENT") this.gcList.delete(entry)
    else if (!this.gcList.has(entry)) {
      this.gcList.add(entry)
      this.startPeriodicGc()
    }
  }

  // ------------------------------------------------------------------ receive

  /**
   * The ARP protocol handler (`arp_rcv`, `arp_process`; RFC 826 "Packet
   * Reception"): data at the ARP header. The table owns the packet.
   */
  receive(packet: PacketBuffer, device: NetDevice): void {
    const view = ArpView.parse(packet)
    if (!(view instanceof ArpView)) return this.drop(packet, view.name)
    // `arp_rcv`: no ARP on NOARP devices, nor for frames to other hosts (promiscuous mode).
    if (device.kind === "loopback") return this.drop(packet, "arp.noarp")
    const packetType = packet.meta.packetType
    if (packetType === "otherhost") return this.drop(packet, "arp.otherhost")
    const operation = view.operation
    if (operation !== ArpOperations.request && operation !== ArpOperations.reply) {
      return this.drop(packet, "arp.bad-opcode")
    }
    const sha = view.senderMac
    const sip = view.senderIpv4
    const tha = view.targetMac
    const tip = view.targetIpv4
    // FreeBSD `in_arpinput`: our own frame looped back, or a group address as a sender.
    if (sha === device.mac) return this.drop(packet, "arp.own-sender")
    if (isMulticastMac(sha)) return this.drop(packet, "arp.bad-sender-mac")
    // `arp_process`: no requests for multicast or loopback targets; no such senders either.
    if (isIpv4Multicast(tip) || isIpv4Loopback(tip)) return this.drop(packet, "arp.bad-target")
    if (isIpv4Multicast(sip) || isIpv4Loopback(sip) || sip === LIMITED_BROADCAST) {
      return this.drop(packet, "arp.bad-sender-ip")
    }
    packet.release()
    const isRequest = operation === ArpOperations.request

    if (sip === 0) {
      // A duplicate-address probe (RFC 5227 §2.1.1, RFC 2131 §2.2): defend our address, learn nothing.
      if (isRequest && this.addresses.isLocal(device, tip)) {
        this.stats.rcv_dad_probes++
        this.sendArp(device, {
          operation: ArpOperations.reply,
          destination: sha,
          senderIpv4: tip,
          targetMac: sha,
          targetIpv4: 0
        })
      }
      return
    }
    // Someone else uses one of our addresses (RFC 5227 §2.4): count it, believe nothing.
    if (this.addresses.isLocal(device, sip)) return this.drops.count("arp.address-conflict")

    if (isRequest && this.addresses.isLocal(device, tip)) {
      // A request for us: learn the requester (`neigh_event_ns`, STALE with override; RFC 826 adds the
      // triplet) and answer from the receiving device (`arp_send_dst`, unicast to the requester).
      if (packetType === "host") this.stats.rcv_probes_ucast++
      else this.stats.rcv_probes_mcast++
      const entry = this.lookup(device, sip) ?? this.create(device, sip, false)
      if (entry === undefined) return this.drops.count("neigh.table-full") // Linux sends no reply then
      this.update(entry, sha, "STALE", UPDATE_OVERRIDE)
      this.sendArp(device, {
        operation: ArpOperations.reply,
        destination: sha,
        senderIpv4: tip,
        targetMac: sha,
        targetIpv4: sip
      })
      return
    }

    // RFC 826's merge: update a known sender; strangers are not added (`arp_accept` = 0).
    const entry = this.lookup(device, sip)
    if (entry === undefined) return
    // `arp_is_garp`: a gratuitous request, or a reply with tha = sha, always overrides.
    const gratuitous = sip === tip && (isRequest || tha === sha)
    // "If several different ARP replies follow back-to-back, use the FIRST one": override after `locktime`.
    const override = gratuitous || this.timers.now() > entry.updated + this.parameters.locktime
    // Broadcast replies and requests do not assert reachability.
    const state = !isRequest && packetType === "host" ? "REACHABLE" : "STALE"
    this.update(entry, sha, state, override ? UPDATE_OVERRIDE : 0)
  }

  // ------------------------------------------------------------------ announcements and confirmations

  /**
   * A gratuitous ARP for a new address (RFC 5227 §3 "ARP Announcement": a
   * broadcast request with sender and target protocol address both
   * `address` and target hardware address 0; Linux `arp_send` from
   * `inetdev_send_gratuitous_arp`). Nothing on a loopback device.
   */
  announce(device: NetDevice, address: number): void {
    if (device.kind === "loopback" || !isU32(address)) return
    this.sendArp(device, {
      operation: ArpOperations.request,
      destination: BROADCAST_MAC,
      senderIpv4: address,
      targetMac: 0,
      targetIpv4: address
    })
  }

  /**
   * Reachability confirmation from upper layers (`neigh_confirm` via
   * `dst_confirm_neigh`, e.g. a TCP ACK for new data, RFC 1122 §2.3.2.1
   * "advice from higher layers"): only stamps the entry; its timer acts on it.
   */
  confirm(device: NetDevice, address: number): void {
    const entry = this.byDevice.get(device.ifindex)?.get(address)
    if (entry !== undefined) entry.confirmed = this.timers.now()
  }

  // ------------------------------------------------------------------ administration

  /**
   * A permanent entry (`ip neigh replace ADDRESS lladdr MAC dev DEVICE nud
   * permanent`): never probed, never collected, not changed by ARP. Packets
   * waiting on the entry are sent. `undefined` for a loopback device or an
   * out-of-range address or MAC.
   */
  addPermanent(device: NetDevice, address: number, mac: number): NeighbourEntry | undefined {
    if (device.kind === "loopback" || !isU32(address) || !isMac(mac)) return undefined
    const entry = this.lookup(device, address) ?? this.create(device, address, true)
    if (entry === undefined) return undefined
    this.update(entry, mac, "PERMANENT", UPDATE_OVERRIDE | UPDATE_ADMIN)
    return this.snapshot(entry)
  }

  /**
   * Deletes an entry (`ip neigh del`, `neigh_delete`): it first becomes
   * FAILED, so packets waiting on it go to `unreachable`. False if there was
   * none.
   */
  delete(device: NetDevice, address: number): boolean {
    const entry = this.lookup(device, address)
    if (entry === undefined) return false
    this.update(entry, undefined, "FAILED", UPDATE_OVERRIDE | UPDATE_ADMIN)
    if (!entry.dead) this.remove(entry)
    return true
  }

  /** Deletes every entry but the permanent ones (`ip neigh flush [dev DEVICE]`), on `device` or all; returns how many. */
  flush(device?: NetDevice): number {
    let n = 0
    for (const entry of [...this.gcList]) {
      if (device !== undefined && entry.device.ifindex !== device.ifindex) continue
      if (this.delete(entry.device, entry.address)) n++
    }
    return n
  }

  // ------------------------------------------------------------------ inspection

  /** The entry for `address` on `device`, if any. */
  get(device: NetDevice, address: number): NeighbourEntry | undefined {
    const entry = this.byDevice.get(device.ifindex)?.get(address)
    return entry === undefined ? undefined : this.snapshot(entry)
  }

  /** Every entry, by interface index and then address (`ip neigh show`). */
  entries(): ReadonlyArray<NeighbourEntry> {
    const out: Array<NeighbourEntry> = []
    for (const ifindex of [...this.byDevice.keys()].sort((a, b) => a - b)) {
      const entries = this.byDevice.get(ifindex)
      if (entries === undefined) continue
      for (const address of [...entries.keys()].sort((a, b) => a - b)) {
        const entry = entries.get(address)
        if (entry !== undefined) out.push(this.snapshot(entry))
      }
    }
    return out
  }

  /** `ip neigh show` (or `ip -s neigh show` with `statistics`), one line per entry. */
  show(statistics = false): string {
    const now = statistics ? this.timers.now() : undefined
    return this.entries().map((entry) => formatNeighbour(entry, now)).join("\n")
  }

  /** Number of entries (permanent ones included). */
  get size(): number {
    return this.count
  }

  /** The current randomized reachable time (µs), drawn again every 300 s. */
  get reachableTime(): number {
    return this.currentReachableTime
  }

  /** `/proc/net/stat/arp_cache`: `entries` and every counter. */
  counters(): Readonly<Record<string, number>> {
    return neighbourCountersOf(this.stats, this.count)
  }

  private snapshot(entry: Entry): NeighbourEntry {
    return {
      device: entry.device.name,
      ifindex: entry.device.ifindex,
      address: entry.address,
      mac: isValidState(entry.state) ? entry.mac : undefined,
      state: entry.state,
      queued: entry.queue.length,
      probes: entry.probes,
      usedMicros: entry.used,
      confirmedMicros: entry.confirmed,
      updatedMicros: entry.updated
    }
  }

  // ------------------------------------------------------------------ entries and GC

  /** `neigh_lookup`, counted. */
  private lookup(device: NetDevice, address: number): Entry | undefined {
    this.stats.lookups++
    const entry = this.byDevice.get(device.ifindex)?.get(address)
    if (entry !== undefined) this.stats.hits++
    return entry
  }

  /**
   * `__neigh_create` / `neigh_alloc`: at `gc_thresh3` entries, or above
   * `gc_thresh2` when the last forced GC is 5 s old, run the forced GC; at
   * `gc_thresh3` with nothing freed, fail (`table_fulls`). Permanent entries
   * are exempt.
   */
  private create(device: NetDevice, address: number, exempt: boolean): Entry | undefined {
    const now = this.timers.now()
    if (!exempt) {
      const p = this.parameters
      const entries = this.gcList.size
      if (entries >= p.gc_thresh3 || (entries >= p.gc_thresh2 && now > this.lastFlush + FORCED_GC_INTERVAL_MICROS)) {
        if (this.forcedGc() === 0 && entries >= p.gc_thresh3) {
          this.stats.table_fulls++
          return undefined
        }
      }
    }
    const entry = new Entry(device, address, now, now - 2 * this.parameters.base_reachable_time, this.timerFire)
    let entries = this.byDevice.get(device.ifindex)
    if (entries === undefined) {
      entries = new Map()
      this.byDevice.set(device.ifindex, entries)
    }
    entries.set(address, entry)
    this.count++
    this.stats.allocs++
    if (!exempt) {
      this.gcList.add(entry)
      this.startPeriodicGc()
    }
    return entry
  }

  /** Removes an entry (`neigh_remove_one`, `neigh_destroy`). */
  private remove(entry: Entry): void {
    if (entry.dead) return
    entry.dead = true
    this.cancelTimer(entry)
    const entries = this.byDevice.get(entry.device.ifindex)
    entries?.delete(entry.address)
    if (entries !== undefined && entries.size === 0) this.byDevice.delete(entry.device.ifindex)
    this.gcList.delete(entry)
    this.count--
    this.stats.destroys++
    // Only an INCOMPLETE entry holds packets, and nothing removes one without failing it first.
    const queued = entry.queue
    entry.queue = []
    for (const packet of queued) this.drop(packet, "neigh.deleted")
  }

  /**
   * `neigh_forced_gc`: removes, oldest first, entries whose timer is not
   * running (Linux: only its timer holds a reference) that are FAILED or were
   * not updated in the last 5 s, down to `gc_thresh2`. Returns how many.
   */
  private forcedGc(): number {
    this.stats.forced_gc_runs++
    const now = this.timers.now()
    const maxClean = this.gcList.size - this.parameters.gc_thresh2
    const tref = now - FORCED_GC_INTERVAL_MICROS
    let shrunk = 0
    for (const entry of [...this.gcList]) {
      if (isTimerState(entry.state)) continue
      if (entry.state === "FAILED" || entry.updated < tref || entry.updated > now) {
        this.remove(entry)
        shrunk++
        if (shrunk >= maxClean) break
      }
    }
    this.lastFlush = now
    return shrunk
  }

  private startPeriodicGc(): void {
    if (this.gcTimer !== undefined) return
    const period = Math.max(this.parameters.base_reachable_time / 2, MIN_TIMER_MICROS)
    this.gcTimer = this.timers.after(period, this.gcFire)
  }

  /**
   * `neigh_periodic_work`, every `base_reachable_time / 2` while the table
   * has collectable entries: draws the reachable time again every 300 s and,
   * at `gc_thresh1` entries or more, removes idle entries (timer not
   * running) that are FAILED or unused for `gc_stale_time`.
   */
  private periodicGc(): void {
    this.gcTimer = undefined
    const p = this.parameters
    const now = this.timers.now()
    this.stats.periodic_gc_runs++
    if (now > this.lastRand + REACHABLE_TIME_REFRESH_MICROS) {
      this.currentReachableTime = this.drawReachableTime()
      this.lastRand = now
    }
    if (this.gcList.size >= p.gc_thresh1) {
      for (const entry of [...this.gcList]) {
        if (isTimerState(entry.state)) continue
        if (entry.used < entry.confirmed && entry.confirmed <= now) entry.used = entry.confirmed
        if (entry.state === "FAILED" || now < entry.used || now >= entry.used + p.gc_stale_time) this.remove(entry)
      }
    }
    if (this.gcList.size > 0) this.startPeriodicGc()
  }
}
