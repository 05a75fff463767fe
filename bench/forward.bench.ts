/**
 * Forwarding benchmark: 64-byte frames (60 bytes without the FCS, RFC 2544's
 * smallest) forwarded by a router host: medium → NIC → NAPI → Ethernet →
 * IPv4 (validate, route, TTL and checksum update, neighbour) → qdisc →
 * driver xmit → NIC transmit → medium. Its baseline, measured in the same
 * run, is the device/driver benchmark's path (medium → NIC → NAPI → a
 * handler that drops the frame): the ratio says what L2 and L3 add on top.
 */
import { ipv4PseudoHeaderSum, PacketBuffer } from "@netstack/buffers"
import type { FrameReceiver, MediumPort } from "@netstack/device"
import { Network } from "@netstack/stack"
import { emitEthernet, emitIpv4, emitUdp, ipv4FromString } from "@netstack/wire"
import { Deferred, Effect } from "effect"
import { throughNapi } from "./driver.bench.ts"
import { compare, type Measurement, type SuiteResult } from "./harness.ts"

const BURST = 256
const FRAMES = 200_000
const ROUTER_IN = 0x020000000001
const ROUTER_OUT = 0x020000000002
const SOURCE = ipv4FromString("10.0.1.1") ?? 0
const DESTINATION = ipv4FromString("10.0.2.1") ?? 0

/** A 60-byte UDP frame from 10.0.1.1 to 10.0.2.1, addressed to the router's MAC. */
const frameBytes = (): Uint8Array => {
  const payload = 60 - 42
  const buffer = PacketBuffer.fromBytes(new Uint8Array(payload), 64)
  emitUdp(buffer, { sourcePort: 1024, destinationPort: 9 }, {
    mode: "full",
    pseudoHeaderSum: ipv4PseudoHeaderSum(SOURCE, DESTINATION, 17, 8 + payload)
  })
  emitIpv4(buffer, {
    dscp: 0, ecn: 0, identification: 0, reservedFlag: false, dontFragment: false, moreFragments: false,
    fragmentOffset: 0, ttl: 64, protocol: 17, source: SOURCE, destination: DESTINATION
  })
  emitEthernet(buffer, { destination: ROUTER_IN, source: 0x020000000010, etherType: 0x0800 })
  return buffer.toUint8Array()
}

/** Frames/s forwarded by a router host (real clock, real fibers), default NIC and stack settings. */
export const forwarding = (frames = FRAMES): Promise<Measurement> =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function*() {
        const router = yield* Network.make().router("r")
        const inside = yield* router.addInterface({ mac: ROUTER_IN, rxRingSize: 1024 })
        const outside = yield* router.addInterface({ mac: ROUTER_OUT, txRingSize: 1024 })
        let deliver: FrameReceiver = () => {}
        let forwarded = 0
        let target = 0
        let done = yield* Deferred.make<void>()
        const source: MediumPort = { send: () => {}, attach: (receiver) => void (deliver = receiver) }
        const sink: MediumPort = {
          send: () => {
            if (++forwarded === target) Deferred.doneUnsafe(done, Effect.void)
          },
          attach: () => {}
        }
        router.attach(inside, source)
        router.attach(outside, sink)
        router.addAddress(inside, "10.0.1.254/24")
        router.addAddress(outside, "10.0.2.254/24")
        router.neighbours.addPermanent(outside, DESTINATION, 0x020000000020)
        const frame = frameBytes()
        const run = (count: number) =>
          Effect.gen(function*() {
            for (let sent = 0; sent < count; sent += BURST) {
              target = forwarded + BURST
              done = yield* Deferred.make<void>()
              for (let i = 0; i < BURST; i++) deliver(frame)
              yield* Deferred.await(done)
            }
          })
        yield* run(20_000) // warm up
        const t0 = performance.now()
        yield* run(frames)
        const ns = ((performance.now() - t0) * 1e6) / frames
        const dropped = router.link.drops.total
        if (dropped > 0) return yield* Effect.die(`router dropped ${dropped} frames: ${JSON.stringify(router.link.drops.snapshot())}`)
        return { name: "router host: medium → NIC → NAPI → L2 → IPv4 forward → neighbour → qdisc → xmit → medium, 64 B", nsPerOp: ns }
      })
    )
  )

/** Runs the forwarding suite: router and driver path alternated, the median of five of each. */
export const forwardSuite = async (): Promise<SuiteResult> => {
  const router: Array<Measurement> = []
  const driver: Array<Measurement> = []
  for (let i = 0; i < 5; i++) {
    driver.push(await throughNapi(64))
    router.push(await forwarding())
  }
  const median = (ms: Array<Measurement>): Measurement => {
    const sorted = [...ms].sort((a, b) => a.nsPerOp - b.nsPerOp)
    return sorted[Math.floor(sorted.length / 2)] ?? ms[0] ?? { name: "none", nsPerOp: Number.NaN }
  }
  const subject = median(router)
  const baseline = median(driver)
  const rate = 1e3 / subject.nsPerOp
  return {
    rows: [compare("forward", subject, baseline)],
    notes: [
      `forward: ${rate.toFixed(2)} M frames/s of 64 B through a router host (target ≥ 1 M/s: ${rate >= 1 ? "met" : "MISSED"}); ` +
      `the driver path alone ${(1e3 / baseline.nsPerOp).toFixed(2)} M/s, so L2 + L3 + transmit cost ${(subject.nsPerOp - baseline.nsPerOp).toFixed(0)} ns a frame`
    ]
  }
}
