/** fast-check arbitraries of valid headers, in their typed representation. */
import fc from "fast-check"
import type { EthernetHeader } from "../ethernet/schema.ts"
import type { Port } from "../fields.ts"
import type { UdpHeader } from "../udp/schema.ts"
import { macAddress } from "./addresses.ts"

/** Any Ethernet II header; the common EtherTypes over-represented. */
export const ethernetHeader: fc.Arbitrary<EthernetHeader> = fc.record({
  destination: macAddress,
  source: macAddress,
  etherType: fc.oneof(fc.constantFrom(0x0800, 0x0806, 0x8100, 0x86dd), fc.integer({ min: 0, max: 0xffff }))
})

/** Any port. */
export const port = fc.integer({ min: 0, max: 0xffff }).map((p) => p as Port)

/** A UDP datagram: a header whose length matches its payload, and the payload. */
export const udpDatagram: fc.Arbitrary<{ readonly header: UdpHeader; readonly payload: Uint8Array }> = fc
  .record({
    sourcePort: port,
    destinationPort: port,
    checksum: fc.integer({ min: 0, max: 0xffff }),
    payload: fc.integer({ min: 0, max: 64 }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n }))
  })
  .map(({ payload, ...rest }) => ({ header: { ...rest, length: 8 + payload.length }, payload }))
