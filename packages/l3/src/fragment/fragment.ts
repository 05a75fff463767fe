/**
 * IPv4 fragmentation (RFC 791 §2.3 and §3.2, "Fragmentation and Reassembly";
 * RFC 1122 §3.3.2; Linux `ip_do_fragment` in net/ipv4/ip_output.c, slow path).
 *
 * A datagram larger than the MTU is cut into pieces that each fit: every
 * piece gets a copy of the header, its data is a multiple of 8 bytes except
 * in the last piece, its fragment offset counts from the start of the
 * original datagram, MF is set on all but the last, and total length and
 * header checksum are recomputed. The piece at offset 0 carries all the
 * options; the others only those whose "copied" flag is set (RFC 791 §3.1,
 * "Options"), packed and padded with End of Option List, so their headers
 * may be shorter and carry more data (RFC 791 §3.2: "the header length of
 * the fragments may vary"). A datagram that is itself a fragment keeps its
 * offset base, and its MF on the last piece.
 *
 * Payload bytes are not copied: each piece's linear area holds its header
 * (with headroom for the link layer), and its data is a list of fragments
 * over the input's storage, reference counted (as the device package's GSO
 * does, with `forEachStorageRun`). Only a piece whose data spans more than
 * `MAX_FRAGMENTS` runs gets a private copy.
 *
 * Deliberate differences from Linux: non-copied options are removed, not
 * overwritten with No Operation (`ip_options_fragment`), and a datagram that
 * fits the MTU gives one (cloned) piece rather than being sent as is.
 */
import { internetChecksum, MAX_FRAGMENTS, PacketBuffer, resolvePartialChecksum } from "@netstack/buffers"
import { countStorageRuns, forEachStorageRun } from "@netstack/device"
import { IPV4_HEADER_LENGTH, Ipv4View, isCopiedIpv4Option, readU16, writeU16 } from "@netstack/wire"
import { FragmentDefect } from "./defects.ts"
import { copyPacketMetadata } from "./metadata.ts"

/** The smallest MTU an IPv4 link may have: 68 bytes (RFC 791 §3.2; RFC 1122 §3.3.2). */
export const IPV4_MIN_MTU = 68

/** The largest IPv4 datagram: the 16-bit total length (RFC 791 §3.1). */
export const IPV4_MAX_DATAGRAM = 0xffff

const FLAG_RESERVED = 0x8000
const FLAG_DF = 0x4000
const FLAG_MF = 0x2000
const OFFSET_MASK = 0x1fff
const UDP = 17

/** Link-layer headroom a piece gets: the input's, within these bounds. */
const MIN_HEADROOM = 32
const MAX_HEADROOM = 256

/**
 * The header of the pieces that do not start at offset 0: the fixed 20
 * bytes of `bytes[start, start + headerLength)` and only the options whose
 * copied flag is set, in order, padded with zeros (End of Option List) to a
 * multiple of 4 (RFC 791 §3.1, "Options" and "Padding"). The options were
 * validated by `Ipv4View.parse`. The checksum and lengths are rewritten per
 * piece.
 */
const copiedHeader = (bytes: Uint8Array, start: number, headerLength: number): Uint8Array => {
  const end = start + headerLength
  const copied: Array<Uint8Array> = []
  let length = 0
  for (let i = start + IPV4_HEADER_LENGTH; i < end;) {
    const type = bytes[i]
    if (type === 0) break
    if (type === 1) {
      i++
      continue
    }
    const optionLength = bytes[i + 1]
    if (isCopiedIpv4Option(type)) {
      copied.push(bytes.subarray(i, i + optionLength))
      length += optionLength
    }
    i += optionLength
  }
  const out = new Uint8Array(IPV4_HEADER_LENGTH + ((length + 3) & ~3))
  out.set(bytes.subarray(start, start + IPV4_HEADER_LENGTH))
  let at = IPV4_HEADER_LENGTH
  for (const option of copied) {
    out.set(option, at)
    at += option.length
  }
  out[0] = (out[0] & 0xf0) | (out.length >>> 2)
  return out
}

/**
 * One piece: a fresh linear area with `headroom` bytes free, then `header`
 * patched with the piece's total length, flags and offset, and checksum;
 * then `length` bytes of `source` from `from` (offsets from `source.data`),
 * shared as fragments or, past `MAX_FRAGMENTS` runs, copied.
 */
const makePiece = (
  source: PacketBuffer,
  header: Uint8Array,
  headerStart: number,
  headerLength: number,
  from: number,
  length: number,
  flagsAndOffset: number,
  headroom: number
): PacketBuffer | undefined => {
  const runs = countStorageRuns(source, from, length)
  if (runs < 0) return undefined
  const copy = runs > MAX_FRAGMENTS
  const piece = PacketBuffer.alloc(headroom + headerLength + (copy ? length : 0))
  if (piece.reserve(headroom) !== undefined || piece.put(headerLength + (copy ? length : 0)) !== undefined) {
    return undefined
  }
  const bytes = piece.writableBytes()
  if (!(bytes instanceof Uint8Array)) return undefined
  const d = piece.data
  bytes.set(header.subarray(headerStart, headerStart + headerLength), d)
  writeU16(bytes, d + 2, headerLength + length)
  writeU16(bytes, d + 6, flagsAndOffset)
  writeU16(bytes, d + 10, 0)
  writeU16(bytes, d + 10, internetChecksum(bytes, d, d + headerLength))
  if (copy) {
    if (source.copyOut(from, length, bytes, d + headerLength) !== undefined) {
      piece.release()
      return undefined
    }
  } else {
    let failed = false
    forEachStorageRun(source, from, length, (storage, start, n) => {
      if (piece.addFragment(storage, start, n) !== undefined) failed = true
    })
    if (failed) {
      piece.release()
      return undefined
    }
  }
  copyPacketMetadata(source.meta, piece.meta)
  piece.resetNetworkHeader()
  return piece
}

/** Releases what was built so far and the working clone, and returns `defect`. */
const fail = (
  pieces: ReadonlyArray<PacketBuffer>,
  work: PacketBuffer,
  owned: boolean,
  defect: FragmentDefect
): FragmentDefect => {
  for (const p of pieces) p.release()
  if (owned) work.release()
  return defect
}

/**
 * Cuts the IPv4 datagram `packet` (data at its header, a valid header) into
 * fragments of at most `mtu` bytes each (RFC 791 §3.2; Linux `ip_do_fragment`).
 * The caller keeps `packet` (it is neither changed nor released); the
 * pieces, data at their IPv4 headers and network header marked, are the
 * caller's to send and release. A datagram no larger than `mtu` gives one
 * piece (a clone, link padding trimmed). Bytes after the total length are
 * ignored. A partial transport checksum is completed first, on a private
 * copy of the linear area. Refusals are preallocated `FragmentDefect`s;
 * bad input never throws.
 */
export const fragmentIpv4 = (packet: PacketBuffer, mtu: number): ReadonlyArray<PacketBuffer> | FragmentDefect => {
  if (!Number.isInteger(mtu) || mtu < IPV4_MIN_MTU) return FragmentDefect["mtu-too-small"]
  if (packet.isReleased) return FragmentDefect["bad-header"]
  if (packet.meta.gsoType !== "none") return FragmentDefect["gso-packet"]

  // Work on a clone when the input would otherwise change: a header that straddles fragments
  // (parsing pulls it into the linear area) or a partial checksum to complete (a write).
  const partial = packet.meta.checksum._tag === "Partial"
  const headLength = packet.headLength
  const straddles = headLength < IPV4_HEADER_LENGTH || headLength < ((packet.bytes[packet.data] & 0x0f) << 2)
  let work = packet
  let owned = false
  if (partial || straddles) {
    const clone = packet.clone()
    if (!(clone instanceof PacketBuffer)) return FragmentDefect["bad-header"]
    work = clone
    owned = true
  }
  const view = Ipv4View.parse(work)
  if (!(view instanceof Ipv4View)) return fail([], work, owned, FragmentDefect["bad-header"])
  if (!view.verifyChecksum()) return fail([], work, owned, FragmentDefect["bad-checksum"])
  const headerLength = view.headerLength
  const totalLength = view.totalLength
  const payloadLength = totalLength - headerLength
  const flags = readU16(work.bytes, view.start + 6)
  const base = (flags & OFFSET_MASK) << 3
  // The pieces' offsets must fit 13 bits and the datagram 65535 bytes (RFC 791 §3.1).
  if (base + payloadLength > IPV4_MAX_DATAGRAM - IPV4_HEADER_LENGTH) {
    return fail([], work, owned, FragmentDefect["bad-offset"])
  }
  const state = work.meta.checksum
  if (state._tag === "Partial") {
    // Linux ip_do_fragment: skb_checksum_help before cutting; an RFC 768 zero UDP sum is sent as 0xFFFF.
    // The field must be in the (private) linear area to be written.
    const field = state.start - work.data + state.offset + 2
    if (field > work.headLength && field <= work.length) work.mayPull(field)
    const resolved = resolvePartialChecksum(work, view.protocol === UDP ? 0xffff : 0)
    if (resolved !== undefined) return fail([], work, owned, FragmentDefect["partial-checksum"])
  }

  if (totalLength <= mtu) {
    // Fits: one piece, the datagram itself (link padding trimmed).
    let whole = work
    if (!owned) {
      const clone = work.clone()
      if (!(clone instanceof PacketBuffer)) return FragmentDefect["bad-header"]
      whole = clone
    }
    if (whole.length > totalLength) whole.trim(totalLength)
    return [whole]
  }
  // RFC 791 §3.2: DF set and too big — do not fragment; the caller reports it (RFC 1191 §4).
  if ((flags & FLAG_DF) !== 0) return fail([], work, owned, FragmentDefect["df-set"])

  const bytes = work.bytes
  const start = view.start
  // The piece at offset 0 carries every option; the others the copied ones (RFC 791 §3.1).
  const later = copiedHeader(bytes, start, headerLength)
  const laterLength = later.length
  const firstLength = base === 0 ? headerLength : laterLength
  if (mtu < firstLength + 8) return fail([], work, owned, FragmentDefect["mtu-too-small"])
  // RFC 791 §3.2: NFB = (MTU − IHL×4) / 8 blocks of data per piece.
  const firstRoom = (mtu - firstLength) & ~7
  const laterRoom = (mtu - laterLength) & ~7
  const keep = flags & FLAG_RESERVED
  const lastMf = flags & FLAG_MF
  const headroom = Math.min(Math.max(packet.headroom, MIN_HEADROOM), MAX_HEADROOM)

  const pieces: Array<PacketBuffer> = []
  for (let at = 0; at < payloadLength;) {
    const first = at === 0 && base === 0
    const length = Math.min(first ? firstRoom : laterRoom, payloadLength - at)
    const last = at + length === payloadLength
    const flagsAndOffset = keep | (last ? lastMf : FLAG_MF) | ((base + at) >>> 3)
    const piece = first
      ? makePiece(work, bytes, start, headerLength, headerLength + at, length, flagsAndOffset, headroom)
      : makePiece(work, later, 0, laterLength, headerLength + at, length, flagsAndOffset, headroom)
    if (piece === undefined) return fail(pieces, work, owned, FragmentDefect["bad-header"])
    pieces.push(piece)
    at += length
  }
  if (owned) work.release()
  return pieces
}
