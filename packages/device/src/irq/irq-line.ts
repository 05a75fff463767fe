/**
 * An interrupt line (one MSI-X vector of a queue). The device raises it; the
 * driver's handler takes it, masks it and schedules NAPI, and NAPI unmasks
 * it when it has caught up. A raise while masked is held as pending and
 * delivered at unmask, as a NIC keeps its interrupt cause register set.
 *
 * The handler is either a function registered with `handle` (what
 * `request_irq` installs: it runs in the raiser's own turn, as a hard IRQ
 * preempts whatever the CPU was doing) or a fiber waiting on `next`.
 */
import { Effect, Latch } from "effect"

/** An interrupt line with masking and counters. */
export class IrqLine {
  /** e.g. `eth0-TxRx-0`, as /proc/interrupts names a vector. */
  readonly name: string
  /** Interrupts delivered to the handler (what /proc/interrupts counts). */
  delivered = 0
  /** Raises that found the line masked and were held (interrupt mitigation at work). */
  heldWhileMasked = 0
  private masked = false
  private pending = false
  private readonly signal: Latch.Latch = Latch.makeUnsafe(false)
  private handler: (() => void) | undefined = undefined

  constructor(name: string) {
    this.name = name
  }

  /** True while the line is masked. */
  get isMasked(): boolean {
    return this.masked
  }

  /**
   * Driver side: `handler` takes every interrupt from now on, called at each
   * raise while the line is unmasked (`request_irq`); it should mask the line
   * until its work is done, so raises meanwhile are held. `undefined` gives
   * the interrupts back to `next` (`free_irq`).
   */
  handle(handler: (() => void) | undefined): void {
    this.handler = handler
  }

  /** Device side: raise the interrupt. Raises before a waiting fiber runs collapse into one delivery. */
  raise(): void {
    if (this.masked) {
      this.heldWhileMasked++
      this.pending = true
      return
    }
    const handler = this.handler
    if (handler !== undefined) {
      this.delivered++
      return handler()
    }
    if (Latch.isOpen(this.signal)) return
    this.delivered++
    Latch.openUnsafe(this.signal)
  }

  /** Handler side, without a `handle` function: waits for the next interrupt and takes it. */
  readonly next: Effect.Effect<void> = Effect.suspend(() => Latch.await(this.signal)).pipe(
    Effect.andThen(Effect.sync(() => void Latch.closeUnsafe(this.signal)))
  )

  /** Masks the line: raises are held until `unmask`. */
  mask(): void {
    this.masked = true
  }

  /** Unmasks the line, delivering a raise held while it was masked. */
  unmask(): void {
    this.masked = false
    if (this.pending) {
      this.pending = false
      this.raise()
    }
  }
}
