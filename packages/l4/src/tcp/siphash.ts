/**
 * SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF",
 * 2012), the keyed pseudorandom function Linux uses for initial sequence
 * numbers, timestamp offsets and SYN cookies (lib/siphash.c,
 * `siphash_2u32` … `siphash_4u32`).
 *
 * The input is a sequence of 32-bit words taken as little-endian bytes, so
 * `hash3(a, b, c)` is SipHash-2-4 of the 12 bytes of `a`, `b`, `c`; the
 * 64-bit state is kept as pairs of 32-bit halves. A hash allocates nothing.
 * The result is the low 32 bits of the 64-bit output (Linux callers keep a
 * `u32` of it); `high` holds the other half of the last result.
 */

/** Scratch state: v0..v3 as (low, high) halves. */
const state = new Int32Array(8)
/** Up to four input words for the fixed-arity helpers. */
const scratch = new Int32Array(4)

/** `n` SipRounds over the state (64-bit additions with carry and rotations on 32-bit halves). */
const rounds = (s: Int32Array, n: number): void => {
  let v0l = s[0] ?? 0, v0h = s[1] ?? 0, v1l = s[2] ?? 0, v1h = s[3] ?? 0
  let v2l = s[4] ?? 0, v2h = s[5] ?? 0, v3l = s[6] ?? 0, v3h = s[7] ?? 0
  let l = 0, t = 0
  for (let r = 0; r < n; r++) {
    // v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)
    l = (v0l + v1l) | 0
    v0h = (v0h + v1h + ((l >>> 0) < (v0l >>> 0) ? 1 : 0)) | 0
    v0l = l
    t = v1h
    v1h = (v1h << 13) | (v1l >>> 19)
    v1l = (v1l << 13) | (t >>> 19)
    v1l ^= v0l
    v1h ^= v0h
    t = v0l
    v0l = v0h
    v0h = t
    // v2 += v3; v3 = rotl(v3, 16); v3 ^= v2
    l = (v2l + v3l) | 0
    v2h = (v2h + v3h + ((l >>> 0) < (v2l >>> 0) ? 1 : 0)) | 0
    v2l = l
    t = v3h
    v3h = (v3h << 16) | (v3l >>> 16)
    v3l = (v3l << 16) | (t >>> 16)
    v3l ^= v2l
    v3h ^= v2h
    // v0 += v3; v3 = rotl(v3, 21); v3 ^= v0
    l = (v0l + v3l) | 0
    v0h = (v0h + v3h + ((l >>> 0) < (v0l >>> 0) ? 1 : 0)) | 0
    v0l = l
    t = v3h
    v3h = (v3h << 21) | (v3l >>> 11)
    v3l = (v3l << 21) | (t >>> 11)
    v3l ^= v0l
    v3h ^= v0h
    // v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)
    l = (v2l + v1l) | 0
    v2h = (v2h + v1h + ((l >>> 0) < (v2l >>> 0) ? 1 : 0)) | 0
    v2l = l
    t = v1h
    v1h = (v1h << 17) | (v1l >>> 15)
    v1l = (v1l << 17) | (t >>> 15)
    v1l ^= v2l
    v1h ^= v2h
    t = v2l
    v2l = v2h
    v2h = t
  }
  s[0] = v0l
  s[1] = v0h
  s[2] = v1l
  s[3] = v1h
  s[4] = v2l
  s[5] = v2h
  s[6] = v3l
  s[7] = v3h
}

/** One 64-bit message block `m` = (low, high): v3 ^= m; 2 rounds; v0 ^= m. */
const compress = (s: Int32Array, low: number, high: number): void => {
  s[6] = (s[6] ?? 0) ^ low
  s[7] = (s[7] ?? 0) ^ high
  rounds(s, 2)
  s[0] = (s[0] ?? 0) ^ low
  s[1] = (s[1] ?? 0) ^ high
}

/** Draws one 32-bit word from a source of uniform numbers in [0, 1). */
export const randomWord = (random: () => number): number => Math.floor(random() * 4294967296) >>> 0

/** A SipHash-2-4 key and the hash under it. */
export class SipHash {
  /** The high 32 bits of the last result (unsigned). */
  high = 0
  private readonly k0l: number
  private readonly k0h: number
  private readonly k1l: number
  private readonly k1h: number

  /**
   * A key from its 128 bits as four 32-bit words: the key bytes are the
   * little-endian bytes of `w0`, `w1`, `w2`, `w3` (so k0 = w1:w0, k1 = w3:w2).
   */
  constructor(w0: number, w1: number, w2: number, w3: number) {
    this.k0l = w0 | 0
    this.k0h = w1 | 0
    this.k1l = w2 | 0
    this.k1h = w3 | 0
  }

  /** A key of 128 bits drawn from `random` (uniform in [0, 1), as Effect's `Random.next`). */
  static fromRandom(random: () => number): SipHash {
    return new SipHash(randomWord(random), randomWord(random), randomWord(random), randomWord(random))
  }

  /** SipHash-2-4 of the first `count` words of `words` (each as 4 little-endian bytes); the low 32 bits, unsigned. */
  hash(words: ArrayLike<number>, count: number = words.length): number {
    const s = state
    // Initialisation: "somepseudorandomlygeneratedbytes" XOR the key.
    s[0] = this.k0l ^ 0x70736575
    s[1] = this.k0h ^ 0x736f6d65
    s[2] = this.k1l ^ 0x6e646f6d
    s[3] = this.k1h ^ 0x646f7261
    s[4] = this.k0l ^ 0x6e657261
    s[5] = this.k0h ^ 0x6c796765
    s[6] = this.k1l ^ 0x79746573
    s[7] = this.k1h ^ 0x74656462
    const n = Math.max(0, Math.min(count, words.length))
    let i = 0
    for (; i + 1 < n; i += 2) compress(s, (words[i] ?? 0) | 0, (words[i + 1] ?? 0) | 0)
    // The last block: the remaining word (if any) and the length in bytes in the top byte.
    const tail = ((n * 4) & 0xff) << 24
    compress(s, i < n ? (words[i] ?? 0) | 0 : 0, tail)
    s[4] = (s[4] ?? 0) ^ 0xff
    rounds(s, 4)
    const low = ((s[0] ?? 0) ^ (s[2] ?? 0) ^ (s[4] ?? 0) ^ (s[6] ?? 0)) >>> 0
    this.high = ((s[1] ?? 0) ^ (s[3] ?? 0) ^ (s[5] ?? 0) ^ (s[7] ?? 0)) >>> 0
    return low
  }

  /** The hash of two words (Linux `siphash_2u32`), low 32 bits. */
  hash2(a: number, b: number): number {
    scratch[0] = a
    scratch[1] = b
    return this.hash(scratch, 2)
  }

  /** The hash of three words (Linux `siphash_3u32`), low 32 bits. */
  hash3(a: number, b: number, c: number): number {
    scratch[0] = a
    scratch[1] = b
    scratch[2] = c
    return this.hash(scratch, 3)
  }

  /** The hash of four words (Linux `siphash_4u32`), low 32 bits. */
  hash4(a: number, b: number, c: number, d: number): number {
    scratch[0] = a
    scratch[1] = b
    scratch[2] = c
    scratch[3] = d
    return this.hash(scratch, 4)
  }
}
