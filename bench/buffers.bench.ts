/**
 * Buffers benchmarks: checksum throughput against a naive byte loop and
 * against a plain copy of the same bytes (`Uint8Array.set`), and the
 * cost of push/pull, clone, copy and pool acquire/release against the
 * cheapest plain-JavaScript operation that does comparable work.
 */
import { BufferPool, internetChecksum, PacketBuffer } from "@netstack/buffers"
import { compare, type Comparison, consume, measure, type SuiteResult } from "./harness.ts"

/** The checksum as most JavaScript code writes it: one 16-bit word per step. */
const naiveChecksum = (bytes: Uint8Array): number => {
  let sum = 0
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += (bytes[i] << 8) | bytes[i + 1]
  if (bytes.length % 2 === 1) sum += bytes[bytes.length - 1] << 8
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16)
  return ~sum & 0xffff
}

const pattern = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7919 + 13) & 0xff)

/** Runs the buffers suite. */
export const buffersSuite = (): SuiteResult => {
  const results: Array<Comparison> = []
  for (const size of [40, 1500, 65536]) {
    const data = pattern(size)
    const copy = new Uint8Array(size)
    const checksum = measure(`internetChecksum ${size} B`, () => consume(internetChecksum(data)), { bytesPerOp: size })
    results.push(
      compare("buffers", checksum, measure(`naive byte loop ${size} B`, () => consume(naiveChecksum(data)), { bytesPerOp: size })),
      // The checksum reads every byte once; a copy (memcpy) reads and writes each: the speed of light.
      compare("buffers", checksum, measure(`Uint8Array.set copy of ${size} B`, () => {
        copy.set(data)
        consume(copy)
      }, { bytesPerOp: size }))
    )
  }

  const buffer = PacketBuffer.fromBytes(pattern(1500), 128, 0)
  const plain = { data: 128, length: 1500 }
  results.push(
    compare(
      "buffers",
      measure("push(54) + pull(54)", () => {
        buffer.push(54)
        buffer.pull(54)
      }),
      measure("plain loop: two field updates", () => {
        plain.data -= 54
        plain.length += 54
        plain.data += 54
        plain.length -= 54
        consume(plain)
      })
    )
  )

  const area = buffer.bytes
  results.push(
    compare(
      "buffers",
      measure("clone() + release()", () => {
        const c = buffer.clone()
        if (c instanceof PacketBuffer) c.release()
        consume(c)
      }),
      measure("Uint8Array.subarray (a shared view)", () => consume(area.subarray(128, 1628)))
    )
  )

  results.push(
    compare(
      "buffers",
      measure("copy() of a 1628 B buffer", () => consume(buffer.copy()), { bytesPerOp: 1628 }),
      measure("Uint8Array.slice of 1628 B", () => consume(area.slice()), { bytesPerOp: 1628 })
    )
  )

  const pool = BufferPool.make({ count: 1024, size: 2048 })
  results.push(
    compare(
      "buffers",
      measure("pool acquire() + release()", () => {
        const b = pool.acquire()
        if (b instanceof PacketBuffer) b.release()
        consume(b)
      }),
      measure("new Uint8Array(2048)", () => consume(new Uint8Array(2048)))
    )
  )
  return { rows: results, notes: [] }
}
