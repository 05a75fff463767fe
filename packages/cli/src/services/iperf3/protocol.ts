/**
 * iperf3's control protocol (esnet/iperf, `iperf_api.h`): one signed byte
 * per state change on the control connection, a 37-byte cookie (36
 * characters and a NUL) opening every connection of a test, and JSON
 * messages framed by a 4-byte big-endian length (`JSON_write`/`JSON_read`).
 */

/** The state bytes both sides exchange (`iperf_api.h`). */
export const State = {
  testStart: 1,
  testRunning: 2,
  testEnd: 4,
  paramExchange: 9,
  createStreams: 10,
  serverTerminate: 11,
  clientTerminate: 12,
  exchangeResults: 13,
  displayResults: 14,
  iperfStart: 15,
  iperfDone: 16,
  accessDenied: -1,
  serverError: -2
} as const

/** Bytes of the cookie that opens the control and every data connection (`COOKIE_SIZE`). */
export const COOKIE_SIZE = 37

/** iperf3's default TCP block size, 128 KiB (`DEFAULT_TCP_BLKSIZE`). */
export const DEFAULT_TCP_BLOCK = 128 * 1024

/** iperf3's UDP datagram payload default (`DEFAULT_UDP_BLKSIZE`). */
export const DEFAULT_UDP_BLOCK = 1460

/** iperf3's UDP rate default, 1 Mbit/s (`UDP_RATE`). */
export const DEFAULT_UDP_RATE = 1024 * 1024

/** A UDP data header with a 64-bit packet counter: seconds, microseconds, counter. */
export const UDP_HEADER_64 = 16

/** The datagram a client opens each UDP stream with (`UDP_CONNECT_MSG`, "9876" in wire order). */
export const UDP_CONNECT_MESSAGE = Uint8Array.of(0x39, 0x38, 0x37, 0x36)

/** The server's answer that a UDP stream is accepted (`UDP_CONNECT_REPLY`, "6789" in wire order). */
export const UDP_CONNECT_REPLY = Uint8Array.of(0x36, 0x37, 0x38, 0x39)

/** The largest JSON message accepted; iperf3 itself caps `JSON_read` at 8 MiB (`MAX_PARAMS_JSON_STRING`). */
export const MAX_JSON_BYTES = 8 * 1024 * 1024

/** One state byte on the wire (two's complement for the negative ones). */
export const stateByte = (state: number): Uint8Array => Uint8Array.of(state & 0xff)

/** The signed state a received byte carries. */
export const stateOf = (byte: number): number => (byte << 24) >> 24

/** A JSON message framed as `JSON_write` frames it: length (u32 big-endian), then the UTF-8 text. */
export const frameJson = (value: unknown): Uint8Array => {
  const text = new TextEncoder().encode(JSON.stringify(value))
  const framed = new Uint8Array(4 + text.length)
  new DataView(framed.buffer).setUint32(0, text.length)
  framed.set(text, 4)
  return framed
}

/** The test parameters a client sends (`send_parameters`); only the ones the server acts on. */
export interface TestParameters {
  readonly protocol: "tcp" | "udp" | "other"
  /** Parallel streams (`-P`). */
  readonly parallel: number
  /** The server sends (`-R`). */
  readonly reverse: boolean
  /** Both send (`--bidir`). */
  readonly bidirectional: boolean
  /** Block size the sender writes (`-l`); for UDP, the datagram payload size. */
  readonly blockSize: number
  /** Target rate in bit/s (`-b`); 0 is unlimited. iperf3 defaults UDP to 1 Mbit/s. */
  readonly rate: number
  /** UDP packet counters are 64-bit (`--udp-counters-64bit`). */
  readonly udpCounters64: boolean
}

/** The parameters in a client's JSON, or a reason they are unusable. */
export const parseParameters = (text: string): TestParameters | string => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return "parameters are not JSON"
  }
  if (typeof json !== "object" || json === null) return "parameters are not an object"
  const field = (name: string): unknown => (json as Record<string, unknown>)[name]
  const parallel = field("parallel")
  const len = field("len")
  const protocol = field("tcp") === true ? "tcp" : field("udp") === true ? "udp" : "other"
  const streams = typeof parallel === "number" && Number.isInteger(parallel) ? parallel : 1
  if (streams < 1 || streams > 128) return `parallel ${String(parallel)} out of range`
  const blockSize = typeof len === "number" && Number.isInteger(len) && len > 0
    ? len
    : protocol === "udp"
    ? DEFAULT_UDP_BLOCK
    : DEFAULT_TCP_BLOCK
  if (blockSize > 16 * 1024 * 1024) return `block size ${blockSize} out of range`
  if (protocol === "udp" && (blockSize < UDP_HEADER_64 || blockSize > 65507)) return `UDP block size ${blockSize} out of range`
  const bandwidth = field("bandwidth")
  return {
    protocol,
    parallel: streams,
    reverse: field("reverse") === true,
    bidirectional: field("bidirectional") === true,
    blockSize,
    rate: typeof bandwidth === "number" && bandwidth >= 0 ? bandwidth : protocol === "udp" ? DEFAULT_UDP_RATE : 0,
    udpCounters64: field("udp_counters_64bit") === 1 || field("udp_counters_64bit") === true
  }
}

/** What the server measured on one stream, as `send_results` reports it. */
export interface StreamResult {
  readonly id: number
  readonly sender: boolean
  readonly bytes: number
  /** UDP: datagrams sent, or the highest counter received. */
  readonly packets: number
  /** UDP: datagrams lost (gaps in the counters). */
  readonly errors: number
  /** UDP: interarrival jitter in seconds (RFC 3550 §6.4.1). */
  readonly jitter: number
  /** Seconds since the test started. */
  readonly startTime: number
  readonly endTime: number
}

/**
 * The server's results message (`send_results`): CPU figures, whether the
 * sender reports retransmissions (-1: this side only received), and per
 * stream its bytes; `jitter`, `errors` and `packets` matter for UDP only.
 */
export const resultsMessage = (streams: ReadonlyArray<StreamResult>, anySender: boolean) => ({
  cpu_util_total: 0,
  cpu_util_user: 0,
  cpu_util_system: 0,
  sender_has_retransmits: anySender ? 0 : -1,
  streams: streams.map((s) => ({
    id: s.id,
    bytes: s.bytes,
    retransmits: s.sender ? 0 : -1,
    jitter: s.jitter,
    errors: s.errors,
    omitted_errors: 0,
    packets: s.packets,
    omitted_packets: 0,
    start_time: s.startTime,
    end_time: s.endTime
  }))
})

/** Stream ids as iperf3 numbers them (`iperf_add_stream`): 1, then 3, 4, 5… */
export const streamId = (index: number): number => (index === 0 ? 1 : index + 2)

/** iperf3 error numbers a server reports after `SERVER_ERROR` (`iperf_api.h`). */
export const IperfErrno = {
  notImplemented: 13,
  receiveParameters: 114,
  streamAccept: 204
} as const

/** `SERVER_ERROR`, then iperf3's error number and the system errno, each a big-endian i32. */
export const serverError = (iperfErrno: number): Uint8Array => {
  const bytes = new Uint8Array(9)
  bytes[0] = State.serverError & 0xff
  new DataView(bytes.buffer).setInt32(1, iperfErrno)
  return bytes
}
