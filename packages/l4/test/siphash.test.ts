/**
 * SipHash-2-4 against the reference test vectors of the SipHash paper
 * (Appendix A; the reference implementation's `vectors_sip64`): key bytes
 * 00..0f, message bytes 00, 01, … of every length a multiple of 4 up to 60.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { SipHash } from "../src/tcp/siphash.ts"

/** `vectors_sip64[len]` for len = 0, 4, 8, …, 60, as 64-bit hex. */
const VECTORS: ReadonlyArray<string> = [
  "726fdb47dd0e0e31",
  "cf2794e0277187b7",
  "93f5f5799a932462",
  "751e8fbc860ee5fb",
  "3f2acc7f57c29bdb",
  "bed65cf21aa2ee98",
  "b8ad50c6f649af94",
  "de4daaaca71dc9a5",
  "7127512f72f27cce",
  "314dffbe0815a3b4",
  "0e3ea96b5304a7d0",
  "f935451de4f21df2",
  "e612a3cb9ecba951",
  "0a8787bf8ecb74b2",
  "b78dbfaf3a8d83bd",
  "6ca4ecb15c5f91e1"
]

/** Little-endian word `i` of the byte string 00 01 02 …. */
const word = (i: number): number => ((4 * i) | ((4 * i + 1) << 8) | ((4 * i + 2) << 16) | ((4 * i + 3) << 24)) >>> 0

const hex = (high: number, low: number): string => high.toString(16).padStart(8, "0") + low.toString(16).padStart(8, "0")

describe("SipHash", () => {
  const key = new SipHash(word(0), word(1), word(2), word(3))
  const message = Array.from({ length: 16 }, (_, i) => word(i))

  it("matches the reference vectors for every length a multiple of 4 bytes", () => {
    VECTORS.forEach((expected, n) => {
      const low = key.hash(message, n)
      expect(hex(key.high, low)).toBe(expected)
    })
  })

  it("hash2, hash3 and hash4 are the hash of their words", () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 4, maxLength: 4 }), (w) => {
      const [a = 0, b = 0, c = 0, d = 0] = w
      expect(key.hash2(a, b)).toBe(key.hash([a, b]))
      expect(key.hash3(a, b, c)).toBe(key.hash([a, b, c]))
      expect(key.hash4(a, b, c, d)).toBe(key.hash([a, b, c, d]))
    }))
  })

  it("depends on every key word", () => {
    const base = key.hash3(1, 2, 3)
    expect(new SipHash(word(0) ^ 1, word(1), word(2), word(3)).hash3(1, 2, 3)).not.toBe(base)
    expect(new SipHash(word(0), word(1) ^ 1, word(2), word(3)).hash3(1, 2, 3)).not.toBe(base)
    expect(new SipHash(word(0), word(1), word(2) ^ 1, word(3)).hash3(1, 2, 3)).not.toBe(base)
    expect(new SipHash(word(0), word(1), word(2), word(3) ^ 1).hash3(1, 2, 3)).not.toBe(base)
  })
})
