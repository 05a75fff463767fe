/**
 * Frames and ports for the media tests: TCP and UDP frames over IPv4 built
 * with the emitters (optionally a TSO super-packet), a port wrapper that
 * records what crosses it, and a NIC with posted receive buffers.
 */
import { ipv4PseudoHeaderSum, PacketBuffer } from "@netstack/buffers"
import {
  captureCopy,
  type FrameOffload,
  type MediumPort,
  Nic,
  type NicDevice,
  type NicOptions,
  partialChecksum
} from "@netstack/device"
import { decodeFrame, emitEthernet, emitIpv4, emitTcp, emitUdp } from "@netstack/wire"
import { Effect } from "effect"

export const MAC_A = 0x020000000001
export const MAC_B = 0x020000000002
export const IP_A = 0x0a000001
export const IP_B = 0x0a000002

/** What a TCP frame is made of. */
export interface TcpFrameSpec {
  readonly payload: Uint8Array
  readonly checksum: "full" | "partial"
  readonly sequence?: number
  readonly acknowledgment?: number
  readonly flags?: number
  /** Make it a TSO super-packet of this MSS. */
  readonly gsoSize?: number
  readonly source?: number
  readonly destination?: number
  readonly sourceMac?: number
  readonly destinationMac?: number
  readonly sourcePort?: number
  readonly destinationPort?: number
  readonly window?: number
  /** The IPv4 DF bit (default set, as TCP sends). */
  readonly dontFragment?: boolean
}

/** Throws on an emitter's refusal: the test built a bad frame. */
const check = (result: { readonly _tag: string } | undefined): void => {
  if (result !== undefined) throw new Error(`emitter refused: ${result._tag}`)
}

/** A TCP/IPv4 Ethernet frame (data at the Ethernet header). */
export const tcpFrame = (spec: TcpFrameSpec): PacketBuffer => {
  const source = spec.source ?? IP_A
  const destination = spec.destination ?? IP_B
  const buffer = PacketBuffer.fromBytes(spec.payload, 128)
  const length = 20 + spec.payload.length
  check(emitTcp(buffer, {
    sourcePort: spec.sourcePort ?? 40000,
    destinationPort: spec.destinationPort ?? 5001,
    sequenceNumber: spec.sequence ?? 1000,
    acknowledgmentNumber: spec.acknowledgment ?? 1,
    flags: spec.flags ?? 0x18,
    window: spec.window ?? 65535,
    urgentPointer: 0,
    options: []
  }, { mode: spec.checksum, pseudoHeaderSum: ipv4PseudoHeaderSum(source, destination, 6, length) }))
  check(emitIpv4(buffer, {
    dscp: 0, ecn: 0, identification: 7, reservedFlag: false, dontFragment: spec.dontFragment ?? true, moreFragments: false,
    fragmentOffset: 0, ttl: 64, protocol: 6, source, destination
  }))
  check(emitEthernet(buffer, { destination: spec.destinationMac ?? MAC_B, source: spec.sourceMac ?? MAC_A, etherType: 0x0800 }))
  if (spec.gsoSize !== undefined) {
    buffer.meta.gsoType = "tcpv4"
    buffer.meta.gsoSize = spec.gsoSize
    buffer.meta.gsoSegments = Math.ceil(spec.payload.length / spec.gsoSize)
  }
  return buffer
}

/** A UDP/IPv4 Ethernet frame of `payload` bytes (DF set unless `dontFragment` is false). */
export const udpFrame = (payload: number, checksum: "full" | "partial", dontFragment = true): PacketBuffer => {
  const buffer = PacketBuffer.fromBytes(new Uint8Array(payload).fill(7), 64)
  const length = 8 + payload
  check(emitUdp(buffer, { sourcePort: 1000, destinationPort: 2000 }, {
    mode: checksum,
    pseudoHeaderSum: ipv4PseudoHeaderSum(IP_A, IP_B, 17, length)
  }))
  check(emitIpv4(buffer, {
    dscp: 0, ecn: 0, identification: 1, reservedFlag: false, dontFragment, moreFragments: false,
    fragmentOffset: 0, ttl: 64, protocol: 17, source: IP_A, destination: IP_B
  }))
  check(emitEthernet(buffer, { destination: MAC_B, source: MAC_A, etherType: 0x0800 }))
  return buffer
}

/** The transport checksum verdict decodeFrame gives a frame (`valid`, `invalid`, …), or `none`. */
export const transportChecksum = (bytes: Uint8Array): string => {
  const decoded = decodeFrame(PacketBuffer.wrap(bytes.slice()))
  const layer = decoded.layers.find((l) => l.layer === "tcp" || l.layer === "udp")
  return layer !== undefined && "checksum" in layer ? layer.checksum : "none"
}

/** The verdict once a partial checksum at the usual IPv4 place (csum_start 34) is completed, as a capture shows it. */
export const completedChecksum = (bytes: Uint8Array, csumOffset = 16): string =>
  transportChecksum(captureCopy(bytes, partialChecksum(34, csumOffset)))

/** The TCP payload of a frame (after Ethernet, a 20-byte IPv4 header and a 20-byte TCP header). */
export const tcpPayload = (bytes: Uint8Array): Uint8Array => bytes.subarray(14 + 20 + 20)

/** A frame seen crossing a recording port: a copy of its bytes and its metadata. */
export interface Recorded {
  readonly bytes: Uint8Array
  readonly offload: FrameOffload | undefined
}

/** Wraps `inner`, recording a copy of every frame sent into it. */
export const recording = (inner: MediumPort): { readonly port: MediumPort; readonly sent: Array<Recorded> } => {
  const sent: Array<Recorded> = []
  const port: MediumPort = {
    send: (frame, release, offload) => {
      sent.push({ bytes: frame.slice(), offload })
      inner.send(frame, release, offload)
    },
    attach: (receiver, accepts) => inner.attach(receiver, accepts),
    ...(inner.offloadSupport === undefined ? {} : { offloadSupport: inner.offloadSupport })
  }
  return { port, sent }
}

/** A NIC with `posted` empty buffers of `size` bytes on its first rx ring. */
export const nicWithBuffers = (options: Partial<NicOptions> & { readonly mac: number }, posted = 64, size = 2048) =>
  Effect.gen(function*() {
    const nic: NicDevice = yield* Nic.make(options)
    for (let i = 0; i < posted; i++) {
      const b = PacketBuffer.alloc(size)
      b.reserve(64)
      nic.rx[0].ring.post(b)
    }
    return nic
  })

/** Every packet waiting on `nic`'s first rx ring. */
export const takeAll = (nic: NicDevice): Array<PacketBuffer> => {
  const out: Array<PacketBuffer> = []
  for (let p = nic.rx[0].ring.take(); p !== undefined; p = nic.rx[0].ring.take()) out.push(p)
  return out
}

/** Queues `packets` on `nic`'s tx ring, rings the doorbell and lets the transmit engine run. */
export const transmit = (nic: NicDevice, packets: ReadonlyArray<PacketBuffer>) =>
  Effect.gen(function*() {
    const q = nic.tx[0]
    for (const p of packets) {
      if (!q.ring.fill(p)) throw new Error("tx ring full")
    }
    q.kick()
    yield* Effect.yieldNow
    yield* Effect.yieldNow
    for (let p = q.ring.clean(); p !== undefined; p = q.ring.clean()) p.release()
  })
