/**
 * The bulk transfers the TCP benchmarks time: through netstack between two
 * hosts in one process, and through Node's `net` over 127.0.0.1 (the
 * kernel's loopback), each over one connection or many at once. Both
 * senders write 64 KiB chunks and wait for backpressure; both receivers
 * read into one buffer (netstack's `readInto`, Node's `onread` option, or
 * Node's 'data' events for the common path).
 */
import { createServer, connect as nodeConnect, type Socket } from "node:net"
import { Network, type TcpConnection } from "@netstack/stack"
import { Effect, Exit, Fiber, Scope } from "effect"

const CHUNK = 64 * 1024

/** Reads `connection` into `buffer` until the peer's FIN; the bytes received. */
export const countReceived = (connection: TcpConnection, buffer: Uint8Array): Effect.Effect<number, unknown> =>
  Effect.gen(function*() {
    let received = 0
    for (;;) {
      const n = yield* connection.readInto(buffer)
      if (n === undefined) break
      received += n
    }
    return received
  })

/** Two hosts in one process joined by one link, kept up across transfers (see `openNetstack`). */
export interface NetstackBed {
  /**
   * One transfer of `total` bytes split over `flows` new connections that all
   * send at once (each `total / flows` bytes); ns per byte, from the first
   * write (every connection established) to the last receiver reading its FIN.
   */
  readonly transfer: (total: number, flows?: number) => Promise<number>
  /** Takes the network down. */
  readonly close: () => Promise<void>
}

/**
 * Hosts `a` (10.0.0.1) and `b` (10.0.0.2, listening on 5001) joined by a
 * link of `mtu` with the offloads on or off, 4 MiB socket buffers and 1024
 * descriptor rings. The network stays up between transfers, as a running
 * system's does: its buffer pools and page recyclers are warm after the
 * first transfer (the first touch of fresh memory costs a page fault, some
 * 15 µs on these VMs, which the kernel under Node's sockets never pays).
 */
export const openNetstack = async (mtu: number, offloaded: boolean): Promise<NetstackBed> => {
  const scope = await Effect.runPromise(Scope.make())
  const setup = Effect.gen(function*() {
    const tcp = { sendBuffer: 4 * 1024 * 1024, receiveBuffer: 4 * 1024 * 1024 }
    const net = Network.make()
    const a = yield* net.host("a", { tcp })
    const b = yield* net.host("b", { tcp })
    const offloads = offloaded
      ? { rxChecksum: true, txChecksum: true, tso: true, scatterGather: true }
      : { rxChecksum: false, txChecksum: false, tso: false, scatterGather: true }
    yield* net.link(a, b, {
      a: "10.0.0.1/24",
      b: "10.0.0.2/24",
      mtu,
      nic: { offloads, rxRingSize: 1024, txRingSize: 1024 }
    })
    const listener = yield* b.listen(5001, { backlog: 1024 })
    return { a, listener }
  })
  const { a, listener } = await Effect.runPromise(Scope.provide(scope)(setup))
  // One buffer for every reader: the bytes are counted, not looked at.
  const buffer = new Uint8Array(1024 * 1024)
  const readAll = (connection: TcpConnection) => countReceived(connection, buffer)
  const chunk = new Uint8Array(CHUNK).fill(0x5a)
  const transfer = (total: number, flows = 1): Promise<number> =>
    Effect.runPromise(
      Effect.scoped(
        Effect.gen(function*() {
          const receiver = yield* Effect.forkChild(Effect.gen(function*() {
            const readers = []
            for (let i = 0; i < flows; i++) {
              const connection = yield* listener.accept
              readers.push(yield* Effect.forkChild(Effect.ensuring(readAll(connection), connection.close())))
            }
            let received = 0
            for (const reader of readers) received += yield* Fiber.join(reader)
            return received
          }))
          const connections: Array<TcpConnection> = []
          for (let i = 0; i < flows; i++) connections.push(yield* a.connect("10.0.0.2", 5001, {}))
          const per = Math.floor(total / flows)
          const writeAll = (connection: TcpConnection) =>
            Effect.gen(function*() {
              for (let sent = 0; sent < per; sent += CHUNK) yield* connection.write(per - sent >= CHUNK ? chunk : chunk.subarray(0, per - sent))
              yield* connection.shutdown()
            })
          const t0 = performance.now()
          yield* Effect.forEach(connections, writeAll, { concurrency: "unbounded", discard: true })
          const received = yield* Fiber.join(receiver)
          const ns = ((performance.now() - t0) * 1e6) / received
          for (const connection of connections) yield* connection.close()
          if (received !== per * flows) return yield* Effect.die(`received ${received} of ${per * flows} bytes`)
          return ns
        })
      )
    )
  return { transfer, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

/** One transfer through netstack on a network of its own, brought up for it (cold memory: see `openNetstack`). */
export const netstackTransfer = async (mtu: number, offloaded: boolean, total: number, flows = 1): Promise<number> => {
  const bed = await openNetstack(mtu, offloaded)
  try {
    return await bed.transfer(total, flows)
  } finally {
    await bed.close()
  }
}

/**
 * Transfers through netstack on one network kept up across them: `rounds`
 * warm-up transfers of `warmUp` bytes first (not timed), so pools and
 * recyclers are warm and the JIT has compiled the path, then `bed.transfer`
 * is the steady state.
 */
export const warmNetstack = async (mtu: number, offloaded: boolean, warmUp: number, flows = 1, rounds = 3): Promise<NetstackBed> => {
  const bed = await openNetstack(mtu, offloaded)
  for (let i = 0; i < rounds; i++) await bed.transfer(warmUp, flows)
  return bed
}

/**
 * The same transfer through Node's `net` over the kernel's loopback, over
 * `flows` connections at once; ns per byte, from the first write (every
 * connection accepted) to the last client reading its FIN. The server sends
 * and the clients receive, because `onread` (Node's zero-allocation read
 * path: every read lands in one buffer) is an option of client sockets only.
 */
export const nodeTransfer = (total: number, onread: boolean, flows = 1): Promise<number> =>
  new Promise((resolve, reject) => {
    const per = Math.floor(total / flows)
    const chunk = Buffer.alloc(CHUNK, 0x5a)
    const accepted: Array<Socket> = []
    let t0 = 0
    let received = 0
    let ended = 0
    const send = (socket: Socket): void => {
      let sent = 0
      const pump = (): void => {
        while (sent < per) {
          const n = Math.min(CHUNK, per - sent)
          sent += n
          if (!socket.write(n === CHUNK ? chunk : chunk.subarray(0, n))) return void socket.once("drain", pump)
        }
        socket.end()
      }
      pump()
    }
    const server = createServer((socket) => {
      socket.setNoDelay(true)
      accepted.push(socket)
      if (accepted.length < flows) return
      t0 = performance.now()
      for (const s of accepted) send(s)
    })
    // One buffer for every client: `onread` hands each read to the callback before the next one.
    const readBuffer = Buffer.alloc(1024 * 1024)
    server.listen({ port: 0, host: "127.0.0.1", backlog: Math.max(511, flows) }, () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      for (let i = 0; i < flows; i++) {
        const client = nodeConnect({
          host: "127.0.0.1",
          port,
          ...(onread
            ? {
              onread: {
                buffer: readBuffer,
                callback: (n: number) => {
                  received += n
                  return true
                }
              }
            }
            : {})
        })
        if (!onread) client.on("data", (data: Buffer) => void (received += data.length))
        client.on("end", () => {
          client.end()
          if (++ended < flows) return
          const ns = ((performance.now() - t0) * 1e6) / received
          server.close()
          if (received !== per * flows) reject(new Error(`received ${received} of ${per * flows} bytes`))
          else resolve(ns)
        })
        client.on("error", reject)
      }
    })
  })
