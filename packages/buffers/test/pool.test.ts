/**
 * The buffer pool against a model: it never hands out a slot that is in use,
 * counts every state, refuses double releases without corrupting itself, and
 * returns a slot only when its last clone is released.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { BufferPool, DoubleRelease, PacketBuffer, PoolExhausted } from "@netstack/buffers"

type Step =
  | { readonly op: "acquire" }
  | { readonly op: "clone"; readonly pick: number }
  | { readonly op: "write"; readonly pick: number }
  | { readonly op: "release"; readonly pick: number }
  | { readonly op: "releaseAgain"; readonly pick: number }

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ op: "acquire" as const }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("clone" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("write" as const), pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("release" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("releaseAgain" as const), pick: fc.nat() }) }
)

describe("BufferPool", () => {
  it("never hands out a slot in use, grows up to maxCount, and counts acquires, releases, exhaustion and double releases", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.nat({ max: 4 }), fc.array(stepArb, { maxLength: 60 }), (count, extra, steps) => {
        const capacity = count + extra
        const pool = BufferPool.make({ count, size: 64, maxCount: capacity })
        const live: Array<PacketBuffer> = []
        const dead: Array<PacketBuffer> = []
        let acquired = 0
        let exhausted = 0
        let doubleReleases = 0
        let highWater = 0
        let returned = 0
        const slotsInUse = () => new Set(live.map((b) => b.sharedStorage).filter((s) => s.owner === pool))
        for (const step of steps) {
          const before = slotsInUse()
          switch (step.op) {
            case "acquire": {
              const b = pool.acquire()
              if (before.size === capacity) {
                expect(b).toBeInstanceOf(PoolExhausted)
                exhausted++
              } else {
                if (!(b instanceof PacketBuffer)) throw new Error("acquire failed with a free slot")
                expect(before.has(b.sharedStorage)).toBe(false)
                expect([b.data, b.tail, b.end]).toEqual([0, 0, 64])
                live.push(b)
                acquired++
              }
              break
            }
            case "clone": {
              const b = live[step.pick % Math.max(live.length, 1)]
              if (b === undefined) break
              const c = b.clone()
              if (!(c instanceof PacketBuffer)) throw new Error("clone of a live buffer failed")
              live.push(c)
              break
            }
            case "write": {
              const b = live[step.pick % Math.max(live.length, 1)]
              if (b === undefined || b.tailroom === 0) break
              b.put(1)
              b.setUint8(b.headLength - 1, 0xaa)
              break
            }
            case "release": {
              const i = step.pick % Math.max(live.length, 1)
              const b = live[i]
              if (b === undefined) break
              expect(pool.release(b)).toBeUndefined()
              live.splice(i, 1)
              dead.push(b)
              break
            }
            case "releaseAgain": {
              const b = dead[step.pick % Math.max(dead.length, 1)]
              if (b === undefined) break
              expect(pool.release(b)).toBeInstanceOf(DoubleRelease)
              doubleReleases++
              break
            }
          }
          const after = slotsInUse()
          returned += [...before].filter((s) => !after.has(s)).length
          highWater = Math.max(highWater, after.size)
          // a pool grows only when every slot it holds is in use: it holds max(count, highWater) slots
          const holds = Math.max(count, highWater)
          expect(pool.stats()).toEqual({
            capacity: holds,
            grown: holds - count,
            bufferSize: 64,
            inUse: after.size,
            highWater,
            acquired,
            released: returned,
            exhausted,
            doubleReleases
          })
        }
      }),
      { numRuns: 300 }
    )
  })

  it("detects a storage released past zero and keeps its free list intact", () => {
    const pool = BufferPool.make({ count: 2, size: 32 })
    const a = pool.acquire()
    if (!(a instanceof PacketBuffer)) throw new Error("acquire failed")
    const storage = a.sharedStorage
    a.release()
    expect(storage.release()).toBeInstanceOf(DoubleRelease)
    expect(pool.stats()).toMatchObject({ inUse: 0, released: 1, doubleReleases: 1 })
    const b = pool.acquire()
    const c = pool.acquire()
    expect(b).toBeInstanceOf(PacketBuffer)
    expect(c).toBeInstanceOf(PacketBuffer)
    expect(pool.acquire()).toBeInstanceOf(PoolExhausted)
    if (b instanceof PacketBuffer && c instanceof PacketBuffer) expect(b.sharedStorage).not.toBe(c.sharedStorage)
  })
})
