/**
 * The keyed hash of the transport layer: a pseudorandom function of a few
 * 32-bit words under a secret 128-bit key, as Linux's `siphash_3u32` in
 * net/core/secure_seq.c. Ephemeral ports (RFC 6056 §3.3.4, F and G of
 * Algorithm 4) and initial sequence numbers (RFC 6528 §3, F) use it; the
 * key comes from the host's random source (RFC 6056 §3.3.3 and RFC 6528 §3:
 * the secret must be unguessable, 128 bits).
 *
 * The function is SipHash-2-4 (tcp/siphash.ts, checked against the
 * reference vectors there): each word is taken as 4 little-endian bytes, so
 * `keyedHash32(key, a, b, c)` is SipHash-2-4 of 12 bytes. This module is the
 * interface both users share; it allocates nothing per hash beyond the rest
 * parameters.
 *
 * @example
 * const key = makeKeyedHashKey(() => random.nextDoubleUnsafe())
 * const offset = keyedHash32(key, localAddress, remoteAddress, remotePort)
 */
import { SipHash } from "../tcp/siphash.ts"

/** A secret 128-bit key for {@link keyedHash32} and {@link keyedHash64}. */
export type KeyedHashKey = SipHash

/** A key of 128 bits drawn from `random` (uniform in [0, 1), as Effect's `Random`). */
export const makeKeyedHashKey = (random: () => number): KeyedHashKey => SipHash.fromRandom(random)

/**
 * A fixed key from four 32-bit words (the key bytes are their little-endian
 * bytes): for tests and reproducible runs.
 */
export const keyedHashKeyFromWords = (w0: number, w1: number, w2: number, w3: number): KeyedHashKey =>
  new SipHash(w0, w1, w2, w3)

/** The keyed hash of `words` (each an unsigned 32-bit value): 32 bits, unsigned. */
export const keyedHash32 = (key: KeyedHashKey, ...words: ReadonlyArray<number>): number => key.hash(words)

/** The whole 64-bit keyed hash of `words`, as its two unsigned 32-bit halves. */
export const keyedHash64 = (
  key: KeyedHashKey,
  ...words: ReadonlyArray<number>
): { readonly high: number; readonly low: number } => {
  const low = key.hash(words)
  return { high: key.high, low }
}
