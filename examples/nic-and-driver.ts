import assert from "node:assert/strict"
import { PacketBuffer } from "@netstack/buffers"
import { Nic, Wire } from "@netstack/device"
import { Driver, ReceiveHandler, Softirq } from "@netstack/driver"
import { Context, Duration, Effect, Layer } from "effect"

// One host: a simulated NIC, the NET_RX softirq, and a driver handing packets to a handler.
const host = (mac: number, onPacket: (p: PacketBuffer) => void) =>
  Layer.build(
    Driver.layer().pipe(
      Layer.provideMerge(Layer.mergeAll(
        Nic.layer({ mac, coalescing: { rxUsecs: 50 } }), // interrupt at most every 50 µs
        Softirq.layer(), // netdev_budget 300, NAPI weight 64
        Layer.succeed(ReceiveHandler, { receive: onPacket })
      ))
    )
  )

const program = Effect.gen(function*() {
  const received: Array<Uint8Array> = []
  const a = yield* host(0x020000000001, (p) => p.release())
  const b = yield* host(0x020000000002, (p) => {
    received.push(p.toUint8Array())
    p.release() // the handler owns each packet; releasing returns the buffer to the rx pool
  })
  // A wire joins the two NICs like a veth pair, here with 1 ms of delay.
  const wire = yield* Wire.make({ impairments: { delay: Duration.millis(1) } })
  Context.get(a, Nic).attach(wire.a)
  Context.get(b, Nic).attach(wire.b)

  const frame = Uint8Array.of(2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x88, 0xb5, ...new Array(50).fill(0))
  assert.equal(Context.get(a, Driver).xmit(PacketBuffer.fromBytes(frame)), "sent")
  yield* Effect.sleep("20 millis")
  assert.deepEqual(received, [frame]) // tx ring → wire → rx ring (DMA) → interrupt → NAPI → handler
  assert.equal(Context.get(b, Nic).stats().rx_packets, 1)
})

await Effect.runPromise(Effect.scoped(program))
