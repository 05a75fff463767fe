/**
 * Field access in either byte order. pcap and pcapng files are written in the
 * byte order of the machine that wrote them (draft-ietf-opsawg-pcap §3,
 * draft-ietf-opsawg-pcapng §3.6.1), so every read names the order: `le` is
 * true for little-endian. Callers check bounds first.
 */

/** The 16-bit unsigned value at `b[i]`. */
export const u16 = (b: Uint8Array, i: number, le: boolean): number =>
  le ? b[i] | (b[i + 1] << 8) : (b[i] << 8) | b[i + 1]

/** The 32-bit unsigned value at `b[i]`. */
export const u32 = (b: Uint8Array, i: number, le: boolean): number =>
  (le
    ? b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)
    : (b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0

/** The 64-bit unsigned value at `b[i]`, stored as one 64-bit integer. */
export const u64 = (b: Uint8Array, i: number, le: boolean): bigint => {
  const first = BigInt(u32(b, i, le))
  const second = BigInt(u32(b, i + 4, le))
  return le ? (second << 32n) | first : (first << 32n) | second
}

/** The 64-bit signed (two's complement) value at `b[i]`. */
export const i64 = (b: Uint8Array, i: number, le: boolean): bigint => BigInt.asIntN(64, u64(b, i, le))

/** Writes `v` as 16 bits at `b[i]`. */
export const put16 = (b: Uint8Array, i: number, v: number, le: boolean): void => {
  if (le) {
    b[i] = v
    b[i + 1] = v >>> 8
  } else {
    b[i] = v >>> 8
    b[i + 1] = v
  }
}

/** Writes `v` as 32 bits at `b[i]`. */
export const put32 = (b: Uint8Array, i: number, v: number, le: boolean): void => {
  if (le) {
    b[i] = v
    b[i + 1] = v >>> 8
    b[i + 2] = v >>> 16
    b[i + 3] = v >>> 24
  } else {
    b[i] = v >>> 24
    b[i + 1] = v >>> 16
    b[i + 2] = v >>> 8
    b[i + 3] = v
  }
}
