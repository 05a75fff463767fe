/** fast-check arbitraries of malformed input derived from valid bytes: truncations, bit flips, overwrites. */
import fc from "fast-check"

/**
 * Bytes derived from `valid`: unchanged, truncated at any offset, with bytes
 * overwritten or bits flipped, extended with junk, or entirely random.
 */
export const mutated = (valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> =>
  fc.oneof(
    valid,
    valid.chain((b) => fc.integer({ min: 0, max: b.length }).map((n) => b.slice(0, n))),
    valid.chain((b) =>
      fc
        .array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 })
        .map((edits) => {
          const out = b.slice()
          if (out.length > 0) for (const [at, value] of edits) out[at % out.length] = value
          return out
        })
    ),
    valid.chain((b) =>
      fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })).map(([at, bit]) => {
        const out = b.slice()
        if (out.length > 0) out[at % out.length] ^= 1 << bit
        return out
      })
    ),
    valid.chain((b) => fc.uint8Array({ maxLength: 16 }).map((junk) => Uint8Array.from([...b, ...junk]))),
    fc.integer({ min: 0, max: 96 }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n }))
  )
