/**
 * The receive ring with mergeable buffers (virtio's `VIRTIO_NET_F_MRG_RXBUF`):
 * a frame longer than one posted buffer is written across consecutive
 * posted buffers and taken back as one packet (the later buffers as
 * fragments, bytes unchanged); a frame the posted buffers cannot hold leaves
 * the ring as it was; a frame longer than the whole ring is refused as such.
 */
import { describe, expect, it } from "@effect/vitest"
import { BufferPool, MAX_FRAGMENTS, PacketBuffer } from "@netstack/buffers"
import { RxRing } from "@netstack/device"

const HEADROOM = 64

/** A ring of `size` descriptors, `posted` of them holding empty `bufferSize`-byte buffers from `pool`. */
const ringWith = (size: number, posted: number, pool: BufferPool): RxRing => {
  const ring = new RxRing(size)
  for (let i = 0; i < posted; i++) {
    const b = pool.acquire()
    if (!(b instanceof PacketBuffer)) throw new Error("pool exhausted")
    b.reserve(HEADROOM)
    ring.post(b)
  }
  return ring
}

const frameOf = (n: number, seed = 1): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff)

describe("RxRing with mergeable buffers", () => {
  it.each([
    { length: 1500, buffers: 1 },
    { length: 4032, buffers: 1 },
    { length: 4033, buffers: 2 },
    { length: 9000, buffers: 3 },
    { length: 9018, buffers: 3 },
    { length: 65535, buffers: 17 },
    { length: 65553, buffers: 17 }
  ])("a $length-byte frame through 4 KiB buffers arrives intact as one packet of $buffers buffer(s)", ({ length, buffers }) => {
    const pool = BufferPool.make({ count: 32, size: 4096 })
    const ring = ringWith(32, 32, pool)
    const frame = frameOf(length)
    const head = ring.dma(frame)
    if (typeof head === "string") throw new Error(head)
    expect(head.headLength).toBe(Math.min(length, 4096 - HEADROOM))
    expect({ posted: ring.posted, done: ring.done }).toEqual({ posted: 32 - buffers, done: buffers })
    const packet = ring.take()
    if (packet === undefined) throw new Error("nothing taken")
    expect(packet).toBe(head)
    expect(packet.fragments).toHaveLength(buffers - 1)
    expect(packet.headroom).toBe(HEADROOM)
    expect(packet.toUint8Array()).toEqual(frame)
    expect(ring.take()).toBeUndefined()
    expect({ done: ring.done, free: ring.free, multiBuffer: ring.multiBuffer }).toEqual({
      done: 0, free: buffers, multiBuffer: buffers > 1 ? 1 : 0
    })
    // Every buffer of the frame is held by the packet, and only by it.
    expect(pool.stats().inUse).toBe(32)
    packet.release()
    expect(pool.stats().inUse).toBe(32 - buffers)
  })

  it("a frame the posted buffers cannot hold is refused whole: nothing written, the ring as it was", () => {
    const pool = BufferPool.make({ count: 8, size: 4096 })
    const ring = ringWith(8, 2, pool)
    expect(ring.dma(frameOf(9000))).toBe("no-descriptor")
    expect({ posted: ring.posted, done: ring.done, free: ring.free }).toEqual({ posted: 2, done: 0, free: 6 })
    // The same buffers take the next frames that fit, in order.
    const small = frameOf(100, 2)
    const two = frameOf(5000, 3)
    expect(typeof ring.dma(small)).toBe("object")
    expect(ring.dma(two)).toBe("no-descriptor")
    const first = ring.take()
    expect(first?.toUint8Array()).toEqual(small)
    first?.release()
    for (let i = 0; i < 3; i++) {
      const b = pool.acquire()
      if (!(b instanceof PacketBuffer)) throw new Error("pool exhausted")
      b.reserve(HEADROOM)
      ring.post(b)
    }
    expect(typeof ring.dma(two)).toBe("object")
    const packet = ring.take()
    expect(packet?.toUint8Array()).toEqual(two)
    expect(packet?.fragments).toHaveLength(1)
    packet?.release()
    expect({ posted: ring.posted, done: ring.done, inUse: pool.stats().inUse }).toEqual({ posted: 2, done: 0, inUse: 2 })
  })

  it("a frame longer than the whole ring holds is too long, not missed", () => {
    const pool = BufferPool.make({ count: 4, size: 2048 })
    const ring = ringWith(4, 4, pool)
    expect(ring.dma(frameOf(4 * 1984 + 1))).toBe("too-long")
    expect(ring.posted).toBe(4)
  })

  it("a frame spanning more buffers than a packet has fragments keeps its bytes: the last ones are copied into one", () => {
    const buffers = MAX_FRAGMENTS + 4
    const pool = BufferPool.make({ count: buffers + 2, size: 2048 })
    const ring = ringWith(buffers + 2, buffers + 2, pool)
    const frame = frameOf(buffers * 1984 - 100)
    expect(typeof ring.dma(frame)).toBe("object")
    expect(ring.done).toBe(buffers)
    const packet = ring.take()
    if (packet === undefined) throw new Error("nothing taken")
    expect(packet.fragments).toHaveLength(MAX_FRAGMENTS)
    expect(packet.toUint8Array()).toEqual(frame)
    expect(ring.copiedTails).toBe(1)
    packet.release()
    expect(pool.stats().inUse).toBe(2)
  })

  it("frames wrap around the ring end; drain gives back every buffer, done or posted", () => {
    const pool = BufferPool.make({ count: 16, size: 2048 })
    const ring = ringWith(6, 6, pool)
    const frames = [frameOf(3000, 1), frameOf(3000, 2), frameOf(3000, 3)]
    for (const f of frames) {
      expect(typeof ring.dma(f)).toBe("object")
      const p = ring.take()
      expect(p?.toUint8Array()).toEqual(f)
      p?.release()
      for (let i = ring.free; i > 0; i--) {
        const b = pool.acquire()
        if (!(b instanceof PacketBuffer)) throw new Error("pool exhausted")
        b.reserve(HEADROOM)
        ring.post(b)
      }
    }
    expect(typeof ring.dma(frameOf(3000, 4))).toBe("object")
    const drained = ring.drain()
    expect(drained).toHaveLength(6)
    for (const b of drained) b.release()
    expect(pool.stats().inUse).toBe(0)
  })
})
