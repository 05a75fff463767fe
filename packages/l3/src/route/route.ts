/**
 * IPv4 routes, as Linux's `ip route` shows and accepts them: the route
 * types, their validation (the checks of the kernel's `fib_create_info` and
 * `rtm_to_fib_config`), and their `ip route show` text.
 *
 * RFC 1812 §5.2.4 describes how a router chooses among routes (longest
 * match, then the "best" metric); the `Fib` applies it.
 */
import type { NetDevice } from "@netstack/l2"
import { ipv4ToString } from "@netstack/wire"
import { Schema } from "effect"

/**
 * What a route does with the packets it matches (`ip route` TYPE):
 * - `unicast`: send toward `gateway` (or the destination itself) out of `device`;
 * - `local`: the destination is this host (delivered locally);
 * - `broadcast`: a broadcast address of an attached subnet (delivered locally, sent as link broadcast);
 * - `blackhole`: silently discarded;
 * - `unreachable`: discarded, the sender hears ICMP host unreachable;
 * - `prohibit`: discarded, the sender hears ICMP communication administratively prohibited.
 */
export type RouteType = "unicast" | "local" | "broadcast" | "blackhole" | "unreachable" | "prohibit"

/** Who made a route (`proto`): `kernel` from an interface address, `static` by the administrator, `boot` the default of `ip route add`. */
export type RouteProtocol = "kernel" | "static" | "boot"

/** How far a route's destination is (`scope`): this host, the attached link, or anywhere. */
export type RouteScope = "host" | "link" | "universe"

/** The routing table a route lives in: `local` holds `local` and `broadcast` routes and is consulted first; `main` holds the rest. */
export type RouteTable = "main" | "local"

/** One IPv4 route (one line of `ip route show`). */
export interface Route {
  /** Network address (unsigned 32-bit), host bits zero. */
  readonly destination: number
  /** Prefix length, 0 to 32. */
  readonly prefixLength: number
  readonly type: RouteType
  /** The out interface; `undefined` for `blackhole`, `unreachable` and `prohibit`. */
  readonly device: NetDevice | undefined
  /** The next hop; `undefined` when directly connected (the next hop is the destination itself). */
  readonly gateway: number | undefined
  /** Preference among routes of equal prefix: lower wins. */
  readonly metric: number
  /** The preferred source address of packets this host sends along the route. */
  readonly source: number | undefined
  /** The route's MTU (`ip route … mtu N`); `undefined` uses the device's. */
  readonly mtu: number | undefined
  readonly protocol: RouteProtocol
  readonly scope: RouteScope
}

/** A route that cannot be added: why, and the route as `ip route` would print it. */
export class InvalidRoute extends Schema.TaggedError<InvalidRoute>()("InvalidRoute", {
  route: Schema.String,
  reason: Schema.String
}) {}

/** A route that is already in the table (Linux's `RTNETLINK answers: File exists`). */
export class DuplicateRoute extends Schema.TaggedError<DuplicateRoute>()("DuplicateRoute", {
  route: Schema.String
}) {}

/** What `makeRoute` needs: the destination; everything else has `ip route add`'s defaults. */
export interface RouteSpec {
  readonly destination: number
  readonly prefixLength: number
  readonly type?: RouteType | undefined
  readonly device?: NetDevice | undefined
  readonly gateway?: number | undefined
  readonly metric?: number | undefined
  readonly source?: number | undefined
  readonly mtu?: number | undefined
  readonly protocol?: RouteProtocol | undefined
  readonly scope?: RouteScope | undefined
}

/**
 * A route with `ip route add`'s defaults: type `unicast`, metric 0, protocol
 * `boot`, and the scope iproute2 picks (`host` for `local`, `link` for
 * `broadcast` and for a unicast route without a gateway, else `universe`).
 * Not validated: `Fib.add` checks it.
 */
export const makeRoute = (spec: RouteSpec): Route => {
  const type = spec.type ?? "unicast"
  const gateway = spec.gateway
  const scope = spec.scope ??
    (type === "local"
      ? "host"
      : type === "broadcast" || (type === "unicast" && gateway === undefined)
      ? "link"
      : "universe")
  return {
    destination: spec.destination,
    prefixLength: spec.prefixLength,
    type,
    device: spec.device,
    gateway,
    metric: spec.metric ?? 0,
    source: spec.source,
    mtu: spec.mtu,
    protocol: spec.protocol ?? "boot",
    scope
  }
}

/** The table a route of `type` lives in (iproute2 puts `local` and `broadcast` routes in table `local`). */
export const tableOf = (type: RouteType): RouteTable => (type === "local" || type === "broadcast" ? "local" : "main")

/** Network masks by prefix length, as signed 32-bit integers (index 0..32). */
export const PREFIX_MASKS: Int32Array = (() => {
  const masks = new Int32Array(33)
  for (let length = 1; length <= 32; length++) masks[length] = -1 << (32 - length)
  return masks
})()

/** True for an integer in 0..2^32-1. */
export const isU32 = (value: unknown): value is number =>
  typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 0xffffffff

const ROUTE_TYPES: ReadonlySet<string> = new Set(["unicast", "local", "broadcast", "blackhole", "unreachable", "prohibit"])
const PROTOCOLS: ReadonlySet<string> = new Set(["kernel", "static", "boot"])
const SCOPES: ReadonlySet<string> = new Set(["host", "link", "universe"])
/** Scopes in Linux's numeric order (`RT_SCOPE_UNIVERSE` 0 < `RT_SCOPE_LINK` 253 < `RT_SCOPE_HOST` 254). */
const SCOPE_RANK: Readonly<Record<RouteScope, number>> = { universe: 0, link: 253, host: 254 }
/** The narrowest a route of each type may be scoped (the kernel's `fib_props[type].scope`). */
const TYPE_SCOPE: Readonly<Record<RouteType, RouteScope>> = {
  unicast: "universe",
  local: "host",
  broadcast: "link",
  blackhole: "universe",
  unreachable: "universe",
  prohibit: "universe"
}

/** True when a route of `type` sends packets out of an interface. */
const needsDevice = (type: RouteType): boolean => type === "unicast" || type === "local" || type === "broadcast"

/** A gateway must be a unicast address: not 0.0.0.0/8, not multicast (224/4) or reserved/broadcast (240/4). */
const isUnicastAddress = (address: number): boolean => {
  const first = address >>> 24
  return first !== 0 && first < 224
}

/**
 * Why `route` cannot be in a table, or `undefined` when it can. The checks
 * are the kernel's (`fib_create_info`, `fib_check_nh`, `inet_rtm_newroute`):
 * prefix 0..32 with no host bits set ("Invalid prefix for given prefix
 * length"), a device for the types that send, none for those that discard,
 * a unicast gateway only on unicast routes and not with host scope, a scope
 * no wider than the type allows, and an MTU of at least 68 (RFC 791).
 */
export const validateRoute = (route: Route): string | undefined => {
  if (!ROUTE_TYPES.has(route.type)) return "unknown route type"
  if (!Number.isInteger(route.prefixLength) || route.prefixLength < 0 || route.prefixLength > 32) {
    return "prefix length must be 0 to 32"
  }
  if (!isU32(route.destination)) return "destination must be a 32-bit address"
  if ((route.destination & ~PREFIX_MASKS[route.prefixLength]) !== 0) return "invalid prefix for given prefix length (host bits set)"
  if (!isU32(route.metric)) return "metric must be 0 to 4294967295"
  if (!PROTOCOLS.has(route.protocol)) return "unknown protocol"
  if (!SCOPES.has(route.scope)) return "unknown scope"
  if (route.source !== undefined && !isU32(route.source)) return "source must be a 32-bit address"
  if (route.mtu !== undefined && (!Number.isInteger(route.mtu) || route.mtu < 68 || route.mtu > 65535)) {
    return "mtu must be 68 to 65535 (RFC 791)"
  }
  if (needsDevice(route.type)) {
    if (route.device === undefined) return "nexthop device required"
  } else if (route.device !== undefined || route.gateway !== undefined) {
    return `a ${route.type} route has no device and no gateway`
  }
  if (route.gateway !== undefined) {
    if (route.type !== "unicast") return "only unicast routes have a gateway"
    if (!isU32(route.gateway) || !isUnicastAddress(route.gateway)) return "nexthop has invalid gateway"
    if (route.scope === "host") return "route with host scope can not have a gateway"
  }
  if (SCOPE_RANK[route.scope] < SCOPE_RANK[TYPE_SCOPE[route.type]]) return `invalid scope for a ${route.type} route`
  return undefined
}

/** `10.0.0.0/8`, `192.0.2.1` (a /32 has no suffix) or `default`, as iproute2 prints a destination. */
export const formatPrefix = (destination: number, prefixLength: number): string =>
  prefixLength === 0 && destination === 0
    ? "default"
    : prefixLength === 32
    ? ipv4ToString(destination)
    : `${ipv4ToString(destination)}/${prefixLength}`

/**
 * One line of `ip route show` (iproute2's `print_route`): the type unless
 * unicast, the destination, `via`, `dev`, `table local` when `showTable`,
 * `proto` unless boot, `scope` unless universe, `src`, `metric` unless 0,
 * `mtu`.
 */
export const formatRoute = (route: Route, showTable = false): string => {
  const parts: Array<string> = []
  if (route.type !== "unicast") parts.push(route.type)
  parts.push(formatPrefix(route.destination, route.prefixLength))
  if (route.gateway !== undefined) parts.push("via", ipv4ToString(route.gateway))
  if (route.device !== undefined) parts.push("dev", route.device.name)
  if (showTable && tableOf(route.type) === "local") parts.push("table", "local")
  if (route.protocol !== "boot") parts.push("proto", route.protocol)
  if (route.scope !== "universe") parts.push("scope", route.scope)
  if (route.source !== undefined) parts.push("src", ipv4ToString(route.source))
  if (route.metric !== 0) parts.push("metric", String(route.metric))
  if (route.mtu !== undefined) parts.push("mtu", String(route.mtu))
  return parts.join(" ")
}
