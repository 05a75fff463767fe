import assert from "node:assert/strict"
import { ipv4PseudoHeaderSum, PacketBuffer } from "@netstack/buffers"
import { decodeFrame, emitEthernet, emitIpv4, emitUdp, formatFrame, ipv4FromString, Ipv4View, UdpView } from "@netstack/wire"

// Build a datagram the way the stack does: payload first, then each header pushed in front.
const source = ipv4FromString("10.0.0.1") ?? 0
const destination = ipv4FromString("10.0.0.2") ?? 0
const frame = PacketBuffer.fromBytes(new TextEncoder().encode("ping"), 64)
emitUdp(frame, { sourcePort: 40000, destinationPort: 7 }, {
  mode: "full",
  pseudoHeaderSum: ipv4PseudoHeaderSum(source, destination, 17, 8 + 4)
})
emitIpv4(frame, {
  dscp: 0, ecn: 0, identification: 1, reservedFlag: false, dontFragment: true, moreFragments: false,
  fragmentOffset: 0, ttl: 64, protocol: 17, source, destination
})
emitEthernet(frame, { destination: 0x020000000002, source: 0x020000000001, etherType: 0x0800 })

// The hot path: zero-copy views that validate once, then read fields straight from the bytes.
const ip = Ipv4View.parse(frame, 14)
assert.ok(ip instanceof Ipv4View && ip.verifyChecksum())
const udp = UdpView.parse(frame, ip.payloadOffset)
assert.ok(udp instanceof UdpView && udp.verifyChecksum(ip.pseudoHeaderSum(17, udp.length), true))
assert.equal(udp.destinationPort, 7)

// Bad input is a named defect, never a throw.
const refused = Ipv4View.parse(PacketBuffer.wrap(new Uint8Array(7)))
assert.ok(!(refused instanceof Ipv4View) && refused.name === "ipv4.truncated")

// The slow path: every layer typed (Effect Schema representations), rendered as tcpdump would.
assert.equal(
  formatFrame(decodeFrame(frame)),
  "IP 10.0.0.1.40000 > 10.0.0.2.7: UDP, length 4"
)
