/**
 * A small topology builder: hosts and routers in one process, joined by
 * point-to-point wires (with impairments), shared hubs or learning bridges
 * (a switch: a host whose interfaces are the ports of a `BridgeDevice`),
 * with addresses assigned as they are joined. MAC addresses are handed out
 * in order (02:00:00:00:00:01, …), so a topology is the same on every run.
 */
import { type Hub, Hub as HubMedium, type Impairments, type InvalidImpairments, type InvalidNicConfig, type NicOptions, Wire } from "@netstack/device"
import type { DriverOptions } from "@netstack/driver"
import { type BridgeError, BridgeDevice, type EthernetDevice } from "@netstack/l2"
import { type InterfaceAddress, InvalidAddress } from "@netstack/l3"
import { Effect, type Scope } from "effect"
import { Host, type HostOptions, InvalidSpecification } from "./host.ts"

/** How two hosts are joined. */
export interface LinkOptions {
  /** The address of the first host's end, `a.b.c.d/n`. */
  readonly a?: string
  /** The address of the second host's end. */
  readonly b?: string
  readonly mtu?: number
  readonly impairments?: Impairments
  /** NIC settings for both ends (queues, offloads, coalescing…). */
  readonly nic?: Partial<NicOptions>
  /** Driver settings for both ends (receive buffer size, pool…). */
  readonly driver?: DriverOptions
  /**
   * Interface names of the two ends (default `eth0`, `eth1`, … in each host);
   * distinct names such as `a-eth0` tell hosts apart in a shared trace.
   */
  readonly names?: readonly [a: string, b: string]
}

/** What joining two hosts made. */
export interface Link {
  readonly wire: Wire
  readonly a: EthernetDevice
  readonly b: EthernetDevice
}

/** How members are joined to a bridge (`Network.bridge`). */
export interface BridgeLanOptions {
  /** Impairments of every wire between a member and its switch port. */
  readonly impairments?: Impairments
  /** NIC settings of the members' interfaces and the switch ports. */
  readonly nic?: Partial<NicOptions>
  readonly mtu?: number
  /** FDB ageing time (µs); default 300 s. */
  readonly ageingTimeMicros?: number
  /** An address for the bridge device itself, so the switch answers (`ip addr add CIDR dev br0`). */
  readonly address?: string
}

/** What `Network.bridge` made: the switch, its bridge, and per member the switch port, the member's interface and the wire between them. */
export interface BridgeLan {
  /** The switch: a host (network namespace) holding the bridge and its ports. */
  readonly switch: Host
  readonly bridge: BridgeDevice
  /** Switch port `i` is wired to member `i`. */
  readonly ports: ReadonlyArray<EthernetDevice>
  /** Member `i`'s new interface. */
  readonly devices: ReadonlyArray<EthernetDevice>
  /** The wire from member `i` (end `a`) to switch port `i` (end `b`). */
  readonly wires: ReadonlyArray<Wire>
}

/** Anything joining hosts can fail with. */
export type JoinError = InvalidNicConfig | InvalidImpairments | InvalidAddress | InvalidSpecification

/** A set of hosts joined by media. */
export class Network {
  private macs = 0
  private readonly hostsByName = new Map<string, Host>()

  /** A network (its hosts' fibers live in the scope of each call). */
  static make(): Network {
    return new Network()
  }

  /** The hosts, in creation order. */
  hosts(): ReadonlyArray<Host> {
    return [...this.hostsByName.values()]
  }

  /** Adds a host. */
  host(name: string, options: Omit<HostOptions, "name"> = {}): Effect.Effect<Host, never, Scope.Scope> {
    return Effect.tap(Host.make({ name, ...options }), (host) => Effect.sync(() => this.hostsByName.set(name, host)))
  }

  /** Adds a router: a host that forwards. */
  router(name: string, options: Omit<HostOptions, "name" | "forwarding"> = {}): Effect.Effect<Host, never, Scope.Scope> {
    return this.host(name, { ...options, forwarding: true })
  }

  /** The next MAC address (locally administered, unicast). */
  nextMac(): number {
    return 0x020000000000 + ++this.macs
  }

  /** Joins `a` and `b` with a wire, adding an interface on each and the given addresses. */
  link(a: Host, b: Host, options: LinkOptions = {}): Effect.Effect<Link, JoinError, Scope.Scope> {
    const network = this
    return Effect.gen(function*() {
      const nic = {
        ...options.nic,
        ...(options.mtu === undefined ? {} : { mtu: options.mtu }),
        ...(options.driver === undefined ? {} : { driver: options.driver })
      }
      const [nameA, nameB] = options.names ?? []
      const endA = yield* a.addInterface({ ...nic, mac: network.nextMac(), ...(nameA === undefined ? {} : { name: nameA }) })
      const endB = yield* b.addInterface({ ...nic, mac: network.nextMac(), ...(nameB === undefined ? {} : { name: nameB }) })
      const wire = yield* Wire.make(options.impairments === undefined ? {} : { impairments: options.impairments })
      a.attach(endA, wire.a)
      b.attach(endB, wire.b)
      if (options.a !== undefined) yield* check(a.addAddress(endA, options.a))
      if (options.b !== undefined) yield* check(b.addAddress(endB, options.b))
      return { wire, a: endA, b: endB }
    })
  }

  /** Puts the members on one hub (a shared segment), each with its address. */
  lan(
    members: ReadonlyArray<readonly [Host, string]>,
    options: { readonly impairments?: Impairments; readonly nic?: Partial<NicOptions> } = {}
  ): Effect.Effect<{ readonly hub: Hub; readonly devices: ReadonlyArray<EthernetDevice> }, JoinError, Scope.Scope> {
    const network = this
    return Effect.gen(function*() {
      const hub = yield* HubMedium.make({ ports: members.length, ...(options.impairments === undefined ? {} : { impairments: options.impairments }) })
      const devices: Array<EthernetDevice> = []
      for (const [i, [host, cidr]] of members.entries()) {
        const device = yield* host.addInterface({ ...options.nic, mac: network.nextMac() })
        const port = hub.ports[i]
        if (port !== undefined) host.attach(device, port)
        yield* check(host.addAddress(device, cidr))
        devices.push(device)
      }
      return { hub, devices }
    })
  }

  /**
   * Joins the members through a learning bridge: a switch host named `name`
   * with a `BridgeDevice` (IEEE 802.1D §7.7-7.8, no STP), one port per
   * member, each port wired to a new interface of its member host, which
   * gets the member's address. The switch is one of the network's hosts.
   */
  bridge(
    name: string,
    members: ReadonlyArray<readonly [Host, string]>,
    options: BridgeLanOptions = {}
  ): Effect.Effect<BridgeLan, JoinError | BridgeError, Scope.Scope> {
    const network = this
    return Effect.gen(function*() {
      const sw = yield* network.host(name)
      const bridge = yield* BridgeDevice.make({
        link: sw.link,
        timers: sw.timers,
        ...(options.ageingTimeMicros === undefined ? {} : { ageingTimeMicros: options.ageingTimeMicros })
      })
      const nic = { ...options.nic, ...(options.mtu === undefined ? {} : { mtu: options.mtu }) }
      const ports: Array<EthernetDevice> = []
      const devices: Array<EthernetDevice> = []
      const wires: Array<Wire> = []
      for (const [host, cidr] of members) {
        const device = yield* host.addInterface({ ...nic, mac: network.nextMac() })
        const port = yield* sw.addInterface({ ...nic, mac: network.nextMac() })
        const wire = yield* Wire.make(options.impairments === undefined ? {} : { impairments: options.impairments })
        host.attach(device, wire.a)
        sw.attach(port, wire.b)
        const refused = bridge.addPort(port)
        if (refused !== undefined) return yield* refused
        yield* check(host.addAddress(device, cidr))
        ports.push(port)
        devices.push(device)
        wires.push(wire)
      }
      if (options.address !== undefined) yield* check(sw.addAddress(bridge, options.address))
      return { switch: sw, bridge, ports, devices, wires }
    })
  }
}

/** Fails with the error when adding an address failed. */
const check = (
  result: InterfaceAddress | InvalidAddress | InvalidSpecification
): Effect.Effect<InterfaceAddress, InvalidAddress | InvalidSpecification> =>
  result instanceof InvalidAddress || result instanceof InvalidSpecification ? Effect.fail(result) : Effect.succeed(result)
