/**
 * iperf3 over UDP (`iperf_udp.c`): the client opens each stream with one
 * datagram (`UDP_CONNECT_MSG`) from its stream's socket, and the server
 * answers `UDP_CONNECT_REPLY` to that address. iperf3 then connects a
 * socket per stream; here one socket serves all streams, told apart by the
 * peer's address, which is the same to the client. Every data datagram
 * starts with the sender's time (seconds, microseconds) and a packet
 * counter (32 or 64 bits), all big-endian.
 */
import { Clock, Deferred, Duration, Effect } from "effect"
import type { Datagram, DatagramSocket, Writer as DatagramWriter } from "effect/socket/DatagramSocket"
import type { InetAddress } from "effect/net/NetAddress"
import { UDP_CONNECT_REPLY, UDP_HEADER_64 } from "./protocol.ts"
import { acceptsStreams, addStream, type DataStream, type Iperf3ServerStats, type Test } from "./test-state.ts"

/** The UDP side of the server: the running test's streams by peer address. */
export interface UdpStreams {
  test: Test | undefined
  readonly byPeer: Map<string, DataStream>
}

const peerKey = (address: InetAddress): string => `${address.address.toString()}:${address.port}`

/**
 * Reads the server's UDP socket for as long as it runs, accepting streams
 * and accounting data for the current UDP test; other datagrams are ignored.
 */
export const runUdp = (socket: DatagramSocket, udp: UdpStreams, stats: Iperf3ServerStats) =>
  Effect.scoped(Effect.gen(function*() {
    const reader = yield* socket.reader
    const writer = yield* socket.writer
    while (true) {
      const datagrams = yield* reader.pull
      const now = yield* Clock.currentTimeNanos
      for (const datagram of datagrams) yield* onDatagram(udp, stats, datagram, writer, now)
    }
  }))

const onDatagram = (udp: UdpStreams, stats: Iperf3ServerStats, datagram: Datagram, writer: DatagramWriter, now: bigint) =>
  Effect.gen(function*() {
    const test = udp.test
    if (test === undefined) return
    const key = peerKey(datagram.address)
    const stream = udp.byPeer.get(key)
    if (stream === undefined) {
      if (!acceptsStreams(test)) return
      const added = yield* addStream(test)
      udp.byPeer.set(key, added)
      yield* writer.write({ payload: UDP_CONNECT_REPLY, address: datagram.address }).pipe(Effect.ignore)
      if (added.sender) yield* Effect.forkChild(paced(test, added, stats, writer, datagram.address))
      return
    }
    // A stream's repeated connect message, or data before the test runs, is not counted.
    if (stream.sender || !Deferred.isDoneUnsafe(test.running) || Deferred.isDoneUnsafe(test.ended)) return
    account(stream, stats, datagram.payload, test.parameters.udpCounters64, now)
  })

/**
 * `iperf_udp_recv`: bytes, the highest counter seen, gaps counted as lost
 * (a late datagram takes one back), and RFC 3550 §6.4.1 jitter
 * J += (|D| − J) / 16 over the transit times.
 */
const account = (stream: DataStream, stats: Iperf3ServerStats, payload: Uint8Array, counters64: boolean, now: bigint) => {
  if (payload.length < 12 || (counters64 && payload.length < UDP_HEADER_64)) return
  stream.bytes += payload.length
  stats.bytesReceived += payload.length
  const view = new DataView(payload.buffer, payload.byteOffset, payload.length)
  const sent = view.getUint32(0) + view.getUint32(4) / 1e6
  const counter = counters64 ? Number(view.getBigUint64(8)) : view.getUint32(8)
  if (counter >= stream.packets + 1) {
    if (counter > stream.packets + 1) stream.errors += counter - 1 - stream.packets
    stream.packets = counter
  } else if (stream.errors > 0) {
    stream.errors-- // out of order: it was counted lost
  }
  const transit = Number(now) / 1e9 - sent
  if (stream.previousTransit !== undefined) {
    const d = Math.abs(transit - stream.previousTransit)
    stream.jitter += (d - stream.jitter) / 16
  }
  stream.previousTransit = transit
}

/** Pacing tick of the UDP sender: iperf3 paces every 1 ms; 10 ms bursts keep the fiber cheap. */
const TICK = Duration.millis(10)

/** Sends numbered datagrams to `peer` at the test's rate until it ends (`iperf_udp_send`). */
const paced = (test: Test, stream: DataStream, stats: Iperf3ServerStats, writer: DatagramWriter, peer: InetAddress) =>
  Effect.gen(function*() {
    yield* Deferred.await(test.running)
    const size = test.parameters.blockSize
    // Bytes allowed so far at the test's rate (a token bucket refilled every tick); unlimited sends 64 a tick.
    const bytesPerMilli = test.parameters.rate / 8 / 1000
    const started = yield* Clock.currentTimeMillis
    const send = Effect.gen(function*() {
      while (true) {
        const elapsed = (yield* Clock.currentTimeMillis) - started
        const allowed = bytesPerMilli === 0 ? stream.bytes + 64 * size : bytesPerMilli * elapsed
        while (stream.bytes + size <= allowed) {
          const payload = new Uint8Array(size)
          const view = new DataView(payload.buffer)
          const nanos = yield* Clock.currentTimeNanos
          view.setUint32(0, Number(nanos / 1_000_000_000n))
          view.setUint32(4, Number((nanos / 1000n) % 1_000_000n))
          stream.packets++
          if (test.parameters.udpCounters64) view.setBigUint64(8, BigInt(stream.packets))
          else view.setUint32(8, stream.packets)
          yield* writer.write({ payload, address: peer }).pipe(Effect.ignore)
          stream.bytes += size
          stats.bytesSent += size
        }
        yield* Effect.sleep(TICK)
      }
    })
    yield* Effect.raceFirst(send, Deferred.await(test.ended))
  })
