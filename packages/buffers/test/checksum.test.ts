/**
 * The Internet checksum against a naive reference written straight from
 * RFC 1071, on random data of every length and alignment, split into
 * fragments at every offset; RFC 1624 incremental updates against full
 * recomputation; pseudo-header sums against the pseudo-header bytes.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import {
  ChecksumState,
  ChecksumStateMismatch,
  finishChecksum,
  internetChecksum,
  ipv4PseudoHeaderSum,
  ipv6PseudoHeaderSum,
  OutOfRange,
  PacketBuffer,
  resolvePartialChecksum,
  sumBytes,
  sumPacket,
  updateChecksum16,
  updateChecksum32
} from "@netstack/buffers"

/** RFC 1071 §1, literally: add 16-bit big-endian words (odd byte padded), fold carries, complement. */
const referenceSum = (bytes: ArrayLike<number>): number => {
  let sum = 0
  for (let i = 0; i < bytes.length; i += 2) sum += bytes[i] * 256 + (i + 1 < bytes.length ? bytes[i + 1] : 0)
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 65536)
  return sum
}
const referenceChecksum = (bytes: ArrayLike<number>): number => ~referenceSum(bytes) & 0xffff

/** Bytes of a length drawn uniformly from `[0, max]` (fast-check's default sizes stay small). */
const bytesUpTo = (max: number) => fc.integer({ min: 0, max }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n }))

/**
 * Random data placed at a random alignment inside a larger array, itself a
 * view at a random offset into a buffer of any length whose other bytes are
 * 0xff: a sum that strays outside its range, or misplaces the 32-bit words of
 * the buffer behind the view, comes out wrong.
 */
const alignedData = fc
  .record({
    data: bytesUpTo(700),
    shift: fc.integer({ min: 0, max: 7 }),
    viewOffset: fc.integer({ min: 0, max: 7 }),
    slack: fc.integer({ min: 0, max: 5 })
  })
  .map(({ data, shift, slack, viewOffset }) => {
    const backing = new Uint8Array(viewOffset + shift + data.length + slack).fill(0xff)
    const host = new Uint8Array(backing.buffer, viewOffset, shift + data.length)
    host.fill(0xff)
    host.set(data, shift)
    return { data, host, shift }
  })

describe("Internet checksum (RFC 1071)", () => {
  it("matches the RFC 1071 §3 worked example", () => {
    const bytes = Uint8Array.of(0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7)
    expect(sumBytes(bytes)).toBe(0xddf2)
    expect(internetChecksum(bytes)).toBe(0x220d)
  })

  it("equals the naive reference on random data of any length and alignment", () => {
    fc.assert(
      fc.property(alignedData, ({ data, host, shift }) => {
        expect(sumBytes(host, shift, shift + data.length)).toBe(referenceSum(data))
        expect(internetChecksum(host, shift, shift + data.length)).toBe(referenceChecksum(data))
      }),
      { numRuns: 500 }
    )
  })

  it("is zero when verified over data that carries its own checksum", () => {
    fc.assert(
      fc.property(bytesUpTo(300).map((d) => (d.length % 2 === 0 ? d : d.subarray(1))), (data) => {
        const withField = new Uint8Array(data.length + 2)
        withField.set(data, 2)
        const c = internetChecksum(withField)
        withField[0] = c >>> 8
        withField[1] = c & 0xff
        expect(internetChecksum(withField)).toBe(0)
      })
    )
  })

  it("over a packet equals the reference for a split into linear part and fragment at every offset", () => {
    fc.assert(
      fc.property(bytesUpTo(300), (data) => {
        const expected = referenceSum(data)
        for (let at = 0; at <= data.length; at++) {
          const buffer = PacketBuffer.fromBytes(data.subarray(0, at), 3)
          buffer.addFragmentBytes(data.slice(at))
          expect(sumPacket(buffer)).toBe(expected)
        }
      }),
      { numRuns: 40 }
    )
  })

  it("over a packet equals the reference for any split into many fragments and any sub-range", () => {
    fc.assert(
      fc.property(
        bytesUpTo(600),
        fc.array(fc.nat(), { maxLength: 16 }),
        fc.nat(),
        fc.nat(),
        (data, cuts, a, b) => {
          const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((x, y) => x - y)
          const buffer = PacketBuffer.fromBytes(data.subarray(0, points[0] ?? data.length), 1)
          let from = points[0] ?? data.length
          for (const p of [...points.slice(1), data.length]) {
            buffer.addFragmentBytes(data.slice(from, p))
            from = p
          }
          const offset = a % (data.length + 1)
          const length = b % (data.length - offset + 1)
          expect(sumPacket(buffer, offset, length)).toBe(referenceSum(data.subarray(offset, offset + length)))
          expect(sumPacket(buffer, offset, data.length - offset + 1)).toBeUndefined()
        }
      )
    )
  })
})

describe("incremental update (RFC 1624)", () => {
  /** Data of 16-bit words with the checksum of the rest stored in word 0. */
  const header = fc.uint8Array({ minLength: 4, maxLength: 60 }).map((d) => d.subarray(0, d.length & ~1))

  it("equals recomputation after a 16-bit word changes", () => {
    fc.assert(
      fc.property(header, fc.nat(), fc.integer({ min: 0, max: 0xffff }), (data, k, value) => {
        const bytes = data.slice()
        const word = 1 + (k % (bytes.length / 2 - 1))
        bytes[0] = 0
        bytes[1] = 0
        const before = internetChecksum(bytes)
        const old = bytes[2 * word] * 256 + bytes[2 * word + 1]
        bytes[2 * word] = value >>> 8
        bytes[2 * word + 1] = value & 0xff
        const after = internetChecksum(bytes)
        const incremental = updateChecksum16(before, old, value)
        // RFC 1624 §3: the two differ only in the sign of zero, when the data became all zero
        if (bytes.some((b) => b !== 0)) expect(incremental).toBe(after)
        else expect([0x0000, 0xffff]).toContain(incremental)
      }),
      { numRuns: 500 }
    )
  })

  it("equals recomputation after a 32-bit field changes", () => {
    fc.assert(
      fc.property(
        header.filter((d) => d.length >= 8),
        fc.nat(),
        fc.integer({ min: 0, max: 0xffffffff }),
        (data, k, value) => {
          const bytes = data.slice()
          const at = 2 + 2 * (k % ((bytes.length - 4) / 2))
          const view = new DataView(bytes.buffer)
          const before = internetChecksum(bytes)
          const old = view.getUint32(at)
          view.setUint32(at, value)
          const after = internetChecksum(bytes)
          const incremental = updateChecksum32(before, old, value)
          if (bytes.some((b) => b !== 0)) expect(incremental).toBe(after)
          else expect([0x0000, 0xffff]).toContain(incremental)
        }
      ),
      { numRuns: 500 }
    )
  })

  it("decrementing an IPv4 TTL updates the header checksum as recomputation does", () => {
    // the classic example header: 4500 003c 1c46 4000 4006 b1e6 ac10 0a63 ac10 0a0c
    const ipv4 = Uint8Array.of(0x45, 0, 0, 0x3c, 0x1c, 0x46, 0x40, 0, 0x40, 0x06, 0, 0, 0xac, 0x10, 0x0a, 0x63, 0xac, 0x10, 0x0a, 0x0c)
    const c = internetChecksum(ipv4)
    ipv4[10] = c >>> 8
    ipv4[11] = c & 0xff
    expect(c).toBe(0xb1e6)
    ipv4[8] = 0x3f
    const updated = updateChecksum16(c, 0x4006, 0x3f06)
    ipv4[10] = 0
    ipv4[11] = 0
    expect(updated).toBe(internetChecksum(ipv4))
  })
})

describe("pseudo-header sums", () => {
  it("IPv4 (RFC 768) equals the sum over the 12 pseudo-header bytes", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 0xffff }),
        (src, dst, protocol, length) => {
          const bytes = new Uint8Array(12)
          const view = new DataView(bytes.buffer)
          view.setUint32(0, src)
          view.setUint32(4, dst)
          view.setUint8(9, protocol)
          view.setUint16(10, length)
          expect(ipv4PseudoHeaderSum(src, dst, protocol, length)).toBe(referenceSum(bytes))
        }
      )
    )
  })

  it("IPv6 (RFC 8200 §8.1) equals the sum over the 40 pseudo-header bytes", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        (src, dst, next, length) => {
          const bytes = new Uint8Array(40)
          bytes.set(src, 0)
          bytes.set(dst, 16)
          new DataView(bytes.buffer).setUint32(32, length)
          bytes[39] = next
          expect(ipv6PseudoHeaderSum(src, dst, next, length)).toBe(referenceSum(bytes))
        }
      )
    )
  })
})

describe("partial checksum completion", () => {
  it("fills in a UDP checksum that verifies with the pseudo-header", () => {
    fc.assert(
      fc.property(bytesUpTo(400), fc.integer({ min: 0, max: 3 }), (payload, frags) => {
        const src = 0xc0a80001
        const dst = 0xc0a80002
        const udpLength = 8 + payload.length
        const split = Math.floor(payload.length / (frags + 1))
        const buffer = PacketBuffer.fromBytes(payload.subarray(0, split), 28)
        for (let i = 0; i < frags; i++) {
          buffer.addFragmentBytes(payload.slice(split * (i + 1), i === frags - 1 ? payload.length : split * (i + 2)))
        }
        buffer.push(8)
        buffer.setUint16(0, 1234)
        buffer.setUint16(2, 53)
        buffer.setUint16(4, udpLength)
        buffer.setUint16(6, ipv4PseudoHeaderSum(src, dst, 17, udpLength)) // as the stack leaves it for offload
        buffer.meta.checksum = ChecksumState.partial(buffer.data, 6)
        expect(resolvePartialChecksum(buffer, 0xffff)).toBeUndefined()
        expect(buffer.meta.checksum._tag).toBe("None")
        const wire = buffer.toUint8Array()
        expect(finishChecksum(sumBytes(wire, 0, wire.length, ipv4PseudoHeaderSum(src, dst, 17, udpLength)))).toBe(0)
        expect(wire[6] * 256 + wire[7]).not.toBe(0)
      })
    )
  })

  it("refuses a packet that is not partial, or whose field lies outside the linear data", () => {
    const buffer = PacketBuffer.fromBytes(new Uint8Array(8))
    expect(resolvePartialChecksum(buffer)).toBeInstanceOf(ChecksumStateMismatch)
    buffer.meta.checksum = ChecksumState.partial(0, 7)
    expect(resolvePartialChecksum(buffer)).toBeInstanceOf(OutOfRange)
  })
})
