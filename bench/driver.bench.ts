/**
 * Driver benchmark: frames per second from the medium through the NIC
 * (DMA into posted buffers, interrupt) and NAPI (poll, refill, handler) to a
 * trivial handler, at NAPI batch sizes (weights) 1, 8 and 64, against a plain
 * array loop that copies each frame and calls the handler, in the same run.
 */
import { PacketBuffer } from "@netstack/buffers"
import { Nic } from "@netstack/device"
import { Driver, ReceiveHandler, Softirq } from "@netstack/driver"
import { Deferred, Effect } from "effect"
import { compare, type Comparison, type Measurement, type SuiteResult } from "./harness.ts"
import { udpFrameBytes } from "./frames.ts"

const BURST = 256
const FRAMES = 200_000

/** Frames/s through NIC + NAPI with NAPI weight `weight` (real clock, real fibers). */
export const throughNapi = (weight: number): Promise<Measurement> =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function*() {
        const frame = udpFrameBytes(64)
        let received = 0
        let target = 0
        let done = yield* Deferred.make<void>()
        const handler = {
          receive: (p: PacketBuffer) => {
            p.release()
            received++
            if (received === target) Deferred.doneUnsafe(done, Effect.void)
          }
        }
        const nic = yield* Nic.make({ mac: 1, rxRingSize: 1024, offloads: { rxChecksum: false } })
        const softirq = yield* Softirq.make({ weight, budget: 300 })
        yield* Driver.make({ gro: (b) => b }).pipe(
          Effect.provideService(Nic, nic),
          Effect.provideService(Softirq, softirq),
          Effect.provideService(ReceiveHandler, handler)
        )
        const run = (count: number) =>
          Effect.gen(function*() {
            for (let sent = 0; sent < count; sent += BURST) {
              target = received + BURST
              done = yield* Deferred.make<void>()
              for (let i = 0; i < BURST; i++) nic.receive(frame)
              yield* Deferred.await(done)
            }
          })
        yield* run(20_000) // warm up
        const t0 = performance.now()
        yield* run(FRAMES)
        const ns = ((performance.now() - t0) * 1e6) / FRAMES
        return { name: `medium → NIC → NAPI (weight ${weight}) → handler, 64 B frames`, nsPerOp: ns }
      })
    )
  )

/** The same work as a plain loop: copy each frame into a buffer (the DMA) and call the handler. */
const plainLoop = (): Measurement => {
  const frame = udpFrameBytes(64)
  const buffers = Array.from({ length: 1024 }, () => new Uint8Array(2048))
  let sink = 0
  const handler = (b: Uint8Array) => {
    sink += b[12]
  }
  const run = (count: number) => {
    for (let i = 0; i < count; i++) {
      const b = buffers[i & 1023]
      b.set(frame, 64)
      handler(b)
    }
  }
  run(20_000)
  const t0 = performance.now()
  run(FRAMES)
  const ns = ((performance.now() - t0) * 1e6) / FRAMES
  if (sink === -1) console.log(sink)
  return { name: "plain array loop: copy frame, call handler", nsPerOp: ns }
}

/** Runs the driver suite. */
export const driverSuite = async (): Promise<SuiteResult> => {
  const rows: Array<Comparison> = []
  const baseline = plainLoop()
  const rates: Array<string> = []
  for (const weight of [1, 8, 64]) {
    const m = await throughNapi(weight)
    rows.push(compare("driver", m, baseline))
    rates.push(`weight ${weight}: ${(1e3 / m.nsPerOp).toFixed(2)} M frames/s`)
  }
  return { rows, notes: [`driver: medium → NIC → NAPI → handler, ${rates.join("; ")} (plain loop ${(1e3 / baseline.nsPerOp).toFixed(1)} M/s)`] }
}
