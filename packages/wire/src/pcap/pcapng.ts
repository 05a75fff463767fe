/**
 * The pcapng file format (draft-ietf-opsawg-pcapng): a sequence of blocks,
 * each `Block Type`, `Block Total Length`, body, and the length again (§3.1).
 * A file is one or more sections, each opened by a Section Header Block whose
 * byte-order magic gives the byte order of the whole section (§3.4, §4.1).
 *
 * Plain functions over one whole block (`block[0]` is its Block Type, the
 * decoder has checked its length fields): the Section Header Block (§4.1),
 * the Interface Description Block with the options that change timestamps,
 * `if_tsresol` and `if_tsoffset` (§4.2), and the three packet blocks:
 * Enhanced (§4.3), Simple (§4.4) and the obsolete Packet Block (Appendix A).
 * Every other block type is skipped by its length.
 */
import { CaptureFormatError, formatError } from "./errors.ts"
import { i64, u16, u32 } from "./endian.ts"
import { floorDiv, NANOS_PER_SECOND, type PcapFrame } from "./frame.ts"

/** Block Type codes (§10.1). */
export const PcapngBlockType = {
  sectionHeader: 0x0a0d0d0a,
  interfaceDescription: 0x00000001,
  /** Obsolete (Appendix A). */
  packet: 0x00000002,
  simplePacket: 0x00000003,
  nameResolution: 0x00000004,
  interfaceStatistics: 0x00000005,
  enhancedPacket: 0x00000006,
  decryptionSecrets: 0x0000000a,
  custom: 0x00000bad,
  customNoCopy: 0x40000bad
} as const

/** The Section Header Block's byte-order magic (§4.1). */
export const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d

/** Bytes of a block with an empty body: type, and the length twice (§3.1). */
export const PCAPNG_BLOCK_OVERHEAD = 12

/** Option codes this reader uses (§3.5, §4.2). */
export const PcapngOption = {
  endOfOptions: 0,
  comment: 1,
  ifTsresol: 9,
  ifTsoffset: 14
} as const

/** The smallest Block Total Length of a block of `type`: its fixed fields plus the overhead. */
export const minimumBlockLength = (type: number): number => {
  switch (type) {
    case PcapngBlockType.sectionHeader:
      return 28 // magic, versions, section length (§4.1)
    case PcapngBlockType.interfaceDescription:
      return 20 // link type, reserved, snaplen (§4.2)
    case PcapngBlockType.packet:
    case PcapngBlockType.enhancedPacket:
      return 32 // interface, timestamp, two lengths (§4.3, Appendix A)
    case PcapngBlockType.simplePacket:
      return 16 // original length (§4.4)
    default:
      return PCAPNG_BLOCK_OVERHEAD
  }
}

/** One Interface Description Block, as packet blocks need it. */
export interface PcapngInterface {
  readonly linkType: number
  /** 0: no limit (§4.2). */
  readonly snaplen: number
  /** Timestamp units per second, from `if_tsresol` (default 10^6). */
  readonly unitsPerSecond: bigint
  /** Seconds added to every timestamp, from `if_tsoffset` (default 0). */
  readonly offsetSeconds: bigint
}

/** The state of the current section: its byte order and its interfaces, by Interface ID. */
export interface PcapngSection {
  readonly littleEndian: boolean
  readonly interfaces: Array<PcapngInterface>
}

/**
 * The byte order of the section whose Section Header Block starts `b` (at
 * least 12 bytes): true for little-endian, `undefined` if the byte-order magic
 * at offset 8 is not 0x1A2B3C4D either way (§4.1).
 */
export const sectionByteOrder = (b: Uint8Array): boolean | undefined => {
  if (u32(b, 8, false) === PCAPNG_BYTE_ORDER_MAGIC) return false
  if (u32(b, 8, true) === PCAPNG_BYTE_ORDER_MAGIC) return true
  return undefined
}

/**
 * A new section from its Section Header Block (§4.1). Versions 1.0 and 1.2
 * are read (§4.1: "Readers ... MUST treat a Minor Version of 2 as equivalent
 * to a Minor Version of 0"); any other version is refused rather than
 * skipped. The section length and the options are not needed.
 */
export const parseSectionHeader = (
  block: Uint8Array,
  offset: number,
  littleEndian: boolean
): PcapngSection | CaptureFormatError => {
  const major = u16(block, 12, littleEndian)
  const minor = u16(block, 14, littleEndian)
  if (major !== 1 || (minor !== 0 && minor !== 2)) {
    return formatError("unsupported-version", offset + 12, `pcapng version ${major}.${minor}`)
  }
  return { littleEndian, interfaces: [] }
}

/**
 * Calls `f(code, valueStart, valueLength)` for each option in
 * `block[start..end)` until `opt_endofopt` or the end (§3.5: a missing
 * `opt_endofopt` is as if present). An option whose padded value would run
 * past `end` is a `bad-option`. `f` may refuse an option by returning an error.
 */
export const forEachOption = (
  block: Uint8Array,
  start: number,
  end: number,
  littleEndian: boolean,
  offset: number,
  f: (code: number, valueStart: number, valueLength: number) => CaptureFormatError | undefined
): CaptureFormatError | undefined => {
  let i = start
  while (i + 4 <= end) {
    const code = u16(block, i, littleEndian)
    if (code === PcapngOption.endOfOptions) return undefined
    const length = u16(block, i + 2, littleEndian)
    const padded = (length + 3) & ~3
    if (i + 4 + padded > end) {
      return formatError("bad-option", offset + i, `option ${code} of ${length} bytes runs past the end of its block`)
    }
    const refused = f(code, i + 4, length)
    if (refused !== undefined) return refused
    i += 4 + padded
  }
  if (i !== end) return formatError("bad-option", offset + i, "option header cut by the end of its block")
  return undefined
}

/** Timestamp units per second for an `if_tsresol` value (§4.2): 10^-v, or 2^-(v & 0x7f) when the top bit is set. */
export const unitsPerSecond = (tsresol: number): bigint =>
  (tsresol & 0x80) !== 0 ? 2n ** BigInt(tsresol & 0x7f) : 10n ** BigInt(tsresol)

/** An Interface Description Block (§4.2): link type, snaplen, `if_tsresol` and `if_tsoffset`. */
export const parseInterfaceDescription = (
  block: Uint8Array,
  offset: number,
  littleEndian: boolean
): PcapngInterface | CaptureFormatError => {
  let units = 1_000_000n
  let offsetSeconds = 0n
  const refused = forEachOption(block, 16, block.length - 4, littleEndian, offset, (code, at, length) => {
    if (code === PcapngOption.ifTsresol) {
      if (length !== 1) return formatError("bad-option", offset + at - 4, `if_tsresol of ${length} bytes, not 1`)
      units = unitsPerSecond(block[at])
    } else if (code === PcapngOption.ifTsoffset) {
      if (length !== 8) return formatError("bad-option", offset + at - 4, `if_tsoffset of ${length} bytes, not 8`)
      offsetSeconds = i64(block, at, littleEndian)
    }
    return undefined
  })
  if (refused !== undefined) return refused
  return {
    linkType: u16(block, 8, littleEndian),
    snaplen: u32(block, 12, littleEndian),
    unitsPerSecond: units,
    offsetSeconds
  }
}

/**
 * Nanoseconds since the epoch of `units` timestamp units on `iface`: the
 * offset converted to units plus the units (§4.3), scaled to nanoseconds,
 * rounding down when a unit is finer than a nanosecond or not a whole number
 * of nanoseconds.
 */
export const timestampNanos = (units: bigint, iface: PcapngInterface): bigint => {
  const total = units + iface.offsetSeconds * iface.unitsPerSecond
  if (iface.unitsPerSecond === 1_000_000n) return total * 1000n
  if (iface.unitsPerSecond === NANOS_PER_SECOND) return total
  if (NANOS_PER_SECOND % iface.unitsPerSecond === 0n) return total * (NANOS_PER_SECOND / iface.unitsPerSecond)
  return floorDiv(total * NANOS_PER_SECOND, iface.unitsPerSecond)
}

const interfaceOf = (
  section: PcapngSection,
  id: number,
  offset: number,
  what: string
): PcapngInterface | CaptureFormatError => {
  const iface = section.interfaces[id]
  return iface === undefined
    ? formatError(
      "unknown-interface",
      offset,
      `${what} on interface ${id}; the section declares ${section.interfaces.length}`
    )
    : iface
}

/**
 * The frame of an Enhanced Packet Block (§4.3), or of an obsolete Packet Block
 * (Appendix A: a 16-bit Interface ID and a drops count where the EPB has its
 * 32-bit Interface ID). The captured length must fit in the block.
 */
export const parsePacketBlock = (
  block: Uint8Array,
  offset: number,
  section: PcapngSection,
  obsolete: boolean
): PcapFrame | CaptureFormatError => {
  const le = section.littleEndian
  const id = obsolete ? u16(block, 8, le) : u32(block, 8, le)
  const what = obsolete ? "Packet Block" : "Enhanced Packet Block"
  const iface = interfaceOf(section, id, offset + 8, what)
  if (iface instanceof CaptureFormatError) return iface
  const captured = u32(block, 20, le)
  if (captured > block.length - 32) {
    return formatError(
      "bad-captured-length",
      offset + 20,
      `captured length ${captured} in a ${what} of ${block.length} bytes`
    )
  }
  const units = (BigInt(u32(block, 12, le)) << 32n) | BigInt(u32(block, 16, le))
  return {
    timestamp: timestampNanos(units, iface),
    linkType: iface.linkType,
    interfaceIndex: id,
    data: block.subarray(28, 28 + captured),
    originalLength: u32(block, 24, le)
  }
}

/**
 * The frame of a Simple Packet Block (§4.4): on interface 0, captured length
 * the least of the original length, the interface's snaplen (when not 0) and
 * the room in the block; no timestamp (`0n`).
 */
export const parseSimplePacket = (
  block: Uint8Array,
  offset: number,
  section: PcapngSection
): PcapFrame | CaptureFormatError => {
  const iface = interfaceOf(section, 0, offset, "Simple Packet Block")
  if (iface instanceof CaptureFormatError) return iface
  const originalLength = u32(block, 8, section.littleEndian)
  let captured = Math.min(originalLength, block.length - 16)
  if (iface.snaplen !== 0) captured = Math.min(captured, iface.snaplen)
  return {
    timestamp: 0n,
    linkType: iface.linkType,
    interfaceIndex: 0,
    data: block.subarray(12, 12 + captured),
    originalLength
  }
}
