/**
 * Software GSO (`segmentTcp`): every segment equals the one the emitters
 * build for the same slice of payload (headers copied, seq, flags, IPv4 id,
 * lengths and checksums as Linux's tcp_gso_segment / inet_gso_segment give
 * them), full and partial checksums, payload shared rather than copied, the
 * input left alone, pool accounting, >64 KiB super-packets, and every defect.
 */
import { describe, expect, it } from "@effect/vitest"
import {
  BufferPool,
  ChecksumState,
  ipv4PseudoHeaderSum,
  ipv6PseudoHeaderSum,
  MAX_FRAGMENTS,
  PacketBuffer,
  resolvePartialChecksum
} from "@netstack/buffers"
import { GsoDefect, isGsoDefect, segmentIfNeeded, segmentTcp } from "@netstack/device"
import {
  decodeFrame,
  emitEthernet,
  emitIpv4,
  emitIpv6,
  emitTcp,
  emitVlan,
  EtherTypes,
  isHeaderDefect,
  TcpFlags,
  type TcpFields,
  type TcpOption,
  tcpOptionsLength,
  toHex,
  type VlanTag,
  writeU16
} from "@netstack/wire"
import { ipv4OptionsBytes, ipv6AddressBytes, tcpOptions, vlanTag } from "@netstack/wire/testing"
import fc from "fast-check"

// ------------------------------------------------------------------ frame building (with the emitters)

interface Ipv4Spec {
  readonly version: 4
  readonly source: number
  readonly destination: number
  readonly identification: number
  readonly ttl: number
  readonly dscp: number
  readonly ecn: number
  readonly dontFragment: boolean
  readonly options: Uint8Array
}
interface Ipv6Spec {
  readonly version: 6
  readonly source: Uint8Array
  readonly destination: Uint8Array
  readonly trafficClass: number
  readonly flowLabel: number
  readonly hopLimit: number
}
interface FrameSpec {
  readonly destinationMac: number
  readonly sourceMac: number
  readonly vlan: VlanTag | undefined
  readonly ip: Ipv4Spec | Ipv6Spec
  readonly tcp: TcpFields
}

/** Where the payload goes: all linear, or `linear` bytes linear and the rest in fragments of `chunk` bytes (at most 17). */
interface Placement {
  readonly linear: number
  readonly chunk: number
}
const LINEAR: Placement = { linear: Number.MAX_SAFE_INTEGER, chunk: 1 }

const HEADROOM = 256

/** Throws on an emitter's refusal: the test built a bad frame. */
const check = (result: { readonly _tag: string } | undefined): void => {
  if (result !== undefined) throw new Error(`emitter refused: ${result._tag}`)
}

const tcpHeaderLength = (options: ReadonlyArray<TcpOption>): number => 20 + ((tcpOptionsLength(options) + 3) & ~3)

/** A payload buffer with `headroom`, placed as `placement` says. */
const payloadBuffer = (payload: Uint8Array, placement: Placement): PacketBuffer => {
  const linear = Math.min(payload.length, placement.linear)
  const buffer = PacketBuffer.fromBytes(payload.subarray(0, linear), HEADROOM)
  let at = linear
  const rest = payload.length - linear
  const chunk = Math.max(placement.chunk, Math.ceil(rest / MAX_FRAGMENTS))
  while (at < payload.length) {
    const n = Math.min(chunk, payload.length - at)
    check(buffer.addFragmentBytes(payload.slice(at, at + n)))
    at += n
  }
  return buffer
}

/** The frame `spec` describes around `payload`, every length and checksum filled by the emitters. */
const buildFrame = (
  spec: FrameSpec,
  payload: Uint8Array,
  mode: "full" | "partial" = "full",
  placement: Placement = LINEAR
): PacketBuffer => {
  const buffer = payloadBuffer(payload, placement)
  const tcpLength = tcpHeaderLength(spec.tcp.options) + payload.length
  const ip = spec.ip
  const pseudo = ip.version === 4
    ? ipv4PseudoHeaderSum(ip.source, ip.destination, 6, tcpLength)
    : ipv6PseudoHeaderSum(ip.source, ip.destination, 6, tcpLength)
  check(emitTcp(buffer, spec.tcp, { mode, pseudoHeaderSum: pseudo }))
  if (ip.version === 4) {
    check(emitIpv4(buffer, {
      dscp: ip.dscp,
      ecn: ip.ecn,
      identification: ip.identification,
      reservedFlag: false,
      dontFragment: ip.dontFragment,
      moreFragments: false,
      fragmentOffset: 0,
      ttl: ip.ttl,
      protocol: 6,
      source: ip.source,
      destination: ip.destination,
      options: ip.options
    }))
  } else {
    check(emitIpv6(buffer, {
      trafficClass: ip.trafficClass,
      flowLabel: ip.flowLabel,
      hopLimit: ip.hopLimit,
      source: ip.source,
      destination: ip.destination,
      protocol: 6
    }))
  }
  const etherType = ip.version === 4 ? EtherTypes.ipv4 : EtherTypes.ipv6
  if (spec.vlan !== undefined) {
    check(emitVlan(buffer, { ...spec.vlan, etherType }))
    check(emitEthernet(buffer, { destination: spec.destinationMac, source: spec.sourceMac, etherType: EtherTypes.vlan }))
  } else {
    check(emitEthernet(buffer, { destination: spec.destinationMac, source: spec.sourceMac, etherType }))
  }
  return buffer
}

/** `buildFrame` as a TCP super-packet of `mss`. */
const superPacket = (
  spec: FrameSpec,
  payload: Uint8Array,
  mss: number,
  mode: "full" | "partial" = "partial",
  placement: Placement = LINEAR
): PacketBuffer => {
  const p = buildFrame(spec, payload, mode, placement)
  p.meta.gsoType = spec.ip.version === 4 ? "tcpv4" : "tcpv6"
  p.meta.gsoSize = mss
  p.meta.gsoSegments = Math.max(1, Math.ceil(payload.length / mss))
  return p
}

/** What segment `i` of `count` must be: the same headers with Linux's per-segment changes. */
const expectedSegment = (spec: FrameSpec, payload: Uint8Array, mss: number, i: number, count: number, fixedId = false): Uint8Array => {
  let flags = spec.tcp.flags
  if (i > 0) flags &= ~TcpFlags.cwr
  if (i < count - 1) flags &= ~(TcpFlags.fin | TcpFlags.psh)
  const ip = spec.ip.version === 4
    ? { ...spec.ip, identification: fixedId ? spec.ip.identification : (spec.ip.identification + i) & 0xffff }
    : spec.ip
  const tcp = { ...spec.tcp, flags, sequenceNumber: (spec.tcp.sequenceNumber + i * mss) >>> 0 }
  return buildFrame({ ...spec, ip, tcp }, payload.subarray(i * mss, Math.min(payload.length, (i + 1) * mss))).toUint8Array()
}

/** Fails with the first differing offset (a diff of 64 KiB arrays is unreadable). */
const expectBytes = (actual: Uint8Array, expected: Uint8Array, label: string): void => {
  if (actual.length === expected.length && Buffer.from(actual).equals(Buffer.from(expected))) return
  let k = 0
  while (k < actual.length && k < expected.length && actual[k] === expected[k]) k++
  expect.fail(
    `${label}: lengths ${actual.length}/${expected.length}, first difference at ${k}: ` +
      `${toHex(actual.subarray(k, k + 8))} vs ${toHex(expected.subarray(k, k + 8))}`
  )
}

/** Deterministic payload bytes from a seed (xorshift32). */
const payloadOf = (length: number, seed: number): Uint8Array => {
  const out = new Uint8Array(length)
  let x = seed | 1
  for (let i = 0; i < length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x
  }
  return out
}

/** Segments or a failed test. */
const segmentsOf = (result: ReadonlyArray<PacketBuffer> | GsoDefect): ReadonlyArray<PacketBuffer> => {
  if (isGsoDefect(result)) return expect.fail(`unexpected defect ${result.name}`)
  return result
}

// ------------------------------------------------------------------ arbitraries

const uint16 = fc.integer({ min: 0, max: 0xffff })
const uint32 = fc.integer({ min: 0, max: 0xffffffff })
/** Values near the wrap, where modular arithmetic shows. */
const nearWrap32 = fc.oneof(uint32, fc.integer({ min: 0xffffffff - 70000, max: 0xffffffff }))
const nearWrap16 = fc.oneof(uint16, fc.integer({ min: 0xffc0, max: 0xffff }))

const ipv4Spec: fc.Arbitrary<Ipv4Spec> = fc.record({
  version: fc.constant(4 as const),
  source: uint32,
  destination: uint32,
  identification: nearWrap16,
  ttl: fc.integer({ min: 1, max: 255 }),
  dscp: fc.integer({ min: 0, max: 63 }),
  ecn: fc.integer({ min: 0, max: 3 }),
  dontFragment: fc.boolean(),
  options: fc.oneof({ weight: 3, arbitrary: fc.constant(new Uint8Array(0)) }, { weight: 1, arbitrary: ipv4OptionsBytes })
})
const ipv6Spec: fc.Arbitrary<Ipv6Spec> = fc.record({
  version: fc.constant(6 as const),
  source: ipv6AddressBytes,
  destination: ipv6AddressBytes,
  trafficClass: fc.integer({ min: 0, max: 255 }),
  flowLabel: fc.integer({ min: 0, max: 0xfffff }),
  hopLimit: fc.integer({ min: 1, max: 255 })
})
const F = TcpFlags
/** Flags of a TSO super-packet: ACK always; PSH, FIN, CWR, ECE sometimes (URG never: the stack does not TSO urgent data). */
const superFlags = fc
  .record({ psh: fc.boolean(), fin: fc.boolean(), cwr: fc.boolean(), ece: fc.boolean() })
  .map(({ cwr, ece, fin, psh }) => F.ack | (psh ? F.psh : 0) | (fin ? F.fin : 0) | (cwr ? F.cwr : 0) | (ece ? F.ece : 0))
const tcpSpec: fc.Arbitrary<TcpFields> = fc.record({
  sourcePort: uint16,
  destinationPort: uint16,
  sequenceNumber: nearWrap32,
  acknowledgmentNumber: uint32,
  flags: superFlags,
  window: uint16,
  urgentPointer: fc.constant(0),
  options: tcpOptions
})
const frameSpec = (ip: fc.Arbitrary<Ipv4Spec | Ipv6Spec>): fc.Arbitrary<FrameSpec> =>
  fc.record({
    destinationMac: fc.integer({ min: 0, max: 2 ** 48 - 1 }),
    sourceMac: fc.integer({ min: 0, max: 2 ** 48 - 1 }),
    vlan: fc.option(vlanTag, { nil: undefined }),
    ip,
    tcp: tcpSpec
  })
const anySpec = frameSpec(fc.oneof(ipv4Spec, ipv6Spec))

/** An MSS (mostly realistic, sometimes tiny), a segment count, and the payload length they give. */
const sizes = fc
  .record({
    mss: fc.oneof(fc.integer({ min: 536, max: 1460 }), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1461, max: 9000 })),
    count: fc.integer({ min: 1, max: 30 }),
    last: fc.integer({ min: 0, max: 1 << 20 }),
    seed: fc.integer()
  })
  .map(({ count, last, mss, seed }) => {
    // At most 60,000 payload bytes, so that the super-packet fits an IPv4 total length.
    const n = Math.min(count, Math.max(1, Math.floor(60000 / mss)))
    return { mss, payloadLength: (n - 1) * mss + (last % mss) + 1, seed }
  })
/** Where the super-packet's payload is: linear, split linear/fragments, or all in fragments (small chunks: many runs per segment). */
const placement: fc.Arbitrary<Placement> = fc.oneof(
  fc.constant(LINEAR),
  fc.record({ linear: fc.integer({ min: 0, max: 3000 }), chunk: fc.integer({ min: 1, max: 5000 }) }),
  fc.record({ linear: fc.constant(0), chunk: fc.integer({ min: 1, max: 64 }) })
)

/** Keeps the super-packet within the IPv4 total length (the emitters refuse more; >64 KiB has its own test). */
const fits = (spec: FrameSpec, payloadLength: number): boolean =>
  (spec.ip.version === 4 ? 20 + spec.ip.options.length : 0) + tcpHeaderLength(spec.tcp.options) + payloadLength <= 0xffff

// ------------------------------------------------------------------ tests

describe("segmentTcp", () => {
  it("gives, for every generated super-packet, the segments the emitters build for each MSS slice (full checksums)", () => {
    fc.assert(
      fc.property(anySpec, sizes, placement, fc.constantFrom("full" as const, "partial" as const), (spec, size, where, inputMode) => {
        fc.pre(fits(spec, size.payloadLength))
        const payload = payloadOf(size.payloadLength, size.seed)
        const packet = superPacket(spec, payload, size.mss, inputMode, where)
        packet.meta.flowHash = 1234
        packet.meta.priority = 5
        const segments = segmentsOf(segmentTcp(packet, { checksum: "full" }))
        const count = Math.ceil(payload.length / size.mss)
        expect(segments.length).toBe(count)
        segments.forEach((s, i) => {
          expectBytes(s.toUint8Array(), expectedSegment(spec, payload, size.mss, i, count), `segment ${i}/${count}`)
          expect(s.meta.gsoType).toBe("none")
          expect(s.meta.gsoSize).toBe(0)
          expect(s.meta.checksum._tag).toBe("None")
          expect(s.meta.flowHash).toBe(1234)
          expect(s.meta.priority).toBe(5)
          // Header marks point at this segment's headers.
          const l2 = spec.vlan === undefined ? 14 : 18
          expect(s.meta.macHeader).toBe(s.data)
          expect(s.meta.networkHeader).toBe(s.data + l2)
          expect(s.bytes[s.meta.networkHeader] >>> 4).toBe(spec.ip.version)
          s.release()
        })
        packet.release()
      })
    )
  })

  it("from the network header (IP output's software GSO): the same segments without their link-layer header", () => {
    fc.assert(
      fc.property(anySpec, sizes, placement, (spec, size, where) => {
        fc.pre(fits(spec, size.payloadLength))
        const payload = payloadOf(size.payloadLength, size.seed)
        const packet = superPacket(spec, payload, size.mss, "partial", where)
        const l2 = spec.vlan === undefined ? 14 : 18
        packet.pull(l2) // as IP output holds it: data at the IP header
        const segments = segmentsOf(segmentTcp(packet, { checksum: "full", from: "network" }))
        const count = Math.ceil(payload.length / size.mss)
        expect(segments.length).toBe(count)
        segments.forEach((s, i) => {
          expectBytes(s.toUint8Array(), expectedSegment(spec, payload, size.mss, i, count).subarray(l2), `segment ${i}/${count}`)
          expect(s.meta.networkHeader).toBe(s.data)
          expect(s.meta.macHeader).toBe(-1)
          s.release()
        })
        packet.release()
      })
    )
  })

  it("leaves the TCP checksum partial when asked; resolvePartialChecksum completes it to the full segment", () => {
    fc.assert(
      fc.property(anySpec, sizes, placement, (spec, size, where) => {
        fc.pre(fits(spec, size.payloadLength))
        const payload = payloadOf(size.payloadLength, size.seed)
        const packet = superPacket(spec, payload, size.mss, "partial", where)
        const segments = segmentsOf(segmentTcp(packet, { checksum: "partial" }))
        const count = segments.length
        segments.forEach((s, i) => {
          const state = s.meta.checksum
          if (state._tag !== "Partial") return expect.fail(`segment ${i} is ${state._tag}`)
          expect(state.start).toBe(s.meta.transportHeader)
          expect(state.offset).toBe(16)
          expect(resolvePartialChecksum(s)).toBeUndefined()
          expectBytes(s.toUint8Array(), expectedSegment(spec, payload, size.mss, i, count), `segment ${i}`)
          s.release()
        })
        packet.release()
      })
    )
  })

  it("gives segments that decodeFrame reads with valid IPv4 and TCP checksums, whose payloads concatenate to the original", () => {
    fc.assert(
      fc.property(anySpec, sizes, placement, (spec, size, where) => {
        fc.pre(fits(spec, size.payloadLength))
        const payload = payloadOf(size.payloadLength, size.seed)
        const packet = superPacket(spec, payload, size.mss, "partial", where)
        const segments = segmentsOf(segmentTcp(packet, { checksum: "full" }))
        const joined: Array<number> = []
        let seq = spec.tcp.sequenceNumber
        for (const s of segments) {
          const bytes = s.toUint8Array()
          const frame = decodeFrame(PacketBuffer.fromBytes(bytes))
          expect(frame.defect).toBeUndefined()
          const tcp = frame.layers.find((l) => l.layer === "tcp")
          if (tcp === undefined || tcp.layer !== "tcp") return expect.fail("no TCP layer")
          expect(tcp.checksum).toBe("valid")
          expect(tcp.header.sequenceNumber).toBe(seq)
          const ip = frame.layers.find((l) => l.layer === "ipv4")
          if (ip !== undefined && ip.layer === "ipv4") expect(ip.checksum).toBe("valid")
          expect(tcp.payloadLength).toBeLessThanOrEqual(size.mss)
          for (const b of bytes.subarray(bytes.length - tcp.payloadLength)) joined.push(b)
          seq = (seq + tcp.payloadLength) >>> 0
          s.release()
        }
        expectBytes(Uint8Array.from(joined), payload, "payload")
        packet.release()
      })
    )
  })

  it("neither changes nor releases its input", () => {
    fc.assert(
      fc.property(anySpec, sizes, placement, (spec, size, where) => {
        fc.pre(fits(spec, size.payloadLength))
        const packet = superPacket(spec, payloadOf(size.payloadLength, size.seed), size.mss, "partial", where)
        const before = packet.toUint8Array()
        const meta = packet.meta.clone()
        const layout = [packet.data, packet.tail, packet.fragments.length]
        const segments = segmentsOf(segmentTcp(packet, { checksum: "full" }))
        expect(packet.isReleased).toBe(false)
        expectBytes(packet.toUint8Array(), before, "input")
        expect(packet.meta).toEqual(meta)
        expect([packet.data, packet.tail, packet.fragments.length]).toEqual(layout)
        for (const s of segments) s.release()
        packet.release()
      })
    )
  })

  const spec4: FrameSpec = {
    destinationMac: 0x020000000001,
    sourceMac: 0x020000000002,
    vlan: undefined,
    ip: {
      version: 4,
      source: 0x0a000001,
      destination: 0x0a000002,
      identification: 0xfffe,
      ttl: 64,
      dscp: 0,
      ecn: 0,
      dontFragment: true,
      options: new Uint8Array(0)
    },
    tcp: {
      sourcePort: 40000,
      destinationPort: 80,
      sequenceNumber: 0xfffffc00,
      acknowledgmentNumber: 7,
      flags: F.ack | F.psh | F.fin | F.cwr,
      window: 512,
      urgentPointer: 0,
      options: [{ _tag: "Nop" }, { _tag: "Nop" }, { _tag: "Timestamps", value: 1, echo: 2 }]
    }
  }
  const spec6: FrameSpec = {
    ...spec4,
    vlan: { priority: 3, dropEligible: false, vlanId: 42, etherType: 0 },
    ip: {
      version: 6,
      source: Uint8Array.from([0x20, 1, 0xd, 0xb8, ...new Array<number>(11).fill(0), 1]),
      destination: Uint8Array.from([0x20, 1, 0xd, 0xb8, ...new Array<number>(11).fill(0), 2]),
      trafficClass: 0x28,
      flowLabel: 0x12345,
      hopLimit: 64
    }
  }

  it("advances seq and IPv4 id modulo their widths; CWR on the first segment only, PSH and FIN on the last only", () => {
    const payload = payloadOf(3000, 7)
    const packet = superPacket(spec4, payload, 1000)
    const segments = segmentsOf(segmentTcp(packet, { checksum: "full" }))
    const tcp = 14 + 20
    expect(segments.map((s) => s.toUint8Array()).map((b) => [
      (b[tcp + 4] << 24 | b[tcp + 5] << 16 | b[tcp + 6] << 8 | b[tcp + 7]) >>> 0,
      b[14 + 4] << 8 | b[14 + 5],
      b[tcp + 13]
    ])).toEqual([
      [0xfffffc00, 0xfffe, F.ack | F.cwr],
      [(0xfffffc00 + 1000) >>> 0, 0xffff, F.ack],
      [(0xfffffc00 + 2000) >>> 0, 0x0000, F.ack | F.psh | F.fin]
    ])
    for (const s of segments) s.release()
    packet.release()
  })

  it("keeps the first IPv4 id on every segment with fixedId (SKB_GSO_TCP_FIXEDID)", () => {
    const payload = payloadOf(2500, 8)
    const packet = superPacket(spec4, payload, 1000)
    const segments = segmentsOf(segmentTcp(packet, { checksum: "full", fixedId: true }))
    segments.forEach((s, i) => expectBytes(s.toUint8Array(), expectedSegment(spec4, payload, 1000, i, 3, true), `segment ${i}`))
    for (const s of segments) s.release()
    packet.release()
  })

  it("gives one segment, every flag kept, when the payload fits one MSS, and for an empty payload", () => {
    for (const length of [0, 1, 1000]) {
      const payload = payloadOf(length, 9)
      const packet = superPacket(spec6, payload, 1000)
      const segments = segmentsOf(segmentTcp(packet, { checksum: "full" }))
      expect(segments.length).toBe(1)
      expectBytes(segments[0].toUint8Array(), buildFrame(spec6, payload).toUint8Array(), `length ${length}`)
      segments[0].release()
      packet.release()
    }
  })

  it("shares the super-packet's storage instead of copying payload bytes", () => {
    const payload = payloadOf(10000, 10)
    const packet = superPacket(spec4, payload, 1448)
    const segments = segmentsOf(segmentTcp(packet, { checksum: "full" }))
    for (const s of segments) {
      expect(s.headLength).toBe(14 + 20 + 32)
      expect(s.fragments.length).toBe(1)
      expect(s.fragments[0].storage).toBe(packet.sharedStorage)
    }
    // The segments' headers share one allocation.
    expect(new Set(segments.map((s) => s.bytes.buffer)).size).toBe(1)
    for (const s of segments) s.release()
    packet.release()
  })

  it("hands the sender's charge on to the segments, each its payload's share, given back once each is released", () => {
    const payload = payloadOf(5000, 13)
    const packet = superPacket(spec4, payload, 1448, "partial")
    const returned: Array<number> = []
    packet.meta.txOwner = { txDone: (charge) => void returned.push(charge) }
    packet.meta.txCharge = payload.length
    const segments = segmentsOf(segmentTcp(packet, { checksum: "full" }))
    expect(segments.map((s) => s.meta.txCharge)).toEqual([1448, 1448, 1448, 656])
    // The super-packet gave its charge away: releasing it returns nothing.
    packet.release()
    expect(returned).toEqual([])
    // A clone (a capture's copy) carries no charge.
    const clone = segments[0].clone()
    if (!(clone instanceof PacketBuffer)) return expect.fail("released")
    expect(clone.meta.txOwner).toBeUndefined()
    clone.release()
    for (const s of segments) s.release()
    expect(returned).toEqual([1448, 1448, 1448, 656])
    // A second release gives nothing back again.
    segments[0].release()
    expect(returned.length).toBe(4)
  })

  it("copies only a segment whose payload spans more than MAX_FRAGMENTS runs", () => {
    const payload = payloadOf((MAX_FRAGMENTS + 1) * 10, 11)
    // MAX_FRAGMENTS + 1 runs: 10 linear bytes and MAX_FRAGMENTS fragments of 10 bytes; one segment takes them all.
    const packet = superPacket(spec4, payload, 1000, "partial", { linear: 10, chunk: 10 })
    expect(packet.fragments.length).toBe(MAX_FRAGMENTS)
    const segments = segmentsOf(segmentTcp(packet, { checksum: "full" }))
    expect(segments.length).toBe(1)
    expect(segments[0].isLinear).toBe(true)
    expectBytes(segments[0].toUint8Array(), expectedSegment(spec4, payload, 1000, 0, 1), "copied segment")
    segments[0].release()
    packet.release()
  })

  it("keeps a pooled super-packet's slot until the last segment is released, without double releases", () => {
    const pool = BufferPool.make({ count: 2, size: 70000 })
    const packet = pool.acquire()
    if (!(packet instanceof PacketBuffer)) return expect.fail("pool exhausted")
    const payload = payloadOf(40000, 12)
    check(packet.reserve(HEADROOM))
    check(packet.put(payload.length))
    check(packet.setBytes(0, payload))
    const tcpLength = 32 + payload.length
    const ip = spec4.ip
    if (ip.version !== 4) return expect.fail("spec4 is IPv4")
    check(emitTcp(packet, spec4.tcp, { mode: "partial", pseudoHeaderSum: ipv4PseudoHeaderSum(ip.source, ip.destination, 6, tcpLength) }))
    check(emitIpv4(packet, {
      ...ip,
      reservedFlag: false,
      moreFragments: false,
      fragmentOffset: 0,
      protocol: 6
    }))
    check(emitEthernet(packet, { destination: 1, source: 2, etherType: EtherTypes.ipv4 }))
    packet.meta.gsoType = "tcpv4"
    packet.meta.gsoSize = 1448
    const segments = segmentsOf(segmentTcp(packet, { checksum: "partial" }))
    expect(segments.length).toBe(Math.ceil(40000 / 1448))
    expect(pool.release(packet)).toBeUndefined()
    expect(pool.stats().inUse).toBe(1)
    for (const s of segments) s.release()
    expect(pool.stats()).toMatchObject({ inUse: 0, doubleReleases: 0 })
  })

  it("segments a super-packet above 64 KiB whose IPv4 total length or IPv6 payload length is 0", () => {
    for (const spec of [spec4, spec6]) {
      const payload = payloadOf(100_000, 13)
      // Headers emitted over an empty payload, then the length field zeroed and the payload attached as fragments.
      const head = buildFrame(spec, new Uint8Array(0), "full")
      const bytes = head.toUint8Array()
      const ip = spec.vlan === undefined ? 14 : 18
      if (spec.ip.version === 4) {
        writeU16(bytes, ip + 2, 0)
        writeU16(bytes, ip + 10, 0)
        let sum = 0
        for (let k = ip; k < ip + 20; k += 2) sum += (bytes[k] << 8) | bytes[k + 1]
        while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16)
        writeU16(bytes, ip + 10, ~sum & 0xffff)
      } else {
        writeU16(bytes, ip + 4, 0)
      }
      const packet = PacketBuffer.fromBytes(bytes, 64)
      for (let at = 0; at < payload.length; at += 8192) check(packet.addFragmentBytes(payload.slice(at, at + 8192)))
      packet.meta.gsoType = spec.ip.version === 4 ? "tcpv4" : "tcpv6"
      packet.meta.gsoSize = 1440
      const segments = segmentsOf(segmentTcp(packet, { checksum: "full" }))
      const count = Math.ceil(payload.length / 1440)
      expect(segments.length).toBe(count)
      segments.forEach((s, i) => {
        expectBytes(s.toUint8Array(), expectedSegment(spec, payload, 1440, i, count), `segment ${i}`)
        s.release()
      })
      packet.release()
    }
  })

  /** An IPv6 super-packet (spec6: tagged) of `length` zero payload bytes in a fragment, Payload Length 0. */
  const bigIpv6 = (length: number): PacketBuffer => {
    const p = PacketBuffer.fromBytes(buildFrame(spec6, new Uint8Array(0)).toUint8Array())
    check(p.addFragmentBytes(new Uint8Array(length)))
    check(p.setUint16(18 + 4, 0))
    p.meta.gsoType = "tcpv6"
    p.meta.gsoSize = 1440
    return p
  }

  it("refuses with a named defect", () => {
    const good = (): PacketBuffer => superPacket(spec4, payloadOf(3000, 14), 1000)
    const cases: Array<[string, PacketBuffer, GsoDefect]> = []
    const add = (name: string, mutate: (p: PacketBuffer, b: Uint8Array) => void, defect: GsoDefect, base = good()): void => {
      const bytes = base.writableBytes()
      if (!(bytes instanceof Uint8Array)) return expect.fail("released")
      mutate(base, bytes.subarray(base.data))
      cases.push([name, base, defect])
    }
    add("no GSO type", (p) => (p.meta.gsoType = "none"), GsoDefect["not-tcp-gso"])
    add("UDP GSO", (p) => (p.meta.gsoType = "udp"), GsoDefect["not-tcp-gso"])
    add("gsoSize 0", (p) => (p.meta.gsoSize = 0), GsoDefect["bad-gso-size"])
    add("gsoSize 1.5", (p) => (p.meta.gsoSize = 1.5), GsoDefect["bad-gso-size"])
    add("gsoSize -1", (p) => (p.meta.gsoSize = -1), GsoDefect["bad-gso-size"])
    add("segment over 64 KiB", (p) => (p.meta.gsoSize = 66000), GsoDefect["bad-gso-size"], bigIpv6(70000))
    add("more than 65535 segments", (p) => (p.meta.gsoSize = 1), GsoDefect["bad-gso-size"], bigIpv6(70000))
    add("IPv6 type on IPv4", (p) => (p.meta.gsoType = "tcpv6"), GsoDefect["gso-type-mismatch"])
    add("ARP", (_, b) => writeU16(b, 12, EtherTypes.arp), GsoDefect["unsupported-ethertype"])
    add("two tags", (_, b) => writeU16(b, 16, EtherTypes.vlan), GsoDefect["unsupported-ethertype"], superPacket(spec6, payloadOf(3000, 1), 1000))
    add("IP version 5", (_, b) => (b[14] = 0x55), GsoDefect["bad-ip-header"])
    add("IHL 4", (_, b) => (b[14] = 0x44), GsoDefect["bad-ip-header"])
    add("IPv6 version 4", (_, b) => (b[18] = 0x40), GsoDefect["bad-ip-header"], superPacket(spec6, payloadOf(3000, 1), 1000))
    add("total length short", (_, b) => writeU16(b, 16, 1000), GsoDefect["bad-ip-length"])
    add("payload length long", (_, b) => writeU16(b, 18 + 4, 5000), GsoDefect["bad-ip-length"], superPacket(spec6, payloadOf(3000, 1), 1000))
    add("MF", (_, b) => (b[20] |= 0x20), GsoDefect["ip-fragment"])
    add("fragment offset", (_, b) => (b[21] = 1), GsoDefect["ip-fragment"])
    add("UDP", (_, b) => (b[23] = 17), GsoDefect["not-tcp"])
    add("IPv6 hop-by-hop", (_, b) => (b[18 + 6] = 0), GsoDefect["not-tcp"], superPacket(spec6, payloadOf(3000, 1), 1000))
    add("data offset 4", (_, b) => (b[34 + 12] = 0x40), GsoDefect["bad-tcp-header"])
    add("data offset past the end", (_, b) => (b[34 + 12] = 0xf0), GsoDefect.truncated, superPacket(spec4, new Uint8Array(0), 1000))
    // Total length 0 ("the rest of the packet"), so that the cut shows in the TCP header.
    const short = PacketBuffer.fromBytes(good().toUint8Array().subarray(0, 40))
    check(short.setUint16(16, 0))
    short.meta.gsoType = "tcpv4"
    short.meta.gsoSize = 100
    cases.push(["cut in the TCP header", short, GsoDefect.truncated])
    const tiny = PacketBuffer.fromBytes(new Uint8Array(10))
    tiny.meta.gsoType = "tcpv4"
    tiny.meta.gsoSize = 100
    cases.push(["10 bytes", tiny, GsoDefect.truncated])
    const released = good()
    released.release()
    cases.push(["released", released, GsoDefect.released])
    for (const [name, packet, defect] of cases) {
      const result = segmentTcp(packet, { checksum: "full" })
      expect(isHeaderDefect(result) ? result.name : "segments", name).toBe(defect.name)
      expect(result, name).toBe(defect)
    }
    expect(Object.keys(GsoDefect).length).toBe(11)
    expect(isGsoDefect(GsoDefect.truncated)).toBe(true)
    expect(isGsoDefect([])).toBe(false)
  })
})

describe("segmentIfNeeded", () => {
  const spec: FrameSpec = {
    destinationMac: 1,
    sourceMac: 2,
    vlan: undefined,
    ip: { version: 4, source: 1, destination: 2, identification: 1, ttl: 64, dscp: 0, ecn: 0, dontFragment: true, options: new Uint8Array(0) },
    tcp: { sourcePort: 1, destinationPort: 2, sequenceNumber: 1, acknowledgmentNumber: 1, flags: F.ack, window: 1, urgentPointer: 0, options: [] }
  }

  it("passes a packet that is not a super-packet through as itself", () => {
    const packet = buildFrame(spec, payloadOf(100, 1))
    const out = segmentIfNeeded(packet, { checksum: "full" })
    expect(out).toEqual([packet])
    expect(isGsoDefect(out) ? undefined : out[0]).toBe(packet)
    expect(packet.isReleased).toBe(false)
  })

  it("segments a super-packet and releases it; leaves a refused one to the caller", () => {
    const packet = superPacket(spec, payloadOf(3000, 2), 1000)
    const out = segmentsOf(segmentIfNeeded(packet, { checksum: "partial" }))
    expect(out.length).toBe(3)
    expect(packet.isReleased).toBe(true)
    for (const s of out) expect(s.meta.checksum).toEqual(ChecksumState.partial(s.meta.transportHeader, 16))
    const bad = superPacket(spec, payloadOf(3000, 2), 0)
    expect(segmentIfNeeded(bad, { checksum: "full" })).toBe(GsoDefect["bad-gso-size"])
    expect(bad.isReleased).toBe(false)
  })
})
