/** The state of the one iperf3 test a server runs at a time: its parameters and data streams. */
import { Deferred, Effect } from "effect"
import type { TestParameters } from "./protocol.ts"

/** One data stream of the running test (a TCP connection, or a UDP peer address). */
export interface DataStream {
  readonly index: number
  /** The server sends on it (`-R`, or the second half of `--bidir`). */
  readonly sender: boolean
  bytes: number
  /** UDP: datagrams sent, or the highest counter received (`packet_count`). */
  packets: number
  /** UDP: datagrams missing from the counter sequence (`cnt_error`). */
  errors: number
  /** UDP: RFC 3550 §6.4.1 interarrival jitter, seconds, and the previous transit time it runs on. */
  jitter: number
  previousTransit: number | undefined
  endTime: number
  readonly finished: Deferred.Deferred<void>
}

/** The test a control connection runs. */
export interface Test {
  readonly cookie: string
  readonly parameters: TestParameters
  readonly streams: Array<DataStream>
  /** Completes when every stream the parameters ask for has connected. */
  readonly connected: Deferred.Deferred<void>
  /** Completes with the start time (ms) once TEST_RUNNING is sent. */
  readonly running: Deferred.Deferred<number>
  /** Completes when the client ends the test or goes away. */
  readonly ended: Deferred.Deferred<void>
}

/** A fresh test for `parameters`. */
export const makeTest = (cookie: string, parameters: TestParameters): Effect.Effect<Test> =>
  Effect.gen(function*() {
    return {
      cookie,
      parameters,
      streams: [],
      connected: yield* Deferred.make<void>(),
      running: yield* Deferred.make<number>(),
      ended: yield* Deferred.make<void>()
    }
  })

/** How many data streams the test has: `-P`, doubled for `--bidir`. */
export const expectedStreams = (p: TestParameters): number => (p.bidirectional ? 2 * p.parallel : p.parallel)

/** Whether the test still waits for data streams. */
export const acceptsStreams = (test: Test): boolean => test.streams.length < expectedStreams(test.parameters)

/**
 * Adds the next data stream. The server sends on it for `-R`; with `--bidir`
 * the first half receive and the second half send (`iperf_handle_message_server`).
 */
export const addStream = (test: Test): Effect.Effect<DataStream> =>
  Effect.gen(function*() {
    const index = test.streams.length
    const p = test.parameters
    const stream: DataStream = {
      index,
      sender: p.bidirectional ? index >= p.parallel : p.reverse,
      bytes: 0,
      packets: 0,
      errors: 0,
      jitter: 0,
      previousTransit: undefined,
      endTime: 0,
      finished: yield* Deferred.make<void>()
    }
    test.streams.push(stream)
    if (!acceptsStreams(test)) yield* Deferred.succeed(test.connected, undefined)
    return stream
  })

/** Counts of what the server did, for `--json` output and tests. */
export interface Iperf3ServerStats {
  testsCompleted: number
  refused: number
  /** Payload bytes received and sent over all tests. */
  bytesReceived: number
  bytesSent: number
}

/** Zeroed counters. */
export const makeIperf3Stats = (): Iperf3ServerStats => ({ testsCompleted: 0, refused: 0, bytesReceived: 0, bytesSent: 0 })
