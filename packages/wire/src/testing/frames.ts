/**
 * fast-check arbitraries of whole Ethernet frames built by the emitters, the
 * way the stack builds packets: payload first, each header pushed in front,
 * lengths and checksums filled. Traffic for oracle tests (does Wireshark read
 * what we write?) and for the layers above.
 */
import { ipv4PseudoHeaderSum, ipv6PseudoHeaderSum, PacketBuffer } from "@netstack/buffers"
import fc from "fast-check"
import { arpFields, emitArp } from "../arp/emit.ts"
import { emitEthernet, ethernetFields } from "../ethernet/emit.ts"
import { EtherTypes } from "../ethernet/schema.ts"
import { emitIcmpv4, icmpv4Fields } from "../icmpv4/emit.ts"
import { icmpv4Body } from "../icmpv4/schema.ts"
import { emitIcmpv6, icmpv6Fields } from "../icmpv6/emit.ts"
import type { Icmpv6Message } from "../icmpv6/schema.ts"
import { emitIpv4, ipv4Fields } from "../ipv4/emit.ts"
import { Ipv4Protocols } from "../ipv4/schema.ts"
import { emitIpv6, ipv6Fields } from "../ipv6/emit.ts"
import { Ipv6NextHeaders } from "../ipv6/schema.ts"
import { emitTcp, tcpFields } from "../tcp/emit.ts"
import { emitUdp } from "../udp/emit.ts"
import { emitVlan } from "../vlan/emit.ts"
import { ethernetHeader, udpDatagram } from "./headers.ts"
import { icmpv4Message, ipv4Header } from "./ipv4.ts"
import { icmpv6Message, ipv6Header } from "./ipv6.ts"
import { arpPacket, vlanTag } from "./l2.ts"
import { tcpSegment } from "./tcp.ts"

/** What an emitter returns: its typed error, or `undefined`. */
type EmitResult = { readonly _tag: string } | undefined

/** Fills a buffer that holds the payload: pushes one more header in front. */
type Layer = (buffer: PacketBuffer) => EmitResult

/** What goes inside an IP packet: its protocol number, its payload, and how to push its header given a pseudo-header sum. */
interface Transport {
  readonly protocol: number
  readonly payload: Uint8Array
  /** Length of the transport message (header and data), for the pseudo-header. */
  readonly length: number
  readonly push: (buffer: PacketBuffer, pseudoHeaderSum: (protocol: number, length: number) => number) => EmitResult
}

const HEADROOM = 4096

const icmpv6Body = (m: Icmpv6Message): Uint8Array =>
  "data" in m ? m.data : "invokingPacket" in m ? m.invokingPacket : new Uint8Array(0)

const udpTransport: fc.Arbitrary<Transport> = udpDatagram.map(({ header, payload }) => ({
  protocol: Ipv4Protocols.udp,
  payload,
  length: header.length,
  push: (buffer, pseudo) =>
    emitUdp(buffer, header, { mode: "full", pseudoHeaderSum: pseudo(Ipv4Protocols.udp, header.length) })
}))

/** RFC 9293 §3.1: the padding after an End of Option List is zeros (the header arbitrary also covers junk there). */
const zeroPadded = (options: ReadonlyArray<{ readonly _tag: string; readonly padding?: Uint8Array }>): boolean =>
  options.every((o) => o.padding === undefined || o.padding.every((b) => b === 0))

const tcpTransport: fc.Arbitrary<Transport> = tcpSegment.filter(({ header }) => zeroPadded(header.options)).map((
  { header, payload }
) => ({
  protocol: Ipv4Protocols.tcp,
  payload,
  length: header.dataOffset * 4 + payload.length,
  push: (buffer, pseudo) =>
    emitTcp(buffer, tcpFields(header), {
      mode: "full",
      pseudoHeaderSum: pseudo(Ipv4Protocols.tcp, header.dataOffset * 4 + payload.length)
    })
}))

/** What an ICMP error quotes (RFC 792, RFC 1812 §4.3.2.3): a real IPv4 header and the first 8 bytes of its UDP datagram. */
const quotedIpv4 = fc.tuple(ipv4Header, udpDatagram).map(([header, { header: udp, payload }]) => {
  const fields = ipv4Fields({ ...header, protocol: Ipv4Protocols.udp, moreFragments: false, fragmentOffset: 0 })
  const bytes = build(payload, [
    (b) => emitUdp(b, udp, { mode: "full", pseudoHeaderSum: ipv4PseudoHeaderSum(fields.source, fields.destination, 17, udp.length) }),
    (b) => emitIpv4(b, fields)
  ])
  return bytes.subarray(0, 20 + header.options.length + 8)
})

/** What an ICMPv6 error quotes (RFC 4443 §2.4(c)): the start of a real IPv6 packet, here its header and 8 bytes of UDP. */
const quotedIpv6 = fc.tuple(ipv6Header, udpDatagram).map(([header, { header: udp, payload }]) => {
  const fields = { ...ipv6Fields(header), protocol: Ipv6NextHeaders.udp, extensionHeaders: [] }
  const bytes = build(payload, [
    (b) => emitUdp(b, udp, { mode: "full", pseudoHeaderSum: ipv6PseudoHeaderSum(fields.source, fields.destination, 17, udp.length) }),
    (b) => emitIpv6(b, fields)
  ])
  return bytes.subarray(0, 48)
})

const icmpv4Transport: fc.Arbitrary<Transport> = fc.tuple(icmpv4Message, quotedIpv4).map(([generated, quoted]) => {
  const message = "invoking" in generated ? { ...generated, invoking: quoted } : generated
  return {
    protocol: Ipv4Protocols.icmp,
    payload: icmpv4Body(message),
    length: 8 + icmpv4Body(message).length,
    push: (buffer) => emitIcmpv4(buffer, icmpv4Fields(message), "full")
  }
})

/** A message with real packets where it quotes one: an error's invoking packet, a Redirected Header option's packet. */
const withQuotedPackets = (message: Icmpv6Message, quoted: Uint8Array): Icmpv6Message => {
  if ("invokingPacket" in message) return { ...message, invokingPacket: quoted }
  if (!("options" in message)) return message
  return {
    ...message,
    options: message.options.map((o) => (o._tag === "RedirectedHeader" ? { ...o, packet: quoted } : o))
  }
}

const icmpv6Transport: fc.Arbitrary<Transport> = fc.tuple(icmpv6Message, quotedIpv6).map((
  [generated, quoted]
) => withQuotedPackets(generated, quoted)).map((message) => ({
  protocol: Ipv6NextHeaders.icmpv6,
  payload: icmpv6Body(message),
  length: 0, // computed by the emitter; the pseudo-header below uses the final length
  push: (buffer, pseudo) => {
    // ICMPv6 options are pushed by the emitter, so the length is only known after it: emit once
    // to measure, then again for real with the right pseudo-header sum.
    const probe = buffer.copy()
    if (!(probe instanceof PacketBuffer)) return probe
    const probed = emitIcmpv6(probe, icmpv6Fields(message), { mode: "none" })
    if (probed !== undefined) return probed
    return emitIcmpv6(buffer, icmpv6Fields(message), {
      mode: "full",
      pseudoHeaderSum: pseudo(Ipv6NextHeaders.icmpv6, probe.length)
    })
  }
}))

/** An IPv4 packet (no fragmentation) carrying one transport. */
const ipv4Packet = (transport: fc.Arbitrary<Transport>): fc.Arbitrary<readonly [Uint8Array, ReadonlyArray<Layer>]> =>
  fc.tuple(ipv4Header, transport).map(([header, t]) => {
    const fields = ipv4Fields({ ...header, protocol: t.protocol, moreFragments: false, fragmentOffset: 0 })
    const layers: ReadonlyArray<Layer> = [
      (b) => t.push(b, (protocol, length) => ipv4PseudoHeaderSum(fields.source, fields.destination, protocol, length)),
      (b) => emitIpv4(b, fields)
    ]
    return [t.payload, layers] as const
  })

/** An IPv6 packet with Hop-by-Hop or Destination Options headers at most (no routing, fragments or jumbograms). */
const ipv6Packet = (transport: fc.Arbitrary<Transport>): fc.Arbitrary<readonly [Uint8Array, ReadonlyArray<Layer>]> =>
  fc.tuple(ipv6Header, transport).map(([header, t]) => {
    // Options as a real sender writes them: padding and Router Alert. (Random "unknown" types would
    // collide with types IANA has assigned fixed layouts to, such as 0x41.)
    const extensions = header.extensionHeaders.flatMap((e) =>
      e._tag === "DestinationOptions" || e._tag === "HopByHop"
        ? [{ ...e, options: e.options.filter((o) => o._tag === "Pad1" || o._tag === "PadN" || o._tag === "RouterAlert") }]
        : []
    )
    const hopByHopFirst = extensions.filter((e, i) => e._tag !== "HopByHop" || i === 0)
    const fields = { ...ipv6Fields(header), protocol: t.protocol, extensionHeaders: hopByHopFirst }
    const layers: ReadonlyArray<Layer> = [
      (b) => t.push(b, (p, length) => ipv6PseudoHeaderSum(fields.source, fields.destination, p, length)),
      (b) => emitIpv6(b, fields)
    ]
    return [t.payload, layers] as const
  })

/** The link layer: Ethernet, with an 802.1Q tag a quarter of the time. */
const link = (etherType: number): fc.Arbitrary<ReadonlyArray<Layer>> =>
  fc.tuple(ethernetHeader, fc.option(vlanTag, { freq: 4, nil: undefined })).map(([ethernet, tag]) =>
    tag === undefined
      ? [(b) => emitEthernet(b, ethernetFields({ ...ethernet, etherType }))]
      : [
        (b) => emitVlan(b, { ...tag, etherType }),
        (b) => emitEthernet(b, ethernetFields({ ...ethernet, etherType: EtherTypes.vlan }))
      ]
  )

/** Pushes each layer in turn. An emitter refusing a generated header is a bug in this generator: it throws. */
const build = (payload: Uint8Array, layers: ReadonlyArray<Layer>): Uint8Array => {
  const buffer = PacketBuffer.fromBytes(payload, HEADROOM)
  for (const push of layers) {
    const error = push(buffer)
    if (error !== undefined) throw new Error(`frame generator: an emitter refused its input (${error._tag})`)
  }
  return buffer.toUint8Array()
}

/**
 * A whole Ethernet frame, optionally VLAN-tagged, carrying ARP, or IPv4 with
 * ICMP, UDP or TCP, or IPv6 (with Hop-by-Hop / Destination Options headers)
 * with ICMPv6 (NDP included), UDP or TCP. Every length and checksum is filled
 * by the emitters.
 */
export const ethernetFrame: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.tuple(arpPacket, link(EtherTypes.arp)).map(([arp, l2]) =>
    build(new Uint8Array(0), [(b) => emitArp(b, arpFields(arp)), ...l2])
  ),
  fc.tuple(ipv4Packet(fc.oneof(icmpv4Transport, udpTransport, tcpTransport)), link(EtherTypes.ipv4)).map((
    [[payload, l3], l2]
  ) => build(payload, [...l3, ...l2])),
  fc.tuple(ipv6Packet(fc.oneof(icmpv6Transport, udpTransport, tcpTransport)), link(EtherTypes.ipv6)).map((
    [[payload, l3], l2]
  ) => build(payload, [...l3, ...l2]))
)
