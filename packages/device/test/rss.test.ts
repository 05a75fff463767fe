/**
 * Receive Side Scaling: the Toeplitz hash against Microsoft's published
 * verification vectors and an independent transcription of its pseudocode,
 * the hash of whole frames by hash type, and the indirection table.
 *
 * The vectors are the tables of Microsoft's NDIS documentation, "Verifying the
 * RSS Hash Calculation" (MicrosoftDocs/windows-driver-docs,
 * windows-driver-docs-pr/network/verifying-the-rss-hash-calculation.md), the
 * same as DPDK's app/test/test_thash.c (from the Intel 82599 datasheet,
 * §7.1.2.8.3 "RSS Verification Suite").
 */
import { describe, expect, it } from "@effect/vitest"
import { PacketBuffer } from "@netstack/buffers"
import {
  emitArp,
  emitEthernet,
  emitIpv4,
  emitIpv6,
  emitTcp,
  emitUdp,
  emitVlan,
  EtherTypes,
  ipv4FromString,
  ipv6FromString,
  type Ipv6ExtensionFields,
  type Ipv6Option,
  noChecksum,
  TcpFlags,
  type TcpOption
} from "@netstack/wire"
import { ethernetFrame, ipv4OptionsBytes, ipv6Option, mutated, tcpOptions } from "@netstack/wire/testing"
import fc from "fast-check"
import {
  IndirectionTable,
  MICROSOFT_RSS_KEY,
  RSS_HASH_TYPES_ALL,
  RSS_HASH_TYPES_DEFAULT,
  rssHash,
  rssHashInput,
  rssHashType,
  RssHashTypes,
  toeplitzHash,
  ToeplitzKey
} from "../src/index.ts"

// ---------------------------------------------------------------- helpers

const KEY = new ToeplitzKey(MICROSOFT_RSS_KEY)
const T = RssHashTypes

/** Fails the test when an emitter returns an error. */
const must = (result: { readonly _tag: string } | undefined): void => {
  if (result !== undefined) throw new Error(`emit failed: ${result._tag}`)
}

const ipv4 = (text: string): number => {
  const n = ipv4FromString(text)
  if (n === undefined) throw new Error(`bad IPv4 address ${text}`)
  return n
}
const ipv6 = (text: string): Uint8Array => {
  const b = ipv6FromString(text)
  if (b === undefined) throw new Error(`bad IPv6 address ${text}`)
  return b
}
const u32 = (n: number): Array<number> => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]
const u16 = (n: number): Array<number> => [n >>> 8, n & 0xff]

/**
 * Microsoft's pseudocode ("RSS Hashing Functions") transcribed literally, with
 * the key as one big integer: for each input bit from the left, XOR in the
 * left-most 32 bits of K, then shift K left (zeros come in). Independent of
 * both implementations under test.
 */
const referenceHash = (key: Uint8Array, input: Uint8Array): number => {
  const width = BigInt(key.length * 8 + 32) // the key followed by the zeros a shift brings in
  const mask = (1n << width) - 1n
  let k = 0n
  for (const b of key) k = (k << 8n) | BigInt(b)
  k <<= 32n
  let result = 0n
  for (const byte of input) {
    for (let bit = 7; bit >= 0; bit--) {
      if (((byte >>> bit) & 1) === 1) result ^= (k >> (width - 32n)) & 0xffffffffn
      k = (k << 1n) & mask
    }
  }
  return Number(result)
}

/** What varies between the frames of one flow without changing the flow. */
interface Variant {
  readonly payload: Uint8Array
  readonly flags: number
  readonly sequenceNumber: number
  readonly window: number
  readonly tcpOptions: ReadonlyArray<TcpOption>
  /** IPv4 TTL or IPv6 Hop Limit. */
  readonly ttl: number
  readonly dscp: number
  readonly identification: number
  readonly dontFragment: boolean
  readonly ipv4Options: Uint8Array
  readonly flowLabel: number
  readonly extensionHeaders: ReadonlyArray<Ipv6ExtensionFields>
  /** VLAN tags, outer first: none, 802.1Q, or 802.1ad + 802.1Q. */
  readonly vlans: ReadonlyArray<number>
}

const PLAIN: Variant = {
  payload: new Uint8Array(0),
  flags: TcpFlags.syn,
  sequenceNumber: 0,
  window: 65535,
  tcpOptions: [],
  ttl: 64,
  dscp: 0,
  identification: 0,
  dontFragment: true,
  ipv4Options: new Uint8Array(0),
  flowLabel: 0,
  extensionHeaders: [],
  vlans: []
}

/** IPv4 or IPv6 endpoints and ports. */
interface Flow {
  readonly source: number | Uint8Array
  readonly destination: number | Uint8Array
  readonly sourcePort: number
  readonly destinationPort: number
}

type Transport = "tcp" | "udp"

interface Fragmenting {
  readonly moreFragments: boolean
  readonly fragmentOffset: number
}
const WHOLE: Fragmenting = { moreFragments: false, fragmentOffset: 0 }

/** Pushes the VLAN tags and the Ethernet header in front of a network packet. */
const pushLink = (b: PacketBuffer, etherType: number, vlans: ReadonlyArray<number>): PacketBuffer => {
  let inner = etherType
  for (let i = vlans.length - 1; i >= 0; i--) {
    must(emitVlan(b, { priority: i, dropEligible: false, vlanId: 100 + i, etherType: inner }))
    inner = vlans[i]
  }
  must(emitEthernet(b, { destination: 0x02_00_00_00_00_01, source: 0x02_00_00_00_00_02, etherType: inner }))
  return b
}

/** Pushes the TCP or UDP header of the flow in front of the payload. */
const pushTransport = (b: PacketBuffer, flow: Flow, transport: Transport, v: Variant): void => {
  if (transport === "udp") {
    must(emitUdp(b, { sourcePort: flow.sourcePort, destinationPort: flow.destinationPort }, noChecksum))
    return
  }
  must(
    emitTcp(
      b,
      {
        sourcePort: flow.sourcePort,
        destinationPort: flow.destinationPort,
        sequenceNumber: v.sequenceNumber,
        acknowledgmentNumber: 0,
        flags: v.flags,
        window: v.window,
        urgentPointer: 0,
        options: v.tcpOptions
      },
      noChecksum
    )
  )
}

/** An Ethernet frame of the flow: TCP or UDP over IPv4 or IPv6, built by the wire emitters. */
const frameOf = (flow: Flow, transport: Transport = "tcp", v: Variant = PLAIN, fragment: Fragmenting = WHOLE) => {
  const b = PacketBuffer.fromBytes(v.payload, 512)
  const protocol = transport === "tcp" ? 6 : 17
  if (fragment.fragmentOffset === 0) pushTransport(b, flow, transport, v)
  if (typeof flow.source === "number" && typeof flow.destination === "number") {
    must(
      emitIpv4(b, {
        dscp: v.dscp,
        ecn: 0,
        identification: v.identification,
        reservedFlag: false,
        dontFragment: v.dontFragment && !fragment.moreFragments && fragment.fragmentOffset === 0,
        moreFragments: fragment.moreFragments,
        fragmentOffset: fragment.fragmentOffset,
        ttl: v.ttl,
        protocol,
        source: flow.source,
        destination: flow.destination,
        options: v.ipv4Options
      })
    )
    return pushLink(b, EtherTypes.ipv4, v.vlans)
  }
  if (typeof flow.source === "number" || typeof flow.destination === "number") throw new Error("mixed families")
  const fragmentHeader: ReadonlyArray<Ipv6ExtensionFields> = fragment === WHOLE
    ? []
    : [{
      _tag: "Fragment",
      fragmentOffset: fragment.fragmentOffset,
      moreFragments: fragment.moreFragments,
      identification: 7
    }]
  must(
    emitIpv6(b, {
      trafficClass: v.dscp << 2,
      flowLabel: v.flowLabel,
      hopLimit: v.ttl,
      source: flow.source,
      destination: flow.destination,
      protocol,
      extensionHeaders: [...v.extensionHeaders, ...fragmentHeader]
    })
  )
  return pushLink(b, EtherTypes.ipv6, v.vlans)
}

/** The hash input Microsoft specifies: source address, destination address, then source port, destination port. */
const msInput = (flow: Flow, ports: boolean): Uint8Array => {
  const address = (a: number | Uint8Array) => (typeof a === "number" ? u32(a) : [...a])
  return Uint8Array.from([
    ...address(flow.source),
    ...address(flow.destination),
    ...(ports ? [...u16(flow.sourcePort), ...u16(flow.destinationPort)] : [])
  ])
}

const swapped = (f: Flow): Flow => ({
  source: f.destination,
  destination: f.source,
  sourcePort: f.destinationPort,
  destinationPort: f.sourcePort
})

// ---------------------------------------------------------------- arbitraries

const uint16 = fc.integer({ min: 0, max: 0xffff })
const uint32 = fc.integer({ min: 0, max: 0xffffffff })
const bytes = (min: number, max: number) =>
  fc.integer({ min, max }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n }))

const ipv4Flow: fc.Arbitrary<Flow> = fc.record({
  source: uint32,
  destination: uint32,
  sourcePort: uint16,
  destinationPort: uint16
})
const ipv6Flow: fc.Arbitrary<Flow> = fc.record({
  source: bytes(16, 16),
  destination: bytes(16, 16),
  sourcePort: uint16,
  destinationPort: uint16
})

/** Options padded by the emitter: at most 3, so a header stays small. */
const ipv6Options: fc.Arbitrary<ReadonlyArray<Ipv6Option>> = fc.array(ipv6Option, { maxLength: 3 })
/** A chain of Hop-by-Hop, Destination Options and Routing headers (RFC 8200 §4.1 order), each optional. */
const ipv6Extensions: fc.Arbitrary<ReadonlyArray<Ipv6ExtensionFields>> = fc
  .record({
    hopByHop: fc.option(ipv6Options, { nil: undefined }),
    destination: fc.option(ipv6Options, { nil: undefined }),
    routing: fc.option(
      fc.record({
        routingType: fc.integer({ min: 0, max: 255 }),
        segmentsLeft: fc.integer({ min: 0, max: 255 }),
        data: fc.integer({ min: 0, max: 2 }).chain((k) => fc.uint8Array({ minLength: 4 + 8 * k, maxLength: 4 + 8 * k }))
      }),
      { nil: undefined }
    )
  })
  .map(({ hopByHop, destination, routing }) => {
    const chain: Array<Ipv6ExtensionFields> = []
    if (hopByHop !== undefined) chain.push({ _tag: "HopByHop", options: hopByHop })
    if (destination !== undefined) chain.push({ _tag: "DestinationOptions", options: destination })
    if (routing !== undefined) chain.push({ _tag: "Routing", ...routing })
    return chain
  })

const variant: fc.Arbitrary<Variant> = fc.record({
  payload: bytes(0, 300),
  flags: fc.integer({ min: 0, max: 0xff }),
  sequenceNumber: uint32,
  window: uint16,
  tcpOptions,
  ttl: fc.integer({ min: 0, max: 255 }),
  dscp: fc.integer({ min: 0, max: 63 }),
  identification: uint16,
  dontFragment: fc.boolean(),
  ipv4Options: fc.oneof(fc.constant(new Uint8Array(0)), ipv4OptionsBytes),
  flowLabel: fc.integer({ min: 0, max: 0xfffff }),
  extensionHeaders: ipv6Extensions,
  vlans: fc.constantFrom([], [EtherTypes.vlan], [EtherTypes.qinq, EtherTypes.vlan])
})

// ---------------------------------------------------------------- Microsoft's vectors

/** "Verifying the RSS Hash Calculation", IPv4 table: destination, source, IPv4 only, IPv4 with TCP. */
const IPV4_VECTORS = [
  { dst: "161.142.100.80", dport: 1766, src: "66.9.149.187", sport: 2794, ip: 0x323e8fc2, tcp: 0x51ccc178 },
  { dst: "65.69.140.83", dport: 4739, src: "199.92.111.2", sport: 14230, ip: 0xd718262a, tcp: 0xc626b0ea },
  { dst: "12.22.207.184", dport: 38024, src: "24.19.198.95", sport: 12898, ip: 0xd2d0a5de, tcp: 0x5c2b394a },
  { dst: "209.142.163.6", dport: 2217, src: "38.27.205.30", sport: 48228, ip: 0x82989176, tcp: 0xafc7327f },
  { dst: "202.188.127.2", dport: 1303, src: "153.39.163.191", sport: 44251, ip: 0x5d1809c5, tcp: 0x10e828a2 }
].map((r) => ({
  flow: { source: ipv4(r.src), destination: ipv4(r.dst), sourcePort: r.sport, destinationPort: r.dport },
  ip: r.ip,
  tcp: r.tcp
}))

/** The IPv6 table: destination, source, IPv6 only, IPv6 with TCP. */
const IPV6_VECTORS = [
  { dst: "3ffe:2501:200:3::1", dport: 1766, src: "3ffe:2501:200:1fff::7", sport: 2794, ip: 0x2cc18cd5, tcp: 0x40207d3d },
  { dst: "ff02::1", dport: 4739, src: "3ffe:501:8::260:97ff:fe40:efab", sport: 14230, ip: 0x0f0c461c, tcp: 0xdde51bbf },
  {
    dst: "fe80::200:f8ff:fe21:67cf",
    dport: 38024,
    src: "3ffe:1900:4545:3:200:f8ff:fe21:67cf",
    sport: 44251,
    ip: 0x4b61e985,
    tcp: 0x02d1feef
  }
].map((r) => ({
  flow: { source: ipv6(r.src), destination: ipv6(r.dst), sourcePort: r.sport, destinationPort: r.dport },
  ip: r.ip,
  tcp: r.tcp
}))

const VECTORS = [...IPV4_VECTORS, ...IPV6_VECTORS]

describe("Microsoft's RSS verification vectors", () => {
  it("the key is the one published", () => {
    expect([...MICROSOFT_RSS_KEY].map((b) => b.toString(16).padStart(2, "0")).join("")).toBe(
      "6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da38030f20c6a42b73bbeac01fa"
    )
  })

  it("toeplitzHash, ToeplitzKey and the literal pseudocode give every published hash from the raw input", () => {
    expect(VECTORS).toHaveLength(8)
    for (const v of VECTORS) {
      for (const [ports, expected] of [[false, v.ip], [true, v.tcp]] as const) {
        const input = msInput(v.flow, ports)
        expect(toeplitzHash(MICROSOFT_RSS_KEY, input)).toBe(expected)
        expect(KEY.hash(input)).toBe(expected)
        expect(referenceHash(MICROSOFT_RSS_KEY, input)).toBe(expected)
      }
    }
  })

  it("rssHash gives them for emitted TCP frames: 4-tuple with the TCP type, 2-tuple with the IP type alone", () => {
    for (const [vectors, ipType, tcpType] of [[IPV4_VECTORS, T.ipv4, T.tcpIpv4], [IPV6_VECTORS, T.ipv6, T.tcpIpv6]] as const) {
      for (const v of vectors) {
        const frame = frameOf(v.flow)
        expect(rssHash(frame, KEY, RSS_HASH_TYPES_ALL)).toBe(v.tcp)
        expect(rssHash(frame, MICROSOFT_RSS_KEY, RSS_HASH_TYPES_ALL)).toBe(v.tcp)
        expect(rssHash(frame, KEY, ipType | tcpType)).toBe(v.tcp)
        expect(rssHashType(frame, RSS_HASH_TYPES_ALL)).toBe(tcpType)
        expect(rssHashInput(frame, RSS_HASH_TYPES_ALL)).toEqual(msInput(v.flow, true))
        expect(rssHash(frame, KEY, ipType)).toBe(v.ip)
        expect(rssHash(frame, MICROSOFT_RSS_KEY, ipType)).toBe(v.ip)
        expect(rssHashType(frame, ipType)).toBe(ipType)
        expect(rssHashInput(frame, ipType)).toEqual(msInput(v.flow, false))
      }
    }
  })
})

// ---------------------------------------------------------------- the Toeplitz hash

describe("Toeplitz hash", () => {
  const key = bytes(0, 64)
  const input = bytes(0, 80)

  it("toeplitzHash and ToeplitzKey equal the literal pseudocode for any key and input (key bits past the end are 0)", () => {
    fc.assert(
      fc.property(key, input, (k, i) => {
        const expected = referenceHash(k, i)
        expect(toeplitzHash(k, i)).toBe(expected)
        expect(new ToeplitzKey(k).hash(i)).toBe(expected)
      }),
      { numRuns: 300 }
    )
  })

  it("hashes a range, and pieces placed at their position XOR to the hash of the whole", () => {
    fc.assert(
      fc.property(key, input, fc.nat(), fc.nat(), (k, i, x, y) => {
        const cut = i.length === 0 ? 0 : x % (i.length + 1)
        const start = Math.min(cut, i.length === 0 ? 0 : y % (i.length + 1))
        const prepared = new ToeplitzKey(k)
        const whole = referenceHash(k, i.subarray(start))
        expect(toeplitzHash(k, i, start)).toBe(whole)
        expect(prepared.hash(i, start)).toBe(whole)
        const at = Math.max(cut, start)
        const head = prepared.hash(i, start, at, 0)
        const tail = prepared.hash(i, at, i.length, at - start)
        expect((head ^ tail) >>> 0).toBe(whole)
        expect((toeplitzHash(k, i, start, at, 0) ^ toeplitzHash(k, i, at, i.length, at - start)) >>> 0).toBe(whole)
      }),
      { numRuns: 300 }
    )
  })

  it("clamps bad ranges instead of throwing: empty, reversed, negative, NaN, past the end", () => {
    const i = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8)
    const all = referenceHash(MICROSOFT_RSS_KEY, i)
    for (const h of [(s: number, e: number) => toeplitzHash(MICROSOFT_RSS_KEY, i, s, e), (s: number, e: number) => KEY.hash(i, s, e)]) {
      expect(h(0, 0)).toBe(0)
      expect(h(5, 2)).toBe(0)
      expect(h(-3, 100)).toBe(all)
      expect(h(Number.NaN, Number.NaN)).toBe(all)
      expect(h(2.7, 8)).toBe(referenceHash(MICROSOFT_RSS_KEY, i.subarray(2)))
    }
    expect(toeplitzHash(MICROSOFT_RSS_KEY, i, 0, 8, -1)).toBe(all)
    expect(KEY.hash(i, 0, 8, Number.NaN)).toBe(all)
    expect(KEY.hash(i, 0, 8, 1000)).toBe(0) // all past the key: every window is zero
    expect(new ToeplitzKey(new Uint8Array(0)).hash(i)).toBe(0)
  })

  it("ToeplitzKey copies the key: changing the caller's array later changes nothing", () => {
    const k = Uint8Array.from(MICROSOFT_RSS_KEY)
    const prepared = new ToeplitzKey(k)
    const input = msInput(IPV4_VECTORS[0].flow, true)
    k.fill(0)
    expect(prepared.hash(input)).toBe(0x51ccc178)
    expect(prepared.length).toBe(40)
  })
})

// ---------------------------------------------------------------- frames and flows

describe("rssHash of frames", () => {
  it("every frame of a flow has the flow's hash: payload, flags, sequence, TTL, DSCP, IP and TCP options, extension headers, VLAN tags", () => {
    fc.assert(
      fc.property(fc.oneof(ipv4Flow, ipv6Flow), fc.constantFrom<Transport>("tcp", "udp"), variant, (flow, transport, v) => {
        const expected = referenceHash(MICROSOFT_RSS_KEY, msInput(flow, true))
        const frame = frameOf(flow, transport, v)
        expect(rssHash(frame, KEY, RSS_HASH_TYPES_ALL)).toBe(expected)
        expect(rssHash(frame, MICROSOFT_RSS_KEY, RSS_HASH_TYPES_ALL)).toBe(expected)
        expect(rssHash(frameOf(flow, transport), KEY, RSS_HASH_TYPES_ALL)).toBe(expected)
        const ipOnly = typeof flow.source === "number" ? T.ipv4 : T.ipv6
        expect(rssHash(frame, KEY, ipOnly)).toBe(referenceHash(MICROSOFT_RSS_KEY, msInput(flow, false)))
      }),
      { numRuns: 300 }
    )
  })

  it("so one flow lands on one queue, whatever its frames carry", () => {
    const table = IndirectionTable.make(8)
    if (table === undefined) throw new Error("no table")
    fc.assert(
      fc.property(fc.oneof(ipv4Flow, ipv6Flow), fc.array(variant, { minLength: 2, maxLength: 4 }), (flow, variants) => {
        const queues = new Set(variants.map((v) => table.queueFor(rssHash(frameOf(flow, "tcp", v), KEY, RSS_HASH_TYPES_DEFAULT))))
        expect(queues.size).toBe(1)
      }),
      { numRuns: 100 }
    )
  })

  it("VLAN-tagged frames (802.1Q, 802.1ad + 802.1Q) hash like untagged ones; a third tag is not parsed", () => {
    const flow = IPV4_VECTORS[0].flow
    for (const vlans of [[EtherTypes.vlan], [EtherTypes.qinq, EtherTypes.vlan], [EtherTypes.vlan, EtherTypes.vlan]]) {
      expect(rssHash(frameOf(flow, "tcp", { ...PLAIN, vlans }), KEY, RSS_HASH_TYPES_ALL)).toBe(0x51ccc178)
      expect(rssHash(frameOf(flow, "tcp", { ...PLAIN, vlans }), KEY, T.ipv4)).toBe(0x323e8fc2)
    }
    const v6 = IPV6_VECTORS[0]
    expect(rssHash(frameOf(v6.flow, "tcp", { ...PLAIN, vlans: [EtherTypes.vlan] }), KEY, RSS_HASH_TYPES_ALL)).toBe(v6.tcp)
    const three = frameOf(flow, "tcp", { ...PLAIN, vlans: [EtherTypes.qinq, EtherTypes.vlan, EtherTypes.vlan] })
    expect(rssHash(three, KEY, RSS_HASH_TYPES_ALL)).toBeUndefined()
  })

  it("swapping source and destination generally changes the hash with Microsoft's key (Toeplitz is not symmetric; RSS does not ask it to be)", () => {
    // A fact of this key, documented rather than required: e.g. the first published vector.
    const v = IPV4_VECTORS[0]
    expect(rssHash(frameOf(swapped(v.flow)), KEY, RSS_HASH_TYPES_ALL)).not.toBe(v.tcp)
  })

  it("with a key of period 16 bits (0x6d5a repeated), the hash is symmetric: the ports and addresses sit at matching positions", () => {
    const symmetric = new ToeplitzKey(Uint8Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? 0x6d : 0x5a)))
    fc.assert(
      fc.property(fc.oneof(ipv4Flow, ipv6Flow), fc.constantFrom<Transport>("tcp", "udp"), (flow, transport) => {
        const forward = rssHash(frameOf(flow, transport), symmetric, RSS_HASH_TYPES_ALL)
        expect(forward).toBeDefined()
        expect(rssHash(frameOf(swapped(flow), transport), symmetric, RSS_HASH_TYPES_ALL)).toBe(forward)
      })
    )
  })

  it("spreads many random flows roughly evenly over the queues", () => {
    const table = IndirectionTable.make(8)
    if (table === undefined) throw new Error("no table")
    for (const flows of [ipv4Flow, ipv6Flow]) {
      const counts = new Array<number>(8).fill(0)
      const sample = fc.sample(flows, { numRuns: 4096, seed: 42 })
      for (const flow of sample) {
        const queue = table.queueFor(rssHash(frameOf(flow), KEY, RSS_HASH_TYPES_ALL))
        counts[queue]++
      }
      // 512 expected per queue; a loose bound (about 6 standard deviations).
      for (const n of counts) expect(n).toBeGreaterThan(384)
      for (const n of counts) expect(n).toBeLessThan(640)
    }
  })

  it("a fragment is hashed by addresses only, the first one included; with the TCP type alone it gets no hash", () => {
    for (const [v, ipType, tcpType] of [[IPV4_VECTORS[1], T.ipv4, T.tcpIpv4], [IPV6_VECTORS[1], T.ipv6, T.tcpIpv6]] as const) {
      for (const fragment of [{ moreFragments: true, fragmentOffset: 0 }, { moreFragments: true, fragmentOffset: 3 }, {
        moreFragments: false,
        fragmentOffset: 3
      }]) {
        for (const transport of ["tcp", "udp"] as const) {
          // Fragment data (all but the last) is a multiple of 8 bytes (RFC 8200 §4.5; the view checks it).
          const header = fragment.fragmentOffset > 0 ? 0 : transport === "tcp" ? 20 : 8
          const payload = new Uint8Array(64 + ((8 - header % 8) % 8))
          const frame = frameOf(v.flow, transport, { ...PLAIN, payload }, fragment)
          expect(rssHash(frame, KEY, RSS_HASH_TYPES_ALL)).toBe(v.ip)
          expect(rssHashType(frame, RSS_HASH_TYPES_ALL)).toBe(ipType)
          expect(rssHash(frame, KEY, tcpType | T.udpIpv4 | T.udpIpv6)).toBeUndefined()
        }
      }
    }
  })

  it("UDP: 4-tuple when its type is enabled, addresses when only the IP type is, nothing under the TCP type alone", () => {
    for (const [v, ipType, tcpType, udpType] of [
      [IPV4_VECTORS[2], T.ipv4, T.tcpIpv4, T.udpIpv4],
      [IPV6_VECTORS[2], T.ipv6, T.tcpIpv6, T.udpIpv6]
    ] as const) {
      const frame = frameOf(v.flow, "udp")
      // The UDP input is laid out as the TCP one, so the published TCP hash applies (ethtool's udp4 sdfn).
      expect(rssHash(frame, KEY, udpType)).toBe(v.tcp)
      expect(rssHashType(frame, RSS_HASH_TYPES_ALL)).toBe(udpType)
      expect(rssHash(frame, KEY, RSS_HASH_TYPES_DEFAULT)).toBe(v.ip)
      expect(rssHashType(frame, RSS_HASH_TYPES_DEFAULT)).toBe(ipType)
      expect(rssHash(frame, KEY, tcpType)).toBeUndefined()
      // and a TCP segment under the UDP type alone
      expect(rssHash(frameOf(v.flow, "tcp"), KEY, udpType)).toBeUndefined()
      expect(rssHash(frameOf(v.flow, "tcp"), KEY, udpType | ipType)).toBe(v.ip)
    }
  })

  it("a type of the other IP version does not apply; no type, no hash", () => {
    const v4 = frameOf(IPV4_VECTORS[0].flow)
    const v6 = frameOf(IPV6_VECTORS[0].flow)
    expect(rssHash(v4, KEY, T.ipv6 | T.tcpIpv6 | T.udpIpv6)).toBeUndefined()
    expect(rssHash(v6, KEY, T.ipv4 | T.tcpIpv4 | T.udpIpv4)).toBeUndefined()
    expect(rssHash(v4, KEY, 0)).toBeUndefined()
    expect(rssHashType(v6, 0)).toBeUndefined()
    expect(rssHashInput(v6, 0)).toBeUndefined()
  })

  it("non-IP frames get no hash: ARP, an 802.3 length, an unknown EtherType, a runt", () => {
    const arp = PacketBuffer.alloc(128)
    must(arp.reserve(128))
    must(
      emitArp(arp, {
        operation: 1,
        senderMac: 0x02_00_00_00_00_02,
        senderIpv4: ipv4("10.0.0.2"),
        targetMac: 0,
        targetIpv4: ipv4("10.0.0.1")
      })
    )
    pushLink(arp, EtherTypes.arp, [])
    expect(rssHash(arp, KEY, RSS_HASH_TYPES_ALL)).toBeUndefined()
    // The IPv4 packet of a TCP frame behind other type fields.
    for (const etherType of [0x002e, 0x88cc]) {
      const frame = frameOf(IPV4_VECTORS[0].flow)
      must(frame.pull(14))
      pushLink(frame, etherType, [])
      expect(rssHash(frame, KEY, RSS_HASH_TYPES_ALL)).toBeUndefined()
    }
    expect(rssHash(PacketBuffer.wrap(new Uint8Array(13)), KEY, RSS_HASH_TYPES_ALL)).toBeUndefined()
  })

  it("a frame cut anywhere inside its IP packet gets no hash (the IP length no longer fits)", () => {
    for (const v of [IPV4_VECTORS[0], IPV6_VECTORS[0]]) {
      const full = frameOf(v.flow, "tcp", { ...PLAIN, payload: new Uint8Array(10) }).toUint8Array()
      for (let n = 0; n < full.length; n++) {
        expect(rssHash(PacketBuffer.wrap(full.slice(0, n)), KEY, RSS_HASH_TYPES_ALL)).toBeUndefined()
      }
      expect(rssHash(PacketBuffer.wrap(full.slice()), KEY, RSS_HASH_TYPES_ALL)).toBe(v.tcp)
    }
  })

  it("link-layer padding after the IP packet changes nothing", () => {
    const v = IPV4_VECTORS[3]
    const full = frameOf(v.flow, "udp").toUint8Array()
    const padded = Uint8Array.from([...full, ...new Uint8Array(20).fill(0xee)])
    expect(rssHash(PacketBuffer.wrap(padded), KEY, RSS_HASH_TYPES_ALL)).toBe(v.tcp)
  })

  it("a TCP header that does not fit in the IP payload counts as none: the hash falls back to the addresses", () => {
    const v = IPV4_VECTORS[4]
    // A UDP datagram (8-byte header) relabelled as TCP: 8 bytes of payload cannot hold a 20-byte TCP header,
    // even though padding after the packet would.
    const frame = frameOf(v.flow, "udp")
    const bytes = frame.toUint8Array()
    bytes[14 + 9] = 6
    const padded = PacketBuffer.wrap(Uint8Array.from([...bytes, ...new Uint8Array(40).fill(0x50)]))
    expect(rssHash(padded, KEY, RSS_HASH_TYPES_ALL)).toBe(v.ip)
    expect(rssHashType(padded, RSS_HASH_TYPES_ALL)).toBe(T.ipv4)
    expect(rssHash(padded, KEY, T.tcpIpv4)).toBeUndefined()
    // A TCP header whose data offset (8 words) runs past the IP packet into padding that would parse as NOPs.
    const tcp = frameOf(v.flow, "tcp").toUint8Array()
    tcp[14 + 20 + 12] = 0x80
    const long = PacketBuffer.wrap(Uint8Array.from([...tcp, ...new Uint8Array(12).fill(1)]))
    expect(rssHash(long, KEY, RSS_HASH_TYPES_ALL)).toBe(v.ip)
    tcp[14 + 20 + 12] = 0x50
    expect(rssHash(PacketBuffer.wrap(Uint8Array.from([...tcp, ...new Uint8Array(12).fill(1)])), KEY, RSS_HASH_TYPES_ALL)).toBe(v.tcp)
  })

  it("never throws on arbitrary frames; a hash, when given, is the Toeplitz hash of the input it reports", () => {
    fc.assert(
      fc.property(mutated(ethernetFrame), fc.integer({ min: 0, max: 0x1ffff }), (raw, types) => {
        const frame = PacketBuffer.wrap(raw)
        const hash = rssHash(frame, KEY, types)
        const input = rssHashInput(frame, types)
        const type = rssHashType(frame, types)
        expect(hash === undefined).toBe(input === undefined)
        expect(type === undefined).toBe(input === undefined)
        if (hash !== undefined && input !== undefined && type !== undefined) {
          expect(hash).toBe(toeplitzHash(MICROSOFT_RSS_KEY, input))
          expect(rssHash(frame, MICROSOFT_RSS_KEY, types)).toBe(hash)
          expect(types & type).toBe(type)
          expect(input.length).toBe(
            type === T.ipv4 ? 8 : type === T.ipv6 ? 32 : type === T.tcpIpv4 || type === T.udpIpv4 ? 12 : 36
          )
        }
      }),
      { numRuns: 500 }
    )
  })
})

// ---------------------------------------------------------------- indirection table

describe("IndirectionTable", () => {
  it("is filled round-robin by default (ethtool -X equal N), 128 entries", () => {
    const table = IndirectionTable.make(6)
    if (table === undefined) throw new Error("no table")
    expect(table.size).toBe(128)
    expect(table.queues).toBe(6)
    expect(table.toArray()).toEqual(Array.from({ length: 128 }, (_, i) => i % 6))
  })

  it("maps a hash by its low bits, as NICs do; no hash goes to queue 0", () => {
    fc.assert(
      fc.property(fc.constantFrom(1, 2, 4, 8, 64, 128, 512), fc.integer({ min: 1, max: 16 }), uint32, uint32, (size, queues, h, high) => {
        const table = IndirectionTable.make(queues, size)
        if (table === undefined) throw new Error("no table")
        expect(table.queueFor(h)).toBe(table.entry(h % size))
        expect(table.queueFor(h)).toBe((h % size) % queues)
        // Bits above log2(size) do not matter.
        expect(table.queueFor(((high & ~(size - 1)) | (h & (size - 1))) >>> 0)).toBe(table.queueFor(h))
      })
    )
    const table = IndirectionTable.make(4)
    expect(table?.queueFor(undefined)).toBe(0)
    expect(table?.queueFor(0xffffffff)).toBe(127 % 4)
  })

  it("set replaces every entry, or refuses (changing nothing) a wrong length or an entry out of range", () => {
    const table = IndirectionTable.make(4, 8)
    if (table === undefined) throw new Error("no table")
    const before = table.toArray()
    for (const bad of [[0, 1, 2, 3], [0, 1, 2, 3, 0, 1, 2, 4], [0, 1, 2, 3, 0, 1, 2, -1], [0, 1, 2, 3, 0, 1, 2, 1.5], [
      0,
      1,
      2,
      3,
      0,
      1,
      2,
      Number.NaN
    ]]) {
      expect(table.set(bad)).toBe(false)
      expect(table.toArray()).toEqual(before)
    }
    expect(table.set([3, 3, 3, 3, 2, 2, 1, 0])).toBe(true)
    expect(table.toArray()).toEqual([3, 3, 3, 3, 2, 2, 1, 0])
    expect(table.queueFor(0)).toBe(3)
    expect(table.queueFor(6)).toBe(1)
    expect(table.queueFor(15)).toBe(0)
    expect(table.entry(8)).toBeUndefined()
    expect(table.entry(-1)).toBeUndefined()
  })

  it("equal(n) refills round-robin over the first n queues", () => {
    const table = IndirectionTable.make(8, 16)
    if (table === undefined) throw new Error("no table")
    expect(table.equal(3)).toBe(true)
    expect(table.toArray()).toEqual(Array.from({ length: 16 }, (_, i) => i % 3))
    expect(table.equal(0)).toBe(false)
    expect(table.equal(9)).toBe(false)
    expect(table.toArray()).toEqual(Array.from({ length: 16 }, (_, i) => i % 3))
  })

  it("refuses sizes that are not powers of two in range, and queue counts out of range", () => {
    for (const size of [0, 3, 100, 127, 1.5, -128, Number.NaN, 2 ** 17]) expect(IndirectionTable.make(4, size)).toBeUndefined()
    for (const queues of [0, -1, 1.5, Number.NaN, 2 ** 16 + 1]) expect(IndirectionTable.make(queues)).toBeUndefined()
    expect(IndirectionTable.make(1, 1)?.queueFor(12345)).toBe(0)
    expect(IndirectionTable.make(65536, 65536)?.queueFor(0xffff)).toBe(0xffff)
  })
})
