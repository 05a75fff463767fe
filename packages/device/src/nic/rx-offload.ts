/**
 * Receive side of the offload metadata a medium hands over with a frame
 * (`FrameOffload`, a `virtio_net_hdr`; Linux: `virtio_net_hdr_to_skb`,
 * drivers/net/virtio_net.c `receive_buf`):
 *
 * - `NEEDS_CSUM` with rx checksumming: a peer on this machine left the
 *   checksum partial; the packet keeps it as `Partial` (`CHECKSUM_PARTIAL`)
 *   without summing, and the receive path trusts it as Linux's
 *   `skb_csum_unnecessary` does. Sent on (forwarded, bridged), it is a
 *   partial checksum like any the stack makes: completed by a NIC for a plain
 *   medium, handed on to a medium that takes metadata, completed before IPv4
 *   cuts it into fragments (Linux `ip_do_fragment` → `skb_checksum_help`).
 * - `NEEDS_CSUM` without rx checksumming: completed in the received bytes,
 *   then verified by software as usual (virtio's host does this for a guest
 *   without `VIRTIO_NET_F_GUEST_CSUM`).
 * - `DATA_VALID` with rx checksumming: `CHECKSUM_UNNECESSARY`, not summed; without, software
 *   verifies as usual.
 * - A TCP super-packet (`VIRTIO_NET_HDR_GSO_TCPV4/6`) for a NIC that takes
 *   them whole (`superPacketSegments`) must describe a TCP/IP packet whose
 *   segments fit the link; anything else is malformed metadata.
 */
import { ChecksumState, PacketBuffer } from "@netstack/buffers"
import { EthernetView, EtherTypes, Ipv4View, Ipv6View, isVlanEtherType, TcpView, VlanView } from "@netstack/wire"
import { completedChecksum, completedPacketChecksum, DATA_VALID, type FrameOffload, NEEDS_CSUM } from "../medium/offload.ts"

/** What the NIC did with a received frame's metadata. */
export type RxOffloadVerdict = "trusted" | "completed" | "invalid" | "none"

const TCP = 6
/** Offset of the checksum field in a TCP header (RFC 9293 §3.1). */
const TCP_CHECKSUM_FIELD = 16
/** Most segments one super-packet may stand for (Linux `GSO_MAX_SEGS`). */
const MAX_SEGMENTS = 0xffff

/**
 * Applies `offload` to `packet`, the first buffer `frame` was DMA'd into
 * (`packet.data` at the Ethernet header; with mergeable buffers it may hold
 * only the frame's first bytes, the checksum field always among them), or
 * the packet a medium handed over itself (then `frame` is that packet).
 * `trusted`: kept partial (or marked verified) without summing; `completed`:
 * checksum completed in the received bytes (and marked `Unnecessary` with
 * `rxChecksum`); `invalid`: metadata pointing outside the frame (or past the
 * first buffer), ignored (the checksum is left for verification); `none`:
 * nothing to apply.
 */
export const applyRxOffload = (
  packet: PacketBuffer,
  frame: Uint8Array | PacketBuffer,
  offload: FrameOffload,
  rxChecksum: boolean
): RxOffloadVerdict => {
  const flags = offload.flags
  if ((flags & NEEDS_CSUM) !== 0) {
    const start = offload.csumStart
    const field = start + offload.csumOffset
    if (!Number.isInteger(field) || start < 14 || offload.csumOffset < 0 || field + 2 > frame.length) return "invalid"
    if (field + 2 > packet.headLength) return "invalid"
    if (rxChecksum) {
      packet.meta.checksum = ChecksumState.partial(packet.data + start, offload.csumOffset)
      return "trusted"
    }
    // Summed over the frame as the medium handed it (the same bytes as the received copy, which may span
    // buffers), stored in the received copy's first buffer.
    const value = frame instanceof PacketBuffer ? completedPacketChecksum(frame, start) : completedChecksum(frame, start)
    return value !== undefined && packet.setUint16(field, value) === undefined ? "completed" : "invalid"
  }
  if ((flags & DATA_VALID) !== 0 && rxChecksum) {
    packet.meta.checksum = ChecksumState.unnecessary
    return "trusted"
  }
  return "none"
}

/**
 * The number of segments the TCP super-packet `frame` stands for
 * (`ceil(payload / gsoSize)`, what GRO would have merged), or 0 when its
 * metadata does not describe it: a `gsoType` other than the frame's IP
 * version (IPv4 without fragmentation, IPv6 without extension headers, as
 * `tcp_gso_segment` takes them), an IP length other than the frame's, no
 * payload, a `gsoSize` whose segments would not fit a frame of `maxFrame`
 * bytes, or `NEEDS_CSUM` pointing anywhere but the TCP checksum field.
 */
export const superPacketSegments = (frame: Uint8Array, offload: FrameOffload, maxFrame: number): number => {
  const mss = offload.gsoSize
  if (!Number.isInteger(mss) || mss <= 0) return 0
  const packet = PacketBuffer.wrap(frame)
  const ethernet = EthernetView.parse(packet)
  if (!(ethernet instanceof EthernetView)) return 0
  let etherType = ethernet.etherType
  let offset = ethernet.payloadOffset
  if (isVlanEtherType(etherType)) {
    const tag = VlanView.parse(packet, offset)
    if (!(tag instanceof VlanView)) return 0
    etherType = tag.etherType
    offset = tag.payloadOffset
  }
  let at: number
  if (offload.gsoType === "tcpv4" && etherType === EtherTypes.ipv4) {
    // RFC 791 §3.1.
    const ip = Ipv4View.parse(packet, offset)
    if (!(ip instanceof Ipv4View) || ip.isFragment || ip.protocol !== TCP || offset + ip.totalLength !== frame.length) return 0
    at = ip.payloadOffset
  } else if (offload.gsoType === "tcpv6" && etherType === EtherTypes.ipv6) {
    // RFC 8200 §3: TCP right after the fixed header.
    const ip = Ipv6View.parse(packet, offset)
    if (!(ip instanceof Ipv6View) || ip.nextHeader !== TCP || ip.upperLayerOffset + ip.upperLayerLength !== frame.length) return 0
    at = ip.upperLayerOffset
  } else {
    return 0
  }
  const tcp = TcpView.parse(packet, at)
  if (!(tcp instanceof TcpView)) return 0
  const headers = tcp.payloadOffset
  const payload = frame.length - headers
  if (payload <= 0 || headers + mss > maxFrame) return 0
  if ((offload.flags & NEEDS_CSUM) !== 0 && (offload.csumStart !== at || offload.csumOffset !== TCP_CHECKSUM_FIELD)) return 0
  const segments = Math.ceil(payload / mss)
  return segments <= MAX_SEGMENTS ? segments : 0
}
