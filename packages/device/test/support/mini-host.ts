/**
 * A minimal host on a NIC, for tests against Linux where the full stack
 * (which sits above this package) is not at hand: it answers ARP for its
 * address and ICMP echo requests, and takes one TCP connection on `tcpPort`
 * as a sink (SYN-ACK with MSS 1460, cumulative ACKs, FIN answered with FIN),
 * keeping the bytes received in order. It polls its NIC's rx ring every
 * millisecond (real time) and sends through the tx ring.
 */
import { ChecksumState, ipv4PseudoHeaderSum, PacketBuffer } from "@netstack/buffers"
import type { NicDevice } from "@netstack/device"
import { ArpView, emitArp, emitEthernet, emitIpv4, emitTcp, EthernetView, Ipv4View, TcpView } from "@netstack/wire"
import { Effect } from "effect"

const ETHERTYPE_IPV4 = 0x0800
const ETHERTYPE_ARP = 0x0806
const SYN = 0x02
const ACK = 0x10
const FIN = 0x01
const RST = 0x04

/** What the host saw. */
export interface MiniHostLog {
  echoRequests: number
  /** RSTs received: their sequence and acknowledgment numbers. */
  readonly resets: Array<{ readonly sequence: number; readonly acknowledgment: number }>
  /** Bytes of the TCP stream received in order. */
  readonly stream: Array<Uint8Array>
  streamBytes: number
  finished: boolean
  /** Every received TCP segment's checksum verdict (the NIC completed or verified it). */
  segments: number
  badChecksums: number
}

/** Settings of the host. */
export interface MiniHostOptions {
  readonly nic: NicDevice
  readonly mac: number
  readonly ipv4: number
  readonly tcpPort: number
}

const check = (result: { readonly _tag: string } | undefined): void => {
  if (result !== undefined) throw new Error(`emitter refused: ${result._tag}`)
}

/** Runs the host in the current scope (a fiber polling the NIC) and returns its log and a way to send TCP frames. */
export const runMiniHost = (options: MiniHostOptions) =>
  Effect.gen(function*() {
    const { nic, mac, ipv4, tcpPort } = options
    const log: MiniHostLog = { echoRequests: 0, resets: [], stream: [], streamBytes: 0, finished: false, segments: 0, badChecksums: 0 }
    const ring = nic.rx[0].ring
    const post = () => {
      while (ring.free > 0) {
        const b = PacketBuffer.alloc(2048)
        b.reserve(64)
        if (!ring.post(b)) break
      }
    }
    post()
    const send = (packet: PacketBuffer) => {
      if (!nic.tx[0].ring.fill(packet)) packet.release()
      nic.tx[0].kick()
    }
    let expected = 0
    let iss = 0x10000

    const tcpSegment = (peer: { mac: number; ip: number; port: number }, seq: number, ack: number, flags: number, options: boolean) => {
      const buffer = PacketBuffer.alloc(256)
      buffer.reserve(256)
      check(emitTcp(buffer, {
        sourcePort: tcpPort, destinationPort: peer.port, sequenceNumber: seq >>> 0, acknowledgmentNumber: ack >>> 0, flags,
        window: 65535, urgentPointer: 0, options: options ? [{ _tag: "Mss", value: 1460 }] : []
      }, { mode: "partial", pseudoHeaderSum: ipv4PseudoHeaderSum(ipv4, peer.ip, 6, options ? 24 : 20) }))
      check(emitIpv4(buffer, {
        dscp: 0, ecn: 0, identification: 0, reservedFlag: false, dontFragment: true, moreFragments: false,
        fragmentOffset: 0, ttl: 64, protocol: 6, source: ipv4, destination: peer.ip
      }))
      check(emitEthernet(buffer, { destination: peer.mac, source: mac, etherType: ETHERTYPE_IPV4 }))
      send(buffer)
    }

    const handle = (packet: PacketBuffer) => {
      const eth = EthernetView.parse(packet)
      if (!(eth instanceof EthernetView)) return
      const bytes = packet.toUint8Array()
      if (eth.etherType === ETHERTYPE_ARP) {
        const arp = ArpView.parse(packet, 14)
        if (!(arp instanceof ArpView) || arp.operation !== 1 || arp.targetIpv4 !== ipv4) return
        const reply = PacketBuffer.alloc(128)
        reply.reserve(128)
        check(emitArp(reply, { operation: 2, senderMac: mac, senderIpv4: ipv4, targetMac: arp.senderMac, targetIpv4: arp.senderIpv4 }))
        check(emitEthernet(reply, { destination: arp.senderMac, source: mac, etherType: ETHERTYPE_ARP }))
        return send(reply)
      }
      if (eth.etherType !== ETHERTYPE_IPV4) return
      const ip = Ipv4View.parse(packet, 14)
      if (!(ip instanceof Ipv4View) || ip.destination !== ipv4) return
      const at = ip.payloadOffset
      if (ip.protocol === 1 && bytes[at] === 8) {
        // Echo reply: the request with MACs and addresses swapped (the IP checksum is unchanged by a swap), type 0.
        log.echoRequests++
        const out = bytes.slice(0, 14 + ip.totalLength)
        out.set(bytes.subarray(6, 12), 0)
        out.set(bytes.subarray(0, 6), 6)
        out.set(bytes.subarray(30, 34), 26)
        out.set(bytes.subarray(26, 30), 30)
        out[at] = 0
        out[at + 2] = 0
        out[at + 3] = 0
        let sum = 0
        for (let i = at; i < out.length; i += 2) sum += (out[i] << 8) | (out[i + 1] ?? 0)
        while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16)
        const checksum = ~sum & 0xffff
        out[at + 2] = checksum >>> 8
        out[at + 3] = checksum & 0xff
        return send(PacketBuffer.fromBytes(out, 64))
      }
      if (ip.protocol !== 6) return
      // Bytes past the IP packet are link padding, not part of the segment.
      if (packet.length > 14 + ip.totalLength) packet.trim(14 + ip.totalLength)
      const tcp = TcpView.parse(packet, at)
      if (!(tcp instanceof TcpView)) return
      log.segments++
      // As TCP input does: a segment the NIC marked (verified, or a trusted partial checksum) is not summed again.
      const sum = ipv4PseudoHeaderSum(ip.source, ip.destination, 6, ip.payloadLength)
      if (!ChecksumState.trusted(packet.meta.checksum) && !tcp.verifyChecksum(sum)) log.badChecksums++
      const flags = bytes[at + 13] ?? 0
      const peer = { mac: eth.source, ip: ip.source, port: tcp.sourcePort }
      if ((flags & RST) !== 0) {
        log.resets.push({ sequence: tcp.sequenceNumber, acknowledgment: tcp.acknowledgmentNumber })
        return
      }
      if (tcp.destinationPort !== tcpPort) return
      if ((flags & SYN) !== 0) {
        expected = (tcp.sequenceNumber + 1) >>> 0
        return tcpSegment(peer, iss, expected, SYN | ACK, true)
      }
      const data = bytes.subarray(tcp.payloadOffset, 14 + ip.totalLength)
      if (tcp.sequenceNumber === expected && data.length > 0) {
        log.stream.push(data.slice())
        log.streamBytes += data.length
        expected = (expected + data.length) >>> 0
      }
      if ((flags & FIN) !== 0 && tcp.sequenceNumber + data.length === expected) {
        expected = (expected + 1) >>> 0
        log.finished = true
        tcpSegment(peer, iss + 1, expected, FIN | ACK, false)
        iss += 1
        return
      }
      if (data.length > 0) tcpSegment(peer, iss + 1, expected, ACK, false)
    }

    yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
      for (let p = ring.take(); p !== undefined; p = ring.take()) {
        handle(p)
        p.release()
      }
      post()
      for (let p = nic.tx[0].ring.clean(); p !== undefined; p = nic.tx[0].ring.clean()) p.release()
      yield* Effect.sleep("1 millis")
    })))
    return { log, send }
  })
