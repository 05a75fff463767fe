/**
 * An interrupt line on its own: a handler installed with `handle` runs at
 * each raise while the line is unmasked, in the raiser's turn; raises while
 * masked are held and delivered once at unmask; without a handler a fiber
 * waiting on `next` takes them, and a raise with no fiber waiting is kept
 * for the next one.
 */
import { describe, expect, it } from "@effect/vitest"
import { IrqLine } from "@netstack/device"
import { Effect, Fiber } from "effect"

describe("IrqLine", () => {
  it("calls its handler at the raise; raises while masked are held and delivered once at unmask", () => {
    const line = new IrqLine("eth0-TxRx-0")
    const calls: Array<string> = []
    line.handle(() => {
      calls.push("irq")
      line.mask()
    })
    line.raise()
    // In the raiser's turn: the handler has run before raise returns.
    expect(calls).toEqual(["irq"])
    line.raise()
    line.raise()
    expect({ calls: calls.length, delivered: line.delivered, held: line.heldWhileMasked }).toEqual({ calls: 1, delivered: 1, held: 2 })
    line.unmask()
    expect({ calls: calls.length, delivered: line.delivered, masked: line.isMasked }).toEqual({ calls: 2, delivered: 2, masked: true })
    line.unmask()
    // Nothing was held since: unmasking delivers nothing.
    expect(calls).toHaveLength(2)
  })

  it.effect("without a handler, a fiber waiting on next takes the interrupt; handle(undefined) gives them back to it", () =>
    Effect.gen(function*() {
      const line = new IrqLine("eth0-TxRx-0")
      let handled = 0
      line.handle(() => void handled++)
      line.raise()
      line.handle(undefined)
      const waiter = yield* Effect.forkChild(line.next)
      yield* Effect.yieldNow
      line.raise()
      yield* Fiber.join(waiter)
      expect({ handled, delivered: line.delivered }).toEqual({ handled: 1, delivered: 2 })
      // No fiber waits: the raise is kept, and the next wait takes it at once.
      line.raise()
      yield* line.next
      expect({ handled, delivered: line.delivered }).toEqual({ handled: 1, delivered: 3 })
    }))
})
