/**
 * The link and network layer part of `netstack demo`: hosts a and b and
 * router r in one process, joined by wires of 1 ms and 100 Mbit/s; the
 * r—b link has an MTU of 576 bytes (the datagram size every host must
 * accept, RFC 791 §3.1), so both a and r fragment. On a simulation clock with
 * a fixed seed, so every run prints the same: the routes, pings of growing
 * sizes with exact round trips, TTL expiry and path-MTU discovery
 * (RFC 1191), one packet's path stage by stage, the counters, the neighbour
 * tables, and a pcap of the router's interfaces.
 */
import { formatTrace, type Impairments, NetTrace, type TraceRecord } from "@netstack/device"
import { capturePcap, type PcapCapture } from "@netstack/l2"
import type { EchoReply, PingError } from "@netstack/l3"
import { type Host, InvalidSpecification, type JoinError, Network, type TcpError, type TcpInfo, whileClockAdvances } from "@netstack/stack"
import { ipv4FromString, ipv4ToString, type PcapWriteError } from "@netstack/wire"
import { Duration, Effect, Fiber, type FileSystem, type PlatformError, Random, Result, type Scope } from "effect"
import { TestClock } from "effect/testing"

/** Settings of the network demo. */
export interface NetworkDemoOptions {
  /** The pcap file the router's frames are written to (created or truncated). */
  readonly pcap: string
}

/** What the network demo can fail with: building the topology, or writing the pcap. */
export type NetworkDemoError = JoinError | PlatformError.PlatformError | PcapWriteError

/** Both wires: 1 ms each way, serialized at 100 Mbit/s (netem `delay 1ms rate 100mbit`). */
const WIRE: Impairments = { delay: Duration.millis(1), rate: 100_000_000 }
/** The MTU of the r—b link. */
const SMALL_MTU = 576
const B = "10.0.2.1"
/** The ping sizes (`ping -s`): ping's default, the largest that fits 1500 bytes unfragmented, and two that a fragments. */
const SIZES: ReadonlyArray<number> = [56, 1472, 3000, 8000]

/** `ip route add default via GATEWAY`. */
const defaultRoute = (host: Host, gateway: string): Effect.Effect<void, InvalidSpecification> => {
  const added = host.addRoute({ destination: "default", via: gateway })
  return added instanceof InvalidSpecification ? Effect.fail(added) : Effect.void
}

/** `a.b.c.d` as a number (the demo's own, well-formed addresses). */
const address = (text: string): number => ipv4FromString(text) ?? 0

/** Lines indented under a heading. */
const indent = (text: string, by = "    "): ReadonlyArray<string> => text.split("\n").map((line) => `${by}${line}`)

// ------------------------------------------------------------------ ping's output

/** ping's line for a reply: `64 bytes from 10.0.2.1: icmp_seq=1 ttl=63 time=4.031 ms` (exact, from the simulation clock). */
const replyLine = (reply: EchoReply): string =>
  `${reply.bytes} bytes from ${reply.from}: icmp_seq=${reply.sequence} ttl=${reply.ttl} time=${(reply.rttMicros / 1000).toFixed(3)} ms`

/** What iputils ping prints for an ICMP error (`pr_icmph`), by type and code (RFC 792). */
const icmpErrorText = (type: number, code: number, mtu: number | undefined): string => {
  if (type === 11) return code === 0 ? "Time to live exceeded" : "Frag reassembly time exceeded"
  if (type !== 3) return `Bad ICMP type: ${type}`
  switch (code) {
    case 0:
      return "Destination Net Unreachable"
    case 1:
      return "Destination Host Unreachable"
    case 3:
      return "Destination Port Unreachable"
    case 4:
      return `Frag needed and DF set (mtu = ${mtu ?? "?"})`
    case 13:
      return "Communication prohibited by filter"
    default:
      return `Dest Unreachable, Bad Code: ${code}`
  }
}

/** Why a ping got no reply: an ICMP error, a failed send or silence, or a malformed destination. */
type PingFailure = PingError | InvalidSpecification

/** ping's line for a ping that got no reply. */
const errorLine = (error: PingFailure, sequence: number): string => {
  if (error._tag === "InvalidSpecification") return `ping: ${error.specification}: ${error.reason}`
  if (error.reason === "send-failed") {
    return `ping: local error: ${error.detail === "message-too-big" ? `message too long, mtu=${error.mtu ?? "?"}` : error.detail ?? "send failed"}`
  }
  if (error.reason === "timeout") return `no reply to icmp_seq=${sequence}`
  const text = error.icmpType === undefined || error.icmpCode === undefined
    ? error.detail ?? error.reason
    : icmpErrorText(error.icmpType, error.icmpCode, error.mtu)
  return `From ${error.from ?? "?"} icmp_seq=${sequence} ${text}`
}

/** `ip route get DESTINATION`, with the cached path MTU as Linux prints a route exception (`cache expires 600sec mtu 576`). */
const routeGet = (host: Host, destination: string): ReadonlyArray<string> => {
  const target = address(destination)
  const route = host.ipv4.fib.lookup(target)
  if (route?.device === undefined) return [`RTNETLINK answers: Network is unreachable`]
  const source = host.ipv4.addresses.sourceFor(route.device, target)
  const via = route.gateway === undefined ? "" : ` via ${ipv4ToString(route.gateway)}`
  const src = source === undefined ? "" : ` src ${ipv4ToString(source)}`
  const now = host.ipv4.now()
  const cached = host.ipv4.pmtu.lookup(target, now)
  const cache = cached === undefined ? [] : [`    cache expires ${Math.round((cached.expiresAt - now) / 1_000_000)}sec mtu ${cached.mtu}`]
  return [`${destination}${via} dev ${route.device.name}${src}`, ...cache]
}

// ------------------------------------------------------------------ the parts

/** The topology and the routing tables of a and r (`ip route show`). */
const topologyLines = (a: Host, r: Host): ReadonlyArray<string> => [
  `== network: hosts and a router, a (10.0.1.1) — r — b (${B})`,
  `  wires of 1 ms at 100 Mbit/s; MTU 1500 on a—r and ${SMALL_MTU} on r—b, so r fragments too`,
  "  a$ ip route show",
  ...indent(a.ipv4.fib.format("main")),
  "  r$ ip route show                  (r forwards: net.ipv4.ip_forward=1)",
  ...indent(r.ipv4.fib.format("main"))
]

/** The fragments each host made (`FragCreates`) so far. */
const fragmentsMade = (hosts: ReadonlyArray<Host>): ReadonlyArray<number> => hosts.map((h) => h.ipv4.stats.FragCreates)

/** What a ping made happen besides its reply: ARP for the first, the fragments each host made for the others. */
const pingNote = (first: boolean, made: ReadonlyArray<number>): string =>
  first ? "ARP first: a asks for r, then r for b" : `fragments made: a ${made[0] ?? 0}, r ${made[1] ?? 0}, b ${made[2] ?? 0}`

/** Pings b from a once with each size (`ping -c 1`); one line per reply, with the fragments each host made for it. */
const pingSizes = (a: Host, r: Host, b: Host): Effect.Effect<ReadonlyArray<string>> =>
  Effect.gen(function*() {
    const lines = [`  a$ for s in ${SIZES.join(" ")}; do ping -c 1 -s $s ${B}; done`]
    let intact = 0
    for (const [i, size] of SIZES.entries()) {
      const before = fragmentsMade([a, r, b])
      const result = yield* whileClockAdvances(a.ping(B, { size }))
      const made = fragmentsMade([a, r, b]).map((n, h) => n - (before[h] ?? 0))
      if (Result.isSuccess(result)) {
        if (result.success.intact) intact++
        lines.push(`    ${replyLine(result.success).padEnd(58)} ${pingNote(i === 0, made)}`)
      } else {
        lines.push(`    ${errorLine(result.failure, 1)}`)
      }
    }
    lines.push(`    ${intact} of ${SIZES.length} replies carried exactly the data sent (b reassembled the requests, a the replies)`)
    return lines
  })

/** TTL 1, expiring at r; then DF over the 576-byte link, answered with the next-hop MTU (RFC 1191), which a caches. */
const errorPings = (a: Host): Effect.Effect<ReadonlyArray<string>> =>
  Effect.gen(function*() {
    const lines: Array<string> = []
    const say = (command: string, result: Result.Result<EchoReply, PingFailure>) => {
      lines.push(`  a$ ${command}`)
      lines.push(`    ${Result.isSuccess(result) ? replyLine(result.success) : errorLine(result.failure, 1)}`)
    }
    const dontFragment = { size: 1000, dontFragment: true }
    say(`ping -c 1 -t 1 ${B}`, yield* whileClockAdvances(a.ping(B, { ttl: 1 })))
    say(`ping -c 1 -M do -s 1000 ${B}`, yield* whileClockAdvances(a.ping(B, dontFragment)))
    lines.push(`  a$ ip route get ${B}`, ...indent(routeGet(a, B).join("\n")))
    say(`ping -c 1 -M do -s 1000 ${B}      (a knows the path MTU now: refused at once)`, yield* whileClockAdvances(a.ping(B, dontFragment)))
    return lines
  })

/** What each stage is in Linux, printed beside its first record. */
const KERNEL_NAMES: Readonly<Record<string, string>> = {
  "ip-output": "ip_local_out",
  "l2-tx": "dev_queue_xmit (MAC from the neighbour)",
  xmit: "ndo_start_xmit: onto the tx ring",
  "device-tx": "NIC → wire",
  "tx-completion": "tx ring cleaned, buffer freed",
  "device-rx": "wire → NIC rx ring (a new buffer)",
  "napi-poll": "NET_RX softirq: napi_poll",
  receive: "netif_receive_skb",
  "l2-rx": "taps, eth_type_trans",
  "ip-rcv": "ip_rcv: checks, route lookup",
  "ip-forward": "ip_forward: TTL 64 → 63",
  "ip-local": "ip_local_deliver → icmp_rcv"
}

/** The records with times relative to the first. */
const rebase = (records: ReadonlyArray<TraceRecord>): ReadonlyArray<TraceRecord> => {
  const start = records[0]?.time ?? 0
  return records.map((record) => ({ ...record, time: record.time - start }))
}

/** `formatTrace`'s lines, each stage explained at its first record. */
const annotatedTrace = (records: ReadonlyArray<TraceRecord>): ReadonlyArray<string> => {
  const seen = new Set<string>()
  const lines = formatTrace(records).split("\n")
  const width = Math.max(...lines.map((line) => line.length))
  return lines.map((line, i) => {
    const stage = records[i]?.stage ?? ""
    const note = seen.has(stage) ? undefined : KERNEL_NAMES[stage]
    seen.add(stage)
    return note === undefined ? `  ${line}` : `  ${line.padEnd(width)}  ${note}`
  })
}

/** Where and when `stage` happened first among `records`: `ip-forward r-eth1→r-eth0 at 2015.680 µs`. */
const stageAt = (records: ReadonlyArray<TraceRecord>, stage: string): string => {
  const record = records.find((r) => r.stage === stage)
  return record === undefined ? `no ${stage}` : `${stage} ${record.where} at ${record.time.toFixed(3)} µs`
}

/** One small ping with tracing on in the trace the three hosts share: the request's path in full, the reply's in brief. */
const tracedPing = (a: Host, trace: NetTrace): Effect.Effect<ReadonlyArray<string>> =>
  Effect.gen(function*() {
    yield* a.startTracing()
    const result = yield* whileClockAdvances(a.ping(B))
    trace.disable()
    const records = rebase(trace.records())
    const delivered = records.findIndex((r) => r.stage === "ip-local")
    const request = records.slice(0, delivered + 1)
    const reply = records.slice(delivered + 1)
    return [
      `== one echo request's path a → r → b, stage by stage (one trace shared by the hosts; µs since a sent it)`,
      `  #N is a buffer (each NIC receive fills a new one); a hop takes 98 bytes × 8 / 100 Mbit/s = 7.840 µs + 1 ms`,
      ...annotatedTrace(request),
      `  the reply goes back through the same stages (${reply.length} records): ${stageAt(reply, "ip-output")},`,
      `    ${stageAt(reply, "ip-forward")}, ${stageAt(reply, "ip-local")}` +
      (Result.isSuccess(result) ? `; ping: time=${(result.success.rttMicros / 1000).toFixed(3)} ms` : "")
    ]
  })

/** The counters of /proc/net/snmp's `Ip:` line, in its order. */
const IP_COUNTERS: ReadonlyArray<string> = [
  "InReceives", "InHdrErrors", "InAddrErrors", "ForwDatagrams", "InUnknownProtos", "InDiscards", "InDelivers",
  "OutRequests", "OutDiscards", "OutNoRoutes", "ReasmTimeout", "ReasmReqds", "ReasmOKs", "ReasmFails",
  "FragOKs", "FragFails", "FragCreates"
]

// ------------------------------------------------------------------ TCP

/** The bulk transfer's size: 256 KiB. */
const TCP_BYTES = 256 * 1024

/** What the transfer saw: bytes b read, the time it took on the simulation clock, a's connection as `ss -ti` shows it. */
interface Transfer {
  readonly received: number
  readonly micros: number
  readonly info: TcpInfo
}

/** b counts what it reads until a's FIN (`nc -l 5001 > /dev/null`); a writes `TCP_BYTES` and closes (`nc b 5001 < file`). */
const bulkTransfer = (a: Host, b: Host): Effect.Effect<Transfer, TcpError> =>
  Effect.scoped(Effect.gen(function*() {
    const listener = yield* b.listen(5001)
    const server = yield* Effect.forkChild(Effect.scoped(Effect.gen(function*() {
      const connection = yield* listener.accept
      const buffer = new Uint8Array(64 * 1024)
      let received = 0
      for (let n = yield* connection.readInto(buffer); n !== undefined; n = yield* connection.readInto(buffer)) received += n
      return received
    })))
    const started = a.timers.now()
    const connection = yield* a.connect(B, 5001)
    yield* connection.write(new Uint8Array(TCP_BYTES).fill(0x5a))
    const info = connection.info()
    yield* connection.close()
    const received = yield* Fiber.join(server)
    return { received, micros: a.timers.now() - started, info }
  }))

/** `ss -ti`'s line for a connection. */
const ssLine = (info: TcpInfo): string =>
  `${info.congestion ?? "-"} wscale:${info.windowScale.join(",")} rto:${(info.rto / 1000).toFixed(0)} ` +
  `rtt:${((info.srtt ?? 0) / 1000).toFixed(3)} mss:${info.mss} cwnd:${Math.round((info.cwnd ?? 0) / info.mss)} ` +
  `ssthresh:${info.ssthresh === undefined || info.ssthresh > 1e9 ? "-" : Math.round(info.ssthresh / info.mss)}` +
  `${info.sack ? " sack" : ""}${info.timestamps ? " ts" : ""} retrans:${info.retransmits}`

/** A TCP bulk transfer from a to b through r: b's small MTU clamps the MSS both ways (RFC 9293 §3.7.1). */
const tcpSection = (a: Host, b: Host): Effect.Effect<ReadonlyArray<string>> =>
  Effect.gen(function*() {
    const result = yield* whileClockAdvances(bulkTransfer(a, b), 60_000)
    const lines = [
      "== tcp: a sends 256 KiB to b through r (nc), CUBIC, SACK, timestamps, window scaling",
      `  b$ nc -l 5001 > /dev/null &    a$ nc ${B} 5001 < 256KiB`
    ]
    if (Result.isFailure(result)) return [...lines, `  nc: ${result.failure.reason}: ${result.failure.detail}`]
    const { info, micros, received } = result.success
    const mbits = (received * 8) / micros
    return [
      ...lines,
      `    b read ${received} bytes; ${(micros / 1000).toFixed(3)} ms from SYN to FIN on the simulation clock (${mbits.toFixed(1)} Mbit/s of 100)`,
      `  a$ ss -ti    (before close)`,
      `    ${ssLine(info)}`
    ]
  })

/** `Name value` for each non-zero counter, in `order` when given. */
const nonZero = (counters: Readonly<Record<string, number>>, order: ReadonlyArray<string> = Object.keys(counters)): string =>
  order.filter((name) => (counters[name] ?? 0) !== 0).map((name) => `${name} ${counters[name] ?? 0}`).join(" ") || "none"

/** One host's counters: IP and ICMP (/proc/net/snmp), the ARP cache (/proc/net/stat/arp_cache), drops by reason. */
const hostCounters = (host: Host): ReadonlyArray<string> => {
  const reassembly = host.ipv4.reassembler.stats
  const ip = {
    ...host.ipv4.stats,
    ReasmTimeout: reassembly.ReasmTimeout,
    ReasmReqds: reassembly.ReasmReqds,
    ReasmOKs: reassembly.ReasmOKs,
    ReasmFails: reassembly.ReasmFails
  }
  return [
    `  ${host.name}  Ip: ${nonZero(ip, IP_COUNTERS)}`,
    `     Icmp: ${nonZero({ ...host.icmp.stats })}`,
    `     Tcp: ${nonZero({ ...host.tcp.stats })}`,
    `     arp_cache: ${nonZero(host.neighbours.counters())}`,
    `     drops: ${nonZero(host.link.drops.snapshot())}`
  ]
}

/** The counters and neighbour tables of every host. */
const tables = (hosts: ReadonlyArray<Host>): ReadonlyArray<string> => [
  "== counters (non-zero only: /proc/net/snmp Ip, Icmp and Tcp with netstat -s's TcpExt, /proc/net/stat/arp_cache, drops by reason)",
  ...hosts.flatMap(hostCounters),
  "== neighbour tables (ip neigh show)",
  ...hosts.flatMap((host) => indent(host.neighbours.show(), `  ${host.name}: `))
]

/** The report's lines, and the capture (complete once the scenario's scope has closed). */
interface Outcome {
  readonly lines: ReadonlyArray<string>
  readonly capture: PcapCapture
}

/** The whole scenario, in one scope: the capture ends (and its file is complete) when the scope closes. */
const scenario = (pcap: string): Effect.Effect<Outcome, NetworkDemoError, Scope.Scope | FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const trace = new NetTrace()
    const net = Network.make()
    const a = yield* net.host("a", { trace })
    const r = yield* net.router("r", { trace })
    const b = yield* net.host("b", { trace })
    const capture = yield* capturePcap(r.link, pcap)
    // Interfaces named as Mininet names them, so the trace the hosts share says which host each record is from.
    yield* net.link(a, r, { a: "10.0.1.1/24", b: "10.0.1.254/24", mtu: 1500, impairments: WIRE, names: ["a-eth0", "r-eth0"] })
    yield* net.link(r, b, { a: "10.0.2.254/24", b: `${B}/24`, mtu: SMALL_MTU, impairments: WIRE, names: ["r-eth1", "b-eth0"] })
    yield* defaultRoute(a, "10.0.1.254")
    yield* defaultRoute(b, "10.0.2.254")
    // the gratuitous ARPs of the new addresses (RFC 5227 §3) cross the wires first
    yield* TestClock.adjust("10 millis")
    const lines = [
      ...topologyLines(a, r),
      ...(yield* pingSizes(a, r, b)),
      ...(yield* errorPings(a)),
      ...(yield* tracedPing(a, trace)),
      ...(yield* tcpSection(a, b)),
      ...tables([a, r, b])
    ]
    return { lines, capture }
  })

/** Runs the network demo on a simulation clock with a fixed seed; returns its report. Writes the pcap to `options.pcap`. */
export const networkDemo = (
  options: NetworkDemoOptions
): Effect.Effect<ReadonlyArray<string>, NetworkDemoError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const { capture, lines } = yield* Effect.scoped(scenario(options.pcap))
    const lost = capture.dropped === 0 ? "" : ` (${capture.dropped} dropped)`
    return [
      ...lines,
      `== pcap: every frame in and out of r's two interfaces, from the start (ARP included)`,
      `  wrote ${capture.written} frames to ${options.pcap}${lost} (open with netstack decode, tcpdump -r or Wireshark)`
    ]
  }).pipe(Random.withSeed(2026), Effect.provide(TestClock.layer()))
