/**
 * UDP across whole hosts (NICs, drivers, wires, a router), under TestClock:
 * echo across the router and over loopback, with and without checksum
 * offloads; ephemeral ports; a closed port answered by ICMP port unreachable
 * that a connected sender sees as ECONNREFUSED; no ICMP for broadcasts; a
 * full receive queue; corrupted and checksum-less datagrams off the wire;
 * a 20 000-byte datagram fragmented twice and reassembled; and a property:
 * random datagrams over links of random MTUs with loss and duplication
 * arrive intact, at most once unless a wire duplicated, and every one lost
 * is explained by a wire's loss counter or a named drop counter.
 */
import { describe, expect, it } from "@effect/vitest"
import { ipv4PseudoHeaderSum, PacketBuffer } from "@netstack/buffers"
import { type Impairments, sumCounters, unaccounted } from "@netstack/device"
import { EthernetDevice } from "@netstack/l2"
import { DEFAULT_EPHEMERAL_RANGE, type UdpDatagram, type UdpSocket } from "@netstack/l4"
import { advanceClock, type Host, Network, whileClockAdvances } from "@netstack/stack"
import { emitEthernet, emitIpv4, emitUdp, EtherTypes } from "@netstack/wire"
import { Duration, Effect } from "effect"
import fc from "fast-check"
import { deterministic, ip, triangle } from "./support/topology.ts"
import { propertyRuns } from "@netstack/test-support"

const B = ip("10.0.2.1")

/** An echo server on `socket`: every datagram goes back to its sender. */
const echo = (socket: UdpSocket) =>
  Effect.forkChild(Effect.forever(Effect.flatMap(socket.receive, (d) => Effect.ignore(socket.send(d.data, d.from)))))

/** `n` bytes that differ from run to run of `seed`. */
const pattern = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) & 0xff)

describe("UDP between hosts", () => {
  it.effect("echo across a router: the reply comes back from the server's port with the data", () =>
    Effect.gen(function*() {
      const { a, r, b } = yield* triangle()
      const server = yield* b.udp.bind({ port: 7 })
      yield* echo(server)
      const client = yield* a.udp.bind()
      const data = pattern(100, 1)
      yield* client.send(data, { address: B, port: 7 })
      const reply = yield* whileClockAdvances(client.receive, 1_000)
      expect(reply._tag).toBe("Success")
      if (reply._tag === "Success") {
        expect(reply.success.data).toEqual(data)
        expect(reply.success.from).toEqual({ address: B, port: 7 })
      }
      expect(a.udp.stats).toMatchObject({ OutDatagrams: 1, InDatagrams: 1, InErrors: 0 })
      expect(b.udp.stats).toMatchObject({ OutDatagrams: 1, InDatagrams: 1, InErrors: 0, NoPorts: 0 })
      expect(r.ipv4.stats.ForwDatagrams).toBe(2)
    }))

  it.effect("echo over loopback, and between hosts whose NICs have no checksum offload (software checksums both ways)", () =>
    Effect.gen(function*() {
      const net = Network.make()
      const a = yield* net.host("a")
      const b = yield* net.host("b")
      const noOffload = { offloads: { rxChecksum: false, txChecksum: false } }
      yield* net.link(a, b, { a: "10.0.0.1/24", b: "10.0.0.2/24", nic: noOffload, impairments: { delay: Duration.millis(1) } })
      const local = yield* a.udp.bind({ address: ip("127.0.0.1"), port: 7 })
      yield* echo(local)
      const remote = yield* b.udp.bind({ port: 7 })
      yield* echo(remote)
      const client = yield* a.udp.bind()
      for (const [address, size] of [[ip("127.0.0.1"), 3000], [ip("10.0.0.2"), 1000], [ip("10.0.0.2"), 0]] as const) {
        const data = pattern(size, size)
        yield* client.send(data, { address, port: 7 })
        const reply = yield* whileClockAdvances(client.receive, 1_000)
        expect(reply._tag === "Success" ? reply.success : reply).toEqual({ data, from: { address, port: 7 }, to: expect.any(Number) })
      }
      expect(a.udp.stats.InCsumErrors + b.udp.stats.InCsumErrors).toBe(0)
    }))

  it.effect("ephemeral ports are distinct and in Linux's range", () =>
    Effect.gen(function*() {
      const { a } = yield* triangle()
      const ports: Array<number> = []
      for (let i = 0; i < 100; i++) ports.push((yield* a.udp.bind()).local.port)
      expect(new Set(ports).size).toBe(100)
      expect(ports.every((p) => p >= DEFAULT_EPHEMERAL_RANGE.low && p <= DEFAULT_EPHEMERAL_RANGE.high)).toBe(true)
      expect((yield* Effect.flip(a.udp.bind({ port: ports[0] ?? 0 }))).reason).toBe("address-in-use")
    }))
})

describe("UDP to a closed port", () => {
  it.effect("the sender gets ICMP port unreachable; a connected sender's next receive fails with ECONNREFUSED", () =>
    Effect.gen(function*() {
      const { a, b } = yield* triangle()
      const client = yield* a.udp.bind()
      yield* client.connect(B, 9999)
      yield* client.send(pattern(10, 2))
      const result = yield* whileClockAdvances(Effect.flip(client.receive), 1_000)
      const error = result._tag === "Success" ? result.success : undefined
      expect(error).toMatchObject({ reason: "connection-refused", address: "10.0.2.1:9999" })
      expect(error?.errno).toBe("ECONNREFUSED")
      expect(b.udp.stats.NoPorts).toBe(1)
      expect(b.icmp.stats.OutDestUnreachs).toBe(1)
      expect(a.icmp.stats.InDestUnreachs).toBe(1)
      // An unconnected sender hears it too (ICMP), but its socket reports nothing (no IP_RECVERR).
      const other = yield* a.udp.bind()
      yield* other.send(pattern(10, 3), { address: B, port: 9999 })
      yield* advanceClock(20)
      expect(a.icmp.stats.InDestUnreachs).toBe(2)
      expect(other.tryReceive()).toBeUndefined()
    }))

  it.effect("a broadcast nobody listens for draws no ICMP error; a listener on the port gets it", () =>
    Effect.gen(function*() {
      const { a, r } = yield* triangle()
      const sender = yield* a.udp.bind({ broadcast: true })
      yield* sender.send(pattern(10, 4), { address: ip("10.0.1.255"), port: 9999 })
      yield* sender.send(pattern(10, 5), { address: 0xffffffff, port: 9999 })
      yield* advanceClock(20)
      expect(r.udp.stats).toMatchObject({ IgnoredMulti: 2, NoPorts: 0 })
      expect(r.icmp.stats.OutDestUnreachs).toBe(0)
      expect(a.icmp.stats.InDestUnreachs).toBe(0)
      const listener = yield* r.udp.bind({ port: 9999 })
      yield* sender.send(pattern(10, 6), { address: ip("10.0.1.255"), port: 9999 })
      const got = yield* whileClockAdvances(listener.receive, 100)
      expect(got._tag === "Success" ? got.success : got).toMatchObject({ from: { address: ip("10.0.1.1") }, to: ip("10.0.1.255") })
    }))
})

describe("UDP receive side", () => {
  it.effect("a full receive queue drops and counts; what was queued is read in order", () =>
    Effect.gen(function*() {
      const { a, b } = yield* triangle()
      const server = yield* b.udp.bind({ port: 7, receiveBuffer: 4 * (500 + 256) })
      const client = yield* a.udp.bind()
      for (let i = 0; i < 10; i++) yield* client.send(pattern(500, i), { address: B, port: 7 })
      yield* advanceClock(50)
      expect(server.queue.length).toBe(4)
      expect(b.udp.stats).toMatchObject({ RcvbufErrors: 6, InErrors: 6 })
      expect(server.drops).toBe(6)
      for (let i = 0; i < 4; i++) expect((yield* server.receive).data).toEqual(pattern(500, i))
    }))

  /** A frame from x to b holding a UDP datagram to port 7, with its checksum field replaced by `checksum` when given. */
  const frame = (from: EthernetDevice, to: EthernetDevice, data: Uint8Array, checksum?: number): Uint8Array => {
    const source = ip("10.0.0.1")
    const destination = ip("10.0.0.2")
    const packet = PacketBuffer.fromBytes(data, 64)
    emitUdp(packet, { sourcePort: 1000, destinationPort: 7 }, {
      mode: "full",
      pseudoHeaderSum: ipv4PseudoHeaderSum(source, destination, 17, 8 + data.length)
    })
    if (checksum !== undefined) packet.setUint16(6, checksum)
    emitIpv4(packet, {
      dscp: 0,
      ecn: 0,
      identification: 9,
      reservedFlag: false,
      dontFragment: false,
      moreFragments: false,
      fragmentOffset: 0,
      ttl: 64,
      protocol: 17,
      source,
      destination
    })
    emitEthernet(packet, { destination: to.mac, source: from.mac, etherType: EtherTypes.ipv4 })
    const bytes = packet.toUint8Array()
    packet.release()
    return bytes
  }

  for (const rxChecksum of [true, false]) {
    it.effect(`a corrupted datagram off the wire is dropped as InCsumErrors; a zero checksum is accepted (rx offload ${rxChecksum ? "on" : "off"})`, () =>
      Effect.gen(function*() {
        const net = Network.make()
        const x = yield* net.host("x")
        const b = yield* net.host("b")
        const link = yield* net.link(x, b, { a: "10.0.0.1/24", b: "10.0.0.2/24", nic: { offloads: { rxChecksum } } })
        const server = yield* b.udp.bind({ port: 7 })
        const good = frame(link.a, link.b, pattern(40, 1))
        // Flip one data bit (the last byte), as a bad link would.
        const bad = good.slice()
        bad[bad.length - 1] ^= 0x10
        link.wire.a.send(bad)
        link.wire.a.send(frame(link.a, link.b, pattern(40, 2), 0))
        link.wire.a.send(good)
        yield* advanceClock(5)
        expect(b.udp.stats).toMatchObject({ InCsumErrors: 1, InErrors: 1 })
        expect(b.link.drops.get("udp.bad-checksum")).toBe(1)
        expect((yield* server.receive).data).toEqual(pattern(40, 2))
        expect((yield* server.receive).data).toEqual(pattern(40, 1))
        expect(server.tryReceive()).toBeUndefined()
      }))
  }

  it.effect("a 20 000-byte datagram is fragmented (and refragmented by the router) and arrives intact", () =>
    Effect.gen(function*() {
      const { a, r, b } = yield* triangle({ mtuAR: 1500, mtuRB: 576 })
      const server = yield* b.udp.bind({ port: 7 })
      const client = yield* a.udp.bind()
      const data = pattern(20_000, 9)
      yield* client.send(data, { address: B, port: 7 })
      const got = yield* whileClockAdvances(server.receive, 1_000)
      expect(got._tag === "Success" ? got.success.data : got).toEqual(data)
      expect(a.ipv4.stats.FragCreates).toBe(14) // ⌈20 008 / 1480⌉
      expect(r.ipv4.stats.FragCreates).toBeGreaterThan(14)
      expect(b.ipv4.reassembler.snapshot()).toMatchObject({ bytesHeld: 0, queues: 0 })
    }))
})

// ---------------------------------------------------------------------------
// Random datagrams over impaired links (property)
// ---------------------------------------------------------------------------

const probability = (maxPermille: number): fc.Arbitrary<number> => fc.integer({ min: 0, max: maxPermille }).map((n) => n / 1000)

const caseArb = fc.record({
  seed: fc.integer({ min: 0, max: 0x7fffffff }),
  mtuAR: fc.integer({ min: 576, max: 9000 }),
  mtuRB: fc.integer({ min: 576, max: 9000 }),
  loss: fc.oneof(fc.constant(0), probability(100)),
  duplicate: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: probability(100) }),
  offloads: fc.boolean(),
  sizes: fc.array(fc.integer({ min: 0, max: 9000 }), { minLength: 1, maxLength: 20 })
})

type Case = typeof caseArb extends fc.Arbitrary<infer A> ? A : never

/**
 * Packets a host dropped, under a name: link-layer and protocol drops (not
 * the ICMP errors UDP ignored: those are messages heard, not packets lost),
 * NIC, qdisc and driver drops, and UDP's receive errors.
 */
const namedDrops = (host: Host): number => {
  let total = host.udp.stats.InErrors
  for (const [name, n] of Object.entries(host.link.drops.snapshot())) if (!name.startsWith("udp.icmp-error")) total += n
  for (const device of host.link.devices()) {
    if (!(device instanceof EthernetDevice)) continue
    const nic = device.driver.nic.stats()
    total += device.qdisc.drops + device.driver.stats.txDropped
    total += (nic["rx_missed_errors"] ?? 0) + (nic["rx_length_errors"] ?? 0) + (nic["rx_carrier_drops"] ?? 0) +
      (nic["tx_errors"] ?? 0) + (nic["tx_carrier_errors"] ?? 0)
  }
  return total
}

/** The seq a datagram carries in its first 4 bytes, or -1 when shorter. */
const seqOf = (data: Uint8Array): number =>
  data.length < 4 ? -1 : ((data[0] << 24) | (data[1] << 16) | (data[2] << 8) | data[3]) >>> 0

/** Datagram `i` of a run: size bytes, its index in the first 4 (when they fit), then a pattern. */
const payload = (i: number, size: number, seed: number): Uint8Array => {
  const data = pattern(size, seed + i)
  if (size >= 4) data.set([(i >>> 24) & 0xff, (i >>> 16) & 0xff, (i >>> 8) & 0xff, i & 0xff])
  return data
}

const sendAcross = (c: Case) =>
  Effect.gen(function*() {
    const impairments: Impairments = { delay: Duration.millis(1), loss: c.loss, duplicate: c.duplicate }
    const net = Network.make()
    const a = yield* net.host("a")
    const r = yield* net.router("r")
    const b = yield* net.host("b")
    const nic = c.offloads ? {} : { offloads: { rxChecksum: false, txChecksum: false } }
    const ar = yield* net.link(a, r, { a: "10.0.1.1/24", b: "10.0.1.254/24", mtu: c.mtuAR, impairments, nic })
    const rb = yield* net.link(r, b, { a: "10.0.2.254/24", b: "10.0.2.1/24", mtu: c.mtuRB, impairments, nic })
    a.addRoute({ destination: "default", via: "10.0.1.254" })
    b.addRoute({ destination: "default", via: "10.0.2.254" })
    // Resolve ARP along the path first (it may fail on a lossy wire; the datagrams then wait for ARP).
    yield* whileClockAdvances(a.ping("10.0.2.1", { timeout: "1 second" }), 1_100)
    const server = yield* b.udp.bind({ port: 7, receiveBuffer: 64 * 1024 * 1024 })
    const received: Array<UdpDatagram> = []
    yield* Effect.forkChild(Effect.forever(Effect.map(server.receive, (d) => void received.push(d))))
    const client = yield* a.udp.bind()
    const sent = c.sizes.map((size, i) => payload(i, size, c.seed))
    const wires = [ar.wire.counters("aToB"), rb.wire.counters("aToB")]
    const before = sumCounters(wires)
    for (const data of sent) {
      const error = yield* Effect.flip(client.send(data, { address: B, port: 7 })).pipe(Effect.orElseSucceed(() => undefined))
      expect(error).toBeUndefined()
      yield* advanceClock(1)
    }
    // Until everything arrived, or 5 s (whileClockAdvances waits for the effect itself, so it must end): a
    // datagram may wait for ARP, whose request or reply a lossy wire can lose (one retry a second, RFC 1122
    // §2.3.2.1); resolution that fails drops what waited, under a name.
    yield* whileClockAdvances(
      Effect.gen(function*() {
        while (received.length < sent.length) yield* Effect.sleep("1 millis")
      }).pipe(Effect.timeoutOption("5 seconds")),
      5_100,
      5
    )
    const after = sumCounters([ar.wire.counters("aToB"), rb.wire.counters("aToB")])
    return {
      sent,
      received,
      clientPort: client.local.port,
      lost: after.lost - before.lost,
      duplicated: after.duplicated - before.duplicated,
      drops: namedDrops(a) + namedDrops(r) + namedDrops(b),
      fragmentationNeeded: r.link.drops.get("ipv4.fragmentation-needed"),
      icmpIgnored: a.link.drops.get("udp.icmp-error-ignored"),
      wires: [ar.wire, rb.wire].flatMap((w) => [w.counters("aToB"), w.counters("bToA")]),
      sentCount: a.udp.stats.OutDatagrams
    }
  })

describe("random datagrams over impaired links (property)", () => {
  it("arrive intact, at most once unless a wire duplicated, and every loss is a counted one", async () => {
    const totals = { delivered: 0, perfectRuns: 0, pmtuLosses: 0 }
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const run = await deterministic(c.seed, sendAcross(c))
        expect(run.sentCount).toBe(c.sizes.length)
        const counts = new Array<number>(run.sent.length).fill(0)
        for (const got of run.received) {
          expect(got.from).toEqual({ address: ip("10.0.1.1"), port: run.clientPort })
          // Exactly a datagram that was sent: by its index when it has one, else by its bytes (one not matched
          // yet if there is one; else a copy the wire duplicated, which the duplicate count below bounds).
          const seq = seqOf(got.data)
          const sameBytes = (s: Uint8Array) => s.length < 4 && s.length === got.data.length && s.every((v, k) => v === got.data[k])
          const unmatched = run.sent.findIndex((s, i) => counts[i] === 0 && sameBytes(s))
          const index = seq >= 0 && seq < run.sent.length ? seq : unmatched >= 0 ? unmatched : run.sent.findIndex(sameBytes)
          expect(index, `a datagram nobody sent: ${got.data.length} bytes`).toBeGreaterThanOrEqual(0)
          expect(got.data).toEqual(run.sent[index])
          counts[index] = (counts[index] ?? 0) + 1
        }
        const duplicates = counts.reduce((n, k) => n + Math.max(0, k - 1), 0)
        const missing = counts.filter((k) => k === 0).length
        expect(duplicates).toBeLessThanOrEqual(run.duplicated)
        // Each missing datagram had a frame lost on a wire or dropped under a name somewhere.
        expect(missing, JSON.stringify({ lost: run.lost, drops: run.drops })).toBeLessThanOrEqual(run.lost + run.drops)
        if (c.loss === 0 && c.duplicate === 0) {
          totals.perfectRuns++
          expect(duplicates).toBe(0)
          // On perfect wires the only loss is path-MTU discovery's (IP_PMTUDISC_WANT, Linux's default): a
          // datagram with DF that fits the first link but not the second is dropped by the router, whose
          // fragmentation needed teaches the sender the path MTU (the unconnected socket hears no error).
          expect(missing).toBe(run.fragmentationNeeded)
          expect(run.icmpIgnored).toBe(run.fragmentationNeeded)
          if (run.fragmentationNeeded > 0) totals.pmtuLosses++
        }
        for (const counters of run.wires) expect(unaccounted(counters)).toBe(0)
        totals.delivered += run.received.length
      }),
      { numRuns: propertyRuns(15) }
    )
    expect(totals.delivered).toBeGreaterThan(0)
    expect(totals.perfectRuns).toBeGreaterThan(0)
    expect(totals.pmtuLosses).toBeGreaterThan(0)
  }, 120_000)
})
