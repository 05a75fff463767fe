/**
 * A learning bridge (`ip link add br0 type bridge`; IEEE 802.1D-2004 §7.7
 * "The Forwarding Process" and §7.8 "The Learning Process"; Linux
 * `net/bridge`: `br_input.c`, `br_forward.c`, `br_fdb.c`, `br_device.c`,
 * `br_if.c`), without the Spanning Tree Protocol.
 *
 * Ports are interfaces of the same link layer (`addPort`); the bridge hooks
 * their receive path (`rxHandler`) and takes every frame:
 *
 * - the source address is learned into the forwarding database with the
 *   port and the time (group and all-zero sources are invalid: dropped);
 * - a unicast frame to an address learned on another port goes out that
 *   port only; to an address learned on the port it came from, it is
 *   filtered (never reflected); to an unknown address it is flooded to every
 *   other port;
 * - broadcast and multicast frames are flooded to every other port and
 *   delivered locally;
 * - frames to the bridge's own address are delivered locally: the link
 *   layer receives them on the bridge device (`LinkLayer.receive`, which
 *   counts them, runs the taps, then `deliver`s them), so the bridge itself
 *   can have IP addresses and taps see them "in" on the bridge, as
 *   `tcpdump -i br0` does. Frames to a port's own address (a local FDB
 *   entry) are not forwarded either and go up the same way, where they count
 *   as for another host unless that is also the bridge's address (the
 *   default: the lowest port address);
 * - IEEE 802.1D reserved link-local frames (01:80:c2:00:00:0X, §7.12.6) are
 *   not forwarded: PAUSE (…:01) is dropped, the others go to the port's own
 *   protocols, except the STP group address (…:00), flooded because no STP
 *   runs here (as Linux with `stp_state 0`).
 *
 * Frames from the local stack (`transmit`) go to the port their destination
 * was learned on, or are flooded to every port. Every copy leaves through
 * `LinkLayer.transmit`, so taps see the egress on each port; floods use
 * `clone` (the bytes are shared, copy-on-write keeps each copy intact).
 * Dynamic entries age out after `ageingTimeMicros` (300 s by default)
 * without being seen as a source, removed by a sweep on the host's
 * `TimerQueue`.
 *
 * No STP: nothing breaks loops. Two ports on the same segment, or two
 * bridges joined twice, make broadcasts circulate forever; a loop-free
 * topology is the user's responsibility.
 */
import { PacketBuffer } from "@netstack/buffers"
import { EthernetView, isMulticastMac } from "@netstack/wire"
import { Effect } from "effect"
import type { LinkLayer } from "../link-layer.ts"
import { type DeviceFeatures, LinkStats, type NetDevice, NO_FEATURES, type RxHandler } from "../net-device.ts"
import type { TimerHandle, TimerQueue } from "../timers.ts"
import { BridgeError } from "./errors.ts"
import {
  DEFAULT_AGEING_TIME_MICROS,
  DEFAULT_FDB_MAX_LEARNED,
  type FdbCounters,
  type FdbEntry,
  formatFdb,
  type FormatFdbOptions,
  ForwardingDatabase
} from "./fdb.ts"

/** What `BridgeDevice.make` takes. */
export interface BridgeOptions {
  /** The link layer the bridge and its ports belong to; the bridge registers itself with it. */
  readonly link: LinkLayer
  /** The host's timers (FDB ageing). */
  readonly timers: TimerQueue
  /** Interface name; default `brN`, the first free N. */
  readonly name?: string | undefined
  /** The bridge's address; default the lowest port address, as Linux (`br_stp_recalculate_bridge_id`). */
  readonly mac?: number | undefined
  /** Dynamic FDB entries not seen for this long are removed (µs); default 300 s; `0` learns nothing. */
  readonly ageingTimeMicros?: number | undefined
  /** The most dynamic FDB entries; default 8192. */
  readonly maxLearned?: number | undefined
}

/** What a bridge counts (beyond the `LinkStats` of the bridge device and its ports). */
export class BridgeCounters implements FdbCounters {
  /** Frames sent out the one port their destination was learned on. */
  forwarded = 0
  /** Frames sent out every other port (unknown unicast, broadcast, multicast). */
  flooded = 0
  /** Unicast frames discarded because their destination is on the port they came from. */
  filtered = 0
  /** Frames delivered to the bridge's own protocols. */
  deliveredLocally = 0
  /** Link-local frames (01:80:c2:00:00:02-0f) left to the port's own protocols. */
  passedToPort = 0
  learned = 0
  moved = 0
  aged = 0
  learnLimitHits = 0
  ownAddressSeen = 0
}

/** Smallest interval between two ageing sweeps (Linux `br_fdb_cleanup`: 10 ms). */
const MIN_SWEEP_INTERVAL_MICROS = 10_000
/** Ethernet header plus one VLAN tag: the overhead `is_skb_forwardable` allows above the MTU. */
const MAX_LINK_OVERHEAD = 18
const MAX_MAC = 0xffffffffffff
/** 01:80:c2:00:00:00, the first IEEE 802.1D reserved group address. */
const LINK_LOCAL_BASE = 0x0180c2000000
/** Locally administered prefix 02:62:72 ("br") of the address of a bridge without ports or address. */
const FALLBACK_MAC_BASE = 0x026272000000

const isValidUnicast = (mac: number): boolean =>
  Number.isInteger(mac) && mac > 0 && mac <= MAX_MAC && !isMulticastMac(mac)

/** A learning bridge, an interface of the host. */
export class BridgeDevice implements NetDevice {
  readonly name: string
  readonly ifindex: number
  readonly kind = "bridge" as const
  up = true
  /** Also deliver locally every frame the bridge forwards (`ip link set br0 promisc on`; `br_handle_frame_finish`'s `local_rcv`). */
  promiscuous = false
  readonly stats = new LinkStats()
  /** The bridge is never a port (Linux refuses bridges as ports), so this stays unset. */
  rxHandler: RxHandler | undefined = undefined
  readonly lower = undefined
  readonly vlanId = undefined
  /** What the bridge forwarded, flooded, filtered, learned, aged, … */
  readonly counters = new BridgeCounters()

  private readonly link: LinkLayer
  private readonly timers: TimerQueue
  private readonly table: ForwardingDatabase
  private portList: ReadonlyArray<NetDevice> = []
  private readonly savedPromiscuity = new Map<NetDevice, boolean>()
  private readonly explicitMac: number | undefined
  private explicitMtu: number | undefined = undefined
  private sweepTimer: TimerHandle | undefined = undefined

  private constructor(options: BridgeOptions, name: string, ageing: number, maxLearned: number) {
    this.link = options.link
    this.timers = options.timers
    this.name = name
    this.ifindex = options.link.allocateIfindex()
    this.explicitMac = options.mac
    this.table = new ForwardingDatabase(this.counters, ageing, maxLearned)
  }

  /**
   * A bridge registered with `options.link` (`ip link add NAME type bridge`),
   * up, with no ports. Fails with a `BridgeError` on a bad address, ageing
   * time, limit, or a name already in use.
   */
  static make(options: BridgeOptions): Effect.Effect<BridgeDevice, BridgeError> {
    return Effect.suspend(() => {
      const ageing = options.ageingTimeMicros ?? DEFAULT_AGEING_TIME_MICROS
      if (!(ageing >= 0)) return Effect.fail(new BridgeError({ reason: "bad-ageing-time", detail: `${ageing} µs` }))
      const maxLearned = options.maxLearned ?? DEFAULT_FDB_MAX_LEARNED
      if (!validLimit(maxLearned)) return Effect.fail(new BridgeError({ reason: "bad-limit", detail: `${maxLearned}` }))
      if (options.mac !== undefined && !isValidUnicast(options.mac)) {
        return Effect.fail(new BridgeError({ reason: "bad-address", detail: `${options.mac}` }))
      }
      let name = options.name
      if (name === undefined) {
        let n = 0
        while (options.link.device(`br${n}`) !== undefined) n++
        name = `br${n}`
      } else if (options.link.device(name) !== undefined) {
        return Effect.fail(new BridgeError({ reason: "name-taken", detail: name }))
      }
      const bridge = new BridgeDevice(options, name, ageing, maxLearned)
      options.link.register(bridge)
      return Effect.succeed(bridge)
    })
  }

  // ------------------------------------------------------------------ NetDevice

  /** The configured address, else the lowest port address, else a fixed local one derived from the index. */
  get mac(): number {
    if (this.explicitMac !== undefined) return this.explicitMac
    let lowest: number | undefined = undefined
    for (const p of this.portList) if (isValidUnicast(p.mac) && (lowest === undefined || p.mac < lowest)) lowest = p.mac
    return lowest ?? FALLBACK_MAC_BASE + (this.ifindex & 0xffffff)
  }

  /** The configured MTU, else the smallest port MTU (`br_mtu_auto_adjust`), else 1500. */
  get mtu(): number {
    if (this.explicitMtu !== undefined) return this.explicitMtu
    let smallest: number | undefined = undefined
    for (const p of this.portList) if (smallest === undefined || p.mtu < smallest) smallest = p.mtu
    return smallest ?? 1500
  }

  set mtu(value: number) {
    this.explicitMtu = value
  }

  /** The offloads every port has (`br_features_recompute`); none without ports. */
  get features(): DeviceFeatures {
    const ports = this.portList
    if (ports.length === 0) return NO_FEATURES
    return {
      tso: ports.every((p) => p.features.tso),
      txChecksum: ports.every((p) => p.features.txChecksum),
      scatterGather: ports.every((p) => p.features.scatterGather)
    }
  }

  /** Carrier while some port can forward (`br_port_carrier_check`). */
  readonly carrier = (): boolean => this.portList.some((p) => p.up && p.carrier())

  /**
   * A frame from the bridge's own stack (`br_dev_xmit`): to the port its
   * destination was learned on, or flooded to every port when the
   * destination is a group address or unknown.
   */
  readonly transmit = (frame: PacketBuffer): void => {
    if (!this.up) return this.txDrop(frame, "bridge.down")
    const ethernet = EthernetView.parse(frame)
    if (!(ethernet instanceof EthernetView)) return this.txDrop(frame, ethernet.name)
    this.stats.txPackets++
    this.stats.txBytes += frame.length
    const destination = ethernet.destination
    if (isMulticastMac(destination)) return this.flood(frame, undefined, false)
    const now = this.timers.now()
    const entry = this.table.find(destination, now)
    if (entry === undefined) {
      if (destination === this.mac) return this.txDrop(frame, "bridge.to-self")
      return this.flood(frame, undefined, false)
    }
    if (entry.port === undefined) return this.txDrop(frame, "bridge.to-self")
    this.table.touch(destination, now)
    this.forward(frame, entry.port, undefined, false)
  }

  // ------------------------------------------------------------------ ports

  /** The ports, in the order they were added. */
  get ports(): ReadonlyArray<NetDevice> {
    return this.portList
  }

  /**
   * Makes `device` a port (`ip link set DEV master BR`; `br_add_if`): hooks
   * its receive path, puts it in promiscuous mode and adds its address as a
   * local FDB entry. Refuses the bridge itself or another bridge (`loop`),
   * a loopback (`not-ethernet`), a device with a hook already (`busy`) or
   * one of another link layer (`unknown-device`).
   */
  addPort(device: NetDevice): BridgeError | undefined {
    if (device.kind === "bridge") {
      return new BridgeError({ reason: "loop", detail: `${device.name} is a bridge` })
    }
    if (device.kind !== "ethernet" && device.kind !== "vlan") {
      return new BridgeError({ reason: "not-ethernet", detail: `${device.name} is a ${device.kind} device` })
    }
    if (this.link.device(device.ifindex) !== device) {
      return new BridgeError({ reason: "unknown-device", detail: `${device.name} is not an interface of this host` })
    }
    if (device.rxHandler !== undefined) {
      return new BridgeError({ reason: "busy", detail: `${device.name} already has a receive handler` })
    }
    device.rxHandler = this.handleFrame
    this.savedPromiscuity.set(device, device.promiscuous)
    device.promiscuous = true
    this.portList = [...this.portList, device]
    if (isValidUnicast(device.mac)) this.table.addLocal(device.mac, device, this.timers.now())
    return undefined
  }

  /**
   * Detaches port `device` (`ip link set DEV nomaster`; `br_del_if`): clears
   * its hook, restores its promiscuity and removes every FDB entry through it.
   */
  removePort(device: NetDevice): BridgeError | undefined {
    if (!this.portList.includes(device)) {
      return new BridgeError({ reason: "not-a-port", detail: `${device.name} is not a port of ${this.name}` })
    }
    if (device.rxHandler === this.handleFrame) device.rxHandler = undefined
    device.promiscuous = this.savedPromiscuity.get(device) ?? false
    this.savedPromiscuity.delete(device)
    this.portList = this.portList.filter((p) => p !== device)
    this.table.flushPort(device)
    // another port with the same address (a VLAN over a port) keeps it local (`fdb_delete_local`)
    const now = this.timers.now()
    for (const p of this.portList) if (p.mac === device.mac && isValidUnicast(p.mac)) this.table.addLocal(p.mac, p, now)
    return undefined
  }

  // ------------------------------------------------------------------ forwarding database

  /** The ageing time (µs). */
  get ageingTimeMicros(): number {
    return this.table.ageingMicros
  }

  /** Changes the ageing time (`ip link set BR type bridge ageing_time`); entries older than it expire now. */
  setAgeingTime(micros: number): BridgeError | undefined {
    if (!(micros >= 0)) return new BridgeError({ reason: "bad-ageing-time", detail: `${micros} µs` })
    this.table.ageingMicros = micros
    this.timers.cancel(this.sweepTimer)
    this.sweepTimer = undefined
    this.sweep()
    return undefined
  }

  /** The most dynamic FDB entries. */
  get maxLearned(): number {
    return this.table.maxLearned
  }

  /** Changes the bound on dynamic entries (`fdb_max_learned`); entries above it stay until they age. */
  setMaxLearned(limit: number): BridgeError | undefined {
    if (!validLimit(limit)) return new BridgeError({ reason: "bad-limit", detail: `${limit}` })
    this.table.maxLearned = limit
    return undefined
  }

  /** Dynamic entries now in the table (expired ones until swept). */
  get learnedCount(): number {
    return this.table.learnedCount
  }

  /** A snapshot of the live FDB entries, by address, the bridge's own address included. */
  fdb(): ReadonlyArray<FdbEntry> {
    const now = this.timers.now()
    const own: FdbEntry = { mac: this.mac, port: undefined, kind: "local", updated: now, used: now }
    const entries = this.table.entries(now)
    return entries.some((e) => e.mac === own.mac) ? entries : [...entries, own].sort((a, b) => a.mac - b.mac)
  }

  /** The live entry for `mac`, if any. */
  lookup(mac: number): FdbEntry | undefined {
    return this.table.find(mac, this.timers.now())
  }

  /** The FDB as `bridge fdb show` prints it (`-s` statistics with `{ statistics: true }`). */
  formatFdb(options: Omit<FormatFdbOptions, "now"> = {}): string {
    return formatFdb(this.name, this.fdb(), { ...options, now: this.timers.now() })
  }

  /** Adds a static entry (`bridge fdb add MAC dev PORT master static`): never aged, never moved by learning. */
  addStaticEntry(mac: number, port: NetDevice): BridgeError | undefined {
    if (!isValidUnicast(mac)) return new BridgeError({ reason: "bad-address", detail: `${mac}` })
    if (!this.portList.includes(port)) {
      return new BridgeError({ reason: "not-a-port", detail: `${port.name} is not a port of ${this.name}` })
    }
    if (mac === this.mac || !this.table.addStatic(mac, port, this.timers.now())) {
      return new BridgeError({ reason: "bad-address", detail: "a local address of the bridge" })
    }
    return undefined
  }

  /** Removes a static or dynamic entry (`bridge fdb del MAC`); local entries cannot be removed. */
  removeEntry(mac: number): BridgeError | undefined {
    return this.table.remove(mac) ? undefined : new BridgeError({ reason: "not-found", detail: `${mac}` })
  }

  // ------------------------------------------------------------------ receive (br_handle_frame, br_handle_frame_finish)

  /** The ports' receive hook. */
  private readonly handleFrame: RxHandler = (frame, port) => {
    const ethernet = EthernetView.parse(frame)
    if (!(ethernet instanceof EthernetView)) return this.rxDrop(port, frame, ethernet.name)
    const source = ethernet.source
    const destination = ethernet.destination
    // br_handle_frame: `!is_valid_ether_addr(h_source)` goes to drop
    if (!isValidUnicast(source)) return this.rxDrop(port, frame, "bridge.invalid-source")
    const now = this.timers.now()
    const linkLocal = destination - LINK_LOCAL_BASE
    if (linkLocal > 0 && linkLocal <= 0x0f) {
      // br_handle_frame: 01:80:c2:00:00:01 (MAC control, PAUSE) is dropped; the others are not
      // forwarded (group_fwd_mask 0) but handed to the port's own stack after learning.
      if (linkLocal === 0x01) return this.rxDrop(port, frame, "bridge.pause-frame")
      if (this.up) this.learn(source, port, now)
      this.counters.passedToPort++
      return "pass"
    }
    // br_handle_frame_finish: a disabled port (here: the bridge is down) drops
    if (!this.up) return this.rxDrop(port, frame, "bridge.down")
    this.learn(source, port, now)
    const localReceive = this.promiscuous
    if (isMulticastMac(destination)) {
      // broadcast and multicast: every other port, and this host (br_flood + br_pass_frame_up)
      this.flood(frame, port, true)
      return "consumed"
    }
    if (destination === this.mac) {
      this.deliverLocally(frame)
      return "consumed"
    }
    const entry = this.table.find(destination, now)
    if (entry === undefined) {
      this.flood(frame, port, localReceive)
      return "consumed"
    }
    if (entry.kind === "local" || entry.port === undefined) {
      this.deliverLocally(frame)
      return "consumed"
    }
    this.table.touch(destination, now)
    this.forward(frame, entry.port, port, localReceive)
    return "consumed"
  }

  private learn(source: number, port: NetDevice, now: number): void {
    // the bridge's own address is local (Linux keeps a local entry for it): never learned on a port
    if (source === this.mac) {
      this.counters.ownAddressSeen++
      return
    }
    const result = this.table.learn(source, port, now)
    if (result === "learned" && this.sweepTimer === undefined) this.scheduleSweep(now)
  }

  // ------------------------------------------------------------------ forward (br_forward.c)

  /**
   * Sends `frame` out `to` (`br_forward`), unless `to` is the ingress port
   * (filtered) or cannot forward (`should_deliver`); with `localReceive`, a
   * clone also goes up to this host.
   */
  private forward(frame: PacketBuffer, to: NetDevice, ingress: NetDevice | undefined, localReceive: boolean): void {
    if (to === ingress) {
      this.counters.filtered++
      if (localReceive) return this.deliverLocally(frame)
      frame.release()
      return
    }
    if (!this.canForward(to)) {
      if (localReceive) return this.deliverLocally(frame)
      this.link.drops.count("bridge.port-down")
      frame.release()
      return
    }
    this.counters.forwarded++
    if (localReceive) {
      const copy = frame.clone()
      if (copy instanceof PacketBuffer) this.sendOut(to, copy)
      return this.deliverLocally(frame)
    }
    this.sendOut(to, frame)
  }

  /**
   * Sends `frame` out every port that can forward except `ingress`
   * (`br_flood`): clones for all but the last copy, the original to this
   * host last when `localReceive`.
   */
  private flood(frame: PacketBuffer, ingress: NetDevice | undefined, localReceive: boolean): void {
    const targets = this.portList.filter((p) => p !== ingress && this.canForward(p))
    this.counters.flooded++
    for (let i = 0; i < targets.length; i++) {
      const last = i === targets.length - 1 && !localReceive
      const copy = last ? frame : frame.clone()
      if (copy instanceof PacketBuffer) this.sendOut(targets[i], copy)
    }
    if (localReceive) this.deliverLocally(frame)
    else if (targets.length === 0) frame.release()
  }

  /** A port forwards while it and the bridge are up and it has carrier (`should_deliver`, port state forwarding). */
  private canForward(port: NetDevice): boolean {
    return this.up && port.up && port.carrier()
  }

  /** `br_dev_queue_push_xmit`: drops a frame too long for the port (`is_skb_forwardable`), else transmits it past the taps. */
  private sendOut(port: NetDevice, frame: PacketBuffer): void {
    if (frame.length > port.mtu + MAX_LINK_OVERHEAD && frame.meta.gsoSize === 0) {
      port.stats.txDropped++
      this.link.drops.count("bridge.mtu-exceeded")
      frame.release()
      return
    }
    this.link.transmit(port, frame)
  }

  /**
   * `br_pass_frame_up`: the frame is received again on the bridge device, so
   * taps see it there and the protocols get it as arriving on the bridge.
   */
  private deliverLocally(frame: PacketBuffer): void {
    this.counters.deliveredLocally++
    this.link.receive(this, frame)
  }

  private rxDrop(port: NetDevice, frame: PacketBuffer, reason: string): "consumed" {
    port.stats.rxDropped++
    this.link.drops.count(reason)
    frame.release()
    return "consumed"
  }

  private txDrop(frame: PacketBuffer, reason: string): void {
    this.stats.txDropped++
    this.link.drops.count(reason)
    frame.release()
  }

  // ------------------------------------------------------------------ ageing (br_fdb_cleanup)

  private scheduleSweep(now: number): void {
    const next = this.table.nextExpiry()
    if (next === undefined) return
    this.sweepTimer = this.timers.schedule(Math.max(next, now + MIN_SWEEP_INTERVAL_MICROS), () => {
      this.sweepTimer = undefined
      this.sweep()
    })
  }

  private sweep(): void {
    const now = this.timers.now()
    this.table.expire(now)
    if (this.sweepTimer === undefined) this.scheduleSweep(now)
  }
}

const validLimit = (n: number): boolean => n === Infinity || (Number.isInteger(n) && n >= 0)
