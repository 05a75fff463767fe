/**
 * An iperf3 server (`iperf3 -s`) over any `SocketServer` (and, for UDP
 * tests, a `DatagramSocket` on the same port): a stock `iperf3 -c` client
 * measures throughput against it, forward, reverse (`-R`) and both ways
 * (`--bidir`), with parallel streams (`-P`), over TCP or UDP (`-u`). One
 * test runs at a time; a second client is refused with `ACCESS_DENIED`, as
 * iperf3 does. The flow follows `iperf_server_api.c`:
 *
 *   client → cookie;  server → PARAM_EXCHANGE;  client → parameters (JSON)
 *   server → CREATE_STREAMS;  client opens the data streams (TCP: each sends the cookie)
 *   server → TEST_START, TEST_RUNNING;  data flows until client → TEST_END
 *   server → EXCHANGE_RESULTS;  client → its results;  server → its results
 *   server → DISPLAY_RESULTS;  client → IPERF_DONE
 */
import { Clock, Deferred, Duration, Effect } from "effect"
import type { DatagramSocket } from "effect/socket/DatagramSocket"
import * as Socket from "effect/socket/Socket"
import { SocketServer } from "effect/socket/SocketServer"
import { ByteReader } from "../byte-reader.ts"
import {
  COOKIE_SIZE,
  frameJson,
  IperfErrno,
  MAX_JSON_BYTES,
  parseParameters,
  resultsMessage,
  serverError,
  State,
  stateByte,
  stateOf,
  streamId
} from "./protocol.ts"
import {
  acceptsStreams,
  addStream,
  type DataStream,
  type Iperf3ServerStats,
  makeIperf3Stats,
  makeTest,
  type Test
} from "./test-state.ts"
import { runUdp, type UdpStreams } from "./udp.ts"

/** How long the server waits for a client's data streams after CREATE_STREAMS. */
const STREAM_CONNECT_TIMEOUT = Duration.seconds(10)

/** The server's one slot: the cookie of the test being set up or run, and the test once its parameters are known. */
interface Slot {
  cookie: string | undefined
  test: Test | undefined
  readonly udp: UdpStreams | undefined
}

/** `serveIperf3`'s settings. */
export interface Iperf3ServerOptions {
  /** Updated as tests run (for `--json` output and tests). */
  readonly stats?: Iperf3ServerStats
  /** A UDP socket bound to the server's port: UDP tests (`iperf3 -u`) are refused without one. */
  readonly datagrams?: DatagramSocket
}

/** Serves iperf3 tests on the `SocketServer` in context until interrupted. */
export const serveIperf3 = (options: Iperf3ServerOptions = {}) =>
  Effect.gen(function*() {
    const server = yield* SocketServer
    const stats = options.stats ?? makeIperf3Stats()
    const slot: Slot = {
      cookie: undefined,
      test: undefined,
      udp: options.datagrams === undefined ? undefined : { test: undefined, byPeer: new Map() }
    }
    if (options.datagrams !== undefined && slot.udp !== undefined) {
      yield* Effect.forkChild(runUdp(options.datagrams, slot.udp, stats).pipe(Effect.ignore))
    }
    return yield* server.run((socket) => Effect.scoped(connection(slot, stats, socket)).pipe(Effect.ignore))
  })

const decoder = new TextDecoder()

/** One accepted connection: the control connection of a new test, a data connection of the current one, or refused. */
const connection = (slot: Slot, stats: Iperf3ServerStats, socket: Socket.Socket) =>
  Effect.gen(function*() {
    const input = new ByteReader(yield* Socket.readerBytes(socket))
    const writer = yield* socket.writer
    const cookie = decoder.decode(yield* input.readExactly(COOKIE_SIZE))
    if (slot.cookie === undefined) {
      slot.cookie = cookie
      return yield* control(slot, stats, cookie, input, writer).pipe(Effect.ensuring(Effect.sync(() => {
        slot.cookie = undefined
        slot.test = undefined
        if (slot.udp !== undefined) {
          slot.udp.test = undefined
          slot.udp.byPeer.clear()
        }
      })))
    }
    const test = slot.test
    if (slot.cookie === cookie && test !== undefined && test.parameters.protocol === "tcp" && acceptsStreams(test)) {
      return yield* tcpStream(test, yield* addStream(test), stats, input, writer)
    }
    // iperf_tcp_accept / iperf_accept: a busy server answers ACCESS_DENIED and closes.
    stats.refused++
    yield* writer.write(stateByte(State.accessDenied))
  })

/** The control connection's side of the test. */
const control = (slot: Slot, stats: Iperf3ServerStats, cookie: string, input: ByteReader, writer: Socket.Writer) =>
  Effect.gen(function*() {
    yield* writer.write(stateByte(State.paramExchange))
    const parameters = parseParameters(decoder.decode(yield* readJson(input)))
    if (typeof parameters === "string") return yield* writer.write(serverError(IperfErrno.receiveParameters))
    const udp = parameters.protocol === "udp" ? slot.udp : undefined
    // SCTP is not served, nor UDP without a datagram socket.
    if (parameters.protocol !== "tcp" && udp === undefined) return yield* writer.write(serverError(IperfErrno.notImplemented))
    const test = yield* makeTest(cookie, parameters)
    slot.test = test
    if (udp !== undefined) udp.test = test
    yield* writer.write(stateByte(State.createStreams))
    const connected = yield* Deferred.await(test.connected).pipe(Effect.timeoutOption(STREAM_CONNECT_TIMEOUT))
    if (connected._tag === "None") return yield* writer.write(serverError(IperfErrno.streamAccept))
    const start = yield* Clock.currentTimeMillis
    yield* writer.write(stateByte(State.testStart))
    yield* writer.write(stateByte(State.testRunning))
    yield* Deferred.succeed(test.running, start)
    yield* Effect.ensuring(awaitTestEnd(test, stats, input, writer, start), Deferred.succeed(test.ended, undefined))
  })

/** Reads the client's state changes until the test ends, then exchanges results. */
const awaitTestEnd = (test: Test, stats: Iperf3ServerStats, input: ByteReader, writer: Socket.Writer, start: number) =>
  Effect.gen(function*() {
    while (true) {
      const state = stateOf((yield* input.readExactly(1))[0] ?? 0)
      if (state === State.clientTerminate || state === State.iperfDone) return
      if (state !== State.testEnd) continue
      yield* Deferred.succeed(test.ended, undefined)
      if (test.parameters.protocol === "udp") yield* finishAll(test.streams)
      for (const stream of test.streams) yield* Deferred.await(stream.finished)
      yield* writer.write(stateByte(State.exchangeResults))
      yield* readJson(input) // the client's results; the server only displays its own
      const results = test.streams.map((s) => ({
        id: streamId(s.index),
        sender: s.sender,
        bytes: s.bytes,
        packets: s.packets,
        errors: s.errors,
        jitter: s.jitter,
        startTime: 0,
        endTime: (s.endTime - start) / 1000
      }))
      yield* writer.write(frameJson(resultsMessage(results, test.streams.some((s) => s.sender))))
      yield* writer.write(stateByte(State.displayResults))
      stats.testsCompleted++
      // IPERF_DONE, or the client just closes.
      yield* input.readExactly(1).pipe(Effect.ignore)
      return
    }
  })

/** Stamps the end of streams that have no fiber of their own (UDP). */
const finishAll = (streams: ReadonlyArray<DataStream>) =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    for (const stream of streams) {
      stream.endTime = now
      yield* Deferred.succeed(stream.finished, undefined)
    }
  })

/** A 4-byte big-endian length, then that many bytes of JSON (`JSON_read`); an absurd length reads as empty. */
const readJson = (input: ByteReader) =>
  Effect.gen(function*() {
    const header = yield* input.readExactly(4)
    const length = new DataView(header.buffer, header.byteOffset, 4).getUint32(0)
    if (length === 0 || length > MAX_JSON_BYTES) return new Uint8Array(0)
    return yield* input.readExactly(length)
  })

/** A TCP data connection: receives or sends until the test ends. */
const tcpStream = (test: Test, stream: DataStream, stats: Iperf3ServerStats, input: ByteReader, writer: Socket.Writer) =>
  Effect.gen(function*() {
    yield* Deferred.await(test.running)
    const transfer = stream.sender ? send(stream, stats, writer, test.parameters.blockSize) : receive(stream, stats, input)
    yield* Effect.raceFirst(transfer.pipe(Effect.ignore), Deferred.await(test.ended))
    stream.endTime = yield* Clock.currentTimeMillis
  }).pipe(Effect.ensuring(Deferred.succeed(stream.finished, undefined)))

/** Counts what arrives until the client stops sending. */
const receive = (stream: DataStream, stats: Iperf3ServerStats, input: ByteReader) =>
  Effect.gen(function*() {
    while (true) {
      for (const chunk of yield* input.readSome()) {
        stream.bytes += chunk.length
        stats.bytesReceived += chunk.length
      }
    }
  })

/** Writes blocks of a fixed pattern as fast as the connection takes them. */
const send = (stream: DataStream, stats: Iperf3ServerStats, writer: Socket.Writer, blockSize: number) =>
  Effect.gen(function*() {
    const block = new Uint8Array(blockSize)
    for (let i = 0; i < blockSize; i++) block[i] = 0x30 + (i % 10)
    while (true) {
      yield* writer.write(block)
      stream.bytes += blockSize
      stats.bytesSent += blockSize
    }
  })
