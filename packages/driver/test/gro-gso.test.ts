/**
 * GRO and GSO together: TCP flows generated as a Linux sender emits them
 * (consecutive sequence numbers, identical options, consecutive IPv4 ids, PSH
 * only on the last, valid checksums), built with the wire emitters, merged by
 * `GroEngine` and cut again by `segmentTcp`, come back byte for byte, for
 * IPv4 and IPv6, tagged and untagged; interleaved flows and packets GRO must
 * not merge keep their order and bytes; nothing is dropped or duplicated.
 * Then the merge rules one by one, counters, and buffer accounting.
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
import { isGsoDefect, segmentTcp } from "@netstack/device"
import {
  decodeFrame,
  emitEthernet,
  emitIpv4,
  emitIpv6,
  emitTcp,
  emitVlan,
  EtherTypes,
  TcpFlags,
  type TcpFields,
  type TcpOption,
  tcpOptionsLength,
  toHex,
  type VlanTag
} from "@netstack/wire"
import { ethernetFrame, ipv6AddressBytes, tcpOptions, vlanTag } from "@netstack/wire/testing"
import fc from "fast-check"
import { GroEngine } from "../src/gro/index.ts"

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

const F = TcpFlags
const HEADROOM = 256

const check = (result: { readonly _tag: string } | undefined): void => {
  if (result !== undefined) throw new Error(`emitter refused: ${result._tag}`)
}

const tcpHeaderLength = (options: ReadonlyArray<TcpOption>): number => 20 + ((tcpOptionsLength(options) + 3) & ~3)

/** The bytes of the frame `spec` describes around `payload`, every length and checksum filled by the emitters. */
const frameBytes = (spec: FrameSpec, payload: Uint8Array, mode: "full" | "partial" = "full"): Uint8Array => {
  const buffer = PacketBuffer.fromBytes(payload, HEADROOM)
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
  return buffer.toUint8Array()
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

/** How the simulated NIC hands a frame to the driver. */
interface Rx {
  /** Linear; headers linear and the payload in one fragment (header split); or the whole frame in small fragments. */
  readonly layout: "linear" | "split" | "chunks"
  /** Whether the device verified the checksum (`Unnecessary`) or left it to software (`None`). */
  readonly verified: boolean
}
const RX_LINEAR: Rx = { layout: "linear", verified: true }

/** A received packet holding `bytes` (`headers` of them being the header chain), laid out as `rx` says. */
const receive = (bytes: Uint8Array, headers: number, rx: Rx): PacketBuffer => {
  let packet: PacketBuffer
  if (rx.layout === "linear" || bytes.length <= headers) {
    packet = PacketBuffer.fromBytes(bytes, 64)
  } else if (rx.layout === "split") {
    packet = PacketBuffer.fromBytes(bytes.subarray(0, headers), 64)
    check(packet.addFragmentBytes(bytes.slice(headers)))
  } else {
    // The header chain itself straddles fragments: GRO must pull it, and the payload spans several runs.
    packet = PacketBuffer.fromBytes(bytes.subarray(0, 10), 64)
    const chunk = Math.max(1, Math.ceil((bytes.length - 10) / 3))
    for (let at = 10; at < bytes.length; at += chunk) check(packet.addFragmentBytes(bytes.slice(at, at + chunk)))
  }
  packet.meta.checksum = rx.verified ? ChecksumState.unnecessary : ChecksumState.none
  return packet
}

/** Fails with the first differing offset. */
const expectBytes = (actual: Uint8Array, expected: Uint8Array, label: string): void => {
  if (actual.length === expected.length && Buffer.from(actual).equals(Buffer.from(expected))) return
  let k = 0
  while (k < actual.length && k < expected.length && actual[k] === expected[k]) k++
  expect.fail(
    `${label}: lengths ${actual.length}/${expected.length}, first difference at ${k}: ` +
      `${toHex(actual.subarray(k, k + 8))} vs ${toHex(expected.subarray(k, k + 8))}`
  )
}

/** The wire frames a packet stands for: its segments (software GSO, full checksums) for a super-packet, else itself. */
const wireFrames = (packet: PacketBuffer): ReadonlyArray<Uint8Array> => {
  if (packet.meta.gsoType === "none") return [packet.toUint8Array()]
  const segments = segmentTcp(packet, { checksum: "full" })
  if (isGsoDefect(segments)) return expect.fail(`GSO refused a GRO packet: ${segments.name}`)
  const frames = segments.map((s) => s.toUint8Array())
  for (const s of segments) s.release()
  return frames
}

/** A packet's TCP payload length (decoded from a copy), 0 for anything else. */
const tcpPayloadLength = (bytes: Uint8Array): number => {
  const frame = decodeFrame(PacketBuffer.fromBytes(bytes))
  const tcp = frame.layers.find((l) => l.layer === "tcp")
  return tcp !== undefined && tcp.layer === "tcp" ? tcp.payloadLength : 0
}

/**
 * The round-trip check. `inputs[i]` was built from `originals[i]` and belongs
 * to flow `flowOf[i]`. The output must be a subsequence of the input packets
 * (by identity: a merged packet is its first segment's buffer), in input
 * order; each output's wire frames must be its own original followed by the
 * next originals of its flow, byte for byte; and every original must be
 * accounted for exactly once.
 */
const expectRoundTrip = (
  inputs: ReadonlyArray<PacketBuffer>,
  originals: ReadonlyArray<Uint8Array>,
  flowOf: ReadonlyArray<number>,
  output: ReadonlyArray<PacketBuffer>
): void => {
  const byFlow = new Map<number, Array<number>>()
  const position: Array<number> = []
  flowOf.forEach((flow, i) => {
    const list = byFlow.get(flow) ?? []
    position.push(list.length)
    list.push(i)
    byFlow.set(flow, list)
  })
  const covered = new Array<boolean>(inputs.length).fill(false)
  const payloadIn = new Map<number, number>()
  const payloadOut = new Map<number, number>()
  originals.forEach((bytes, i) => payloadIn.set(flowOf[i], (payloadIn.get(flowOf[i]) ?? 0) + tcpPayloadLength(bytes)))
  let last = -1
  for (const packet of output) {
    const index = inputs.indexOf(packet)
    expect(index, "an output packet is one of the inputs").toBeGreaterThan(last)
    expect(packet.isReleased).toBe(false)
    last = index
    const flow = flowOf[index]
    payloadOut.set(flow, (payloadOut.get(flow) ?? 0) + tcpPayloadLength(packet.toUint8Array()))
    const list = byFlow.get(flow) ?? []
    let at = position[index]
    for (const frame of wireFrames(packet)) {
      const j = list[at++]
      if (j === undefined) return expect.fail(`input ${index} expands past the end of flow ${flow}`)
      expect(covered[j], `original ${j} produced twice`).toBe(false)
      covered[j] = true
      expectBytes(frame, originals[j], `original ${j} (flow ${flow}, output of input ${index})`)
    }
  }
  expect(covered.every((c) => c), "every original comes back").toBe(true)
  expect(payloadOut).toEqual(payloadIn)
}

// ------------------------------------------------------------------ flows as Linux sends them

const uint16 = fc.integer({ min: 0, max: 0xffff })
const uint32 = fc.integer({ min: 0, max: 0xffffffff })

/** A flow: its endpoints and fixed fields, an MSS, the segments' count and the last one's size. */
interface FlowSpec {
  readonly spec: FrameSpec
  readonly mss: number
  readonly count: number
  readonly lastSize: number
  readonly pshLast: boolean
  readonly finLast: boolean
  readonly cwrFirst: boolean
  readonly seed: number
}

const ipv4Spec = (df: fc.Arbitrary<boolean>): fc.Arbitrary<Ipv4Spec> =>
  fc.record({
    version: fc.constant(4 as const),
    source: uint32,
    destination: uint32,
    identification: fc.oneof(uint16, fc.integer({ min: 0xffe0, max: 0xffff })),
    ttl: fc.integer({ min: 1, max: 255 }),
    dscp: fc.integer({ min: 0, max: 63 }),
    ecn: fc.integer({ min: 0, max: 3 }),
    dontFragment: df,
    options: fc.constant(new Uint8Array(0))
  })
const ipv6Spec: fc.Arbitrary<Ipv6Spec> = fc.record({
  version: fc.constant(6 as const),
  source: ipv6AddressBytes,
  destination: ipv6AddressBytes,
  trafficClass: fc.integer({ min: 0, max: 255 }),
  flowLabel: fc.integer({ min: 0, max: 0xfffff }),
  hopLimit: fc.integer({ min: 1, max: 255 })
})

const flowSpec = (version: fc.Arbitrary<4 | 6>, tagged: fc.Arbitrary<boolean>): fc.Arbitrary<FlowSpec> =>
  fc.record({
    version,
    tagged,
    vlan: vlanTag,
    destinationMac: fc.integer({ min: 0, max: 2 ** 48 - 1 }),
    sourceMac: fc.integer({ min: 0, max: 2 ** 48 - 1 }),
    ipv4: ipv4Spec(fc.boolean()),
    ipv6: ipv6Spec,
    tcp: fc.record({
      sourcePort: uint16,
      destinationPort: uint16,
      sequenceNumber: fc.oneof(uint32, fc.integer({ min: 0xffffffff - 50000, max: 0xffffffff })),
      acknowledgmentNumber: uint32,
      flags: fc.constantFrom(F.ack, F.ack | F.ece),
      window: uint16,
      urgentPointer: fc.constant(0),
      options: tcpOptions
    }),
    mss: fc.oneof(fc.integer({ min: 536, max: 1460 }), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1461, max: 8960 })),
    count: fc.integer({ min: 1, max: 40 }),
    last: fc.integer({ min: 0, max: 1 << 20 }),
    pshLast: fc.boolean(),
    finLast: fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    cwrFirst: fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    seed: fc.integer()
  }).map((g): FlowSpec => ({
    spec: {
      destinationMac: g.destinationMac,
      sourceMac: g.sourceMac,
      vlan: g.tagged ? g.vlan : undefined,
      ip: g.version === 4 ? g.ipv4 : g.ipv6,
      tcp: g.tcp
    },
    mss: g.mss,
    count: g.count,
    lastSize: (g.last % g.mss) + 1,
    pshLast: g.pshLast,
    finLast: g.finLast,
    cwrFirst: g.cwrFirst,
    seed: g.seed
  }))

/** The header chain's length for `spec`. */
const headerLength = (spec: FrameSpec): number =>
  (spec.vlan === undefined ? 14 : 18) + (spec.ip.version === 4 ? 20 + spec.ip.options.length : 40) +
  tcpHeaderLength(spec.tcp.options)

/** The frames of a flow, as a Linux sender's TSO or successive sends give them. */
const flowFrames = (flow: FlowSpec): ReadonlyArray<Uint8Array> => {
  const frames: Array<Uint8Array> = []
  const { count, mss, spec } = flow
  const total = (count - 1) * mss + flow.lastSize
  const payload = payloadOf(total, flow.seed)
  for (let i = 0; i < count; i++) {
    let flags = spec.tcp.flags
    if (i === 0 && flow.cwrFirst) flags |= F.cwr
    if (i === count - 1 && flow.pshLast) flags |= F.psh
    if (i === count - 1 && flow.finLast) flags |= F.fin
    const ip = spec.ip.version === 4
      ? { ...spec.ip, identification: (spec.ip.identification + i) & 0xffff }
      : spec.ip
    const tcp = { ...spec.tcp, flags, sequenceNumber: (spec.tcp.sequenceNumber + i * mss) >>> 0 }
    frames.push(frameBytes({ ...spec, ip, tcp }, payload.subarray(i * mss, Math.min(total, (i + 1) * mss))))
  }
  return frames
}

const rx: fc.Arbitrary<Rx> = fc.record({
  layout: fc.constantFrom("linear" as const, "split" as const, "chunks" as const),
  verified: fc.boolean()
})

/** How many packets GRO makes of a clean flow received linear: greedy merges bounded by the fragment and length limits. */
const expectedMerges = (flow: FlowSpec): number => {
  const limit = 0xffff - tcpHeaderLength(flow.spec.tcp.options) - (flow.spec.ip.version === 4 ? 20 : 0)
  let packets = 0
  let i = 0
  while (i < flow.count) {
    packets++
    // The head, then donors of one fragment each while they fit.
    let payload = i === flow.count - 1 ? flow.lastSize : flow.mss
    let fragments = 0
    i++
    while (i < flow.count && fragments < MAX_FRAGMENTS) {
      const size = i === flow.count - 1 ? flow.lastSize : flow.mss
      if (payload + size > limit) break
      payload += size
      fragments++
      i++
    }
  }
  return packets
}

// ------------------------------------------------------------------ round trips

describe("GRO then GSO", () => {
  for (const version of [4, 6] as const) {
    for (const tagged of [false, true]) {
      it(`restores a Linux-like IPv${version} flow${tagged ? " (802.1Q-tagged)" : ""} byte for byte`, () => {
        fc.assert(
          fc.property(flowSpec(fc.constant(version), fc.constant(tagged)), rx, (flow, how) => {
            const originals = flowFrames(flow)
            const inputs = originals.map((b) => receive(b, headerLength(flow.spec), how))
            const engine = GroEngine.make()
            const output = engine.receive(inputs)
            expectRoundTrip(inputs, originals, originals.map(() => 0), output)
            const stats = engine.stats()
            expect(stats.packetsIn).toBe(originals.length)
            expect(stats.packetsOut).toBe(output.length)
            expect(stats.mergedAway).toBe(originals.length - output.length)
            expect(stats.checksumFailures).toBe(0)
            // A clean flow merges as much as the limits allow.
            if (!flow.cwrFirst && !flow.finLast && how.layout === "linear") {
              expect(output.length).toBe(expectedMerges(flow))
            }
            for (const p of output) {
              if (p.meta.gsoType !== "none") {
                expect(p.meta.gsoType).toBe(version === 4 ? "tcpv4" : "tcpv6")
                expect(p.meta.checksum._tag).toBe("Unnecessary")
                expect(p.meta.gsoSegments).toBeGreaterThan(1)
              }
              p.release()
            }
          })
        )
      })
    }
  }

  it("keeps interleaved flows, other traffic and unmergeable packets in order, dropping and duplicating nothing", () => {
    /** A packet of a flow that GRO must not merge with its neighbours, and that must end the merge before it. */
    const disturbance = fc.constantFrom("pure-ack", "window", "retransmit", "bad-checksum", "ip-options", "padded", "urg", "reorder")
    const scenario = fc.record({
      flows: fc.array(fc.tuple(flowSpec(fc.constantFrom(4 as const, 6 as const), fc.boolean()), rx), { minLength: 1, maxLength: 4 }),
      others: fc.array(ethernetFrame, { maxLength: 6 }),
      disturbances: fc.array(fc.tuple(fc.nat(), fc.nat(), disturbance), { maxLength: 4 }),
      order: fc.array(fc.nat(), { minLength: 200, maxLength: 200 })
    })
    fc.assert(
      fc.property(scenario, ({ disturbances, flows, order, others }) => {
        // Each flow's frames, with disturbances spliced in.
        // Distinct source ports keep the generated flows apart (shrinking would make them equal).
        const distinct = flows.map(([flow, how], k): readonly [FlowSpec, Rx] => [
          { ...flow, spec: { ...flow.spec, tcp: { ...flow.spec.tcp, sourcePort: 1000 + k } } },
          how
        ])
        const lists: Array<Array<{ readonly bytes: Uint8Array; readonly rx: Rx; readonly headers: number }>> = distinct.map((
          [flow, how]
        ) => flowFrames(flow).map((bytes) => ({ bytes, rx: how, headers: headerLength(flow.spec) })))
        for (const [f, at, kind] of disturbances) {
          const k = f % distinct.length
          const [flow, how] = distinct[k]
          const list = lists[k]
          const where = at % (list.length + 1)
          const spec = flow.spec
          const seq = (spec.tcp.sequenceNumber + Math.min(where, flow.count) * flow.mss) >>> 0
          const base = { ...spec, tcp: { ...spec.tcp, sequenceNumber: seq } }
          const headers = headerLength(spec)
          let bytes: Uint8Array
          let verified = how.verified
          switch (kind) {
            case "pure-ack":
              bytes = frameBytes(base, new Uint8Array(0))
              break
            case "window":
              bytes = frameBytes({ ...base, tcp: { ...base.tcp, window: (base.tcp.window + 1) & 0xffff } }, payloadOf(flow.mss, 1))
              break
            case "retransmit":
              bytes = frameBytes({ ...spec, tcp: { ...spec.tcp } }, payloadOf(Math.min(flow.mss, 100), 2))
              break
            case "bad-checksum": {
              bytes = frameBytes(base, payloadOf(flow.mss, 3))
              bytes[bytes.length - 1] ^= 0xff
              verified = false // the device found it bad: software must find it too and not merge it
              break
            }
            case "ip-options":
              bytes = spec.ip.version === 4
                ? frameBytes({ ...base, ip: { ...spec.ip, options: Uint8Array.of(1, 1, 1, 0) } }, payloadOf(flow.mss, 4))
                : frameBytes({ ...base, tcp: { ...base.tcp, flags: base.tcp.flags | F.syn } }, payloadOf(flow.mss, 4))
              break
            case "padded": {
              const frame = frameBytes(base, payloadOf(1, 5))
              bytes = new Uint8Array(Math.max(frame.length + 1, 60))
              bytes.set(frame)
              break
            }
            case "urg":
              bytes = frameBytes({ ...base, tcp: { ...base.tcp, flags: base.tcp.flags | F.urg, urgentPointer: 1 } }, payloadOf(flow.mss, 6))
              break
            case "reorder":
              // A segment of the flow out of order: the next one's sequence number, twice over.
              bytes = frameBytes({ ...spec, tcp: { ...spec.tcp, sequenceNumber: (seq + 2 * flow.mss) >>> 0 } }, payloadOf(flow.mss, 7))
              break
          }
          list.splice(where, 0, { bytes, rx: { ...how, verified }, headers })
        }
        // Interleave: the flows' lists in their own order, other frames anywhere.
        const sources = [...lists, ...others.map((bytes) => [{ bytes, rx: RX_LINEAR, headers: bytes.length }])]
        const next = sources.map(() => 0)
        const originals: Array<Uint8Array> = []
        const flowOf: Array<number> = []
        const inputs: Array<PacketBuffer> = []
        let step = 0
        for (;;) {
          const live = sources.map((_, k) => k).filter((k) => next[k] < sources[k].length)
          if (live.length === 0) break
          const k = live[order[step++ % order.length] % live.length]
          const item = sources[k][next[k]++]
          originals.push(item.bytes)
          flowOf.push(k)
          inputs.push(receive(item.bytes, item.headers, item.rx))
        }
        const engine = GroEngine.make()
        const output = engine.receive(inputs)
        expectRoundTrip(inputs, originals, flowOf, output)
        for (const p of output) p.release()
      })
    )
  })
})

describe("GSO of a generated super-packet", () => {
  it("gives segments that decode with valid checksums, in full and in partial mode", () => {
    fc.assert(
      fc.property(flowSpec(fc.constantFrom(4 as const, 6 as const), fc.boolean()), (flow) => {
        const { mss, spec } = flow
        const total = Math.min(60000, (flow.count - 1) * mss + flow.lastSize)
        const payload = payloadOf(total, flow.seed)
        const bytes = frameBytes({ ...spec, tcp: { ...spec.tcp, flags: spec.tcp.flags | F.psh } }, payload, "partial")
        for (const mode of ["full", "partial"] as const) {
          const packet = PacketBuffer.fromBytes(bytes, 64)
          packet.meta.gsoType = spec.ip.version === 4 ? "tcpv4" : "tcpv6"
          packet.meta.gsoSize = mss
          const segments = segmentTcp(packet, { checksum: mode })
          if (isGsoDefect(segments)) return expect.fail(segments.name)
          expect(segments.length).toBe(Math.max(1, Math.ceil(total / mss)))
          let carried = 0
          segments.forEach((s, i) => {
            if (mode === "partial") expect(resolvePartialChecksum(s)).toBeUndefined()
            const frame = decodeFrame(PacketBuffer.fromBytes(s.toUint8Array()))
            expect(frame.defect).toBeUndefined()
            for (const layer of frame.layers) {
              if (layer.layer === "ipv4" || layer.layer === "tcp") expect(layer.checksum).toBe("valid")
              if (layer.layer === "tcp") {
                expect(layer.header.psh).toBe(i === segments.length - 1)
                carried += layer.payloadLength
              }
            }
            s.release()
          })
          expect(carried).toBe(total)
          packet.release()
        }
      })
    )
  })
})

// ------------------------------------------------------------------ the merge rules

/** A simple IPv4 flow of `count` segments of `mss` bytes (the last `last` bytes), ids consecutive. */
const simpleIp: Ipv4Spec = {
  version: 4,
  source: 0x0a000001,
  destination: 0x0a000002,
  identification: 100,
  ttl: 64,
  dscp: 0,
  ecn: 0,
  dontFragment: true,
  options: new Uint8Array(0)
}
const simple: FrameSpec = {
  destinationMac: 0x020000000001,
  sourceMac: 0x020000000002,
  vlan: undefined,
  ip: simpleIp,
  tcp: {
    sourcePort: 40000,
    destinationPort: 80,
    sequenceNumber: 1000,
    acknowledgmentNumber: 5,
    flags: F.ack,
    window: 500,
    urgentPointer: 0,
    options: [{ _tag: "Nop" }, { _tag: "Nop" }, { _tag: "Timestamps", value: 10, echo: 20 }]
  }
}
const simpleFlow = (count: number, mss = 1000, last = mss, spec = simple): FlowSpec => ({
  spec,
  mss,
  count,
  lastSize: last,
  pshLast: false,
  finLast: false,
  cwrFirst: false,
  seed: 42
})
/** Segment `i` of `simple`'s flow with changes. */
const segment = (i: number, change: (s: FrameSpec) => FrameSpec = (s) => s, size = 1000, spec = simple): Uint8Array => {
  const ip = spec.ip.version === 4 ? { ...spec.ip, identification: (spec.ip.identification + i) & 0xffff } : spec.ip
  return frameBytes(change({ ...spec, ip, tcp: { ...spec.tcp, sequenceNumber: spec.tcp.sequenceNumber + i * 1000 } }), payloadOf(size, i + 1))
}
const packets = (frames: ReadonlyArray<Uint8Array>, verified = true): Array<PacketBuffer> =>
  frames.map((b) => receive(b, 66, { layout: "linear", verified }))
/** The GRO output as [gsoSegments or 1] per packet. */
const shape = (output: ReadonlyArray<PacketBuffer>): Array<number> => output.map((p) => Math.max(1, p.meta.gsoSegments))

describe("GroEngine", () => {
  it("merges consecutive segments into one super-packet with Linux's headers and metadata", () => {
    const frames = flowFrames(simpleFlow(3, 1000, 400))
    const inputs = packets(frames)
    const engine = GroEngine.make()
    const [merged, ...rest] = engine.receive(inputs)
    expect(rest).toEqual([])
    expect(merged).toBe(inputs[0])
    expect(inputs[1].isReleased && inputs[2].isReleased).toBe(true)
    expect(merged.meta).toMatchObject({ gsoType: "tcpv4", gsoSize: 1000, gsoSegments: 3, checksum: ChecksumState.unnecessary })
    expect(merged.length).toBe(66 + 2400)
    expect(merged.fragments.length).toBe(2)
    const frame = decodeFrame(PacketBuffer.fromBytes(merged.toUint8Array()))
    const ip = frame.layers.find((l) => l.layer === "ipv4")
    if (ip === undefined || ip.layer !== "ipv4") return expect.fail("no IPv4")
    expect(ip.header.totalLength).toBe(20 + 32 + 2400)
    expect(ip.checksum).toBe("valid")
    // tcp4_gro_complete: the checksum field holds the pseudo-header sum, so it completes as a partial checksum.
    const copy = PacketBuffer.fromBytes(merged.toUint8Array())
    copy.meta.checksum = ChecksumState.partial(34, 16)
    expect(resolvePartialChecksum(copy)).toBeUndefined()
    const tcp = decodeFrame(copy).layers.find((l) => l.layer === "tcp")
    expect(tcp !== undefined && tcp.layer === "tcp" ? tcp.checksum : "none").toBe("valid")
    expect(engine.stats()).toEqual({ batches: 1, packetsIn: 3, packetsOut: 1, mergedAway: 2, flowsFlushed: 1, checksumFailures: 0 })
  })

  it("leaves a lone segment untouched", () => {
    const frames = [segment(0)]
    const inputs = packets(frames)
    const output = GroEngine.make().receive(inputs)
    expect(output).toEqual(inputs)
    expect(output[0].meta.gsoType).toBe("none")
    expectBytes(output[0].toUint8Array(), frames[0], "lone segment")
  })

  it("ends a merge with a PSH segment (merged) or a smaller one (merged); a larger one starts a new merge", () => {
    const psh = (s: FrameSpec): FrameSpec => ({ ...s, tcp: { ...s.tcp, flags: F.ack | F.psh } })
    expect(shape(GroEngine.make().receive(packets([segment(0), segment(1, psh), segment(2), segment(3)])))).toEqual([2, 2])
    expect(shape(GroEngine.make().receive(packets([segment(0), segment(1, undefined, 500)])))).toEqual([2])
    // After a 500-byte segment the merge is over: the next segment (seq + 1000 would not follow anyway) starts anew.
    const a = segment(0)
    const b = frameBytes({ ...simple, ip: { ...simpleIp, identification: 101 }, tcp: { ...simple.tcp, sequenceNumber: 2000 } }, payloadOf(500, 1))
    const c = frameBytes({ ...simple, ip: { ...simpleIp, identification: 102 }, tcp: { ...simple.tcp, sequenceNumber: 2500 } }, payloadOf(1000, 1))
    expect(shape(GroEngine.make().receive(packets([a, b, c])))).toEqual([2, 1])
    // A first segment of 500 bytes takes no 1000-byte segment after it.
    const small = frameBytes(simple, payloadOf(500, 1))
    const big = frameBytes({ ...simple, ip: { ...simpleIp, identification: 101 }, tcp: { ...simple.tcp, sequenceNumber: 1500 } }, payloadOf(1000, 1))
    const big2 = frameBytes({ ...simple, ip: { ...simpleIp, identification: 102 }, tcp: { ...simple.tcp, sequenceNumber: 2500 } }, payloadOf(1000, 1))
    expect(shape(GroEngine.make().receive(packets([small, big, big2])))).toEqual([1, 2])
    // A PSH segment never starts a merge.
    expect(shape(GroEngine.make().receive(packets([segment(0, psh), segment(1)])))).toEqual([1, 1])
  })

  it("never merges SYN, FIN, RST, URG or CWR segments, nor into them", () => {
    for (const flag of [F.syn, F.fin, F.rst, F.urg, F.cwr]) {
      const flagged = (s: FrameSpec): FrameSpec => ({ ...s, tcp: { ...s.tcp, flags: s.tcp.flags | flag } })
      expect(shape(GroEngine.make().receive(packets([segment(0, flagged), segment(1)]))), `${flag} first`).toEqual([1, 1])
      expect(shape(GroEngine.make().receive(packets([segment(0), segment(1, flagged)]))), `${flag} second`).toEqual([1, 1])
    }
  })

  it("requires equal ACK, window, options, TTL, TOS, DF and consecutive ids", () => {
    const changes: ReadonlyArray<[string, (s: FrameSpec) => FrameSpec]> = [
      ["ack", (s) => ({ ...s, tcp: { ...s.tcp, acknowledgmentNumber: 6 } })],
      ["window", (s) => ({ ...s, tcp: { ...s.tcp, window: 501 } })],
      ["timestamp", (s) => ({ ...s, tcp: { ...s.tcp, options: [{ _tag: "Nop" }, { _tag: "Nop" }, { _tag: "Timestamps", value: 11, echo: 20 }] } })],
      ["no options", (s) => ({ ...s, tcp: { ...s.tcp, options: [] } })],
      ["ECE", (s) => ({ ...s, tcp: { ...s.tcp, flags: F.ack | F.ece } })],
      ["ttl", (s) => ({ ...s, ip: { ...(s.ip as Ipv4Spec), ttl: 63 } })],
      ["tos", (s) => ({ ...s, ip: { ...(s.ip as Ipv4Spec), ecn: 3 } })],
      ["df", (s) => ({ ...s, ip: { ...(s.ip as Ipv4Spec), dontFragment: false } })],
      ["id + 2", (s) => ({ ...s, ip: { ...(s.ip as Ipv4Spec), identification: 102 } })],
      ["other port", (s) => ({ ...s, tcp: { ...s.tcp, destinationPort: 81 } })],
      ["other MAC", (s) => ({ ...s, sourceMac: 3 })],
      ["tagged", (s) => ({ ...s, vlan: { priority: 0, dropEligible: false, vlanId: 5, etherType: 0 } })]
    ]
    for (const [name, change] of changes) {
      expect(shape(GroEngine.make().receive(packets([segment(0), segment(1, change)]))), name).toEqual([1, 1])
    }
  })

  it("merges DF segments with a fixed id (Linux ip_fixedid) unless told not to; GSO with fixedId restores them", () => {
    const fixed = (s: FrameSpec): FrameSpec => ({ ...s, ip: { ...(s.ip as Ipv4Spec), identification: 100 } })
    const frames = [segment(0), segment(1, fixed), segment(2, fixed)]
    const [merged] = GroEngine.make().receive(packets(frames))
    expect(merged.meta.gsoSegments).toBe(3)
    const segments = segmentTcp(merged, { checksum: "full", fixedId: true })
    if (isGsoDefect(segments)) return expect.fail(segments.name)
    segments.forEach((s, i) => expectBytes(s.toUint8Array(), frames[i], `segment ${i}`))
    expect(shape(GroEngine.make({ mergeFixedIds: false }).receive(packets(frames)))).toEqual([1, 1, 1])
    // Without DF the ids must increment.
    const noDf = (s: FrameSpec): FrameSpec => ({ ...s, ip: { ...(s.ip as Ipv4Spec), dontFragment: false } })
    expect(shape(GroEngine.make().receive(packets([segment(0, noDf), segment(1, (s) => fixed(noDf(s)))])))).toEqual([1, 1])
    // Once incrementing, a repeated id ends the merge.
    const repeated = (s: FrameSpec): FrameSpec => ({ ...s, ip: { ...(s.ip as Ipv4Spec), identification: 101 } })
    expect(shape(GroEngine.make().receive(packets([segment(0), segment(1), segment(2, repeated)])))).toEqual([2, 1])
  })

  it("verifies checksums in software unless the device did, and does not merge a bad one", () => {
    const frames = [segment(0), segment(1), segment(2)]
    const bad = frames[1].slice()
    bad[bad.length - 1] ^= 1
    const engine = GroEngine.make()
    const output = engine.receive(packets([frames[0], bad, frames[2]], false))
    expect(shape(output)).toEqual([1, 1, 1])
    expect(engine.stats().checksumFailures).toBe(1)
    expectBytes(output[1].toUint8Array(), bad, "bad segment untouched")
    // A bad first segment found when the second arrives: the second heads the merge.
    const badFirst = frames[0].slice()
    badFirst[badFirst.length - 1] ^= 1
    expect(shape(GroEngine.make().receive(packets([badFirst, frames[1], frames[2]], false)))).toEqual([1, 2])
    // Unnecessary: the device's word is taken.
    expect(shape(GroEngine.make().receive(packets([frames[0], bad, frames[2]], true)))).toEqual([3])
  })

  it("does not merge IPv4 with options, padded frames, fragments or GSO packets", () => {
    const options = (s: FrameSpec): FrameSpec => ({ ...s, ip: { ...(s.ip as Ipv4Spec), options: Uint8Array.of(1, 1, 1, 0) } })
    expect(shape(GroEngine.make().receive(packets([segment(0, options), segment(1, options)])))).toEqual([1, 1])
    const padded = (b: Uint8Array): Uint8Array => Uint8Array.from([...b, 0, 0])
    expect(shape(GroEngine.make().receive(packets([padded(segment(0)), segment(1)])))).toEqual([1, 1])
    expect(shape(GroEngine.make().receive(packets([segment(0), padded(segment(1))])))).toEqual([1, 1])
    const gso = packets([segment(0), segment(1)])
    gso[1].meta.gsoType = "tcpv4"
    gso[1].meta.gsoSize = 1000
    expect(GroEngine.make().receive(gso).map((p) => p.meta.gsoSegments)).toEqual([0, 0])
    const fragment = segment(1)
    fragment[14 + 6] |= 0x20 // MF (checksum now wrong too: not even keyed)
    expect(shape(GroEngine.make().receive(packets([segment(0), fragment, segment(1)])))).toEqual([2, 1])
  })

  it("separates flows by VLAN tag, stripped tag, input interface and IPv6 flow label", () => {
    const v6: FrameSpec = {
      ...simple,
      ip: { version: 6, source: new Uint8Array(16).fill(1), destination: new Uint8Array(16).fill(2), trafficClass: 0, flowLabel: 7, hopLimit: 64 }
    }
    const label = (s: FrameSpec): FrameSpec => ({ ...s, ip: { ...(s.ip as Ipv6Spec), flowLabel: 8 } })
    expect(shape(GroEngine.make().receive(packets([segment(0, undefined, 1000, v6), segment(1, undefined, 1000, v6)])))).toEqual([2])
    expect(shape(GroEngine.make().receive(packets([segment(0, undefined, 1000, v6), segment(1, label, 1000, v6)])))).toEqual([1, 1])
    const hop = (s: FrameSpec): FrameSpec => ({ ...s, ip: { ...(s.ip as Ipv6Spec), hopLimit: 1 } })
    expect(shape(GroEngine.make().receive(packets([segment(0, undefined, 1000, v6), segment(1, hop, 1000, v6)])))).toEqual([1, 1])
    const stripped = packets([segment(0), segment(1)])
    stripped[1].meta.vlanTag = 5
    expect(shape(GroEngine.make().receive(stripped))).toEqual([1, 1])
    const interfaces = packets([segment(0), segment(1)])
    interfaces[1].meta.inputInterface = 2
    expect(shape(GroEngine.make().receive(interfaces))).toEqual([1, 1])
  })

  it("holds at most MAX_FRAGMENTS fragments and 64 KiB in one merge", () => {
    // A merge is its first segment plus MAX_FRAGMENTS donors.
    const most = MAX_FRAGMENTS + 1
    expect(shape(GroEngine.make().receive(packets(flowFrames(simpleFlow(2 * most + 4, 100)))))).toEqual([most, most, 4])
    // 8960-byte segments: 7 fit in 65535 − 20 − 32 bytes.
    expect(shape(GroEngine.make().receive(packets(flowFrames(simpleFlow(20, 8960)))))).toEqual([7, 7, 6])
  })

  it("closes the oldest merge when maxFlows are open, keeping order", () => {
    const other = (s: FrameSpec): FrameSpec => ({ ...s, tcp: { ...s.tcp, sourcePort: 40001 } })
    const frames = [segment(0), segment(0, other), segment(1), segment(1, other)]
    expect(shape(GroEngine.make({ maxFlows: 1 }).receive(packets(frames)))).toEqual([1, 1, 1, 1])
    expect(shape(GroEngine.make({ maxFlows: 2 }).receive(packets(frames)))).toEqual([2, 2])
  })

  it("passes released buffers and non-TCP traffic through", () => {
    const gone = PacketBuffer.fromBytes(segment(0))
    gone.release()
    const arp = PacketBuffer.fromBytes(new Uint8Array(42))
    const runt = PacketBuffer.fromBytes(new Uint8Array(5))
    const batch = [gone, arp, runt]
    expect(GroEngine.make().receive(batch)).toEqual(batch)
    expect(GroEngine.make().receive([])).toEqual([])
  })

  it("keeps donors' pool buffers until the merged packet is released, releasing every descriptor once", () => {
    const pool = BufferPool.make({ count: 64, size: 2048 })
    const frames = flowFrames(simpleFlow(MAX_FRAGMENTS + 13, 1000))
    const inputs = frames.map((bytes) => {
      const p = pool.acquire()
      if (!(p instanceof PacketBuffer)) throw new Error("pool exhausted")
      check(p.reserve(64))
      check(p.put(bytes.length))
      check(p.setBytes(0, bytes))
      p.meta.checksum = ChecksumState.unnecessary
      return p
    })
    const output = GroEngine.make().receive(inputs)
    expect(shape(output)).toEqual([MAX_FRAGMENTS + 1, 12])
    expect(pool.stats().inUse).toBe(frames.length)
    expectRoundTrip(inputs, frames, frames.map(() => 0), output)
    for (const p of output) expect(pool.release(p)).toBeUndefined()
    expect(pool.stats()).toMatchObject({ inUse: 0, doubleReleases: 0, acquired: frames.length, released: frames.length })
  })

  it("counts across batches", () => {
    const engine = GroEngine.make()
    engine.receive(packets(flowFrames(simpleFlow(4))))
    engine.receive(packets([segment(0), segment(0, (s) => ({ ...s, tcp: { ...s.tcp, sourcePort: 1 } }))]))
    expect(engine.stats()).toEqual({ batches: 2, packetsIn: 6, packetsOut: 3, mergedAway: 3, flowsFlushed: 1, checksumFailures: 0 })
  })
})
