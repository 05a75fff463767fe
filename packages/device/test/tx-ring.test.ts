/**
 * The transmit ring on its own: packets come back to the driver in order
 * when cleaned; a descriptor whose packet was handed on (`handOn`) is
 * cleaned on the way with nothing to release, and gives its sender the
 * charge back then, or at drain.
 */
import { describe, expect, it } from "@effect/vitest"
import { PacketBuffer, type TxOwner } from "@netstack/buffers"
import { TxRing } from "@netstack/device"

/** A sender that records the charges it gets back. */
const sender = (): TxOwner & { readonly back: Array<number> } => {
  const back: Array<number> = []
  return { back, txDone: (charge) => void back.push(charge) }
}

describe("TxRing", () => {
  it("cleans handed-on descriptors on the way to the next packet, giving their senders the charge back then", () => {
    const ring = new TxRing(4)
    const owner = sender()
    const kept = PacketBuffer.wrap(new Uint8Array(60))
    for (const p of [PacketBuffer.wrap(new Uint8Array(60)), kept, PacketBuffer.wrap(new Uint8Array(60))]) ring.fill(p)
    ring.handOn(owner, 100)
    ring.complete()
    ring.handOn(owner, 300)
    // Handed on, not yet cleaned: no charge back.
    expect({ done: ring.done, ready: ring.ready, back: owner.back }).toEqual({ done: 3, ready: 0, back: [] })
    expect(ring.clean()).toBe(kept)
    expect(owner.back).toEqual([100])
    expect(ring.clean()).toBeUndefined()
    expect({ back: owner.back, cleaned: ring.cleaned, free: ring.free }).toEqual({ back: [100, 300], cleaned: 3, free: 4 })
  })

  it("gives a handed-on descriptor's charge back at drain too, and only once", () => {
    const ring = new TxRing(2)
    const owner = sender()
    ring.fill(PacketBuffer.wrap(new Uint8Array(60)))
    ring.handOn(owner, 42)
    expect(ring.drain()).toEqual([])
    expect(owner.back).toEqual([42])
    expect(ring.clean()).toBeUndefined()
    expect(owner.back).toEqual([42])
  })
})
