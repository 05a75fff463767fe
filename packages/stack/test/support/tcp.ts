/**
 * What the whole-stack TCP tests share: two hosts on one wire (each
 * direction with its own impairments), a medium port wrapper that lets a
 * test watch or drop chosen frames, a frame classifier and an independent
 * checksum oracle (RFC 1071), and a transfer program that writes, reads,
 * closes and reports what each end saw.
 */
import type { Impairments, MediumPort } from "@netstack/device"
import { Wire } from "@netstack/device"
import type { EthernetDevice } from "@netstack/l2"
import { type CongestionAlgorithm, CongestionControl, cubic, type TcpConnection, TcpError, type TcpSettings } from "@netstack/l4"
import { InvalidAddress } from "@netstack/l3"
import { type Host, InvalidSpecification, Network } from "@netstack/stack"
import { Deferred, Effect, Fiber, Result, type Scope } from "effect"

// ---------------------------------------------------------------------------
// Watching and dropping frames
// ---------------------------------------------------------------------------

/** What a test does with the frames crossing one port. */
export interface PortHooks {
  /** Each frame the NIC sends into the medium; return false to drop it before the medium sees it. */
  readonly send?: (frame: Uint8Array) => boolean
  /** Each frame the medium delivers to the NIC, before the NIC takes it. */
  readonly deliver?: (frame: Uint8Array) => void
}

/** `port` with `hooks` around both directions. */
export const hookedPort = (port: MediumPort, hooks: PortHooks): MediumPort => {
  const send = hooks.send
  const deliver = hooks.deliver
  return {
    send: send === undefined ? port.send : (frame) => {
      if (send(frame)) port.send(frame)
    },
    attach: (receiver) =>
      port.attach(deliver === undefined ? receiver : (frame) => {
        deliver(frame)
        receiver(frame)
      })
  }
}

// ---------------------------------------------------------------------------
// Reading frames (independently of the stack's own parsers)
// ---------------------------------------------------------------------------

const u16 = (b: Uint8Array, at: number): number => ((b[at] ?? 0) << 8) | (b[at + 1] ?? 0)
const u32 = (b: Uint8Array, at: number): number => (u16(b, at) * 0x10000 + u16(b, at + 2)) >>> 0

/** RFC 1071 one's complement sum of `bytes[from, to)` added to `initial` (not folded). */
const onesSum = (bytes: Uint8Array, from: number, to: number, initial = 0): number => {
  let sum = initial
  for (let i = from; i + 1 < to; i += 2) sum += u16(bytes, i)
  if ((to - from) % 2 === 1) sum += (bytes[to - 1] ?? 0) << 8
  return sum
}

const fold = (sum: number): number => {
  let s = sum
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000)
  return s
}

/** A TCP segment in an Ethernet frame, as the tests look at it. */
export interface FrameSegment {
  readonly sourcePort: number
  readonly destinationPort: number
  readonly seq: number
  readonly ack: number
  /** The flags byte (FIN 1, SYN 2, RST 4, PSH 8, ACK 16). */
  readonly flags: number
  /** Payload bytes. */
  readonly length: number
}

/** What a frame is, for the checksum oracle: where a single flipped bit in it must be caught. */
export type FrameClass =
  | { readonly kind: "other" } // not IPv4 (ARP), or not for this MAC
  | { readonly kind: "bad-ip-header" } // IPv4 header checksum (RFC 791) fails, or the header is malformed
  | { readonly kind: "bad-tcp-checksum" } // IPv4 header fine, TCP checksum (RFC 9293 §3.1) fails
  | { readonly kind: "tcp"; readonly segment: FrameSegment }
  | { readonly kind: "ip-other" } // a valid IPv4 datagram that is not TCP (ICMP)

/** Classifies an Ethernet frame (no VLAN tag): IPv4 header checksum first, then the TCP checksum with its pseudo-header. */
export const classifyFrame = (frame: Uint8Array): FrameClass => {
  if (frame.length < 14 || u16(frame, 12) !== 0x0800) return { kind: "other" }
  const ip = 14
  const ihl = ((frame[ip] ?? 0) & 0x0f) * 4
  const totalLength = u16(frame, ip + 2)
  if ((frame[ip] ?? 0) >> 4 !== 4 || ihl < 20 || totalLength < ihl || ip + totalLength > frame.length) {
    return { kind: "bad-ip-header" }
  }
  if (fold(onesSum(frame, ip, ip + ihl)) !== 0xffff) return { kind: "bad-ip-header" }
  if (frame[ip + 9] !== 6) return { kind: "ip-other" }
  const tcp = ip + ihl
  const tcpLength = totalLength - ihl
  const pseudo = onesSum(frame, ip + 12, ip + 20) + 6 + tcpLength
  if (fold(onesSum(frame, tcp, tcp + tcpLength, pseudo)) !== 0xffff) return { kind: "bad-tcp-checksum" }
  const dataOffset = ((frame[tcp + 12] ?? 0) >> 4) * 4
  return {
    kind: "tcp",
    segment: {
      sourcePort: u16(frame, tcp),
      destinationPort: u16(frame, tcp + 2),
      seq: u32(frame, tcp + 4),
      ack: u32(frame, tcp + 8),
      flags: frame[tcp + 13] ?? 0,
      length: tcpLength - dataOffset
    }
  }
}

/** The destination MAC of an Ethernet frame. */
export const frameDestination = (frame: Uint8Array): number => u16(frame, 0) * 0x100000000 + u32(frame, 2)

// ---------------------------------------------------------------------------
// Two hosts on a wire
// ---------------------------------------------------------------------------

/** How `tcpPair` builds a (10.0.0.1) — b (10.0.0.2). */
export interface TcpPairOptions {
  /** Impairments of a's frames to b, and of b's to a. */
  readonly aToB?: Impairments
  readonly bToA?: Impairments
  readonly tcpA?: Partial<TcpSettings>
  readonly tcpB?: Partial<TcpSettings>
  /** Congestion control of both hosts (CUBIC by default, as Linux). */
  readonly congestion?: CongestionAlgorithm
  /** Hooks on a's port (its sends, what is delivered to it) and on b's. */
  readonly hooksA?: PortHooks
  readonly hooksB?: PortHooks
  readonly mtu?: number
}

/** What `tcpPair` made. */
export interface TcpPair {
  readonly a: Host
  readonly b: Host
  readonly wire: Wire
  readonly devA: EthernetDevice
  readonly devB: EthernetDevice
}

/** a (10.0.0.1/24) and b (10.0.0.2/24) joined by one wire, with the ports hooked as asked. */
export const tcpPair = (options: TcpPairOptions = {}): Effect.Effect<TcpPair, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const net = Network.make()
    const congestion = options.congestion ?? cubic
    const a = yield* net.host("a", options.tcpA === undefined ? {} : { tcp: options.tcpA }).pipe(
      Effect.provideService(CongestionControl, congestion)
    )
    const b = yield* net.host("b", options.tcpB === undefined ? {} : { tcp: options.tcpB }).pipe(
      Effect.provideService(CongestionControl, congestion)
    )
    const nic = options.mtu === undefined ? {} : { mtu: options.mtu }
    const devA = yield* a.addInterface({ ...nic, mac: net.nextMac() })
    const devB = yield* b.addInterface({ ...nic, mac: net.nextMac() })
    const wire = yield* Wire.make({ aToB: options.aToB, bToA: options.bToA })
    a.attach(devA, hookedPort(wire.a, options.hooksA ?? {}))
    b.attach(devB, hookedPort(wire.b, options.hooksB ?? {}))
    for (const [host, dev, cidr] of [[a, devA, "10.0.0.1/24"], [b, devB, "10.0.0.2/24"]] as const) {
      const added = host.addAddress(dev, cidr)
      if (added instanceof InvalidAddress || added instanceof InvalidSpecification) return yield* Effect.fail(added)
    }
    return { a, b, wire, devA, devB }
  })

/** `n` bytes of a pattern that differs per `seed` and never repeats within 251 bytes. */
export const pattern = (n: number, seed = 0): Uint8Array => {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = ((i % 251) * 7 + seed * 13 + Math.floor(i / 251)) & 0xff
  return out
}

// ---------------------------------------------------------------------------
// A transfer: both ends write, read to the end, close
// ---------------------------------------------------------------------------

/** What one end of a transfer saw. */
export interface EndReport {
  /** Everything read until the peer's FIN, or the error that ended reading. */
  readonly received: Result.Result<Uint8Array, TcpError> | "stuck"
  /** Writing everything and shutting down, or the error that stopped it. */
  readonly wrote: Result.Result<void, TcpError>
  /** The connection's state once `close` returned (CLOSED or TIME-WAIT, or where it stuck). */
  readonly state: string
  /** Whether, when it stuck waiting to read, it had nothing outstanding (nothing it could time out on). */
  readonly idleWhenStuck: boolean
  readonly connection: TcpConnection | undefined
}

/** A failed end (the handshake never completed). */
const failedEnd = (error: TcpError | "stuck"): EndReport => ({
  received: error === "stuck" ? "stuck" : Result.fail(error),
  wrote: Result.fail(error === "stuck" ? new TcpError({ reason: "not-connected", detail: "never accepted" }) : error),
  state: "CLOSED",
  idleWhenStuck: error === "stuck",
  connection: undefined
})

/**
 * How an application reads: `size` bytes at most per read, pausing
 * `pauseMillis` after each (a slow reader fills its window); with `into`,
 * through `readInto` an array of its own (which data may go straight into
 * while it waits) rather than `read`.
 */
export interface Reading {
  readonly size: number
  readonly pauseMillis: number
  readonly into?: boolean
}

/** Reads until the peer's FIN, as `reading` says. */
const readToEnd = (connection: TcpConnection, reading: Reading): Effect.Effect<Uint8Array, TcpError> =>
  Effect.gen(function*() {
    const chunks: Array<Uint8Array> = []
    const array = reading.into === true ? new Uint8Array(reading.size) : undefined
    let total = 0
    for (;;) {
      let chunk: Uint8Array | undefined
      if (array === undefined) chunk = yield* connection.read(reading.size)
      else {
        const n = yield* connection.readInto(array)
        chunk = n === undefined ? undefined : array.slice(0, n)
      }
      if (chunk === undefined) break
      chunks.push(chunk)
      total += chunk.length
      if (reading.pauseMillis > 0) yield* Effect.sleep(reading.pauseMillis)
    }
    const out = new Uint8Array(total)
    let at = 0
    for (const chunk of chunks) {
      out.set(chunk, at)
      at += chunk.length
    }
    return out
  })

/**
 * One end: writes `data` in `chunk`-byte writes then shuts down, while
 * reading to the peer's FIN; then closes and waits until CLOSED/TIME-WAIT.
 * Once `peerFailed` is set, reading gives up after `grace` (a receiver with
 * nothing outstanding never learns that its peer timed out, RFC 9293 has no
 * timer for it) and the connection is aborted.
 */
const runEnd = (
  connection: TcpConnection,
  data: Uint8Array,
  chunk: number,
  failed: Deferred.Deferred<void>,
  grace: number,
  reading: Reading
): Effect.Effect<EndReport> =>
  Effect.gen(function*() {
    const writer = yield* Effect.forkChild(Effect.result(Effect.gen(function*() {
      for (let at = 0; at < data.length; at += chunk) yield* connection.write(data.subarray(at, Math.min(data.length, at + chunk)))
      yield* connection.shutdown()
    })))
    const received = yield* Effect.raceFirst(
      Effect.result(readToEnd(connection, reading)),
      Deferred.await(failed).pipe(Effect.andThen(Effect.sleep(grace)), Effect.as("stuck" as const))
    )
    let idleWhenStuck = false
    if (received === "stuck") {
      idleWhenStuck = connection.tcb.inFlight === 0 && connection.tcb.unsent === 0
      yield* connection.abort()
    }
    const wrote = yield* Fiber.join(writer)
    if (received !== "stuck" && received._tag === "Failure") yield* Deferred.succeed(failed, undefined)
    if (wrote._tag === "Failure") yield* Deferred.succeed(failed, undefined)
    yield* connection.close()
    yield* connection.whenClosed
    if (connection.tcb.error !== undefined) yield* Deferred.succeed(failed, undefined)
    return { received, wrote, state: connection.state, idleWhenStuck, connection }
  })

/** A transfer between a (client) and b (server, port 80). */
export interface TransferPlan {
  /** What a sends to b and b to a. */
  readonly aData: Uint8Array
  readonly bData: Uint8Array
  /** Bytes per write. */
  readonly chunk: number
  /** RFC 5482 user timeout of both ends (µs). */
  readonly userTimeout?: number
  /** How long an end still waits to read after its peer failed (ms of simulated time). */
  readonly graceMillis: number
  /** How a and b read (default: 64 KiB at a time, no pause). */
  readonly readingA?: Reading
  readonly readingB?: Reading
}

const FAST_READER: Reading = { size: 64 * 1024, pauseMillis: 0 }

/** What the transfer did at both ends. */
export interface TransferReport {
  readonly client: EndReport
  readonly server: EndReport
}

/** Runs `plan` between `pair.a` and `pair.b` (drive the clock around it). */
export const transfer = (pair: TcpPair, plan: TransferPlan): Effect.Effect<TransferReport, never, Scope.Scope> =>
  Effect.gen(function*() {
    const failed = yield* Deferred.make<void>()
    const grace = plan.graceMillis
    const timeout = plan.userTimeout === undefined ? {} : { userTimeout: plan.userTimeout }
    const listener = yield* pair.b.listen(80, timeout).pipe(Effect.orDie)
    const server = yield* Effect.forkChild(Effect.gen(function*() {
      const accepted = yield* Effect.raceFirst(
        Effect.result(listener.accept),
        Deferred.await(failed).pipe(Effect.andThen(Effect.sleep(grace)), Effect.as("stuck" as const))
      )
      if (accepted === "stuck") return failedEnd("stuck")
      if (accepted._tag === "Failure") return failedEnd(accepted.failure)
      return yield* runEnd(accepted.success, plan.bData, plan.chunk, failed, grace, plan.readingB ?? FAST_READER)
    }))
    const client = yield* Effect.gen(function*() {
      const connected = yield* Effect.result(pair.a.connect("10.0.0.2", 80, timeout))
      if (connected._tag === "Failure") {
        yield* Deferred.succeed(failed, undefined)
        return failedEnd(connected.failure)
      }
      return yield* runEnd(connected.success, plan.aData, plan.chunk, failed, grace, plan.readingA ?? FAST_READER)
    })
    const serverEnd = yield* Fiber.join(server)
    yield* listener.close()
    return { client, server: serverEnd }
  })

/** Bytes equal (a fast path for large arrays, with the first difference for the message). */
export const firstDifference = (x: Uint8Array, y: Uint8Array): number | undefined => {
  const n = Math.min(x.length, y.length)
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return i
  return x.length === y.length ? undefined : n
}
