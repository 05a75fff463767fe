/**
 * One captured frame, as read from a pcap or pcapng file or about to be
 * written to one: when it was seen (exact nanoseconds since the epoch), on
 * which interface and link type, the captured bytes and the length the frame
 * had on the wire.
 */
import { Schema } from "effect"
import { Uint16, Uint32 } from "../fields.ts"

/** LINKTYPE_ETHERNET: IEEE 802.3 Ethernet frames, no FCS (draft-ietf-opsawg-pcaplinktype). */
export const LINKTYPE_ETHERNET = 1

/**
 * A captured frame.
 *
 * - `timestamp`: nanoseconds since 1970-01-01T00:00:00Z. From pcap it is exact;
 *   from pcapng it is exact for decimal resolutions down to 10^-9 s and rounded
 *   down to the nanosecond for finer or binary resolutions. A pcapng Simple
 *   Packet Block carries no timestamp (draft-ietf-opsawg-pcapng §4.4): its
 *   frames have `0n`.
 * - `linkType`: the LINKTYPE_ value of the file (pcap) or of the interface (pcapng).
 * - `interfaceIndex`: the Interface ID within its pcapng section; 0 for pcap.
 * - `data`: the captured bytes (at most the snapshot length); each frame owns its array.
 * - `originalLength`: the frame's length on the wire, as the file records it.
 */
export const PcapFrame = Schema.Struct({
  timestamp: Schema.BigInt,
  linkType: Uint16,
  interfaceIndex: Uint32,
  data: Schema.Uint8Array,
  originalLength: Uint32
})
/** A captured frame. */
export type PcapFrame = typeof PcapFrame.Type

/** What the pcap writer needs of a frame; a `PcapFrame` is one. `originalLength` defaults to `data.length`. */
export interface PcapFrameInput {
  readonly timestamp: bigint
  readonly data: Uint8Array
  readonly originalLength?: number | undefined
  /** When present, must be the file's link type. */
  readonly linkType?: number | undefined
}

/** Nanoseconds in a second. */
export const NANOS_PER_SECOND = 1_000_000_000n

/** `a / b` rounded toward negative infinity (`b > 0`). */
export const floorDiv = (a: bigint, b: bigint): bigint => {
  const q = a / b
  return a % b < 0n ? q - 1n : q
}

/** The frame's timestamp in whole microseconds since the epoch (rounded down). */
export const timestampMicros = (frame: { readonly timestamp: bigint }): bigint => floorDiv(frame.timestamp, 1000n)

/** The frame's timestamp as a `Date` (millisecond precision, rounded down). */
export const timestampDate = (frame: { readonly timestamp: bigint }): Date =>
  new Date(Number(floorDiv(frame.timestamp, 1_000_000n)))
