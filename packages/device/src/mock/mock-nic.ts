/**
 * A mock NIC for driver tests, swapped in by Layer: the same rings and
 * interrupt lines a driver programs, but no medium, RSS, coalescing or
 * offload engines. A test injects frames (DMA'd into queue 0 and announced by
 * an interrupt at once) and reads back what the driver transmitted.
 */
import { Context, Effect, Layer, PubSub, type Scope } from "effect"
import { IrqLine } from "../irq/irq-line.ts"
import { InvalidNicConfig, type NicOptions, resolveNicConfig } from "../nic/config.ts"
import { Nic, type NicDevice, SINGLE_QUEUE } from "../nic/nic.ts"
import { NicErrorStats, RxQueueStats, snapshotStats, TxQueueStats } from "../nic/stats.ts"
import { RxRing } from "../ring/rx-ring.ts"
import { TxRing } from "../ring/tx-ring.ts"

/** What a test does with a mock NIC. */
export interface MockNicControlShape {
  /** Delivers `frame` as if it had arrived on the wire; false when no rx buffer was posted (counted missed). */
  readonly inject: (frame: Uint8Array) => boolean
  /** Every frame the driver transmitted, in order (bytes as the device read them). */
  readonly transmitted: Array<Uint8Array>
}

/** The control side of the mock NIC in context. */
export class MockNicControl extends Context.Service<MockNicControl, MockNicControlShape>()("@netstack/device/MockNicControl") {}

const makeMock = (
  options: NicOptions
): Effect.Effect<{ readonly device: NicDevice; readonly control: MockNicControlShape }, InvalidNicConfig, Scope.Scope> =>
  Effect.gen(function*() {
    const resolved = resolveNicConfig({ ...options, rxQueues: 1, txQueues: 1 })
    if (resolved instanceof InvalidNicConfig) return yield* resolved
    const config = resolved
    const irq = new IrqLine(`${config.name}-mock`)
    const errors = new NicErrorStats()
    const rxStats = new RxQueueStats()
    const txStats = new TxQueueStats()
    const rxRing = new RxRing(config.rxRingSize)
    const txRing = new TxRing(config.txRingSize)
    const transmitted: Array<Uint8Array> = []
    let linkUp = true
    const carrier = yield* PubSub.unbounded<{ readonly up: boolean; readonly time: number }>()

    const inject = (frame: Uint8Array): boolean => {
      const written = rxRing.dma(frame)
      if (typeof written === "string") {
        errors.rxMissedErrors++
        rxStats.missed++
        return false
      }
      written.meta.inputInterface = config.ifindex
      rxStats.packets++
      rxStats.bytes += frame.length
      irq.raise()
      return true
    }

    const kick = (): void => {
      let sent = 0
      for (let packet = txRing.peek(); packet !== undefined; packet = txRing.peek()) {
        transmitted.push(packet.toUint8Array())
        txStats.packets++
        txStats.bytes += packet.length
        txStats.wireFrames++
        txRing.complete()
        sent++
      }
      if (sent > 0) irq.raise()
    }

    const device: NicDevice = {
      config,
      name: config.name,
      mac: config.mac,
      mtu: config.mtu,
      offloads: config.offloads,
      rx: [{ index: 0, ring: rxRing, irq, stats: rxStats }],
      tx: [{ index: 0, ring: txRing, irq, stats: txStats, kick }],
      irqs: [irq],
      linkUp: () => linkUp,
      setLink: (up) => {
        linkUp = up
        PubSub.publishUnsafe(carrier, { up, time: 0 })
      },
      carrier,
      attach: () => {},
      receive: (frame) => void inject(frame),
      setCoalescing: () => undefined,
      setOffloads: () => {},
      setQueueSelector: () => void SINGLE_QUEUE,
      errors,
      stats: () => snapshotStats([rxStats], [txStats], errors, [irq.delivered])
    }
    return { device, control: { inject, transmitted } }
  })

/** A mock NIC: provides `Nic` (for the driver) and `MockNicControl` (for the test). */
export const MockNic = {
  make: makeMock,
  layer: (options: NicOptions) =>
    Layer.effectContext(
      Effect.map(makeMock(options), ({ control, device }) =>
        Context.make(Nic, device).pipe(Context.add(MockNicControl, control))
      )
    )
} as const
