/** Frames the benchmarks send. */
import { ipv4PseudoHeaderSum, PacketBuffer } from "@netstack/buffers"
import { emitEthernet, emitIpv4, emitUdp } from "@netstack/wire"

/** A UDP/IPv4 Ethernet frame of `length` bytes in all (at least 42), with valid checksums. */
export const udpFrameBytes = (length: number): Uint8Array => {
  const payload = Math.max(0, length - 42)
  const buffer = PacketBuffer.fromBytes(new Uint8Array(payload), 64)
  emitUdp(buffer, { sourcePort: 1, destinationPort: 2 }, {
    mode: "full",
    pseudoHeaderSum: ipv4PseudoHeaderSum(0x0a000001, 0x0a000002, 17, 8 + payload)
  })
  emitIpv4(buffer, {
    dscp: 0, ecn: 0, identification: 0, reservedFlag: false, dontFragment: true, moreFragments: false,
    fragmentOffset: 0, ttl: 64, protocol: 17, source: 0x0a000001, destination: 0x0a000002
  })
  emitEthernet(buffer, { destination: 1, source: 2, etherType: 0x0800 })
  return buffer.toUint8Array()
}
