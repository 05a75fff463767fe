/** fast-check arbitraries of TCP options, headers and segments, in their typed representation. */
import fc from "fast-check"
import {
  isKnownTcpOptionKind,
  TCP_HEADER_LENGTH,
  TCP_MAX_OPTIONS_LENGTH,
  TcpFlags,
  type TcpHeader,
  type TcpOption,
  tcpOptionLength,
  tcpOptionsLength,
  type TcpSackBlock
} from "../tcp/schema.ts"
import { port } from "./headers.ts"

const uint32 = fc.integer({ min: 0, max: 0xffffffff })
const uint16 = fc.integer({ min: 0, max: 0xffff })
/** Exactly `min..max` bytes, the length drawn explicitly (fast-check's default sizes are small). */
const bytesOfLength = (min: number, max: number) =>
  fc.integer({ min, max }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n }))

const nop: TcpOption = { _tag: "Nop" }
const sackPermitted: TcpOption = { _tag: "SackPermitted" }
const mss = uint16.map((value): TcpOption => ({ _tag: "Mss", value }))
const windowScale = fc
  .oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: 14 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) })
  .map((shift): TcpOption => ({ _tag: "WindowScale", shift }))
const timestamps = fc.record({ value: uint32, echo: uint32 }).map(({ value, echo }): TcpOption => ({ _tag: "Timestamps", value, echo }))
const sackBlocks = (min: number, max: number): fc.Arbitrary<ReadonlyArray<TcpSackBlock>> =>
  fc.integer({ min, max }).chain((n) => fc.array(fc.record({ left: uint32, right: uint32 }), { minLength: n, maxLength: n }))
const sack = (min: number, max: number) => sackBlocks(min, max).map((blocks): TcpOption => ({ _tag: "Sack", blocks }))
/** Kinds this module does not decode: well-known ones (echo, MD5, UTO, TCP-AO, MPTCP, TFO, experimental) and any other. */
const unknownKind = fc.oneof(
  fc.constantFrom(6, 7, 19, 28, 29, 30, 34, 253, 254),
  fc.integer({ min: 0, max: 255 }).filter((k) => !isKnownTcpOptionKind(k))
)
const unknown = fc
  .record({ kind: unknownKind, data: bytesOfLength(0, 16) })
  .map(({ kind, data }): TcpOption => ({ _tag: "Unknown", kind, data }))

/** Any single option that may appear before the end of a list: every kind but EOL (see `tcpOptions` for EOL). */
export const tcpOption: fc.Arbitrary<TcpOption> = fc.oneof(
  fc.constant(nop),
  mss,
  windowScale,
  fc.constant(sackPermitted),
  sack(1, 4),
  timestamps,
  unknown
)

/**
 * Completes `options` (at most 40 bytes) to a multiple of 4 bytes: with NOPs,
 * with an EOL and zero padding (what RFC 9293 §3.1 asks of senders), or with
 * an EOL followed by junk (which receivers must tolerate and we keep).
 */
const padded = (options: ReadonlyArray<TcpOption>): fc.Arbitrary<ReadonlyArray<TcpOption>> => {
  const length = tcpOptionsLength(options)
  const missing = (4 - (length % 4)) % 4
  const choices: Array<fc.Arbitrary<ReadonlyArray<TcpOption>>> = [
    fc.constant([...options, ...Array.from({ length: missing }, () => nop)])
  ]
  if (length < TCP_MAX_OPTIONS_LENGTH) {
    // EOL + k bytes, k ≥ 0, ending on a 4-byte boundary within the 40 bytes.
    const room = TCP_MAX_OPTIONS_LENGTH - length - 1
    const first = (missing + 3) % 4 // smallest k with (length + 1 + k) % 4 === 0
    if (first <= room) {
      const ks = fc.integer({ min: 0, max: Math.floor((room - first) / 4) }).map((m) => first + 4 * m)
      choices.push(ks.map((k): ReadonlyArray<TcpOption> => [...options, { _tag: "Eol", padding: new Uint8Array(k) }]))
      choices.push(
        ks.chain((k) => fc.uint8Array({ minLength: k, maxLength: k })).map((padding): ReadonlyArray<TcpOption> => [
          ...options,
          { _tag: "Eol", padding }
        ])
      )
    }
  }
  return fc.oneof(...choices)
}

/** The longest prefix of `options` that fits in 40 bytes. */
const fitting = (options: ReadonlyArray<TcpOption>): ReadonlyArray<TcpOption> => {
  const out: Array<TcpOption> = []
  let length = 0
  for (const option of options) {
    const n = tcpOptionLength(option)
    if (length + n > TCP_MAX_OPTIONS_LENGTH) break
    out.push(option)
    length += n
  }
  return out
}

/** Option lists a SYN carries: the Linux, macOS and Windows sets and orders, and smaller ones. */
const synOptions: fc.Arbitrary<ReadonlyArray<TcpOption>> = fc
  .record({ mss, timestamps, windowScale })
  .chain(({ mss, timestamps, windowScale }) =>
    fc.constantFrom<ReadonlyArray<TcpOption>>(
      [mss, sackPermitted, timestamps, nop, windowScale], // Linux: mss,sackOK,TS,nop,wscale
      [mss, nop, windowScale, nop, nop, timestamps, sackPermitted, { _tag: "Eol", padding: new Uint8Array(1) }], // macOS
      [mss, nop, windowScale, nop, nop, sackPermitted], // Windows
      [mss, nop, nop, sackPermitted], // no TS, no wscale
      [mss]
    )
  )

/** Option lists a data segment carries: none, NOP NOP TS, NOP NOP SACK (1 to 4 blocks), TS and SACK (1 to 3 blocks). */
const dataOptions: fc.Arbitrary<ReadonlyArray<TcpOption>> = fc.oneof(
  fc.constant([]),
  timestamps.map((ts) => [nop, nop, ts]),
  sack(1, 4).map((s) => [nop, nop, s]),
  fc.tuple(timestamps, sack(1, 3)).map(([ts, s]) => [nop, nop, ts, nop, nop, s])
)

/** Any valid option list: realistic SYN and data-segment sets, or random options padded to a 4-byte boundary. */
export const tcpOptions: fc.Arbitrary<ReadonlyArray<TcpOption>> = fc.oneof(
  synOptions,
  dataOptions,
  fc.array(tcpOption, { maxLength: 12 }).map(fitting).chain(padded)
)

/** Shorthand for the flag bits. */
const F = TcpFlags
/** SYN, SYN-ACK, and their ECN-setup forms (RFC 3168 §6.1.1). */
const synFlags = fc.constantFrom(F.syn, F.syn | F.ack, F.syn | F.ece | F.cwr, F.syn | F.ack | F.ece)
/** Flags of segments after the handshake. */
const dataFlags = fc.constantFrom(
  F.ack,
  F.psh | F.ack,
  F.fin | F.ack,
  F.rst,
  F.rst | F.ack,
  F.ack | F.ece,
  F.psh | F.ack | F.cwr,
  F.urg | F.ack | F.psh
)

/** The typed header for `flags` and `options` (dataOffset from the options). */
const header = (
  fields: {
    readonly sourcePort: TcpHeader["sourcePort"]
    readonly destinationPort: TcpHeader["destinationPort"]
    readonly sequenceNumber: number
    readonly acknowledgmentNumber: number
    readonly reserved: number
    readonly window: number
    readonly checksum: number
    readonly urgentPointer: number
  },
  flags: number,
  options: ReadonlyArray<TcpOption>
): TcpHeader => ({
  sourcePort: fields.sourcePort,
  destinationPort: fields.destinationPort,
  sequenceNumber: fields.sequenceNumber,
  acknowledgmentNumber: fields.acknowledgmentNumber,
  dataOffset: (TCP_HEADER_LENGTH + tcpOptionsLength(options)) / 4,
  reserved: fields.reserved,
  cwr: (flags & F.cwr) !== 0,
  ece: (flags & F.ece) !== 0,
  urg: (flags & F.urg) !== 0,
  ack: (flags & F.ack) !== 0,
  psh: (flags & F.psh) !== 0,
  rst: (flags & F.rst) !== 0,
  syn: (flags & F.syn) !== 0,
  fin: (flags & F.fin) !== 0,
  window: fields.window,
  checksum: fields.checksum,
  urgentPointer: fields.urgentPointer,
  options
})

const scalarFields = fc.record({
  sourcePort: port,
  destinationPort: port,
  sequenceNumber: uint32,
  acknowledgmentNumber: uint32,
  reserved: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 15 }) }),
  window: uint16,
  checksum: uint16,
  urgentPointer: uint16
})

/**
 * Any valid TCP header: SYNs with SYN option sets, data segments with
 * timestamps and SACK blocks, and random flags with random option lists.
 */
export const tcpHeader: fc.Arbitrary<TcpHeader> = fc.oneof(
  fc.tuple(scalarFields, synFlags, synOptions).map(([f, flags, options]) => header(f, flags, options)),
  fc.tuple(scalarFields, dataFlags, dataOptions).map(([f, flags, options]) => header(f, flags, options)),
  fc.tuple(scalarFields, fc.integer({ min: 0, max: 255 }), tcpOptions).map(([f, flags, options]) => header(f, flags, options))
)

/** A TCP segment: a header and 0 to 64 bytes of data. */
export const tcpSegment: fc.Arbitrary<{ readonly header: TcpHeader; readonly payload: Uint8Array }> = fc.record({
  header: tcpHeader,
  payload: bytesOfLength(0, 64)
})
