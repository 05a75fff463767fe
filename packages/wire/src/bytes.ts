/**
 * Big-endian field access on byte arrays: the plain functions every view and
 * emitter uses on the hot path. Callers check bounds first.
 */

/** The 16-bit big-endian value at `bytes[i]`. */
export const readU16 = (bytes: Uint8Array, i: number): number => (bytes[i] << 8) | bytes[i + 1]

/** The 32-bit big-endian value at `bytes[i]`, unsigned. */
export const readU32 = (bytes: Uint8Array, i: number): number =>
  ((bytes[i] << 24) | (bytes[i + 1] << 16) | (bytes[i + 2] << 8) | bytes[i + 3]) >>> 0

/** Writes `value` as 16 bits big-endian at `bytes[i]`. */
export const writeU16 = (bytes: Uint8Array, i: number, value: number): void => {
  bytes[i] = value >>> 8
  bytes[i + 1] = value
}

/** Writes `value` as 32 bits big-endian at `bytes[i]`. */
export const writeU32 = (bytes: Uint8Array, i: number, value: number): void => {
  bytes[i] = value >>> 24
  bytes[i + 1] = value >>> 16
  bytes[i + 2] = value >>> 8
  bytes[i + 3] = value
}

/** Lower-case hex of `bytes`, two digits a byte, no separators. */
export const toHex = (bytes: Uint8Array): string => {
  let s = ""
  for (const b of bytes) s += b.toString(16).padStart(2, "0")
  return s
}

/** The bytes of a hex string (even length, no separators), or `undefined` if it is not one. */
export const fromHex = (hex: string): Uint8Array | undefined => {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return undefined
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16)
  return out
}
