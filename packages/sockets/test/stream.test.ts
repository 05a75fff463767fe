/**
 * Stream sockets through the `Sockets` service between two hosts on a wire,
 * under TestClock: connect/accept/echo, half-close, the Stream/Sink views
 * with backpressure, and a property over arbitrary write chunkings.
 */
import { describe, expect, it } from "@effect/vitest"
import { whileClockAdvances } from "@netstack/stack"
import { Cause, Effect, Fiber, Stream } from "effect"
import fc from "fast-check"
import { deterministic, pair, pattern } from "./support/pair.ts"
import { concatBytes, propertyRuns } from "@netstack/test-support"

describe("stream sockets", () => {
  it.effect("connect, accept and echo through the Sockets service", () =>
    Effect.gen(function*() {
      const { sa, sb } = yield* pair()
      const listener = yield* sb.listen({ port: 7 })
      const server = yield* Effect.forkChild(Effect.scoped(Effect.gen(function*() {
        const socket = yield* sb.accept(listener)
        for (;;) {
          const data = yield* sb.receive(socket)
          if (data === undefined) break
          yield* sb.send(socket, data)
        }
        yield* sb.shutdown(socket)
        return socket.remoteAddress
      })))
      const result = yield* whileClockAdvances(Effect.scoped(Effect.gen(function*() {
        const socket = yield* sa.connect({ address: "10.0.0.2", port: 7 })
        const data = pattern(50_000)
        yield* sa.send(socket, data)
        yield* sa.shutdown(socket, "write")
        const chunks: Array<Uint8Array> = []
        for (;;) {
          const chunk = yield* sa.receive(socket)
          if (chunk === undefined) break
          chunks.push(chunk)
        }
        return { data, echoed: Buffer.concat(chunks), local: socket.localAddress, remote: socket.remoteAddress }
      })), 5_000)
      expect(result._tag).toBe("Success")
      if (result._tag !== "Success") return
      expect(new Uint8Array(result.success.echoed)).toEqual(result.success.data)
      expect(result.success.remote).toEqual({ address: "10.0.0.2", port: 7 })
      expect(result.success.local.address).toBe("10.0.0.1")
      const peer = yield* Fiber.join(server)
      expect(peer).toEqual(result.success.local)
    }))

  it.effect("Stream and Sink with backpressure: a slow consumer holds the producer to what the buffers hold", () =>
    Effect.gen(function*() {
      const { sa, sb } = yield* pair()
      const buffer = 64 * 1024
      const chunk = 4 * 1024
      const total = 512 * 1024
      const listener = yield* sb.listen({ port: 80 }, { receiveBuffer: buffer })
      let consumed = 0
      let produced = 0
      const server = yield* Effect.forkChild(Effect.scoped(Effect.gen(function*() {
        const socket = yield* sb.accept(listener)
        // 1 KiB per millisecond, pulled only as the consumer asks.
        const chunks = yield* socket.stream({ chunkSize: 1024 }).pipe(
          Stream.tap((c) => Effect.andThen(Effect.sleep("1 millis"), Effect.sync(() => (consumed += c.length)))),
          Stream.runCollect
        )
        return { received: concatBytes(chunks), unread: socket.connection.tcb.receive.length }
      })))
      const data = pattern(total, 3)
      // One chunk per pull: `produced` counts what the sink asked for.
      let next = 0
      const producer = Stream.fromPull(Effect.succeed(Effect.suspend(() => {
        if (next * chunk >= total) return Cause.done()
        const piece = data.subarray(next * chunk, (next + 1) * chunk)
        next++
        produced += chunk
        return Effect.succeed([piece] as const)
      })))
      const checkpoint = yield* whileClockAdvances(Effect.scoped(Effect.gen(function*() {
        const socket = yield* sa.connect({ address: "10.0.0.2", port: 80 }, { sendBuffer: buffer })
        const writer = yield* Effect.forkChild(Stream.run(producer, socket.sink({ halfClose: true })))
        yield* Effect.sleep("100 millis")
        const seen = { produced, consumed, queued: socket.connection.tcb.send.length, writerDone: writer.pollUnsafe() !== undefined }
        yield* Fiber.join(writer)
        return seen
      })), 5_000)
      expect(checkpoint._tag).toBe("Success")
      if (checkpoint._tag !== "Success") return
      const seen = checkpoint.success
      // After 100 ms the consumer took about 100 KiB; the producer got no further than that plus the two
      // buffers (64 KiB each), one chunk it holds, and the window's rounding: it was blocked by the sink.
      expect(seen.consumed).toBeGreaterThan(50 * 1024)
      expect(seen.writerDone).toBe(false)
      expect(seen.produced - seen.consumed).toBeLessThanOrEqual(2 * buffer + chunk + 1460)
      expect(seen.queued).toBeLessThanOrEqual(buffer)
      const result = yield* whileClockAdvances(Fiber.join(server), 5_000)
      expect(result._tag === "Success" && result.success.received).toEqual(data)
    }))

  it("arbitrary write chunkings and read sizes arrive intact through the Sink and the Stream (property)", async () => {
    const arb = fc.record({
      chunks: fc.array(fc.integer({ min: 1, max: 6000 }), { minLength: 1, maxLength: 25 }),
      readSize: fc.integer({ min: 1, max: 70_000 }),
      seed: fc.integer({ min: 1, max: 1_000_000 })
    })
    await fc.assert(
      fc.asyncProperty(arb, async ({ chunks, readSize, seed }) => {
        const data = pattern(chunks.reduce((n, c) => n + c, 0), seed)
        const pieces: Array<Uint8Array> = []
        let at = 0
        for (const length of chunks) {
          pieces.push(data.slice(at, at + length))
          at += length
        }
        const received = await deterministic(seed, Effect.gen(function*() {
          const { sa, sb } = yield* pair()
          const listener = yield* sb.listen({ port: 80 })
          const server = yield* Effect.forkChild(Effect.scoped(Effect.gen(function*() {
            const socket = yield* sb.accept(listener)
            const read = yield* Stream.runCollect(socket.stream({ chunkSize: readSize }))
            expect(read.every((c) => c.length <= readSize)).toBe(true)
            return concatBytes(read)
          })))
          yield* whileClockAdvances(Effect.scoped(Effect.gen(function*() {
            const socket = yield* sa.connect({ address: "10.0.0.2", port: 80 })
            yield* Stream.run(Stream.fromIterable(pieces), socket.sink({ halfClose: true }))
          })), 5_000)
          return yield* whileClockAdvances(Fiber.join(server), 5_000)
        }))
        expect(received._tag === "Success" && received.success).toEqual(data)
      }),
      { numRuns: propertyRuns(15) }
    )
  })
})
