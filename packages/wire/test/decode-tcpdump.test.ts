/**
 * `formatFrame` prints what `tcpdump -n -tt -S` prints (after the timestamp)
 * for frames it is easy to get wrong: ARP in frames padded to the Ethernet
 * minimum (tcpdump's length counts the padding), with and without an 802.1Q
 * tag (which tcpdump shows only with -e), and IPv4 fragments (the first one
 * printed from the transport header it holds, the later ones as
 * `ip-proto-N`). The expected lines were printed by tcpdump 4.99.3 (libpcap
 * 1.10.3) reading these very frames; where tcpdump is installed, the last
 * test checks that it still prints them.
 */
import { describe, expect, it } from "@effect/vitest"
import { ipv4PseudoHeaderSum, PacketBuffer } from "@netstack/buffers"
import { LINKTYPE_ETHERNET, skipReason, withCapture } from "@netstack/test-support"
import {
  decodeFrame,
  emitArp,
  emitEthernet,
  emitIcmpv4,
  emitIpv4,
  emitTcp,
  emitUdp,
  emitVlan,
  EtherTypes,
  formatFrame,
  ipv4FromString,
  Ipv4Protocols,
  TcpFlags
} from "@netstack/wire"
import { execFileSync } from "node:child_process"

type Emit = (buffer: PacketBuffer) => { readonly _tag: string } | undefined

/** `payload` with each layer pushed in front of it, innermost first; an emitter refusing is a bug in the test. */
const build = (payload: Uint8Array, ...layers: ReadonlyArray<Emit>): Uint8Array => {
  const buffer = PacketBuffer.fromBytes(payload, 128)
  for (const push of layers) {
    const error = push(buffer)
    if (error !== undefined) throw new Error(`an emitter refused: ${error._tag}`)
  }
  return buffer.toUint8Array()
}

const address = (text: string): number => {
  const n = ipv4FromString(text)
  if (n === undefined) throw new Error(`not an IPv4 address: ${text}`)
  return n
}

const MAC_A = 0x020000000001
const MAC_B = 0x020000000002
const BROADCAST = 0xffffffffffff
const ZERO_MAC = 0
const A = address("10.0.1.1")
const B = address("10.0.2.1")

/** Ethernet (with an 802.1Q tag when `vlanId` is given) around `payload`, zero-padded to `minimum` bytes. */
const frame = (
  etherType: number,
  payload: Uint8Array,
  options: { readonly vlanId?: number; readonly priority?: number; readonly minimum?: number; readonly to?: number } = {}
): Uint8Array => {
  const { vlanId, priority = 0, minimum = 0, to = MAC_B } = options
  const tag: ReadonlyArray<Emit> = vlanId === undefined
    ? []
    : [(b) => emitVlan(b, { priority, dropEligible: false, vlanId, etherType })]
  const bytes = build(
    payload,
    ...tag,
    (b) => emitEthernet(b, { destination: to, source: MAC_A, etherType: vlanId === undefined ? etherType : EtherTypes.vlan })
  )
  const out = new Uint8Array(Math.max(minimum, bytes.length))
  out.set(bytes)
  return out
}

/** A 60-byte frame: the Ethernet minimum without the FCS, as a NIC pads a short frame. */
const PADDED = 60

/** A 28-byte Ethernet/IPv4 ARP packet. */
const arp = (operation: number, sender: readonly [number, number], target: readonly [number, number]): Uint8Array =>
  build(new Uint8Array(0), (b) =>
    emitArp(b, { operation, senderMac: sender[0], senderIpv4: sender[1], targetMac: target[0], targetIpv4: target[1] }))

/** An ICMP echo request (type 8) or reply (0) with `dataLength` bytes of data. */
const echo = (type: number, identifier: number, sequence: number, dataLength: number): Uint8Array =>
  build(
    Uint8Array.from({ length: dataLength }, (_, i) => i & 0xff),
    (b) => emitIcmpv4(b, { type, code: 0, restOfHeader: ((identifier << 16) | sequence) >>> 0 })
  )

/** A UDP datagram from A to B with `dataLength` bytes of data and a full checksum. */
const udp = (sourcePort: number, destinationPort: number, dataLength: number): Uint8Array =>
  build(new Uint8Array(dataLength).fill(0x61), (b) =>
    emitUdp(b, { sourcePort, destinationPort }, {
      mode: "full",
      pseudoHeaderSum: ipv4PseudoHeaderSum(A, B, Ipv4Protocols.udp, 8 + dataLength)
    }))

/** A TCP segment from A to B with timestamps and `dataLength` bytes of data. */
const tcp = (flags: number, dataLength: number): Uint8Array =>
  build(new Uint8Array(dataLength).fill(0x62), (b) =>
    emitTcp(b, {
      sourcePort: 40000,
      destinationPort: 45000,
      sequenceNumber: 1000,
      acknowledgmentNumber: 2000,
      flags,
      window: 64240,
      urgentPointer: 0,
      options: [{ _tag: "Nop" }, { _tag: "Nop" }, { _tag: "Timestamps", value: 1000, echo: 2000 }]
    }, { mode: "full", pseudoHeaderSum: ipv4PseudoHeaderSum(A, B, Ipv4Protocols.tcp, 32 + dataLength) }))

/** One IPv4 packet from A to B (TTL 63) around `payload`. */
const ipv4 = (
  protocol: number,
  payload: Uint8Array,
  fragment: { readonly identification: number; readonly offset: number; readonly more: boolean }
): Uint8Array =>
  build(payload, (b) =>
    emitIpv4(b, {
      dscp: 0,
      ecn: 0,
      identification: fragment.identification,
      reservedFlag: false,
      dontFragment: false,
      moreFragments: fragment.more,
      fragmentOffset: fragment.offset / 8,
      ttl: 63,
      protocol,
      source: A,
      destination: B
    }))

/** The datagram carrying `message`, cut into IPv4 fragments of `size` bytes of data (a multiple of 8), in Ethernet frames. */
const fragments = (protocol: number, message: Uint8Array, size: number, identification: number): Array<Uint8Array> => {
  const out: Array<Uint8Array> = []
  for (let offset = 0; offset < message.length; offset += size) {
    const more = offset + size < message.length
    const packet = ipv4(protocol, message.subarray(offset, offset + size), { identification, offset, more })
    out.push(frame(EtherTypes.ipv4, packet, { minimum: PADDED }))
  }
  return out
}

const REQUEST = 1
const REPLY = 2

/** Each frame and the line tcpdump 4.99.3 printed for it (`tcpdump -n -tt -S -r`, timestamp cut off). */
const CASES: ReadonlyArray<{ readonly name: string; readonly frame: Uint8Array; readonly tcpdump: string }> = [
  {
    name: "a request padded to 60 bytes",
    frame: frame(EtherTypes.arp, arp(REQUEST, [MAC_A, A], [ZERO_MAC, B]), { minimum: PADDED, to: BROADCAST }),
    tcpdump: "ARP, Request who-has 10.0.2.1 tell 10.0.1.1, length 46"
  },
  {
    name: "a reply padded to 60 bytes",
    frame: frame(EtherTypes.arp, arp(REPLY, [MAC_B, B], [MAC_A, A]), { minimum: PADDED }),
    tcpdump: "ARP, Reply 10.0.2.1 is-at 02:00:00:00:00:02, length 46"
  },
  {
    name: "a request as Linux sends it, unpadded (42 bytes)",
    frame: frame(EtherTypes.arp, arp(REQUEST, [MAC_A, A], [ZERO_MAC, B]), { to: BROADCAST }),
    tcpdump: "ARP, Request who-has 10.0.2.1 tell 10.0.1.1, length 28"
  },
  {
    name: "a gratuitous request (an ARP announcement), padded",
    frame: frame(EtherTypes.arp, arp(REQUEST, [MAC_A, A], [ZERO_MAC, A]), { minimum: PADDED, to: BROADCAST }),
    tcpdump: "ARP, Request who-has 10.0.1.1 tell 10.0.1.1, length 46"
  },
  {
    name: "a gratuitous request with a broadcast target hardware address (arping -U), padded",
    frame: frame(EtherTypes.arp, arp(REQUEST, [MAC_A, A], [BROADCAST, A]), { minimum: PADDED, to: BROADCAST }),
    tcpdump: "ARP, Request who-has 10.0.1.1 (ff:ff:ff:ff:ff:ff) tell 10.0.1.1, length 46"
  },
  {
    name: "a gratuitous reply (arping -A), padded",
    frame: frame(EtherTypes.arp, arp(REPLY, [MAC_A, A], [BROADCAST, A]), { minimum: PADDED, to: BROADCAST }),
    tcpdump: "ARP, Reply 10.0.1.1 is-at 02:00:00:00:00:01, length 46"
  },
  {
    name: "a request in an 802.1Q-tagged frame padded to 64 bytes (60 and the tag)",
    frame: frame(EtherTypes.arp, arp(REQUEST, [MAC_A, A], [ZERO_MAC, B]), { vlanId: 10, minimum: 64, to: BROADCAST }),
    tcpdump: "ARP, Request who-has 10.0.2.1 tell 10.0.1.1, length 46"
  },
  {
    name: "a reply in a tagged frame padded to 60 bytes, tag included",
    frame: frame(EtherTypes.arp, arp(REPLY, [MAC_B, B], [MAC_A, A]), { vlanId: 10, priority: 5, minimum: PADDED }),
    tcpdump: "ARP, Reply 10.0.2.1 is-at 02:00:00:00:00:02, length 42"
  },
  {
    name: "a reply in an unpadded tagged frame (46 bytes)",
    frame: frame(EtherTypes.arp, arp(REPLY, [MAC_B, B], [MAC_A, A]), { vlanId: 10 }),
    tcpdump: "ARP, Reply 10.0.2.1 is-at 02:00:00:00:00:02, length 28"
  },
  {
    name: "a RARP request, padded",
    frame: frame(EtherTypes.arp, arp(3, [MAC_A, A], [MAC_B, B]), { minimum: PADDED }),
    tcpdump: "ARP, Reverse Request who-is 02:00:00:00:00:02 tell 02:00:00:00:00:01, length 46"
  },
  {
    name: "a RARP reply, padded",
    frame: frame(EtherTypes.arp, arp(4, [MAC_A, A], [MAC_B, B]), { minimum: PADDED }),
    tcpdump: "ARP, Reverse Reply 02:00:00:00:00:02 at 10.0.2.1, length 46"
  },
  {
    name: "an InARP request, padded",
    frame: frame(EtherTypes.arp, arp(8, [MAC_A, A], [MAC_B, B]), { minimum: PADDED }),
    tcpdump: "ARP, Inverse Request who-is 02:00:00:00:00:02 tell 02:00:00:00:00:01, length 46"
  },
  {
    name: "an InARP reply, padded",
    frame: frame(EtherTypes.arp, arp(9, [MAC_A, A], [MAC_B, B]), { minimum: PADDED }),
    tcpdump: "ARP, Inverse Reply 02:00:00:00:00:01 at 10.0.1.1, length 46"
  },
  {
    // tcpdump follows this line with a hex dump of the packet; formatFrame prints the first line only.
    name: "an unknown operation, padded",
    frame: frame(EtherTypes.arp, arp(7, [MAC_A, A], [MAC_B, B]), { minimum: PADDED }),
    tcpdump: "ARP, Unknown (7) "
  },
  ...fragments(Ipv4Protocols.icmp, echo(8, 1, 1, 3000), 1480, 100).map((f, i) => ({
    name: `fragment ${i + 1} of 3 of a 3008-byte echo request`,
    frame: f,
    tcpdump: ["IP 10.0.1.1 > 10.0.2.1: ICMP echo request, id 1, seq 1, length 1480", "IP 10.0.1.1 > 10.0.2.1: ip-proto-1",
      "IP 10.0.1.1 > 10.0.2.1: ip-proto-1"][i]
  })),
  ...fragments(Ipv4Protocols.icmp, echo(0, 1, 1, 1000), 552, 101).map((f, i) => ({
    name: `fragment ${i + 1} of 2 of a 1008-byte echo reply`,
    frame: f,
    tcpdump: ["IP 10.0.1.1 > 10.0.2.1: ICMP echo reply, id 1, seq 1, length 552", "IP 10.0.1.1 > 10.0.2.1: ip-proto-1"][i]
  })),
  ...fragments(Ipv4Protocols.udp, udp(40000, 5005, 3000), 1480, 102).map((f, i) => ({
    name: `fragment ${i + 1} of 3 of a UDP datagram of 3000 bytes of data`,
    frame: f,
    tcpdump: ["IP 10.0.1.1.40000 > 10.0.2.1.5005: UDP, length 3000", "IP 10.0.1.1 > 10.0.2.1: ip-proto-17",
      "IP 10.0.1.1 > 10.0.2.1: ip-proto-17"][i]
  })),
  ...fragments(Ipv4Protocols.tcp, tcp(TcpFlags.psh | TcpFlags.ack, 3000), 1480, 103).map((f, i) => ({
    name: `fragment ${i + 1} of 3 of a TCP segment of 3000 bytes of data`,
    frame: f,
    tcpdump: [
      "IP 10.0.1.1.40000 > 10.0.2.1.45000: Flags [P.], seq 1000:2448, ack 2000, win 64240, options [nop,nop,TS val 1000 ecr 2000], length 1448",
      "IP 10.0.1.1 > 10.0.2.1: ip-proto-6",
      "IP 10.0.1.1 > 10.0.2.1: ip-proto-6"
    ][i]
  })),
  ...fragments(Ipv4Protocols.tcp, tcp(TcpFlags.syn, 0), 24, 104).map((f, i) => ({
    name: `fragment ${i + 1} of 2 of a SYN, its options cut by the fragment boundary`,
    frame: f,
    tcpdump: ["IP 10.0.1.1 > 10.0.2.1: proto TCP (6), ttl 63, id 104, flags [+], length 44 [|tcp.truncated]",
      "IP 10.0.1.1 > 10.0.2.1: ip-proto-6"][i]
  })),
  {
    name: "the first fragment of a UDP datagram in an 802.1Q-tagged frame",
    frame: frame(
      EtherTypes.ipv4,
      ipv4(Ipv4Protocols.udp, udp(40000, 5005, 2000).subarray(0, 1480), { identification: 105, offset: 0, more: true }),
      { vlanId: 20 }
    ),
    tcpdump: "IP 10.0.1.1.40000 > 10.0.2.1.5005: UDP, length 2000"
  }
]

/**
 * Lines where formatFrame differs from tcpdump on purpose: a first fragment
 * too short for its transport header is a defect here (`[|tcp.truncated]`
 * after the IP header), where tcpdump prints `IP 10.0.1.1.40000 >
 * 10.0.2.1.45000: Flags [S] [bad hdr length 32 - too long, > 24]`.
 */
const DIFFERENT_ON_PURPOSE: ReadonlyMap<string, string> = new Map([
  [
    "fragment 1 of 2 of a SYN, its options cut by the fragment boundary",
    "IP 10.0.1.1.40000 > 10.0.2.1.45000: Flags [S] [bad hdr length 32 - too long, > 24]"
  ]
])

const decode = (bytes: Uint8Array) => decodeFrame(PacketBuffer.wrap(bytes.slice()))

describe("formatFrame prints tcpdump's line", () => {
  for (const c of CASES) {
    it(c.name, () => {
      expect(formatFrame(decode(c.frame))).toBe(c.tcpdump)
    })
  }

  it("decodes a first fragment's transport header, its checksum unverified, and no header in later fragments", () => {
    const [first, middle, last] = fragments(Ipv4Protocols.udp, udp(40000, 5005, 3000), 1480, 106).map(decode)
    expect(first.defect).toBeUndefined()
    expect(first.layers.map((l) => l.layer)).toEqual(["ethernet", "ipv4", "udp"])
    const udpLayer = first.layers[2]
    expect(udpLayer?.layer === "udp" ? [udpLayer.header.length, udpLayer.checksum] : undefined).toEqual([3008, "unverified"])
    expect(first.payloadLength).toBe(1480 - 8)
    for (const later of [middle, last]) {
      expect(later.defect).toBeUndefined()
      expect(later.layers.map((l) => l.layer)).toEqual(["ethernet", "ipv4"])
    }
    expect(middle.payloadLength).toBe(1480)
    expect(last.payloadLength).toBe(3008 - 2960)
    const [tcpFirst] = fragments(Ipv4Protocols.tcp, tcp(TcpFlags.ack, 3000), 1480, 107).map(decode)
    const tcpLayer = tcpFirst.layers[2]
    expect(tcpLayer?.layer === "tcp" ? [tcpLayer.payloadLength, tcpLayer.checksum] : undefined).toEqual([1448, "unverified"])
    const [icmpFirst] = fragments(Ipv4Protocols.icmp, echo(8, 1, 1, 3000), 1480, 108).map(decode)
    const icmpLayer = icmpFirst.layers[2]
    expect(icmpLayer?.layer === "icmpv4" ? icmpLayer.checksum : undefined).toBe("unverified")
  })

  it("counts an ARP frame's padding in the bytes after the packet", () => {
    const padded = decode(frame(EtherTypes.arp, arp(REQUEST, [MAC_A, A], [ZERO_MAC, B]), { minimum: PADDED }))
    expect([padded.defect, padded.payloadLength]).toEqual([undefined, 18])
  })

  it.skipIf(skipReason("checking the recorded lines against tcpdump", ["tcpdump"]) !== undefined)(
    "the recorded lines are what this machine's tcpdump prints",
    () => {
      const out = withCapture(CASES.map((c) => c.frame), LINKTYPE_ETHERNET, (path) =>
        execFileSync("tcpdump", ["-n", "-tt", "-S", "-r", path], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }))
      // Lines starting with a tab are the hex dump tcpdump adds for an unknown ARP operation.
      const lines = out.split("\n").filter((l) => l.length > 0 && !l.startsWith("\t")).map((l) => l.replace(/^\d+\.\d{6} /, ""))
      expect(lines).toEqual(CASES.map((c) => DIFFERENT_ON_PURPOSE.get(c.name) ?? c.tcpdump))
    }
  )
})
