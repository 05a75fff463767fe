/**
 * The net-channel classifier against generated frames (fast-check): a valid
 * IPv4 TCP segment of a flow with an open channel takes the fast path;
 * every kind of frame the slow path would treat otherwise (truncated,
 * nonlinear, not for the device, not IPv4, malformed or optioned or
 * fragmented IPv4, a bad header checksum, a martian source, not local,
 * filtered, not TCP, a bad data offset, SYN/FIN/RST, an unknown or closing
 * flow) goes the slow path with its reason. Whatever the bytes, it never
 * throws, never changes the packet, and what it lets through the wire
 * package's own parsers (what the slow path runs) accept as a local TCP
 * segment of that flow.
 */
import { describe, expect, it } from "@effect/vitest"
import { internetChecksum, PacketBuffer } from "@netstack/buffers"
import { classify, type ClassifierContext, type ClassifierDevice, type SlowPathReason } from "@netstack/channels"
import { EthernetView, Ipv4View, readU16, TcpFlags } from "@netstack/wire"
import fc from "fast-check"

const DEVICE_MAC = 0x020000000001
const PEER_MAC = 0x020000000002
const LOCAL = 0x0a000001 // 10.0.0.1
const REMOTE = 0x0a000002 // 10.0.0.2
const LOCAL_PORT = 80
const REMOTE_PORT = 40000

const device: ClassifierDevice = { name: "eth0", kind: "ethernet", mac: DEVICE_MAC, up: true, rxHandler: undefined }

interface TestChannel {
  readonly open: boolean
  readonly flow: string
}

const openChannel: TestChannel = { open: true, flow: "open" }

/** The host: 10.0.0.1 is local, no filter rules, one channel (10.0.0.1:80 ← 10.0.0.2:40000). */
const contextWith = (
  options: { readonly channel?: TestChannel; readonly filterEmpty?: boolean; readonly tapped?: boolean } = {}
): ClassifierContext<TestChannel> => ({
  isLocal: (address) => address === LOCAL,
  tapped: () => options.tapped ?? false,
  filterEmpty: () => options.filterEmpty ?? true,
  lookup: (la, lp, ra, rp) =>
    la === LOCAL && lp === LOCAL_PORT && ra === REMOTE && rp === REMOTE_PORT ? options.channel ?? openChannel : undefined
})

/** What a generated frame is made of; `build` writes it with correct lengths and checksum unless told not to. */
interface FrameSpec {
  readonly destinationMac: number
  readonly etherType: number
  readonly version: number
  /** IPv4 options bytes (a multiple of 4, at most 40). */
  readonly ipOptions: Uint8Array
  /** IHL as written, when not derived from the options. */
  readonly ihl?: number
  readonly flagsFragment: number
  readonly protocol: number
  readonly source: number
  readonly destination: number
  /** Added to the correct total length. */
  readonly totalLengthDelta: number
  /** XORed into the IPv4 checksum (0: correct). */
  readonly checksumError: number
  readonly sourcePort: number
  readonly destinationPort: number
  /** TCP options bytes (a multiple of 4, at most 40). */
  readonly tcpOptions: Uint8Array
  /** Data offset as written, when not derived from the options. */
  readonly dataOffset?: number
  readonly tcpFlags: number
  readonly payload: Uint8Array
  /** Link padding after the datagram. */
  readonly padding: number
}

const valid: FrameSpec = {
  destinationMac: DEVICE_MAC,
  etherType: 0x0800,
  version: 4,
  ipOptions: new Uint8Array(0),
  flagsFragment: 0x4000, // DF
  protocol: 6,
  source: REMOTE,
  destination: LOCAL,
  totalLengthDelta: 0,
  checksumError: 0,
  sourcePort: REMOTE_PORT,
  destinationPort: LOCAL_PORT,
  tcpOptions: new Uint8Array(0),
  tcpFlags: TcpFlags.ack,
  payload: new Uint8Array(0),
  padding: 0
}

const build = (s: FrameSpec): Uint8Array => {
  const ipHeader = 20 + s.ipOptions.length
  const tcpHeader = 20 + s.tcpOptions.length
  const totalLength = ipHeader + tcpHeader + s.payload.length
  const frame = new Uint8Array(14 + totalLength + s.padding)
  const view = new DataView(frame.buffer)
  view.setUint16(0, Math.floor(s.destinationMac / 2 ** 32))
  view.setUint32(2, s.destinationMac >>> 0)
  view.setUint16(6, Math.floor(PEER_MAC / 2 ** 32))
  view.setUint32(8, PEER_MAC >>> 0)
  view.setUint16(12, s.etherType)
  const ip = 14
  frame[ip] = (s.version << 4) | ((s.ihl ?? ipHeader / 4) & 0x0f)
  view.setUint16(ip + 2, (totalLength + s.totalLengthDelta) & 0xffff)
  view.setUint16(ip + 4, 0x1234)
  view.setUint16(ip + 6, s.flagsFragment)
  frame[ip + 8] = 64
  frame[ip + 9] = s.protocol
  view.setUint32(ip + 12, s.source >>> 0)
  view.setUint32(ip + 16, s.destination >>> 0)
  frame.set(s.ipOptions, ip + 20)
  view.setUint16(ip + 10, internetChecksum(frame, ip, ip + ipHeader) ^ s.checksumError)
  const tcp = ip + ipHeader
  view.setUint16(tcp, s.sourcePort)
  view.setUint16(tcp + 2, s.destinationPort)
  view.setUint32(tcp + 4, 1000)
  view.setUint32(tcp + 8, 2000)
  frame[tcp + 12] = ((s.dataOffset ?? tcpHeader / 4) & 0x0f) << 4
  frame[tcp + 13] = s.tcpFlags
  view.setUint16(tcp + 14, 65535)
  frame.set(s.tcpOptions, tcp + 20)
  frame.set(s.payload, tcp + tcpHeader)
  return frame
}

/** A linear packet with headroom, as a driver hands it up. */
const packetOf = (frame: Uint8Array): PacketBuffer => PacketBuffer.fromBytes(frame, 64)

/** Options padded with NOPs to a multiple of 4 (no option walk is needed to be valid: EOL/NOP only). */
const optionsArb = (maxWords: number): fc.Arbitrary<Uint8Array> =>
  fc.integer({ min: 1, max: maxWords }).chain((words) =>
    fc.uint8Array({ minLength: words * 4, maxLength: words * 4 }).map((b) => b.map((x) => (x & 1)))
  )

/** Flags without SYN, FIN and RST (PSH, ACK, URG, ECE, CWR in any mix). */
const dataFlagsArb = fc.integer({ min: 0, max: 255 }).map((f) => f & ~(TcpFlags.syn | TcpFlags.fin | TcpFlags.rst))

/** Valid fast-path frames: any data flags, TCP options, payload and link padding. */
const fastFrameArb: fc.Arbitrary<FrameSpec> = fc.record({
  tcpFlags: dataFlagsArb,
  tcpOptions: fc.oneof(fc.constant(new Uint8Array(0)), optionsArb(10)),
  payload: fc.uint8Array({ maxLength: 1460 }),
  padding: fc.integer({ min: 0, max: 46 }),
  flagsFragment: fc.constantFrom(0, 0x4000)
}).map((r) => ({ ...valid, ...r }))

/** A frame with exactly one defect, and the reason the classifier must give. */
const defectArb: fc.Arbitrary<{ readonly spec: FrameSpec; readonly reason: SlowPathReason }> = fc.oneof(
  fc.integer({ min: 1, max: 0xffffffffffff }).filter((m) => m !== DEVICE_MAC).map((m) => ({
    spec: { ...valid, destinationMac: m },
    reason: "not-for-host" as const
  })),
  fc.integer({ min: 0, max: 0xffff }).filter((t) => t !== 0x0800).map((t) => ({ spec: { ...valid, etherType: t }, reason: "not-ipv4" as const })),
  fc.integer({ min: 0, max: 15 }).filter((v) => v !== 4).map((v) => ({ spec: { ...valid, version: v }, reason: "ip-bad-header" as const })),
  fc.integer({ min: 0, max: 4 }).map((ihl) => ({ spec: { ...valid, ihl }, reason: "ip-bad-header" as const })),
  optionsArb(10).map((o) => ({ spec: { ...valid, ipOptions: o }, reason: "ip-options" as const })),
  fc.integer({ min: 1, max: 2000 }).map((d) => ({ spec: { ...valid, totalLengthDelta: d }, reason: "ip-bad-header" as const })),
  fc.integer({ min: 1, max: 0xffff }).map((x) => ({ spec: { ...valid, checksumError: x }, reason: "ip-bad-checksum" as const })),
  // MF, or a fragment offset, with or without DF
  fc.record({ mf: fc.boolean(), offset: fc.integer({ min: 0, max: 0x1fff }), df: fc.boolean() })
    .filter((f) => f.mf || f.offset !== 0)
    .map((f) => ({
      spec: { ...valid, flagsFragment: (f.df ? 0x4000 : 0) | (f.mf ? 0x2000 : 0) | f.offset },
      reason: "ip-fragment" as const
    })),
  fc.integer({ min: 0, max: 255 }).filter((p) => p !== 6).map((p) => ({ spec: { ...valid, protocol: p }, reason: "not-tcp" as const })),
  fc.constantFrom(0xffffffff, 0xe0000001, 0xefffffff, 0x7f000001).map((a) => ({ spec: { ...valid, source: a }, reason: "martian-source" as const })),
  fc.integer({ min: 1, max: 0xdfffffff }).filter((a) => a !== LOCAL).map((a) => ({ spec: { ...valid, destination: a }, reason: "not-local" as const })),
  fc.integer({ min: 0, max: 4 }).map((d) => ({ spec: { ...valid, dataOffset: d }, reason: "tcp-bad-header" as const })),
  fc.integer({ min: 6, max: 15 }).map((d) => ({ spec: { ...valid, dataOffset: d }, reason: "tcp-bad-header" as const })),
  fc.record({ control: fc.integer({ min: 1, max: 7 }), rest: dataFlagsArb }).map((f) => ({
    spec: { ...valid, tcpFlags: f.rest | f.control },
    reason: "tcp-control" as const
  })),
  fc.record({ sp: fc.integer({ min: 0, max: 0xffff }), dp: fc.integer({ min: 0, max: 0xffff }) })
    .filter((p) => p.sp !== REMOTE_PORT || p.dp !== LOCAL_PORT)
    .map((p) => ({ spec: { ...valid, sourcePort: p.sp, destinationPort: p.dp }, reason: "no-channel" as const }))
)

/**
 * The slow path's own parsers (the wire views the link layer and IPv4 use)
 * on the same frame: would it reach TCP input, without options, unfragmented,
 * as a data segment of the channel's flow? (TCP input itself, the checksum
 * and the options, is shared by both paths.)
 */
const slowPathDeliversToFlow = (frame: PacketBuffer): boolean => {
  const copy = PacketBuffer.fromBytes(frame.toUint8Array())
  const ethernet = EthernetView.parse(copy)
  if (!(ethernet instanceof EthernetView) || ethernet.destination !== DEVICE_MAC || ethernet.etherType !== 0x0800) return false
  const ip = Ipv4View.parse(copy, 14)
  if (!(ip instanceof Ipv4View) || !ip.verifyChecksum() || ip.isFragment || ip.optionsLength !== 0) return false
  if (ip.protocol !== 6 || ip.destination !== LOCAL || ip.source !== REMOTE || ip.payloadLength < 20) return false
  const bytes = copy.toUint8Array()
  const tcp = 14 + 20
  const dataOffset = (bytes[tcp + 12] ?? 0) >>> 4
  return readU16(bytes, tcp) === REMOTE_PORT && readU16(bytes, tcp + 2) === LOCAL_PORT &&
    dataOffset >= 5 && dataOffset * 4 <= ip.payloadLength &&
    ((bytes[tcp + 13] ?? 0) & (TcpFlags.syn | TcpFlags.fin | TcpFlags.rst)) === 0
}

/** Classifies and checks the packet was not touched. */
const classifyUntouched = (packet: PacketBuffer, context: ClassifierContext<TestChannel>, dev = device) => {
  const before = { data: packet.data, length: packet.length, bytes: packet.toUint8Array() }
  const result = classify(packet, dev, context)
  expect({ data: packet.data, length: packet.length, bytes: packet.toUint8Array() }).toEqual(before)
  return result
}

describe("the net-channel classifier", () => {
  it("takes a valid data segment of a flow with an open channel, whatever its options, payload and padding", () => {
    fc.assert(fc.property(fastFrameArb, (spec) => {
      expect(classifyUntouched(packetOf(build(spec)), contextWith())).toBe(openChannel)
    }), { numRuns: 300 })
  })

  it("leaves a frame with one defect to the slow path, with the defect's reason", () => {
    fc.assert(fc.property(defectArb, ({ spec, reason }) => {
      expect(classifyUntouched(packetOf(build(spec)), contextWith())).toBe(reason)
    }), { numRuns: 1000 })
  })

  it("leaves every truncated frame to the slow path, and never throws", () => {
    fc.assert(fc.property(fastFrameArb, fc.nat(), (spec, n) => {
      const frame = build(spec)
      // cut inside the headers, or inside the payload (then the IPv4 total length exceeds the frame)
      const cut = n % (14 + 20 + 20 + spec.tcpOptions.length + spec.payload.length)
      const result = classifyUntouched(packetOf(frame.slice(0, cut)), contextWith())
      expect(typeof result).toBe("string")
      expect(["truncated", "ip-bad-header", "tcp-bad-header"]).toContain(result)
    }), { numRuns: 500 })
  })

  it("leaves a frame whose headers are not linear to the slow path", () => {
    fc.assert(fc.property(fastFrameArb, fc.integer({ min: 0, max: 53 }), (spec, split) => {
      const frame = build(spec)
      const packet = PacketBuffer.fromBytes(frame.slice(0, split), 64)
      expect(packet.addFragmentBytes(frame.slice(split))).toBeUndefined()
      expect(classifyUntouched(packet, contextWith())).toBe("nonlinear")
    }), { numRuns: 200 })
  })

  it("leaves the flow to the slow path while its channel closes, while filter rules exist, while a tap watches, and on a down or bridged interface", () => {
    const frame = build(valid)
    expect(classifyUntouched(packetOf(frame), contextWith({ channel: { open: false, flow: "closing" } }))).toBe("channel-closing")
    expect(classifyUntouched(packetOf(frame), contextWith({ filterEmpty: false }))).toBe("filtered")
    expect(classifyUntouched(packetOf(frame), contextWith({ tapped: true }))).toBe("tapped")
    expect(classifyUntouched(packetOf(frame), contextWith(), { ...device, up: false })).toBe("device")
    expect(classifyUntouched(packetOf(frame), contextWith(), { ...device, rxHandler: () => "pass" })).toBe("device")
    // 127/8 is a martian off loopback only (RFC 1812 §5.3.7)
    const fromLoopback = build({ ...valid, source: 0x7f000001 })
    expect(classifyUntouched(packetOf(fromLoopback), contextWith(), { ...device, kind: "loopback" })).toBe("no-channel")
  })

  it("never throws on arbitrary bytes or damaged frames; what it lets through, the slow path's parsers deliver to the flow", () => {
    const damaged = fc.record({
      spec: fastFrameArb,
      flips: fc.array(fc.record({ at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }), { minLength: 1, maxLength: 4 })
    }).map(({ spec, flips }) => {
      const frame = build(spec)
      for (const { at, bit } of flips) {
        const i = at % Math.min(frame.length, 80) // damage the headers mostly
        frame[i] = (frame[i] ?? 0) ^ (1 << bit)
      }
      return frame
    })
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 120 }), damaged), (frame) => {
      const packet = packetOf(frame)
      const result = classifyUntouched(packet, contextWith())
      if (typeof result !== "string") {
        expect(result).toBe(openChannel)
        expect(slowPathDeliversToFlow(packet)).toBe(true)
      }
    }), { numRuns: 2000 })
  })

})
