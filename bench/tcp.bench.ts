/**
 * TCP bulk transfer between two hosts in one process, on the real clock,
 * against Node's own `net` over 127.0.0.1 (the kernel's loopback) measured
 * in the same run: (a) MTU 1500 and no offloads (software checksums and
 * software GSO in the driver), (b) MTU 65535 with TSO, GRO and checksum
 * offload. The figure is application bytes per second, from the first
 * write to the receiver reading the FIN. Both receivers read into a buffer
 * of their own (netstack's `readInto`, Node's `onread` option), the fastest
 * way each offers; both senders write 64 KiB chunks and wait for backpressure.
 */
import { createServer, connect as nodeConnect } from "node:net"
import { Network } from "@netstack/stack"
import { Effect, Fiber } from "effect"
import { compare, type Measurement, type SuiteResult } from "./harness.ts"

const CHUNK = 64 * 1024
const TOTAL = 256 * 1024 * 1024

/** One transfer of `total` bytes through netstack; ns per byte. */
export const netstackTransfer = (mtu: number, offloaded: boolean, total: number): Promise<number> =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function*() {
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
        const listener = yield* b.listen(5001)
        const receiver = yield* Effect.forkChild(Effect.gen(function*() {
          const connection = yield* listener.accept
          const buffer = new Uint8Array(1024 * 1024)
          let received = 0
          for (;;) {
            const n = yield* connection.readInto(buffer)
            if (n === undefined) break
            received += n
          }
          return received
        }))
        const connection = yield* a.connect("10.0.0.2", 5001, {})
        const chunk = new Uint8Array(CHUNK).fill(0x5a)
        const t0 = performance.now()
        for (let sent = 0; sent < total; sent += CHUNK) yield* connection.write(chunk)
        yield* connection.shutdown()
        const received = yield* Fiber.join(receiver)
        const ns = ((performance.now() - t0) * 1e6) / received
        if (received !== total) return yield* Effect.die(`received ${received} of ${total} bytes`)
        return ns
      })
    )
  )

/**
 * The same transfer through Node's `net` over the kernel's loopback; ns per
 * byte. The server sends and the client receives, because `onread` (Node's
 * zero-allocation read path: every read lands in one buffer) is an option of
 * client sockets only.
 */
const nodeTransfer = (total: number, onread: boolean): Promise<number> =>
  new Promise((resolve, reject) => {
    const chunk = Buffer.alloc(CHUNK, 0x5a)
    let t0 = 0
    let received = 0
    const server = createServer((socket) => {
      socket.setNoDelay(true)
      t0 = performance.now()
      let sent = 0
      const pump = (): void => {
        while (sent < total) {
          sent += CHUNK
          if (!socket.write(chunk)) return void socket.once("drain", pump)
        }
        socket.end()
      }
      pump()
    })
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      const client = nodeConnect({
        host: "127.0.0.1",
        port,
        ...(onread
          ? {
            onread: {
              buffer: Buffer.alloc(1024 * 1024),
              callback: (n: number) => {
                received += n
                return true
              }
            }
          }
          : {})
      })
      if (!onread) client.on("data", (chunk: Buffer) => void (received += chunk.length))
      client.on("end", () => {
        const ns = ((performance.now() - t0) * 1e6) / received
        client.end()
        server.close()
        if (received !== total) reject(new Error(`received ${received} of ${total} bytes`))
        else resolve(ns)
      })
      client.on("error", reject)
    })
  })

const median = (xs: Array<number>): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? Number.NaN

/** Gbit/s from ns per byte. */
export const gbits = (nsPerByte: number): number => 8 / nsPerByte

/** The four figures, each the median of `runs` alternated transfers. */
export const tcpBulk = async (runs = 3, total = TOTAL): Promise<{
  readonly offloaded: Measurement
  readonly software: Measurement
  readonly node: Measurement
  readonly nodeEvents: Measurement
}> => {
  const offloaded: Array<number> = []
  const software: Array<number> = []
  const node: Array<number> = []
  const nodeEvents: Array<number> = []
  await netstackTransfer(65535, true, 16 * 1024 * 1024) // warm up
  for (let i = 0; i < runs; i++) {
    node.push(await nodeTransfer(total, true))
    nodeEvents.push(await nodeTransfer(total, false))
    offloaded.push(await netstackTransfer(65535, true, total))
    software.push(await netstackTransfer(1500, false, total / 4))
  }
  return {
    offloaded: { name: "netstack TCP bulk, MTU 65535, TSO/GRO/checksum offload", nsPerOp: median(offloaded), bytesPerOp: 1 },
    software: { name: "netstack TCP bulk, MTU 1500, software checksums and GSO", nsPerOp: median(software), bytesPerOp: 1 },
    node: { name: "Node net over 127.0.0.1, `onread` into one buffer", nsPerOp: median(node), bytesPerOp: 1 },
    nodeEvents: { name: "Node net over 127.0.0.1, 'data' events", nsPerOp: median(nodeEvents), bytesPerOp: 1 }
  }
}

/**
 * The TCP suite: both netstack figures against Node `net` over loopback (its fastest read path, and the
 * common one). Targets (issue 6): offloaded ≥ 1.0× Node, MTU 1500 with software checksums ≥ 3 Gbit/s.
 */
export const tcpSuite = async (): Promise<SuiteResult> => {
  const { offloaded, software, node, nodeEvents } = await tcpBulk()
  const rate = (m: Measurement): string => `${gbits(m.nsPerOp).toFixed(2)} Gbit/s`
  const softwareRate = gbits(software.nsPerOp)
  return {
    rows: [
      compare("tcp", offloaded, node, 1),
      compare("tcp", offloaded, nodeEvents, 1),
      compare("tcp", software, node)
    ],
    notes: [
      `tcp: offloaded ${rate(offloaded)}, MTU 1500 software ${rate(software)} ` +
      `(target ≥ 3 Gbit/s: ${softwareRate >= 3 ? "met" : "MISSED"}); Node net over loopback ${rate(node)} with onread, ` +
      `${rate(nodeEvents)} with 'data' events`
    ]
  }
}
