/**
 * IPv4 for one host (RFC 791, RFC 1122 §3.2.1, RFC 1812 §5.2-5.3): receive
 * validation, local delivery with reassembly and dispatch by protocol
 * number, forwarding, and output with fragmentation, with filter hooks at
 * the five points netfilter has them.
 *
 * Receive (`ip_rcv`): check the header (version, length, checksum, total
 * length), trim link padding, PREROUTING, route: local → reassemble, INPUT,
 * deliver to the protocol; otherwise forward (if forwarding) → FORWARD,
 * TTL, fragment, POSTROUTING, neighbour. Output (`ip_queue_xmit`): route,
 * header, OUTPUT, fragment, POSTROUTING, neighbour. Every drop is counted in
 * the `/proc/net/snmp` counters and under a named reason; errors a sender
 * must hear about go back as ICMP (rate limited) or as typed results.
 */
import { type PacketBuffer, updateChecksum16 } from "@netstack/buffers"
import { CurrentNetTrace, isGsoDefect, type NetTrace, segmentTcp } from "@netstack/device"
import type { DropCounters, LinkLayer, NeighbourTable, NetDevice, TimerQueue } from "@netstack/l2"
import { emitIpv4, Ipv4View, ipv4ToString, readU16, writeU16 } from "@netstack/wire"
import { Effect, Schema } from "effect"
import { type Hook, Netfilter, type PacketInfo } from "../filter/index.ts"
import { fragmentIpv4, isFragmentDefect, Reassembler } from "../fragment/index.ts"
import type { PmtuCache } from "../pmtu/index.ts"
import { connectedRoutes, Fib, type Route } from "../route/index.ts"
import { AddressTable, type InterfaceAddress, InvalidAddress } from "./addresses.ts"
import { IpStats } from "./stats.ts"

/** Room to leave in front of a transport header: IPv4 with options, a VLAN tag, Ethernet, and slack. */
export const IPV4_HEADROOM = 128

const TCP = 6
const UDP = 17

/** A datagram delivered to a transport protocol: data at its transport header. */
export interface ReceivedDatagram {
  readonly source: number
  readonly destination: number
  readonly protocol: number
  readonly device: NetDevice
  readonly ttl: number
  readonly tos: number
  /** Sent to a broadcast or multicast address. */
  readonly broadcast: boolean
  /** Offset from the packet's `head` of its IPv4 header (`meta.networkHeader`). */
  readonly networkHeader: number
}

/** An ICMP error about a datagram this host sent, handed to the transport that sent it (RFC 1122 §3.2.2). */
export interface TransportError {
  readonly type: number
  readonly code: number
  /** Who sent the ICMP error. */
  readonly from: number
  /** The quoted datagram's addresses and protocol. */
  readonly source: number
  readonly destination: number
  readonly protocol: number
  /** The quoted transport header bytes (at least 8, RFC 792). */
  readonly quoted: Uint8Array
  /** Next-hop MTU of a "fragmentation needed" (RFC 1191), else undefined. */
  readonly mtu: number | undefined
}

/** A transport protocol (ICMP, UDP, TCP) as IPv4 sees it. */
export interface TransportHandler {
  /** A datagram for this host; the handler owns the packet. */
  readonly receive: (packet: PacketBuffer, datagram: ReceivedDatagram) => void
  /** An ICMP error about something this protocol sent. */
  readonly error?: (error: TransportError) => void
}

/**
 * Sees every datagram delivered locally before its protocol does (raw
 * sockets, Linux `raw_local_deliver`): data at its IPv4 header, after
 * reassembly and the INPUT hook. It must not keep or change the packet (copy
 * what it needs); it returns true when a socket took a copy.
 */
export type RawDelivery = (datagram: PacketBuffer, received: ReceivedDatagram) => boolean

/** What `send` needs. */
export interface SendOptions {
  readonly destination: number
  readonly protocol: number
  /** Source address; chosen from the route and the outgoing interface when absent (RFC 1122 §3.3.4.3). */
  readonly source?: number
  /** Time to live (IP_TTL); the host's default (64) when absent. */
  readonly ttl?: number | undefined
  /** DSCP and ECN (the old TOS octet). */
  readonly tos?: number
  /** Set DF: refuse to fragment (`message-too-big` instead), for path MTU discovery (RFC 1191). */
  readonly dontFragment?: boolean
  /** Send through this interface (SO_BINDTODEVICE); needed for 255.255.255.255. */
  readonly device?: NetDevice
  /** Raw IP options (padded by the emitter). */
  readonly options?: Uint8Array
}

/** Why `send` could not send a datagram (the errno a socket would report in a comment). */
export class SendError extends Schema.TaggedError<SendError>()("SendError", {
  reason: Schema.Literals([
    "no-route", // ENETUNREACH
    "unreachable", // EHOSTUNREACH (an unreachable route)
    "prohibited", // EACCES (a prohibit route)
    "filtered", // EPERM (OUTPUT dropped it)
    "message-too-big", // EMSGSIZE (DF and larger than the path MTU)
    "no-source", // EADDRNOTAVAIL
    "no-headroom"
  ]),
  destination: Schema.String,
  /** The path MTU, with `message-too-big`. */
  mtu: Schema.optional(Schema.Number)
}) {}

/** ICMP errors IPv4 generates, by what went wrong (RFC 792). The ICMP module sends them. */
export interface IcmpErrorSender {
  /** Sends ICMP `type`/`code` about `offending` (data at its IPv4 header); `extra` is the next-hop MTU or the pointer. */
  readonly send: (offending: PacketBuffer, type: number, code: number, extra: number, device: NetDevice | undefined) => void
}

/** ICMP types and codes IPv4 itself raises (RFC 792). */
export const IcmpErrors = {
  destinationUnreachable: 3,
  timeExceeded: 11,
  codes: {
    net: 0,
    host: 1,
    protocol: 2,
    port: 3,
    fragmentationNeeded: 4,
    adminProhibited: 13,
    ttlExceeded: 0,
    reassemblyTimeExceeded: 1
  }
} as const

/**
 * The largest IP datagram `packet` (data at its IPv4 header) puts on the
 * wire: its length, or for a TCP super-packet (GSO/GRO) the length of one
 * segment, IP and TCP headers plus `gsoSize` (Linux `skb_gso_network_seglen`).
 */
const wireLength = (packet: PacketBuffer): number => {
  const meta = packet.meta
  if (meta.gsoType !== "tcpv4") return packet.length
  const bytes = packet.bytes
  const ip = packet.data
  const ipLength = (bytes[ip] & 0x0f) << 2
  if (packet.headLength < ipLength + 13) return packet.length
  const tcpLength = (bytes[ip + ipLength + 12] >>> 4) << 2
  return Math.min(packet.length, ipLength + tcpLength + meta.gsoSize)
}

/** The rejections a filter rule asks for, as ICMP destination-unreachable codes. */
const REJECT_CODES: Readonly<Record<string, number>> = {
  "icmp-net-unreachable": IcmpErrors.codes.net,
  "icmp-host-unreachable": IcmpErrors.codes.host,
  "icmp-port-unreachable": IcmpErrors.codes.port,
  "icmp-proto-unreachable": IcmpErrors.codes.protocol,
  "icmp-admin-prohibited": IcmpErrors.codes.adminProhibited
}

/** What the IPv4 layer is built from. */
export interface Ipv4Dependencies {
  readonly link: LinkLayer
  readonly neighbours: NeighbourTable
  readonly timers: TimerQueue
  readonly pmtu: PmtuCache
  /** Random 16-bit start of the identification counter. */
  readonly random: () => number
  readonly reassemblyTimeoutMicros?: number
  readonly reassemblyMemoryBytes?: number
}

/** The IPv4 layer of one host. */
export class Ipv4 {
  readonly stats = new IpStats()
  readonly addresses = new AddressTable()
  readonly fib = new Fib()
  readonly filter = new Netfilter()
  readonly reassembler: Reassembler
  readonly pmtu: PmtuCache
  /** Forward datagrams not addressed to this host (net.ipv4.ip_forward); off by default, as on a host. */
  forwarding = false
  /** Default TTL of sent datagrams (net.ipv4.ip_default_ttl). */
  defaultTtl = 64
  /** The loopback interface, which carries datagrams to this host's own addresses. */
  loopback: NetDevice | undefined = undefined
  /** Sends ICMP errors; set by the ICMP module when it is attached. */
  icmpErrors: IcmpErrorSender | undefined = undefined
  private readonly timers: TimerQueue
  private readonly drops: DropCounters
  private readonly neighbours: NeighbourTable
  /** The host's network trace. */
  readonly trace: NetTrace
  private readonly protocols = new Map<number, TransportHandler>()
  private rawDeliveries: ReadonlyArray<RawDelivery> = []
  private identification: number
  /** Scratch for the filter hooks (one packet at a time: the stack is single-threaded). */
  private readonly info: PacketInfo = {
    source: 0,
    destination: 0,
    protocol: 0,
    sourcePort: -1,
    destinationPort: -1,
    length: 0,
    inInterface: undefined,
    outInterface: undefined
  }

  private constructor(deps: Ipv4Dependencies, trace: NetTrace) {
    this.timers = deps.timers
    this.drops = deps.link.drops
    this.neighbours = deps.neighbours
    this.trace = trace
    this.pmtu = deps.pmtu
    this.identification = Math.floor(deps.random() * 0x10000)
    this.reassembler = Reassembler.make({
      timers: deps.timers,
      timeoutMicros: deps.reassemblyTimeoutMicros ?? 30_000_000,
      highThresholdBytes: deps.reassemblyMemoryBytes ?? 4 * 1024 * 1024,
      onTimeout: (first) => {
        // RFC 1122 §3.2.1.4 / RFC 792: time exceeded (code 1) only when fragment zero arrived.
        if (first !== undefined) this.icmpError(first, IcmpErrors.timeExceeded, IcmpErrors.codes.reassemblyTimeExceeded, 0, undefined)
      }
    })
  }

  /** An IPv4 layer for a host (uses the current network trace). */
  static make(deps: Ipv4Dependencies): Effect.Effect<Ipv4> {
    return Effect.gen(function*() {
      return new Ipv4(deps, yield* CurrentNetTrace)
    })
  }

  // ------------------------------------------------------------------ configuration

  /** Registers the transport protocol `protocol` (1 ICMP, 6 TCP, 17 UDP, …). */
  registerProtocol(protocol: number, handler: TransportHandler): void {
    this.protocols.set(protocol, handler)
  }

  /** Adds a raw delivery hook (raw sockets); returns the function that removes it. */
  addRawDelivery(delivery: RawDelivery): () => void {
    this.rawDeliveries = [...this.rawDeliveries, delivery]
    return () => {
      this.rawDeliveries = this.rawDeliveries.filter((d) => d !== delivery)
    }
  }

  /**
   * Adds `address/prefixLength` to `device` (`ip addr add`): the local,
   * connected and broadcast routes come with it, and a gratuitous ARP
   * announces it (RFC 5227 §3).
   */
  addAddress(device: NetDevice, address: number, prefixLength: number): InterfaceAddress | InvalidAddress {
    const added = this.addresses.add(device, address, prefixLength)
    if (added instanceof InvalidAddress) return added
    for (const route of connectedRoutes(device, address, prefixLength)) this.fib.add(route)
    if (device.kind !== "loopback") this.neighbours.announce(device, address)
    return added
  }

  // ------------------------------------------------------------------ receive

  /** The receive path: a datagram from `device`, data at its IPv4 header. IPv4 owns it from here. */
  receive(packet: PacketBuffer, device: NetDevice): void {
    const stats = this.stats
    // ip_rcv_core: frames the link layer accepted only for a promiscuous interface are not ours (not counted as received).
    if (packet.meta.packetType === "otherhost") return this.drop(packet, "ipv4.otherhost")
    stats.InReceives++
    const view = Ipv4View.parse(packet)
    if (!(view instanceof Ipv4View)) {
      if (view.reason === "truncated" || view.reason === "bad-total-length") stats.InTruncatedPkts++
      stats.InHdrErrors++
      return this.drop(packet, view.name)
    }
    if (!view.verifyChecksum()) {
      stats.InCsumErrors++
      stats.InHdrErrors++
      return this.drop(packet, "ipv4.bad-checksum")
    }
    // RFC 1122 §3.3.1 note / ip_rcv: bytes past the total length are link padding.
    if (packet.length > view.totalLength) packet.trim(view.totalLength)
    const source = view.source
    const destination = view.destination
    // RFC 1812 §5.3.7: a source that is broadcast, multicast or (off loopback) 127/8 is a martian.
    if (source === 0xffffffff || source >>> 28 === 14 || (source >>> 24 === 127 && device.kind !== "loopback")) {
      stats.InAddrErrors++
      return this.drop(packet, "ipv4.martian-source")
    }
    if (this.trace.enabled) this.trace.record("ip-rcv", packet, device.name)
    if (this.hook("prerouting", packet, view, device, undefined)) return

    if (this.addresses.isLocal(destination) || this.addresses.isBroadcast(destination) || destination >>> 28 === 14) {
      return this.deliverLocal(packet, view, device)
    }
    const route = this.fib.lookup(destination)
    if (route !== undefined && (route.type === "local" || route.type === "broadcast")) return this.deliverLocal(packet, view, device)
    if (!this.forwarding) {
      stats.InAddrErrors++
      return this.drop(packet, "ipv4.not-for-us")
    }
    this.forward(packet, view, device, route)
  }

  private deliverLocal(packet: PacketBuffer, first: Ipv4View, device: NetDevice): void {
    let view = first
    let datagram = packet
    if (view.isFragment) {
      const result = this.reassembler.add(packet)
      if (result === "held") return
      if (!(typeof result === "object" && "meta" in result)) {
        this.drops.count(`reassembly.${result}`)
        return
      }
      datagram = result
      if (this.trace.enabled) this.trace.record("ip-reasm", datagram, device.name, `reassembled ${datagram.length} bytes`)
      const whole = Ipv4View.parse(datagram)
      if (!(whole instanceof Ipv4View)) return this.drop(datagram, "ipv4.reassembled-invalid")
      view = whole
    }
    if (this.hook("input", datagram, view, device, undefined)) return
    const protocol = view.protocol
    const handler = this.protocols.get(protocol)
    const broadcast = !this.addresses.isLocal(view.destination)
    const received: ReceivedDatagram = {
      source: view.source,
      destination: view.destination,
      protocol,
      device,
      ttl: view.ttl,
      tos: (view.dscp << 2) | view.ecn,
      broadcast,
      networkHeader: datagram.data
    }
    // Linux `ip_local_deliver_finish`: raw sockets get their copies first (`raw_local_deliver`).
    let raw = false
    for (const delivery of this.rawDeliveries) raw = delivery(datagram, received) || raw
    if (handler === undefined) {
      // A raw socket took it: consumed (Linux `ip_protocol_deliver_rcu`).
      if (raw) {
        this.stats.InDelivers++
        datagram.release()
        return
      }
      this.stats.InUnknownProtos++
      // RFC 1122 §3.2.2.1: protocol unreachable, for datagrams addressed to us alone.
      if (!broadcast) this.icmpError(datagram, IcmpErrors.destinationUnreachable, IcmpErrors.codes.protocol, 0, device)
      return this.drop(datagram, "ipv4.unknown-protocol")
    }
    datagram.meta.networkHeader = datagram.data
    datagram.pull(view.headerLength)
    datagram.resetTransportHeader()
    this.stats.InDelivers++
    if (this.trace.enabled) this.trace.record("ip-local", datagram, device.name, `proto ${protocol}`)
    handler.receive(datagram, received)
  }

  // ------------------------------------------------------------------ forward

  private forward(packet: PacketBuffer, view: Ipv4View, inDevice: NetDevice, route: Route | undefined): void {
    const stats = this.stats
    // ip_forward: only frames addressed to us at the link layer are forwarded.
    if (packet.meta.packetType !== "host") return this.drop(packet, "ipv4.forward-link-broadcast")
    if (route === undefined || route.type !== "unicast" || route.device === undefined) {
      stats.InNoRoutes++
      if (route?.type !== "blackhole") {
        const code = route?.type === "prohibit" ? IcmpErrors.codes.adminProhibited : route?.type === "unreachable" ? IcmpErrors.codes.host : IcmpErrors.codes.net
        this.icmpError(packet, IcmpErrors.destinationUnreachable, code, 0, inDevice)
      }
      return this.drop(packet, "ipv4.no-route")
    }
    // RFC 1812 §5.3.1: a datagram whose TTL would reach zero is discarded with time exceeded.
    if (view.ttl <= 1) {
      this.icmpError(packet, IcmpErrors.timeExceeded, IcmpErrors.codes.ttlExceeded, 0, inDevice)
      stats.InHdrErrors++
      return this.drop(packet, "ipv4.ttl-exceeded")
    }
    const out = route.device
    // ip_forward's `ip_exceeds_mtu`, before the FORWARD hook: DF and too big for the next hop is
    // fragmentation needed with the next-hop MTU (RFC 1191 §4, RFC 1812 §5.2.6).
    const mtu = this.pathMtu(route, out, view.destination)
    if (view.dontFragment && wireLength(packet) > mtu) {
      stats.FragFails++
      this.icmpError(packet, IcmpErrors.destinationUnreachable, IcmpErrors.codes.fragmentationNeeded, mtu, inDevice)
      return this.drop(packet, "ipv4.fragmentation-needed")
    }
    if (this.hook("forward", packet, view, inDevice, out)) return
    // Decrement the TTL and update the checksum incrementally (RFC 1624; RFC 1812 §5.3.1).
    const bytes = packet.writableBytes()
    if (!(bytes instanceof Uint8Array)) return this.discard(packet, "ipv4.forward-unwritable")
    const at = packet.data
    const oldWord = readU16(bytes, at + 8)
    bytes[at + 8] = view.ttl - 1
    writeU16(bytes, at + 10, updateChecksum16(readU16(bytes, at + 10), oldWord, readU16(bytes, at + 8)))
    if (this.trace.enabled) this.trace.record("ip-forward", packet, `${inDevice.name}→${out.name}`)
    stats.ForwDatagrams++ // ip_forward_finish
    this.output(packet, route, out, mtu, view.destination, inDevice)
  }

  // ------------------------------------------------------------------ send

  /**
   * Sends a datagram from this host: `packet` holds the transport header and
   * data (data at the transport header, `IPV4_HEADROOM` bytes of headroom).
   * Returns what went wrong, if anything; on success IPv4 owns the packet.
   */
  send(packet: PacketBuffer, options: SendOptions): SendError | undefined {
    const stats = this.stats
    const destination = options.destination
    let route: Route | undefined
    let out: NetDevice | undefined
    if (destination === 0xffffffff) {
      out = options.device
      route = undefined
    } else {
      route = this.fib.lookup(destination)
      if (route === undefined) {
        stats.OutNoRoutes++
        return this.refuse(packet, "no-route", destination)
      }
      if (route.type === "unreachable" || route.type === "blackhole") {
        stats.OutNoRoutes++
        return this.refuse(packet, route.type === "blackhole" ? "no-route" : "unreachable", destination)
      }
      if (route.type === "prohibit") return this.refuse(packet, "prohibited", destination)
      out = route.type === "local" ? this.loopback ?? route.device : options.device ?? route.device
    }
    if (out === undefined) {
      stats.OutNoRoutes++
      return this.refuse(packet, "no-route", destination)
    }
    const source = options.source ?? route?.source ?? this.addresses.sourceFor(route?.device ?? out, destination) ??
      (route?.type === "local" ? destination : undefined)
    if (source === undefined) return this.refuse(packet, "no-source", destination)
    const emitted = emitIpv4(packet, {
      dscp: (options.tos ?? 0) >>> 2,
      ecn: (options.tos ?? 0) & 3,
      identification: this.nextIdentification(),
      reservedFlag: false,
      dontFragment: options.dontFragment ?? false,
      moreFragments: false,
      fragmentOffset: 0,
      ttl: options.ttl ?? this.defaultTtl,
      protocol: options.protocol,
      source,
      destination,
      ...(options.options === undefined ? {} : { options: options.options })
    })
    if (emitted !== undefined) {
      stats.OutDiscards++
      return this.refuse(packet, "no-headroom", destination)
    }
    const mtu = this.pathMtu(route, out, destination)
    // A DF datagram larger than the path MTU is refused before it is counted or filtered, as Linux's
    // `ip_append_data` refuses it with EMSGSIZE (RFC 1191 §3: the sender learns the MTU and sends smaller).
    if (options.dontFragment === true && wireLength(packet) > mtu) {
      packet.release()
      this.drops.count("ipv4.send-message-too-big")
      return new SendError({ reason: "message-too-big", destination: ipv4ToString(destination), mtu })
    }
    stats.OutRequests++
    const view = Ipv4View.parse(packet)
    if (!(view instanceof Ipv4View)) return this.refuse(packet, "no-headroom", destination)
    if (this.hook("output", packet, view, undefined, out)) {
      return new SendError({ reason: "filtered", destination: ipv4ToString(destination) })
    }
    if (this.trace.enabled) this.trace.record("ip-output", packet, out.name)
    this.output(packet, route, out, mtu, destination, undefined)
    return undefined
  }

  // ------------------------------------------------------------------ output

  /**
   * The MTU of the path to `destination` as this host knows it: the route's
   * (or its device's), lowered by the path-MTU cache (RFC 1191 §6.3); 576
   * (RFC 1122 §3.3.3's minimum reassembly size) when there is no route.
   * Transports size their segments by it (TCP's MSS, RFC 9293 §3.7.1).
   */
  pathMtuTo(destination: number): number {
    const route = this.fib.lookup(destination)
    const out = route?.type === "local" ? this.loopback ?? route.device : route?.device
    return out === undefined ? 576 : this.pathMtu(route, out, destination)
  }

  /**
   * The source address this host would use toward `destination` (RFC 1122
   * §3.3.4.3: the route's preferred source, else an address of the outgoing
   * interface), or undefined without a route.
   */
  sourceAddressFor(destination: number): number | undefined {
    const route = this.fib.lookup(destination)
    if (route === undefined || (route.type !== "unicast" && route.type !== "local" && route.type !== "broadcast")) return undefined
    if (route.type === "local") return destination
    const device = route.device
    return route.source ?? (device === undefined ? undefined : this.addresses.sourceFor(device, destination))
  }

  /**
   * The MTU toward `destination` through `out`: the route's MTU (or the
   * device's), lowered by the path-MTU cache (RFC 1191 §6.3).
   */
  private pathMtu(route: Route | undefined, out: NetDevice, destination: number): number {
    const mtu = route?.mtu ?? out.mtu
    if (this.pmtu.size === 0) return mtu
    const cached = this.pmtu.get(destination, this.timers.now())
    return cached === undefined ? mtu : Math.min(mtu, cached)
  }

  /**
   * Fragments if needed (`ip_fragment`; DF was checked by the caller), then
   * POSTROUTING and the neighbour.
   */
  private output(
    packet: PacketBuffer,
    route: Route | undefined,
    out: NetDevice,
    mtu: number,
    destination: number,
    inDevice: NetDevice | undefined
  ): void {
    const nextHop = route?.gateway ?? destination
    const kind = destination === 0xffffffff || route?.type === "broadcast"
      ? "broadcast"
      : destination >>> 28 === 14
      ? "multicast"
      : "unicast"
    if (wireLength(packet) <= mtu) return this.finish(packet, out, nextHop, kind, inDevice)
    if (packet.meta.gsoType !== "none") {
      // `ip_finish_output_gso`: segments too large for the route are made in software, then fragmented.
      const segments = segmentTcp(packet, { checksum: "full", from: "network" })
      if (isGsoDefect(segments)) {
        this.stats.FragFails++
        return this.drop(packet, segments.name)
      }
      packet.release()
      for (const segment of segments) this.output(segment, route, out, mtu, destination, inDevice)
      return
    }
    const fragments = fragmentIpv4(packet, mtu)
    if (isFragmentDefect(fragments)) {
      this.stats.FragFails++
      return this.drop(packet, fragments.name)
    }
    packet.release()
    this.stats.FragOKs++
    this.stats.FragCreates += fragments.length
    if (this.trace.enabled) for (const f of fragments) this.trace.record("ip-fragment", f, out.name, `of ${fragments.length}`)
    for (const fragment of fragments) this.finish(fragment, out, nextHop, kind, inDevice)
  }

  private finish(
    packet: PacketBuffer,
    out: NetDevice,
    nextHop: number,
    kind: "unicast" | "broadcast" | "multicast",
    inDevice: NetDevice | undefined
  ): void {
    if (!this.filter.isEmpty("postrouting")) {
      const view = Ipv4View.parse(packet)
      if (view instanceof Ipv4View && this.hook("postrouting", packet, view, inDevice, out)) return
    }
    this.neighbours.output(out, nextHop, packet, kind)
  }

  // ------------------------------------------------------------------ helpers

  /**
   * Runs a filter hook; true when the packet was dropped or rejected (and is
   * gone). Skips hooks with no rules and an accepting policy.
   */
  private hook(
    hook: Hook,
    packet: PacketBuffer,
    view: Ipv4View,
    inDevice: NetDevice | undefined,
    outDevice: NetDevice | undefined
  ): boolean {
    if (this.filter.isEmpty(hook)) return false
    const info = this.info
    info.source = view.source
    info.destination = view.destination
    info.protocol = view.protocol
    info.length = view.totalLength
    info.inInterface = inDevice?.name
    info.outInterface = outDevice?.name
    info.sourcePort = -1
    info.destinationPort = -1
    const at = view.start + view.headerLength
    if ((view.protocol === TCP || view.protocol === UDP) && view.fragmentOffset === 0 && packet.headLength >= at - packet.data + 4) {
      info.sourcePort = readU16(packet.bytes, at)
      info.destinationPort = readU16(packet.bytes, at + 2)
    }
    const decision = this.filter.evaluate(hook, info)
    if (decision.verdict === "accept") return false
    if (decision.verdict === "reject") {
      const code = REJECT_CODES[decision.rejectWith ?? "icmp-port-unreachable"] ?? IcmpErrors.codes.port
      this.icmpError(packet, IcmpErrors.destinationUnreachable, code, 0, inDevice)
    }
    this.drop(packet, `filter.${hook}.${decision.verdict}`)
    return true
  }

  /** Sends an ICMP error about `offending` if the ICMP module is attached (it applies RFC 1122's rules and the rate limit). */
  private icmpError(offending: PacketBuffer, type: number, code: number, extra: number, device: NetDevice | undefined): void {
    this.icmpErrors?.send(offending, type, code, extra, device)
  }

  /** Microseconds now, on the host's clock. */
  now(): number {
    return this.timers.now()
  }

  /** The transport handler of `protocol` (ICMP hands errors to it). */
  transport(protocol: number): TransportHandler | undefined {
    return this.protocols.get(protocol)
  }

  private nextIdentification(): number {
    this.identification = (this.identification + 1) & 0xffff
    return this.identification
  }

  /** Drops a packet under `reason`; the caller counts it in the MIB counter that names the cause. */
  private drop(packet: PacketBuffer, reason: string): void {
    this.drops.count(reason)
    packet.release()
  }

  /** Drops a packet that was fine but could not be processed (RFC 4293 `ipSystemStatsInDiscards`). */
  private discard(packet: PacketBuffer, reason: string): void {
    this.stats.InDiscards++
    this.drop(packet, reason)
  }

  private refuse(packet: PacketBuffer, reason: SendError["reason"], destination: number): SendError {
    packet.release()
    this.drops.count(`ipv4.send-${reason}`)
    return new SendError({ reason, destination: ipv4ToString(destination) })
  }
}
