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
 */
import { ChecksumState, type PacketBuffer } from "@netstack/buffers"
import { completeChecksum, DATA_VALID, type FrameOffload, NEEDS_CSUM } from "../medium/offload.ts"

/** What the NIC did with a received frame's metadata. */
export type RxOffloadVerdict = "trusted" | "completed" | "invalid" | "none"

/**
 * Applies `offload` to `packet` (the frame as DMA'd into a linear buffer,
 * `packet.data` at the Ethernet header). `trusted`: kept partial (or marked
 * verified) without summing; `completed`: checksum completed in the bytes
 * (and marked `Unnecessary` with `rxChecksum`); `invalid`: metadata pointing
 * outside the frame, ignored (the checksum is left for verification);
 * `none`: nothing to apply.
 */
export const applyRxOffload = (packet: PacketBuffer, offload: FrameOffload, rxChecksum: boolean): RxOffloadVerdict => {
  const flags = offload.flags
  if ((flags & NEEDS_CSUM) !== 0) {
    if (!packet.isLinear) return "invalid"
    const frame = packet.bytes.subarray(packet.data, packet.data + packet.length)
    const field = offload.csumStart + offload.csumOffset
    if (offload.csumStart < 14 || offload.csumOffset < 0 || field + 2 > frame.length) return "invalid"
    if (rxChecksum) {
      packet.meta.checksum = ChecksumState.partial(packet.data + offload.csumStart, offload.csumOffset)
      return "trusted"
    }
    if (!completeChecksum(frame, offload.csumStart, offload.csumOffset)) return "invalid"
    return "completed"
  }
  if ((flags & DATA_VALID) !== 0 && rxChecksum) {
    packet.meta.checksum = ChecksumState.unnecessary
    return "trusted"
  }
  return "none"
}
