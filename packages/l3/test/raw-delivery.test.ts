/**
 * The raw delivery hook of IPv4's local delivery (Linux `raw_local_deliver`):
 * each hook sees every datagram delivered to the host, IP header first,
 * before its protocol's handler; a datagram of a protocol with no handler
 * that a hook took is consumed without ICMP protocol unreachable (RFC 1122
 * §3.2.2.1 applies only when nothing takes it). Removing the hook restores that.
 */
import { describe, expect, it } from "@effect/vitest"
import { PacketBuffer } from "@netstack/buffers"
import { LinkLayer, NeighbourTable, TimerQueue } from "@netstack/l2"
import { stubDevice } from "@netstack/l2/testing"
import { Icmp, IcmpRateLimiter, Ipv4, PmtuCache, type ReceivedDatagram } from "@netstack/l3"
import { emitIpv4 } from "@netstack/wire"
import { Effect } from "effect"

const HOST = 0x0a000001
const PEER = 0x0a000002

/** One host with eth0 (a stub catching what is sent) and ICMP; the peer resolved permanently. */
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
  Icmp.attach(ip4, new IcmpRateLimiter(), link.drops)
  ip4.addAddress(eth0, HOST, 24)
  neighbours.addPermanent(eth0, PEER, 0x020000000002)
  sent.length = 0 // the gratuitous ARP
  return { ipv4: ip4, eth0, sent }
})

/** A datagram from the peer to the host of `protocol` carrying `payload`, data at its IP header. */
const datagram = (protocol: number, payload: Uint8Array): PacketBuffer => {
  const packet = PacketBuffer.fromBytes(payload, 64)
  emitIpv4(packet, {
    dscp: 0,
    ecn: 0,
    identification: 1,
    reservedFlag: false,
    dontFragment: false,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 9,
    protocol,
    source: PEER,
    destination: HOST
  })
  return packet
}

describe("raw delivery hook", () => {
  it.effect("sees each datagram whole before its protocol; a protocol no handler knows is consumed without ICMP", () =>
    Effect.gen(function*() {
      const h = yield* host
      const seen: Array<{ readonly bytes: Uint8Array; readonly datagram: ReceivedDatagram }> = []
      const remove = h.ipv4.addRawDelivery((packet, datagram) => {
        seen.push({ bytes: packet.toUint8Array(), datagram })
        return datagram.protocol === 253
      })
      h.ipv4.receive(datagram(253, Uint8Array.of(1, 2, 3)), h.eth0)
      expect(seen).toHaveLength(1)
      expect(seen[0]?.bytes.length).toBe(23)
      expect(seen[0]?.bytes[0]).toBe(0x45) // the IP header first
      expect(seen[0]?.datagram).toMatchObject({ protocol: 253, source: PEER, destination: HOST, ttl: 9 })
      expect(h.ipv4.stats.InUnknownProtos).toBe(0)
      expect(h.ipv4.stats.InDelivers).toBe(1)
      expect(h.sent).toHaveLength(0)
      // An echo request: the hook sees it and ICMP still answers.
      h.ipv4.receive(datagram(1, Uint8Array.of(8, 0, 0xf7, 0xff, 0, 0, 0, 0)), h.eth0)
      expect(seen).toHaveLength(2)
      expect(h.sent).toHaveLength(1)
      remove()
      h.ipv4.receive(datagram(253, Uint8Array.of(1, 2, 3)), h.eth0)
      expect(seen).toHaveLength(2)
      expect(h.ipv4.stats.InUnknownProtos).toBe(1)
      expect(h.sent).toHaveLength(2) // protocol unreachable
    }))
})
