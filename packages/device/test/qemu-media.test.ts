/**
 * QEMU's socket netdevs as media: the stream framing (4-byte big-endian
 * length, then the frame) cut back into frames however the bytes are split
 * or coalesced; two netstack NICs over `-netdev stream` on a Unix socket and
 * on TCP loopback; a raw framing peer in both directions; malformed lengths
 * closing the connection with a counted reason; one client at a time; and
 * `-netdev dgram` (one frame per UDP datagram) on loopback.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { createSocket } from "node:dgram"
import { connect, type Socket } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import {
  framed,
  type NicDevice,
  QEMU_MAX_FRAME,
  QemuDgram,
  QemuStream,
  type StreamAddress,
  StreamDeframer
} from "@netstack/device"
import fc from "fast-check"
import { Effect } from "effect"
import { MAC_A, MAC_B, nicWithBuffers, takeAll, tcpFrame, transportChecksum, udpFrame } from "./support/frames.ts"
import { concatBytes } from "@netstack/test-support"

/** Random frames: 14 to 1514 bytes of seeded bytes. */
const frameArb = fc.uint8Array({ minLength: 14, maxLength: 1514 })

/** Cuts `bytes` at the sorted, distinct `cuts`. */
const chunked = (bytes: Uint8Array, cuts: ReadonlyArray<number>): Array<Uint8Array> => {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  const out: Array<Uint8Array> = []
  let from = 0
  for (const p of [...points, bytes.length]) {
    if (p > from) out.push(bytes.subarray(from, p))
    from = p
  }
  return out
}

/** Waits (real time) until `done()` holds, at most `ms`. */
const eventually = (done: () => boolean, ms = 5000) =>
  Effect.gen(function*() {
    for (let waited = 0; !done() && waited < ms; waited += 5) yield* Effect.sleep("5 millis")
    expect(done()).toBe(true)
  })

/** A scratch directory for Unix sockets, removed with the scope. */
const socketDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "netstack-qemu-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

/** A raw peer: a plain socket to `address`, collecting the frames it reads (its own deframing). */
const rawPeer = (address: StreamAddress) =>
  Effect.acquireRelease(
    Effect.callback<{ socket: Socket; frames: Array<Uint8Array>; closed: () => boolean }>((resume) => {
      const socket = "path" in address ? connect({ path: address.path }) : connect({ host: address.host, port: address.port })
      const frames: Array<Uint8Array> = []
      let pending: Uint8Array = new Uint8Array(0)
      let closed = false
      socket.on("data", (chunk: Uint8Array) => {
        pending = concatBytes([pending, chunk])
        while (pending.length >= 4) {
          const length = ((pending[0] << 24) | (pending[1] << 16) | (pending[2] << 8) | pending[3]) >>> 0
          if (pending.length < 4 + length) break
          frames.push(pending.slice(4, 4 + length))
          pending = pending.slice(4 + length)
        }
      })
      socket.on("close", () => void (closed = true))
      socket.on("error", () => void (closed = true))
      socket.once("connect", () => resume(Effect.succeed({ socket, frames, closed: () => closed })))
    }),
    ({ socket }) => Effect.sync(() => void socket.destroy())
  )

/** Writes `chunks` one by one, letting the event loop turn between them so they tend to arrive as separate reads. */
const writeChunks = (socket: Socket, chunks: ReadonlyArray<Uint8Array>) =>
  Effect.forEach(chunks, (chunk) =>
    Effect.callback<void>((resume) => {
      socket.write(chunk, () => setImmediate(() => resume(Effect.void)))
    }), { discard: true })

describe("stream framing", () => {
  it("gives back every frame however the stream is split or coalesced", () => {
    fc.assert(fc.property(fc.array(frameArb, { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { maxLength: 40 }), (frames, cuts) => {
      const got: Array<Uint8Array> = []
      const deframer = new StreamDeframer(QEMU_MAX_FRAME, (f) => void got.push(f.slice()))
      for (const chunk of chunked(concatBytes(frames.map(framed)), cuts)) expect(deframer.push(chunk)).toBeUndefined()
      expect(got).toEqual(frames)
    }))
  })

  it("stops at a zero length or one over the limit, wherever it falls, and stays stopped", () => {
    fc.assert(fc.property(frameArb, fc.constantFrom(0, QEMU_MAX_FRAME + 1, 0xffffffff), fc.array(fc.nat(), { maxLength: 8 }), (good, bad, cuts) => {
      const got: Array<Uint8Array> = []
      const deframer = new StreamDeframer(QEMU_MAX_FRAME, (f) => void got.push(f.slice()))
      const badPrefix = Uint8Array.of(bad >>> 24, (bad >>> 16) & 0xff, (bad >>> 8) & 0xff, bad & 0xff)
      const defects = chunked(concatBytes([framed(good), badPrefix, framed(good)]), cuts).map((c) => deframer.push(c))
      expect(defects.filter((d) => d !== undefined).at(-1)).toBe(bad === 0 ? "zero-length" : "too-long")
      expect(got).toEqual([good])
    }))
  })
})

/** Two NICs joined by a stream netdev at `address`: one listens, one connects. */
const nicsOverStream = (address: StreamAddress) =>
  Effect.gen(function*() {
    const server = yield* QemuStream.listen(address)
    const client = yield* QemuStream.connect(server.address)
    yield* server.awaitConnected
    const a = yield* nicWithBuffers({ mac: MAC_A })
    const b = yield* nicWithBuffers({ mac: MAC_B })
    a.attach(client)
    b.attach(server)
    return { a, b, server, client }
  })

/** Sends frames from `a`, waits for `b` to have them all; returns b's packets' bytes. */
const exchange = (a: NicDevice, b: NicDevice, count: number) =>
  Effect.gen(function*() {
    const q = a.tx[0]
    for (let i = 0; i < count; i++) q.ring.fill(i % 2 === 0 ? udpFrame(100 + i, "partial") : tcpFrame({ payload: new Uint8Array(1400).fill(i), checksum: "partial", sequence: i }))
    q.kick()
    let got: Array<Uint8Array> = []
    yield* eventually(() => {
      got = got.concat(takeAll(b).map((p) => p.toUint8Array()))
      return got.length >= count
    })
    return got
  })

describe("QEMU -netdev stream", () => {
  it.live("joins two NICs over a Unix socket: frames arrive in order with valid checksums, none lost", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* socketDir
      const { a, b, server, client } = yield* nicsOverStream({ path: join(dir, "link.sock") })
      const got = yield* exchange(a, b, 40)
      expect(got).toHaveLength(40)
      expect(got.every((f) => transportChecksum(f) === "valid")).toBe(true)
      expect(got.map((f) => f.length)).toEqual(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? 42 + 100 + i : 54 + 1400)))
      expect(client.counters()).toMatchObject({ txFrames: 40, txQueueDrops: 0 })
      expect(server.counters()).toMatchObject({ rxFrames: 40, connections: 1 })
    })))

  it.live("joins two NICs over TCP loopback, and frames flow both ways", () =>
    Effect.scoped(Effect.gen(function*() {
      const { a, b } = yield* nicsOverStream({ host: "127.0.0.1", port: 0 })
      expect(yield* exchange(a, b, 20)).toHaveLength(20)
      expect(yield* exchange(b, a, 20)).toHaveLength(20)
    })))

  it.live("a raw framing peer's frames reach the NIC whatever the chunking, and the NIC's frames reach the peer framed", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* socketDir
      const server = yield* QemuStream.listen({ path: join(dir, "raw.sock") })
      const nic = yield* nicWithBuffers({ mac: MAC_B }, 256)
      nic.attach(server)
      const peer = yield* rawPeer(server.address)
      const samples = fc.sample(fc.tuple(fc.array(frameArb, { minLength: 1, maxLength: 10 }), fc.array(fc.nat(), { maxLength: 30 })), { numRuns: 8, seed: 42 })
      let expected: Array<Uint8Array> = []
      for (const [frames, cuts] of samples) {
        yield* writeChunks(peer.socket, chunked(concatBytes(frames.map(framed)), cuts))
        expected = expected.concat(frames)
      }
      let got: Array<Uint8Array> = []
      yield* eventually(() => {
        got = got.concat(takeAll(nic).map((p) => p.toUint8Array()))
        return got.length >= expected.length
      })
      expect(got).toEqual(expected)

      const q = nic.tx[0]
      const sent = [udpFrame(10, "full"), udpFrame(500, "partial")]
      const bytes = sent.map((p) => p.toUint8Array())
      for (const p of sent) q.ring.fill(p)
      q.kick()
      yield* eventually(() => peer.frames.length >= 2)
      expect(peer.frames[0]).toEqual(bytes[0])
      expect(transportChecksum(peer.frames[1] ?? new Uint8Array())).toBe("valid")
    })))

  it.live("a zero or oversized length closes the connection with its reason counted; the server then takes a new client", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* QemuStream.listen({ host: "127.0.0.1", port: 0 })
      const nic = yield* nicWithBuffers({ mac: MAC_B })
      nic.attach(server)
      for (const [length, counter] of [[0, "closedZeroLength"], [QEMU_MAX_FRAME + 1, "closedTooLong"]] as const) {
        const peer = yield* rawPeer(server.address)
        yield* server.awaitConnected
        const good = udpFrame(20, "full").toUint8Array()
        yield* writeChunks(peer.socket, [framed(good), Uint8Array.of(length >>> 24, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff)])
        yield* eventually(() => peer.closed())
        expect(server.counters()[counter]).toBe(1)
        expect(server.closeReason()).toBe(length === 0 ? "zero-length" : "too-long")
        expect(takeAll(nic)).toHaveLength(1)
        yield* eventually(() => !server.connected())
      }
      expect(server.counters()).toMatchObject({ connections: 2, disconnections: 2 })
    })))

  it.live("takes one client at a time: a second is refused and counted; frames with nothing connected are dropped and counted", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* QemuStream.listen({ host: "127.0.0.1", port: 0 })
      const nic = yield* nicWithBuffers({ mac: MAC_B })
      nic.attach(server)
      nic.tx[0].ring.fill(udpFrame(10, "full"))
      nic.tx[0].kick()
      yield* eventually(() => server.counters().txNotConnected === 1)
      const first = yield* rawPeer(server.address)
      yield* server.awaitConnected
      const second = yield* rawPeer(server.address)
      yield* eventually(() => second.closed())
      expect(first.closed()).toBe(false)
      expect(server.counters()).toMatchObject({ connections: 1, rejectedConnections: 1 })
    })))

  it.live("connecting to nothing fails with a typed error", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* socketDir
      const error = yield* Effect.flip(QemuStream.connect({ path: join(dir, "absent.sock") }))
      expect(error._tag).toBe("MediumSocketError")
      expect(error.code).toBe("ENOENT")
    })))
})

/** A UDP port that was free a moment ago on 127.0.0.1. */
const freeUdpPort = Effect.callback<number>((resume) => {
  const s = createSocket("udp4")
  s.bind(0, "127.0.0.1", () => {
    const port = s.address().port
    s.close(() => resume(Effect.succeed(port)))
  })
})

describe("QEMU -netdev dgram", () => {
  it.live("joins two NICs over UDP loopback, one frame per datagram; foreign, empty and oversized datagrams are dropped and counted", () =>
    Effect.scoped(Effect.gen(function*() {
      const portA = yield* freeUdpPort
      const portB = yield* freeUdpPort
      const left = yield* QemuDgram.open({ local: { host: "127.0.0.1", port: portA }, remote: { host: "127.0.0.1", port: portB } })
      const right = yield* QemuDgram.open({ local: { host: "127.0.0.1", port: portB }, remote: { host: "127.0.0.1", port: portA } })
      const a = yield* nicWithBuffers({ mac: MAC_A })
      const b = yield* nicWithBuffers({ mac: MAC_B })
      a.attach(left)
      b.attach(right)
      const got = yield* exchange(a, b, 30)
      expect(got.every((f) => transportChecksum(f) === "valid")).toBe(true)
      expect(yield* exchange(b, a, 5)).toHaveLength(5)

      const stranger = createSocket("udp4")
      yield* Effect.addFinalizer(() => Effect.sync(() => stranger.close()))
      const send = (bytes: Uint8Array, port: number) =>
        Effect.callback<void>((resume) => stranger.send(bytes, port, "127.0.0.1", () => resume(Effect.void)))
      yield* send(udpFrame(10, "full").toUint8Array(), portB)
      yield* eventually(() => right.counters().rxForeign === 1)

      const sneaky = yield* QemuDgram.open({ local: { host: "127.0.0.1", port: 0 }, remote: { host: "127.0.0.1", port: portB }, acceptFrom: "any", maxFrame: 100 })
      const viaSneaky = createSocket("udp4")
      yield* Effect.addFinalizer(() => Effect.sync(() => viaSneaky.close()))
      for (const size of [0, 101]) {
        yield* Effect.callback<void>((resume) => viaSneaky.send(new Uint8Array(size), sneaky.local.port, "127.0.0.1", () => resume(Effect.void)))
      }
      yield* eventually(() => sneaky.counters().rxMalformed === 2)
      expect(left.counters()).toMatchObject({ txFrames: 30, txQueueDrops: 0, txErrors: 0 })
    })))
})
