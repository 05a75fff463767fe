/**
 * ARP and the neighbour table (RFC 826, RFC 1122 §2.3.2, RFC 5227, Linux
 * `net/core/neighbour.c` and `net/ipv4/arp.c`), between hosts with real
 * NICs and drivers on wires and hubs, under TestClock.
 */
import { describe, expect, it } from "@effect/vitest"
import { PacketBuffer } from "@netstack/buffers"
import { type Impairments, Hub } from "@netstack/device"
import { buildArpFrame, DEFAULT_NEIGHBOUR_PARAMETERS, formatNeighbour, type NeighbourParameters } from "@netstack/l2"
import { BROADCAST_MAC, emitEthernet, EtherTypes } from "@netstack/wire"
import { Duration, Effect, Random } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import { connect, settle } from "./support/lan.ts"
import { addLoopback, type ArpHost, ip, ipPacket, makeArpHost } from "./support/neighbour.ts"

const A_MAC = 0x020000000001
const B_MAC = 0x020000000002
const C_MAC = 0x020000000003
const A_IP = ip(1)
const B_IP = ip(2)
const NOBODY = ip(99)
const REQUEST = 1
const REPLY = 2
const SECOND = 1_000_000

/** Lets `ms` of virtual time pass, then lets every fiber run. */
const run = (ms: number) =>
  Effect.gen(function*() {
    yield* TestClock.adjust(Duration.millis(ms))
    yield* settle
  })

/** Two hosts with neighbour tables on a wire. */
const pair = (options: {
  readonly impairments?: Impairments
  readonly a?: Partial<NeighbourParameters>
  readonly b?: Partial<NeighbourParameters>
  readonly random?: () => number
} = {}) =>
  Effect.gen(function*() {
    const a = yield* makeArpHost({
      mac: A_MAC,
      ip: A_IP,
      ...(options.a === undefined ? {} : { parameters: options.a }),
      ...(options.random === undefined ? {} : { random: options.random })
    })
    const b = yield* makeArpHost({ mac: B_MAC, ip: B_IP, ...(options.b === undefined ? {} : { parameters: options.b }) })
    const wire = yield* connect(a.eth, b.eth, options.impairments)
    return { a, b, wire }
  })

/** `count` packets from `from` to `nextHop`, ids `first`, `first + 1`, … */
const send = (from: ArpHost, nextHop: number, first: number, count = 1): void => {
  for (let id = first; id < first + count; id++) from.table.output(from.eth, nextHop, ipPacket(from.ip, nextHop, id))
}

/** Sends a hand-made ARP frame out of `from`'s interface (not through its table). */
const sendArp = (
  from: ArpHost,
  fields: {
    readonly operation?: number
    readonly destination?: number
    readonly senderMac: number
    readonly senderIpv4: number
    readonly targetMac?: number
    readonly targetIpv4: number
  }
): void => {
  const frame = buildArpFrame({
    operation: fields.operation ?? REQUEST,
    destination: fields.destination ?? BROADCAST_MAC,
    senderMac: fields.senderMac,
    senderIpv4: fields.senderIpv4,
    targetMac: fields.targetMac ?? 0,
    targetIpv4: fields.targetIpv4
  })
  if (frame === undefined) throw new Error("buildArpFrame failed")
  from.host.link.transmit(from.eth, frame)
}

/** Sends raw bytes after an Ethernet header (broadcast, EtherType ARP) out of `from`'s interface. */
const sendRaw = (from: ArpHost, payload: ReadonlyArray<number>): void => {
  const frame = PacketBuffer.fromBytes(Uint8Array.from(payload), 32)
  emitEthernet(frame, { destination: BROADCAST_MAC, source: from.eth.mac, etherType: EtherTypes.arp })
  from.host.link.transmit(from.eth, frame)
}

/** Drop counters whose reason starts with `prefix`, summed. */
const dropsWith = (host: ArpHost, prefix: string): number =>
  Object.entries(host.host.link.drops.snapshot()).reduce((n, [k, v]) => (k.startsWith(prefix) ? n + v : n), 0)

describe("ARP resolution", () => {
  it.effect("releases the packets queued while resolving, in order, when the reply arrives over a slow wire", () =>
    Effect.gen(function*() {
      const { a, b } = yield* pair({ impairments: { delay: Duration.millis(10) } })
      const t0 = a.host.timers.now()
      send(a, B_IP, 1, 5)
      expect(a.table.get(a.eth, B_IP)).toMatchObject({ state: "INCOMPLETE", queued: 5, mac: undefined })
      // Linux's probe counter starts at ucast_solicit while INCOMPLETE (`ip -s neigh` shows "probes 4")
      expect(a.table.get(a.eth, B_IP)?.probes).toBe(4)
      yield* settle
      // RFC 826: one broadcast request, sender = our address on that interface, target hardware address 0
      expect(a.arpOut).toEqual([{
        at: t0,
        device: "eth0",
        destination: BROADCAST_MAC,
        operation: REQUEST,
        senderMac: A_MAC,
        senderIpv4: A_IP,
        targetMac: 0,
        targetIpv4: B_IP,
        length: 60
      }])
      yield* run(5)
      send(a, B_IP, 6, 2) // still unresolved: queued behind the others
      expect(a.ipOut).toEqual([])
      expect(a.table.get(a.eth, B_IP)?.queued).toBe(7)
      yield* run(30)
      // B answered with a unicast reply from its own MAC, and learned A from the request
      expect(b.arpOut).toHaveLength(1)
      expect(b.arpOut[0]).toMatchObject({
        destination: A_MAC,
        operation: REPLY,
        senderMac: B_MAC,
        senderIpv4: B_IP,
        targetMac: A_MAC,
        targetIpv4: A_IP
      })
      expect(b.table.get(b.eth, A_IP)).toMatchObject({ state: "STALE", mac: A_MAC })
      // the queue went out in order, to B's MAC, once the reply arrived (~20 ms)
      expect(a.ipOut.map((r) => r.id)).toEqual([1, 2, 3, 4, 5, 6, 7])
      expect(new Set(a.ipOut.map((r) => r.destination))).toEqual(new Set([B_MAC]))
      expect(a.ipOut[0].at - t0).toBeGreaterThanOrEqual(20_000)
      expect(a.table.get(a.eth, B_IP)).toMatchObject({ state: "REACHABLE", mac: B_MAC, queued: 0 })
      // later packets go straight out
      send(a, B_IP, 8)
      expect(a.ipOut.map((r) => r.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
      yield* run(20)
      expect(b.received).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
      expect(a.arpOut).toHaveLength(1)
      expect(a.host.link.drops.total + b.host.link.drops.total).toBe(0)
      expect(a.table.stats).toMatchObject({ allocs: 1, res_failed: 0, unres_discards: 0 })
      expect(b.table.stats).toMatchObject({ rcv_probes_mcast: 1, rcv_probes_ucast: 0 })
    }))

  it.effect("the request's sender is the queued packet's source when it is ours, otherwise sourceFor (RFC 1122 §2.3.2.1)", () =>
    Effect.gen(function*() {
      const { a } = yield* pair()
      a.addresses.add(ip(9))
      // a forwarded packet: its source is not ours → sourceFor (A_IP)
      a.table.output(a.eth, ip(50), ipPacket(ip(77), ip(50), 1))
      // a packet from our second address → that address (Linux arp_announce 0)
      a.table.output(a.eth, ip(51), ipPacket(ip(9), ip(51), 2))
      yield* settle
      expect(a.arpOut.map((r) => [r.targetIpv4, r.senderIpv4])).toEqual([[ip(50), A_IP], [ip(51), ip(9)]])
    }))
})

describe("ARP reception (RFC 826)", () => {
  it.effect("answers requests for our own addresses from the receiving interface, and ignores requests for others'", () =>
    Effect.gen(function*() {
      const { a, b } = yield* pair()
      b.addresses.add(ip(8))
      sendArp(a, { senderMac: A_MAC, senderIpv4: A_IP, targetIpv4: ip(7) }) // nobody's
      yield* run(1)
      expect(b.arpOut).toEqual([])
      expect(b.table.size).toBe(0)
      sendArp(a, { senderMac: A_MAC, senderIpv4: A_IP, targetIpv4: ip(8) }) // B's second address
      sendArp(a, { destination: B_MAC, senderMac: A_MAC, senderIpv4: A_IP, targetMac: B_MAC, targetIpv4: B_IP }) // unicast
      yield* run(1)
      expect(b.arpOut.map((r) => ({ ...r, at: 0 }))).toEqual([
        {
          at: 0,
          device: "eth0",
          destination: A_MAC,
          operation: REPLY,
          senderMac: B_MAC,
          senderIpv4: ip(8),
          targetMac: A_MAC,
          targetIpv4: A_IP,
          length: 60
        },
        {
          at: 0,
          device: "eth0",
          destination: A_MAC,
          operation: REPLY,
          senderMac: B_MAC,
          senderIpv4: B_IP,
          targetMac: A_MAC,
          targetIpv4: A_IP,
          length: 60
        }
      ])
      // the requester was learned (STALE: a request does not prove reachability)
      expect(b.table.entries()).toEqual([expect.objectContaining({ address: A_IP, mac: A_MAC, state: "STALE" })])
      expect(b.table.stats).toMatchObject({ rcv_probes_mcast: 1, rcv_probes_ucast: 1 })
      expect(b.host.link.drops.total).toBe(0)
    }))

  it.effect("merges what a known neighbour says: a new MAC after locktime (the first reply wins before), strangers not added", () =>
    Effect.gen(function*() {
      const { a, b } = yield* pair()
      const X = 0x02000000aaaa
      const Y = 0x02000000bbbb
      sendArp(a, { senderMac: A_MAC, senderIpv4: A_IP, targetIpv4: B_IP })
      yield* run(100)
      expect(b.table.get(b.eth, A_IP)).toMatchObject({ state: "STALE", mac: A_MAC })
      // within locktime (1 s) of the update, a different MAC is not believed
      sendArp(a, { senderMac: X, senderIpv4: A_IP, targetIpv4: ip(7) })
      yield* run(100)
      expect(b.table.get(b.eth, A_IP)?.mac).toBe(A_MAC)
      // after it, a request for someone else updates the sender's entry (RFC 826 merge flag)
      yield* run(1000)
      sendArp(a, { senderMac: X, senderIpv4: A_IP, targetIpv4: ip(7) })
      yield* run(1)
      expect(b.table.get(b.eth, A_IP)).toMatchObject({ state: "STALE", mac: X })
      // a unicast reply makes it REACHABLE; a broadcast one would only make it STALE
      yield* run(1500)
      sendArp(a, { operation: REPLY, destination: B_MAC, senderMac: Y, senderIpv4: A_IP, targetMac: B_MAC, targetIpv4: B_IP })
      yield* run(1)
      expect(b.table.get(b.eth, A_IP)).toMatchObject({ state: "REACHABLE", mac: Y })
      yield* run(1500)
      sendArp(a, { operation: REPLY, senderMac: X, senderIpv4: A_IP, targetMac: B_MAC, targetIpv4: B_IP })
      yield* run(1)
      expect(b.table.get(b.eth, A_IP)).toMatchObject({ state: "STALE", mac: X })
      // the same MAC in a request does not demote a REACHABLE entry
      yield* run(1500)
      sendArp(a, { operation: REPLY, destination: B_MAC, senderMac: X, senderIpv4: A_IP, targetMac: B_MAC, targetIpv4: B_IP })
      yield* run(1500)
      sendArp(a, { senderMac: X, senderIpv4: A_IP, targetIpv4: ip(7) })
      yield* run(1)
      expect(b.table.get(b.eth, A_IP)).toMatchObject({ state: "REACHABLE", mac: X })
      // strangers: neither requests for others nor unsolicited replies create entries (arp_accept = 0)
      sendArp(a, { senderMac: C_MAC, senderIpv4: ip(3), targetIpv4: ip(7) })
      sendArp(a, { operation: REPLY, destination: B_MAC, senderMac: C_MAC, senderIpv4: ip(4), targetMac: B_MAC, targetIpv4: B_IP })
      yield* run(1)
      expect(b.table.entries().map((e) => e.address)).toEqual([A_IP])
      expect(b.arpOut).toHaveLength(1) // only the reply to the first request
    }))

  it.effect("counts and ignores bad ARP: defects, other opcodes, our own or a group sender MAC, bad addresses, conflicts", () =>
    Effect.gen(function*() {
      const { a, b } = yield* pair()
      const arp = (op: number, sha: number, sip: number, tip: number): Array<number> => {
        const f = buildArpFrame({ operation: op, destination: BROADCAST_MAC, senderMac: sha, senderIpv4: sip, targetMac: 0, targetIpv4: tip })
        return f === undefined ? [] : [...f.toUint8Array().subarray(14, 42)]
      }
      sendRaw(a, arp(REQUEST, A_MAC, A_IP, B_IP).slice(0, 20)) // truncated
      sendRaw(a, [0, 6, ...arp(REQUEST, A_MAC, A_IP, B_IP).slice(2)]) // IEEE 802 hardware
      sendRaw(a, [0, 1, 0x86, 0xdd, ...arp(REQUEST, A_MAC, A_IP, B_IP).slice(4)]) // not IPv4
      sendRaw(a, arp(3, A_MAC, A_IP, B_IP)) // RARP request
      sendRaw(a, arp(REQUEST, B_MAC, A_IP, B_IP)) // B's own MAC as sender
      sendRaw(a, arp(REQUEST, BROADCAST_MAC, A_IP, B_IP))
      sendRaw(a, arp(REQUEST, 0x01005e000001, A_IP, B_IP))
      sendRaw(a, arp(REQUEST, A_MAC, A_IP, 0xe0000001)) // multicast target
      sendRaw(a, arp(REQUEST, A_MAC, 0x7f000001, B_IP)) // loopback sender
      sendRaw(a, arp(REQUEST, A_MAC, B_IP, B_IP)) // someone else claims B's address (RFC 5227 §2.4)
      yield* run(1)
      expect(b.host.link.drops.snapshot()).toEqual({
        "arp.address-conflict": 1,
        "arp.bad-opcode": 1,
        "arp.bad-sender-ip": 1,
        "arp.bad-sender-mac": 2,
        "arp.bad-target": 1,
        "arp.own-sender": 1,
        "arp.truncated": 1,
        "arp.unsupported-hardware": 1,
        "arp.unsupported-protocol": 1
      })
      expect(b.arpOut).toEqual([])
      expect(b.table.size).toBe(0)
      // a duplicate-address probe (sender 0.0.0.0) for B's address is answered, and nothing is learned
      sendRaw(a, arp(REQUEST, A_MAC, 0, B_IP))
      sendRaw(a, arp(REQUEST, A_MAC, 0, ip(7)))
      yield* run(1)
      expect(b.arpOut).toEqual([expect.objectContaining({
        destination: A_MAC,
        operation: REPLY,
        senderIpv4: B_IP,
        targetMac: A_MAC,
        targetIpv4: 0
      })])
      expect(b.table.stats.rcv_dad_probes).toBe(1)
      expect(b.table.size).toBe(0)
    }))
})

describe("neighbour states (Linux neigh_timer_handler)", () => {
  it.effect("REACHABLE lasts the randomized reachable time, then STALE; traffic makes it DELAY, then PROBE (unicast), then REACHABLE on a reply", () =>
    Effect.gen(function*() {
      // random 0.25: reachable time = (0.25 + 0.5) × 30 s
      const { a, b } = yield* pair({ random: () => 0.25 })
      expect(a.table.reachableTime).toBe(22_500_000)
      send(a, B_IP, 1)
      yield* run(1)
      const resolved = a.table.get(a.eth, B_IP)
      expect(resolved).toMatchObject({ state: "REACHABLE", mac: B_MAC })
      const confirmed = resolved?.confirmedMicros ?? 0
      yield* run((confirmed + 22_500_000 - a.host.timers.now()) / 1000 - 1)
      expect(a.table.get(a.eth, B_IP)?.state).toBe("REACHABLE")
      yield* run(20)
      expect(a.table.get(a.eth, B_IP)?.state).toBe("STALE")
      // traffic to a STALE neighbour goes out at once and starts the DELAY
      const tDelay = a.host.timers.now()
      send(a, B_IP, 2)
      expect(a.table.get(a.eth, B_IP)?.state).toBe("DELAY")
      expect(a.ipOut.map((r) => r.id)).toEqual([1, 2])
      yield* run(4999)
      expect(a.table.get(a.eth, B_IP)?.state).toBe("DELAY")
      expect(a.arpOut).toHaveLength(1)
      yield* run(1)
      // delay_first_probe_time later: a unicast probe to the cached MAC
      expect(a.arpOut).toHaveLength(2)
      expect(a.arpOut[1]).toMatchObject({
        at: tDelay + 5 * SECOND,
        destination: B_MAC,
        operation: REQUEST,
        targetMac: B_MAC,
        targetIpv4: B_IP,
        senderIpv4: A_IP
      })
      yield* run(1)
      expect(a.table.get(a.eth, B_IP)?.state).toBe("REACHABLE")
      expect(b.table.stats.rcv_probes_ucast).toBe(1)
    }))

  it.effect("PROBE gives up after ucast_solicit unanswered unicast probes 1 s apart: FAILED; the next packet resolves again", () =>
    Effect.gen(function*() {
      const { a, b } = yield* pair()
      send(a, B_IP, 1)
      yield* run(1)
      yield* run(31_000)
      expect(a.table.get(a.eth, B_IP)?.state).toBe("STALE")
      b.eth.up = false // B goes silent
      const t = a.host.timers.now()
      send(a, B_IP, 2)
      yield* run(5000 + 2500)
      expect(a.table.get(a.eth, B_IP)).toMatchObject({ state: "PROBE", probes: 3 })
      yield* run(1000)
      expect(a.table.get(a.eth, B_IP)?.state).toBe("FAILED")
      const probes = a.arpOut.slice(1)
      expect(probes.map((r) => [r.at - t, r.destination, r.targetMac])).toEqual([
        [5 * SECOND, B_MAC, B_MAC],
        [6 * SECOND, B_MAC, B_MAC],
        [7 * SECOND, B_MAC, B_MAC]
      ])
      expect(a.table.stats.res_failed).toBe(1)
      expect(a.unreachable).toEqual([]) // nothing was waiting: DELAY and PROBE send with the cached MAC
      expect(a.ipOut.map((r) => r.id)).toEqual([1, 2])
      // the next packet starts a new resolution with a broadcast request
      send(a, B_IP, 3)
      expect(a.table.get(a.eth, B_IP)).toMatchObject({ state: "INCOMPLETE", queued: 1 })
      yield* settle
      expect(a.arpOut.at(-1)).toMatchObject({ destination: BROADCAST_MAC, targetMac: 0, targetIpv4: B_IP })
    }))

  it.effect("confirm() keeps an entry REACHABLE without ARP, and turns a DELAY back into REACHABLE without probing", () =>
    Effect.gen(function*() {
      const { a } = yield* pair()
      send(a, B_IP, 1)
      yield* run(1)
      for (let i = 0; i < 12; i++) {
        yield* run(10_000)
        a.table.confirm(a.eth, B_IP) // e.g. TCP saw new data acknowledged
        send(a, B_IP, 100 + i)
      }
      expect(a.table.get(a.eth, B_IP)?.state).toBe("REACHABLE")
      expect(a.arpOut).toHaveLength(1)
      // no confirmation for a while → STALE; traffic → DELAY; a confirmation within delay_first_probe_time → REACHABLE
      yield* run(60_000)
      expect(a.table.get(a.eth, B_IP)?.state).toBe("STALE")
      send(a, B_IP, 200)
      expect(a.table.get(a.eth, B_IP)?.state).toBe("DELAY")
      yield* run(2000)
      a.table.confirm(a.eth, B_IP)
      yield* run(3000)
      expect(a.table.get(a.eth, B_IP)?.state).toBe("REACHABLE")
      expect(a.arpOut).toHaveLength(1)
      // an entry in use when its reachable time ends goes to DELAY, not STALE (`neigh->used`), then PROBE,
      // and B's answer to the unicast probe makes it REACHABLE again
      const states: Array<string> = []
      for (let i = 0; i < 40; i++) {
        send(a, B_IP, 300 + i)
        yield* run(1000)
        const state = a.table.get(a.eth, B_IP)?.state ?? "none"
        if (states.at(-1) !== state) states.push(state)
      }
      expect(states).toEqual(["REACHABLE", "DELAY", "REACHABLE"])
      expect(a.arpOut).toHaveLength(2)
      expect(a.arpOut[1]).toMatchObject({ destination: B_MAC, targetMac: B_MAC })
    }))
})

describe("resolution failure (RFC 1122 §2.3.2.2)", () => {
  it.effect("an address nobody answers: 3 broadcast requests 1 s apart, then every queued packet to unreachable, FAILED", () =>
    Effect.gen(function*() {
      const { a, b } = yield* pair()
      const t0 = a.host.timers.now()
      send(a, NOBODY, 1, 2)
      yield* run(500)
      send(a, NOBODY, 3)
      yield* run(1000)
      send(a, NOBODY, 4)
      yield* run(1400)
      expect(a.table.get(a.eth, NOBODY)).toMatchObject({ state: "INCOMPLETE", queued: 4, probes: 6 })
      expect(a.unreachable).toEqual([])
      yield* run(100)
      expect(a.arpOut.map((r) => [r.at - t0, r.destination, r.targetIpv4])).toEqual([
        [0, BROADCAST_MAC, NOBODY],
        [SECOND, BROADCAST_MAC, NOBODY],
        [2 * SECOND, BROADCAST_MAC, NOBODY]
      ])
      // handed over at the IP header, in order, with the device
      expect(a.unreachable).toEqual([1, 2, 3, 4].map((id) => ({ id, firstByte: 0x45, device: "eth0" })))
      expect(a.table.get(a.eth, NOBODY)).toMatchObject({ state: "FAILED", queued: 0, mac: undefined })
      expect(a.table.stats.res_failed).toBe(1)
      expect(a.ipOut).toEqual([])
      expect(b.arpOut).toEqual([])
      // a later packet starts a new resolution
      yield* run(1000)
      send(a, NOBODY, 5)
      expect(a.table.get(a.eth, NOBODY)?.state).toBe("INCOMPLETE")
      yield* run(3000)
      expect(a.arpOut).toHaveLength(6)
      expect(a.unreachable.map((u) => u.id)).toEqual([1, 2, 3, 4, 5])
      expect(a.table.stats.res_failed).toBe(2)
      expect(a.host.link.drops.total).toBe(0)
    }))

  it.effect("unres_qlen: beyond it the oldest queued packet is dropped and counted (unres_discards)", () =>
    Effect.gen(function*() {
      const { a, b } = yield* pair({ a: { unres_qlen: 3 }, impairments: { delay: Duration.millis(10) } })
      send(a, NOBODY, 1, 5)
      expect(a.table.get(a.eth, NOBODY)?.queued).toBe(3)
      expect(a.table.stats.unres_discards).toBe(2)
      expect(a.host.link.drops.get("neigh.queue-full")).toBe(2)
      send(a, B_IP, 11, 5)
      yield* run(3100)
      expect(a.unreachable.map((u) => u.id)).toEqual([3, 4, 5])
      expect(b.received).toEqual([13, 14, 15])
      expect(a.table.stats.unres_discards).toBe(4)
      // the default is Linux's 101
      expect(DEFAULT_NEIGHBOUR_PARAMETERS.unres_qlen).toBe(101)
      const { a: d } = yield* pair()
      send(d, NOBODY, 1, 105)
      expect(d.table.get(d.eth, NOBODY)?.queued).toBe(101)
      expect(d.table.stats.unres_discards).toBe(4)
    }))
})

describe("table limits and GC", () => {
  it.effect("at gc_thresh3 a new entry needs the forced GC to free one; when it cannot, the packet is dropped (table_fulls)", () =>
    Effect.gen(function*() {
      const { a } = yield* pair({ a: { gc_thresh1: 2, gc_thresh2: 3, gc_thresh3: 4 } })
      for (let i = 0; i < 4; i++) send(a, ip(100 + i), i)
      expect(a.table.size).toBe(4)
      // all four are resolving (their timers hold them): nothing to free
      send(a, ip(104), 4)
      expect(a.table.size).toBe(4)
      expect(a.table.get(a.eth, ip(104))).toBeUndefined()
      expect(a.table.stats).toMatchObject({ table_fulls: 1, forced_gc_runs: 1 })
      expect(a.host.link.drops.get("neigh.table-full")).toBe(1)
      yield* run(3100)
      expect(a.table.entries().map((e) => e.state)).toEqual(["FAILED", "FAILED", "FAILED", "FAILED"])
      // FAILED entries are collectable: the oldest goes (down to gc_thresh2 at most)
      send(a, ip(104), 5)
      expect(a.table.entries().map((e) => e.address)).toEqual([ip(101), ip(102), ip(103), ip(104)])
      expect(a.table.stats).toMatchObject({ table_fulls: 1, forced_gc_runs: 2, destroys: 1, allocs: 5 })
    }))

  it.effect("above gc_thresh2 the forced GC runs when an entry is created, at most every 5 s, and removes down to gc_thresh2", () =>
    Effect.gen(function*() {
      const { a } = yield* pair({ a: { gc_thresh2: 2, gc_thresh3: 10 } })
      send(a, ip(100), 0)
      send(a, ip(101), 1)
      send(a, ip(102), 2) // 2 entries ≥ gc_thresh2, but the last flush (the table's creation) is not 5 s old
      expect(a.table.stats.forced_gc_runs).toBe(0)
      yield* run(3100) // all three FAILED
      send(a, ip(103), 3)
      expect(a.table.stats.forced_gc_runs).toBe(0)
      yield* run(2000)
      send(a, ip(104), 4) // 5.1 s: the forced GC runs and frees two FAILED entries, oldest first (103 is still resolving)
      expect(a.table.stats).toMatchObject({ forced_gc_runs: 1, destroys: 2, table_fulls: 0 })
      expect(a.table.entries().map((e) => [e.address - ip(0), e.state])).toEqual([
        [102, "FAILED"],
        [103, "INCOMPLETE"],
        [104, "INCOMPLETE"]
      ])
      yield* run(1000)
      send(a, ip(105), 5) // the last run was 1 s ago
      expect(a.table.stats.forced_gc_runs).toBe(1)
      expect(a.table.size).toBe(4)
    }))

  it.effect("the periodic GC removes FAILED entries and entries unused for gc_stale_time, but only from gc_thresh1 entries up", () =>
    Effect.gen(function*() {
      const { a: small, b: big } = yield* pair({ a: { gc_thresh1: 3 } })
      // three neighbours learned by `big` from requests (STALE), and two by `small`, plus one failure
      for (let i = 0; i < 3; i++) sendArp(small, { senderMac: C_MAC + i, senderIpv4: ip(20 + i), targetIpv4: B_IP })
      for (let i = 0; i < 2; i++) sendArp(big, { senderMac: C_MAC + i, senderIpv4: ip(30 + i), targetIpv4: A_IP })
      send(small, NOBODY, 1)
      yield* run(3100)
      expect(big.table.size).toBe(3)
      expect(small.table.entries().map((e) => e.state)).toEqual(["STALE", "STALE", "FAILED"])
      // periodic GC every base_reachable_time / 2 = 15 s: the FAILED entry goes at the first run (the STALE ones are not 60 s old)
      yield* run(15_000)
      expect(small.table.entries().map((e) => e.state)).toEqual(["STALE", "STALE"])
      // now below gc_thresh1 (3): nothing more is collected, as in Linux
      yield* run(120_000)
      expect(small.table.size).toBe(2)
      expect(small.table.stats.periodic_gc_runs).toBeGreaterThanOrEqual(9)
      // `big` (default gc_thresh1 128) keeps its idle stale entries for ever, as Linux does
      expect(big.table.entries().map((e) => e.state)).toEqual(["STALE", "STALE", "STALE"])
    }))

  it.effect("stale entries unused for gc_stale_time are collected when the table holds gc_thresh1 or more", () =>
    Effect.gen(function*() {
      const { a, b } = yield* pair({ b: { gc_thresh1: 3 } })
      for (let i = 0; i < 3; i++) sendArp(a, { senderMac: C_MAC + i, senderIpv4: ip(20 + i), targetIpv4: B_IP })
      b.table.addPermanent(b.eth, ip(50), C_MAC) // exempt: never collected
      yield* run(1)
      expect(b.table.size).toBe(4)
      yield* run(55_000)
      expect(b.table.size).toBe(4)
      yield* run(30_000)
      expect(b.table.entries()).toEqual([expect.objectContaining({ address: ip(50), state: "PERMANENT" })])
      expect(b.table.stats.destroys).toBe(3)
    }))
})

describe("announcements (RFC 5227 §3)", () => {
  it.effect("a gratuitous ARP moves a neighbour's existing entry to the announcer; hosts without an entry learn nothing", () =>
    Effect.gen(function*() {
      const hub = yield* Hub.make({ ports: 3 })
      const a = yield* makeArpHost({ mac: A_MAC, ip: A_IP })
      const b = yield* makeArpHost({ mac: B_MAC, ip: B_IP })
      const c = yield* makeArpHost({ mac: C_MAC, ip: ip(3) })
      ;[a, b, c].forEach((h, i) => h.eth.driver.nic.attach(hub.ports[i]))
      send(b, A_IP, 1)
      yield* run(1)
      expect(b.table.get(b.eth, A_IP)).toMatchObject({ state: "REACHABLE", mac: A_MAC })
      // A's address moves to C (failover), which announces it
      a.addresses.delete(A_IP)
      c.addresses.add(A_IP)
      c.table.announce(c.eth, A_IP)
      yield* run(1)
      expect(c.arpOut).toEqual([{
        at: expect.any(Number),
        device: "eth0",
        destination: BROADCAST_MAC,
        operation: REQUEST,
        senderMac: C_MAC,
        senderIpv4: A_IP,
        targetMac: 0,
        targetIpv4: A_IP,
        length: 60
      }])
      // B believed it at once (a gratuitous ARP overrides within locktime), as STALE
      expect(b.table.get(b.eth, A_IP)).toMatchObject({ state: "STALE", mac: C_MAC })
      expect(a.table.get(a.eth, A_IP)).toBeUndefined()
      expect(c.table.size).toBe(0)
      send(b, A_IP, 2)
      yield* run(1)
      expect(c.received).toEqual([2])
      expect(a.received).toEqual([1])
      // nothing is announced on a loopback device
      const lo = yield* addLoopback(c.host)
      c.table.announce(lo, ip(3))
      expect(c.arpOut).toHaveLength(1)
    }))
})

describe("no resolution needed", () => {
  it.effect("a loopback device needs no ARP: the frame goes out at once to MAC 0 and comes back", () =>
    Effect.gen(function*() {
      const a = yield* makeArpHost({ mac: A_MAC, ip: A_IP })
      const lo = yield* addLoopback(a.host)
      a.table.output(lo, 0x7f000001, ipPacket(0x7f000001, 0x7f000001, 1))
      a.table.output(lo, A_IP, ipPacket(A_IP, A_IP, 2))
      yield* run(1)
      expect(a.ipOut.map((r) => [r.device, r.destination, r.id])).toEqual([["lo", 0, 1], ["lo", 0, 2]])
      expect(a.received).toEqual([1, 2])
      expect(a.arpOut).toEqual([])
      expect(a.table.size).toBe(0)
      // ARP arriving on a loopback device is not processed
      const f = buildArpFrame({ operation: REQUEST, destination: BROADCAST_MAC, senderMac: 0x020000000009, senderIpv4: ip(9), targetMac: 0, targetIpv4: A_IP })
      if (f !== undefined) a.host.link.transmit(lo, f)
      yield* run(1)
      expect(a.host.link.drops.get("arp.noarp")).toBe(1)
    }))

  it.effect("broadcast goes to ff:ff:ff:ff:ff:ff and multicast to 01:00:5e + the group's low 23 bits (RFC 1112 §6.4)", () =>
    Effect.gen(function*() {
      const { a, b } = yield* pair()
      a.table.output(a.eth, 0xffffffff, ipPacket(A_IP, 0xffffffff, 1), "broadcast")
      a.table.output(a.eth, ip(255), ipPacket(A_IP, ip(255), 2), "broadcast") // a subnet broadcast, as routing says
      a.table.output(a.eth, 0xe00000fb, ipPacket(A_IP, 0xe00000fb, 3), "multicast") // 224.0.0.251
      a.table.output(a.eth, 0xeffffffa, ipPacket(A_IP, 0xeffffffa, 4), "multicast") // 239.255.255.250
      a.table.output(a.eth, 0xe0800001, ipPacket(A_IP, 0xe0800001, 5)) // 224.128.0.1 as unicast: still mapped
      a.table.output(a.eth, 0xffffffff, ipPacket(A_IP, 0xffffffff, 6)) // limited broadcast as unicast
      yield* run(1)
      expect(a.ipOut.map((r) => [r.id, r.destination.toString(16)])).toEqual([
        [1, "ffffffffffff"],
        [2, "ffffffffffff"],
        [3, "1005e0000fb"],
        [4, "1005e7ffffa"],
        [5, "1005e000001"],
        [6, "ffffffffffff"]
      ])
      expect(b.received).toEqual(expect.arrayContaining([1, 2, 6]))
      expect(a.arpOut).toEqual([])
      expect(a.table.size).toBe(0)
    }))
})

describe("administration and inspection", () => {
  it.effect("permanent entries, deletion, flush, ip neigh show and the arp_cache counters", () =>
    Effect.gen(function*() {
      const { a, b } = yield* pair()
      // a permanent entry: used at once, never probed, not changed by ARP
      expect(a.table.addPermanent(a.eth, B_IP, B_MAC)).toMatchObject({ state: "PERMANENT", mac: B_MAC })
      send(a, B_IP, 1)
      sendArp(b, { senderMac: 0x02000000cccc, senderIpv4: B_IP, targetIpv4: A_IP })
      yield* run(200_000)
      expect(a.table.get(a.eth, B_IP)).toMatchObject({ state: "PERMANENT", mac: B_MAC })
      expect(a.arpOut.filter((r) => r.operation === REQUEST)).toEqual([])
      expect(b.received).toEqual([1])
      // making an unresolved entry permanent releases its queue in order
      send(a, ip(5), 10, 3)
      a.table.addPermanent(a.eth, ip(5), B_MAC)
      expect(a.ipOut.map((r) => r.id)).toEqual([1, 10, 11, 12])
      // deleting an unresolved entry hands its queue to unreachable
      send(a, NOBODY, 20, 2)
      expect(a.table.delete(a.eth, NOBODY)).toBe(true)
      expect(a.table.delete(a.eth, NOBODY)).toBe(false)
      expect(a.unreachable.map((u) => u.id)).toEqual([20, 21])
      send(a, ip(6), 30)
      expect(a.table.show()).toBe(
        [
          "10.0.0.2 dev eth0 lladdr 02:00:00:00:00:02 PERMANENT",
          "10.0.0.5 dev eth0 lladdr 02:00:00:00:00:02 PERMANENT",
          "10.0.0.6 dev eth0 INCOMPLETE"
        ].join("\n")
      )
      expect(a.table.show(true).split("\n")[2]).toBe("10.0.0.6 dev eth0 used 0/60/0 probes 4 INCOMPLETE")
      expect(formatNeighbour({ ...a.table.entries()[0], state: "STALE" }, a.host.timers.now() + 7_500_000)).toMatch(
        /^10\.0\.0\.2 dev eth0 lladdr 02:00:00:00:00:02 used \d+\/\d+\/\d+ probes 0 STALE$/
      )
      // flush keeps permanent entries; the unresolved one fails
      expect(a.table.flush()).toBe(1)
      expect(a.table.entries().map((e) => e.state)).toEqual(["PERMANENT", "PERMANENT"])
      expect(a.unreachable.map((u) => u.id)).toEqual([20, 21, 30])
      expect(a.table.counters()).toMatchObject({ entries: 2, allocs: 4, destroys: 2, res_failed: 2 })
      // bad admin input is refused, not thrown
      expect(a.table.addPermanent(a.eth, -1, B_MAC)).toBeUndefined()
      expect(a.table.addPermanent(a.eth, ip(7), 2 ** 49)).toBeUndefined()
      a.table.output(a.eth, Number.NaN, ipPacket(A_IP, 0, 40))
      expect(a.host.link.drops.get("neigh.bad-address")).toBe(1)
    }))
})

// ------------------------------------------------------------------ property

/** One step of the random scenario. */
type Step =
  | { readonly _tag: "send"; readonly to: number; readonly count: number }
  | { readonly _tag: "wait"; readonly ms: number }
  | { readonly _tag: "toggle" }
  | { readonly _tag: "confirm" }
  | { readonly _tag: "delete"; readonly to: number }

/** Next hops: B (answers while up), silent addresses, a broadcast and a multicast group. */
const TARGETS = [B_IP, B_IP, ip(10), ip(11), ip(12), ip(13), 0xffffffff, 0xe0000001]

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ _tag: fc.constant("send" as const), to: fc.nat({ max: TARGETS.length - 1 }), count: fc.integer({ min: 1, max: 6 }) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      _tag: fc.constant("wait" as const),
      ms: fc.oneof(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 50, max: 2000 }), fc.integer({ min: 2000, max: 40_000 }))
    })
  },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("toggle" as const) }) },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("confirm" as const) }) },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("delete" as const), to: fc.nat({ max: TARGETS.length - 1 }) }) }
)

interface Case {
  readonly seed: number
  readonly loss: number
  readonly delayMs: number
  readonly unresQlen: number
  readonly thresh3: number
  readonly steps: ReadonlyArray<Step>
}

const caseArb: fc.Arbitrary<Case> = fc.record({
  seed: fc.integer(),
  loss: fc.constantFrom(0, 0.1, 0.5, 1),
  delayMs: fc.integer({ min: 0, max: 30 }),
  unresQlen: fc.integer({ min: 1, max: 8 }),
  thresh3: fc.integer({ min: 1, max: 6 }),
  steps: fc.integer({ min: 1, max: 60 }).chain((n) => fc.array(stepArb, { minLength: n, maxLength: n }))
})

/** Runs a scenario; returns what happened to each packet. */
const scenario = (c: Case) =>
  Effect.gen(function*() {
    const { a, b } = yield* pair({
      impairments: { loss: c.loss, delay: Duration.millis(c.delayMs) },
      a: { unres_qlen: c.unresQlen, gc_thresh1: 1, gc_thresh2: Math.max(1, c.thresh3 - 1), gc_thresh3: c.thresh3 }
    })
    const given = new Map<number, number>() // id → next hop
    let id = 0
    for (const step of c.steps) {
      switch (step._tag) {
        case "send":
          for (let i = 0; i < step.count; i++) {
            given.set(id, TARGETS[step.to])
            send(a, TARGETS[step.to], id++)
          }
          break
        case "wait":
          yield* run(step.ms)
          break
        case "toggle":
          b.eth.up = !b.eth.up
          break
        case "confirm":
          a.table.confirm(a.eth, B_IP)
          break
        case "delete":
          a.table.delete(a.eth, TARGETS[step.to])
          break
      }
      expect(a.table.size).toBeLessThanOrEqual(c.thresh3)
    }
    // long enough for every resolution and probe to end
    yield* run(20_000)
    return { a, given }
  })

describe("property: no packet disappears", () => {
  it("every packet given to output is sent, dropped under a counted reason, or handed to unreachable — once, in order per next hop", async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const { a, given } = await Effect.runPromise(
          scenario(c).pipe(Effect.scoped, Random.withSeed(c.seed), Effect.provide(TestClock.layer()))
        )
        const sent = a.ipOut.map((r) => r.id)
        const failed = a.unreachable.map((u) => u.id)
        const seen = [...sent, ...failed]
        expect(new Set(seen).size).toBe(seen.length) // nobody twice
        for (const x of seen) expect(given.has(x)).toBe(true)
        const dropped = given.size - seen.length
        expect(dropped).toBe(dropsWith(a, "neigh."))
        // per next hop, what went out kept the order it was given in
        for (const hop of new Set(given.values())) {
          const ids = sent.filter((x) => given.get(x) === hop)
          expect(ids).toEqual([...ids].sort((p, q) => p - q))
        }
        expect(a.table.entries().every((e) => e.queued === 0)).toBe(true)
        expect(failed.length).toBeLessThanOrEqual(given.size)
      })
    )
  }, 120_000)
})
