/**
 * Decodes a whole Ethernet frame, layer by layer, with the views: Ethernet,
 * any 802.1Q tags, then ARP, IPv4 or IPv6, then ICMP, ICMPv6, UDP or TCP.
 * Each layer is kept in its typed representation with its checksum verdict.
 * Decoding stops at the first header a view refuses, and the frame records
 * that defect; it never throws.
 *
 * This is the slow, complete path used by `netstack decode`, captures and
 * tests; the stack's receive path uses the views directly.
 */
import type { PacketBuffer } from "@netstack/buffers"
import type { HeaderDefect } from "../defect.ts"
import type { ArpPacket } from "../arp/schema.ts"
import { ArpView } from "../arp/view.ts"
import { EtherTypes, type EthernetHeader } from "../ethernet/schema.ts"
import { EthernetView } from "../ethernet/view.ts"
import type { Icmpv4Message } from "../icmpv4/schema.ts"
import { Icmpv4View } from "../icmpv4/view.ts"
import type { Icmpv6Message } from "../icmpv6/schema.ts"
import { Icmpv6View } from "../icmpv6/view.ts"
import { Ipv4Protocols, type Ipv4Header } from "../ipv4/schema.ts"
import { Ipv4View } from "../ipv4/view.ts"
import { IPV6_HEADER_LENGTH, type Ipv6Header, Ipv6NextHeaders } from "../ipv6/schema.ts"
import { Ipv6View } from "../ipv6/view.ts"
import type { TcpHeader } from "../tcp/schema.ts"
import { TcpView } from "../tcp/view.ts"
import type { UdpHeader } from "../udp/schema.ts"
import { UdpView } from "../udp/view.ts"
import { isVlanEtherType, type VlanTag } from "../vlan/schema.ts"
import { VlanView } from "../vlan/view.ts"

/**
 * What a checksum check found: `valid`, `invalid`, `absent` (a zero UDP
 * checksum over IPv4 means none was sent), or `unverified` (the bytes it
 * covers were not all captured, or belong to a fragment).
 */
export type ChecksumStatus = "valid" | "invalid" | "absent" | "unverified"

/** The type and code numbers of an ICMP message (its typed form names the kind). */
export interface IcmpNumbers {
  readonly type: number
  readonly code: number
}

/** One decoded layer: its typed header and, where it has one, its checksum verdict. */
export type DecodedLayer =
  | { readonly layer: "ethernet"; readonly header: EthernetHeader }
  | { readonly layer: "vlan"; readonly header: VlanTag }
  | { readonly layer: "arp"; readonly header: ArpPacket }
  | { readonly layer: "ipv4"; readonly header: Ipv4Header; readonly checksum: ChecksumStatus }
  | { readonly layer: "ipv6"; readonly header: Ipv6Header }
  | (IcmpNumbers & { readonly layer: "icmpv4"; readonly header: Icmpv4Message; readonly checksum: ChecksumStatus })
  | (IcmpNumbers & { readonly layer: "icmpv6"; readonly header: Icmpv6Message; readonly checksum: ChecksumStatus })
  | { readonly layer: "udp"; readonly header: UdpHeader; readonly checksum: ChecksumStatus }
  | {
    readonly layer: "tcp"
    readonly header: TcpHeader
    readonly checksum: ChecksumStatus
    /** Bytes of data after the header (in a first IPv4 fragment, those the fragment holds). */
    readonly payloadLength: number
  }

/** A decoded frame. */
export interface DecodedFrame {
  /** Bytes decoded (as captured). */
  readonly length: number
  /** The layers, outermost first. */
  readonly layers: ReadonlyArray<DecodedLayer>
  /**
   * Bytes after the innermost decoded header: its data (in a first fragment,
   * the part the fragment holds), a later fragment's data, or the Ethernet
   * padding after an ARP packet.
   */
  readonly payloadLength: number
  /** The first header a view refused, if any; decoding stopped there. */
  readonly defect: HeaderDefect | undefined
}

/** The verdict of a checksum check that ran. */
const verdict = (valid: boolean): ChecksumStatus => (valid ? "valid" : "invalid")

/** Collects layers and where the data after them starts. */
class FrameBuilder {
  readonly buffer: PacketBuffer
  readonly layers: Array<DecodedLayer> = []
  /** Offset from `buffer.data` of the bytes after the innermost decoded header. */
  payloadOffset = 0
  defect: HeaderDefect | undefined = undefined
  constructor(buffer: PacketBuffer) {
    this.buffer = buffer
  }
  refuse(defect: HeaderDefect): void {
    this.defect = defect
  }
  done(): DecodedFrame {
    return {
      length: this.buffer.length,
      layers: this.layers,
      payloadLength: Math.max(0, this.buffer.length - this.payloadOffset),
      defect: this.defect
    }
  }
}

/**
 * Decodes the frame in `buffer` (from `buffer.data`). The buffer is trimmed
 * to the IP packet's length (link padding removed), as the receive path does;
 * pass a copy if the caller needs it intact.
 */
export const decodeFrame = (buffer: PacketBuffer): DecodedFrame => {
  const frame = new FrameBuilder(buffer)
  const ethernet = EthernetView.parse(buffer)
  if (!(ethernet instanceof EthernetView)) {
    frame.refuse(ethernet)
    return frame.done()
  }
  frame.layers.push({ layer: "ethernet", header: ethernet.toHeader() })
  let etherType = ethernet.etherType
  let offset = ethernet.payloadOffset
  frame.payloadOffset = offset
  while (isVlanEtherType(etherType)) {
    const vlan = VlanView.parse(buffer, offset)
    if (!(vlan instanceof VlanView)) {
      frame.refuse(vlan)
      return frame.done()
    }
    frame.layers.push({ layer: "vlan", header: vlan.toHeader() })
    etherType = vlan.etherType
    offset = vlan.payloadOffset
    frame.payloadOffset = offset
  }
  switch (etherType) {
    case EtherTypes.arp:
      decodeArp(frame, offset)
      break
    case EtherTypes.ipv4:
      decodeIpv4(frame, offset)
      break
    case EtherTypes.ipv6:
      decodeIpv6(frame, offset)
      break
  }
  return frame.done()
}

const decodeArp = (frame: FrameBuilder, offset: number): void => {
  const arp = ArpView.parse(frame.buffer, offset)
  if (!(arp instanceof ArpView)) return frame.refuse(arp)
  frame.layers.push({ layer: "arp", header: arp.toHeader() })
  frame.payloadOffset = offset + arp.headerLength
}

/**
 * The IPv4 packet, and its transport header when the packet holds one: an
 * unfragmented packet, or a datagram's first fragment (offset 0, MF set),
 * whose transport header is read from the bytes this fragment holds, as
 * tcpdump does, its checksum `unverified`. A later fragment holds no header.
 */
const decodeIpv4 = (frame: FrameBuilder, offset: number): void => {
  const buffer = frame.buffer
  const ip = Ipv4View.parse(buffer, offset)
  if (!(ip instanceof Ipv4View)) return frame.refuse(ip)
  frame.layers.push({ layer: "ipv4", header: ip.toHeader(), checksum: verdict(ip.verifyChecksum()) })
  // RFC 1122 §3.3.1 (and the kernel's ip_rcv): bytes past the total length are link padding.
  buffer.trim(offset + ip.totalLength)
  const at = ip.payloadOffset
  frame.payloadOffset = at
  if (ip.fragmentOffset !== 0) return
  const first = ip.moreFragments
  const length = ip.payloadLength
  switch (ip.protocol) {
    case Ipv4Protocols.icmp: {
      const icmp = Icmpv4View.parse(buffer, at)
      if (!(icmp instanceof Icmpv4View)) return frame.refuse(icmp)
      // The typed message holds the whole message, its data and quoted packet included.
      frame.layers.push({
        layer: "icmpv4",
        header: icmp.toHeader(),
        checksum: first ? "unverified" : verdict(icmp.verifyChecksum()),
        type: icmp.type,
        code: icmp.code
      })
      frame.payloadOffset = buffer.length
      return
    }
    case Ipv4Protocols.udp: {
      const udp = UdpView.parse(buffer, at, first)
      if (!(udp instanceof UdpView)) return frame.refuse(udp)
      const status = first
        ? "unverified"
        : udp.checksum === 0
        ? "absent"
        : verdict(udp.verifyChecksum(ip.pseudoHeaderSum(Ipv4Protocols.udp, udp.length), true))
      frame.layers.push({ layer: "udp", header: udp.toHeader(), checksum: status })
      frame.payloadOffset = udp.payloadOffset
      return
    }
    case Ipv4Protocols.tcp: {
      const tcp = TcpView.parse(buffer, at)
      if (!(tcp instanceof TcpView)) return frame.refuse(tcp)
      const status = first ? "unverified" : verdict(tcp.verifyChecksum(ip.pseudoHeaderSum(Ipv4Protocols.tcp, length)))
      frame.layers.push({ layer: "tcp", header: tcp.toHeader(), checksum: status, payloadLength: tcp.payloadLength })
      frame.payloadOffset = tcp.payloadOffset
      return
    }
  }
}

const decodeIpv6 = (frame: FrameBuilder, offset: number): void => {
  const buffer = frame.buffer
  const ip = Ipv6View.parse(buffer, offset)
  if (!(ip instanceof Ipv6View)) return frame.refuse(ip)
  frame.layers.push({ layer: "ipv6", header: ip.toHeader() })
  // RFC 8200 §3: the payload length says where the packet ends; the rest is link padding.
  buffer.trim(offset + IPV6_HEADER_LENGTH + ip.payloadLength)
  const at = ip.upperLayerOffset
  frame.payloadOffset = at
  if (ip.isFragment) return
  switch (ip.upperLayerProtocol) {
    case Ipv6NextHeaders.icmpv6: {
      const icmp = Icmpv6View.parse(buffer, at)
      if (!(icmp instanceof Icmpv6View)) return frame.refuse(icmp)
      frame.layers.push({
        layer: "icmpv6",
        header: icmp.toHeader(),
        checksum: verdict(icmp.verifyChecksum(ip.pseudoHeaderSum())),
        type: icmp.type,
        code: icmp.code
      })
      // As for ICMPv4, the typed message holds the whole message.
      frame.payloadOffset = buffer.length
      return
    }
    case Ipv6NextHeaders.udp: {
      const udp = UdpView.parse(buffer, at)
      if (!(udp instanceof UdpView)) return frame.refuse(udp)
      // RFC 8200 §8.1: a zero UDP checksum is invalid over IPv6.
      frame.layers.push({
        layer: "udp",
        header: udp.toHeader(),
        checksum: verdict(udp.verifyChecksum(ip.pseudoHeaderSum(udp.length), false))
      })
      frame.payloadOffset = udp.payloadOffset
      return
    }
    case Ipv6NextHeaders.tcp: {
      const tcp = TcpView.parse(buffer, at)
      if (!(tcp instanceof TcpView)) return frame.refuse(tcp)
      frame.layers.push({
        layer: "tcp",
        header: tcp.toHeader(),
        checksum: verdict(tcp.verifyChecksum(ip.pseudoHeaderSum())),
        payloadLength: tcp.payloadLength
      })
      frame.payloadOffset = tcp.payloadOffset
      return
    }
  }
}
