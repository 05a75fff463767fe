/**
 * Sequence number arithmetic (RFC 9293 §3.4): sequence numbers live in a
 * 32-bit space that wraps, so `a < b` means "b is less than 2^31 ahead of
 * a". Every comparison of sequence numbers in the stack goes through these.
 */

/** `a` precedes `b` (RFC 9293 §3.4, "<" modulo 2^32). */
export const seqLt = (a: number, b: number): boolean => ((a - b) | 0) < 0

/** `a` precedes or equals `b`. */
export const seqLe = (a: number, b: number): boolean => ((a - b) | 0) <= 0

/** `a` follows `b`. */
export const seqGt = (a: number, b: number): boolean => ((a - b) | 0) > 0

/** `a` follows or equals `b`. */
export const seqGe = (a: number, b: number): boolean => ((a - b) | 0) >= 0

/** `a + n` in sequence space (an unsigned 32-bit result). */
export const seqAdd = (a: number, n: number): number => (a + n) >>> 0

/** How far `b` is ahead of `a` (`b - a` modulo 2^32, as a signed 32-bit number). */
export const seqDiff = (b: number, a: number): number => (b - a) | 0

/** The later of two sequence numbers. */
export const seqMax = (a: number, b: number): number => (seqGt(a, b) ? a : b)

/** The earlier of two sequence numbers. */
export const seqMin = (a: number, b: number): number => (seqLt(a, b) ? a : b)

/** `low ≤ x < high` in sequence space (RFC 9293 §3.10.7.4's window tests). */
export const seqInRange = (x: number, low: number, high: number): boolean => seqLe(low, x) && seqLt(x, high)
