/**
 * ICMP for IPv4 (RFC 792, RFC 1122 §3.2.2, RFC 1812 §4.3): answers echo
 * requests, delivers echo replies to whoever pings, hands errors about our
 * own datagrams to the transport that sent them (and fragmentation-needed to
 * the path-MTU cache), and sends the errors IPv4 raises, following the rules
 * for when an error must not be sent, within a rate limit.
 */
import { PacketBuffer } from "@netstack/buffers"
import type { DropCounters, NetDevice } from "@netstack/l2"
import { emitIcmpv4, Icmpv4Types, Icmpv4View, Ipv4View, readU16 } from "@netstack/wire"
import type { IcmpRateLimiter } from "../icmp-limit/index.ts"
import { IcmpErrors, IPV4_HEADROOM, type Ipv4, type ReceivedDatagram, type SendError, type TransportError } from "../ipv4/ipv4.ts"
import { IcmpStats } from "../ipv4/stats.ts"

const ICMP = 1

/** RFC 1812 §4.3.2.3: an error quotes as much of the datagram as fits in 576 bytes. */
const MAX_ERROR_DATAGRAM = 576

/** What an echo listener hears: a reply, or an error about one of its requests. */
export type EchoEvent =
  | {
    readonly _tag: "reply"
    readonly from: number
    readonly sequence: number
    /** Bytes of the ICMP message (header and data). */
    readonly length: number
    readonly ttl: number
    readonly data: Uint8Array
  }
  | {
    readonly _tag: "error"
    readonly from: number
    readonly sequence: number
    readonly type: number
    readonly code: number
    /** The next-hop MTU of a fragmentation needed (RFC 1191 §4). */
    readonly mtu: number | undefined
  }

/** ICMP types that are errors (RFC 1122 §3.2.2: never send an error about one of these). */
const isErrorType = (type: number): boolean =>
  type === Icmpv4Types.destinationUnreachable || type === Icmpv4Types.timeExceeded ||
  type === Icmpv4Types.parameterProblem || type === Icmpv4Types.redirect || type === 4

/** The ICMP module of one host. */
export class Icmp {
  readonly stats = new IcmpStats()
  /** Ignore echo requests sent to broadcast or multicast addresses (net.ipv4.icmp_echo_ignore_broadcasts). */
  ignoreBroadcastEchoes = true
  private readonly ipv4: Ipv4
  private readonly limiter: IcmpRateLimiter
  private readonly drops: DropCounters
  private readonly listeners = new Map<number, (event: EchoEvent) => void>()
  private nextIdentifier = 0x4e53

  private constructor(ipv4: Ipv4, limiter: IcmpRateLimiter, drops: DropCounters) {
    this.ipv4 = ipv4
    this.limiter = limiter
    this.drops = drops
  }

  /** ICMP for `ipv4`: registered as protocol 1 and as the sender of IPv4's errors. */
  static attach(ipv4: Ipv4, limiter: IcmpRateLimiter, drops: DropCounters): Icmp {
    const icmp = new Icmp(ipv4, limiter, drops)
    ipv4.registerProtocol(ICMP, { receive: (p, d) => icmp.receive(p, d) })
    ipv4.icmpErrors = { send: (o, t, c, e, dev) => icmp.sendError(o, t, c, e, dev) }
    return icmp
  }

  /** Microseconds now, on the host's clock. */
  now(): number {
    return this.ipv4.now()
  }

  /** A fresh echo identifier for this host (one per ping session, as ping uses its process id). */
  allocateIdentifier(): number {
    this.nextIdentifier = (this.nextIdentifier + 1) & 0xffff
    return this.nextIdentifier
  }

  /** Hears echo replies (and errors about echo requests) with `identifier`; returns the function that stops it. */
  listen(identifier: number, listener: (event: EchoEvent) => void): () => void {
    this.listeners.set(identifier, listener)
    return () => {
      if (this.listeners.get(identifier) === listener) this.listeners.delete(identifier)
    }
  }

  /** Sends an echo request (RFC 792) carrying `data`. */
  sendEcho(
    destination: number,
    identifier: number,
    sequence: number,
    data: Uint8Array,
    options: { readonly ttl?: number; readonly dontFragment?: boolean; readonly source?: number } = {}
  ): SendError | undefined {
    const packet = PacketBuffer.fromBytes(data, IPV4_HEADROOM)
    emitIcmpv4(packet, { type: Icmpv4Types.echoRequest, code: 0, restOfHeader: ((identifier << 16) | sequence) >>> 0 }, "full")
    const trace = this.ipv4.trace
    if (trace.enabled) trace.record("icmp-out", packet, "ping", `echo request id ${identifier} seq ${sequence}`)
    const error = this.ipv4.send(packet, { destination, protocol: ICMP, ...options })
    // Counted once handed to IP (filtered by OUTPUT included), not when refused before (Linux `icmp_out_count`).
    if (error === undefined || error.reason === "filtered") {
      this.stats.OutMsgs++
      this.stats.OutEchos++
    }
    return error
  }

  /** A datagram for protocol 1: data at the ICMP header. */
  receive(packet: PacketBuffer, datagram: ReceivedDatagram): void {
    const stats = this.stats
    stats.InMsgs++
    const view = Icmpv4View.parse(packet)
    if (!(view instanceof Icmpv4View)) return this.drop(packet, view.name, true)
    if (!view.verifyChecksum()) {
      stats.InCsumErrors++
      return this.drop(packet, "icmpv4.bad-checksum", true)
    }
    const trace = this.ipv4.trace
    if (trace.enabled) trace.record("icmp-rcv", packet, datagram.device.name, `type ${view.type} code ${view.code}`)
    switch (view.type) {
      case Icmpv4Types.echoRequest:
        stats.InEchos++
        return this.answerEcho(packet, view, datagram)
      case Icmpv4Types.echoReply: {
        stats.InEchoReps++
        const listener = this.listeners.get(view.identifier)
        if (listener === undefined) return this.drop(packet, "icmpv4.echo-reply-unexpected", false)
        const data = new Uint8Array(view.length - 8)
        packet.copyOut(8, data.length, data)
        listener({ _tag: "reply", from: datagram.source, sequence: view.sequence, length: view.length, ttl: datagram.ttl, data })
        packet.release()
        return
      }
      case Icmpv4Types.destinationUnreachable:
        stats.InDestUnreachs++
        return this.toTransport(packet, view, datagram)
      case Icmpv4Types.timeExceeded:
        stats.InTimeExcds++
        return this.toTransport(packet, view, datagram)
      case Icmpv4Types.parameterProblem:
        stats.InParmProbs++
        return this.toTransport(packet, view, datagram)
      case Icmpv4Types.redirect:
        // RFC 1122 §3.2.2.2 lets a host update its route cache; this stack keeps its routes (counted only).
        stats.InRedirects++
        return this.drop(packet, "icmpv4.redirect-ignored", false)
      default:
        return this.drop(packet, "icmpv4.unhandled-type", false)
    }
  }

  private answerEcho(request: PacketBuffer, view: Icmpv4View, datagram: ReceivedDatagram): void {
    // RFC 1122 §3.2.2.6 lets a host ignore echoes to broadcast addresses; Linux does by default.
    if (datagram.broadcast && this.ignoreBroadcastEchoes) return this.drop(request, "icmpv4.echo-to-broadcast", false)
    const data = new Uint8Array(view.length - 8)
    request.copyOut(8, data.length, data)
    const restOfHeader = view.restOfHeader
    request.release()
    const reply = PacketBuffer.fromBytes(data, IPV4_HEADROOM)
    emitIcmpv4(reply, { type: Icmpv4Types.echoReply, code: 0, restOfHeader }, "full")
    const trace = this.ipv4.trace
    if (trace.enabled) trace.record("icmp-out", reply, datagram.device.name, "echo reply")
    this.stats.OutMsgs++
    this.stats.OutEchoReps++
    // The reply comes from the address the request was sent to (RFC 1122 §3.2.2.6).
    const error = this.ipv4.send(reply, { destination: datagram.source, source: datagram.destination, protocol: ICMP })
    if (error !== undefined) this.stats.OutErrors++
  }

  /** Hands an error about one of our datagrams to its sender (RFC 1122 §3.2.2: by the quoted protocol). */
  private toTransport(packet: PacketBuffer, view: Icmpv4View, datagram: ReceivedDatagram): void {
    const quotedBytes = new Uint8Array(view.length - 8)
    packet.copyOut(8, quotedBytes.length, quotedBytes)
    const type = view.type
    const code = view.code
    const nextHopMtu = type === Icmpv4Types.destinationUnreachable && code === IcmpErrors.codes.fragmentationNeeded
      ? view.nextHopMtu
      : undefined
    packet.release()
    const quoted = Ipv4View.parseQuoted(PacketBuffer.wrap(quotedBytes))
    // RFC 1122 §3.2.2: the error must quote our header and at least 8 bytes of its payload.
    if (!(quoted instanceof Ipv4View) || quotedBytes.length < quoted.headerLength + 8) {
      this.stats.InErrors++
      this.drops.count("icmpv4.bad-quote")
      return
    }
    // RFC 1191 §6.3: fragmentation needed feeds the path-MTU cache.
    if (nextHopMtu !== undefined) this.ipv4.pmtu.update(quoted.destination, nextHopMtu, this.ipv4.now())
    const transport = quotedBytes.subarray(quoted.headerLength)
    if (quoted.protocol === ICMP) {
      const listener = this.listeners.get(readU16(transport, 4))
      listener?.({ _tag: "error", from: datagram.source, sequence: readU16(transport, 6), type, code, mtu: nextHopMtu })
      return
    }
    const error: TransportError = {
      type,
      code,
      from: datagram.source,
      source: quoted.source,
      destination: quoted.destination,
      protocol: quoted.protocol,
      quoted: transport,
      mtu: nextHopMtu
    }
    const handler = this.ipv4.transport(quoted.protocol)?.error
    if (handler === undefined) this.drops.count("icmpv4.error-no-transport")
    else handler(error)
  }

  /**
   * Sends ICMP `type`/`code` about `offending` (data at its IPv4 header; the
   * caller keeps it), unless RFC 1122 §3.2.2 forbids it or the rate limit
   * (RFC 1812 §4.3.2.8) holds it back.
   */
  sendError(offending: PacketBuffer, type: number, code: number, extra: number, device: NetDevice | undefined): void {
    const view = Ipv4View.parseQuoted(offending)
    if (!(view instanceof Ipv4View)) return
    const source = view.source
    const addresses = this.ipv4.addresses
    // RFC 1122 §3.2.2: not about an ICMP error, a non-first fragment, a datagram to a broadcast or
    // multicast address (or link broadcast), or from an address that is not a single host.
    if (view.protocol === ICMP && offending.headLength >= view.headerLength + 1) {
      if (isErrorType(offending.bytes[view.start + view.headerLength])) return this.skip("about-icmp-error")
    }
    if (view.fragmentOffset !== 0) return this.skip("about-fragment")
    if (offending.meta.packetType === "broadcast" || offending.meta.packetType === "multicast") return this.skip("about-link-broadcast")
    if (addresses.isBroadcast(view.destination) || view.destination >>> 28 === 14) return this.skip("about-broadcast")
    if (source === 0 || source === 0xffffffff || source >>> 28 >= 14 || (source >>> 24 === 127 && !addresses.isLocal(source))) {
      return this.skip("bad-source")
    }
    if (!this.limiter.allow(source, this.ipv4.now())) {
      this.stats.OutRateLimited++
      return this.skip("rate-limited")
    }
    const quoted = new Uint8Array(Math.min(offending.length, MAX_ERROR_DATAGRAM - 20 - 8))
    offending.copyOut(0, quoted.length, quoted)
    const packet = PacketBuffer.fromBytes(quoted, IPV4_HEADROOM)
    const restOfHeader = type === IcmpErrors.destinationUnreachable && code === IcmpErrors.codes.fragmentationNeeded
      ? extra & 0xffff
      : type === Icmpv4Types.parameterProblem
      ? (extra << 24) >>> 0
      : 0
    emitIcmpv4(packet, { type, code, restOfHeader }, "full")
    const trace = this.ipv4.trace
    if (trace.enabled) trace.record("icmp-out", packet, device?.name ?? "", `error type ${type} code ${code}`)
    this.stats.OutMsgs++
    if (type === IcmpErrors.destinationUnreachable) this.stats.OutDestUnreachs++
    else if (type === IcmpErrors.timeExceeded) this.stats.OutTimeExcds++
    else if (type === Icmpv4Types.parameterProblem) this.stats.OutParmProbs++
    // RFC 1812 §4.3.2.4: the error comes from the interface the datagram arrived on; TOS 0xc0 (§4.3.2.5).
    const from = device === undefined ? undefined : addresses.sourceFor(device, source)
    const error = this.ipv4.send(packet, { destination: source, protocol: ICMP, tos: 0xc0, ...(from === undefined ? {} : { source: from }) })
    if (error !== undefined) this.stats.OutErrors++
  }

  private skip(reason: string): void {
    this.drops.count(`icmpv4.no-error-${reason}`)
  }

  private drop(packet: PacketBuffer, reason: string, error: boolean): void {
    if (error) this.stats.InErrors++
    this.drops.count(reason)
    packet.release()
  }
}
