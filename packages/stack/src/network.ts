/**
 * A small topology builder: hosts and routers in one process, joined by
 * point-to-point wires (with impairments) or shared hubs, with addresses
 * assigned as they are joined. MAC addresses are handed out in order
 * (02:00:00:00:00:01, …), so a topology is the same on every run.
 */
import { type Hub, Hub as HubMedium, type Impairments, type InvalidImpairments, type InvalidNicConfig, type NicOptions, Wire } from "@netstack/device"
import type { EthernetDevice } from "@netstack/l2"
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
}

/** What joining two hosts made. */
export interface Link {
  readonly wire: Wire
  readonly a: EthernetDevice
  readonly b: EthernetDevice
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
      const nic = { ...options.nic, ...(options.mtu === undefined ? {} : { mtu: options.mtu }) }
      const endA = yield* a.addInterface({ ...nic, mac: network.nextMac() })
      const endB = yield* b.addInterface({ ...nic, mac: network.nextMac() })
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
}

/** Fails with the error when adding an address failed. */
const check = (
  result: InterfaceAddress | InvalidAddress | InvalidSpecification
): Effect.Effect<InterfaceAddress, InvalidAddress | InvalidSpecification> =>
  result instanceof InvalidAddress || result instanceof InvalidSpecification ? Effect.fail(result) : Effect.succeed(result)
