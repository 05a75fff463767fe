/**
 * UDP for IPv4 (RFC 768, RFC 1122 §4.1) attached to a host's `Ipv4` as
 * protocol 17, following Linux's net/ipv4/udp.c.
 *
 * Receive (`__udp4_lib_rcv`, synchronous in the softirq): validate the
 * header against the IP payload (a length field shorter than the payload
 * trims it, a longer one drops the datagram), verify the checksum unless the
 * NIC did (a zero checksum means none was sent, RFC 768), then deliver:
 * broadcast and multicast datagrams to every matching socket, each its own
 * copy (`__udp4_lib_mcast_deliver`); unicast ones to the best match (exact
 * local address before the wildcard, a connected socket only from its peer,
 * `compute_score`), or, with no socket, ICMP port unreachable (RFC 1122
 * §4.1.3.1, §3.2.2.1) and `NoPorts`. The data is copied out into the
 * socket's bounded queue and the packet released at once.
 *
 * Send (`udp_sendmsg`): route first (the source address goes into the
 * pseudo-header), refuse broadcasts without SO_BROADCAST (EACCES) and data
 * over 65507 bytes (EMSGSIZE), write the header with a full checksum, or a
 * partial one the device completes when it has tx checksum offload, and hand
 * the datagram to IP, mapping its refusals to errno-like reasons.
 *
 * ICMP errors about our datagrams (`__udp4_lib_err`) find the socket by the
 * quoted addresses and ports; a connected socket gets the hard ones
 * (`icmp_err_convert`: port unreachable is ECONNREFUSED) on its next
 * receive or send, as Linux's `sk_err`. Unconnected sockets ignore them, as
 * Linux does without IP_RECVERR (which is not modelled).
 *
 * Linux verifies the checksum of a datagram queued to a socket only when it
 * is read; here it is verified before queueing (same counters, and a bad
 * datagram never takes queue space).
 */
import { ChecksumState, ipv4PseudoHeaderSum, PacketBuffer } from "@netstack/buffers"
import type { DropCounters } from "@netstack/l2"
import {
  IcmpErrors,
  IPV4_HEADROOM,
  type Ipv4,
  type ReceivedDatagram,
  type TransportError
} from "@netstack/l3"
import { emitUdp, ipv4ToString, readU16, UDP_HEADER_LENGTH, UdpView } from "@netstack/wire"
import { Effect, type Scope } from "effect"
import { ANY_ADDRESS, EphemeralPorts, EphemeralPortsExhausted, PortInUse, PortTable } from "../ports/index.ts"
import { fromSendError, UdpError, UNREACHABLE_ERRORS } from "./errors.ts"
import { isMulticast, LIMITED_BROADCAST, routeOutput } from "./output-route.ts"
import { DEFAULT_RECEIVE_BUFFER, type UdpDatagram } from "./receive-queue.ts"
import { type PmtuDiscovery, type UdpEndpoint, UdpSocket } from "./socket.ts"
import { UdpStats } from "./stats.ts"

/** IP protocol number of UDP. */
export const UDP_PROTOCOL = 17

/** The most data one datagram carries over IPv4: 65535 - 20 (IP header) - 8 (UDP header). */
export const MAX_UDP_PAYLOAD = 65507

const ICMP_SOURCE_QUENCH = 4
const ICMP_REDIRECT = 5
const ICMP_PARAMETER_PROBLEM = 12

/** How UDP is attached to a host's IPv4. */
export interface UdpOptions {
  /** The host's drop counters (named reasons). */
  readonly drops: DropCounters
  /** Uniform numbers in [0, 1) for the ephemeral port allocator (when `ephemeral` is absent). */
  readonly random: () => number
  /** The host's ephemeral port allocator, shared with TCP; one is made when absent. */
  readonly ephemeral?: EphemeralPorts
  /** Most sockets at once; default 65536. */
  readonly maxSockets?: number
  /** SO_RCVBUF of new sockets; default Linux's 212992 bytes. */
  readonly receiveBuffer?: number
}

/** What `bind` takes; everything optional. */
export interface UdpBindOptions {
  /** Local address: 0 or absent for every address (INADDR_ANY); else one of the host's, or a broadcast or multicast address. */
  readonly address?: number
  /** Local port: 0 or absent for an ephemeral port (RFC 6056). */
  readonly port?: number
  /** SO_REUSEADDR: share the port with other sockets that set it. */
  readonly reuseAddress?: boolean
  /** SO_BROADCAST. */
  readonly broadcast?: boolean
  /** SO_RCVBUF, bytes. */
  readonly receiveBuffer?: number
  /** IP_MTU_DISCOVER; default `want`, as Linux. */
  readonly pmtuDiscovery?: PmtuDiscovery
  /** IP_TTL. */
  readonly ttl?: number
}

const isU32 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffffffff
const isPort = (n: number): boolean => Number.isInteger(n) && n >= 1 && n <= 65535
const endpoint = (address: number, port: number): string => `${ipv4ToString(address)}:${port}`

/** The UDP module of one host. */
export class Udp {
  readonly stats = new UdpStats()
  /** Bound ports. */
  readonly table: PortTable<UdpSocket>
  /** Ephemeral port selection (shared with TCP). */
  readonly ephemeral: EphemeralPorts
  private readonly ipv4: Ipv4
  private readonly drops: DropCounters
  private readonly receiveBuffer: number

  private constructor(ipv4: Ipv4, options: UdpOptions, ephemeral: EphemeralPorts) {
    this.ipv4 = ipv4
    this.drops = options.drops
    this.ephemeral = ephemeral
    this.receiveBuffer = options.receiveBuffer ?? DEFAULT_RECEIVE_BUFFER
    this.table = new PortTable({ capacity: options.maxSockets ?? 65536 })
  }

  /** UDP for `ipv4`, registered as protocol 17. */
  static attach(ipv4: Ipv4, options: UdpOptions): Udp {
    const udp = new Udp(ipv4, options, options.ephemeral ?? EphemeralPorts.makeDefault(options.random))
    ipv4.registerProtocol(UDP_PROTOCOL, { receive: (p, d) => udp.receive(p, d), error: (e) => udp.error(e) })
    return udp
  }

  // ------------------------------------------------------------------ sockets

  /**
   * A socket bound to `options.address`:`options.port` (an ephemeral port
   * when 0 or absent), closed when the scope closes.
   *
   * @example
   * const socket = yield* udp.bind({ port: 5353 })
   * const { data, from } = yield* socket.receive
   * yield* socket.send(data, from)
   */
  bind(options: UdpBindOptions = {}): Effect.Effect<UdpSocket, UdpError, Scope.Scope> {
    return Effect.acquireRelease(
      Effect.suspend(() => {
        const socket = this.open(options)
        return socket instanceof UdpError ? Effect.fail(socket) : Effect.succeed(socket)
      }),
      (socket) => socket.close
    )
  }

  /** `bind` as a plain call: the socket (close it with `closeNow`) or why not (EADDRINUSE, EADDRNOTAVAIL, EINVAL, ENOBUFS). */
  open(options: UdpBindOptions = {}): UdpSocket | UdpError {
    const address = options.address ?? ANY_ADDRESS
    const requested = options.port ?? 0
    const reuse = options.reuseAddress ?? false
    if (!isU32(address) || !Number.isInteger(requested) || requested < 0 || requested > 65535) {
      return new UdpError({ reason: "invalid-argument", address: `${address}:${requested}` })
    }
    const addresses = this.ipv4.addresses
    // Linux `inet_bind`: the address must be ours, a broadcast or a multicast address (EADDRNOTAVAIL).
    if (address !== ANY_ADDRESS && !addresses.isLocal(address) && !addresses.isBroadcast(address) && !isMulticast(address)) {
      return new UdpError({ reason: "address-not-available", address: ipv4ToString(address) })
    }
    let port = requested
    if (port === 0) {
      const chosen = this.ephemeral.allocate(
        { localAddress: address, remoteAddress: 0, remotePort: 0 },
        (p) => this.table.bindingsOn(p).length > 0
      )
      if (chosen instanceof EphemeralPortsExhausted) {
        return new UdpError({ reason: "ports-exhausted", detail: `ports ${chosen.low}-${chosen.high} all bound` })
      }
      port = chosen
    }
    const refused = this.table.check(address, port, reuse)
    if (refused instanceof PortInUse) return new UdpError({ reason: "address-in-use", address: endpoint(address, port) })
    if (refused !== undefined) return new UdpError({ reason: "no-buffer-space", detail: `${refused.capacity} sockets` })
    return new UdpSocket(this, (socket) => this.table.insert(address, port, socket, reuse), {
      addressLocked: address !== ANY_ADDRESS,
      receiveBuffer: options.receiveBuffer ?? this.receiveBuffer,
      broadcast: options.broadcast ?? false,
      pmtuDiscovery: options.pmtuDiscovery ?? "want",
      ttl: options.ttl
    })
  }

  /** Sockets open. */
  get sockets(): number {
    return this.table.size
  }

  // ------------------------------------------------------------------ receive

  /** A datagram for protocol 17 (data at the UDP header); UDP owns the packet. */
  receive(packet: PacketBuffer, datagram: ReceivedDatagram): void {
    const stats = this.stats
    const view = UdpView.parse(packet)
    if (!(view instanceof UdpView)) {
      // RFC 768 / `__udp4_lib_rcv`: shorter than a header, or a length past the IP payload.
      stats.InErrors++
      return this.drop(packet, view.name)
    }
    const length = view.length
    // RFC 768: the length covers header and data; bytes past it are not the datagram's (`pskb_trim_rcsum`).
    if (length < packet.length) packet.trim(length)
    const source = datagram.source
    const destination = datagram.destination
    // RFC 1122 §4.1.3.4: verify the checksum when one was sent (zero: none, RFC 768), unless the NIC did.
    if (!ChecksumState.trusted(packet.meta.checksum)) {
      if (!view.verifyChecksum(ipv4PseudoHeaderSum(source, destination, UDP_PROTOCOL, length), true)) {
        stats.InCsumErrors++
        stats.InErrors++
        return this.drop(packet, "udp.bad-checksum")
      }
    }
    const sourcePort = view.sourcePort
    const destinationPort = view.destinationPort
    const trace = this.ipv4.trace
    if (trace.enabled) trace.record("udp-rcv", packet, datagram.device.name, `${sourcePort} > ${destinationPort}`)
    if (datagram.broadcast) return this.deliverToAll(packet, datagram, sourcePort, destinationPort)
    const socket = this.lookup(destination, destinationPort, source, sourcePort)
    if (socket === undefined) {
      stats.NoPorts++
      // RFC 1122 §4.1.3.1: port unreachable, with the offending datagram from its IP header (ICMP applies §3.2.2's rules).
      if (packet.push(packet.data - datagram.networkHeader) === undefined) {
        this.ipv4.icmpErrors?.send(packet, IcmpErrors.destinationUnreachable, IcmpErrors.codes.port, 0, datagram.device)
      }
      return this.drop(packet, "udp.no-port")
    }
    this.enqueue(socket, packet, source, sourcePort, destination)
    packet.release()
  }

  /** Broadcast and multicast: a copy for every matching socket (`__udp4_lib_mcast_deliver`); none is no error. */
  private deliverToAll(packet: PacketBuffer, datagram: ReceivedDatagram, sourcePort: number, destinationPort: number): void {
    let delivered = 0
    for (const binding of this.table.bindingsOn(destinationPort)) {
      const socket = binding.owner
      // `__udp_is_mcast_sock`: a bound address must be the destination; a peer must be the sender.
      if (binding.address !== ANY_ADDRESS && binding.address !== datagram.destination) continue
      const peer = socket.peer
      if (peer !== undefined && (peer.address !== datagram.source || peer.port !== sourcePort)) continue
      this.enqueue(socket, packet, datagram.source, sourcePort, datagram.destination)
      delivered++
    }
    if (delivered === 0) {
      this.stats.IgnoredMulti++
      return this.drop(packet, "udp.no-socket-broadcast")
    }
    packet.release()
  }

  /**
   * The socket for a datagram from `remote`:`remotePort` to `local`:`localPort`
   * (Linux `compute_score`): a bound address must equal `local` (+4), a
   * connected socket's peer must equal the sender (+8); the highest score
   * wins, the newest binding among equals.
   */
  private lookup(local: number, localPort: number, remote: number, remotePort: number): UdpSocket | undefined {
    let best: UdpSocket | undefined = undefined
    let bestScore = -1
    for (const binding of this.table.bindingsOn(localPort)) {
      let score = 0
      if (binding.address !== ANY_ADDRESS) {
        if (binding.address !== local) continue
        score += 4
      }
      const peer = binding.owner.peer
      if (peer !== undefined) {
        if (peer.address !== remote || peer.port !== remotePort) continue
        score += 8
      }
      if (score > bestScore) {
        best = binding.owner
        bestScore = score
      }
    }
    return best
  }

  /** Copies the data (after the 8-byte header) into `socket`'s queue, or counts the drop (SO_RCVBUF full). */
  private enqueue(socket: UdpSocket, packet: PacketBuffer, from: number, fromPort: number, to: number): void {
    const data = new Uint8Array(packet.length - UDP_HEADER_LENGTH)
    if (packet.copyOut(UDP_HEADER_LENGTH, data.length, data) !== undefined) {
      this.stats.InErrors++
      this.drops.count("udp.copy-failed")
      return
    }
    const received: UdpDatagram = { data, from: { address: from, port: fromPort }, to }
    if (!socket.queue.offer(received)) {
      // Linux `__udp_queue_rcv_skb`: UDP_MIB_RCVBUFERRORS and UDP_MIB_INERRORS, `sk_drops`.
      this.stats.RcvbufErrors++
      this.stats.InErrors++
      socket.drops++
      this.drops.count("udp.rcvbuf-full")
    }
  }

  // ------------------------------------------------------------------ ICMP errors

  /** An ICMP error about a datagram we sent (RFC 1122 §4.1.3.3: passed to the application). */
  error(error: TransportError): void {
    const quoted = error.quoted
    if (quoted.length < UDP_HEADER_LENGTH) return this.drops.count("udp.icmp-error-short-quote")
    const localPort = readU16(quoted, 0)
    const remotePort = readU16(quoted, 2)
    const socket = this.lookup(error.source, localPort, error.destination, remotePort)
    if (socket === undefined) return this.drops.count("udp.icmp-error-no-socket")
    const detail = `ICMP type ${error.type} code ${error.code} from ${ipv4ToString(error.from)}`
    const address = endpoint(error.destination, remotePort)
    let reason: UdpError["reason"] = "host-unreachable"
    let hard = false
    switch (error.type) {
      case IcmpErrors.destinationUnreachable: {
        if (error.code === IcmpErrors.codes.fragmentationNeeded) {
          // Path MTU discovery: the ICMP module updated the cache; EMSGSIZE unless DF is never set.
          if (socket.pmtuDiscovery === "dont") return
          reason = "message-too-big"
          hard = true
          break
        }
        const converted = UNREACHABLE_ERRORS[error.code]
        if (converted !== undefined) {
          reason = converted.reason
          hard = converted.hard
        }
        break
      }
      case ICMP_PARAMETER_PROBLEM:
        reason = "protocol-error"
        hard = true
        break
      case ICMP_SOURCE_QUENCH:
      case ICMP_REDIRECT:
        return
      default:
        // Time exceeded and anything else: EHOSTUNREACH, soft.
        break
    }
    // Without IP_RECVERR only hard errors on connected sockets are reported (`__udp4_lib_err`).
    if (!hard || socket.peer === undefined) return this.drops.count("udp.icmp-error-ignored")
    socket.reportError(
      new UdpError({ reason, address, detail, ...(reason === "message-too-big" && error.mtu !== undefined ? { mtu: error.mtu } : {}) })
    )
  }

  // ------------------------------------------------------------------ send

  /** Internal (`UdpSocket.trySend`): the output path of one datagram. */
  sendFrom(socket: UdpSocket, data: Uint8Array, to: UdpEndpoint | undefined): UdpError | undefined {
    if (socket.closed) return new UdpError({ reason: "closed" })
    const pending = socket.takeError()
    if (pending !== undefined) return pending
    // `ip_append_data`: more than fits in one IP datagram is EMSGSIZE.
    if (data.length > MAX_UDP_PAYLOAD) return new UdpError({ reason: "message-too-big", detail: `${data.length} bytes` })
    const target = to ?? socket.peer
    if (target === undefined) return new UdpError({ reason: "destination-required" })
    const destination = target.address
    if (!isU32(destination) || destination === 0 || !isPort(target.port)) {
      return new UdpError({ reason: "invalid-argument", address: `${target.address}:${target.port}` })
    }
    const bound = socket.binding.address
    const route = routeOutput(this.ipv4, destination, this.ipv4.addresses.isLocal(bound) ? bound : 0)
    if (route instanceof UdpError) return route
    // Linux `udp_sendmsg`: a broadcast route without SO_BROADCAST is EACCES.
    if (route.broadcast && !socket.broadcast) {
      return new UdpError({ reason: "permission-denied", address: endpoint(destination, target.port), detail: "broadcast without SO_BROADCAST" })
    }
    const udpLength = UDP_HEADER_LENGTH + data.length
    // IP_PMTUDISC_WANT: DF on what fits the path MTU (`__ip_make_skb`); IP_PMTUDISC_DO: always.
    const dontFragment = socket.pmtuDiscovery === "do" || (socket.pmtuDiscovery === "want" && 20 + udpLength <= route.mtu && !route.broadcast && !route.multicast)
    const packet = PacketBuffer.fromBytes(data, IPV4_HEADROOM)
    const pseudoHeaderSum = ipv4PseudoHeaderSum(route.source, destination, UDP_PROTOCOL, udpLength)
    const emitted = emitUdp(
      packet,
      { sourcePort: socket.binding.port, destinationPort: target.port },
      route.device.features.txChecksum ? { mode: "partial", pseudoHeaderSum } : { mode: "full", pseudoHeaderSum }
    )
    if (emitted !== undefined) {
      packet.release()
      this.stats.SndbufErrors++
      return new UdpError({ reason: "no-buffer-space", detail: emitted._tag })
    }
    const trace = this.ipv4.trace
    if (trace.enabled) trace.record("udp-out", packet, route.device.name, `${socket.binding.port} > ${target.port}`)
    const ttl = route.multicast ? socket.multicastTtl : socket.ttl
    const refused = this.ipv4.send(packet, {
      destination,
      protocol: UDP_PROTOCOL,
      source: route.source,
      dontFragment,
      ...(ttl === undefined ? {} : { ttl }),
      ...(destination === LIMITED_BROADCAST ? { device: route.device } : {})
    })
    if (refused !== undefined) {
      if (refused.reason === "no-headroom") this.stats.SndbufErrors++
      return fromSendError(refused)
    }
    this.stats.OutDatagrams++
    return undefined
  }

  /** Internal (`UdpSocket.connect`, Linux `ip4_datagram_connect`). */
  connectSocket(socket: UdpSocket, address: number, port: number): UdpError | undefined {
    if (socket.closed) return new UdpError({ reason: "closed" })
    if (!isU32(address) || address === 0 || !isPort(port)) return new UdpError({ reason: "invalid-argument", address: `${address}:${port}` })
    const bound = socket.binding.address
    const route = routeOutput(this.ipv4, address, this.ipv4.addresses.isLocal(bound) ? bound : 0)
    if (route instanceof UdpError) return route
    if (route.broadcast && !socket.broadcast) {
      return new UdpError({ reason: "permission-denied", address: endpoint(address, port), detail: "broadcast without SO_BROADCAST" })
    }
    // A wildcard binding takes the route's source address (and is rehashed under it).
    if (bound === ANY_ADDRESS) socket.binding.address = route.source
    socket.setPeer({ address, port })
    return undefined
  }

  /** Internal (`UdpSocket.disconnect`): forget the peer; a wildcard binding the connect filled in is wildcard again. */
  disconnectSocket(socket: UdpSocket): void {
    socket.setPeer(undefined)
    if (!socket.addressLocked) socket.binding.address = ANY_ADDRESS
  }

  /** Internal (`UdpSocket.close`): free the port. */
  closeSocket(socket: UdpSocket): void {
    this.table.unbind(socket.binding)
  }

  private drop(packet: PacketBuffer, reason: string): void {
    this.drops.count(reason)
    packet.release()
  }
}
