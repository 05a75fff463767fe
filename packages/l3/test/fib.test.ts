/**
 * The IPv4 FIB: longest-prefix match then metric (RFC 1812 §5.2.4.3), the
 * local table before main, the routes an address brings (Linux's
 * fib_add_ifaddr), duplicates and invalid routes refused with nothing
 * changed, delete/flush, and `ip route show` text. Lookups are checked
 * against a naive reference (scan every route) on random tables.
 */
import { describe, expect, it } from "@effect/vitest"
import type { NetDevice } from "@netstack/l2"
import { stubDevice } from "@netstack/l2/testing"
import {
  connectedRoutes,
  DuplicateRoute,
  Fib,
  formatRoute,
  InvalidRoute,
  makeRoute,
  type Route,
  type RouteType,
  tableOf
} from "@netstack/l3"
import { ipv4FromString } from "@netstack/wire"
import fc from "fast-check"

/** A device as the FIB sees it (only name, ifindex and kind matter). */
const device = (name: string, ifindex: number, kind: NetDevice["kind"] = "ethernet"): NetDevice =>
  stubDevice(name, ifindex, { kind })

const lo = device("lo", 1, "loopback")
const eth0 = device("eth0", 2)
const eth1 = device("eth1", 3)
const DEVICES = [lo, eth0, eth1]

/** The 32-bit number of dotted text (the tests only use valid text). */
const ip = (text: string): number => {
  const value = ipv4FromString(text)
  if (value === undefined) throw new Error(`bad address in test: ${text}`)
  return value
}

/** Adds every route, expecting each to be accepted. */
const addAll = (fib: Fib, routes: ReadonlyArray<Route>): void => {
  for (const route of routes) expect(fib.add(route)).toBeUndefined()
}

describe("makeRoute", () => {
  it("fills in ip route add's defaults", () => {
    expect(makeRoute({ destination: ip("10.0.0.0"), prefixLength: 8, device: eth0 })).toEqual({
      destination: ip("10.0.0.0"),
      prefixLength: 8,
      type: "unicast",
      device: eth0,
      gateway: undefined,
      metric: 0,
      source: undefined,
      mtu: undefined,
      protocol: "boot",
      scope: "link"
    })
    expect(makeRoute({ destination: 0, prefixLength: 0, device: eth0, gateway: ip("192.0.2.1") }).scope).toBe("universe")
    expect(makeRoute({ destination: ip("192.0.2.1"), prefixLength: 32, type: "local", device: lo }).scope).toBe("host")
    expect(makeRoute({ destination: ip("192.0.2.255"), prefixLength: 32, type: "broadcast", device: eth0 }).scope).toBe("link")
    expect(makeRoute({ destination: ip("10.0.0.0"), prefixLength: 8, type: "blackhole" }).scope).toBe("universe")
  })
})

describe("connectedRoutes", () => {
  it("makes the local, subnet and broadcast routes of an address, as Linux does", () => {
    const routes = connectedRoutes(eth0, ip("192.168.1.10"), 24)
    expect(routes.map((r) => formatRoute(r, true))).toEqual([
      "local 192.168.1.10 dev eth0 table local proto kernel scope host src 192.168.1.10",
      "192.168.1.0/24 dev eth0 proto kernel scope link src 192.168.1.10",
      "broadcast 192.168.1.255 dev eth0 table local proto kernel scope link src 192.168.1.10"
    ])
    expect(routes.map((r) => tableOf(r.type))).toEqual(["local", "main", "local"])
  })

  it("has no broadcast route for a /31 (RFC 3021) and only the local route for a /32", () => {
    expect(connectedRoutes(eth0, ip("10.0.0.1"), 31).map((r) => formatRoute(r))).toEqual([
      "local 10.0.0.1 dev eth0 proto kernel scope host src 10.0.0.1",
      "10.0.0.0/31 dev eth0 proto kernel scope link src 10.0.0.1"
    ])
    expect(connectedRoutes(eth0, ip("10.0.0.1"), 32).map((r) => formatRoute(r))).toEqual([
      "local 10.0.0.1 dev eth0 proto kernel scope host src 10.0.0.1"
    ])
  })

  it("makes the whole loopback subnet local", () => {
    const fib = new Fib()
    addAll(fib, connectedRoutes(lo, ip("127.0.0.1"), 8))
    expect(fib.format("local")).toBe(
      [
        "local 127.0.0.0/8 dev lo proto kernel scope host src 127.0.0.1",
        "local 127.0.0.1 dev lo proto kernel scope host src 127.0.0.1",
        "broadcast 127.255.255.255 dev lo proto kernel scope link src 127.0.0.1"
      ].join("\n")
    )
    expect(fib.format("main")).toBe("")
    expect(fib.lookup(ip("127.1.2.3"))?.type).toBe("local")
  })

  it("makes no subnet route in 0.0.0.0/8 and nothing for a bad prefix length", () => {
    expect(connectedRoutes(eth0, ip("0.0.0.5"), 8).map((r) => r.type)).toEqual(["local"])
    expect(connectedRoutes(eth0, ip("10.0.0.1"), 33)).toEqual([])
    expect(connectedRoutes(eth0, ip("10.0.0.1"), -1)).toEqual([])
    expect(connectedRoutes(eth0, -1, 24)).toEqual([])
  })

  it("adds a second address in the same subnet: its local route, not a second subnet or broadcast route", () => {
    const fib = new Fib()
    addAll(fib, connectedRoutes(eth0, ip("10.0.0.1"), 24))
    const results = connectedRoutes(eth0, ip("10.0.0.2"), 24).map((r) => fib.add(r))
    expect(results[0]).toBeUndefined()
    expect(results[1]).toBeInstanceOf(DuplicateRoute)
    expect(results[2]).toBeInstanceOf(DuplicateRoute)
    expect(fib.size).toBe(4)
    // The same subnet on another interface is appended (fib_magic uses NLM_F_APPEND); the first stays preferred.
    addAll(fib, connectedRoutes(eth1, ip("10.0.0.3"), 24))
    expect(fib.size).toBe(7)
    expect(fib.lookup(ip("10.0.0.77"))?.device).toBe(eth0)
  })
})

describe("lookup", () => {
  /** A host: lo, eth0 10.0.0.5/24, default via 10.0.0.1, and a few static routes. */
  const host = (): Fib => {
    const fib = new Fib()
    addAll(fib, connectedRoutes(lo, ip("127.0.0.1"), 8))
    addAll(fib, connectedRoutes(eth0, ip("10.0.0.5"), 24))
    addAll(fib, [
      makeRoute({ destination: 0, prefixLength: 0, device: eth0, gateway: ip("10.0.0.1"), protocol: "static" }),
      makeRoute({ destination: ip("172.16.0.0"), prefixLength: 12, device: eth0, gateway: ip("10.0.0.2") }),
      makeRoute({ destination: ip("172.16.5.0"), prefixLength: 24, device: eth0, gateway: ip("10.0.0.3"), mtu: 1400 })
    ])
    return fib
  }

  it("finds the longest matching prefix", () => {
    const fib = host()
    expect(fib.lookup(ip("10.0.0.9"))?.gateway).toBeUndefined()
    expect(fib.lookup(ip("10.0.0.9"))?.prefixLength).toBe(24)
    expect(fib.lookup(ip("172.16.5.1"))?.gateway).toBe(ip("10.0.0.3"))
    expect(fib.lookup(ip("172.16.5.1"))?.mtu).toBe(1400)
    expect(fib.lookup(ip("172.31.255.255"))?.gateway).toBe(ip("10.0.0.2"))
    expect(fib.lookup(ip("172.32.0.0"))?.prefixLength).toBe(0)
    expect(fib.lookup(ip("8.8.8.8"))?.gateway).toBe(ip("10.0.0.1"))
  })

  it("finds the host's own and broadcast addresses in the local table", () => {
    const fib = host()
    expect(fib.lookup(ip("10.0.0.5"))?.type).toBe("local")
    expect(fib.lookup(ip("10.0.0.255"))?.type).toBe("broadcast")
    expect(fib.lookup(ip("127.0.0.1"))?.type).toBe("local")
  })

  it("consults the local table before main, even against a longer main prefix", () => {
    const fib = host()
    expect(fib.add(makeRoute({ destination: ip("127.0.0.2"), prefixLength: 32, device: eth0 }))).toBeUndefined()
    expect(fib.lookup(ip("127.0.0.2"))?.type).toBe("local")
    expect(fib.lookup(ip("127.0.0.2"))?.prefixLength).toBe(8)
  })

  it("is undefined without a matching route, and uses the default route when present", () => {
    const fib = new Fib()
    expect(fib.lookup(ip("1.2.3.4"))).toBeUndefined()
    addAll(fib, connectedRoutes(eth0, ip("10.0.0.5"), 24))
    expect(fib.lookup(ip("1.2.3.4"))).toBeUndefined()
    expect(fib.lookup(ip("255.255.255.255"))).toBeUndefined()
    addAll(fib, [makeRoute({ destination: 0, prefixLength: 0, device: eth0, gateway: ip("10.0.0.1") })])
    expect(fib.lookup(ip("1.2.3.4"))?.prefixLength).toBe(0)
    expect(fib.lookup(ip("255.255.255.255"))?.prefixLength).toBe(0)
    expect(fib.lookup(0)?.prefixLength).toBe(0)
  })

  it("prefers the lowest metric among equal prefixes", () => {
    const fib = new Fib()
    addAll(fib, [
      makeRoute({ destination: 0, prefixLength: 0, device: eth1, gateway: ip("192.0.2.1"), metric: 600 }),
      makeRoute({ destination: 0, prefixLength: 0, device: eth0, gateway: ip("10.0.0.1"), metric: 100 }),
      makeRoute({ destination: 0, prefixLength: 0, device: eth0, gateway: ip("10.0.0.9"), metric: 300 })
    ])
    expect(fib.lookup(ip("8.8.8.8"))?.gateway).toBe(ip("10.0.0.1"))
    expect(fib.delete({ destination: 0, prefixLength: 0, metric: 100 })).toBe(1)
    expect(fib.lookup(ip("8.8.8.8"))?.gateway).toBe(ip("10.0.0.9"))
    expect(fib.delete({ gateway: ip("10.0.0.9") })).toBe(1)
    expect(fib.lookup(ip("8.8.8.8"))?.gateway).toBe(ip("192.0.2.1"))
  })

  it("returns blackhole, unreachable and prohibit routes for the caller to act on", () => {
    const fib = new Fib()
    const types: ReadonlyArray<RouteType> = ["blackhole", "unreachable", "prohibit"]
    types.forEach((type, i) => addAll(fib, [makeRoute({ destination: ip(`10.${i}.0.0`), prefixLength: 16, type })]))
    expect(fib.lookup(ip("10.0.1.1"))?.type).toBe("blackhole")
    expect(fib.lookup(ip("10.1.1.1"))?.type).toBe("unreachable")
    expect(fib.lookup(ip("10.2.1.1"))?.type).toBe("prohibit")
    expect(fib.lookup(ip("10.2.1.1"))?.device).toBeUndefined()
  })

  it("returns the stored route (frozen), not the caller's object", () => {
    const fib = new Fib()
    const route = makeRoute({ destination: ip("10.0.0.0"), prefixLength: 8, device: eth0 })
    addAll(fib, [route])
    const found = fib.lookup(ip("10.1.1.1"))
    expect(found).toEqual(route)
    expect(Object.isFrozen(found)).toBe(true)
    expect(fib.routes()[0]).toBe(found)
  })
})

describe("add", () => {
  it("refuses a second route with the same prefix and metric (ip route add), changing nothing", () => {
    const fib = new Fib()
    addAll(fib, [makeRoute({ destination: ip("10.0.0.0"), prefixLength: 8, device: eth0 })])
    const before = fib.format()
    const error = fib.add(makeRoute({ destination: ip("10.0.0.0"), prefixLength: 8, device: eth1 }))
    expect(error).toBeInstanceOf(DuplicateRoute)
    expect(error?._tag).toBe("DuplicateRoute")
    expect(error instanceof DuplicateRoute && error.route).toBe("10.0.0.0/8 dev eth1 scope link")
    expect(fib.format()).toBe(before)
    // Another metric is another route.
    expect(fib.add(makeRoute({ destination: ip("10.0.0.0"), prefixLength: 8, device: eth1, metric: 5 }))).toBeUndefined()
    // Another prefix length of the same address is another route.
    expect(fib.add(makeRoute({ destination: ip("10.0.0.0"), prefixLength: 16, device: eth1 }))).toBeUndefined()
    expect(fib.size).toBe(3)
  })

  it("appends a route with the same prefix and metric through another next hop (ip route append), not the same one", () => {
    const fib = new Fib()
    const first = makeRoute({ destination: ip("10.0.0.0"), prefixLength: 8, device: eth0, gateway: ip("192.0.2.1") })
    addAll(fib, [first])
    const second = makeRoute({ destination: ip("10.0.0.0"), prefixLength: 8, device: eth0, gateway: ip("192.0.2.2") })
    expect(fib.add(second, { append: true })).toBeUndefined()
    expect(fib.add(second, { append: true })).toBeInstanceOf(DuplicateRoute)
    expect(fib.add(first, { append: true })).toBeInstanceOf(DuplicateRoute)
    expect(fib.size).toBe(2)
    // The first added wins among equal metrics.
    expect(fib.lookup(ip("10.9.9.9"))?.gateway).toBe(ip("192.0.2.1"))
  })

  it("keeps local/broadcast and main routes apart: the same prefix in each table is no duplicate", () => {
    const fib = new Fib()
    addAll(fib, [
      makeRoute({ destination: ip("10.0.0.1"), prefixLength: 32, type: "local", device: eth0 }),
      makeRoute({ destination: ip("10.0.0.1"), prefixLength: 32, device: eth1 })
    ])
    expect(fib.routes().map((r) => r.type)).toEqual(["unicast", "local"])
  })

  const bad: ReadonlyArray<readonly [string, Route]> = [
    ["host bits set", makeRoute({ destination: ip("10.1.2.3"), prefixLength: 8, device: eth0 })],
    ["prefix length 33", makeRoute({ destination: ip("10.0.0.0"), prefixLength: 33, device: eth0 })],
    ["prefix length -1", makeRoute({ destination: 0, prefixLength: -1, device: eth0 })],
    ["fractional prefix", makeRoute({ destination: 0, prefixLength: 1.5, device: eth0 })],
    ["negative destination", makeRoute({ destination: -256, prefixLength: 24, device: eth0 })],
    ["destination above 32 bits", makeRoute({ destination: 2 ** 32, prefixLength: 32, device: eth0 })],
    ["unicast without a device", makeRoute({ destination: ip("10.0.0.0"), prefixLength: 8 })],
    ["local without a device", makeRoute({ destination: ip("10.0.0.1"), prefixLength: 32, type: "local" })],
    ["blackhole with a device", makeRoute({ destination: ip("10.0.0.0"), prefixLength: 8, type: "blackhole", device: eth0 })],
    [
      "prohibit with a gateway",
      makeRoute({ destination: ip("10.0.0.0"), prefixLength: 8, type: "prohibit", gateway: ip("192.0.2.1") })
    ],
    [
      "gateway on a local route",
      makeRoute({ destination: ip("10.0.0.1"), prefixLength: 32, type: "local", device: eth0, gateway: ip("10.0.0.2") })
    ],
    ["multicast gateway", makeRoute({ destination: 0, prefixLength: 0, device: eth0, gateway: ip("224.0.0.1") })],
    ["zero gateway", makeRoute({ destination: 0, prefixLength: 0, device: eth0, gateway: 0 })],
    ["broadcast gateway", makeRoute({ destination: 0, prefixLength: 0, device: eth0, gateway: ip("255.255.255.255") })],
    [
      "host scope with a gateway",
      makeRoute({ destination: 0, prefixLength: 0, device: eth0, gateway: ip("10.0.0.1"), scope: "host" })
    ],
    ["local route of scope link", makeRoute({ destination: ip("10.0.0.1"), prefixLength: 32, type: "local", device: eth0, scope: "link" })],
    [
      "broadcast route of scope universe",
      makeRoute({ destination: ip("10.0.0.255"), prefixLength: 32, type: "broadcast", device: eth0, scope: "universe" })
    ],
    ["mtu below 68", makeRoute({ destination: ip("10.0.0.0"), prefixLength: 8, device: eth0, mtu: 67 })],
    ["mtu above 65535", makeRoute({ destination: ip("10.0.0.0"), prefixLength: 8, device: eth0, mtu: 65536 })],
    ["negative metric", makeRoute({ destination: ip("10.0.0.0"), prefixLength: 8, device: eth0, metric: -1 })],
    ["fractional metric", makeRoute({ destination: ip("10.0.0.0"), prefixLength: 8, device: eth0, metric: 0.5 })],
    ["bad source", makeRoute({ destination: ip("10.0.0.0"), prefixLength: 8, device: eth0, source: -1 })]
  ]
  it.each(bad)("refuses an invalid route: %s", (_, route) => {
    const fib = new Fib()
    addAll(fib, connectedRoutes(eth0, ip("10.0.0.5"), 24))
    const before = fib.format()
    const error = fib.add(route)
    expect(error).toBeInstanceOf(InvalidRoute)
    expect(error?._tag).toBe("InvalidRoute")
    expect(fib.format()).toBe(before)
    expect(fib.size).toBe(3)
  })

  it("refuses host bits rather than masking them", () => {
    const error = new Fib().add(makeRoute({ destination: ip("192.168.1.1"), prefixLength: 24, device: eth0 }))
    expect(error instanceof InvalidRoute && error.reason).toBe("invalid prefix for given prefix length (host bits set)")
  })

  it("accepts the extremes: 0.0.0.0/0, 255.255.255.255/32, metric 2^32-1, mtu 68 and 65535", () => {
    const fib = new Fib()
    addAll(fib, [
      makeRoute({ destination: 0, prefixLength: 0, type: "unreachable", metric: 0xffffffff }),
      makeRoute({ destination: ip("255.255.255.255"), prefixLength: 32, device: eth0, mtu: 68 }),
      makeRoute({ destination: ip("128.0.0.0"), prefixLength: 1, device: eth0, mtu: 65535 })
    ])
    expect(fib.lookup(ip("255.255.255.255"))?.mtu).toBe(68)
    expect(fib.lookup(ip("200.0.0.1"))?.mtu).toBe(65535)
    expect(fib.lookup(ip("127.255.255.255"))?.type).toBe("unreachable")
  })
})

describe("delete and flushDevice", () => {
  const populated = (): Fib => {
    const fib = new Fib()
    addAll(fib, connectedRoutes(lo, ip("127.0.0.1"), 8))
    addAll(fib, connectedRoutes(eth0, ip("10.0.0.5"), 24))
    addAll(fib, connectedRoutes(eth1, ip("192.168.7.1"), 24))
    addAll(fib, [
      makeRoute({ destination: 0, prefixLength: 0, device: eth0, gateway: ip("10.0.0.1") }),
      makeRoute({ destination: ip("172.16.0.0"), prefixLength: 12, device: eth1, gateway: ip("192.168.7.254") }),
      makeRoute({ destination: ip("198.51.100.0"), prefixLength: 24, type: "blackhole" })
    ])
    return fib
  }

  it("deletes every route matching the selector and reports how many", () => {
    const fib = populated()
    expect(fib.size).toBe(12)
    expect(fib.delete({ destination: ip("10.0.0.0"), prefixLength: 24 })).toBe(1)
    expect(fib.lookup(ip("10.0.0.9"))?.prefixLength).toBe(0)
    expect(fib.delete({ destination: ip("10.0.0.0"), prefixLength: 24 })).toBe(0)
    expect(fib.delete({ type: "broadcast" })).toBe(3)
    expect(fib.lookup(ip("192.168.7.255"))?.type).toBe("unicast")
    expect(fib.delete({ table: "local" })).toBe(4)
    expect(fib.lookup(ip("127.0.0.1"))?.prefixLength).toBe(0)
    expect(fib.delete({ protocol: "kernel" })).toBe(1)
    expect(fib.delete({ type: "blackhole", destination: ip("198.51.100.0") })).toBe(1)
    expect(fib.size).toBe(2)
    expect(fib.delete({})).toBe(2)
    expect(fib.size).toBe(0)
    expect(fib.lookup(ip("8.8.8.8"))).toBeUndefined()
  })

  it("flushes every route out of a device (matched by ifindex)", () => {
    const fib = populated()
    expect(fib.flushDevice(eth1)).toBe(4)
    expect(fib.routes().some((r) => r.device === eth1)).toBe(false)
    expect(fib.lookup(ip("172.16.1.1"))?.gateway).toBe(ip("10.0.0.1"))
    expect(fib.flushDevice(eth1)).toBe(0)
    // A device object with the same ifindex is the same interface.
    expect(fib.flushDevice(device("eth0-again", eth0.ifindex))).toBe(4)
    expect(fib.lookup(ip("8.8.8.8"))).toBeUndefined()
    expect(fib.routes().map((r) => r.device?.name)).toEqual([undefined, "lo", "lo", "lo"])
  })
})

describe("format", () => {
  it("prints ip route show, ip route show table local and both (table all)", () => {
    const fib = new Fib()
    addAll(fib, connectedRoutes(lo, ip("127.0.0.1"), 8))
    addAll(fib, connectedRoutes(eth0, ip("192.168.1.10"), 24))
    addAll(fib, [
      makeRoute({ destination: 0, prefixLength: 0, device: eth0, gateway: ip("192.168.1.1"), protocol: "static", metric: 100 }),
      makeRoute({ destination: ip("10.0.0.0"), prefixLength: 8, device: eth0, gateway: ip("192.168.1.2"), mtu: 1400 }),
      makeRoute({ destination: ip("10.0.0.0"), prefixLength: 16, type: "unreachable" }),
      makeRoute({ destination: ip("198.51.100.7"), prefixLength: 32, device: eth0, source: ip("192.168.1.10") }),
      makeRoute({ destination: ip("203.0.113.0"), prefixLength: 24, type: "prohibit", metric: 5 }),
      makeRoute({ destination: ip("203.0.113.0"), prefixLength: 24, type: "blackhole", metric: 1 })
    ])
    expect(fib.format("main")).toBe([
      "default via 192.168.1.1 dev eth0 proto static metric 100",
      "10.0.0.0/8 via 192.168.1.2 dev eth0 mtu 1400",
      "unreachable 10.0.0.0/16",
      "192.168.1.0/24 dev eth0 proto kernel scope link src 192.168.1.10",
      "198.51.100.7 dev eth0 scope link src 192.168.1.10",
      "blackhole 203.0.113.0/24 metric 1",
      "prohibit 203.0.113.0/24 metric 5"
    ].join("\n"))
    const local = [
      "local 127.0.0.0/8 dev lo proto kernel scope host src 127.0.0.1",
      "local 127.0.0.1 dev lo proto kernel scope host src 127.0.0.1",
      "broadcast 127.255.255.255 dev lo proto kernel scope link src 127.0.0.1",
      "local 192.168.1.10 dev eth0 proto kernel scope host src 192.168.1.10",
      "broadcast 192.168.1.255 dev eth0 proto kernel scope link src 192.168.1.10"
    ]
    expect(fib.format("local")).toBe(local.join("\n"))
    expect(fib.format()).toBe(
      [fib.format("main"), ...local.map((line) => line.replace(/ dev (\S+)/, " dev $1 table local"))].join("\n")
    )
    expect(fib.routes().length).toBe(12)
    expect(new Fib().format()).toBe("")
  })
})

// ---------------------------------------------------------------------------------------------- property tests

/** The naive reference: every route in insertion order; the local table first, longest prefix, lowest metric, first added. */
const reference = (routes: ReadonlyArray<Route>, destination: number): Route | undefined => {
  const covers = (r: Route): boolean =>
    r.prefixLength === 0 || destination >>> (32 - r.prefixLength) === r.destination >>> (32 - r.prefixLength)
  for (const table of ["local", "main"] as const) {
    let best: Route | undefined
    for (const r of routes) {
      if (tableOf(r.type) !== table || !covers(r)) continue
      const better = best === undefined || r.prefixLength > best.prefixLength ||
        (r.prefixLength === best.prefixLength && r.metric < best.metric)
      if (better) best = r
    }
    if (best !== undefined) return best
  }
  return undefined
}

/**
 * Whether the reference FIB holds a route that makes `route` a duplicate
 * (add: same table, prefix and metric; append: also same type, device and gateway).
 */
const isDuplicate = (routes: ReadonlyArray<Route>, route: Route, append: boolean): boolean =>
  routes.some((r) =>
    tableOf(r.type) === tableOf(route.type) && r.destination === route.destination && r.prefixLength === route.prefixLength &&
    r.metric === route.metric &&
    (!append || (r.type === route.type && r.device?.ifindex === route.device?.ifindex && r.gateway === route.gateway))
  )

/** Addresses that share leading bits often: a few first octets, random rest. */
const address = fc.tuple(fc.constantFrom(0, 10, 127, 128, 192, 255), fc.integer({ min: 0, max: 0xffffff }), fc.nat(3)).map(
  ([first, rest, spread]) => ((first << 24) | (spread === 0 ? rest : rest & (0xffffff << (8 * spread)))) >>> 0
)
const prefixLength = fc.oneof(fc.integer({ min: 0, max: 32 }), fc.constantFrom(0, 8, 16, 24, 32))
const routeArb = fc.record({
  address,
  prefixLength,
  kind: fc.constantFrom<RouteType>("unicast", "unicast", "unicast", "local", "broadcast", "blackhole", "unreachable", "prohibit"),
  device: fc.constantFrom(...DEVICES),
  gateway: fc.option(fc.constantFrom(ip("10.0.0.1"), ip("10.0.0.2"), ip("192.0.2.1")), { nil: undefined }),
  metric: fc.constantFrom(0, 0, 1, 2, 100, 0xffffffff),
  append: fc.boolean(),
  kernel: fc.boolean()
}).map(({ address, prefixLength, kind, device, gateway, metric, append, kernel }) => {
  const mask = prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0
  const sends = kind === "unicast" || kind === "local" || kind === "broadcast"
  const route = makeRoute({
    destination: (address & mask) >>> 0,
    prefixLength,
    type: kind,
    device: sends ? device : undefined,
    gateway: kind === "unicast" ? gateway : undefined,
    metric,
    protocol: kernel ? "kernel" : "static"
  })
  return { route, append }
})

describe("properties", () => {
  it("lookup agrees with a naive scan of every route, across adds and deletes", () => {
    fc.assert(
      fc.property(
        fc.array(routeArb, { minLength: 0, maxLength: 120 }),
        fc.array(fc.nat(), { minLength: 0, maxLength: 10 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 0xffffffff }), address), { minLength: 60, maxLength: 60 }),
        (adds, deletions, probes) => {
          const fib = new Fib()
          let model: Array<Route> = []
          for (const { route, append } of adds) {
            const expected = isDuplicate(model, route, append || route.protocol === "kernel")
            const result = fib.add(route, { append })
            expect(result === undefined ? "added" : result._tag).toBe(expected ? "DuplicateRoute" : "added")
            if (!expected) model.push(route)
          }
          const check = (): void => {
            expect(fib.size).toBe(model.length)
            for (const [i, any, near] of probes) {
              const r = model[i % Math.max(1, model.length)]
              const mask = r === undefined || r.prefixLength === 0 ? 0 : (0xffffffff << (32 - r.prefixLength)) >>> 0
              const inside = r === undefined ? any : ((r.destination & mask) | (any & ~mask)) >>> 0
              for (const destination of [any, near, inside]) expect(fib.lookup(destination)).toEqual(reference(model, destination))
            }
          }
          check()
          for (const d of deletions) {
            if (model.length === 0) break
            const victim = model[d % model.length]
            const selector = { destination: victim.destination, prefixLength: victim.prefixLength, metric: victim.metric }
            const matching = model.filter((r) =>
              r.destination === selector.destination && r.prefixLength === selector.prefixLength && r.metric === selector.metric
            )
            expect(fib.delete(selector)).toBe(matching.length)
            model = model.filter((r) => !matching.includes(r))
            check()
          }
        }
      ),
      { numRuns: 300 }
    )
  })

  it("routes() lists every accepted route once, main table then local, by address then prefix length then metric", () => {
    fc.assert(
      fc.property(fc.array(routeArb, { minLength: 0, maxLength: 80 }), (adds) => {
        const fib = new Fib()
        for (const { route, append } of adds) fib.add(route, { append })
        const listed = fib.routes()
        const key = (r: Route): ReadonlyArray<number> => [tableOf(r.type) === "main" ? 0 : 1, r.destination, r.prefixLength, r.metric]
        for (let i = 1; i < listed.length; i++) {
          const a = key(listed[i - 1])
          const b = key(listed[i])
          const order = a.findIndex((v, k) => v !== b[k])
          expect(order === -1 || a[order] < b[order]).toBe(true)
        }
        expect(fib.format().split("\n").filter((l) => l !== "").length).toBe(listed.length)
        for (const r of listed) expect(fib.lookup(r.destination)).toBeDefined()
      }),
      { numRuns: 200 }
    )
  })

  it("an invalid route changes nothing", () => {
    fc.assert(
      fc.property(
        fc.array(routeArb, { minLength: 0, maxLength: 40 }),
        fc.integer({ min: 1, max: 31 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        (adds, length, address) => {
          const fib = new Fib()
          for (const { route, append } of adds) fib.add(route, { append })
          const before = fib.format()
          const hostBits = address | 1 // prefixes below /32 leave bit 0 a host bit
          const result = fib.add(makeRoute({ destination: hostBits >>> 0, prefixLength: length, device: eth0 }))
          expect(result).toBeInstanceOf(InvalidRoute)
          expect(fib.format()).toBe(before)
        }
      ),
      { numRuns: 200 }
    )
  })
})
