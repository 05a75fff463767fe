/**
 * A packetdrill-style harness for segment-level TCP tests: one `Host` (our
 * stack, 10.0.0.1) whose interface is plugged into a port the test holds,
 * and a scripted peer (10.0.0.2) that the test drives segment by segment.
 *
 * - `peer.send({ flags: "S", seq: 0, options: { mss: 1460 } })` builds a
 *   frame (Ethernet, IPv4, TCP with a valid checksum, with the wire
 *   package's emitters), hands it to the host's NIC and lets every fiber run
 *   at the current instant (no simulated time passes).
 * - Every frame the host sends is captured with the time it reached the
 *   wire; `peer.next()` takes the next one, decoded into a plain record
 *   (`OutSegment`), `peer.expect({ flags: "S.", ack: 1 })` takes it and
 *   asserts the fields given, `peer.expectNone()` asserts silence.
 * - Sequence numbers are relative, as in packetdrill: what the peer sends
 *   counts from the peer's ISN (`peerIsn`), what it acknowledges (and its
 *   SACK blocks) from the host's ISS, learned from the host's first SYN or
 *   SYN-ACK; the records of the host's segments the other way round.
 *   Relative numbers are signed 32-bit (a probe below the ISS reads −1).
 * - `yield* peer.after(ms)` moves the TestClock on (timers fire at their
 *   exact times) and lets the fibers run; `peer.now()` is the clock in ms.
 *
 * ARP is out of the picture: the host has a permanent neighbour entry for
 * the peer, and the peer answers nothing but what the test sends.
 *
 * @example
 * const peer = yield* TcpPeer.make({ tcp: { timestamps: false } })
 * const listener = yield* peer.host.listen(8080)
 * yield* peer.send({ flags: "S", seq: 0, options: { mss: 1000 } })
 * peer.expect({ flags: "S.", seq: 0, ack: 1, options: { mss: 1460 } })
 * yield* peer.send({ flags: ".", seq: 1, ack: 1 })
 * const connection = yield* listener.accept
 */
import { expect } from "@effect/vitest"
import { ipv4PseudoHeaderSum, PacketBuffer } from "@netstack/buffers"
import type { FrameRelease, MediumPort } from "@netstack/device"
import type { EthernetDevice } from "@netstack/l2"
import {
  type CongestionAlgorithm,
  CongestionControl,
  cubic,
  type ConnectOptions,
  type ListenOptions,
  TcpConnection,
  type TcpError,
  type TcpListener,
  type TcpSettings
} from "@netstack/l4"
import { InvalidAddress } from "@netstack/l3"
import { Host, InvalidSpecification } from "@netstack/stack"
import {
  decodeFrame,
  emitEthernet,
  emitIpv4,
  emitTcp,
  EtherTypes,
  formatTcpFlags,
  ipv4FromString,
  TcpFlags,
  tcpFlagsByte,
  type TcpOption,
  tcpOptionsLength
} from "@netstack/wire"
import { Clock, Effect, Fiber, type Scope } from "effect"
import { TestClock } from "effect/testing"

/** Our host's address and the peer's. */
export const HOST_ADDRESS = "10.0.0.1"
export const PEER_ADDRESS = "10.0.0.2"
const HOST_IP = ipv4FromString(HOST_ADDRESS) ?? 0
const PEER_IP = ipv4FromString(PEER_ADDRESS) ?? 0
const HOST_MAC = 0x020000000001
const PEER_MAC = 0x020000000002

/** The peer's port unless a test says otherwise. */
export const PEER_PORT = 40000

/** Yields that let every fiber run to quiescence after an injected frame (each hop — NIC, IRQ, NAPI, tx engine — is one). */
const SETTLE_YIELDS = 64

// ---------------------------------------------------------------------------
// Segments
// ---------------------------------------------------------------------------

/** A SACK block `[left, right)`, relative to the sequence space it acknowledges. */
export type Block = readonly [left: number, right: number]

/** The options of a segment, decoded (or to send). */
export interface SegmentOptions {
  readonly mss?: number
  readonly wscale?: number
  readonly sackOk?: boolean
  /** TSval, TSecr (absolute: timestamps are not relative). */
  readonly ts?: readonly [val: number, ecr: number]
  /** SACK blocks, relative (the host's data from its ISS, when the peer sends them; the peer's from its ISN, when the host does). */
  readonly sack?: ReadonlyArray<Block>
}

/** A segment the host sent, as the test reads it. */
export interface OutSegment {
  /** When the frame reached the wire (ms on the TestClock). */
  readonly at: number
  /** tcpdump's letters: `S`, `S.`, `.`, `P.`, `F.`, `FP.`, `R`, `R.`. */
  readonly flags: string
  /** Sequence number relative to the host's ISS (signed). */
  readonly seq: number
  /** Acknowledgment number relative to the peer's ISN (signed); as sent, even without the ACK flag. */
  readonly ack: number
  readonly rawSeq: number
  readonly rawAck: number
  /** The window field as sent (unscaled). */
  readonly window: number
  /** Options, decoded; SACK blocks relative to the peer's ISN. */
  readonly options: SegmentOptions
  /** The option kinds in order (`mss`, `nop`, `sackOK`, `TS`, `wscale`, `sack`, `eol`, `unknown`), to check the layout. */
  readonly layout: ReadonlyArray<string>
  /** Payload bytes. */
  readonly length: number
  readonly payload: Uint8Array
  readonly sourcePort: number
  readonly destinationPort: number
  /** IPv4 Don't Fragment. */
  readonly dontFragment: boolean
}

/** What `expect` compares: any subset of a segment's fields. */
export interface SegmentExpectation {
  readonly flags?: string
  readonly seq?: number
  readonly ack?: number
  readonly window?: number
  readonly length?: number
  readonly payload?: Uint8Array
  /** The options, compared exactly (every option the segment has must be listed; `{}` for none). */
  readonly options?: SegmentOptions
  /** The time it was sent, ms on the TestClock. */
  readonly at?: number
  /** The Timestamps option's TSecr (undefined: no Timestamps option). */
  readonly tsEcr?: number | undefined
}

/** What the peer sends. */
export interface SendSpec {
  /** tcpdump's letters, in any order: `S`, `S.`, `.`, `P.`, `F.`, `R`, `R.`, `FP.`. */
  readonly flags: string
  /** Sequence number relative to the peer's ISN (default: the peer's next, after everything it sent). */
  readonly seq?: number
  /** Acknowledgment number relative to the host's ISS (default: everything the host sent; 0 without an ACK flag). */
  readonly ack?: number
  /** The window field (default 65535). */
  readonly window?: number
  /**
   * Options. Without `ts`, once both sides agreed timestamps, the peer adds
   * TSval = its clock and TSecr = the host's last TSval; `ts: false` sends none.
   */
  readonly options?: Omit<SegmentOptions, "ts"> & { readonly ts?: readonly [val: number, ecr: number] | false }
  /** Raw options, written as given (instead of `options`). */
  readonly rawOptions?: ReadonlyArray<TcpOption>
  /** Payload: bytes, or a length (bytes of a pattern that follows the sequence number). */
  readonly data?: Uint8Array | number
  /** `seq`, `ack` and SACK blocks are absolute numbers, not relative. */
  readonly absolute?: boolean
  /** Source and destination ports (default: the peer's port and the host's, as learned). */
  readonly sourcePort?: number
  readonly destinationPort?: number
  /** Corrupt the TCP checksum. */
  readonly badChecksum?: boolean
}

/** `n` payload bytes for sequence offset `from` (relative), the same bytes for the same offsets. */
export const patternBytes = (from: number, n: number): Uint8Array =>
  Uint8Array.from({ length: n }, (_, i) => ((from + i) * 7 + 3) & 0xff)

const FLAG_LETTERS: Record<string, number> = {
  F: TcpFlags.fin,
  S: TcpFlags.syn,
  R: TcpFlags.rst,
  P: TcpFlags.psh,
  ".": TcpFlags.ack,
  U: TcpFlags.urg,
  E: TcpFlags.ece,
  W: TcpFlags.cwr
}

/** The flag byte of tcpdump's letters (a typo throws: it is a bug in the test). */
export const parseFlags = (text: string): number => {
  let flags = 0
  for (const letter of text) {
    const bit = FLAG_LETTERS[letter]
    if (bit === undefined) throw new Error(`unknown TCP flag letter ${JSON.stringify(letter)} in ${JSON.stringify(text)}`)
    flags |= bit
  }
  return flags
}

const flagString = (flags: number): string => (flags === 0 ? "" : formatTcpFlags(flags))

/** `abs − base` as a signed 32-bit number. */
const relative = (abs: number, base: number): number => (abs - base) | 0
const absolute = (rel: number, base: number): number => (base + rel) >>> 0

/** One line per segment, packetdrill-like, for failure messages. */
export const describeSegment = (s: OutSegment): string => {
  const o = s.options
  const opts = [
    o.mss === undefined ? undefined : `mss ${o.mss}`,
    o.sackOk === true ? "sackOK" : undefined,
    o.ts === undefined ? undefined : `TS val ${o.ts[0]} ecr ${o.ts[1]}`,
    o.wscale === undefined ? undefined : `wscale ${o.wscale}`,
    o.sack === undefined ? undefined : `sack ${o.sack.map(([l, r]) => `${l}:${r}`).join(" ")}`
  ].filter((x) => x !== undefined)
  return `${s.at}ms ${s.flags} ${s.seq}:${s.seq + s.length}(${s.length}) ack ${s.ack} win ${s.window}` +
    (opts.length > 0 ? ` <${opts.join(",")}>` : "")
}

// ---------------------------------------------------------------------------
// The harness
// ---------------------------------------------------------------------------

/** How `TcpPeer.make` builds the host. */
export interface TcpPeerOptions {
  /** The host's TCP settings. */
  readonly tcp?: Partial<TcpSettings>
  /** The host interface's MTU (default 1500). */
  readonly mtu?: number
  /** Congestion control (default CUBIC, as Linux). */
  readonly congestion?: CongestionAlgorithm
  /** The peer's ISN, absolute (default 3,000,000,000: above 2^31, so signed arithmetic shows). */
  readonly peerIsn?: number
  /** The peer's port (default `PEER_PORT`). */
  readonly peerPort?: number
  /** The peer's TSval clock at time 0 (it ticks in ms). */
  readonly peerTsBase?: number
}

/** A host and the scripted peer facing it. */
export class TcpPeer {
  /** Our stack. */
  readonly host: Host
  /** The host's interface facing the peer. */
  readonly device: EthernetDevice
  /** Everything the host sent, in order. */
  readonly sent: Array<OutSegment> = []
  /** Frames the host sent that were not TCP (ARP, ICMP), raw. */
  readonly others: Array<Uint8Array> = []
  /** The peer's ISN (absolute). */
  readonly peerIsn: number
  /** The peer's port. */
  peerPort: number
  /** The host's port (learned from its first SYN, or set by `listen`). */
  hostPort = 0
  /** The host's ISS (learned from its first SYN or SYN-ACK). */
  hostIss: number | undefined = undefined
  /** The peer's next sequence number (relative): one past everything it sent. */
  peerNext = 0
  /** One past the highest sequence number the host sent (relative). */
  hostNext = 0
  /** The host's last TSval, echoed by default. */
  hostTsVal = 0
  /** Both sides sent Timestamps in the handshake: the peer adds them by default. */
  timestamps = false
  /**
   * Called with each segment as the host's NIC hands it to the wire, inside
   * the host's transmit: a peer that answers here (`inject`) is answered at
   * once, as over an in-process wire, before the host's send returns.
   */
  onSent: ((segment: OutSegment) => void) | undefined = undefined
  readonly peerTsBase: number
  private readonly queue: Array<OutSegment> = []
  private readonly clock: Clock.Clock
  private receiver: ((frame: Uint8Array) => void) | undefined = undefined
  private ipId = 1

  private constructor(host: Host, device: EthernetDevice, clock: Clock.Clock, options: TcpPeerOptions) {
    this.host = host
    this.device = device
    this.clock = clock
    this.peerIsn = (options.peerIsn ?? 3_000_000_000) >>> 0
    this.peerPort = options.peerPort ?? PEER_PORT
    this.peerTsBase = options.peerTsBase ?? 100_000
  }

  /** A host (10.0.0.1/24) facing the scripted peer (10.0.0.2), under the current (test) clock. */
  static make(options: TcpPeerOptions = {}): Effect.Effect<TcpPeer, unknown, Scope.Scope> {
    return Effect.gen(function*() {
      const clock = yield* Clock.Clock
      const host = yield* Host.make({ name: "host", ...(options.tcp === undefined ? {} : { tcp: options.tcp }) }).pipe(
        Effect.provideService(CongestionControl, options.congestion ?? cubic)
      )
      const device = yield* host.addInterface({ mac: HOST_MAC, ...(options.mtu === undefined ? {} : { mtu: options.mtu }) })
      const added = host.addAddress(device, `${HOST_ADDRESS}/24`)
      if (added instanceof InvalidAddress || added instanceof InvalidSpecification) return yield* Effect.fail(added)
      host.neighbours.addPermanent(device, PEER_IP, PEER_MAC)
      const peer = new TcpPeer(host, device, clock, options)
      const port: MediumPort = {
        send: (frame: Uint8Array, release?: FrameRelease) => {
          peer.capture(frame.slice())
          release?.(frame)
        },
        attach: (receiver) => {
          peer.receiver = receiver
        }
      }
      host.attach(device, port)
      return peer
    })
  }

  // ------------------------------------------------------------------ time

  /** The TestClock, ms. */
  now(): number {
    return this.clock.currentTimeMillisUnsafe()
  }

  /** Moves the clock on by `millis` (every timer fires at its exact time) and lets the fibers run. */
  after(millis: number): Effect.Effect<void> {
    const peer = this
    return Effect.gen(function*() {
      if (millis > 0) yield* TestClock.adjust(millis)
      yield* peer.settle
    })
  }

  /** Lets every fiber run at the current instant. */
  get settle(): Effect.Effect<void> {
    return Effect.gen(function*() {
      for (let i = 0; i < SETTLE_YIELDS; i++) yield* Effect.yieldNow
    })
  }

  // ------------------------------------------------------------------ the host's side

  /** `host.listen(port)`; the host's port for later segments. */
  listen(port: number, options: ListenOptions = {}): Effect.Effect<TcpListener, TcpError, Scope.Scope> {
    this.hostPort = port
    return this.host.listen(port, options)
  }

  /** Starts `host.connect(PEER_ADDRESS, peerPort)` in a fiber (it waits for the handshake the test scripts). */
  connect(options: ConnectOptions = {}): Effect.Effect<Fiber.Fiber<TcpConnection, TcpError>, never, Scope.Scope> {
    const peer = this
    return Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(peer.host.connect(PEER_ADDRESS, peer.peerPort, options))
      yield* peer.settle
      return fiber
    })
  }

  /** Starts `effect` in a fiber and lets it run (an application call that may block: accept, read, write). */
  fork<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<Fiber.Fiber<A, E>, never, R | Scope.Scope> {
    const peer = this
    return Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(effect)
      yield* peer.settle
      return fiber
    })
  }

  /**
   * The result of a fiber that must have finished by now (a `connect`,
   * `accept` or `read` the script has just completed); fails the test,
   * instead of waiting forever, if it is still running.
   */
  done<A, E>(fiber: Fiber.Fiber<A, E>): Effect.Effect<A, E> {
    const peer = this
    return Effect.suspend(() => {
      if (fiber.pollUnsafe() === undefined) {
        return Effect.die(new Error(`expected the application call to have returned by ${peer.now()} ms; it is still waiting`))
      }
      return Fiber.join(fiber)
    })
  }

  /** Runs `effect` (an application call), letting the fibers run after it. */
  run<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    return Effect.tap(effect, () => this.settle)
  }

  // ------------------------------------------------------------------ what the host sent

  private capture(frame: Uint8Array): void {
    const decoded = decodeFrame(PacketBuffer.wrap(frame.slice()))
    const ip = decoded.layers.find((l) => l.layer === "ipv4")
    const tcp = decoded.layers.find((l) => l.layer === "tcp")
    if (ip === undefined || tcp === undefined || ip.layer !== "ipv4" || tcp.layer !== "tcp") {
      this.others.push(frame)
      return
    }
    if (ip.checksum !== "valid" || tcp.checksum !== "valid") {
      throw new Error(`the host sent a frame with a bad checksum (ip ${ip.checksum}, tcp ${tcp.checksum})`)
    }
    const h = tcp.header
    const flags = tcpFlagsByte(h)
    const syn = (flags & TcpFlags.syn) !== 0
    if (syn && this.hostIss === undefined) {
      this.hostIss = h.sequenceNumber
      if (this.hostPort === 0) this.hostPort = h.sourcePort
    }
    const iss = this.hostIss ?? 0
    const options: {
      mss?: number
      wscale?: number
      sackOk?: boolean
      ts?: readonly [number, number]
      sack?: ReadonlyArray<Block>
    } = {}
    const layout: Array<string> = []
    for (const o of h.options) {
      switch (o._tag) {
        case "Mss":
          options.mss = o.value
          layout.push("mss")
          break
        case "WindowScale":
          options.wscale = o.shift
          layout.push("wscale")
          break
        case "SackPermitted":
          options.sackOk = true
          layout.push("sackOK")
          break
        case "Timestamps":
          options.ts = [o.value, o.echo]
          layout.push("TS")
          break
        case "Sack":
          options.sack = o.blocks.map((b) => [relative(b.left, this.peerIsn), relative(b.right, this.peerIsn)] as const)
          layout.push("sack")
          break
        case "Nop":
          layout.push("nop")
          break
        case "Eol":
          layout.push("eol")
          break
        case "Unknown":
          layout.push("unknown")
          break
      }
    }
    const ipHeaderLength = 20 + ip.header.options.length
    const payloadStart = 14 + ipHeaderLength + h.dataOffset * 4
    const payload = frame.slice(payloadStart, payloadStart + tcp.payloadLength)
    const segment: OutSegment = {
      at: this.now(),
      flags: flagString(flags),
      seq: relative(h.sequenceNumber, iss),
      ack: relative(h.acknowledgmentNumber, this.peerIsn),
      rawSeq: h.sequenceNumber,
      rawAck: h.acknowledgmentNumber,
      window: h.window,
      options,
      layout,
      length: payload.length,
      payload,
      sourcePort: h.sourcePort,
      destinationPort: h.destinationPort,
      dontFragment: ip.header.dontFragment
    }
    const end = segment.seq + segment.length + (syn ? 1 : 0) + ((flags & TcpFlags.fin) !== 0 ? 1 : 0)
    if ((flags & TcpFlags.rst) === 0 && end > this.hostNext) this.hostNext = end
    if (options.ts !== undefined) this.hostTsVal = options.ts[0]
    this.sent.push(segment)
    this.queue.push(segment)
    this.onSent?.(segment)
  }

  /** Segments sent and not yet taken. */
  get pending(): ReadonlyArray<OutSegment> {
    return this.queue
  }

  /** Takes the next segment the host sent; fails the test if there is none. */
  next(): OutSegment {
    const segment = this.queue.shift()
    if (segment === undefined) throw new Error(`expected a segment from the host at ${this.now()} ms; it sent none`)
    return segment
  }

  /** Takes every segment sent and not yet taken. */
  takeAll(): Array<OutSegment> {
    return this.queue.splice(0, this.queue.length)
  }

  /** Takes the next segment and asserts the fields `expected` gives (options exactly, when given). */
  expect(expected: SegmentExpectation): OutSegment {
    const segment = this.queue.shift()
    if (segment === undefined) {
      throw new Error(`expected ${JSON.stringify(expected)} from the host at ${this.now()} ms; it sent nothing`)
    }
    const actual: Record<string, unknown> = {}
    for (const key of Object.keys(expected)) {
      actual[key] = key === "options"
        ? normalizeOptions(segment.options)
        : key === "tsEcr"
        ? segment.options.ts?.[1]
        : segment[key as keyof OutSegment]
    }
    const wanted: Record<string, unknown> = { ...expected }
    if (expected.options !== undefined) wanted["options"] = normalizeOptions(expected.options)
    expect(actual, describeSegment(segment)).toEqual(wanted)
    return segment
  }

  /** Asserts the host has sent nothing not yet taken. */
  expectNone(): void {
    if (this.queue.length > 0) {
      throw new Error(`expected no segment from the host at ${this.now()} ms; it sent:\n${this.queue.map(describeSegment).join("\n")}`)
    }
  }

  // ------------------------------------------------------------------ what the peer sends

  /** The peer's TSval now (its clock ticks in ms from `peerTsBase`). */
  peerTsVal(): number {
    return (this.peerTsBase + Math.floor(this.now())) >>> 0
  }

  /** Builds the frame for `spec` (without sending it). */
  frame(spec: SendSpec): Uint8Array {
    const flags = parseFlags(spec.flags)
    const hasAck = (flags & TcpFlags.ack) !== 0
    const iss = this.hostIss ?? 0
    const rel = spec.absolute !== true
    const seq = spec.seq === undefined ? absolute(this.peerNext, this.peerIsn) : rel ? absolute(spec.seq, this.peerIsn) : spec.seq >>> 0
    const ack = spec.ack === undefined
      ? (hasAck ? absolute(this.hostNext, iss) : 0)
      : rel
      ? absolute(spec.ack, iss)
      : spec.ack >>> 0
    const payload = spec.data === undefined
      ? new Uint8Array(0)
      : typeof spec.data === "number"
      ? patternBytes(relative(seq, this.peerIsn), spec.data)
      : spec.data
    const options = spec.rawOptions ?? this.options(spec, flags, rel, iss)
    const optionsLength = (tcpOptionsLength(options) + 3) & ~3
    const tcpLength = 20 + optionsLength + payload.length
    const packet = PacketBuffer.fromBytes(payload, 14 + 20 + 60)
    const checksum = { mode: "full" as const, pseudoHeaderSum: ipv4PseudoHeaderSum(PEER_IP, HOST_IP, 6, tcpLength) }
    const failed = emitTcp(
      packet,
      {
        sourcePort: spec.sourcePort ?? this.peerPort,
        destinationPort: spec.destinationPort ?? this.hostPort,
        sequenceNumber: seq,
        acknowledgmentNumber: ack,
        flags,
        window: spec.window ?? 65535,
        urgentPointer: 0,
        options
      },
      checksum
    ) ?? emitIpv4(packet, {
      dscp: 0,
      ecn: 0,
      identification: this.ipId++ & 0xffff,
      reservedFlag: false,
      dontFragment: true,
      moreFragments: false,
      fragmentOffset: 0,
      ttl: 64,
      protocol: 6,
      source: PEER_IP,
      destination: HOST_IP
    }) ?? emitEthernet(packet, { destination: HOST_MAC, source: PEER_MAC, etherType: EtherTypes.ipv4 })
    if (failed !== undefined) throw new Error(`could not build the frame: ${String(failed)}`)
    const bytes = packet.toUint8Array()
    if (spec.badChecksum === true) bytes[14 + 20 + 16] = (bytes[14 + 20 + 16] ?? 0) ^ 0x5a
    const end = relative(seq, this.peerIsn) + payload.length + ((flags & TcpFlags.syn) !== 0 ? 1 : 0) +
      ((flags & TcpFlags.fin) !== 0 ? 1 : 0)
    if ((flags & TcpFlags.rst) === 0 && end > this.peerNext) this.peerNext = end
    return bytes
  }

  /** The options for `spec`, laid out as Linux does (MSS, sackOK+TS or NOP NOP TS, NOP wscale; NOP NOP SACK). */
  private options(spec: SendSpec, flags: number, rel: boolean, iss: number): Array<TcpOption> {
    const o = spec.options ?? {}
    const list: Array<TcpOption> = []
    const syn = (flags & TcpFlags.syn) !== 0
    const ts = o.ts === false
      ? undefined
      : o.ts ?? (this.timestamps && !syn && (flags & TcpFlags.rst) === 0 ? [this.peerTsVal(), this.hostTsVal] as const : undefined)
    if (o.mss !== undefined) list.push({ _tag: "Mss", value: o.mss })
    if (o.sackOk === true && ts !== undefined) list.push({ _tag: "SackPermitted" })
    else if (o.sackOk === true) list.push({ _tag: "Nop" }, { _tag: "Nop" }, { _tag: "SackPermitted" })
    else if (ts !== undefined) list.push({ _tag: "Nop" }, { _tag: "Nop" })
    if (ts !== undefined) list.push({ _tag: "Timestamps", value: ts[0] >>> 0, echo: ts[1] >>> 0 })
    if (o.wscale !== undefined) list.push({ _tag: "Nop" }, { _tag: "WindowScale", shift: o.wscale })
    if (o.sack !== undefined && o.sack.length > 0) {
      list.push({ _tag: "Nop" }, { _tag: "Nop" }, {
        _tag: "Sack",
        blocks: o.sack.map(([l, r]) => ({
          left: rel ? absolute(l, iss) : l >>> 0,
          right: rel ? absolute(r, iss) : r >>> 0
        }))
      })
    }
    return list
  }

  /** Sends a segment to the host and lets it be processed (no simulated time passes). */
  send(spec: SendSpec): Effect.Effect<void> {
    const peer = this
    return Effect.gen(function*() {
      peer.inject(peer.frame(spec))
      yield* peer.settle
    })
  }

  /** Hands a raw frame to the host's NIC (no settling). */
  inject(frame: Uint8Array): void {
    if (this.receiver === undefined) throw new Error("the host's NIC is not attached")
    this.receiver(frame)
  }

  // ------------------------------------------------------------------ handshakes

  /**
   * The host connects (active open) and the peer completes the handshake:
   * expects the SYN, answers with a SYN-ACK carrying `synAck` options
   * (default: MSS 1460, sackOK, TS, wscale 7), expects the ACK. Returns the
   * connection once `connect` returned.
   */
  establishActive(
    options: {
      readonly synAck?: SendSpec["options"]
      readonly window?: number
      readonly connect?: ConnectOptions
    } = {}
  ): Effect.Effect<TcpConnection, TcpError, Scope.Scope> {
    const peer = this
    return Effect.gen(function*() {
      const fiber = yield* peer.connect(options.connect ?? {})
      const syn = peer.expect({ flags: "S", seq: 0 })
      const synAck = options.synAck ?? { mss: 1460, sackOk: true, ts: [peer.peerTsVal(), syn.options.ts?.[0] ?? 0], wscale: 7 }
      peer.timestamps = synAck.ts !== undefined && synAck.ts !== false && syn.options.ts !== undefined
      yield* peer.send({ flags: "S.", seq: 0, ack: 1, window: options.window ?? 65535, options: synAck })
      peer.expect({ flags: ".", seq: 1, ack: 1 })
      return yield* peer.done(fiber)
    })
  }

  /**
   * The peer connects to the host's `port` (passive open): a listener, the
   * SYN with `syn` options (default: MSS 1460, sackOK, TS, wscale 7), the
   * SYN-ACK expected, the ACK sent; returns what `accept` returned.
   */
  establishPassive(
    options: {
      readonly port?: number
      readonly syn?: SendSpec["options"]
      readonly window?: number
      readonly listen?: ListenOptions
    } = {}
  ): Effect.Effect<{ readonly connection: TcpConnection; readonly listener: TcpListener }, TcpError, Scope.Scope> {
    const peer = this
    return Effect.gen(function*() {
      const listener = yield* peer.listen(options.port ?? 8080, options.listen ?? {})
      const syn = options.syn ?? { mss: 1460, sackOk: true, ts: [peer.peerTsVal(), 0], wscale: 7 }
      yield* peer.send({ flags: "S", seq: 0, window: options.window ?? 65535, options: syn })
      const synAck = peer.expect({ flags: "S.", seq: 0, ack: 1 })
      peer.timestamps = syn.ts !== undefined && syn.ts !== false && synAck.options.ts !== undefined
      yield* peer.send({ flags: ".", seq: 1, ack: 1, window: options.window ?? 65535 })
      const connection = yield* listener.accept
      return { connection, listener }
    })
  }
}

/** Options with absent fields dropped and `sackOk: false` as absent, for exact comparison. */
const normalizeOptions = (o: SegmentOptions): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  if (o.mss !== undefined) out["mss"] = o.mss
  if (o.wscale !== undefined) out["wscale"] = o.wscale
  if (o.sackOk === true) out["sackOk"] = true
  if (o.ts !== undefined) out["ts"] = [o.ts[0], o.ts[1]]
  if (o.sack !== undefined && o.sack.length > 0) out["sack"] = o.sack.map(([l, r]) => [l, r])
  return out
}
