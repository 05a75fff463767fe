/**
 * The transmit engine's offload work for one packet: what goes onto the
 * medium, and with which metadata (`FrameOffload`, a `virtio_net_hdr`),
 * given the NIC's offloads and what the medium's far end takes
 * (`MediumPort.offloadSupport`).
 *
 * - A partial checksum (`CHECKSUM_PARTIAL`) is completed by the NIC for a
 *   plain medium; a medium that takes checksum metadata gets it as is, with
 *   `NEEDS_CSUM` (veth and virtio-net pass `CHECKSUM_PARTIAL` through), and
 *   the receiving NIC trusts it (see `rx-offload.ts`): nobody sums the packet,
 *   where a plain medium costs two sums (complete here, verify there).
 * - A verified received packet (`CHECKSUM_UNNECESSARY`, forwarded) goes with
 *   `DATA_VALID` where metadata is taken (`virtio_net_hdr_from_skb`); one
 *   received with a partial checksum is `Partial` like the stack's own, kept
 *   or completed by the device's features as Linux's `validate_xmit_skb` does.
 * - A TSO super-packet goes as one frame with its GSO metadata to a medium
 *   that takes super-packets (a TAP: Linux segments it or takes it whole),
 *   else the TSO engine cuts it into segments, each with a partial checksum
 *   where metadata is taken, computed in full otherwise.
 */
import { ChecksumState, PacketBuffer, resolvePartialChecksum } from "@netstack/buffers"
import {
  DATA_VALID_OFFLOAD,
  type FrameOffload,
  NEEDS_CSUM,
  type OffloadSupport,
  partialChecksum
} from "../medium/offload.ts"
import type { MediumPort } from "../medium/port.ts"
import { isGsoDefect, segmentTcp } from "../offload/gso.ts"
import type { Offloads } from "./config.ts"
import { locateTransport } from "./transport-location.ts"
import type { TxDma } from "./tx-dma.ts"

/** One frame for the medium: bytes it owns, and their metadata. */
export interface WireFrame {
  readonly bytes: Uint8Array
  readonly offload: FrameOffload | undefined
}

/** Writes the 16-bit `value` at `at`. */
const setField = (bytes: Uint8Array, at: number, value: number): void => {
  bytes[at] = value >>> 8
  bytes[at + 1] = value & 0xff
}

/**
 * A TCP super-packet as one frame with its GSO metadata (`VIRTIO_NET_HDR_GSO_TCPV4/6`):
 * the checksum field holds the pseudo-header sum over the whole TCP length, as
 * Linux's `CHECKSUM_PARTIAL` super-packets do (`tcp_gso_segment` adjusts it per
 * segment). `undefined` when the frame is not a TCP super-packet it can describe.
 */
const superPacketFrame = (packet: PacketBuffer, dma: TxDma): WireFrame | undefined => {
  const gsoType = packet.meta.gsoType
  if ((gsoType !== "tcpv4" && gsoType !== "tcpv6") || packet.meta.gsoSize <= 0) return undefined
  const bytes = dma.copy(packet)
  const at = locateTransport(PacketBuffer.wrap(bytes))
  if (at === undefined || at.protocol !== "tcp") {
    dma.release(bytes)
    return undefined
  }
  setField(bytes, at.start + at.offset, at.pseudoHeaderSum)
  return {
    bytes,
    offload: {
      flags: NEEDS_CSUM,
      csumStart: at.start,
      csumOffset: at.offset,
      gsoType,
      gsoSize: packet.meta.gsoSize,
      hdrLen: at.payloadStart
    }
  }
}

/**
 * The frames `packet` becomes on a medium whose far end takes `support`, or
 * `undefined` when the NIC cannot send it (an offload it lacks, a
 * super-packet it cannot segment, a partial checksum out of range).
 */
export const wireFrames = (
  packet: PacketBuffer,
  offloads: Offloads,
  support: OffloadSupport,
  dma: TxDma
): ReadonlyArray<WireFrame> | undefined => {
  if (packet.meta.gsoType !== "none") {
    if (!offloads.tso) return undefined
    if (support.gso && support.checksum) {
      const whole = superPacketFrame(packet, dma)
      if (whole !== undefined) return [whole]
    }
    const segments = segmentTcp(packet, { checksum: support.checksum ? "partial" : "full" })
    if (isGsoDefect(segments)) return undefined
    const frames = segments.map((s): WireFrame => {
      const state = s.meta.checksum
      const offload = state._tag === "Partial" ? partialChecksum(state.start - s.data, state.offset) : undefined
      return { bytes: dma.copy(s), offload }
    })
    for (const s of segments) s.release()
    return frames
  }
  const plain = plainFrame(packet, offloads, support)
  if (plain === "refuse") return undefined
  const bytes = dma.copy(packet)
  if (plain !== "complete") return [{ bytes, offload: plain }]
  // A partial checksum: the NIC sums from csum_start to the end and stores the result, on its own copy, as DMA reads.
  const state = packet.meta.checksum
  const copy = PacketBuffer.wrap(bytes)
  if (state._tag === "Partial") copy.meta.checksum = ChecksumState.partial(state.start - packet.data, state.offset)
  if (resolvePartialChecksum(copy, 0xffff) !== undefined) return undefined
  return [{ bytes, offload: undefined }]
}

/**
 * How a packet that is not a super-packet goes onto the medium as it is:
 * with this metadata (or none). `refuse`: a partial checksum the NIC cannot
 * complete (no tx checksumming); `complete`: a partial checksum the NIC must
 * complete in the frame, for a far end that takes no metadata.
 */
const plainFrame = (packet: PacketBuffer, offloads: Offloads, support: OffloadSupport): FrameOffload | undefined | "refuse" | "complete" => {
  const state = packet.meta.checksum
  if (state._tag === "Partial") {
    if (!offloads.txChecksum) return "refuse"
    return support.checksum ? partialChecksum(state.start - packet.data, state.offset) : "complete"
  }
  return state._tag === "Unnecessary" && support.checksum ? DATA_VALID_OFFLOAD : undefined
}

/**
 * Hands `packet` itself to the medium instead of copying a frame out of it
 * (`MediumPort.handOver`, veth's skb hand-off), when it goes as one frame
 * unchanged: not a super-packet, no checksum to complete in the frame. True
 * when the medium delivered it; false when the NIC sends a frame instead.
 */
export const handOverPacket = (port: MediumPort, packet: PacketBuffer, offloads: Offloads, support: OffloadSupport): boolean => {
  if (port.handOver === undefined || packet.meta.gsoType !== "none") return false
  const plain = plainFrame(packet, offloads, support)
  return plain !== "refuse" && plain !== "complete" && port.handOver(packet, plain)
}
