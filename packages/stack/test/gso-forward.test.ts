/**
 * TCP super-packets (GSO on send, GRO on receive) through a router onto a
 * link with a smaller MTU: IPv4 judges a super-packet by the size of one
 * segment (Linux `skb_gso_network_seglen`). With DF the router answers
 * fragmentation needed with the next-hop MTU (RFC 1191 §4, RFC 1812
 * §5.2.6); without DF it segments in software and fragments each segment
 * (Linux `ip_finish_output_gso`), and the receiver gets every byte.
 */
import { describe, expect, it } from "@effect/vitest"
import { PacketBuffer } from "@netstack/buffers"
import { IPV4_HEADROOM, type TransportError } from "@netstack/l3"
import { advanceClock, type Host } from "@netstack/stack"
import { emitTcp, TcpView } from "@netstack/wire"
import { Effect } from "effect"
import { ip, triangle } from "./support/topology.ts"

const MSS = 1460
const SEGMENTS = 3

/** A TCP super-packet of `SEGMENTS` × MSS bytes (byte i = i mod 251), sequence 1000, as TCP hands it to IP with GSO. */
const superPacket = (): PacketBuffer => {
  const payload = Uint8Array.from({ length: MSS * SEGMENTS }, (_, i) => i % 251)
  const packet = PacketBuffer.fromBytes(payload, IPV4_HEADROOM)
  emitTcp(packet, {
    sourcePort: 40000, destinationPort: 5001, sequenceNumber: 1000, acknowledgmentNumber: 1, flags: 0x18,
    window: 1000, urgentPointer: 0, options: []
  }, { mode: "full", pseudoHeaderSum: 0 }) // segmentation computes every segment's checksum
  packet.meta.gsoType = "tcpv4"
  packet.meta.gsoSize = MSS
  packet.meta.gsoSegments = SEGMENTS
  return packet
}

/** What b's TCP (a stand-in registered as protocol 6) receives: each segment's sequence number, bytes and checksum verdict. */
const listen = (host: Host) => {
  const got: Array<{ sequence: number; data: Uint8Array; checksumOk: boolean }> = []
  host.ipv4.registerProtocol(6, {
    receive: (packet: PacketBuffer, datagram: { readonly source: number; readonly destination: number }) => {
      const tcp = TcpView.parse(packet)
      if (tcp instanceof TcpView) {
        const data = new Uint8Array(packet.length - tcp.headerLength)
        packet.copyOut(tcp.headerLength, data.length, data)
        const pseudo = pseudoSum(datagram.source, datagram.destination, packet.length)
        got.push({ sequence: tcp.sequenceNumber, data, checksumOk: tcp.verifyChecksum(pseudo) })
      }
      packet.release()
    }
  })
  return got
}

/** The IPv4 pseudo-header sum for TCP (RFC 9293 §3.1). */
const pseudoSum = (source: number, destination: number, length: number): number =>
  (source >>> 16) + (source & 0xffff) + (destination >>> 16) + (destination & 0xffff) + 6 + length

describe("TCP super-packets through a router", () => {
  it.effect("without DF: segmented in software, each segment fragmented for 576 bytes, every byte delivered", () =>
    Effect.gen(function*() {
      const { a, r, b } = yield* triangle({ mtuRB: 576 })
      const got = listen(b)
      expect(a.ipv4.send(superPacket(), { destination: ip("10.0.2.1"), protocol: 6 })).toBeUndefined()
      yield* advanceClock(50)
      // a's NIC segmented it (TSO), r's GRO merged the segments again, r segmented and fragmented them
      expect(r.ipv4.stats.InReceives).toBeLessThan(SEGMENTS) // GRO merged: r forwarded super-packets
      expect(r.ipv4.stats.ForwDatagrams).toBe(r.ipv4.stats.InReceives)
      expect(r.ipv4.stats.FragOKs).toBe(SEGMENTS)
      expect(b.ipv4.reassembler.stats.ReasmOKs).toBe(SEGMENTS)
      expect(got.map((s) => s.sequence)).toEqual([1000, 1000 + MSS, 1000 + 2 * MSS])
      expect(got.every((s) => s.checksumOk)).toBe(true)
      const bytes = new Uint8Array(got.reduce((n, s) => n + s.data.length, 0))
      let at = 0
      for (const s of got) {
        bytes.set(s.data, at)
        at += s.data.length
      }
      expect(bytes).toEqual(Uint8Array.from({ length: MSS * SEGMENTS }, (_, i) => i % 251))
    }))

  it.effect("with DF: the router answers fragmentation needed with the next-hop MTU and forwards nothing", () =>
    Effect.gen(function*() {
      const { a, r, b } = yield* triangle({ mtuRB: 576 })
      const got = listen(b)
      // a's TCP hears the error (RFC 1122 §3.2.2: by the quoted protocol; RFC 1191: with the next-hop MTU)
      const errors: Array<TransportError> = []
      a.ipv4.registerProtocol(6, { receive: (p) => void p.release(), error: (e) => void errors.push(e) })
      expect(a.ipv4.send(superPacket(), { destination: ip("10.0.2.1"), protocol: 6, dontFragment: true })).toBeUndefined()
      yield* advanceClock(50)
      // r's GRO merged the TSO segments into one or more super-packets: each one refused, none forwarded
      const received = r.ipv4.stats.InReceives
      expect(received).toBeGreaterThanOrEqual(1)
      expect(r.ipv4.stats).toMatchObject({ ForwDatagrams: 0, FragFails: received })
      expect(r.icmp.stats.OutDestUnreachs).toBe(received)
      expect(a.ipv4.pmtu.get(ip("10.0.2.1"), a.timers.now())).toBe(576)
      expect(got).toEqual([])
      expect(errors.length).toBe(r.icmp.stats.OutDestUnreachs)
      expect(errors[0]).toMatchObject({ type: 3, code: 4, mtu: 576, from: ip("10.0.1.254"), source: ip("10.0.1.1"), destination: ip("10.0.2.1"), protocol: 6 })
      // the quoted TCP header names the connection: ports 40000 → 5001
      const quoted = errors[0]?.quoted ?? new Uint8Array(0)
      expect([(quoted[0] << 8) | quoted[1], (quoted[2] << 8) | quoted[3]]).toEqual([40000, 5001])
      // a larger super-packet for the now known path MTU is refused at the sender
      const refused = a.ipv4.send(superPacket(), { destination: ip("10.0.2.1"), protocol: 6, dontFragment: true })
      expect(refused).toMatchObject({ reason: "message-too-big", mtu: 576 })
    }))
})
