/**
 * MAC (IEEE 802 EUI-48) addresses. On the hot path an address is a number:
 * 48 bits fit exactly in a double, so it compares with `===` and keys a `Map`.
 * In the typed representation it is the canonical text `02:00:5e:10:00:01`.
 */
import { Schema } from "effect"

/** A MAC address in canonical text: six lower-case hex pairs joined by colons. */
export const MacAddress = Schema.String.check(Schema.isPattern(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/)).pipe(
  Schema.brand("MacAddress")
)
/** A MAC address in canonical text. */
export type MacAddress = typeof MacAddress.Type

/** ff:ff:ff:ff:ff:ff as a number. */
export const BROADCAST_MAC = 0xffffffffffff

const TWO_32 = 0x100000000

/** The 48-bit address at `bytes[i]` as a number. */
export const readMac = (bytes: Uint8Array, i: number): number =>
  ((bytes[i] << 8) | bytes[i + 1]) * TWO_32 +
  (((bytes[i + 2] << 24) | (bytes[i + 3] << 16) | (bytes[i + 4] << 8) | bytes[i + 5]) >>> 0)

/** Writes the 48-bit address `mac` at `bytes[i]`. */
export const writeMac = (bytes: Uint8Array, i: number, mac: number): void => {
  const high = Math.floor(mac / TWO_32)
  const low = mac % TWO_32
  bytes[i] = high >>> 8
  bytes[i + 1] = high
  bytes[i + 2] = low >>> 24
  bytes[i + 3] = low >>> 16
  bytes[i + 4] = low >>> 8
  bytes[i + 5] = low
}

/** True for a group (multicast or broadcast) address: the I/G bit, the low bit of the first byte. */
export const isMulticastMac = (mac: number): boolean => (Math.floor(mac / 0x10000000000) & 1) === 1

/** The canonical text of a 48-bit address. */
export const macToString = (mac: number): MacAddress => {
  const hex = mac.toString(16).padStart(12, "0")
  return `${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}:${hex.slice(6, 8)}:${hex.slice(8, 10)}:${hex.slice(10, 12)}` as MacAddress
}

/** The number of a MAC address written as six hex pairs separated by `:` or `-` (any case), or `undefined`. */
export const macFromString = (text: string): number | undefined => {
  if (!/^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/.test(text)) return undefined
  return Number.parseInt(text.replace(/[:-]/g, ""), 16)
}

/** The number of a canonical (branded) MAC address. */
export const macToNumber = (mac: MacAddress): number => Number.parseInt(mac.replaceAll(":", ""), 16)
