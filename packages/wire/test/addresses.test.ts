/** Address text forms: RFC 5952 vectors, the WHATWG URL serializer as an oracle, and round trips. */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import {
  Ipv4Address,
  ipv4FromString,
  ipv4ToNumber,
  ipv4ToString,
  Ipv6Address,
  ipv6FromString,
  ipv6ToString,
  isMulticastMac,
  MacAddress,
  macFromString,
  macToNumber,
  macToString,
  readMac,
  writeMac
} from "@netstack/wire"
import { ipv6AddressBytes } from "@netstack/wire/testing"
import { Schema } from "effect"

describe("MAC addresses", () => {
  it("round-trip through bytes, numbers and text", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), (mac) => {
        const bytes = new Uint8Array(8)
        writeMac(bytes, 1, mac)
        expect(readMac(bytes, 1)).toBe(mac)
        const text = macToString(mac)
        expect(Schema.is(MacAddress)(text)).toBe(true)
        expect(macFromString(text)).toBe(mac)
        expect(macToNumber(text)).toBe(mac)
        expect(isMulticastMac(mac)).toBe((bytes[1] & 1) === 1)
      })
    )
  })
  it("parses either separator and case, and refuses anything else", () => {
    expect(macFromString("02-00-5E-10-00-01")).toBe(0x02005e100001)
    expect(macFromString("02:00:5e:10:00")).toBeUndefined()
    expect(macFromString("02:00:5e:10:00:0g")).toBeUndefined()
    expect(Schema.is(MacAddress)("02:00:5E:10:00:01")).toBe(false)
  })
})

describe("IPv4 addresses", () => {
  it("round-trip and agree with the WHATWG URL host parser", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => {
        const text = ipv4ToString(n)
        expect(Schema.is(Ipv4Address)(text)).toBe(true)
        expect(ipv4FromString(text)).toBe(n)
        expect(ipv4ToNumber(text)).toBe(n)
        expect(new URL(`http://${text}/`).hostname).toBe(text)
      })
    )
  })
  it("refuses leading zeros, out-of-range octets and the wrong number of parts", () => {
    for (const bad of ["010.0.0.1", "256.0.0.1", "1.2.3", "1.2.3.4.5", "1..2.3", " 1.2.3.4"]) {
      expect(ipv4FromString(bad)).toBeUndefined()
      expect(Schema.is(Ipv4Address)(bad)).toBe(false)
    }
  })
})

describe("IPv6 addresses (RFC 5952)", () => {
  const vectors: ReadonlyArray<readonly [string, string]> = [
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"], // §4.1, §4.2.1
    ["2001:db8:0:0:0:0:2:1", "2001:db8::2:1"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"], // §4.2.2: one zero group is not compressed
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"], // §4.2.3: the longest run
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], // §4.2.3: the first of equal runs
    ["2001:DB8::AAAA", "2001:db8::aaaa"], // §4.3: lower case
    ["0:0:0:0:0:0:0:0", "::"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["fe80:0:0:0:0:0:0:0", "fe80::"],
    ["::ffff:c000:0201", "::ffff:192.0.2.1"] // §5: IPv4-mapped in dotted decimal
  ]
  it.each(vectors)("%s is written %s", (input, canonical) => {
    const bytes = ipv6FromString(input)
    expect(bytes).toBeDefined()
    if (bytes !== undefined) expect(ipv6ToString(bytes)).toBe(canonical)
    expect(Schema.is(Ipv6Address)(canonical)).toBe(true)
  })

  it("agrees with the WHATWG URL serializer (outside ::ffff:0:0/96) and round-trips", () => {
    fc.assert(
      fc.property(ipv6AddressBytes, (bytes) => {
        const text = ipv6ToString(bytes)
        expect([...(ipv6FromString(text) ?? [])]).toEqual([...bytes])
        expect(Schema.is(Ipv6Address)(text)).toBe(true)
        if (!text.startsWith("::ffff:")) expect(new URL(`http://[${text}]/`).hostname).toBe(`[${text}]`)
      }),
      { numRuns: 500 }
    )
  })

  it("refuses malformed text", () => {
    for (const bad of ["1::2::3", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "12345::", "::1.2.3", "1.2.3.4::", "g::"]) {
      expect(ipv6FromString(bad)).toBeUndefined()
    }
    expect(Schema.is(Ipv6Address)("2001:DB8::1")).toBe(false)
    expect(Schema.is(Ipv6Address)("2001:db8:0:0:0:0:0:1")).toBe(false)
  })
})
