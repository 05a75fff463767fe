/**
 * IPv4 addresses. On the hot path an address is an unsigned 32-bit number;
 * in the typed representation it is canonical dotted-decimal text.
 */
import { Schema } from "effect"

const OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"

/** An IPv4 address in canonical dotted-decimal text (no leading zeros). */
export const Ipv4Address = Schema.String.check(Schema.isPattern(new RegExp(`^${OCTET}(\\.${OCTET}){3}$`))).pipe(
  Schema.brand("Ipv4Address")
)
/** An IPv4 address in canonical dotted-decimal text. */
export type Ipv4Address = typeof Ipv4Address.Type

/** The dotted-decimal text of a 32-bit address. */
export const ipv4ToString = (address: number): Ipv4Address =>
  `${address >>> 24}.${(address >>> 16) & 0xff}.${(address >>> 8) & 0xff}.${address & 0xff}` as Ipv4Address

/** The 32-bit number of dotted-decimal text (four decimal octets, no leading zeros), or `undefined`. */
export const ipv4FromString = (text: string): number | undefined => {
  const parts = text.split(".")
  if (parts.length !== 4) return undefined
  let value = 0
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined
    const octet = Number(part)
    if (octet > 255) return undefined
    value = value * 256 + octet
  }
  return value
}

/** The 32-bit number of a canonical (branded) IPv4 address. */
export const ipv4ToNumber = (address: Ipv4Address): number =>
  address.split(".").reduce((value, octet) => value * 256 + Number(octet), 0)
