/**
 * Receive checksum offload: what a NIC with rx-checksumming does for each
 * frame, verifying the TCP or UDP checksum so the stack can skip it
 * (`CHECKSUM_UNNECESSARY`). Frames it cannot parse, or other protocols, are
 * left for software.
 */
import { finishChecksum, type PacketBuffer, sumPacket } from "@netstack/buffers"
import { EthernetView, EtherTypes, Ipv4View, Ipv6View, isVlanEtherType, TcpView, UdpView, VlanView } from "@netstack/wire"

/** What the NIC found: a good or bad transport checksum, or nothing it checks. */
export type RxChecksumVerdict = "good" | "bad" | "unchecked"

const TCP = 6
const UDP = 17

/** Sums `length` bytes from `offset` (the segment, without any link padding) with the pseudo-header: 0 when valid. */
const verifySum = (frame: PacketBuffer, offset: number, length: number, pseudoHeaderSum: number): RxChecksumVerdict => {
  const sum = sumPacket(frame, offset, length, pseudoHeaderSum)
  return sum === undefined ? "unchecked" : finishChecksum(sum) === 0 ? "good" : "bad"
}

/** Verifies the TCP/UDP checksum of the Ethernet frame at `frame.data`, without changing the frame. */
export const verifyRxChecksum = (frame: PacketBuffer): RxChecksumVerdict => {
  const ethernet = EthernetView.parse(frame)
  if (!(ethernet instanceof EthernetView)) return "unchecked"
  let etherType = ethernet.etherType
  let offset = ethernet.payloadOffset
  if (isVlanEtherType(etherType)) {
    const tag = VlanView.parse(frame, offset)
    if (!(tag instanceof VlanView)) return "unchecked"
    etherType = tag.etherType
    offset = tag.payloadOffset
  }
  if (etherType === EtherTypes.ipv4) {
    const ip = Ipv4View.parse(frame, offset)
    if (!(ip instanceof Ipv4View) || ip.isFragment) return "unchecked"
    const at = ip.payloadOffset
    // Only the IP packet's own bytes count: the frame may carry link padding after it.
    const length = ip.payloadLength
    if (ip.protocol === TCP) {
      if (!(TcpView.parse(frame, at) instanceof TcpView)) return "unchecked"
      return verifySum(frame, at, length, ip.pseudoHeaderSum(TCP, length))
    }
    if (ip.protocol === UDP) {
      const udp = UdpView.parse(frame, at)
      if (!(udp instanceof UdpView)) return "unchecked"
      if (udp.checksum === 0) return "unchecked"
      return udp.verifyChecksum(ip.pseudoHeaderSum(UDP, udp.length), true) ? "good" : "bad"
    }
    return "unchecked"
  }
  if (etherType === EtherTypes.ipv6) {
    const ip = Ipv6View.parse(frame, offset)
    if (!(ip instanceof Ipv6View) || ip.isFragment) return "unchecked"
    const at = ip.upperLayerOffset
    if (ip.upperLayerProtocol === TCP) {
      if (!(TcpView.parse(frame, at) instanceof TcpView)) return "unchecked"
      return verifySum(frame, at, ip.upperLayerLength, ip.pseudoHeaderSum())
    }
    if (ip.upperLayerProtocol === UDP) {
      const udp = UdpView.parse(frame, at)
      if (!(udp instanceof UdpView)) return "unchecked"
      return udp.verifyChecksum(ip.pseudoHeaderSum(udp.length), false) ? "good" : "bad"
    }
  }
  return "unchecked"
}
