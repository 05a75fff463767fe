/**
 * Where the transport checksum of an Ethernet frame lives: the offsets a
 * `virtio_net_hdr` names (`csum_start`, `csum_offset`, `hdr_len`) and the
 * pseudo-header sum (RFC 768; RFC 9293 §3.1; RFC 8200 §8.1) a partial
 * checksum starts from. Used when the NIC must re-derive them from the bytes:
 * a forwarded frame whose checksum a previous hop left partial, and a TSO
 * super-packet handed to a medium as one frame.
 */
import type { PacketBuffer } from "@netstack/buffers"
import { EthernetView, EtherTypes, Ipv4View, Ipv6View, isVlanEtherType, TcpView, UdpView, VlanView } from "@netstack/wire"

const TCP = 6
const UDP = 17
/** Offset of the checksum field in a TCP header (RFC 9293 §3.1). */
const TCP_CHECKSUM_FIELD = 16
/** Offset of the checksum field in a UDP header (RFC 768). */
const UDP_CHECKSUM_FIELD = 6

/** The transport header of a frame, from `frame.data`. */
export interface TransportLocation {
  readonly protocol: "tcp" | "udp"
  /** Offset of the transport header (`csum_start`). */
  readonly start: number
  /** Offset of the checksum field from `start` (`csum_offset`). */
  readonly offset: number
  /** Offset of the first payload byte (`hdr_len`). */
  readonly payloadStart: number
  /** The pseudo-header sum for the transport length the IP header gives (folded, not complemented). */
  readonly pseudoHeaderSum: number
}

/**
 * The TCP or UDP header of the IPv4 or IPv6 (no extension headers) packet in
 * the Ethernet frame at `frame.data` (one VLAN tag allowed), or `undefined`
 * for anything else (other protocols, fragments, headers that do not parse).
 */
export const locateTransport = (frame: PacketBuffer): TransportLocation | undefined => {
  const ethernet = EthernetView.parse(frame)
  if (!(ethernet instanceof EthernetView)) return undefined
  let etherType = ethernet.etherType
  let offset = ethernet.payloadOffset
  if (isVlanEtherType(etherType)) {
    const tag = VlanView.parse(frame, offset)
    if (!(tag instanceof VlanView)) return undefined
    etherType = tag.etherType
    offset = tag.payloadOffset
  }
  let protocol: number
  let at: number
  let pseudoHeaderSum: number
  if (etherType === EtherTypes.ipv4) {
    const ip = Ipv4View.parse(frame, offset)
    if (!(ip instanceof Ipv4View) || ip.isFragment) return undefined
    protocol = ip.protocol
    at = ip.payloadOffset
    pseudoHeaderSum = ip.pseudoHeaderSum(protocol, ip.payloadLength)
  } else if (etherType === EtherTypes.ipv6) {
    const ip = Ipv6View.parse(frame, offset)
    if (!(ip instanceof Ipv6View) || ip.isFragment) return undefined
    protocol = ip.upperLayerProtocol
    at = ip.upperLayerOffset
    pseudoHeaderSum = ip.pseudoHeaderSum()
  } else {
    return undefined
  }
  if (protocol === TCP) {
    const tcp = TcpView.parse(frame, at)
    if (!(tcp instanceof TcpView)) return undefined
    return { protocol: "tcp", start: at, offset: TCP_CHECKSUM_FIELD, payloadStart: tcp.payloadOffset, pseudoHeaderSum }
  }
  if (protocol === UDP) {
    const udp = UdpView.parse(frame, at)
    if (!(udp instanceof UdpView)) return undefined
    return { protocol: "udp", start: at, offset: UDP_CHECKSUM_FIELD, payloadStart: at + 8, pseudoHeaderSum }
  }
  return undefined
}
