/**
 * The Toeplitz hash of Receive Side Scaling, as Microsoft specifies it in the
 * NDIS documentation, "RSS Hashing Functions" (`NdisHashFunctionToeplitz`):
 *
 * ```
 * ComputeHash(input[], n)
 *   result = 0
 *   For each bit b in input[] from left to right
 *     if (b == 1) result ^= (left-most 32 bits of K)
 *     shift K left 1 bit position
 *   return result
 * ```
 *
 * "Left to right" is byte 0 first, most significant bit first. K is the
 * secret key (40 bytes for NDIS, "RSS Configuration"); shifting it left
 * brings in zeros, so key bits past its end count as 0 and an input byte at
 * position `p ≥ key.length` contributes nothing. The hash is linear over XOR:
 * each set input bit contributes one 32-bit window of the key, which is what
 * lets `ToeplitzKey` precompute a table per input position, and what lets a
 * caller hash the pieces of an input separately (`position`) and XOR them.
 */

/**
 * The key Microsoft publishes for checking an implementation, "Verifying the
 * RSS Hash Calculation" (also the default key of many NIC drivers). A shared
 * array: copy it before changing it. `ToeplitzKey` copies it when built.
 */
export const MICROSOFT_RSS_KEY: Uint8Array = Uint8Array.of(
  0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2,
  0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
  0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4,
  0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
  0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa
)

/** Bytes in an NDIS RSS secret key ("RSS Configuration": 320 bits). */
export const RSS_KEY_LENGTH = 40

/** `n` as an index into `[0, length]`: truncated, clamped; `NaN` becomes `fallback`. */
const clampIndex = (n: number, length: number, fallback: number): number => {
  if (!(n >= 0)) return n < 0 ? 0 : fallback
  return n >= length ? length : Math.floor(n)
}

/** `key[i]`, or 0 past the end: the zeros a left shift brings in. */
const keyByte = (key: Uint8Array, i: number): number => (i < key.length ? key[i] : 0)

/**
 * The hash of `input[start, end)` placed at byte `position` of the whole hash
 * input, by the bit loop of the pseudocode. One key byte is read per input
 * byte: `window` holds key bits `[8p, 8p + 32)` and `next` the following 8, so
 * bit `j` of the input byte selects `window << j | next >>> (8 − j)`.
 */
const hashBits = (key: Uint8Array, input: Uint8Array, start: number, end: number, position: number): number => {
  let k = position
  let window = (keyByte(key, k) << 24) | (keyByte(key, k + 1) << 16) | (keyByte(key, k + 2) << 8) | keyByte(key, k + 3)
  let result = 0
  const last = Math.min(end, start + key.length - position) // later bytes meet an all-zero window
  for (let i = start; i < last; i++) {
    const next = keyByte(key, k + 4)
    const b = input[i]
    if (b !== 0) {
      if ((b & 0x80) !== 0) result ^= window
      for (let j = 1; j < 8; j++) {
        if ((b & (0x80 >>> j)) !== 0) result ^= (window << j) | (next >>> (8 - j))
      }
    }
    window = (window << 8) | next
    k++
  }
  return result >>> 0
}

/**
 * The Toeplitz hash of `input[start, end)` under `key`, unsigned 32 bits
 * ("RSS Hashing Functions"). Computed bit by bit, allocating nothing; for a
 * key used many times, `ToeplitzKey` is several times faster. `start` and
 * `end` are truncated and clamped into `[0, input.length]`; an empty range
 * hashes to 0. `position` places the bytes at that byte offset of a longer
 * input, as in `ToeplitzKey.hash`; a negative or `NaN` one counts as 0.
 */
export const toeplitzHash = (key: Uint8Array, input: Uint8Array, start = 0, end = input.length, position = 0): number => {
  const s = clampIndex(start, input.length, 0)
  const e = clampIndex(end, input.length, input.length)
  return s < e ? hashBits(key, input, s, e, position >= 0 ? Math.floor(position) : 0) : 0
}

/**
 * A Toeplitz key prepared for hashing: for each input byte position `p` below
 * the key length, a 256-entry table of the XOR of the key windows each byte
 * value selects (`table[p · 256 + v]`), so a hash is one lookup and one XOR per
 * input byte. 1 KiB per key byte (40 KiB for an NDIS key), built once when the
 * key is configured. The key is copied: changing the caller's array later
 * changes nothing here.
 */
export class ToeplitzKey {
  /** Key length in bytes: input bytes at or past this position do not change the hash. */
  readonly length: number
  private readonly table: Uint32Array

  /** Prepares `key` (any length; NDIS uses `RSS_KEY_LENGTH`). */
  constructor(key: Uint8Array) {
    const bytes = Uint8Array.from(key)
    this.length = bytes.length
    this.table = new Uint32Array(bytes.length * 256)
    const windows = new Int32Array(8)
    for (let p = 0; p < bytes.length; p++) {
      const w = (keyByte(bytes, p) << 24) | (keyByte(bytes, p + 1) << 16) | (keyByte(bytes, p + 2) << 8) | keyByte(bytes, p + 3)
      const next = keyByte(bytes, p + 4)
      windows[0] = w
      for (let j = 1; j < 8; j++) windows[j] = (w << j) | (next >>> (8 - j))
      const base = p * 256
      // Linearity: the entry of v is the entry of v without its lowest set bit, XOR that bit's window.
      for (let v = 1; v < 256; v++) {
        const low = v & -v
        this.table[base + v] = this.table[base + (v ^ low)] ^ windows[7 - Math.log2(low)]
      }
    }
  }

  /**
   * The Toeplitz hash of `input[start, end)`, unsigned 32 bits: equal to
   * `toeplitzHash(key, input, start, end)`. With `position`, the bytes are
   * hashed as if they stood at that byte offset of a longer input, so
   * `hash(a) ^ hash(b, 0, b.length, a.length)` is the hash of `a` followed by
   * `b` (after `>>> 0`). Allocates nothing. Indices are truncated and clamped
   * into `[0, input.length]`; a negative or `NaN` `position` counts as 0.
   */
  hash(input: Uint8Array, start = 0, end = input.length, position = 0): number {
    const s = clampIndex(start, input.length, 0)
    const e = clampIndex(end, input.length, input.length)
    let p = position >= 0 ? Math.floor(position) : 0
    const table = this.table
    const last = Math.min(e, s + this.length - p)
    let result = 0
    for (let i = s; i < last; i++) {
      result ^= table[(p << 8) | input[i]]
      p++
    }
    return result >>> 0
  }
}
