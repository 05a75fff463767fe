/**
 * Connections (issue 9): how fast they are set up and what an idle one
 * costs, against Node's own `net` over 127.0.0.1 measured in the same run.
 *
 * - Setup rate: connect, accept and a data-less close (the client closes,
 *   the server closes when it reads the client's FIN; a cycle ends when the
 *   client's side is closed), one after another and 100 at a time, between
 *   two in-process hosts; Node does the same over the kernel's loopback.
 * - Memory per idle connection: 10 000 and 100 000 established, idle
 *   connections (and 10 000 that first carried a 64-byte request and
 *   reply, read with `read`) between two in-process hosts (several server ports: one
 *   client address to one server port has only the ephemeral range,
 *   RFC 6056), against the same network with no connection open; JS heap
 *   used after a full GC, and external/array-buffer memory, per connection
 *   (both ends, both in this process) and per endpoint. The baseline is
 *   Node `net` with 10 000 connections over loopback in one process (both
 *   ends too): its JS heap and external memory; the kernel's socket memory
 *   is not counted. Each memory figure comes from a child process of its
 *   own (a clean heap, `--expose-gc`, and for Node a raised `ulimit -n`).
 *
 * `npm run bench -- connections`; `node bench/connections.bench.ts memory
 * netstack 100000` runs one memory measurement and prints it as JSON.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process"
import { createServer, connect as nodeConnect, type Server, type Socket } from "node:net"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { getHeapStatistics } from "node:v8"
import { Network } from "@netstack/stack"
import type { TcpConnection, TcpError } from "@netstack/l4"
import { Effect } from "effect"
import { compare, type Measurement, type SuiteResult } from "./harness.ts"

/** Connections set up one after another, and in total at `PARALLEL` at a time, per run. */
const SEQUENTIAL = 1000
const PARALLEL_TOTAL = 5000
const PARALLEL = 100
/**
 * Connections a server port takes: below half the 28 232 ports of the
 * ephemeral range, since connect() tries ports of one parity first (RFC 6056
 * algorithm 4 as Linux runs it) and past that searches ever longer.
 */
const PER_PORT = 10_000
/** The issue's target, per idle connection. */
const TARGET_BYTES = 4096

// ---------------------------------------------------------------------------------------------- setup rate

/** Two hosts on one wire, b serving `ports`: each accepted connection is closed once the client's FIN is read. */
const servedPair = (ports: number) =>
  Effect.gen(function*() {
    const net = Network.make()
    const a = yield* net.host("a")
    const b = yield* net.host("b")
    yield* net.link(a, b, { a: "10.0.0.1/24", b: "10.0.0.2/24" })
    for (let p = 0; p < ports; p++) {
      const listener = yield* b.listen(5000 + p, { backlog: 4096 })
      yield* Effect.forkChild(Effect.forever(Effect.flatMap(listener.accept, (connection) =>
        Effect.forkChild(Effect.andThen(Effect.ignore(connection.readAll()), connection.close())))))
    }
    return { a, b }
  })

/** ns per connection for `total` cycles of connect → close → closed, `concurrency` at a time, through netstack. */
const netstackSetup = (total: number, concurrency: number): Promise<number> =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const { a } = yield* servedPair(1)
    const cycle = Effect.scoped(Effect.gen(function*() {
      const connection = yield* a.connect("10.0.0.2", 5000)
      yield* connection.close()
      yield* connection.whenClosed
    }))
    yield* Effect.forEach(Array.from({ length: 50 }), () => cycle, { concurrency, discard: true }) // warm up
    const t0 = performance.now()
    yield* Effect.forEach(Array.from({ length: total }), () => cycle, { concurrency, discard: true })
    return ((performance.now() - t0) * 1e6) / total
  })))

/** A Node server on 127.0.0.1 that ends each connection when the client's FIN comes (Node's default, allowHalfOpen off). */
const nodeServer = (): Promise<{ readonly server: Server; readonly port: number }> =>
  new Promise((resolve) => {
    const server = createServer((socket) => socket.on("error", () => undefined))
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      resolve({ server, port: typeof address === "object" && address !== null ? address.port : 0 })
    })
  })

/** One Node cycle: connect, end, wait for the socket to close. */
const nodeCycle = (port: number): Promise<void> =>
  new Promise((resolve, reject) => {
    const socket = nodeConnect(port, "127.0.0.1", () => socket.end())
    socket.on("close", () => resolve())
    socket.on("error", reject)
  })

/** ns per connection for `total` Node cycles, `concurrency` at a time. */
const nodeSetup = async (total: number, concurrency: number): Promise<number> => {
  const { server, port } = await nodeServer()
  const run = async (count: number): Promise<void> => {
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < count) {
        next++
        await nodeCycle(port)
      }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
  }
  await run(50) // warm up
  const t0 = performance.now()
  await run(total)
  const ns = ((performance.now() - t0) * 1e6) / total
  server.close()
  return ns
}

const median = (xs: ReadonlyArray<number>): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? Number.NaN

/** The four setup figures, each the median of `runs` alternated runs. */
const setupRates = async (runs: number): Promise<ReadonlyArray<readonly [Measurement, Measurement]>> => {
  const samples = { ns1: [] as Array<number>, node1: [] as Array<number>, nsP: [] as Array<number>, nodeP: [] as Array<number> }
  for (let i = 0; i < runs; i++) {
    samples.node1.push(await nodeSetup(SEQUENTIAL, 1))
    samples.ns1.push(await netstackSetup(SEQUENTIAL, 1))
    samples.nodeP.push(await nodeSetup(PARALLEL_TOTAL, PARALLEL))
    samples.nsP.push(await netstackSetup(PARALLEL_TOTAL, PARALLEL))
  }
  return [
    [
      { name: "netstack connect + accept + close, one at a time", nsPerOp: median(samples.ns1) },
      { name: "Node net over 127.0.0.1, one at a time", nsPerOp: median(samples.node1) }
    ],
    [
      { name: `netstack connect + accept + close, ${PARALLEL} at a time`, nsPerOp: median(samples.nsP) },
      { name: `Node net over 127.0.0.1, ${PARALLEL} at a time`, nsPerOp: median(samples.nodeP) }
    ]
  ]
}

// ---------------------------------------------------------------------------------------------- memory

/** What one memory measurement found (bytes, deltas against the same process before the connections). */
export interface MemoryFigures {
  readonly connections: number
  readonly heapUsed: number
  readonly external: number
  readonly arrayBuffers: number
  readonly rss: number
  /** ms to open them all (100 connects at a time). */
  readonly openMs: number
  /** The heap limit of the process (MiB). */
  readonly heapLimitMiB: number
}

/** A full collection (the child runs with `--expose-gc`), then the process's memory. */
const settledMemory = async (): Promise<NodeJS.MemoryUsage> => {
  const gc = globalThis.gc
  if (gc === undefined) throw new Error("run with --expose-gc")
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setImmediate(resolve))
    gc()
  }
  return process.memoryUsage()
}

const difference = (connections: number, before: NodeJS.MemoryUsage, after: NodeJS.MemoryUsage, openMs: number): MemoryFigures => ({
  connections,
  heapUsed: after.heapUsed - before.heapUsed,
  external: after.external - before.external,
  arrayBuffers: after.arrayBuffers - before.arrayBuffers,
  rss: after.rss - before.rss,
  openMs,
  heapLimitMiB: Math.round(getHeapStatistics().heap_size_limit / 2 ** 20)
})

/** `count` idle connections between two in-process hosts: the memory they hold. */
/** The bytes of each request and reply when connections exchange one before they idle. */
const MESSAGE = 64

/** Reads exactly `n` bytes (fewer if the peer closes first); how many came. */
const readExactly = (connection: TcpConnection, n: number): Effect.Effect<number, TcpError> =>
  Effect.gen(function*() {
    let got = 0
    while (got < n) {
      const chunk = yield* connection.read(n - got)
      if (chunk === undefined) break
      got += chunk.length
    }
    return got
  })

/**
 * `count` idle connections between two in-process hosts: the memory they
 * hold. With `exchange` each first carries a 64-byte request and reply
 * (read with `read`, whose views keep the pages they come from).
 */
const netstackMemory = (count: number, exchange: boolean): Promise<MemoryFigures> =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const ports = Math.ceil(count / PER_PORT)
    const net = Network.make()
    const a = yield* net.host("a")
    const b = yield* net.host("b")
    yield* net.link(a, b, { a: "10.0.0.1/24", b: "10.0.0.2/24" })
    const accepted: Array<TcpConnection> = []
    const reply = new Uint8Array(MESSAGE).fill(2)
    const serve = (connection: TcpConnection) =>
      Effect.andThen(readExactly(connection, MESSAGE), Effect.andThen(connection.write(reply), Effect.sync(() => void accepted.push(connection))))
    for (let p = 0; p < ports; p++) {
      const listener = yield* b.listen(5000 + p, { backlog: 4096 })
      yield* Effect.forkChild(Effect.forever(Effect.flatMap(listener.accept, (connection) =>
        exchange ? Effect.forkChild(Effect.ignore(serve(connection))) : Effect.sync(() => void accepted.push(connection)))))
    }
    const request = new Uint8Array(MESSAGE).fill(1)
    const open = (port: number) =>
      Effect.tap(a.connect("10.0.0.2", port), (connection) =>
        exchange ? Effect.andThen(connection.write(request), readExactly(connection, MESSAGE)) : Effect.void)
    yield* Effect.scoped(open(5000)) // warm up: every code path has run once
    yield* Effect.sleep("1500 millis")
    accepted.length = 0
    const before = yield* Effect.promise(settledMemory)
    const clients: Array<unknown> = []
    const t0 = performance.now()
    yield* Effect.forEach(
      Array.from({ length: count }, (_, i) => 5000 + (i % ports)),
      (port) => Effect.map(open(port), (connection) => void clients.push(connection)),
      { concurrency: PARALLEL, discard: true }
    )
    while (accepted.length < count) yield* Effect.sleep("10 millis")
    const openMs = performance.now() - t0
    // Idle: past the handshake's timers (the SYN's retransmission entry is due 1 s after it was sent).
    yield* Effect.sleep("1500 millis")
    const after = yield* Effect.promise(settledMemory)
    if (clients.length !== count || accepted.length !== count) return yield* Effect.die("connections lost")
    return difference(count, before, after, openMs)
  })))

/** Resolves after `ms`. */
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Waits until the parent closes our standard input (it holds both ends' processes until both have measured). */
const untilReleased = (): Promise<void> =>
  new Promise((resolve) => {
    process.stdin.on("end", resolve)
    process.stdin.resume()
  })

/**
 * The server half of Node's measurement: listens, prints its port, accepts
 * `count` connections and, once they idle, prints what they cost here.
 */
const nodeServerMemory = async (count: number): Promise<void> => {
  const accepted: Array<Socket> = []
  const server = createServer((socket) => void accepted.push(socket))
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", 4096, resolve))
  const address = server.address()
  const before = await settledMemory()
  console.log(JSON.stringify({ port: typeof address === "object" && address !== null ? address.port : 0 }))
  const t0 = performance.now()
  while (accepted.length < count) await sleep(10)
  const openMs = performance.now() - t0
  await sleep(1500)
  console.log(JSON.stringify(difference(count, before, await settledMemory(), openMs)))
  await untilReleased()
}

/** The client half: opens `count` connections to `port`, 100 at a time, and once they idle prints what they cost here. */
const nodeClientMemory = async (count: number, port: number): Promise<void> => {
  const open = (): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const socket = nodeConnect(port, "127.0.0.1", () => resolve(socket))
      socket.on("error", reject)
    })
  const before = await settledMemory()
  const clients: Array<Socket> = []
  const t0 = performance.now()
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < count) {
      next++
      clients.push(await open())
    }
  }
  await Promise.all(Array.from({ length: PARALLEL }, worker))
  const openMs = performance.now() - t0
  await sleep(1500)
  console.log(JSON.stringify(difference(count, before, await settledMemory(), openMs)))
  await untilReleased()
}

/** A child process running this file with `args` and `--expose-gc`, and `ulimit -n` set to `files`. */
const child = (args: ReadonlyArray<string>, files: number): ChildProcessWithoutNullStreams => {
  const file = fileURLToPath(import.meta.url)
  const command = `ulimit -n ${files} && exec "${process.execPath}" --expose-gc "${file}" ${args.join(" ")}`
  return spawn("bash", ["-c", command])
}

/** The next line a child prints, parsed as JSON. */
const nextLine = <A>(process: ChildProcessWithoutNullStreams, lines: AsyncIterator<string>): Promise<A> =>
  lines.next().then((line) => {
    if (line.done === true) throw new Error(`child ${process.pid ?? "?"} ended early`)
    return JSON.parse(line.value) as A
  })

/** Closes a child's standard input (which tells it to exit) and waits for it to exit. */
const released = (process: ChildProcessWithoutNullStreams): Promise<void> =>
  new Promise((resolve) => {
    process.on("exit", () => resolve())
    process.stdin.end()
  })

/**
 * Node's memory for `count` idle connections over loopback: the server's
 * ends in one process and the clients' in another (a process may hold
 * 20 000 descriptors here, and both ends of 10 000 connections need
 * 20 000), added up.
 */
const nodeMemory = async (count: number): Promise<MemoryFigures> => {
  const files = count + 1024
  const server = child(["memory", "node-server", String(count)], files)
  const serverLines = createInterface({ input: server.stdout })[Symbol.asyncIterator]()
  const { port } = await nextLine<{ readonly port: number }>(server, serverLines)
  const client = child(["memory", "node-client", String(count), String(port)], files)
  const clientLines = createInterface({ input: client.stdout })[Symbol.asyncIterator]()
  const [s, c] = await Promise.all([
    nextLine<MemoryFigures>(server, serverLines),
    nextLine<MemoryFigures>(client, clientLines)
  ])
  await Promise.all([released(server), released(client)])
  return {
    connections: count,
    heapUsed: s.heapUsed + c.heapUsed,
    external: s.external + c.external,
    arrayBuffers: s.arrayBuffers + c.arrayBuffers,
    rss: s.rss + c.rss,
    openMs: Math.max(s.openMs, c.openMs),
    heapLimitMiB: c.heapLimitMiB
  }
}

/** netstack's memory for `count` idle connections, measured in a child process of its own. */
const netstackMemoryInChild = async (count: number, exchange = false): Promise<MemoryFigures> => {
  const process = child(["memory", exchange ? "netstack-exchange" : "netstack", String(count)], 4096)
  const lines = createInterface({ input: process.stdout })[Symbol.asyncIterator]()
  const figures = await nextLine<MemoryFigures>(process, lines)
  await released(process) // its pipes would keep this process alive
  return figures
}

// ---------------------------------------------------------------------------------------------- the suite

const kib = (bytes: number): string => `${(bytes / 1024).toFixed(2)} KiB`

/** One line of memory figures: per connection (both ends) and per endpoint. */
const memoryNote = (label: string, m: MemoryFigures): string => {
  const perConnection = m.heapUsed / m.connections
  const external = m.external / m.connections
  return `${label}: ${m.connections} idle connections opened in ${(m.openMs / 1000).toFixed(1)} s; JS heap ` +
    `${perConnection.toFixed(0)} B a connection (${(perConnection / 2).toFixed(0)} B an endpoint), external ` +
    `${external.toFixed(0)} B a connection (array buffers ${(m.arrayBuffers / m.connections).toFixed(0)} B), ` +
    `process RSS +${(m.rss / 2 ** 20).toFixed(0)} MiB`
}

/**
 * The connections suite: setup rates against Node `net` (rows), memory per
 * idle connection at 10 k and 100 k against Node's at 10 k (notes), and
 * whether the targets (≤ 4 KiB an idle connection, 100 k open) are met.
 */
export const connectionsSuite = async (runs = 3): Promise<SuiteResult> => {
  const rates = await setupRates(runs)
  const node10k = await nodeMemory(10_000)
  const ns10k = await netstackMemoryInChild(10_000)
  const ns10kExchanged = await netstackMemoryInChild(10_000, true)
  const ns100k = await netstackMemoryInChild(100_000).catch((error: unknown) => String(error))
  if (typeof ns100k === "string") {
    return {
      rows: rates.map(([subject, baseline]) => compare("connections", subject, baseline)),
      notes: [memoryNote("connections: netstack", ns10k), `connections: 100 k open in one process: MISSED (${ns100k})`]
    }
  }
  const perRate = (m: Measurement): string => `${(1e9 / m.nsPerOp).toFixed(0)} connections/s`
  const perEndpoint = (m: MemoryFigures): number => (m.heapUsed + Math.max(0, m.external)) / m.connections / 2
  const perConnection = (m: MemoryFigures): number => (m.heapUsed + Math.max(0, m.external)) / m.connections
  const nodePer = perConnection(node10k)
  const verdict = (bytes: number): string => bytes <= TARGET_BYTES ? "met" : "MISSED"
  return {
    rows: rates.map(([subject, baseline]) => compare("connections", subject, baseline)),
    notes: [
      `connections: setup ${rates.map(([s, b]) => `${perRate(s)} (Node ${perRate(b)})`).join("; ")}`,
      memoryNote("connections: Node net over loopback", node10k),
      memoryNote("connections: netstack", ns10k),
      memoryNote("connections: netstack", ns100k),
      memoryNote(`connections: netstack after a ${MESSAGE}-byte request and reply on each (buffers let go when drained)`, ns10kExchanged),
      `connections: heap + external per idle connection, netstack/Node: ${(perConnection(ns10k) / nodePer).toFixed(2)}× at 10 k ` +
      `(${kib(perConnection(ns10k))} against ${kib(nodePer)}), ${(perConnection(ns100k) / nodePer).toFixed(2)}× at 100 k`,
      `connections: target ≤ 4 KiB an idle connection — per endpoint ${kib(perEndpoint(ns100k))} at 100 k: ` +
      `${verdict(perEndpoint(ns100k))}; per connection with both endpoints in the process ${kib(perConnection(ns100k))}: ` +
      `${verdict(perConnection(ns100k))}; 100 k open in one process (heap limit ${ns100k.heapLimitMiB} MiB, no flag): met`
    ]
  }
}

if (import.meta.main && process.argv[2] === "memory") {
  const [subject, count, port] = [process.argv[3], Number(process.argv[4] ?? 10_000), Number(process.argv[5] ?? 0)]
  if (subject === "node-server") await nodeServerMemory(count)
  else if (subject === "node-client") await nodeClientMemory(count, port)
  else console.log(JSON.stringify(await netstackMemory(count, subject === "netstack-exchange")))
  process.exit(0) // the sockets would keep the process alive
}
