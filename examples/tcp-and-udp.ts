import assert from "node:assert/strict"
import { Network } from "@netstack/stack"
import { ipv4FromString } from "@netstack/wire"
import { Duration, Effect, Fiber, Random } from "effect"

// Two hosts on one wire that loses 2 % of the frames each way and delays them by 1 ms.
const program = Effect.gen(function*() {
  const net = Network.make()
  const a = yield* net.host("a")
  const b = yield* net.host("b")
  const impairments = { delay: Duration.millis(1), loss: 0.02 }
  yield* net.link(a, b, { a: "10.0.0.1/24", b: "10.0.0.2/24", impairments })

  // TCP: b echoes what it reads until a's FIN, then closes its side.
  const listener = yield* b.listen(7)
  yield* Effect.forkChild(Effect.scoped(Effect.gen(function*() {
    const connection = yield* listener.accept
    for (;;) {
      const chunk = yield* connection.read()
      if (chunk === undefined) break // the peer's FIN
      yield* connection.write(chunk)
    }
    yield* connection.close()
  })))

  const connection = yield* a.connect("10.0.0.2", 7)
  const data = Uint8Array.from({ length: 256 * 1024 }, (_, i) => (i * 7) & 0xff)
  const reader = yield* Effect.forkChild(connection.readAll()) // everything until b's FIN
  yield* connection.write(data) // waits while the send buffer is full
  yield* connection.shutdown() // our FIN: half-close, we still read
  const echoed = yield* Fiber.join(reader)
  assert.deepEqual(echoed, data) // every byte, once, in order, despite the losses

  const info = connection.info() // what `ss -ti` shows
  assert.equal(info.mss, 1448) // data per segment: 1500 − 20 (IPv4) − 20 (TCP) − 12 (the timestamps option)
  assert.ok(info.sack && info.timestamps) // negotiated in the handshake (RFC 2018, RFC 7323)
  assert.ok(a.tcp.stats.RetransSegs + b.tcp.stats.RetransSegs > 0) // the losses were repaired by retransmission

  // UDP: an echo server on b; a asks until an answer comes back (the wire may lose either datagram).
  const server = yield* b.udp.bind({ port: 7 })
  yield* Effect.forkChild(Effect.forever(Effect.flatMap(server.receive, (d) => Effect.ignore(server.send(d.data, d.from)))))
  const client = yield* a.udp.bind()
  yield* client.connect(ipv4FromString("10.0.0.2") ?? 0, 7)
  const ask = Effect.andThen(client.send(new TextEncoder().encode("hello")), Effect.timeout(client.receive, "100 millis"))
  const reply = yield* Effect.retry(ask, { times: 10 })
  assert.equal(new TextDecoder().decode(reply.data), "hello")
  assert.equal(reply.from.port, 7)
})

// The wire draws its losses from Effect's Random: seeded, the same frames are lost on every run.
await Effect.runPromise(Effect.scoped(program).pipe(Random.withSeed(6)))
