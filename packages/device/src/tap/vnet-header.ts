/**
 * The `virtio_net_hdr` a TAP with `IFF_VNET_HDR` puts in front of every frame
 * (include/uapi/linux/virtio_net.h; Documentation/networking/tuntap.rst),
 * little-endian (virtio 1.0; the TAP uses the host's order, and Linux on
 * x86/arm64 is little-endian), 12 bytes (`virtio_net_hdr_v1`, whose
 * `num_buffers` is unused here), set with `TUNSETVNETHDRSZ`:
 *
 *   0 flags (u8)  1 gso_type (u8)  2 hdr_len  4 gso_size  6 csum_start  8 csum_offset  10 num_buffers
 */
import { type FrameGsoType, type FrameOffload, NEEDS_CSUM } from "../medium/offload.ts"

/** Bytes of the header (`TUNSETVNETHDRSZ`). */
export const VNET_HEADER_SIZE = 12

/** `VIRTIO_NET_HDR_GSO_*` values. */
const GSO_NONE = 0
const GSO_TCPV4 = 1
const GSO_TCPV6 = 4
/** `VIRTIO_NET_HDR_GSO_ECN`: a flag on top of the type. */
const GSO_ECN = 0x80
/** Flags this side understands (`NEEDS_CSUM`, `DATA_VALID`); `RSC_INFO` and others are ignored. */
const KNOWN_FLAGS = 0x03

const gsoCode = (type: FrameGsoType): number => (type === "tcpv4" ? GSO_TCPV4 : type === "tcpv6" ? GSO_TCPV6 : GSO_NONE)

/** Writes the header for `offload` (none: all zero) at `at` in `out`. */
export const encodeVnetHeader = (out: Uint8Array, at: number, offload: FrameOffload | undefined): void => {
  if (offload === undefined) {
    out.fill(0, at, at + VNET_HEADER_SIZE)
    return
  }
  const view = new DataView(out.buffer, out.byteOffset + at, VNET_HEADER_SIZE)
  view.setUint8(0, offload.flags & KNOWN_FLAGS)
  view.setUint8(1, gsoCode(offload.gsoType))
  view.setUint16(2, offload.hdrLen, true)
  view.setUint16(4, offload.gsoSize, true)
  view.setUint16(6, offload.csumStart, true)
  view.setUint16(8, offload.csumOffset, true)
  view.setUint16(10, 0, true)
}

/** Why a header could not be read. */
export type VnetHeaderDefect = "short" | "unknown-gso-type"

/**
 * The metadata the header at `at` gives: `undefined` for a plain frame (no
 * flags, no GSO), a defect for a frame too short to hold the header or of a
 * GSO type this side does not take (UDP fragmentation offload, for one,
 * which it never enables).
 */
export const decodeVnetHeader = (
  bytes: Uint8Array,
  at: number,
  length: number
): FrameOffload | undefined | VnetHeaderDefect => {
  if (length < VNET_HEADER_SIZE) return "short"
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, VNET_HEADER_SIZE)
  const flags = view.getUint8(0) & KNOWN_FLAGS
  const code = view.getUint8(1) & ~GSO_ECN
  const gsoType: FrameGsoType | undefined = code === GSO_NONE
    ? "none"
    : code === GSO_TCPV4
    ? "tcpv4"
    : code === GSO_TCPV6
    ? "tcpv6"
    : undefined
  if (gsoType === undefined) return "unknown-gso-type"
  if (flags === 0 && gsoType === "none") return undefined
  const needs = (flags & NEEDS_CSUM) !== 0
  return {
    flags,
    csumStart: needs ? view.getUint16(6, true) : 0,
    csumOffset: needs ? view.getUint16(8, true) : 0,
    gsoType,
    gsoSize: gsoType === "none" ? 0 : view.getUint16(4, true),
    hdrLen: gsoType === "none" ? 0 : view.getUint16(2, true)
  }
}

/** True for a defect from {@link decodeVnetHeader}. */
export const isVnetHeaderDefect = (value: FrameOffload | undefined | VnetHeaderDefect): value is VnetHeaderDefect =>
  typeof value === "string"
