/**
 * Offload metadata that travels with a frame on media that can carry it,
 * modelled on Linux's `struct virtio_net_hdr` (include/uapi/linux/virtio_net.h),
 * which veth, virtio-net and TAP with `IFF_VNET_HDR` all use:
 *
 * - `flags & NEEDS_CSUM`: the transport checksum is partial (`CHECKSUM_PARTIAL`):
 *   the field at `csumStart + csumOffset` holds the pseudo-header sum and the
 *   receiver (or whoever takes the frame off a medium that cannot carry the
 *   flag) sums from `csumStart` (counted from the first byte of the frame, the
 *   Ethernet header) to the end and stores the result there.
 * - `flags & DATA_VALID`: the checksum was verified already
 *   (`CHECKSUM_UNNECESSARY`).
 * - `gsoType` other than `none`: the frame is a TSO super-packet of
 *   `gsoSize`-byte segments, whose headers are `hdrLen` bytes long.
 *
 * A medium that carries metadata says so in its port's `offloadSupport`; a
 * receiver says what it takes when it attaches. A frame without metadata is an
 * ordinary frame with a complete checksum: nothing changes for media or peers
 * that know nothing of offloads.
 */
import { finishChecksum, type PacketBuffer, sumBytes, sumPacket } from "@netstack/buffers"

/** `VIRTIO_NET_HDR_F_NEEDS_CSUM`: the checksum is partial (`csumStart`, `csumOffset`). */
export const NEEDS_CSUM = 1
/** `VIRTIO_NET_HDR_F_DATA_VALID`: the checksum was verified. */
export const DATA_VALID = 2

/** `VIRTIO_NET_HDR_GSO_*`: what kind of super-packet a frame is, if any. */
export type FrameGsoType = "none" | "tcpv4" | "tcpv6"

/** The metadata of one frame (a `virtio_net_hdr`). */
export interface FrameOffload {
  /** `NEEDS_CSUM` and/or `DATA_VALID`. */
  readonly flags: number
  /** Where the checksummed bytes start, from the first byte of the frame (meaningful with `NEEDS_CSUM`). */
  readonly csumStart: number
  /** Where the checksum field is, from `csumStart` (16 for TCP, 6 for UDP). */
  readonly csumOffset: number
  readonly gsoType: FrameGsoType
  /** Payload bytes per segment of a super-packet (the MSS); 0 when not GSO. */
  readonly gsoSize: number
  /** Length of the headers (Ethernet to the end of TCP) of a super-packet; 0 when not GSO. */
  readonly hdrLen: number
}

/** What an end of a medium takes, or what a port may send: partial/verified checksums, and TSO super-packets. */
export interface OffloadSupport {
  /** `NEEDS_CSUM` / `DATA_VALID` metadata (virtio's `GUEST_CSUM`, Linux's `TUN_F_CSUM`). */
  readonly checksum: boolean
  /** TCP super-packets (virtio's `GUEST_TSO4`/`GUEST_TSO6`, `TUN_F_TSO4`/`TUN_F_TSO6`). */
  readonly gso: boolean
}

/** Plain frames only: what every medium and peer without metadata supports. */
export const NO_OFFLOAD_SUPPORT: OffloadSupport = { checksum: false, gso: false }

/** Checksum metadata but no super-packets: what in-process media carry (their receivers take frames up to the MTU). */
export const CHECKSUM_OFFLOAD_SUPPORT: OffloadSupport = { checksum: true, gso: false }

/** Checksum metadata and super-packets (a TAP with `IFF_VNET_HDR`). */
export const FULL_OFFLOAD_SUPPORT: OffloadSupport = { checksum: true, gso: true }

/** The metadata of a verified frame (`DATA_VALID`, no GSO). Shared: never changed. */
export const DATA_VALID_OFFLOAD: FrameOffload = {
  flags: DATA_VALID,
  csumStart: 0,
  csumOffset: 0,
  gsoType: "none",
  gsoSize: 0,
  hdrLen: 0
}

/** The metadata of a frame whose checksum is partial, not a super-packet. */
export const partialChecksum = (csumStart: number, csumOffset: number): FrameOffload => ({
  flags: NEEDS_CSUM,
  csumStart,
  csumOffset,
  gsoType: "none",
  gsoSize: 0,
  hdrLen: 0
})

/** True when `offload` says the frame's checksum is partial. */
export const needsChecksum = (offload: FrameOffload | undefined): offload is FrameOffload =>
  offload !== undefined && (offload.flags & NEEDS_CSUM) !== 0

/**
 * Completes a partial checksum in `frame` itself (which the caller owns), as
 * Linux's `skb_checksum_help` does: sums `frame[csumStart..]`, the field
 * holding the pseudo-header sum included, and stores the complement, a zero
 * as 0xFFFF (`CSUM_MANGLED_0`: for UDP zero means "no checksum", RFC 768; for
 * TCP the two are the same ones'-complement value). False, changing nothing,
 * when the field does not lie inside the frame.
 */
export const completeChecksum = (frame: Uint8Array, csumStart: number, csumOffset: number): boolean => {
  const field = csumStart + csumOffset
  if (!Number.isInteger(field) || csumStart < 0 || csumOffset < 0 || field + 2 > frame.length) return false
  const stored = completedChecksum(frame, csumStart)
  frame[field] = stored >>> 8
  frame[field + 1] = stored & 0xff
  return true
}

/**
 * The value `completeChecksum` stores for a partial checksum of `frame`
 * from `csumStart`: the complement of the sum to the end, a zero as 0xFFFF.
 */
export const completedChecksum = (frame: Uint8Array, csumStart: number): number =>
  storedChecksum(sumBytes(frame, csumStart, frame.length))

/** `completedChecksum` over a packet's bytes, fragments included; `undefined` when they cannot be read. */
export const completedPacketChecksum = (packet: PacketBuffer, csumStart: number): number | undefined => {
  const sum = sumPacket(packet, csumStart)
  return sum === undefined ? undefined : storedChecksum(sum)
}

/** The checksum field's value for a folded sum: its complement, a zero as 0xFFFF (`CSUM_MANGLED_0`). */
const storedChecksum = (sum: number): number => {
  const value = finishChecksum(sum)
  return value === 0 ? 0xffff : value
}

/**
 * The copy of a frame a capture keeps: with a partial checksum completed, so
 * tcpdump and tshark see a valid checksum (tcpdump on a veth would show the
 * partial one; here captures stay checkable).
 */
export const captureCopy = (frame: Uint8Array, offload?: FrameOffload): Uint8Array => {
  const copy = frame.slice()
  if (needsChecksum(offload)) completeChecksum(copy, offload.csumStart, offload.csumOffset)
  return copy
}
