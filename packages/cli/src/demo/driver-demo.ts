/**
 * The device and driver part of `netstack demo`: two NICs joined by a wire
 * with 1 ms of delay and 2 % loss, on a simulation clock so every run prints
 * the same. Host A sends 1000 UDP datagrams in 32 flows; host B's NIC spreads
 * them over 4 receive queues with RSS and coalesces interrupts; then one
 * packet is traced from A's xmit to B's handler.
 */
import { ipv4PseudoHeaderSum, PacketBuffer } from "@netstack/buffers"
import {
  CurrentNetTrace,
  formatTrace,
  NetTrace,
  Nic,
  type NicOptions,
  RSS_HASH_TYPES_ALL,
  rssQueueSelector,
  Wire
} from "@netstack/device"
import { Driver, ReceiveHandler, Softirq } from "@netstack/driver"
import { emitEthernet, emitIpv4, emitUdp } from "@netstack/wire"
import { Clock, Duration, Effect, Random } from "effect"
import { TestClock } from "effect/testing"

const A = 0x020000000001
const B = 0x020000000002

/** A datagram of flow `flow` from 10.0.0.1 to 10.0.0.2. */
const datagram = (flow: number, sequence: number): PacketBuffer => {
  const buffer = PacketBuffer.fromBytes(new Uint8Array(64).fill(sequence & 0xff), 128)
  emitUdp(buffer, { sourcePort: 40000 + flow, destinationPort: 9 }, {
    mode: "partial",
    pseudoHeaderSum: ipv4PseudoHeaderSum(0x0a000001, 0x0a000002, 17, 72)
  })
  emitIpv4(buffer, {
    dscp: 0, ecn: 0, identification: sequence, reservedFlag: false, dontFragment: true, moreFragments: false,
    fragmentOffset: 0, ttl: 64, protocol: 17, source: 0x0a000001, destination: 0x0a000002
  })
  emitEthernet(buffer, { destination: B, source: A, etherType: 0x0800 })
  return buffer
}

/** One host's NIC and driver; `received` counts what its handler got. */
const host = (options: NicOptions) =>
  Effect.gen(function*() {
    const nic = yield* Nic.make(options)
    const softirq = yield* Softirq.make()
    const received = { count: 0 }
    const driver = yield* Driver.make().pipe(
      Effect.provideService(Nic, nic),
      Effect.provideService(Softirq, softirq),
      Effect.provideService(ReceiveHandler, {
        receive: (p: PacketBuffer) => {
          received.count++
          p.release()
        }
      })
    )
    return { nic, softirq, driver, received }
  })

const program = Effect.gen(function*() {
  const lines: Array<string> = []
  const trace = yield* CurrentNetTrace
  const a = yield* host({ name: "a0", mac: A, ifindex: 1 })
  const b = yield* host({ name: "b0", mac: B, ifindex: 1, rxQueues: 4, coalescing: { rxUsecs: 50 } })
  const wire = yield* Wire.make({ impairments: { delay: Duration.millis(1), loss: 0.02 } })
  a.nic.attach(wire.a)
  b.nic.attach(wire.b)
  // Hash UDP by ports too (`ethtool -N b0 rx-flow-hash udp4 sdfn`): the flows share one address pair.
  b.nic.setQueueSelector(rssQueueSelector({ queues: 4, types: RSS_HASH_TYPES_ALL }))

  lines.push("== device + driver: host a sends 1000 datagrams in 32 flows over a wire (1 ms, 2 % loss)")
  for (let i = 0; i < 1000; i++) {
    if (a.driver.xmit(datagram(i % 32, i)) !== "sent") lines.push(`  datagram ${i}: queue busy`)
    yield* TestClock.adjust("0.005 millis")
  }
  yield* TestClock.adjust("100 millis")
  const w = wire.counters("aToB")
  const rx = b.nic.stats()
  lines.push(`  wire a→b: sent ${w.sent}, delivered ${w.delivered}, lost ${w.lost}`)
  lines.push(`  b0 rx_packets ${rx.rx_packets}, rx_missed_errors ${rx.rx_missed_errors}; handler got ${b.received.count}`)
  lines.push(`  RSS (UDP by 4-tuple) spread 32 flows over 4 queues: ${[0, 1, 2, 3].map((q) => rx[`rx_queue_${q}_packets`] ?? 0).join(" / ")}`)
  const interrupts = b.nic.irqs.reduce((n, l) => n + l.delivered, 0)
  lines.push(`  interrupts with rx-usecs 50 (4 queues, one line each): ${interrupts} for ${rx.rx_packets} frames; NAPI polls ${b.softirq.stats.polls}`)
  lines.push(`  a0 tx: ${a.nic.stats().tx_packets} packets, checksums completed by the NIC (tx offload); completions cleaned ${a.driver.stats.txCompleted}`)

  lines.push("== one packet's path (tracepoints on; the frame is packet #1 on a0, then a new buffer, #2, on b0)")
  trace.enable(yield* Clock.Clock)
  wire.setImpairments("both", { delay: Duration.millis(1) })
  a.driver.xmit(datagram(0, 1000))
  yield* TestClock.adjust("10 millis")
  lines.push(...formatTrace(trace.records()).split("\n").map((l) => `  ${l}`))
  return lines
})

/** Runs the device and driver demo on a simulation clock with a fixed seed; returns its report. */
export const driverDemo: Effect.Effect<ReadonlyArray<string>, unknown> = Effect.suspend(() =>
  program.pipe(Effect.provideService(CurrentNetTrace, new NetTrace()))
).pipe(
  Effect.scoped,
  Random.withSeed(2026),
  Effect.provide(TestClock.layer())
)
