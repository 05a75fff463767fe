/**
 * IPv6 addresses. On the hot path an address is 16 bytes read in place; in
 * the typed representation it is the canonical text of RFC 5952.
 */
import { Schema } from "effect"
import { ipv4FromString } from "./ipv4.ts"

/** RFC 5952 text of the 16 bytes at `bytes[offset]` (unbranded; see `ipv6ToString`). */
const formatIpv6 = (bytes: Uint8Array, offset: number): string => {
  const groups: Array<number> = []
  for (let i = 0; i < 8; i++) groups.push((bytes[offset + 2 * i] << 8) | bytes[offset + 2 * i + 1])
  // RFC 5952 §5: IPv4-mapped addresses (::ffff:0:0/96) end in dotted decimal.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const v4 = offset + 12
    return `::ffff:${bytes[v4]}.${bytes[v4 + 1]}.${bytes[v4 + 2]}.${bytes[v4 + 3]}`
  }
  // RFC 5952 §4.2: "::" replaces the longest run of two or more zero groups, the first if tied.
  let bestStart = -1
  let bestLength = 1
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLength) {
      bestStart = i
      bestLength = j - i
    }
    i = j
  }
  // RFC 5952 §4.1 and §4.3: no leading zeros, lower case.
  const hex = groups.map((g) => g.toString(16))
  if (bestStart < 0) return hex.join(":")
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`
}

/**
 * The 16 bytes of any RFC 4291 §2.2 text form (full, `::`-compressed, or
 * ending in dotted-decimal IPv4), or `undefined`.
 */
export const ipv6FromString = (text: string): Uint8Array | undefined => {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined
  const halves = text.split("::")
  if (halves.length > 2) return undefined
  const parseGroups = (part: string): Array<number> | undefined => {
    if (part === "") return []
    const out: Array<number> = []
    const pieces = part.split(":")
    for (let k = 0; k < pieces.length; k++) {
      const piece = pieces[k]
      if (piece.includes(".")) {
        if (k !== pieces.length - 1) return undefined
        const v4 = ipv4FromString(piece)
        if (v4 === undefined) return undefined
        out.push(v4 >>> 16, v4 & 0xffff)
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return undefined
        out.push(Number.parseInt(piece, 16))
      }
    }
    return out
  }
  const head = parseGroups(halves[0])
  const tail = halves.length === 2 ? parseGroups(halves[1]) : []
  if (head === undefined || tail === undefined) return undefined
  // Dotted-decimal IPv4 may only end the whole address.
  if (halves.length === 2 && halves[0].includes(".")) return undefined
  const missing = 8 - head.length - tail.length
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined
  const groups = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail]
  const bytes = new Uint8Array(16)
  groups.forEach((g, i) => {
    bytes[2 * i] = g >>> 8
    bytes[2 * i + 1] = g & 0xff
  })
  return bytes
}

/** An IPv6 address in its RFC 5952 canonical text. */
export const Ipv6Address = Schema.String.check(
  Schema.makeFilter((text: string) => {
    const bytes = ipv6FromString(text)
    return (bytes !== undefined && formatIpv6(bytes, 0) === text) || "an IPv6 address in RFC 5952 canonical form"
  })
).pipe(Schema.brand("Ipv6Address"))
/** An IPv6 address in its RFC 5952 canonical text. */
export type Ipv6Address = typeof Ipv6Address.Type

/** True when the 16 bytes at `a[i]` and `b[j]` are the same address. */
export const ipv6Equals = (a: Uint8Array, i: number, b: Uint8Array, j: number): boolean => {
  for (let k = 0; k < 16; k++) if (a[i + k] !== b[j + k]) return false
  return true
}

/** The RFC 5952 canonical text of the 16 bytes at `bytes[offset]`. */
export const ipv6ToString = (bytes: Uint8Array, offset = 0): Ipv6Address => formatIpv6(bytes, offset) as Ipv6Address

/** The 16 bytes of a canonical (branded) IPv6 address. */
export const ipv6ToBytes = (address: Ipv6Address): Uint8Array => ipv6FromString(address) ?? new Uint8Array(16)
