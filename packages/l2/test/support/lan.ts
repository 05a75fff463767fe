/**
 * Test fixture: link layers of several "hosts", each with one or more
 * Ethernet interfaces (simulated NIC + driver + EthernetDevice), joined by
 * wires or a hub. Everything runs in the current scope under the current
 * clock (TestClock in `it.effect`).
 */
import type { PacketBuffer } from "@netstack/buffers"
import { type Impairments, Nic, type NicOptions, Wire } from "@netstack/device"
import { Driver, ReceiveHandler, Softirq, type SoftirqShape } from "@netstack/driver"
import { Effect, type Scope } from "effect"
import { EthernetDevice, LinkLayer, TimerQueue } from "@netstack/l2"

/** One host's link layer and its timers. */
export interface TestHost {
  readonly link: LinkLayer
  readonly timers: TimerQueue
  readonly softirq: SoftirqShape
}

/** A host with a link layer, timers and one softirq. */
export const makeHost = (): Effect.Effect<TestHost, never, Scope.Scope> =>
  Effect.gen(function*() {
    return { link: yield* LinkLayer.make(), timers: yield* TimerQueue.make(), softirq: yield* Softirq.make() }
  })

/** Adds an Ethernet interface to `host` (NIC + driver + device, registered with the link layer). */
export const addInterface = (
  host: TestHost,
  options: Partial<NicOptions> & { readonly mac: number }
): Effect.Effect<EthernetDevice, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const ifindex = host.link.allocateIfindex()
    const nic = yield* Nic.make({ name: `eth${ifindex - 1}`, ifindex, ...options })
    let device: EthernetDevice | undefined = undefined
    const driver = yield* Driver.make().pipe(
      Effect.provideService(Nic, nic),
      Effect.provideService(Softirq, host.softirq),
      Effect.provideService(ReceiveHandler, {
        receive: (p: PacketBuffer) => (device === undefined ? p.release() : host.link.receive(device, p))
      })
    )
    device = yield* EthernetDevice.make(driver, ifindex)
    host.link.register(device)
    return device
  })

/** Joins two interfaces with a wire (optionally impaired). */
export const connect = (a: EthernetDevice, b: EthernetDevice, impairments?: Impairments) =>
  Effect.gen(function*() {
    const wire = yield* Wire.make(impairments === undefined ? {} : { impairments })
    a.driver.nic.attach(wire.a)
    b.driver.nic.attach(wire.b)
    return wire
  })

/** Lets every runnable fiber run without moving the clock. */
export const settle: Effect.Effect<void> = Effect.gen(function*() {
  for (let i = 0; i < 50; i++) yield* Effect.yieldNow
})
