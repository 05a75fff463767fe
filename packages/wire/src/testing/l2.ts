/** fast-check arbitraries of valid link-layer headers: 802.1Q tags and Ethernet/IPv4 ARP packets. */
import fc from "fast-check"
import { ARP_ETHERNET_IPV4, type ArpPacket } from "../arp/schema.ts"
import type { VlanTag } from "../vlan/schema.ts"
import { ipv4Address, macAddress } from "./addresses.ts"

/** Any 802.1Q tag; the special VIDs (0, 1, 4094, 4095) and the common inner EtherTypes over-represented. */
export const vlanTag: fc.Arbitrary<VlanTag> = fc.record({
  priority: fc.integer({ min: 0, max: 7 }),
  dropEligible: fc.boolean(),
  vlanId: fc.oneof(fc.constantFrom(0, 1, 4094, 4095), fc.integer({ min: 0, max: 4095 })),
  etherType: fc.oneof(fc.constantFrom(0x0800, 0x0806, 0x86dd, 0x8100), fc.integer({ min: 0, max: 0xffff }))
})

/**
 * Any Ethernet/IPv4 ARP packet: requests and replies over-represented, but
 * every operation code drawn; the target MAC often all zeros (as in a
 * request), and the target IPv4 sometimes the sender's (a gratuitous ARP).
 */
export const arpPacket: fc.Arbitrary<ArpPacket> = fc
  .record({
    operation: fc.oneof(fc.constantFrom(1, 2), fc.integer({ min: 0, max: 0xffff })),
    senderMac: macAddress,
    senderIpv4: ipv4Address,
    targetMac: fc.oneof(fc.constant("00:00:00:00:00:00" as ArpPacket["targetMac"]), macAddress),
    targetIpv4: ipv4Address,
    gratuitous: fc.integer({ min: 0, max: 3 }).map((n) => n === 0)
  })
  .map(({ gratuitous, ...packet }): ArpPacket => ({
    ...ARP_ETHERNET_IPV4,
    ...packet,
    targetIpv4: gratuitous ? packet.senderIpv4 : packet.targetIpv4
  }))
