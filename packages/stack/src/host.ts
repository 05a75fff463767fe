/**
 * A `Host`: one network namespace. It owns its interfaces (each a simulated
 * NIC with its driver, plus the loopback), its NET_RX softirq, its timers,
 * its link layer with ARP and the neighbour table, IPv4 with its addresses,
 * routes, filter hooks and reassembly, ICMP, and its network trace. Many
 * hosts share one process; they meet only through media (wires, hubs,
 * bridges).
 */
import type { PacketBuffer } from "@netstack/buffers"
import {
  CurrentNetTrace,
  type InvalidNicConfig,
  loopback,
  type MediumPort,
  NetTrace,
  Nic,
  type NicOptions
} from "@netstack/device"
import { NetChannels, type NetChannelsOptions } from "@netstack/channels"
import { Driver, type DriverOptions, ReceiveHandler, Softirq, type SoftirqShape } from "@netstack/driver"
import { EthernetDevice, LinkLayer, NeighbourTable, type NetDevice, TimerQueue } from "@netstack/l2"
import {
  Icmp,
  IcmpErrors,
  IcmpRateLimiter,
  type InterfaceAddress,
  InvalidAddress,
  Ipv4,
  ping,
  type EchoReply,
  type PingError,
  type PingOptions,
  PmtuCache,
  type Route
} from "@netstack/l3"
import { connect, CongestionControl, EphemeralPorts, type ConnectOptions, cubic, listen, type ListenOptions, Tcp, type TcpConnection, TcpError, type TcpListener, type TcpSettings, Udp } from "@netstack/l4"
import { EtherTypes, ipv4FromString } from "@netstack/wire"
import { Clock, Context, Effect, Layer, Random, Schema, type Scope } from "effect"

/** Host settings. */
export interface HostOptions {
  readonly name: string
  /** Forward datagrams between interfaces (a router). */
  readonly forwarding?: boolean
  /** The host's network trace; a fresh disabled one by default. */
  readonly trace?: NetTrace
  /** Virtual CPU time per packet in the softirq (µs), to model a slow host. */
  readonly costPerPacketMicros?: number
  /** Bytes the reassembler may hold before it refuses fragments (Linux `ipfrag_high_thresh`); default 4 MiB. */
  readonly reassemblyMemoryBytes?: number
  /** Lifetime of an incomplete datagram (Linux `ipfrag_time`), µs; default 30 s. */
  readonly reassemblyTimeoutMicros?: number
  /** TCP settings (buffers, timers, options: Linux's `net.ipv4.tcp_*`). */
  readonly tcp?: Partial<TcpSettings>
  /**
   * Net channels (Van Jacobson / OSv): established TCP flows skip the link and
   * network layers. Off by default; `true` turns them on, an object also sets
   * the channels' size and batch. Switch at run time with `host.channels.enabled`.
   */
  readonly netChannels?: boolean | NetChannelsOptions
}

/** A malformed address or route specification (`10.0.0.1/24`, `default via 10.0.0.254`). */
export class InvalidSpecification extends Schema.TaggedError<InvalidSpecification>()("InvalidSpecification", {
  specification: Schema.String,
  reason: Schema.String
}) {}

/** `a.b.c.d/n` → address and prefix length. */
export const parseCidr = (text: string): { readonly address: number; readonly prefixLength: number } | InvalidSpecification => {
  const [addressText, lengthText] = text.split("/")
  const address = addressText === undefined ? undefined : ipv4FromString(addressText)
  const prefixLength = lengthText === undefined ? 32 : Number(lengthText)
  if (address === undefined || !Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > 32) {
    return new InvalidSpecification({ specification: text, reason: "expected a.b.c.d/n" })
  }
  return { address, prefixLength }
}

/** One network namespace. */
export class Host {
  readonly name: string
  readonly link: LinkLayer
  readonly timers: TimerQueue
  readonly softirq: SoftirqShape
  readonly neighbours: NeighbourTable
  readonly ipv4: Ipv4
  readonly icmp: Icmp
  /** UDP (protocol 17), with the host's bound ports and ephemeral port allocator. */
  readonly udp: Udp
  /** TCP (protocol 6): connections, listeners, and their tables. */
  readonly tcp: Tcp
  readonly trace: NetTrace
  /** The loopback interface (`lo`, 127.0.0.1/8). */
  readonly loopback: EthernetDevice
  /** Net channels: the per-host switch (`channels.enabled`) and their counters (`channels.stats`). */
  readonly channels: NetChannels

  private constructor(parts: {
    name: string
    link: LinkLayer
    timers: TimerQueue
    softirq: SoftirqShape
    neighbours: NeighbourTable
    ipv4: Ipv4
    icmp: Icmp
    udp: Udp
    tcp: Tcp
    trace: NetTrace
    loopback: EthernetDevice
    channels: NetChannels
  }) {
    this.name = parts.name
    this.link = parts.link
    this.timers = parts.timers
    this.softirq = parts.softirq
    this.neighbours = parts.neighbours
    this.ipv4 = parts.ipv4
    this.icmp = parts.icmp
    this.udp = parts.udp
    this.tcp = parts.tcp
    this.trace = parts.trace
    this.loopback = parts.loopback
    this.channels = parts.channels
  }

  /** A host with only its loopback interface; its fibers run in the current scope. */
  static make(options: HostOptions): Effect.Effect<Host, never, Scope.Scope> {
    const trace = options.trace ?? new NetTrace()
    return Effect.gen(function*() {
      const random = yield* Random.Random
      const link = yield* LinkLayer.make()
      const timers = yield* TimerQueue.make()
      const softirq = yield* Softirq.make({
        aroundPoll: (poll) => timers.batch(poll),
        ...(options.costPerPacketMicros === undefined ? {} : { costPerPacketMicros: options.costPerPacketMicros })
      })
      const pmtu = new PmtuCache()
      // The neighbour table and IPv4 need each other: the table asks IPv4 for addresses and ICMP
      // for host-unreachable errors; IPv4 sends through the table.
      let ipv4: Ipv4 | undefined = undefined
      let icmp: Icmp | undefined = undefined
      const neighbours = NeighbourTable.make({
        link,
        timers,
        random: () => random.nextDoubleUnsafe(),
        addresses: {
          isLocal: (_device, address) => ipv4?.addresses.isLocal(address) ?? false,
          sourceFor: (device, target) => ipv4?.addresses.sourceFor(device, target)
        },
        // RFC 1122 §2.3.2.2 / §3.2.2.1: resolution failed — host unreachable to the sender.
        unreachable: (packet: PacketBuffer, device: NetDevice) => {
          icmp?.sendError(packet, IcmpErrors.destinationUnreachable, IcmpErrors.codes.host, 0, device)
          packet.release()
        }
      })
      const ip = yield* Ipv4.make({
        link,
        neighbours,
        timers,
        pmtu,
        random: () => random.nextDoubleUnsafe(),
        ...(options.reassemblyMemoryBytes === undefined ? {} : { reassemblyMemoryBytes: options.reassemblyMemoryBytes }),
        ...(options.reassemblyTimeoutMicros === undefined ? {} : { reassemblyTimeoutMicros: options.reassemblyTimeoutMicros })
      })
      ipv4 = ip
      ip.forwarding = options.forwarding ?? false
      const control = Icmp.attach(ip, new IcmpRateLimiter(), link.drops)
      icmp = control
      // One ephemeral port range per namespace, shared by UDP and TCP (Linux `ip_local_port_range`, RFC 6056).
      const ephemeral = EphemeralPorts.makeDefault(() => random.nextDoubleUnsafe())
      const udp = Udp.attach(ip, { drops: link.drops, random: () => random.nextDoubleUnsafe(), ephemeral })
      // The congestion control algorithm is chosen by Layer (`CongestionControl`); CUBIC, as Linux, without one.
      const congestion = yield* Effect.serviceOption(CongestionControl)
      const tcp = Tcp.attach({
        ipv4: ip,
        timers,
        trace,
        drops: link.drops,
        random: () => random.nextDoubleUnsafe(),
        congestion: congestion._tag === "Some" ? congestion.value : cubic,
        ephemeral,
        ...(options.tcp === undefined ? {} : { settings: options.tcp })
      })
      const netChannels = options.netChannels
      const channels = yield* NetChannels.make(
        { tcp, drops: link.drops, random: () => random.nextDoubleUnsafe(), link },
        typeof netChannels === "object" ? netChannels : { enabled: netChannels ?? false }
      )
      link.addProtocol(EtherTypes.ipv4, (packet, device) => ip.receive(packet, device))
      link.addProtocol(EtherTypes.arp, (packet, device) => neighbours.receive(packet, device))

      const host = new Host({
        name: options.name,
        link,
        timers,
        softirq,
        neighbours,
        ipv4: ip,
        icmp: control,
        udp,
        tcp,
        trace,
        // A constant, valid configuration: it cannot fail.
        loopback: yield* addDevice(link, softirq, channels, { name: "lo", mac: 0, mtu: 65535 }, "loopback").pipe(Effect.orDie),
        channels
      })
      host.loopback.driver.nic.attach(loopback())
      ip.loopback = host.loopback
      host.addAddress(host.loopback, "127.0.0.1/8")
      return host
    }).pipe(Effect.provideService(CurrentNetTrace, trace))
  }

  /**
   * The host as a service (`CurrentHost`): built when the layer is built,
   * with the interfaces, addresses and routes of `options`; its fibers
   * (softirq, timers, drivers, NICs) stop when the layer is released.
   *
   * @example
   * const program = Effect.gen(function*() {
   *   const host = yield* CurrentHost
   *   return yield* host.ping("127.0.0.1")
   * }).pipe(Effect.provide(Host.layer({ name: "a" })))
   */
  static layer(options: HostOptions): Layer.Layer<CurrentHost>
  static layer(options: HostLayerOptions): Layer.Layer<CurrentHost, HostSetupError>
  static layer(options: HostLayerOptions): Layer.Layer<CurrentHost, HostSetupError> {
    return Layer.effect(CurrentHost, Effect.tap(Host.make(options), (host) => host.configure(options)))
  }

  /**
   * Adds `options.interfaces` (each plugged into its port, if it has one,
   * with its addresses), then `options.routes`, in order.
   */
  configure(options: {
    readonly interfaces?: ReadonlyArray<InterfaceSpecification>
    readonly routes?: ReadonlyArray<RouteSpecification>
  }): Effect.Effect<void, HostSetupError, Scope.Scope> {
    const host = this
    return Effect.gen(function*() {
      for (const { addresses, port, ...nic } of options.interfaces ?? []) {
        const device = yield* host.addInterface(nic)
        if (port !== undefined) host.attach(device, port)
        for (const cidr of addresses ?? []) {
          const added = host.addAddress(device, cidr)
          if (added instanceof InvalidAddress || added instanceof InvalidSpecification) return yield* added
        }
      }
      for (const route of options.routes ?? []) {
        const added = host.addRoute(route)
        if (added instanceof InvalidSpecification) return yield* added
      }
    })
  }

  /**
   * Adds an Ethernet interface (a simulated NIC and its driver, with the
   * driver settings in `driver`, e.g. page-sized receive buffers); plug it
   * into a medium with `attach`.
   */
  addInterface(
    options: Partial<NicOptions> & { readonly mac: number; readonly driver?: DriverOptions }
  ): Effect.Effect<EthernetDevice, InvalidNicConfig, Scope.Scope> {
    return addDevice(this.link, this.softirq, this.channels, options, "ethernet").pipe(Effect.provideService(CurrentNetTrace, this.trace))
  }

  /** Plugs `device` into a medium port. */
  attach(device: EthernetDevice, port: MediumPort): void {
    device.driver.nic.attach(port)
  }

  /** The interface named `name` (or the device itself). */
  device(device: string | NetDevice): NetDevice | undefined {
    return typeof device === "string" ? this.link.device(device) : device
  }

  /** `ip addr add CIDR dev DEVICE`. */
  addAddress(device: string | NetDevice, cidr: string): InterfaceAddress | InvalidAddress | InvalidSpecification {
    const parsed = parseCidr(cidr)
    if (parsed instanceof InvalidSpecification) return parsed
    const dev = this.device(device)
    if (dev === undefined) return new InvalidSpecification({ specification: cidr, reason: `no interface ${String(device)}` })
    return this.ipv4.addAddress(dev, parsed.address, parsed.prefixLength)
  }

  /**
   * `ip route add DESTINATION [via GATEWAY] [dev DEVICE] [metric N]`: `destination`
   * is `default` or a CIDR; without a device, the one that reaches the gateway.
   */
  addRoute(route: {
    readonly destination: string
    readonly via?: string
    readonly device?: string
    readonly metric?: number
  }): Route | InvalidSpecification {
    const cidr = route.destination === "default" ? { address: 0, prefixLength: 0 } : parseCidr(route.destination)
    if (cidr instanceof InvalidSpecification) return cidr
    const gateway = route.via === undefined ? undefined : ipv4FromString(route.via)
    if (route.via !== undefined && gateway === undefined) {
      return new InvalidSpecification({ specification: route.via, reason: "expected a gateway address" })
    }
    const device = route.device !== undefined
      ? this.link.device(route.device)
      : gateway === undefined
      ? undefined
      : this.ipv4.fib.lookup(gateway)?.device
    if (device === undefined) {
      return new InvalidSpecification({ specification: route.destination, reason: "no interface reaches it" })
    }
    const entry: Route = {
      destination: cidr.address,
      prefixLength: cidr.prefixLength,
      type: "unicast",
      device,
      gateway,
      metric: route.metric ?? 0,
      source: undefined,
      mtu: undefined,
      protocol: "static",
      scope: gateway === undefined ? "link" : "universe"
    }
    const error = this.ipv4.fib.add(entry)
    return error === undefined ? entry : new InvalidSpecification({ specification: route.destination, reason: error.message })
  }

  /** Pings `destination` (one echo request) and waits for the reply. */
  ping(destination: string, options: PingOptions = {}): Effect.Effect<EchoReply, PingError | InvalidSpecification> {
    const address = ipv4FromString(destination)
    return address === undefined
      ? Effect.fail(new InvalidSpecification({ specification: destination, reason: "expected a.b.c.d" }))
      : ping(this.icmp, address, options)
  }

  /** Opens a TCP connection to `address:port` (RFC 9293 active OPEN); closed with the scope. */
  connect(address: string, port: number, options: ConnectOptions = {}): Effect.Effect<TcpConnection, TcpError, Scope.Scope> {
    const remote = ipv4FromString(address)
    return remote === undefined
      ? Effect.fail(new TcpError({ reason: "invalid-argument", detail: `connect ${address}: expected a.b.c.d` }))
      : connect(this.tcp, remote, port, options)
  }

  /** Listens for TCP connections on `port` (RFC 9293 passive OPEN); stops with the scope. */
  listen(port: number, options: ListenOptions = {}): Effect.Effect<TcpListener, TcpError, Scope.Scope> {
    return listen(this.tcp, port, options)
  }

  /** Turns the network trace on (stamped with the stack's clock). */
  startTracing(): Effect.Effect<void> {
    const trace = this.trace
    return Effect.gen(function*() {
      trace.enable(yield* Clock.Clock)
    })
  }
}

/** The host a program runs on (one network namespace), provided by `Host.layer`. */
export class CurrentHost extends Context.Service<CurrentHost, Host>()("@netstack/stack/CurrentHost") {}

/** An interface `Host.layer` (or `host.configure`) adds: NIC settings, its addresses, and the medium port it is plugged into. */
export interface InterfaceSpecification extends Partial<NicOptions> {
  readonly mac: number
  /** Addresses, `a.b.c.d/n`. */
  readonly addresses?: ReadonlyArray<string>
  /** A wire's or hub's port to plug the NIC into; unplugged without it (plug it in later with `host.attach`). */
  readonly port?: MediumPort
}

/** A route, as `Host.addRoute` takes it (`ip route add DESTINATION [via GATEWAY] [dev DEVICE] [metric N]`). */
export interface RouteSpecification {
  readonly destination: string
  readonly via?: string
  readonly device?: string
  readonly metric?: number
}

/** `Host.layer`'s settings: the host's own, and the interfaces and routes it starts with. */
export interface HostLayerOptions extends HostOptions {
  readonly interfaces?: ReadonlyArray<InterfaceSpecification>
  readonly routes?: ReadonlyArray<RouteSpecification>
}

/** What setting up a host's interfaces, addresses and routes can fail with. */
export type HostSetupError = InvalidNicConfig | InvalidAddress | InvalidSpecification

/** Adds a NIC + driver + Ethernet device to a host's link layer, with the net-channel classifier on its receive path. */
const addDevice = (
  link: LinkLayer,
  softirq: SoftirqShape,
  channels: NetChannels,
  options: Partial<NicOptions> & { readonly mac: number; readonly driver?: DriverOptions },
  kind: "ethernet" | "loopback"
): Effect.Effect<EthernetDevice, InvalidNicConfig, Scope.Scope> =>
  Effect.gen(function*() {
    const { driver: driverOptions, ...nicOptions } = options
    const ifindex = link.allocateIfindex()
    const nic = yield* Nic.make({ name: `eth${ifindex - 2}`, ifindex, ...nicOptions })
    let device: EthernetDevice | undefined = undefined
    const driver = yield* Driver.make(driverOptions).pipe(
      Effect.provideService(Nic, nic),
      Effect.provideService(Softirq, softirq),
      Effect.provideService(ReceiveHandler, {
        receive: (packet: PacketBuffer) => (device === undefined ? packet.release() : link.receive(device, packet))
      })
    )
    device = yield* EthernetDevice.make(driver, ifindex, kind)
    link.register(device)
    // The classifier sees each packet before the link layer; it does nothing while channels are off.
    driver.setClassifier(channels.classifierFor(device))
    return device
  })
