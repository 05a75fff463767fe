/**
 * UDP against one host's IPv4 alone (no NICs): datagrams are built by hand
 * and handed to `ipv4.receive` on a stub interface; what the host sends is
 * caught from the stub's transmit. Covers the receive path's validation
 * (RFC 768 lengths, checksums), delivery (exact before wildcard, connected
 * sockets, broadcast copies), ICMP port unreachable (RFC 1122 §4.1.3.1) and
 * its absence for broadcasts, the bounded receive queue, bind conflicts, the
 * output path's checks, ICMP errors reaching connected sockets, and a
 * property: random (often malformed) datagrams never throw and each is
 * either queued or counted once.
 */
import { describe, expect, it } from "@effect/vitest"
import { ipv4PseudoHeaderSum, PacketBuffer } from "@netstack/buffers"
import { LinkLayer, NeighbourTable, type NetDevice, TimerQueue } from "@netstack/l2"
import { stubDevice } from "@netstack/l2/testing"
import { Icmp, IcmpRateLimiter, Ipv4, PmtuCache } from "@netstack/l3"
import { DEFAULT_EPHEMERAL_RANGE, MAX_UDP_PAYLOAD, Udp, UdpError, UdpSocket } from "@netstack/l4"
import {
  emitIcmpv4,
  emitIpv4,
  emitUdp,
  ETHERNET_HEADER_LENGTH,
  Icmpv4View,
  ipv4FromString,
  Ipv4View,
  readU16,
  UdpView
} from "@netstack/wire"
import { Effect, Exit, Fiber } from "effect"
import fc from "fast-check"

const ip = (text: string): number => ipv4FromString(text) ?? 0

const HOST = ip("10.0.0.1")
const PEER = ip("10.0.0.2")
const OTHER = ip("10.0.0.3")
const SUBNET_BROADCAST = ip("10.0.0.255")
/** A second address of the host. */
const SECOND = ip("192.168.1.1")

/** A small seeded generator (mulberry32) for the allocator's key and table. */
const seeded = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** One host: eth0 10.0.0.1/24 and 192.168.1.1/24 (a stub catching what is sent), the peers 10.0.0.2 and .3 resolved permanently. */
const host = Effect.gen(function*() {
  const link = yield* LinkLayer.make()
  const timers = yield* TimerQueue.make()
  const sent: Array<PacketBuffer> = []
  const eth0 = stubDevice("eth0", 2, { mac: 0x020000000001, transmit: (frame) => void sent.push(frame) })
  link.register(eth0)
  let ipv4: Ipv4 | undefined = undefined
  const neighbours = NeighbourTable.make({
    link,
    timers,
    random: () => 0.5,
    addresses: {
      isLocal: (_device, address) => ipv4?.addresses.isLocal(address) ?? false,
      sourceFor: (device, target) => ipv4?.addresses.sourceFor(device, target)
    },
    unreachable: (packet) => void packet.release()
  })
  const ip4 = yield* Ipv4.make({ link, neighbours, timers, pmtu: new PmtuCache(), random: () => 0.25 })
  ipv4 = ip4
  const icmp = Icmp.attach(ip4, new IcmpRateLimiter(), link.drops)
  const udp = Udp.attach(ip4, { drops: link.drops, random: seeded(7) })
  ip4.addAddress(eth0, HOST, 24)
  ip4.addAddress(eth0, SECOND, 24)
  neighbours.addPermanent(eth0, PEER, 0x020000000002)
  neighbours.addPermanent(eth0, OTHER, 0x020000000003)
  sent.length = 0 // the gratuitous ARP
  return { link, ipv4: ip4, icmp, udp, eth0, sent }
})

type Host = Effect.Success<typeof host>

interface Inbound {
  readonly source?: number
  readonly destination?: number
  readonly sourcePort?: number
  readonly destinationPort: number
  readonly data: Uint8Array
  /** Overwrite the UDP checksum field with this value. */
  readonly checksum?: number
  /** Overwrite the UDP length field with this value. */
  readonly udpLength?: number
  /** The link-layer packet type (broadcast for a frame sent to ff:ff:ff:ff:ff:ff). */
  readonly packetType?: "host" | "broadcast"
  /** Mark the checksum as verified by the NIC. */
  readonly verified?: boolean
}

/** An IPv4 datagram holding a UDP datagram, data at the IP header. */
const datagram = (d: Inbound): PacketBuffer => {
  const source = d.source ?? PEER
  const destination = d.destination ?? HOST
  const packet = PacketBuffer.fromBytes(d.data, 128)
  const length = 8 + d.data.length
  emitUdp(packet, { sourcePort: d.sourcePort ?? 40000, destinationPort: d.destinationPort }, {
    mode: "full",
    pseudoHeaderSum: ipv4PseudoHeaderSum(source, destination, 17, length)
  })
  if (d.udpLength !== undefined) packet.setUint16(4, d.udpLength)
  if (d.checksum !== undefined) packet.setUint16(6, d.checksum)
  emitIpv4(packet, {
    dscp: 0,
    ecn: 0,
    identification: 1,
    reservedFlag: false,
    dontFragment: false,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 64,
    protocol: 17,
    source,
    destination
  })
  packet.meta.packetType = d.packetType ?? "host"
  if (d.verified === true) packet.meta.checksum = { _tag: "Unnecessary" }
  return packet
}

/** Hands `d` to the host as received on eth0. */
const inject = (h: Host, d: Inbound, device: NetDevice = h.eth0): void => h.ipv4.receive(datagram(d), device)

/** A frame the host sent, decoded. */
interface Sent {
  readonly protocol: number
  readonly source?: number
  readonly destination?: number
  readonly dontFragment?: boolean
  /** ICMP. */
  readonly type?: number
  readonly code?: number
  readonly quoted?: Uint8Array
  /** UDP. */
  readonly sourcePort?: number
  readonly destinationPort?: number
  readonly checksumOk?: boolean
  readonly data?: Uint8Array
}

/** What the host sent: each frame's IP protocol, and for ICMP its type and code, for UDP its ports and data. */
const drain = (h: Host): Array<Sent> => {
  const out = h.sent.splice(0).map((frame): Sent => {
    frame.pull(ETHERNET_HEADER_LENGTH)
    const view = Ipv4View.parse(frame)
    if (!(view instanceof Ipv4View)) return { protocol: -1 }
    const at = view.headerLength
    const common = { protocol: view.protocol, source: view.source, destination: view.destination, dontFragment: view.dontFragment }
    frame.pull(at)
    if (view.protocol === 1) {
      const icmp = Icmpv4View.parse(frame)
      const result = icmp instanceof Icmpv4View
        ? { ...common, type: icmp.type, code: icmp.code, quoted: frame.toUint8Array().subarray(8) }
        : common
      frame.release()
      return result
    }
    const udp = UdpView.parse(frame)
    const result = udp instanceof UdpView
      ? {
        ...common,
        sourcePort: udp.sourcePort,
        destinationPort: udp.destinationPort,
        checksumOk: udp.checksum !== 0 && udp.verifyChecksum(ipv4PseudoHeaderSum(view.source, view.destination, 17, udp.length), false),
        data: frame.toUint8Array().subarray(8)
      }
      : common
    frame.release()
    return result
  })
  return out
}

const bytes = (...values: Array<number>): Uint8Array => Uint8Array.from(values)

/** The socket, failing the test on a bind error. */
const open = (h: Host, options: Parameters<Udp["open"]>[0] = {}): UdpSocket => {
  const s = h.udp.open(options)
  if (s instanceof UdpError) throw new Error(`bind failed: ${s.reason}`)
  return s
}

describe("UDP receive", () => {
  it.effect("delivers to the bound socket a fresh copy of the data, with the sender, counting InDatagrams when read", () =>
    Effect.gen(function*() {
      const h = yield* host
      const socket = open(h, { port: 53 })
      const packet = datagram({ destinationPort: 53, sourcePort: 1234, data: bytes(1, 2, 3) })
      const storage = packet.bytes
      h.ipv4.receive(packet, h.eth0)
      expect(packet.isReleased).toBe(true)
      expect(h.udp.stats.InDatagrams).toBe(0) // Linux counts on read
      const got = yield* socket.receive
      expect(got.data).toEqual(bytes(1, 2, 3))
      expect(got.data.buffer).not.toBe(storage.buffer)
      expect(got.from).toEqual({ address: PEER, port: 1234 })
      expect(got.to).toBe(HOST)
      expect(h.udp.stats.InDatagrams).toBe(1)
    }))

  it.effect("a waiting receive resumes when a datagram arrives", () =>
    Effect.gen(function*() {
      const h = yield* host
      const socket = open(h, { port: 9 })
      const reader = yield* Effect.forkChild(socket.receive)
      yield* Effect.yieldNow
      expect(reader.pollUnsafe()).toBeUndefined()
      inject(h, { destinationPort: 9, data: bytes(42) })
      const got = yield* Fiber.join(reader)
      expect(got.data).toEqual(bytes(42))
    }))

  it.effect("an exact local address wins over the wildcard; a connected socket hears only its peer", () =>
    Effect.gen(function*() {
      const h = yield* host
      const wildcard = open(h, { port: 7, reuseAddress: true })
      const exact = open(h, { address: HOST, port: 7, reuseAddress: true })
      inject(h, { destinationPort: 7, data: bytes(1) })
      expect(exact.queue.length).toBe(1)
      expect(wildcard.queue.length).toBe(0)

      const h2 = yield* host
      const server = open(h2, { port: 5000 })
      const connected = open(h2, { port: 6000 })
      yield* connected.connect(PEER, 4000)
      expect(connected.local).toEqual({ address: HOST, port: 6000 }) // the wildcard took the route's source
      inject(h2, { destinationPort: 6000, sourcePort: 4000, data: bytes(1) })
      inject(h2, { destinationPort: 6000, sourcePort: 4001, data: bytes(2) }) // wrong port
      inject(h2, { source: OTHER, destinationPort: 6000, sourcePort: 4000, data: bytes(3) }) // wrong address
      expect(connected.queue.length).toBe(1)
      expect((yield* connected.receive).data).toEqual(bytes(1))
      expect(h2.udp.stats.NoPorts).toBe(2)
      expect(server.queue.length).toBe(0)
    }))

  it.effect("a length field shorter than the payload trims it; a longer one, or a short header, is dropped (RFC 768)", () =>
    Effect.gen(function*() {
      const h = yield* host
      const socket = open(h, { port: 53 })
      // The checksum covers the 8 + 2 bytes the length field says; the 2 extra bytes are not the datagram's.
      const packet = PacketBuffer.fromBytes(bytes(1, 2), 128)
      emitUdp(packet, { sourcePort: 1, destinationPort: 53 }, { mode: "full", pseudoHeaderSum: ipv4PseudoHeaderSum(PEER, HOST, 17, 10) })
      const whole = new Uint8Array(packet.length + 2)
      packet.copyOut(0, packet.length, whole)
      whole.set([9, 9], packet.length)
      packet.release()
      const padded = PacketBuffer.fromBytes(whole, 128)
      emitIpv4(padded, {
        dscp: 0,
        ecn: 0,
        identification: 2,
        reservedFlag: false,
        dontFragment: false,
        moreFragments: false,
        fragmentOffset: 0,
        ttl: 64,
        protocol: 17,
        source: PEER,
        destination: HOST
      })
      h.ipv4.receive(padded, h.eth0)
      expect((yield* socket.receive).data).toEqual(bytes(1, 2))

      inject(h, { destinationPort: 53, data: bytes(1, 2, 3), udpLength: 8 + 4 })
      inject(h, { destinationPort: 53, data: bytes(1, 2, 3), udpLength: 7 })
      expect(socket.queue.length).toBe(0)
      expect(h.udp.stats.InErrors).toBe(2)
      expect(h.link.drops.get("udp.bad-length")).toBe(2)
    }))

  it.effect("a bad checksum is dropped and counted; zero means none (RFC 768); a NIC-verified one is not checked again", () =>
    Effect.gen(function*() {
      const h = yield* host
      const socket = open(h, { port: 53 })
      const good = datagram({ destinationPort: 53, data: bytes(1, 2, 3) })
      const field = readU16(good.bytes, good.data + 20 + 6)
      good.release()
      const bad = field === 0xffff ? 0x1234 : field + 1
      inject(h, { destinationPort: 53, data: bytes(1, 2, 3), checksum: bad })
      expect(h.udp.stats).toMatchObject({ InCsumErrors: 1, InErrors: 1 })
      expect(socket.queue.length).toBe(0)
      inject(h, { destinationPort: 53, data: bytes(4), checksum: 0 })
      inject(h, { destinationPort: 53, data: bytes(5), checksum: bad, verified: true })
      expect((yield* socket.receive).data).toEqual(bytes(4))
      expect((yield* socket.receive).data).toEqual(bytes(5))
      expect(h.udp.stats.InCsumErrors).toBe(1)
    }))
})

describe("UDP with no socket", () => {
  it.effect("a unicast datagram to a closed port gets ICMP port unreachable quoting it, and counts NoPorts", () =>
    Effect.gen(function*() {
      const h = yield* host
      inject(h, { destinationPort: 9999, sourcePort: 4321, data: bytes(1, 2, 3, 4) })
      expect(h.udp.stats.NoPorts).toBe(1)
      const [reply, ...rest] = drain(h)
      expect(rest).toEqual([])
      expect(reply).toMatchObject({ protocol: 1, destination: PEER, source: HOST, type: 3, code: 3 })
      // The quote starts with our IP header; the UDP ports follow it.
      const quoted = reply?.quoted ?? new Uint8Array(0)
      expect(readU16(quoted, 20)).toBe(4321)
      expect(readU16(quoted, 22)).toBe(9999)
      expect(h.icmp.stats.OutDestUnreachs).toBe(1)
    }))

  it.effect("a broadcast to a port no one has gets no ICMP error (RFC 1122 §4.1.3.1) and counts IgnoredMulti", () =>
    Effect.gen(function*() {
      const h = yield* host
      inject(h, { destination: SUBNET_BROADCAST, destinationPort: 9999, data: bytes(1), packetType: "broadcast" })
      inject(h, { destination: 0xffffffff, destinationPort: 9999, data: bytes(1), packetType: "broadcast" })
      expect(drain(h)).toEqual([])
      expect(h.udp.stats).toMatchObject({ NoPorts: 0, IgnoredMulti: 2 })
      expect(h.icmp.stats.OutDestUnreachs).toBe(0)
    }))
})

describe("UDP broadcast delivery", () => {
  it.effect("every matching socket gets its own copy; a socket bound to a unicast address or connected elsewhere does not", () =>
    Effect.gen(function*() {
      const h = yield* host
      const a = open(h, { port: 67, reuseAddress: true })
      const b = open(h, { port: 67, reuseAddress: true })
      const unicast = open(h, { address: HOST, port: 67, reuseAddress: true })
      const elsewhere = open(h, { port: 67, reuseAddress: true })
      yield* elsewhere.connect(OTHER, 68)
      inject(h, { destination: SUBNET_BROADCAST, destinationPort: 67, sourcePort: 68, data: bytes(1, 2), packetType: "broadcast" })
      const fromA = yield* a.receive
      const fromB = yield* b.receive
      expect(fromA.data).toEqual(bytes(1, 2))
      expect(fromA.to).toBe(SUBNET_BROADCAST)
      fromA.data[0] = 99
      expect(fromB.data).toEqual(bytes(1, 2))
      expect(unicast.queue.length).toBe(0)
      expect(elsewhere.queue.length).toBe(0)
    }))
})

describe("UDP receive queue", () => {
  it.effect("a full queue drops and counts RcvbufErrors, InErrors and the socket's drops; reading makes room", () =>
    Effect.gen(function*() {
      const h = yield* host
      // Room for two datagrams of 1000 bytes (each charged its size plus the overhead), not three.
      const socket = open(h, { port: 53, receiveBuffer: 2 * (1000 + 256) })
      for (let i = 0; i < 5; i++) inject(h, { destinationPort: 53, data: new Uint8Array(1000).fill(i) })
      expect(socket.queue.length).toBe(2)
      expect(h.udp.stats).toMatchObject({ RcvbufErrors: 3, InErrors: 3 })
      expect(socket.drops).toBe(3)
      expect(h.link.drops.get("udp.rcvbuf-full")).toBe(3)
      expect((yield* socket.receive).data[0]).toBe(0)
      inject(h, { destinationPort: 53, data: new Uint8Array(1000).fill(7) })
      expect(socket.queue.length).toBe(2)
      expect((yield* socket.receive).data[0]).toBe(1)
      expect((yield* socket.receive).data[0]).toBe(7)
    }))

  it.effect("an empty queue takes one datagram larger than the buffer", () =>
    Effect.gen(function*() {
      const h = yield* host
      const socket = open(h, { port: 53, receiveBuffer: 100 })
      inject(h, { destinationPort: 53, data: new Uint8Array(500) })
      inject(h, { destinationPort: 53, data: new Uint8Array(1) })
      expect(socket.queue.length).toBe(1)
      expect(h.udp.stats.RcvbufErrors).toBe(1)
    }))
})

describe("UDP bind", () => {
  it.effect("conflicts are EADDRINUSE as Linux reports them; SO_REUSEADDR on both shares the port", () =>
    Effect.gen(function*() {
      const h = yield* host
      open(h, { port: 80 })
      const reason = (options: Parameters<Udp["open"]>[0]) => {
        const r = h.udp.open(options)
        return r instanceof UdpError ? r.reason : "bound"
      }
      expect(reason({ port: 80 })).toBe("address-in-use")
      expect(reason({ address: HOST, port: 80 })).toBe("address-in-use") // the wildcard covers every address
      expect(reason({ address: SECOND, port: 81 })).toBe("bound")
      expect(reason({ address: HOST, port: 81 })).toBe("bound") // another address of the same port
      expect(reason({ port: 81 })).toBe("address-in-use") // the wildcard conflicts with any address
      expect(reason({ port: 82, reuseAddress: true })).toBe("bound")
      expect(reason({ port: 82, reuseAddress: true })).toBe("bound")
      expect(reason({ port: 82 })).toBe("address-in-use")
      expect(reason({ address: ip("192.0.2.1"), port: 83 })).toBe("address-not-available")
      expect(reason({ port: 70000 })).toBe("invalid-argument")
      expect(new UdpError({ reason: "address-in-use" }).errno).toBe("EADDRINUSE")
    }))

  it.effect("a socket bound in a scope frees its port when the scope closes; a closed socket's readers fail", () =>
    Effect.gen(function*() {
      const h = yield* host
      const exit = yield* Effect.exit(Effect.scoped(Effect.gen(function*() {
        const s = yield* h.udp.bind({ port: 5353 })
        expect(h.udp.open({ port: 5353 })).toBeInstanceOf(UdpError)
        return s
      })))
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(h.udp.sockets).toBe(0)
      const again = open(h, { port: 5353 })
      const reader = yield* Effect.forkChild(Effect.flip(again.receive))
      yield* Effect.yieldNow
      yield* again.close
      expect((yield* Fiber.join(reader)).reason).toBe("closed")
      inject(h, { destinationPort: 5353, data: bytes(1) })
      expect(h.udp.stats.NoPorts).toBe(1)
    }))

  it.effect("ephemeral ports are distinct and in Linux's range", () =>
    Effect.gen(function*() {
      const h = yield* host
      const ports = Array.from({ length: 200 }, () => open(h).local.port)
      expect(new Set(ports).size).toBe(200)
      for (const p of ports) {
        expect(p).toBeGreaterThanOrEqual(DEFAULT_EPHEMERAL_RANGE.low)
        expect(p).toBeLessThanOrEqual(DEFAULT_EPHEMERAL_RANGE.high)
      }
    }))

  it.effect("when every ephemeral port is bound, bind(0) fails with a typed error", () =>
    Effect.gen(function*() {
      const h = yield* host
      expect(h.udp.ephemeral.setRange(40000, 40009)).toBeUndefined()
      for (let i = 0; i < 10; i++) open(h)
      const refused = h.udp.open()
      expect(refused instanceof UdpError ? refused.reason : "bound").toBe("ports-exhausted")
    }))
})

describe("UDP send", () => {
  it.effect("writes the header with a valid checksum from the route's source, DF set when it fits (IP_PMTUDISC_WANT)", () =>
    Effect.gen(function*() {
      const h = yield* host
      const socket = open(h, { port: 5000 })
      yield* socket.send(bytes(1, 2, 3), { address: PEER, port: 53 })
      expect(drain(h)).toEqual([
        {
          protocol: 17,
          source: HOST,
          destination: PEER,
          dontFragment: true,
          sourcePort: 5000,
          destinationPort: 53,
          checksumOk: true,
          data: bytes(1, 2, 3)
        }
      ])
      expect(h.udp.stats.OutDatagrams).toBe(1)
      // Larger than the MTU: fragmented, without DF.
      yield* socket.send(new Uint8Array(3000), { address: PEER, port: 53 })
      const fragments = drain(h)
      expect(fragments.length).toBe(3)
      expect(fragments.every((f) => f.dontFragment === false)).toBe(true)
    }))

  it.effect("refuses what Linux refuses, with the errno's reason", () =>
    Effect.gen(function*() {
      const h = yield* host
      const socket = open(h, { port: 5000 })
      const reason = (data: Uint8Array, to?: { address: number; port: number }) =>
        Effect.map(Effect.flip(socket.send(data, to)), (e) => e.reason)
      expect(yield* reason(bytes(1))).toBe("destination-required")
      expect(yield* reason(new Uint8Array(MAX_UDP_PAYLOAD + 1), { address: PEER, port: 53 })).toBe("message-too-big")
      expect(yield* reason(bytes(1), { address: SUBNET_BROADCAST, port: 53 })).toBe("permission-denied")
      expect(yield* reason(bytes(1), { address: 0xffffffff, port: 53 })).toBe("permission-denied")
      expect(yield* reason(bytes(1), { address: ip("192.0.2.1"), port: 53 })).toBe("network-unreachable")
      expect(yield* reason(bytes(1), { address: PEER, port: 0 })).toBe("invalid-argument")
      const doNotFragment = open(h, { pmtuDiscovery: "do" })
      const tooBig = yield* Effect.flip(doNotFragment.send(new Uint8Array(3000), { address: PEER, port: 53 }))
      expect(tooBig).toMatchObject({ reason: "message-too-big", mtu: 1500 })
      expect(tooBig.errno).toBe("EMSGSIZE")
      expect(drain(h)).toEqual([])
      expect(h.udp.stats.OutDatagrams).toBe(0)
      // With SO_BROADCAST it goes, to the link broadcast.
      socket.broadcast = true
      yield* socket.send(bytes(1), { address: SUBNET_BROADCAST, port: 53 })
      yield* socket.send(bytes(2), { address: 0xffffffff, port: 53 })
      expect(drain(h).map((f) => f.destination)).toEqual([SUBNET_BROADCAST, 0xffffffff])
    }))
})

/** An ICMP error from `from` about a UDP datagram HOST:localPort → remote:remotePort, as received on eth0. */
const icmpError = (type: number, code: number, localPort: number, remote: number, remotePort: number, from = remote): PacketBuffer => {
  const quoted = PacketBuffer.fromBytes(new Uint8Array(4), 128)
  emitUdp(quoted, { sourcePort: localPort, destinationPort: remotePort }, { mode: "full", pseudoHeaderSum: 0 })
  emitIpv4(quoted, {
    dscp: 0,
    ecn: 0,
    identification: 3,
    reservedFlag: false,
    dontFragment: false,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 64,
    protocol: 17,
    source: HOST,
    destination: remote
  })
  const packet = PacketBuffer.fromBytes(quoted.toUint8Array(), 128)
  quoted.release()
  emitIcmpv4(packet, { type, code, restOfHeader: 0 }, "full")
  emitIpv4(packet, {
    dscp: 0,
    ecn: 0,
    identification: 4,
    reservedFlag: false,
    dontFragment: false,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 64,
    protocol: 1,
    source: from,
    destination: HOST
  })
  return packet
}

describe("UDP and ICMP errors", () => {
  it.effect("port unreachable fails a connected socket's waiting receive with ECONNREFUSED, once; then its send", () =>
    Effect.gen(function*() {
      const h = yield* host
      const socket = open(h, { port: 5000 })
      yield* socket.connect(PEER, 53)
      const reader = yield* Effect.forkChild(Effect.flip(socket.receive))
      yield* Effect.yieldNow
      h.ipv4.receive(icmpError(3, 3, 5000, PEER, 53), h.eth0)
      const error = yield* Fiber.join(reader)
      expect(error).toMatchObject({ reason: "connection-refused", address: "10.0.0.2:53" })
      expect(error.errno).toBe("ECONNREFUSED")
      // Reported once (Linux `sock_error` clears it): the next send goes.
      yield* socket.send(bytes(1))
      h.ipv4.receive(icmpError(3, 3, 5000, PEER, 53), h.eth0)
      // Pending until a call takes it: `peekError` shows it (what poll reports as POLLERR) and leaves it.
      expect(socket.peekError()?.reason).toBe("connection-refused")
      expect(socket.peekError()?.reason).toBe("connection-refused")
      expect((yield* Effect.flip(socket.send(bytes(1)))).reason).toBe("connection-refused")
      expect(socket.peekError()).toBeUndefined()
      yield* socket.send(bytes(1))
    }))

  it.effect("unconnected sockets ignore ICMP errors (no IP_RECVERR); connected ones ignore soft errors", () =>
    Effect.gen(function*() {
      const h = yield* host
      const unconnected = open(h, { port: 5000 })
      const connected = open(h, { port: 5001 })
      yield* connected.connect(PEER, 53)
      h.ipv4.receive(icmpError(3, 3, 5000, PEER, 53), h.eth0)
      h.ipv4.receive(icmpError(3, 1, 5001, PEER, 53), h.eth0) // host unreachable: soft
      h.ipv4.receive(icmpError(11, 0, 5001, PEER, 53, OTHER), h.eth0) // time exceeded: soft
      expect(unconnected.tryReceive()).toBeUndefined()
      expect(connected.tryReceive()).toBeUndefined()
      expect(h.link.drops.get("udp.icmp-error-ignored")).toBe(3)
      // Another peer's error does not reach the connected socket.
      h.ipv4.receive(icmpError(3, 3, 5001, OTHER, 53), h.eth0)
      expect(connected.tryReceive()).toBeUndefined()
      h.ipv4.receive(icmpError(3, 2, 5001, PEER, 53), h.eth0) // protocol unreachable: hard
      expect(connected.tryReceive()).toMatchObject({ reason: "protocol-unavailable" })
    }))
})

describe("UDP receive path (property)", () => {
  it.effect("random, often malformed datagrams never throw; each is queued or counted exactly once", () =>
    Effect.gen(function*() {
      const h = yield* host
      const sockets = [open(h, { port: 1, receiveBuffer: 1 << 30 }), open(h, { address: HOST, port: 2, receiveBuffer: 1 << 30 })]
      const inboundArb = fc.record({
        destinationPort: fc.integer({ min: 1, max: 4 }),
        data: fc.uint8Array({ maxLength: 64 }),
        checksum: fc.option(fc.integer({ min: 0, max: 0xffff }), { nil: undefined }),
        udpLength: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
        broadcast: fc.boolean()
      })
      fc.assert(
        fc.property(fc.array(inboundArb, { maxLength: 30 }), (inputs) => {
          const before = { ...h.udp.stats }
          const queuedBefore = sockets.reduce((n, s) => n + s.queue.length, 0)
          for (const d of inputs) {
            inject(h, {
              destinationPort: d.destinationPort,
              data: d.data,
              ...(d.checksum === undefined ? {} : { checksum: d.checksum }),
              ...(d.udpLength === undefined ? {} : { udpLength: d.udpLength }),
              ...(d.broadcast ? { destination: SUBNET_BROADCAST, packetType: "broadcast" as const } : {})
            })
          }
          const after = h.udp.stats
          const queued = sockets.reduce((n, s) => n + s.queue.length, 0) - queuedBefore
          const counted = after.InErrors - before.InErrors + after.NoPorts - before.NoPorts + after.IgnoredMulti - before.IgnoredMulti
          expect(queued + counted).toBe(inputs.length)
          expect(queued).toBeLessThanOrEqual(inputs.length)
          drain(h)
          for (const s of sockets) s.queue.clear()
        }),
        { numRuns: 50 }
      )
    }))
})
