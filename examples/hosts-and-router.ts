import assert from "node:assert/strict"
import { Network } from "@netstack/stack"
import { Duration, Effect } from "effect"

// Three network namespaces in one process: hosts a and b, and router r between them.
const program = Effect.gen(function*() {
  const net = Network.make()
  const a = yield* net.host("a")
  const r = yield* net.router("r")
  const b = yield* net.host("b")
  const wire = { impairments: { delay: Duration.millis(1) } } // each wire: 1 ms one way
  yield* net.link(a, r, { a: "10.0.1.1/24", b: "10.0.1.254/24", ...wire })
  yield* net.link(r, b, { a: "10.0.2.254/24", b: "10.0.2.1/24", mtu: 576, ...wire }) // a small MTU beyond r
  a.addRoute({ destination: "default", via: "10.0.1.254" })
  b.addRoute({ destination: "default", via: "10.0.2.254" })

  // ping -s 4000: ARP on each link, then a fragments the request for its 1500-byte MTU, r refragments
  // each piece for 576 bytes, b reassembles the whole and answers in 576-byte fragments, a reassembles.
  const reply = yield* a.ping("10.0.2.1", { size: 4000 })
  assert.equal(reply.from, "10.0.2.1")
  assert.equal(reply.bytes, 4008) // 8 bytes of ICMP header and the 4000 bytes of data
  assert.ok(reply.intact) // the same bytes came back
  assert.equal(reply.ttl, 63) // one router on the way back
  assert.equal(a.ipv4.stats.FragCreates, 3) // 1500 + 1500 + 1068 bytes
  assert.equal(r.ipv4.stats.FragOKs, 3) // each of them split again
  assert.equal(b.ipv4.reassembler.stats.ReasmOKs, 1)

  // TTL 1 dies at the router, which says so (ICMP time exceeded, RFC 792).
  const expired = yield* Effect.flip(a.ping("10.0.2.1", { ttl: 1, sequence: 2 }))
  assert.ok(expired._tag === "PingError" && expired.reason === "time-exceeded" && expired.from === "10.0.1.254")
})

await Effect.runPromise(Effect.scoped(program))
