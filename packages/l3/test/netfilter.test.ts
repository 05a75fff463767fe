/**
 * The filter hooks: verdicts (accept, drop, reject with each ICMP code),
 * first match wins, policies, every match field with and without `!`,
 * counters, `empty`, invalid rules refused with nothing changed, the
 * `iptables -L -v -n` text, and a property test against a naive reference
 * evaluator.
 */
import { describe, expect, it } from "@effect/vitest"
import {
  ACCEPT,
  DROP,
  type Hook,
  HOOKS,
  InvalidRule,
  Netfilter,
  type PacketInfo,
  type Policy,
  REJECT_WITH,
  type RejectWith,
  type Rule,
  type RuleMatch,
  RuleNotFound,
  type Verdict
} from "@netstack/l3"
import { ipv4FromString } from "@netstack/wire"
import fc from "fast-check"

const TCP = 6
const UDP = 17
const ICMP = 1

/** The 32-bit number of dotted text (the tests only use valid text). */
const ip = (text: string): number => {
  const value = ipv4FromString(text)
  if (value === undefined) throw new Error(`bad address in test: ${text}`)
  return value
}

/** A TCP packet from 192.0.2.1:40000 to 10.0.0.5:22 in on eth0, out on eth1, 100 bytes; `fields` override. */
const packet = (fields: Partial<PacketInfo> = {}): PacketInfo => ({
  source: ip("192.0.2.1"),
  destination: ip("10.0.0.5"),
  protocol: TCP,
  sourcePort: 40000,
  destinationPort: 22,
  length: 100,
  inInterface: "eth0",
  outInterface: "eth1",
  ...fields
})

const rule = (match: RuleMatch, verdict: Verdict = "drop", extra: Partial<Rule> = {}): Rule => ({ match, verdict, ...extra })

/** A filter with one rule on forward; the verdict for `info`. */
const verdictOf = (match: RuleMatch, info: PacketInfo): Verdict => {
  const filter = new Netfilter()
  expect(filter.append("forward", rule(match))).toBeUndefined()
  return filter.evaluate("forward", info).verdict
}

describe("verdicts and policies", () => {
  it("accepts everything with no rules, every hook empty", () => {
    const filter = new Netfilter()
    for (const hook of HOOKS) {
      expect(filter.isEmpty(hook)).toBe(true)
      expect(filter.empty[hook]).toBe(true)
      expect(filter.evaluate(hook, packet())).toBe(ACCEPT)
      expect(filter.policy(hook)).toEqual({ policy: "accept", packets: 1, bytes: 100 })
    }
  })

  it("returns shared frozen decisions: accept, drop, reject with each code", () => {
    const filter = new Netfilter()
    expect(filter.append("input", rule({ destinationPort: 1, protocol: TCP }, "accept"))).toBeUndefined()
    expect(filter.append("input", rule({ destinationPort: 2, protocol: TCP }, "drop"))).toBeUndefined()
    expect(filter.append("input", rule({ destinationPort: 3, protocol: TCP }, "reject"))).toBeUndefined()
    REJECT_WITH.forEach((code, i) => {
      expect(filter.append("input", rule({ destinationPort: 10 + i, protocol: TCP }, "reject", { rejectWith: code }))).toBeUndefined()
    })
    const at = (port: number) => filter.evaluate("input", packet({ destinationPort: port }))
    expect(at(1)).toBe(ACCEPT)
    expect(at(2)).toBe(DROP)
    expect(at(3)).toEqual({ verdict: "reject", rejectWith: "icmp-port-unreachable" })
    REJECT_WITH.forEach((code, i) => {
      const decision = at(10 + i)
      expect(decision).toEqual({ verdict: "reject", rejectWith: code })
      expect(at(10 + i)).toBe(decision)
      expect(Object.isFrozen(decision)).toBe(true)
    })
    expect(at(3)).toBe(at(12)) // the default code is the shared port-unreachable decision
    expect(Object.isFrozen(ACCEPT) && Object.isFrozen(DROP)).toBe(true)
    expect(at(99)).toBe(ACCEPT)
  })

  it("lets the first matching rule decide; insert and delete count positions from 1", () => {
    const filter = new Netfilter()
    expect(filter.append("input", rule({ protocol: TCP }, "drop"))).toBeUndefined()
    expect(filter.append("input", rule({}, "reject", { rejectWith: "icmp-admin-prohibited" }))).toBeUndefined()
    expect(filter.evaluate("input", packet()).verdict).toBe("drop")
    expect(filter.evaluate("input", packet({ protocol: UDP })).rejectWith).toBe("icmp-admin-prohibited")
    expect(filter.insert("input", 1, rule({ destinationPort: 22, protocol: TCP }, "accept"))).toBeUndefined()
    expect(filter.evaluate("input", packet()).verdict).toBe("accept")
    expect(filter.evaluate("input", packet({ destinationPort: 23 })).verdict).toBe("drop")
    // Position length + 1 appends.
    expect(filter.insert("input", 4, rule({}, "accept"))).toBeUndefined()
    expect(filter.list("input").map((r) => r.rule.verdict)).toEqual(["accept", "drop", "reject", "accept"])
    expect(filter.delete("input", 2)).toBeUndefined()
    expect(filter.evaluate("input", packet({ destinationPort: 23 })).verdict).toBe("reject")
    expect(filter.delete("input", 1)).toBeUndefined()
    expect(filter.list("input").map((r) => r.rule.verdict)).toEqual(["reject", "accept"])
  })

  it("refuses positions outside the chain, changing nothing", () => {
    const filter = new Netfilter()
    expect(filter.append("input", rule({}, "drop"))).toBeUndefined()
    for (const position of [0, 3, -1, 1.5, Number.NaN]) {
      expect(filter.insert("input", position, rule({}, "accept"))).toBeInstanceOf(InvalidRule)
    }
    for (const position of [0, 2, -1, 1.5]) {
      const error = filter.delete("input", position)
      expect(error).toBeInstanceOf(RuleNotFound)
      expect(error?._tag).toBe("RuleNotFound")
    }
    expect(filter.list("input").length).toBe(1)
    expect(filter.delete("forward", 1)).toBeInstanceOf(RuleNotFound)
  })

  it("applies the policy when no rule matches; a drop policy makes the hook non-empty", () => {
    const filter = new Netfilter()
    expect(filter.setPolicy("forward", "drop")).toBeUndefined()
    expect(filter.isEmpty("forward")).toBe(false)
    expect(filter.empty.forward).toBe(false)
    expect(filter.evaluate("forward", packet())).toBe(DROP)
    expect(filter.append("forward", rule({ inInterface: "eth0" }, "accept"))).toBeUndefined()
    expect(filter.evaluate("forward", packet())).toBe(ACCEPT)
    expect(filter.evaluate("forward", packet({ inInterface: "eth2" }))).toBe(DROP)
    expect(filter.policy("forward")).toEqual({ policy: "drop", packets: 2, bytes: 200 })
    expect(filter.setPolicy("forward", "accept")).toBeUndefined()
    expect(filter.isEmpty("forward")).toBe(false) // a rule remains
    expect(filter.flush("forward")).toBe(1)
    expect(filter.isEmpty("forward")).toBe(true)
    expect(filter.evaluate("forward", packet({ inInterface: "eth2" }))).toBe(ACCEPT)
  })

  it("is empty only with no rules and an accepting policy, per hook", () => {
    const filter = new Netfilter()
    expect(filter.append("output", rule({}, "accept"))).toBeUndefined()
    expect(HOOKS.map((h) => filter.isEmpty(h))).toEqual([true, true, true, false, true])
    expect(filter.setPolicy("prerouting", "drop")).toBeUndefined()
    expect(HOOKS.map((h) => filter.empty[h])).toEqual([false, true, true, false, true])
    expect(filter.delete("output", 1)).toBeUndefined()
    expect(filter.setPolicy("prerouting", "accept")).toBeUndefined()
    expect(HOOKS.every((h) => filter.isEmpty(h))).toBe(true)
  })

  it("flushes one hook or all of them, keeping policies", () => {
    const filter = new Netfilter()
    for (const hook of HOOKS) expect(filter.append(hook, rule({}, "accept"))).toBeUndefined()
    expect(filter.append("input", rule({}, "drop"))).toBeUndefined()
    expect(filter.setPolicy("input", "drop")).toBeUndefined()
    expect(filter.flush("input")).toBe(2)
    expect(filter.flush("input")).toBe(0)
    expect(filter.flush()).toBe(4)
    expect(HOOKS.map((h) => filter.list(h).length)).toEqual([0, 0, 0, 0, 0])
    expect(filter.policy("input").policy).toBe("drop")
  })
})

describe("match fields", () => {
  it("matches source and destination prefixes, host bits masked as iptables does", () => {
    expect(verdictOf({ source: { address: ip("192.0.2.0"), prefixLength: 24 } }, packet())).toBe("drop")
    expect(verdictOf({ source: { address: ip("192.0.3.0"), prefixLength: 24 } }, packet())).toBe("accept")
    expect(verdictOf({ source: { address: ip("192.0.2.77"), prefixLength: 24 } }, packet())).toBe("drop")
    expect(verdictOf({ source: { address: ip("192.0.2.1"), prefixLength: 32 } }, packet())).toBe("drop")
    expect(verdictOf({ source: { address: ip("192.0.2.2"), prefixLength: 32 } }, packet())).toBe("accept")
    expect(verdictOf({ source: { address: ip("1.2.3.4"), prefixLength: 0 } }, packet())).toBe("drop")
    expect(verdictOf({ destination: { address: ip("10.0.0.0"), prefixLength: 8 } }, packet())).toBe("drop")
    expect(verdictOf({ destination: { address: ip("11.0.0.0"), prefixLength: 8 } }, packet())).toBe("accept")
    // High addresses (above 2^31) compare right.
    const high = packet({ source: ip("255.255.255.254"), destination: ip("224.0.0.251") })
    expect(verdictOf({ source: { address: ip("255.255.255.0"), prefixLength: 24 } }, high)).toBe("drop")
    expect(verdictOf({ destination: { address: ip("224.0.0.0"), prefixLength: 4 } }, high)).toBe("drop")
    expect(verdictOf({ destination: { address: ip("240.0.0.0"), prefixLength: 4 } }, high)).toBe("accept")
    const filter = new Netfilter()
    expect(filter.append("input", rule({ source: { address: ip("10.1.2.3"), prefixLength: 8 } }))).toBeUndefined()
    expect(filter.list("input")[0]?.rule.match.source).toEqual({ address: ip("10.0.0.0"), prefixLength: 8 })
  })

  it("matches the protocol", () => {
    expect(verdictOf({ protocol: TCP }, packet())).toBe("drop")
    expect(verdictOf({ protocol: UDP }, packet())).toBe("accept")
    expect(verdictOf({ protocol: ICMP }, packet({ protocol: ICMP, sourcePort: -1, destinationPort: -1 }))).toBe("drop")
    expect(verdictOf({ protocol: 255 }, packet({ protocol: 255 }))).toBe("drop")
  })

  it("matches ports and inclusive port ranges", () => {
    expect(verdictOf({ protocol: TCP, destinationPort: 22 }, packet())).toBe("drop")
    expect(verdictOf({ protocol: TCP, destinationPort: 23 }, packet())).toBe("accept")
    expect(verdictOf({ protocol: TCP, sourcePort: 40000 }, packet())).toBe("drop")
    expect(verdictOf({ protocol: TCP, sourcePort: 40001 }, packet())).toBe("accept")
    const range = { protocol: UDP, destinationPort: [1000, 2000] as const }
    for (const [port, verdict] of [[999, "accept"], [1000, "drop"], [1500, "drop"], [2000, "drop"], [2001, "accept"]] as const) {
      expect(verdictOf(range, packet({ protocol: UDP, destinationPort: port }))).toBe(verdict)
    }
    expect(verdictOf({ protocol: TCP, sourcePort: [0, 65535] }, packet({ sourcePort: 0 }))).toBe("drop")
    expect(verdictOf({ protocol: TCP, sourcePort: [65535, 65535] }, packet({ sourcePort: 65535 }))).toBe("drop")
    expect(verdictOf({ protocol: TCP, sourcePort: 40000, destinationPort: 22 }, packet())).toBe("drop")
    expect(verdictOf({ protocol: TCP, sourcePort: 40000, destinationPort: 21 }, packet())).toBe("accept")
  })

  it("never matches a port rule on a packet without ports (a later fragment), even inverted", () => {
    const fragment = packet({ sourcePort: -1, destinationPort: -1 })
    expect(verdictOf({ protocol: TCP, destinationPort: [0, 65535] }, fragment)).toBe("accept")
    expect(verdictOf({ protocol: TCP, destinationPort: 22, invert: { destinationPort: true } }, fragment)).toBe("accept")
    expect(verdictOf({ protocol: TCP, sourcePort: 1, invert: { sourcePort: true } }, fragment)).toBe("accept")
    expect(verdictOf({ protocol: TCP }, fragment)).toBe("drop")
  })

  it("matches interfaces by name or by prefix with +", () => {
    expect(verdictOf({ inInterface: "eth0" }, packet())).toBe("drop")
    expect(verdictOf({ inInterface: "eth1" }, packet())).toBe("accept")
    expect(verdictOf({ inInterface: "eth" }, packet())).toBe("accept")
    expect(verdictOf({ inInterface: "eth+" }, packet())).toBe("drop")
    expect(verdictOf({ inInterface: "wlan+" }, packet())).toBe("accept")
    expect(verdictOf({ inInterface: "+" }, packet())).toBe("drop")
    expect(verdictOf({ outInterface: "eth1" }, packet())).toBe("drop")
    expect(verdictOf({ outInterface: "eth0" }, packet())).toBe("accept")
    expect(verdictOf({ outInterface: "eth1+" }, packet({ outInterface: "eth1.100" }))).toBe("drop")
    expect(verdictOf({ inInterface: "eth0", outInterface: "eth1" }, packet())).toBe("drop")
    expect(verdictOf({ inInterface: "eth0", outInterface: "eth0" }, packet())).toBe("accept")
    // An absent interface is the empty name: no name matches it, its negation does.
    expect(verdictOf({ outInterface: "eth1" }, packet({ outInterface: undefined }))).toBe("accept")
    expect(verdictOf({ outInterface: "eth1", invert: { outInterface: true } }, packet({ outInterface: undefined }))).toBe("drop")
  })

  it("inverts each field with invert (iptables' !)", () => {
    const cases: ReadonlyArray<readonly [RuleMatch, "drop" | "accept"]> = [
      [{ source: { address: ip("192.0.2.0"), prefixLength: 24 }, invert: { source: true } }, "accept"],
      [{ source: { address: ip("198.51.100.0"), prefixLength: 24 }, invert: { source: true } }, "drop"],
      [{ destination: { address: ip("10.0.0.0"), prefixLength: 8 }, invert: { destination: true } }, "accept"],
      [{ destination: { address: ip("11.0.0.0"), prefixLength: 8 }, invert: { destination: true } }, "drop"],
      [{ protocol: TCP, invert: { protocol: true } }, "accept"],
      [{ protocol: UDP, invert: { protocol: true } }, "drop"],
      [{ protocol: TCP, sourcePort: 40000, invert: { sourcePort: true } }, "accept"],
      [{ protocol: TCP, sourcePort: [1, 1024], invert: { sourcePort: true } }, "drop"],
      [{ protocol: TCP, destinationPort: [20, 25], invert: { destinationPort: true } }, "accept"],
      [{ protocol: TCP, destinationPort: 80, invert: { destinationPort: true } }, "drop"],
      [{ inInterface: "eth0", invert: { inInterface: true } }, "accept"],
      [{ inInterface: "wlan+", invert: { inInterface: true } }, "drop"],
      [{ outInterface: "eth1", invert: { outInterface: true } }, "accept"],
      [{ outInterface: "eth0", invert: { outInterface: true } }, "drop"],
      // Inversions combine with the other fields (all must hold).
      [{ protocol: TCP, destinationPort: 80, inInterface: "eth0", invert: { destinationPort: true } }, "drop"],
      [{ protocol: TCP, destinationPort: 80, inInterface: "eth1", invert: { destinationPort: true } }, "accept"],
      // invert: false is no inversion.
      [{ protocol: TCP, invert: { protocol: false } }, "drop"]
    ]
    for (const [match, verdict] of cases) expect(verdictOf(match, packet())).toBe(verdict)
  })
})

describe("counters", () => {
  it("counts the packets and bytes each rule and each policy decided; zero() resets them", () => {
    const filter = new Netfilter()
    expect(filter.append("input", rule({ protocol: TCP, destinationPort: 22 }, "accept"))).toBeUndefined()
    expect(filter.append("input", rule({ protocol: UDP }, "drop"))).toBeUndefined()
    filter.evaluate("input", packet({ length: 60 }))
    filter.evaluate("input", packet({ length: 1500 }))
    filter.evaluate("input", packet({ protocol: UDP, length: 200 }))
    filter.evaluate("input", packet({ protocol: ICMP, length: 84 }))
    filter.evaluate("output", packet({ length: 40 }))
    expect(filter.list("input").map(({ packets, bytes }) => [packets, bytes])).toEqual([[2, 1560], [1, 200]])
    expect(filter.policy("input")).toEqual({ policy: "accept", packets: 1, bytes: 84 })
    expect(filter.policy("output")).toEqual({ policy: "accept", packets: 1, bytes: 40 })
    filter.zero("output")
    expect(filter.policy("output").packets).toBe(0)
    expect(filter.list("input")[0]?.packets).toBe(2)
    filter.zero()
    expect(filter.list("input").map(({ packets, bytes }) => [packets, bytes])).toEqual([[0, 0], [0, 0]])
    expect(filter.policy("input")).toEqual({ policy: "accept", packets: 0, bytes: 0 })
  })

  it("keeps a rule's counters when others are inserted before it", () => {
    const filter = new Netfilter()
    expect(filter.append("forward", rule({}, "accept"))).toBeUndefined()
    filter.evaluate("forward", packet())
    expect(filter.insert("forward", 1, rule({ protocol: ICMP }, "drop"))).toBeUndefined()
    expect(filter.list("forward").map((r) => r.packets)).toEqual([0, 1])
  })
})

describe("invalid rules", () => {
  const bad: ReadonlyArray<readonly [string, Hook, Rule]> = [
    ["port above 65535", "input", rule({ protocol: TCP, destinationPort: 65536 })],
    ["negative port", "input", rule({ protocol: TCP, sourcePort: -1 })],
    ["fractional port", "input", rule({ protocol: TCP, sourcePort: 1.5 })],
    ["range from above to", "input", rule({ protocol: TCP, destinationPort: [2000, 1000] })],
    ["range beyond 65535", "input", rule({ protocol: UDP, destinationPort: [1, 70000] })],
    ["ports without a protocol", "input", rule({ destinationPort: 22 })],
    ["ports with ICMP", "input", rule({ protocol: ICMP, destinationPort: 22 })],
    ["ports with an inverted protocol", "input", rule({ protocol: TCP, destinationPort: 22, invert: { protocol: true } })],
    ["prefix length 33", "input", rule({ source: { address: 0, prefixLength: 33 } })],
    ["prefix length -1", "input", rule({ destination: { address: 0, prefixLength: -1 } })],
    ["negative address", "input", rule({ source: { address: -1, prefixLength: 8 } })],
    ["address above 32 bits", "input", rule({ destination: { address: 2 ** 32, prefixLength: 8 } })],
    ["protocol 0", "input", rule({ protocol: 0 })],
    ["protocol 256", "input", rule({ protocol: 256 })],
    ["empty interface", "forward", rule({ inInterface: "" })],
    ["interface longer than 15", "forward", rule({ outInterface: "a-very-long-name" })],
    ["+ inside a name", "forward", rule({ inInterface: "e+th" })],
    ["-i on output", "output", rule({ inInterface: "eth0" })],
    ["-i on postrouting", "postrouting", rule({ inInterface: "eth0" })],
    ["-o on input", "input", rule({ outInterface: "eth0" })],
    ["-o on prerouting", "prerouting", rule({ outInterface: "eth0" })],
    ["reject on prerouting", "prerouting", rule({}, "reject")],
    ["reject on postrouting", "postrouting", rule({}, "reject")],
    ["rejectWith on drop", "input", rule({}, "drop", { rejectWith: "icmp-host-unreachable" })],
    ["inverting an absent field", "input", rule({ protocol: TCP, invert: { source: true } })],
    ["comment over 256 characters", "input", rule({}, "drop", { comment: "x".repeat(257) })]
  ]
  it.each(bad)("refuses %s, changing nothing", (_, hook, bad) => {
    const filter = new Netfilter()
    expect(filter.append(hook, rule({}, "accept"))).toBeUndefined()
    const before = filter.format()
    const appended = filter.append(hook, bad)
    expect(appended).toBeInstanceOf(InvalidRule)
    expect(appended?._tag).toBe("InvalidRule")
    expect(filter.insert(hook, 1, bad)).toBeInstanceOf(InvalidRule)
    expect(filter.format()).toBe(before)
    expect(filter.list(hook).length).toBe(1)
  })

  it("refuses what the types forbid, from untyped callers", () => {
    const filter = new Netfilter()
    // Values a JavaScript caller could pass; the casts only get them past the compiler.
    const badVerdict = { match: {}, verdict: "log" } as unknown as Rule
    const badCode = { match: {}, verdict: "reject", rejectWith: "tcp-reset" } as unknown as Rule
    const badHook = "nat" as unknown as Hook
    const badInvert = { match: { protocol: TCP, invert: { ttl: true } }, verdict: "drop" } as unknown as Rule
    expect(filter.append("input", badVerdict)).toBeInstanceOf(InvalidRule)
    expect(filter.append("input", badCode)).toBeInstanceOf(InvalidRule)
    expect(filter.append("input", badInvert)).toBeInstanceOf(InvalidRule)
    expect(filter.append(badHook, rule({}))).toBeInstanceOf(InvalidRule)
    expect(filter.delete(badHook, 1)).toBeInstanceOf(InvalidRule)
    expect(filter.setPolicy("input", "reject" as unknown as Policy)).toBeInstanceOf(InvalidRule)
    expect(filter.setPolicy(badHook, "drop")).toBeInstanceOf(InvalidRule)
    expect(filter.isEmpty("input")).toBe(true)
  })

  it("accepts the boundaries: ports 0 and 65535, prefixes /0 and /32, protocol 255, 15-character names", () => {
    const filter = new Netfilter()
    const good: ReadonlyArray<Rule> = [
      rule({ protocol: TCP, sourcePort: 0, destinationPort: 65535 }),
      rule({ protocol: UDP, sourcePort: [0, 0], destinationPort: [0, 65535] }),
      rule({
        source: { address: ip("255.255.255.255"), prefixLength: 0 },
        destination: { address: ip("255.255.255.255"), prefixLength: 32 }
      }),
      rule({ protocol: 255 }),
      rule({ inInterface: "abcdefghijklmno", outInterface: "+" }),
      rule({}, "drop", { comment: "x".repeat(256) })
    ]
    for (const r of good) expect(filter.append("forward", r)).toBeUndefined()
    expect(filter.list("forward")[2]?.rule.match.source).toEqual({ address: 0, prefixLength: 0 })
  })
})

describe("format", () => {
  it("prints every chain as iptables -L -v -n does", () => {
    const filter = new Netfilter()
    expect(filter.setPolicy("input", "drop")).toBeUndefined()
    expect(filter.append("input", rule({ inInterface: "lo" }, "accept"))).toBeUndefined()
    expect(filter.append("input", rule({ protocol: TCP, destinationPort: 22 }, "accept", { comment: "ssh" }))).toBeUndefined()
    expect(
      filter.append(
        "input",
        rule(
          { protocol: UDP, source: { address: ip("10.0.0.0"), prefixLength: 8 }, destinationPort: [1000, 2000], invert: { source: true } },
          "reject",
          { rejectWith: "icmp-admin-prohibited" }
        )
      )
    ).toBeUndefined()
    expect(
      filter.append(
        "forward",
        rule(
          {
            protocol: TCP,
            inInterface: "eth+",
            outInterface: "eth1",
            destination: { address: ip("192.0.2.7"), prefixLength: 32 },
            sourcePort: 80,
            invert: { outInterface: true, sourcePort: true }
          },
          "drop"
        )
      )
    ).toBeUndefined()
    expect(filter.append("output", rule({ protocol: 47, invert: { protocol: true } }, "accept"))).toBeUndefined()
    filter.evaluate("input", packet({ inInterface: "lo", length: 123456 }))
    filter.evaluate("input", packet({ inInterface: "eth0", protocol: ICMP, length: 84 }))
    expect(filter.format()).toBe([
      "Chain PREROUTING (policy ACCEPT 0 packets, 0 bytes)",
      " pkts bytes target     prot opt in     out     source               destination",
      "",
      "Chain INPUT (policy DROP 1 packets, 84 bytes)",
      " pkts bytes target     prot opt in     out     source               destination",
      "    1  123K ACCEPT     all  --  lo     *       0.0.0.0/0            0.0.0.0/0",
      "    0     0 ACCEPT     tcp  --  *      *       0.0.0.0/0            0.0.0.0/0            tcp dpt:22 /* ssh */",
      "    0     0 REJECT     udp  --  *      *      !10.0.0.0/8           0.0.0.0/0            udp dpts:1000:2000 reject-with icmp-admin-prohibited",
      "",
      "Chain FORWARD (policy ACCEPT 0 packets, 0 bytes)",
      " pkts bytes target     prot opt in     out     source               destination",
      "    0     0 DROP       tcp  --  eth+   !eth1   0.0.0.0/0            192.0.2.7            tcp spt:!80",
      "",
      "Chain OUTPUT (policy ACCEPT 0 packets, 0 bytes)",
      " pkts bytes target     prot opt in     out     source               destination",
      "    0     0 ACCEPT    !47   --  *      *       0.0.0.0/0            0.0.0.0/0",
      "",
      "Chain POSTROUTING (policy ACCEPT 0 packets, 0 bytes)",
      " pkts bytes target     prot opt in     out     source               destination"
    ].join("\n"))
    expect(filter.format("output").split("\n").length).toBe(3)
  })
})

// ---------------------------------------------------------------------------------------------- property test

/** The naive reference: shifts instead of masks, ports and names compared directly. */
const referenceMatch = (m: RuleMatch, p: PacketInfo): boolean => {
  const inv = (field: keyof NonNullable<RuleMatch["invert"]>): boolean => m.invert?.[field] === true
  const inPrefix = (address: number, net: { address: number; prefixLength: number }): boolean =>
    net.prefixLength === 0 || address >>> (32 - net.prefixLength) === net.address >>> (32 - net.prefixLength)
  const inPorts = (port: number, spec: number | readonly [number, number]): boolean =>
    typeof spec === "number" ? port === spec : spec[0] <= port && port <= spec[1]
  const named = (actual: string | undefined, name: string): boolean =>
    name.endsWith("+") ? (actual ?? "").startsWith(name.slice(0, -1)) : (actual ?? "") === name
  if (m.source !== undefined && inPrefix(p.source, m.source) === inv("source")) return false
  if (m.destination !== undefined && inPrefix(p.destination, m.destination) === inv("destination")) return false
  if (m.protocol !== undefined && (p.protocol === m.protocol) === inv("protocol")) return false
  if (m.sourcePort !== undefined && (p.sourcePort === -1 || inPorts(p.sourcePort, m.sourcePort) === inv("sourcePort"))) return false
  if (
    m.destinationPort !== undefined &&
    (p.destinationPort === -1 || inPorts(p.destinationPort, m.destinationPort) === inv("destinationPort"))
  ) return false
  if (m.inInterface !== undefined && named(p.inInterface, m.inInterface) === inv("inInterface")) return false
  if (m.outInterface !== undefined && named(p.outInterface, m.outInterface) === inv("outInterface")) return false
  return true
}

const addressPool = fc.tuple(fc.constantFrom(10, 192, 255, 0), fc.integer({ min: 0, max: 0xffffff }), fc.nat(3)).map(
  ([first, rest, spread]) => ((first << 24) | (spread === 0 ? rest : rest & (0xffffff << (8 * spread)))) >>> 0
)
const portArb = fc.oneof(fc.constantFrom(0, 22, 80, 443, 1000, 65535), fc.integer({ min: 0, max: 65535 }))
const portMatchArb = fc.oneof(
  portArb,
  fc.tuple(portArb, portArb).map(([a, b]) => (a <= b ? [a, b] as const : [b, a] as const))
)
const names = ["eth0", "eth1", "wlan0", "lo", "eth0.5"] as const
const matchArb: fc.Arbitrary<RuleMatch> = fc.record({
  source: fc.option(fc.record({ address: addressPool, prefixLength: fc.integer({ min: 0, max: 32 }) }), { nil: undefined }),
  destination: fc.option(fc.record({ address: addressPool, prefixLength: fc.integer({ min: 0, max: 32 }) }), { nil: undefined }),
  protocol: fc.option(fc.constantFrom(ICMP, TCP, UDP, 47), { nil: undefined }),
  sourcePort: fc.option(portMatchArb, { nil: undefined }),
  destinationPort: fc.option(portMatchArb, { nil: undefined }),
  inInterface: fc.option(fc.constantFrom(...names, "eth+", "+"), { nil: undefined }),
  outInterface: fc.option(fc.constantFrom(...names, "wlan+", "+"), { nil: undefined }),
  invert: fc.record({
    source: fc.boolean(),
    destination: fc.boolean(),
    protocol: fc.boolean(),
    sourcePort: fc.boolean(),
    destinationPort: fc.boolean(),
    inInterface: fc.boolean(),
    outInterface: fc.boolean()
  })
}).map((m): RuleMatch => {
  // Keep the rule valid: ports only with TCP/UDP, not inverted; invert only present fields.
  const hasPorts = m.sourcePort !== undefined || m.destinationPort !== undefined
  const protocol = hasPorts && m.protocol !== TCP && m.protocol !== UDP ? TCP : m.protocol
  return {
    ...m,
    protocol,
    invert: {
      source: m.invert.source && m.source !== undefined,
      destination: m.invert.destination && m.destination !== undefined,
      protocol: m.invert.protocol && protocol !== undefined && !hasPorts,
      sourcePort: m.invert.sourcePort && m.sourcePort !== undefined,
      destinationPort: m.invert.destinationPort && m.destinationPort !== undefined,
      inInterface: m.invert.inInterface && m.inInterface !== undefined,
      outInterface: m.invert.outInterface && m.outInterface !== undefined
    }
  }
})
const ruleArb: fc.Arbitrary<Rule> = fc.record({
  match: matchArb,
  verdict: fc.constantFrom<Verdict>("accept", "drop", "reject"),
  code: fc.constantFrom<RejectWith | undefined>(undefined, ...REJECT_WITH)
}).map(({ match, verdict, code }) =>
  verdict === "reject" && code !== undefined ? { match, verdict, rejectWith: code } : { match, verdict }
)
const packetArb: fc.Arbitrary<PacketInfo> = fc.record({
  source: addressPool,
  destination: addressPool,
  protocol: fc.constantFrom(ICMP, TCP, UDP, 47),
  sourcePort: fc.oneof(fc.constant(-1), portArb),
  destinationPort: fc.oneof(fc.constant(-1), portArb),
  length: fc.integer({ min: 20, max: 65535 }),
  inInterface: fc.option(fc.constantFrom(...names), { nil: undefined }),
  outInterface: fc.option(fc.constantFrom(...names), { nil: undefined })
})

describe("property", () => {
  it("evaluate and the counters agree with a naive first-match evaluator", () => {
    fc.assert(
      fc.property(
        fc.array(ruleArb, { minLength: 0, maxLength: 25 }),
        fc.constantFrom<Policy>("accept", "drop"),
        fc.array(packetArb, { minLength: 1, maxLength: 60 }),
        (rules, policy, packets) => {
          const filter = new Netfilter()
          for (const r of rules) expect(filter.append("forward", r)).toBeUndefined()
          expect(filter.setPolicy("forward", policy)).toBeUndefined()
          const counts = rules.map(() => ({ packets: 0, bytes: 0 }))
          const policyCount = { packets: 0, bytes: 0 }
          const scratch = packet()
          for (const p of packets) {
            Object.assign(scratch, p) // the IPv4 layer reuses one scratch object
            const decision = filter.evaluate("forward", scratch)
            const index = rules.findIndex((r) => referenceMatch(r.match, p))
            const expected = index === -1
              ? { verdict: policy, rejectWith: undefined }
              : {
                verdict: rules[index].verdict,
                rejectWith: rules[index].verdict === "reject" ? rules[index].rejectWith ?? "icmp-port-unreachable" : undefined
              }
            expect(decision).toEqual(expected)
            const count = index === -1 ? policyCount : counts[index]
            count.packets++
            count.bytes += p.length
          }
          expect(filter.list("forward").map(({ packets, bytes }) => ({ packets, bytes }))).toEqual(counts)
          expect(filter.policy("forward")).toEqual({ policy, ...policyCount })
        }
      ),
      { numRuns: 400 }
    )
  })
})
