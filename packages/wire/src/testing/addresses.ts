/** fast-check arbitraries of addresses, in canonical text (the typed representation). */
import fc from "fast-check"
import { ipv4ToString } from "../addresses/ipv4.ts"
import { ipv6ToString } from "../addresses/ipv6.ts"
import { macToString } from "../addresses/mac.ts"

/** Any MAC address, with broadcast and multicast ones over-represented. */
export const macAddress = fc
  .oneof(
    { weight: 8, arbitrary: fc.integer({ min: 0, max: 2 ** 48 - 1 }) },
    { weight: 1, arbitrary: fc.constant(2 ** 48 - 1) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 2 ** 24 - 1 }).map((n) => 0x01005e000000 + (n & 0x7fffff)) }
  )
  .map(macToString)

/** Any IPv4 address. */
export const ipv4Address = fc.integer({ min: 0, max: 0xffffffff }).map(ipv4ToString)

/** 16 address bytes with long zero runs and IPv4-mapped forms over-represented, so `::` cases appear. */
export const ipv6AddressBytes = fc.oneof(
  fc.uint8Array({ minLength: 16, maxLength: 16 }),
  fc
    .array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 })
    .map((groups) => Uint8Array.from(groups.flatMap((g) => [g >>> 8, g & 0xff]))),
  fc.uint8Array({ minLength: 4, maxLength: 4 }).map((v4) => Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...v4))
)

/** Any IPv6 address in RFC 5952 text. */
export const ipv6Address = ipv6AddressBytes.map((bytes) => ipv6ToString(bytes))
