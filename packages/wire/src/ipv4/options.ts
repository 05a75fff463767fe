/**
 * IPv4 options (RFC 791 §3.1, "Options"; Router Alert RFC 2113 §2.1): the
 * typed list the raw options bytes decode to.
 *
 * The header keeps its options as raw bytes (the byte-exact source of
 * truth); this module reads them into a list of the common kinds and writes
 * a list back. An option whose type is one of the known kinds but whose
 * length does not fit that kind's layout is kept as `OtherOption`, like an
 * unknown kind, so nothing is lost. Decoding stops at End of Option List:
 * what follows it is padding and is not part of the list (so a list is
 * byte-exact up to and including its EOL, not the padding after it).
 */
import { Schema } from "effect"
import { Ipv4Address, ipv4ToString, ipv4ToNumber } from "../addresses/ipv4.ts"
import { Uint16, Uint32, Uint8, UintBits } from "../fields.ts"
import { Ipv4Defect } from "./defects.ts"

/** Bytes an IPv4 header may carry as options: 60 − 20 (RFC 791 §3.1, IHL is 4 bits of 32-bit words). */
export const IPV4_MAX_OPTIONS_LENGTH = 40

/** Option type octets (RFC 791 §3.1; RFC 2113 §2.1). */
export const Ipv4OptionTypes = {
  endOfOptionList: 0,
  noOperation: 1,
  recordRoute: 7,
  timestamp: 68,
  looseSourceRoute: 131,
  strictSourceRoute: 137,
  routerAlert: 148
} as const

/** Whether an option is copied into every fragment: the high bit of its type octet (RFC 791 §3.1, "copied flag"). */
export const isCopiedIpv4Option = (type: number): boolean => (type & 0x80) !== 0

const RouteAddresses = Schema.Array(Ipv4Address).check(Schema.isMaxLength(9))

/** End of Option List (type 0): one byte; what follows is padding. */
export const Ipv4EndOfOptionList = Schema.TaggedStruct("EndOfOptionList", {})
/** No Operation (type 1): one byte, used to align the next option. */
export const Ipv4NoOperation = Schema.TaggedStruct("NoOperation", {})
/** Record Route (type 7): the pointer (1-based octet offset of the next free slot) and the route data. */
export const Ipv4RecordRoute = Schema.TaggedStruct("RecordRoute", { pointer: Uint8, addresses: RouteAddresses })
/** Loose Source and Record Route (type 131): same layout as Record Route. */
export const Ipv4LooseSourceRoute = Schema.TaggedStruct("LooseSourceRoute", { pointer: Uint8, addresses: RouteAddresses })
/** Strict Source and Record Route (type 137): same layout as Record Route. */
export const Ipv4StrictSourceRoute = Schema.TaggedStruct("StrictSourceRoute", { pointer: Uint8, addresses: RouteAddresses })

/** One Internet Timestamp entry: a timestamp, preceded by an address when the flag is 1 or 3. */
export const Ipv4TimestampEntry = Schema.Struct({ address: Schema.optionalKey(Ipv4Address), timestamp: Uint32 })

/**
 * Internet Timestamp (type 68): pointer, overflow (4 bits), flag (4 bits: 0
 * timestamps only, 1 address and timestamp pairs, 3 prespecified addresses),
 * and the entries. Other flags are kept as `OtherOption`.
 */
export const Ipv4Timestamp = Schema.TaggedStruct("Timestamp", {
  pointer: Uint8,
  overflow: UintBits(4),
  flag: Schema.Literals([0, 1, 3]),
  entries: Schema.Array(Ipv4TimestampEntry)
}).check(
  Schema.makeFilter((o) =>
    o.flag === 0
      ? (o.entries.length <= 9 && o.entries.every((e) => e.address === undefined)) ||
        "at most 9 entries, without addresses, when the flag is 0"
      : (o.entries.length <= 4 && o.entries.every((e) => e.address !== undefined)) ||
        "at most 4 entries, each with an address, when the flag is 1 or 3"
  )
)

/** Router Alert (type 148, RFC 2113 §2.1): length 4 and a 16-bit value (0: examine packet). */
export const Ipv4RouterAlert = Schema.TaggedStruct("RouterAlert", { value: Uint16 })

/**
 * Any other option, kept as its type octet and the bytes after the length
 * octet: unknown kinds, and known kinds whose length does not fit their
 * layout. A value that would decode as a known kind is not canonical and is
 * refused.
 */
export const Ipv4OtherOption = Schema.TaggedStruct("OtherOption", {
  type: Uint8,
  data: Schema.Uint8Array.check(Schema.isMaxLength(IPV4_MAX_OPTIONS_LENGTH - 2))
}).check(
  Schema.makeFilter(
    (o) =>
      (o.type > Ipv4OptionTypes.noOperation && decodeOption(o.type, o.data, 0, o.data.length)._tag === "OtherOption") ||
      "an option type other than 0 and 1 that does not fit a known option's layout"
  )
)

/** One decoded IPv4 option. */
export const Ipv4Option = Schema.Union([
  Ipv4EndOfOptionList,
  Ipv4NoOperation,
  Ipv4RecordRoute,
  Ipv4Timestamp,
  Ipv4LooseSourceRoute,
  Ipv4StrictSourceRoute,
  Ipv4RouterAlert,
  Ipv4OtherOption
])
/** One decoded IPv4 option. */
export type Ipv4Option = typeof Ipv4Option.Type

/** The encoded length of one option. */
export const ipv4OptionLength = (option: Ipv4Option): number => {
  switch (option._tag) {
    case "EndOfOptionList":
    case "NoOperation":
      return 1
    case "RecordRoute":
    case "LooseSourceRoute":
    case "StrictSourceRoute":
      return 3 + 4 * option.addresses.length
    case "Timestamp":
      return 4 + (option.flag === 0 ? 4 : 8) * option.entries.length
    case "RouterAlert":
      return 4
    case "OtherOption":
      return 2 + option.data.length
  }
}

/** A list of options as it appears in a header: at most 40 bytes, End of Option List only last. */
export const Ipv4Options = Schema.Array(Ipv4Option).check(
  Schema.makeFilter(
    (list) =>
      list.reduce((n, o) => n + ipv4OptionLength(o), 0) <= IPV4_MAX_OPTIONS_LENGTH ||
      "options of at most 40 bytes"
  ),
  Schema.makeFilter(
    (list) =>
      list.every((o, i) => o._tag !== "EndOfOptionList" || i === list.length - 1) ||
      "End of Option List only as the last option"
  )
)
/** A list of decoded IPv4 options. */
export type Ipv4Options = typeof Ipv4Options.Type

const u16 = (b: Uint8Array, i: number): number => (b[i] << 8) | b[i + 1]
const u32 = (b: Uint8Array, i: number): number => ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0

/** The option of type `type` whose length octet says `length`, its data being `bytes[at + 2, at + length)`. */
const decodeOptionAt = (type: number, bytes: Uint8Array, at: number, length: number): Ipv4Option => {
  const body = at + 2
  switch (type) {
    // RFC 791 §3.1, "Loose/Strict Source and Record Route", "Record Route": type, length, pointer, route data.
    case Ipv4OptionTypes.recordRoute:
    case Ipv4OptionTypes.looseSourceRoute:
    case Ipv4OptionTypes.strictSourceRoute: {
      if (length < 3 || (length - 3) % 4 !== 0) break
      const addresses: Array<Ipv4Address> = []
      for (let k = at + 3; k < at + length; k += 4) addresses.push(ipv4ToString(u32(bytes, k)))
      const pointer = bytes[body]
      return type === Ipv4OptionTypes.recordRoute
        ? { _tag: "RecordRoute", pointer, addresses }
        : type === Ipv4OptionTypes.looseSourceRoute
          ? { _tag: "LooseSourceRoute", pointer, addresses }
          : { _tag: "StrictSourceRoute", pointer, addresses }
    }
    // RFC 791 §3.1, "Internet Timestamp": type, length, pointer, overflow|flag, entries.
    case Ipv4OptionTypes.timestamp: {
      if (length < 4) break
      const flag = bytes[at + 3] & 0x0f
      const overflow = bytes[at + 3] >>> 4
      const step = flag === 0 ? 4 : 8
      if ((flag !== 0 && flag !== 1 && flag !== 3) || (length - 4) % step !== 0) break
      const entries: Array<typeof Ipv4TimestampEntry.Type> = []
      for (let k = at + 4; k < at + length; k += step) {
        entries.push(
          flag === 0 ? { timestamp: u32(bytes, k) } : { address: ipv4ToString(u32(bytes, k)), timestamp: u32(bytes, k + 4) }
        )
      }
      return { _tag: "Timestamp", pointer: bytes[body], overflow, flag, entries }
    }
    // RFC 2113 §2.1: type 148, length 4, a 16-bit value.
    case Ipv4OptionTypes.routerAlert:
      if (length === 4) return { _tag: "RouterAlert", value: u16(bytes, body) }
      break
  }
  return { _tag: "OtherOption", type, data: bytes.slice(body, at + length) }
}

/** The option whose type is `type` and whose data (after the length octet) is `data[start, end)`. */
const decodeOption = (type: number, data: Uint8Array, start: number, end: number): Ipv4Option => {
  const length = end - start + 2
  if (length > 0xff) return { _tag: "OtherOption", type, data: data.slice(start, end) }
  const bytes = new Uint8Array(length)
  bytes[0] = type
  bytes[1] = length
  bytes.set(data.subarray(start, end), 2)
  return decodeOptionAt(type, bytes, 0, length)
}

/**
 * The options in `bytes[start, end)` (the options area, after the 20 fixed
 * header bytes), or `bad-option` when an option's length octet is missing,
 * below 2, or runs past `end` (RFC 791 §3.1: "The option-length octet counts
 * the option-type octet and the option-length octet as well as the
 * option-data octets"). Stops at End of Option List.
 */
export const decodeIpv4Options = (
  bytes: Uint8Array,
  start = 0,
  end = bytes.length
): Ipv4Options | typeof Ipv4Defect["bad-option"] => {
  const out: Array<Ipv4Option> = []
  let i = start
  while (i < end) {
    const type = bytes[i]
    if (type === Ipv4OptionTypes.endOfOptionList) {
      out.push({ _tag: "EndOfOptionList" })
      break
    }
    if (type === Ipv4OptionTypes.noOperation) {
      out.push({ _tag: "NoOperation" })
      i += 1
      continue
    }
    if (i + 1 >= end) return Ipv4Defect["bad-option"]
    const length = bytes[i + 1]
    if (length < 2 || i + length > end) return Ipv4Defect["bad-option"]
    out.push(decodeOptionAt(type, bytes, i, length))
    i += length
  }
  return out
}

/** The bytes of a list of options, exactly (no padding: see `padIpv4Options`). */
export const encodeIpv4Options = (options: ReadonlyArray<Ipv4Option>): Uint8Array => {
  const out = new Uint8Array(options.reduce((n, o) => n + ipv4OptionLength(o), 0))
  const view = new DataView(out.buffer)
  let i = 0
  for (const o of options) {
    const length = ipv4OptionLength(o)
    switch (o._tag) {
      case "EndOfOptionList":
        out[i] = Ipv4OptionTypes.endOfOptionList
        break
      case "NoOperation":
        out[i] = Ipv4OptionTypes.noOperation
        break
      case "RecordRoute":
      case "LooseSourceRoute":
      case "StrictSourceRoute":
        out[i] =
          o._tag === "RecordRoute"
            ? Ipv4OptionTypes.recordRoute
            : o._tag === "LooseSourceRoute"
              ? Ipv4OptionTypes.looseSourceRoute
              : Ipv4OptionTypes.strictSourceRoute
        out[i + 1] = length
        out[i + 2] = o.pointer
        o.addresses.forEach((a, k) => view.setUint32(i + 3 + 4 * k, ipv4ToNumber(a)))
        break
      case "Timestamp": {
        out[i] = Ipv4OptionTypes.timestamp
        out[i + 1] = length
        out[i + 2] = o.pointer
        out[i + 3] = (o.overflow << 4) | o.flag
        let k = i + 4
        for (const e of o.entries) {
          if (o.flag !== 0) {
            view.setUint32(k, e.address === undefined ? 0 : ipv4ToNumber(e.address))
            k += 4
          }
          view.setUint32(k, e.timestamp)
          k += 4
        }
        break
      }
      case "RouterAlert":
        out[i] = Ipv4OptionTypes.routerAlert
        out[i + 1] = 4
        view.setUint16(i + 2, o.value)
        break
      case "OtherOption":
        out[i] = o.type
        out[i + 1] = length
        out.set(o.data, i + 2)
        break
    }
    i += length
  }
  return out
}

/**
 * `bytes` padded with zeros (End of Option List) to a multiple of 4, the
 * form the header's `options` field takes (RFC 791 §3.1, "Padding").
 */
export const padIpv4Options = (bytes: Uint8Array): Uint8Array => {
  const out = new Uint8Array((bytes.length + 3) & ~3)
  out.set(bytes)
  return out
}

const optionName = (type: number): string | undefined => {
  switch (type) {
    case Ipv4OptionTypes.recordRoute:
      return "RR"
    case Ipv4OptionTypes.timestamp:
      return "TS"
    case Ipv4OptionTypes.looseSourceRoute:
      return "LSRR"
    case Ipv4OptionTypes.strictSourceRoute:
      return "SSRR"
    case Ipv4OptionTypes.routerAlert:
      return "RA"
    default:
      return undefined
  }
}

/**
 * tcpdump-like text of one option: `EOL`, `NOP`, `RR 10.0.0.1, 0.0.0.0`
 * (a comma after each address already recorded, i.e. before the pointer),
 * `LSRR …`, `SSRR …`, `TS 100 200` or `TS 10.0.0.1@100` (`TS prespec …` for
 * flag 3, `[n hops not recorded]` for an overflow), `RA` (`RA value n` when
 * not 0), `RR [bad length 5]` for a known kind of odd length, and
 * `unknown 130 len 4` for an unknown kind.
 */
export const formatIpv4Option = (o: Ipv4Option): string => {
  switch (o._tag) {
    case "EndOfOptionList":
      return "EOL"
    case "NoOperation":
      return "NOP"
    case "RecordRoute":
    case "LooseSourceRoute":
    case "StrictSourceRoute": {
      const name = o._tag === "RecordRoute" ? "RR" : o._tag === "LooseSourceRoute" ? "LSRR" : "SSRR"
      // The address at octet 4 + 4k (1-based) is recorded when the pointer is past it.
      const route = o.addresses.map((a, k) => `${a}${o.pointer > 4 + 4 * k ? "," : ""}`)
      return [name, ...route].join(" ")
    }
    case "Timestamp": {
      const entries = o.entries.map((e) => (e.address === undefined ? `${e.timestamp}` : `${e.address}@${e.timestamp}`))
      const head = o.flag === 3 ? "TS prespec" : "TS"
      const overflow = o.overflow > 0 ? ` [${o.overflow} hops not recorded]` : ""
      return `${[head, ...entries].join(" ")}${overflow}`
    }
    case "RouterAlert":
      return o.value === 0 ? "RA" : `RA value ${o.value}`
    case "OtherOption": {
      const name = optionName(o.type)
      return name === undefined ? `unknown ${o.type} len ${o.data.length + 2}` : `${name} [bad length ${o.data.length + 2}]`
    }
  }
}

/** tcpdump-like text of a list: `NOP,RA,EOL`. */
export const formatIpv4Options = (options: ReadonlyArray<Ipv4Option>): string => options.map(formatIpv4Option).join(",")
