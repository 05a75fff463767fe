/**
 * The TCP header (RFC 9293 §3.1) and its options (RFC 9293 §3.2, RFC 7323,
 * RFC 2018), as a typed representation.
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Source Port          |       Destination Port        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                        Sequence Number                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Acknowledgment Number                      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Data |       |C|E|U|A|P|R|S|F|                               |
 * | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
 * |       |       |R|E|G|K|H|T|N|N|                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           Checksum            |         Urgent Pointer        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                           [Options]                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 *
 * The options are a typed list that covers every byte of the option space
 * (NOPs are entries, the bytes after an EOL are the EOL's `padding`, unknown
 * kinds keep their data), so decoding then encoding is byte-exact.
 */
import { Schema } from "effect"
import { Port, Uint16, Uint32, Uint8, UintBits } from "../fields.ts"

/** Bytes in a TCP header without options. */
export const TCP_HEADER_LENGTH = 20

/** Most option bytes a header can carry: data offset 15 gives 60 bytes (RFC 9293 §3.1). */
export const TCP_MAX_OPTIONS_LENGTH = 40

/** The IP protocol number of TCP (for the pseudo-header sum). */
export const TCP_PROTOCOL = 6

/** The flag bits of header byte 13 (RFC 9293 §3.1; CWR and ECE from RFC 3168 §23.2). */
export const TcpFlags = {
  fin: 0x01,
  syn: 0x02,
  rst: 0x04,
  psh: 0x08,
  ack: 0x10,
  urg: 0x20,
  ece: 0x40,
  cwr: 0x80
} as const

/** Option kinds this module decodes (IANA "TCP Option Kind Numbers"). */
export const TcpOptionKinds = {
  /** End of Option List (RFC 9293 §3.2). */
  eol: 0,
  /** No-Operation (RFC 9293 §3.2). */
  nop: 1,
  /** Maximum Segment Size, length 4 (RFC 9293 §3.2, §3.7.1). */
  mss: 2,
  /** Window Scale, length 3 (RFC 7323 §2.2). */
  windowScale: 3,
  /** SACK-Permitted, length 2 (RFC 2018 §2). */
  sackPermitted: 4,
  /** SACK, length 2 + 8n (RFC 2018 §3). */
  sack: 5,
  /** Timestamps, length 10 (RFC 7323 §3.2). */
  timestamps: 8
} as const

/** The length byte each fixed-length known option must carry. */
export const TcpOptionLengths = {
  mss: 4,
  windowScale: 3,
  sackPermitted: 2,
  timestamps: 10
} as const

/** Most SACK blocks an option can hold: 2 + 8 * 4 = 34 ≤ 40 (RFC 2018 §3). */
export const TCP_MAX_SACK_BLOCKS = 4

/** True for the kinds decoded into their own entry; any other kind is kept as `Unknown`. */
export const isKnownTcpOptionKind = (kind: number): boolean =>
  kind <= TcpOptionKinds.sack || kind === TcpOptionKinds.timestamps

/** One SACK block: the first sequence number of a received block and the one just past it (RFC 2018 §3). */
export const TcpSackBlock = Schema.Struct({ left: Uint32, right: Uint32 })
/** One SACK block. */
export type TcpSackBlock = typeof TcpSackBlock.Type

/**
 * One TCP option (RFC 9293 §3.2):
 * - `Eol` (kind 0): ends the list; `padding` is every byte after it up to the
 *   end of the option space, kept as is (RFC 9293 says zeros; receivers ignore them).
 * - `Nop` (kind 1): one byte, used to align options.
 * - `Mss` (kind 2, length 4): the maximum segment size the sender can receive.
 * - `WindowScale` (kind 3, length 3): the shift count (RFC 7323 §2.2; values
 *   above 14 are kept as sent, RFC 7323 §2.3 clamps them in the TCP layer).
 * - `SackPermitted` (kind 4, length 2, RFC 2018 §2).
 * - `Sack` (kind 5, length 2 + 8n, 1 ≤ n ≤ 4, RFC 2018 §3).
 * - `Timestamps` (kind 8, length 10): TSval and TSecr (RFC 7323 §3.2).
 * - `Unknown`: any other kind with its data (length = 2 + data length).
 */
export const TcpOption = Schema.Union([
  Schema.TaggedStruct("Eol", {
    padding: Schema.Uint8Array.check(Schema.isMaxLength(TCP_MAX_OPTIONS_LENGTH - 1))
  }),
  Schema.TaggedStruct("Nop", {}),
  Schema.TaggedStruct("Mss", { value: Uint16 }),
  Schema.TaggedStruct("WindowScale", { shift: Uint8 }),
  Schema.TaggedStruct("SackPermitted", {}),
  Schema.TaggedStruct("Sack", {
    blocks: Schema.Array(TcpSackBlock).check(Schema.isBetweenLength(1, TCP_MAX_SACK_BLOCKS))
  }),
  Schema.TaggedStruct("Timestamps", { value: Uint32, echo: Uint32 }),
  Schema.TaggedStruct("Unknown", {
    kind: Uint8.check(
      Schema.makeFilter((kind: number) => !isKnownTcpOptionKind(kind) || `kind ${kind} has its own entry`)
    ),
    data: Schema.Uint8Array.check(Schema.isMaxLength(TCP_MAX_OPTIONS_LENGTH - 2))
  })
])
/** One TCP option. */
export type TcpOption = typeof TcpOption.Type

/** Bytes `option` takes on the wire (RFC 9293 §3.2: kind, length, data; EOL and NOP are one byte). */
export const tcpOptionLength = (option: TcpOption): number => {
  switch (option._tag) {
    case "Eol":
      return 1 + option.padding.length
    case "Nop":
      return 1
    case "Mss":
      return TcpOptionLengths.mss
    case "WindowScale":
      return TcpOptionLengths.windowScale
    case "SackPermitted":
      return TcpOptionLengths.sackPermitted
    case "Sack":
      return 2 + 8 * option.blocks.length
    case "Timestamps":
      return TcpOptionLengths.timestamps
    case "Unknown":
      return 2 + option.data.length
  }
}

/** Bytes a list of options takes on the wire, without padding. */
export const tcpOptionsLength = (options: ReadonlyArray<TcpOption>): number => {
  let n = 0
  for (const option of options) n += tcpOptionLength(option)
  return n
}

/** tcpdump's flag letters (`print-tcp.c`): F S R P . U E W, and `e` for the AE bit (RFC 3540's NS); `none` if none. */
export const formatTcpFlags = (flags: number, reserved = 0): string => {
  let s = ""
  if (flags & TcpFlags.fin) s += "F"
  if (flags & TcpFlags.syn) s += "S"
  if (flags & TcpFlags.rst) s += "R"
  if (flags & TcpFlags.psh) s += "P"
  if (flags & TcpFlags.ack) s += "."
  if (flags & TcpFlags.urg) s += "U"
  if (flags & TcpFlags.ece) s += "E"
  if (flags & TcpFlags.cwr) s += "W"
  if (reserved & 1) s += "e"
  return s === "" ? "none" : s
}

const hex = (bytes: Uint8Array): string => {
  let s = ""
  for (const b of bytes) s += b.toString(16).padStart(2, "0")
  return s
}

/** One option as tcpdump prints it: `mss 1460`, `sackOK`, `TS val 1 ecr 0`, `sack 1 {10:20}`, `unknown-99 0x0102`. */
export const formatTcpOption = (option: TcpOption): string => {
  switch (option._tag) {
    case "Eol":
      return "eol"
    case "Nop":
      return "nop"
    case "Mss":
      return `mss ${option.value}`
    case "WindowScale":
      return `wscale ${option.shift}`
    case "SackPermitted":
      return "sackOK"
    case "Sack":
      return `sack ${option.blocks.length} ${option.blocks.map((b) => `{${b.left}:${b.right}}`).join("")}`
    case "Timestamps":
      return `TS val ${option.value} ecr ${option.echo}`
    case "Unknown":
      return `unknown-${option.kind}${option.data.length > 0 ? ` 0x${hex(option.data)}` : ""}`
  }
}

/** The fields the formatters read. */
interface Formattable {
  readonly sourcePort: number
  readonly destinationPort: number
  readonly sequenceNumber: number
  readonly acknowledgmentNumber: number
  readonly reserved: number
  readonly cwr: boolean
  readonly ece: boolean
  readonly urg: boolean
  readonly ack: boolean
  readonly psh: boolean
  readonly rst: boolean
  readonly syn: boolean
  readonly fin: boolean
  readonly window: number
  readonly urgentPointer: number
  readonly options: ReadonlyArray<TcpOption>
}

/** The flag byte (header byte 13) of a typed header's booleans. */
export const tcpFlagsByte = (h: {
  readonly cwr: boolean
  readonly ece: boolean
  readonly urg: boolean
  readonly ack: boolean
  readonly psh: boolean
  readonly rst: boolean
  readonly syn: boolean
  readonly fin: boolean
}): number =>
  (h.cwr ? TcpFlags.cwr : 0) | (h.ece ? TcpFlags.ece : 0) | (h.urg ? TcpFlags.urg : 0) | (h.ack ? TcpFlags.ack : 0) |
  (h.psh ? TcpFlags.psh : 0) | (h.rst ? TcpFlags.rst : 0) | (h.syn ? TcpFlags.syn : 0) | (h.fin ? TcpFlags.fin : 0)

/** `Flags [..]`, then seq (`seq` text given), ack, win, urg, options, as tcpdump -S orders them. */
const formatFlagsAndFields = (h: Formattable, seq: string | undefined): string => {
  let s = `Flags [${formatTcpFlags(tcpFlagsByte(h), h.reserved)}]`
  if (seq !== undefined) s += `, seq ${seq}`
  if (h.ack) s += `, ack ${h.acknowledgmentNumber}`
  s += `, win ${h.window}`
  if (h.urg) s += `, urg ${h.urgentPointer}`
  if (h.options.length > 0) s += `, options [${h.options.map(formatTcpOption).join(",")}]`
  return s
}

/**
 * A segment as tcpdump -S prints it after the addresses and ports:
 * `Flags [P.], seq 1:101, ack 2001, win 65535, options [nop,nop,TS val 5 ecr 4], length 100`.
 * As tcpdump: `seq a` only when there is data or SYN, FIN or RST is set, and
 * `a:b` (b = a + length, mod 2^32) when there is data; `ack` when ACK is set;
 * `urg` when URG is set; `options [...]` when there are options.
 */
export const formatTcpSummary = (h: Formattable, payloadLength: number): string => {
  const seq = payloadLength > 0
    ? `${h.sequenceNumber}:${(h.sequenceNumber + payloadLength) >>> 0}`
    : h.syn || h.fin || h.rst
    ? `${h.sequenceNumber}`
    : undefined
  return `${formatFlagsAndFields(h, seq)}, length ${payloadLength}`
}

/**
 * A segment as tcpdump -S prints it, the IP addresses left to the IP formatter:
 * `TCP 40000 > 80: Flags [P.], seq 1:101, ack 2001, win 65535, options [nop,nop,TS val 5 ecr 4], length 100`.
 */
export const formatTcpSegment = (h: Formattable, payloadLength: number): string =>
  `TCP ${h.sourcePort} > ${h.destinationPort}: ${formatTcpSummary(h, payloadLength)}`

/**
 * The header alone, as the Schema's formatter: like `formatTcpSegment`, but
 * since the header does not say how much data follows, `seq` is always
 * printed (without `:end`) and `length` is left out:
 * `TCP 40000 > 80: Flags [S], seq 1000, win 65535, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7]`.
 */
export const formatTcpHeader = (h: Formattable): string =>
  `TCP ${h.sourcePort} > ${h.destinationPort}: ${formatFlagsAndFields(h, `${h.sequenceNumber}`)}`

/**
 * Why a list of options does not fit a header with `dataOffset`, or
 * `undefined` when it does: an EOL must be the last entry (what follows it is
 * its padding), and the options must fill exactly `dataOffset * 4 - 20` bytes.
 */
const checkOptions = (h: { readonly dataOffset: number; readonly options: ReadonlyArray<TcpOption> }): string | undefined => {
  const eol = h.options.findIndex((o) => o._tag === "Eol")
  if (eol !== -1 && eol !== h.options.length - 1) return "an EOL option must be the last entry"
  const length = tcpOptionsLength(h.options)
  if (TCP_HEADER_LENGTH + length !== h.dataOffset * 4) {
    return `the options take ${length} bytes but data offset ${h.dataOffset} leaves ${h.dataOffset * 4 - TCP_HEADER_LENGTH}`
  }
  return undefined
}

/**
 * The TCP header's typed representation (RFC 9293 §3.1). `reserved` is the
 * 4-bit Rsrvd field as a number (its low bit was RFC 3540's NS bit, now
 * historic, RFC 8311 §3; AccECN calls it AE). The eight flags are booleans.
 * `dataOffset` counts 32-bit words and must match the options exactly.
 */
export const TcpHeader = Schema.Struct({
  sourcePort: Port,
  destinationPort: Port,
  sequenceNumber: Uint32,
  acknowledgmentNumber: Uint32,
  /** Header length in 32-bit words: 5 to 15. */
  dataOffset: UintBits(4).check(Schema.isGreaterThanOrEqualTo(TCP_HEADER_LENGTH / 4)),
  /** The reserved bits (RFC 9293 §3.1), as sent. */
  reserved: UintBits(4),
  /** Congestion Window Reduced (RFC 3168 §6.1). */
  cwr: Schema.Boolean,
  /** ECN-Echo (RFC 3168 §6.1). */
  ece: Schema.Boolean,
  urg: Schema.Boolean,
  ack: Schema.Boolean,
  psh: Schema.Boolean,
  rst: Schema.Boolean,
  syn: Schema.Boolean,
  fin: Schema.Boolean,
  window: Uint16,
  checksum: Uint16,
  urgentPointer: Uint16,
  /** Every byte of the option space, in order. */
  options: Schema.Array(TcpOption)
})
  .check(Schema.makeFilter((h) => checkOptions(h) ?? true))
  .pipe(Schema.overrideToFormatter(() => formatTcpHeader))
/** The TCP header's typed representation. */
export type TcpHeader = typeof TcpHeader.Type
