/**
 * A packet socket (Linux packet(7), `socket(AF_PACKET, SOCK_RAW, protocol)`):
 * a copy of every frame a device receives or sends, whole Ethernet frames
 * (the link layer's taps, Linux `dev_queue_xmit_nit` and `deliver_skb` for
 * ETH_P_ALL), optionally only one device's (bind(2) to an interface) and
 * one EtherType's; and sends whole frames out of a device as given. Each
 * frame carries the packet type Linux reports in `sll_pkttype`.
 */
import { PacketBuffer } from "@netstack/buffers"
import type { NetDevice, TapDirection } from "@netstack/l2"
import type { Host } from "@netstack/stack"
import { BROADCAST_MAC, ETHERNET_HEADER_LENGTH, isMulticastMac, readU16, readU32 } from "@netstack/wire"
import { Effect, Latch, Scope, Stream } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import { type NetstackSocketError, socketError } from "../errors.ts"
import { awaitLatch, UseSignal } from "../internal/latches.ts"
import { ChargedQueue, DEFAULT_RECEIVE_BUFFER } from "../internal/receive-queue.ts"
import { checkOptions, refuseOptions, type SocketOptions } from "../options.ts"
import { awaitReadiness } from "../poll/await-readiness.ts"
import { type Interest, type Pollable, PollBits, type PollSource, type Readiness, readinessOf } from "../poll/events.ts"

/** `sll_pkttype`: to us, broadcast, multicast, to another host (promiscuous), or sent by us. */
export type PacketType = "host" | "broadcast" | "multicast" | "otherhost" | "outgoing"

/** A frame a packet socket saw. */
export interface Frame {
  /** The whole frame, Ethernet header first (a copy the application owns). */
  readonly data: Uint8Array
  /** The interface it crossed, and its index. */
  readonly device: string
  readonly ifindex: number
  /** Its EtherType (from the header: 0x0800 IPv4, 0x0806 ARP, 0x8100 a VLAN tag, …). */
  readonly protocol: number
  readonly packetType: PacketType
}

/** What a packet socket takes. */
export interface PacketOptions extends SocketOptions {
  /** bind(2) to an interface: only its frames, and `send` goes out of it. */
  readonly device?: string | undefined
  /** Only frames of this EtherType (the socket's protocol); every frame (ETH_P_ALL) without. */
  readonly protocol?: number | undefined
  /** Also see the frames this host sends (default true; Linux PACKET_IGNORE_OUTGOING turns it off). */
  readonly outgoing?: boolean | undefined
}

/** The options a packet socket takes. */
export const PACKET_OPTIONS = ["receiveBuffer"] as const

/** Room a sent frame may take beyond the MTU: the Ethernet header and one VLAN tag (Linux `packet_snd`'s `VLAN_HLEN` slack). */
const FRAME_OVERHEAD = ETHERNET_HEADER_LENGTH + 4

/** A packet socket. */
export class PacketSocket implements Pollable {
  readonly pollSource: PollSource
  private readonly host: Host
  private readonly device: NetDevice | undefined
  private readonly protocol: number | undefined
  private readonly outgoing: boolean
  private readonly queue: ChargedQueue<Frame>
  private readonly detach: () => void
  private isClosed = false
  /** True while this socket's own frame passes the taps. */
  private sending = false
  private readonly use = new UseSignal()

  /** Internal: made by `Sockets.packet`. */
  constructor(host: Host, options: {
    readonly device: NetDevice | undefined
    readonly protocol: number | undefined
    readonly outgoing: boolean
    readonly receiveBuffer: number
  }) {
    this.host = host
    this.device = options.device
    this.protocol = options.protocol
    this.outgoing = options.outgoing
    this.queue = new ChargedQueue(options.receiveBuffer, (f) => f.data.length)
    this.pollSource = {
      mask: () => this.mask(),
      changed: () => this.changed(),
      used: () => this.use.next
    }
    this.detach = host.link.addTap((frame, device, direction) => this.tap(frame, device, direction))
  }

  /** Frames dropped because the receive queue was full. */
  get drops(): number {
    return this.queue.drops
  }

  /** True once closed. */
  get closed(): boolean {
    return this.isClosed
  }

  /** recvfrom(2): the next frame, waiting for one; EBADF once closed. */
  get receive(): Effect.Effect<Frame, NetstackSocketError> {
    const self = this
    return Effect.gen(function*() {
      for (;;) {
        if (self.isClosed) return yield* socketError("closed", { operation: "receive" })
        const frame = self.queue.poll()
        if (frame !== undefined) {
          self.use.raise()
          return frame
        }
        Latch.closeUnsafe(self.queue.ready)
        yield* awaitLatch(self.queue.ready)
      }
    })
  }

  /** The next frame if one waits (MSG_DONTWAIT), else undefined. */
  tryReceive(): Frame | undefined {
    if (this.isClosed) return undefined
    const frame = this.queue.poll()
    if (frame !== undefined) this.use.raise()
    return frame
  }

  /** The frames seen, one pull per frame asked for. */
  stream(): Stream.Stream<Frame, NetstackSocketError> {
    return Stream.fromPull(Effect.succeed(Effect.map(this.receive, (f): NonEmptyReadonlyArray<Frame> => [f])))
  }

  /**
   * sendto(2): `frame` (Ethernet header first) out of `device` (the bound
   * one by default), as given: ENODEV without a device, ENETDOWN when it is
   * down, EINVAL for less than a header, EMSGSIZE beyond the MTU.
   */
  send(frame: Uint8Array, device?: string): Effect.Effect<void, NetstackSocketError> {
    return Effect.suspend(() => {
      const context = { operation: "send" }
      if (this.isClosed) return Effect.fail(socketError("closed", context))
      const out = device === undefined ? this.device : this.host.link.device(device)
      if (out === undefined) return Effect.fail(socketError("no-device", { ...context, detail: device ?? "no interface bound" }))
      if (!out.up) return Effect.fail(socketError("network-down", { ...context, detail: out.name }))
      if (frame.length < ETHERNET_HEADER_LENGTH) return Effect.fail(socketError("invalid-argument", { ...context, detail: `${frame.length} bytes` }))
      if (frame.length > out.mtu + FRAME_OVERHEAD) {
        return Effect.fail(socketError("message-too-big", { ...context, detail: `${frame.length} bytes, MTU ${out.mtu}` }))
      }
      // The taps run inside `transmit`: this socket skips its own frame (Linux `skb_loop_sk`), others see it.
      this.sending = true
      try {
        this.host.link.transmit(out, PacketBuffer.fromBytes(frame.slice()))
      } finally {
        this.sending = false
      }
      this.use.raise()
      return Effect.void
    })
  }

  /** Closes the socket: the tap is removed, waiting frames dropped, a blocked receive fails (EBADF). Idempotent. */
  get close(): Effect.Effect<void> {
    return Effect.sync(() => {
      if (this.isClosed) return
      this.isClosed = true
      this.detach()
      this.queue.clear()
      Latch.openUnsafe(this.queue.ready)
      this.use.raise()
    })
  }

  /** setsockopt(2): SO_RCVBUF. */
  setOptions(options: SocketOptions): Effect.Effect<void, NetstackSocketError> {
    return Effect.suspend(() => {
      const context = { operation: "setsockopt" }
      if (this.isClosed) return Effect.fail(socketError("closed", context))
      const refused = refuseOptions(options, PACKET_OPTIONS, context)
      if (refused !== undefined) return Effect.fail(refused)
      const checked = checkOptions(options, context)
      if (!("lingerMillis" in checked)) return Effect.fail(checked)
      if (options.receiveBuffer !== undefined) this.queue.capacity = options.receiveBuffer
      return Effect.void
    })
  }

  /** What the socket is ready for now: readable while a frame waits, always writable. */
  readiness(): Readiness {
    return readinessOf(this.mask())
  }

  /** Waits until the socket is ready for something in `interest`. */
  awaitReadiness(interest: Interest): Effect.Effect<Readiness> {
    return awaitReadiness(this, interest)
  }

  /** A frame past a tap: a copy for the queue if it matches the device, direction and EtherType. */
  private tap(frame: PacketBuffer, device: NetDevice, direction: TapDirection): void {
    if (this.device !== undefined && this.device !== device) return
    if (direction === "out" && (!this.outgoing || this.sending)) return
    const data = frame.toUint8Array()
    if (data.length < ETHERNET_HEADER_LENGTH) return
    const protocol = readU16(data, 12)
    if (this.protocol !== undefined && this.protocol !== protocol) return
    this.queue.offer({ data, device: device.name, ifindex: device.ifindex, protocol, packetType: packetType(data, device, direction) })
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

/** `sll_pkttype` of a frame (Linux `eth_type_trans`'s classes; PACKET_OUTGOING for sent frames). */
const packetType = (data: Uint8Array, device: NetDevice, direction: TapDirection): PacketType => {
  if (direction === "out") return "outgoing"
  const destination = readU16(data, 0) * 0x100000000 + readU32(data, 2)
  if (destination === device.mac) return "host"
  if (destination === BROADCAST_MAC) return "broadcast"
  return isMulticastMac(destination) ? "multicast" : "otherhost"
}

/** A packet socket on `host`; closed with the scope. */
export const openPacket = (
  host: Host,
  options: PacketOptions = {}
): Effect.Effect<PacketSocket, NetstackSocketError, Scope.Scope> =>
  Effect.gen(function*() {
    const { device: name, protocol, outgoing, ...socketOptions } = options
    const context = { operation: "socket", detail: "packet" }
    const refused = refuseOptions(socketOptions, PACKET_OPTIONS, context)
    if (refused !== undefined) return yield* refused
    const checked = checkOptions(socketOptions, context)
    if (!("lingerMillis" in checked)) return yield* checked
    if (protocol !== undefined && (!Number.isInteger(protocol) || protocol < 0 || protocol > 0xffff)) {
      return yield* socketError("invalid-argument", { ...context, detail: `protocol ${protocol}` })
    }
    const device = name === undefined ? undefined : host.link.device(name)
    if (name !== undefined && device === undefined) return yield* socketError("no-device", { operation: "bind", detail: name })
    const socket = new PacketSocket(host, {
      device,
      protocol,
      outgoing: outgoing ?? true,
      receiveBuffer: socketOptions.receiveBuffer ?? DEFAULT_RECEIVE_BUFFER
    })
    yield* Scope.addFinalizer(yield* Effect.scope, socket.close)
    return socket
  })
