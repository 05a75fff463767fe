/**
 * A raw IP socket (Linux raw(7), `socket(AF_INET, SOCK_RAW, protocol)`):
 * receives a copy of every IPv4 datagram of its protocol delivered to this
 * host, IP header included (after reassembly; `raw_local_deliver` runs
 * before the protocol's own handler, so an ICMP socket sees the echo
 * requests the host answers and the replies it gets), filtered by the bound
 * local address and the connected peer; and sends datagrams of its
 * protocol, the stack writing the IP header, or with IP_HDRINCL the
 * application's header (see `send`). Protocol 255 (IPPROTO_RAW) sends
 * only, with IP_HDRINCL implied, as on Linux.
 */
import { PacketBuffer } from "@netstack/buffers"
import { IPV4_HEADROOM, type ReceivedDatagram, SendError } from "@netstack/l3"
import type { Host } from "@netstack/stack"
import { ipv4ToString, readU16, readU32 } from "@netstack/wire"
import { Effect, Latch, Scope, Stream } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import { type AddressInput, parseAddress } from "../address.ts"
import { fromIpSendError, type NetstackSocketError, socketError } from "../errors.ts"
import { awaitLatch, UseSignal } from "../internal/latches.ts"
import { ChargedQueue, DEFAULT_RECEIVE_BUFFER } from "../internal/receive-queue.ts"
import { checkOptions, refuseOptions, type SocketOptions } from "../options.ts"
import { awaitReadiness } from "../poll/await-readiness.ts"
import { type Interest, type Pollable, PollBits, type PollSource, type Readiness, readinessOf } from "../poll/events.ts"

/** IPPROTO_RAW: send-only, the application writes the IP header. */
export const IPPROTO_RAW = 255

/** The largest IPv4 datagram (RFC 791 total length). */
const MAX_DATAGRAM = 65535

/** A received datagram: the whole IPv4 datagram, header included. */
export interface RawDatagram {
  readonly data: Uint8Array
  /** Its source and destination addresses. */
  readonly from: string
  readonly to: string
  /** The interface it came in on. */
  readonly device: string
}

/** What a raw socket takes. */
export interface RawOptions extends SocketOptions {
  /** IP_HDRINCL: `send` takes whole datagrams, IP header first. */
  readonly headerIncluded?: boolean | undefined
  /** bind(2): only datagrams to this local address are received, and it is the source of those sent. */
  readonly address?: AddressInput | undefined
}

/** The options a raw socket takes. */
export const RAW_OPTIONS = ["receiveBuffer", "ttl"] as const

/** A raw IPv4 socket of one protocol. */
export class RawSocket implements Pollable {
  /** The IP protocol number (1 ICMP, 6 TCP, 17 UDP, …). */
  readonly protocol: number
  readonly pollSource: PollSource
  /** IP_HDRINCL. */
  headerIncluded: boolean
  /** IP_TTL of datagrams the stack writes the header of (undefined: the host's default, 64). */
  ttl: number | undefined
  private readonly host: Host
  private readonly queue: ChargedQueue<RawDatagram>
  private readonly bound: number
  private peer: number | undefined = undefined
  private isClosed = false
  private detach: (() => void) | undefined = undefined
  private readonly use = new UseSignal()

  /** Internal: made by `Sockets.raw`. */
  constructor(host: Host, protocol: number, options: { readonly headerIncluded: boolean; readonly bound: number; readonly receiveBuffer: number; readonly ttl: number | undefined }) {
    this.host = host
    this.protocol = protocol
    this.headerIncluded = options.headerIncluded
    this.bound = options.bound
    this.ttl = options.ttl
    this.queue = new ChargedQueue(options.receiveBuffer, (d) => d.data.length)
    this.pollSource = {
      mask: () => this.mask(),
      changed: () => this.changed(),
      used: () => this.use.next
    }
    // IPPROTO_RAW sockets receive nothing (Linux raw(7)).
    if (protocol !== IPPROTO_RAW) this.detach = host.ipv4.addRawDelivery((packet, datagram) => this.deliver(packet, datagram))
  }

  /** Datagrams dropped because the receive queue was full. */
  get drops(): number {
    return this.queue.drops
  }

  /** True once closed. */
  get closed(): boolean {
    return this.isClosed
  }

  /** connect(2): only datagrams from `address` are received, and `send` without an address goes to it. */
  connect(address: AddressInput): Effect.Effect<void, NetstackSocketError> {
    return Effect.suspend(() => {
      const parsed = parseAddress(address, { operation: "connect" })
      if (typeof parsed !== "number") return Effect.fail(parsed)
      this.peer = parsed
      return Effect.void
    })
  }

  /**
   * sendto(2). Without IP_HDRINCL `data` is the payload: the stack writes
   * the header (protocol, IP_TTL, the bound address as source) and routes to
   * `to` (or the connected peer), fragmenting if needed. With IP_HDRINCL
   * `data` is a whole datagram: its header's TOS, DF, TTL, protocol,
   * addresses and options are kept (a zero source is filled in from the
   * route, Linux `raw_send_hdrinc`), while the total length, checksum and
   * identification are the stack's.
   */
  send(data: Uint8Array, to?: AddressInput): Effect.Effect<void, NetstackSocketError> {
    return Effect.suspend(() => {
      const context = { operation: "send" }
      if (this.isClosed) return Effect.fail(socketError("closed", context))
      let destination = this.peer
      if (to !== undefined) {
        const parsed = parseAddress(to, context)
        if (typeof parsed !== "number") return Effect.fail(parsed)
        destination = parsed
      }
      const error = this.headerIncluded ? this.sendWithHeader(data, destination) : this.sendPayload(data, destination)
      this.use.raise()
      return error === undefined ? Effect.void : Effect.fail(error)
    })
  }

  private sendPayload(data: Uint8Array, destination: number | undefined): NetstackSocketError | undefined {
    if (destination === undefined) return socketError("destination-required", { operation: "send" })
    const address = ipv4ToString(destination)
    if (data.length > MAX_DATAGRAM - 20) return socketError("message-too-big", { operation: "send", address, detail: `${data.length} bytes` })
    const refused = this.host.ipv4.send(PacketBuffer.fromBytes(data, IPV4_HEADROOM), {
      destination,
      protocol: this.protocol,
      ...(this.bound === 0 ? {} : { source: this.bound }),
      ...(this.ttl === undefined ? {} : { ttl: this.ttl })
    })
    return refused instanceof SendError ? fromIpSendError(refused, { operation: "send", address }) : undefined
  }

  private sendWithHeader(data: Uint8Array, to: number | undefined): NetstackSocketError | undefined {
    const context = { operation: "send" }
    const first = data[0] ?? 0
    const headerLength = (first & 0x0f) * 4
    if (data.length < 20 || first >> 4 !== 4 || headerLength < 20 || headerLength > data.length) {
      return socketError("invalid-argument", { ...context, detail: "IP_HDRINCL: not an IPv4 header" })
    }
    if (data.length > MAX_DATAGRAM) return socketError("message-too-big", { ...context, detail: `${data.length} bytes` })
    const source = readU32(data, 12)
    const destination = readU32(data, 16) || (to ?? 0)
    if (destination === 0) return socketError("destination-required", context)
    const address = ipv4ToString(destination)
    const payload = data.subarray(headerLength)
    const refused = this.host.ipv4.send(PacketBuffer.fromBytes(payload, IPV4_HEADROOM), {
      destination,
      protocol: data[9] ?? 0,
      ttl: data[8] ?? 0,
      tos: data[1] ?? 0,
      dontFragment: (readU16(data, 6) & 0x4000) !== 0,
      ...(source === 0 ? {} : { source }),
      ...(headerLength > 20 ? { options: data.slice(20, headerLength) } : {})
    })
    return refused instanceof SendError ? fromIpSendError(refused, { ...context, address }) : undefined
  }

  /** recvfrom(2): the next datagram of the protocol (IP header included), waiting for one; EBADF once closed. */
  get receive(): Effect.Effect<RawDatagram, NetstackSocketError> {
    const self = this
    return Effect.gen(function*() {
      for (;;) {
        if (self.isClosed) return yield* socketError("closed", { operation: "receive" })
        const datagram = self.queue.poll()
        if (datagram !== undefined) {
          self.use.raise()
          return datagram
        }
        Latch.closeUnsafe(self.queue.ready)
        yield* awaitLatch(self.queue.ready)
      }
    })
  }

  /** The next datagram if one waits (MSG_DONTWAIT), else undefined. */
  tryReceive(): RawDatagram | undefined {
    if (this.isClosed) return undefined
    const datagram = this.queue.poll()
    if (datagram !== undefined) this.use.raise()
    return datagram
  }

  /** The datagrams received, one pull per datagram asked for. */
  stream(): Stream.Stream<RawDatagram, NetstackSocketError> {
    return Stream.fromPull(Effect.succeed(Effect.map(this.receive, (d): NonEmptyReadonlyArray<RawDatagram> => [d])))
  }

  /** Closes the socket: no more copies, waiting datagrams dropped, a blocked receive fails (EBADF). Idempotent. */
  get close(): Effect.Effect<void> {
    return Effect.sync(() => {
      if (this.isClosed) return
      this.isClosed = true
      this.detach?.()
      this.detach = undefined
      this.queue.clear()
      Latch.openUnsafe(this.queue.ready)
      this.use.raise()
    })
  }

  /** setsockopt(2): SO_RCVBUF and IP_TTL. */
  setOptions(options: SocketOptions): Effect.Effect<void, NetstackSocketError> {
    return Effect.suspend(() => {
      const context = { operation: "setsockopt" }
      if (this.isClosed) return Effect.fail(socketError("closed", context))
      const refused = refuseOptions(options, RAW_OPTIONS, context)
      if (refused !== undefined) return Effect.fail(refused)
      const checked = checkOptions(options, context)
      if (!("lingerMillis" in checked)) return Effect.fail(checked)
      if (options.receiveBuffer !== undefined) this.queue.capacity = options.receiveBuffer
      if (options.ttl !== undefined) this.ttl = options.ttl
      return Effect.void
    })
  }

  /** What the socket is ready for now: readable while a datagram waits, always writable. */
  readiness(): Readiness {
    return readinessOf(this.mask())
  }

  /** Waits until the socket is ready for something in `interest`. */
  awaitReadiness(interest: Interest): Effect.Effect<Readiness> {
    return awaitReadiness(this, interest)
  }

  /** Linux `raw_v4_input` (`__raw_v4_lookup`): the protocol, the bound address, the connected peer; a copy for the queue. */
  private deliver(packet: PacketBuffer, datagram: ReceivedDatagram): boolean {
    if (datagram.protocol !== this.protocol) return false
    if (this.bound !== 0 && this.bound !== datagram.destination) return false
    if (this.peer !== undefined && this.peer !== datagram.source) return false
    this.queue.offer({
      data: packet.toUint8Array(),
      from: ipv4ToString(datagram.source),
      to: ipv4ToString(datagram.destination),
      device: datagram.device.name
    })
    return true
  }

  private mask(): number {
    if (this.isClosed) return PollBits.hangup
    return PollBits.writable | (this.queue.length > 0 ? PollBits.readable : 0)
  }

  private changed(): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.isClosed || this.queue.length > 0) return this.use.next
      Latch.closeUnsafe(this.queue.ready)
      return Effect.raceFirst(awaitLatch(this.queue.ready), this.use.next)
    })
  }
}

/** A raw socket of `protocol` on `host`; closed with the scope. */
export const openRaw = (
  host: Host,
  protocol: number,
  options: RawOptions = {}
): Effect.Effect<RawSocket, NetstackSocketError, Scope.Scope> =>
  Effect.gen(function*() {
    const { headerIncluded, address, ...socketOptions } = options
    const context = { operation: "socket", detail: `raw protocol ${protocol}` }
    // socket(2): SOCK_RAW with protocol 0 (IPPROTO_IP) or out of range is EPROTONOSUPPORT.
    if (!Number.isInteger(protocol) || protocol < 1 || protocol > 255) return yield* socketError("protocol-not-supported", context)
    const refused = refuseOptions(socketOptions, RAW_OPTIONS, context)
    if (refused !== undefined) return yield* refused
    const checked = checkOptions(socketOptions, context)
    if (!("lingerMillis" in checked)) return yield* checked
    const bound = address === undefined ? 0 : parseAddress(address, { operation: "bind" })
    if (typeof bound !== "number") return yield* bound
    // Linux `raw_bind`: the address must be one of the host's (or a broadcast/multicast one).
    if (bound !== 0 && !host.ipv4.addresses.isLocal(bound) && !host.ipv4.addresses.isBroadcast(bound) && bound >>> 28 !== 14) {
      return yield* socketError("address-not-available", { operation: "bind", address: ipv4ToString(bound) })
    }
    const socket = new RawSocket(host, protocol, {
      headerIncluded: headerIncluded === true || protocol === IPPROTO_RAW,
      bound,
      receiveBuffer: socketOptions.receiveBuffer ?? DEFAULT_RECEIVE_BUFFER,
      ttl: socketOptions.ttl
    })
    yield* Scope.addFinalizer(yield* Effect.scope, socket.close)
    return socket
  })
