/**
 * Interrupt coalescing, as `ethtool -C` sets it: after a received frame the
 * device waits up to `rx-usecs` for more before interrupting, or interrupts at
 * once when `rx-frames` frames are waiting; a transmit completion waits
 * `tx-usecs` (e1000's TxIntDelay). Zero means no wait. Timers are fibers
 * sleeping on the stack's `Clock`, so coalescing is exact under `TestClock`.
 */
import { Effect, Latch, type Scope } from "effect"
import { micros } from "../time.ts"
import type { IrqLine } from "./irq-line.ts"

/** Coalescing settings of one interrupt line (ethtool -C names). */
export interface CoalescingSettings {
  /** Microseconds to wait after a received frame before interrupting; 0: no wait. */
  readonly rxUsecs: number
  /** Interrupt once this many received frames are waiting; 0: no frame threshold. */
  readonly rxFrames: number
  /** Microseconds to delay a transmit-completion interrupt; 0: no delay. */
  readonly txUsecs: number
}

/** No coalescing: an interrupt per event. */
export const NO_COALESCING: CoalescingSettings = { rxUsecs: 0, rxFrames: 0, txUsecs: 0 }

/** A one-shot timer: `arm` starts it unless already running; when it expires it calls `expire` unless cancelled. */
class OneShotTimer {
  private armed = false
  private generation = 0
  private readonly start: Latch.Latch = Latch.makeUnsafe(false)
  private readonly usecs: () => number
  private readonly expire: () => void

  constructor(usecs: () => number, expire: () => void) {
    this.usecs = usecs
    this.expire = expire
  }

  arm(): void {
    if (this.armed) return
    this.armed = true
    Latch.openUnsafe(this.start)
  }

  cancel(): void {
    if (!this.armed) return
    this.armed = false
    this.generation++
  }

  /** The timer's fiber body: wait to be armed, sleep, expire unless cancelled meanwhile. */
  run(): Effect.Effect<never> {
    const timer = this
    return Effect.forever(
      Effect.gen(function*() {
        yield* Latch.await(timer.start)
        Latch.closeUnsafe(timer.start)
        const generation = timer.generation
        yield* Effect.sleep(micros(timer.usecs()))
        if (timer.armed && generation === timer.generation) {
          timer.armed = false
          timer.expire()
        }
      }),
      // Idle, it waits on a latch: no yield (a setImmediate hop) after every turn; Effect's budget yields it when busy.
      { disableYield: true }
    )
  }
}

/** The coalescing logic in front of one interrupt line. */
export class Coalescer {
  /** Received frames not yet announced by an interrupt. */
  private waitingFrames = 0
  private settings: CoalescingSettings
  private readonly line: IrqLine
  private readonly rxTimer: OneShotTimer
  private readonly txTimer: OneShotTimer

  private constructor(line: IrqLine, settings: CoalescingSettings) {
    this.line = line
    this.settings = settings
    this.rxTimer = new OneShotTimer(() => this.settings.rxUsecs, () => this.fire())
    this.txTimer = new OneShotTimer(() => this.settings.txUsecs, () => this.fire())
  }

  /** A coalescer for `line`, its timer fibers running in the current scope. */
  static make(line: IrqLine, settings: CoalescingSettings): Effect.Effect<Coalescer, never, Scope.Scope> {
    return Effect.gen(function*() {
      const coalescer = new Coalescer(line, settings)
      yield* Effect.forkScoped(coalescer.rxTimer.run())
      yield* Effect.forkScoped(coalescer.txTimer.run())
      return coalescer
    })
  }

  /** The current settings. */
  get current(): CoalescingSettings {
    return this.settings
  }

  /** Changes the settings (`ethtool -C`); takes effect from the next event. */
  configure(settings: CoalescingSettings): void {
    this.settings = settings
  }

  /** A frame was written to the rx ring. */
  rxEvent(): void {
    this.waitingFrames++
    const { rxFrames, rxUsecs } = this.settings
    if ((rxFrames > 0 && this.waitingFrames >= rxFrames) || (rxFrames === 0 && rxUsecs === 0)) this.fire()
    else if (rxUsecs > 0) this.rxTimer.arm()
  }

  /** A transmit descriptor was completed. */
  txEvent(): void {
    if (this.settings.txUsecs === 0) this.fire()
    else this.txTimer.arm()
  }

  /** Raises the line now and resets the counts and timers. */
  private fire(): void {
    this.waitingFrames = 0
    this.rxTimer.cancel()
    this.txTimer.cancel()
    this.line.raise()
  }
}
