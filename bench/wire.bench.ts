/**
 * Wire benchmarks: decoding Ethernet + IPv4 + TCP headers through the views
 * (parse each layer, read every field) against Schema decoding of the same
 * frames, in the same run.
 */
import { ipv4PseudoHeaderSum, PacketBuffer } from "@netstack/buffers"
import {
  emitEthernet,
  emitIpv4,
  emitTcp,
  EthernetHeaderFromBytes,
  EthernetView,
  Ipv4HeaderFromBytes,
  Ipv4View,
  TcpHeaderFromBytes,
  TcpView
} from "@netstack/wire"
import { Schema } from "effect"
import { compare, consume, measure, type SuiteResult } from "./harness.ts"

const FRAMES = 256

/** A data segment as Linux sends one: Ethernet, IPv4 (DF), TCP with NOP NOP timestamps, 100 bytes of data. */
const frame = (i: number): Uint8Array => {
  const buffer = PacketBuffer.fromBytes(new Uint8Array(100).fill(i), 128)
  const source = 0x0a000001
  const destination = 0x0a000002 + i
  emitTcp(
    buffer,
    {
      sourcePort: 40000 + i,
      destinationPort: 80,
      sequenceNumber: 1000 * i,
      acknowledgmentNumber: 5000 + i,
      flags: 0x18,
      window: 502,
      urgentPointer: 0,
      options: [{ _tag: "Nop" }, { _tag: "Nop" }, { _tag: "Timestamps", value: i, echo: i + 1 }]
    },
    { mode: "full", pseudoHeaderSum: ipv4PseudoHeaderSum(source, destination, 6, 132) }
  )
  emitIpv4(buffer, {
    dscp: 0,
    ecn: 0,
    identification: i,
    reservedFlag: false,
    dontFragment: true,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 64,
    protocol: 6,
    source,
    destination
  })
  emitEthernet(buffer, { destination: 0x020000000002, source: 0x020000000001, etherType: 0x0800 })
  return buffer.toUint8Array()
}

/** Parses the three headers with the views and reads every field; returns a sum so nothing is optimized away. */
const decodeWithViews = (buffer: PacketBuffer): number => {
  const ethernet = EthernetView.parse(buffer)
  if (!(ethernet instanceof EthernetView)) return -1
  const ip = Ipv4View.parse(buffer, ethernet.payloadOffset)
  if (!(ip instanceof Ipv4View)) return -1
  const tcp = TcpView.parse(buffer, ip.payloadOffset)
  if (!(tcp instanceof TcpView)) return -1
  return ethernet.destination + ethernet.source + ethernet.etherType +
    ip.version + ip.headerLength + ip.dscp + ip.ecn + ip.totalLength + ip.identification + ip.fragmentOffset +
    (ip.dontFragment ? 1 : 0) + (ip.moreFragments ? 1 : 0) + ip.ttl + ip.protocol + ip.checksum + ip.source +
    ip.destination +
    tcp.sourcePort + tcp.destinationPort + tcp.sequenceNumber + tcp.acknowledgmentNumber + tcp.dataOffset +
    tcp.flags + tcp.window + tcp.checksum + tcp.urgentPointer + (tcp.timestampValue ?? 0) + (tcp.timestampEcho ?? 0)
}

const decodeEthernet = Schema.decodeUnknownSync(EthernetHeaderFromBytes)
const decodeIpv4 = Schema.decodeUnknownSync(Ipv4HeaderFromBytes)
const decodeTcp = Schema.decodeUnknownSync(TcpHeaderFromBytes)

/** The same three headers through their Schema codecs. */
const decodeWithSchemas = (bytes: Uint8Array): number => {
  const ethernet = decodeEthernet(bytes)
  const ip = decodeIpv4(bytes.subarray(14))
  const tcp = decodeTcp(bytes.subarray(14 + 20 + ip.options.length))
  return ethernet.etherType + ip.ttl + tcp.window
}

/** Runs the wire suite. */
export const wireSuite = (): SuiteResult => {
  const bytes = Array.from({ length: FRAMES }, (_, i) => frame(i))
  const buffers = bytes.map((b) => PacketBuffer.wrap(b))
  if (buffers.some((b) => decodeWithViews(b) < 0)) throw new Error("benchmark frames do not decode")
  const views = measure("views: Ethernet+IPv4+TCP, every field (per frame)", () => {
    let sum = 0
    for (const b of buffers) sum += decodeWithViews(b)
    consume(sum)
  }, { opsPerCall: FRAMES })
  const schemas = measure("Schema codecs: the same three headers (per frame)", () => {
    let sum = 0
    for (const b of bytes) sum += decodeWithSchemas(b)
    consume(sum)
  }, { opsPerCall: FRAMES, sampleMs: 100 })
  const headersPerSecond = (3 * 1e9) / views.nsPerOp
  const target = 10e6
  return {
    rows: [compare("wire", views, schemas, 20)],
    notes: [
      `wire: views decode ${(headersPerSecond / 1e6).toFixed(1)} M headers/s (${(1e3 / views.nsPerOp).toFixed(2)} M frames/s ` +
      `of three headers); target ≥ 10 M headers/s: ${headersPerSecond >= target ? "met" : "MISSED"}`
    ]
  }
}
