/**
 * The route a datagram will take, looked up before it is built (Linux
 * `udp_sendmsg` → `ip_route_output_flow`): the transport needs the source
 * address for its pseudo-header checksum, the device for its offloads, the
 * path MTU for DF, and whether the destination is a broadcast (SO_BROADCAST).
 * IPv4's `send` repeats the lookup with the source given here, so both agree.
 */
import type { NetDevice } from "@netstack/l2"
import type { Ipv4 } from "@netstack/l3"
import { ipv4ToString } from "@netstack/wire"
import { UdpError } from "./errors.ts"

/** The limited broadcast address (RFC 919, RFC 1122 §3.2.1.3). */
export const LIMITED_BROADCAST = 0xffffffff

/** Where a datagram goes out. */
export interface OutputRoute {
  readonly device: NetDevice
  /** The source address (RFC 1122 §3.3.4.3: the bound address, else the route's preferred source or the device's). */
  readonly source: number
  /** The path MTU toward the destination (route or device MTU, lowered by the path-MTU cache, RFC 1191 §6.3). */
  readonly mtu: number
  /** A broadcast destination: 255.255.255.255 or a subnet's broadcast address. */
  readonly broadcast: boolean
  /** A multicast destination (224.0.0.0/4). */
  readonly multicast: boolean
}

/** True for 224.0.0.0/4 (RFC 1112). */
export const isMulticast = (address: number): boolean => address >>> 28 === 14

/**
 * The route from `source` (0: any of ours) to `destination`, or the error a
 * socket reports (ENETUNREACH, EHOSTUNREACH, EACCES, EADDRNOTAVAIL).
 */
export const routeOutput = (ipv4: Ipv4, destination: number, source: number): OutputRoute | UdpError => {
  const addresses = ipv4.addresses
  const address = ipv4ToString(destination)
  if (destination === LIMITED_BROADCAST) {
    // Linux: the bound address picks the interface; else the route a lookup finds (the default route's device).
    const device = (source !== 0 ? addresses.all().find((a) => a.address === source)?.device : undefined) ??
      ipv4.fib.lookup(destination)?.device ??
      addresses.all().find((a) => a.device.kind !== "loopback")?.device
    if (device === undefined) return new UdpError({ reason: "network-unreachable", address })
    const from = source !== 0 ? source : addresses.sourceFor(device, destination)
    if (from === undefined) return new UdpError({ reason: "address-not-available", address })
    return { device, source: from, mtu: device.mtu, broadcast: true, multicast: false }
  }
  const route = ipv4.fib.lookup(destination)
  if (route === undefined || route.type === "blackhole") return new UdpError({ reason: "network-unreachable", address })
  if (route.type === "unreachable") return new UdpError({ reason: "host-unreachable", address })
  if (route.type === "prohibit") return new UdpError({ reason: "permission-denied", address })
  const device = route.type === "local" ? ipv4.loopback ?? route.device : route.device
  if (device === undefined || route.device === undefined) return new UdpError({ reason: "network-unreachable", address })
  const from = source !== 0
    ? source
    : route.source ?? addresses.sourceFor(route.device, destination) ?? (route.type === "local" ? destination : undefined)
  if (from === undefined) return new UdpError({ reason: "address-not-available", address })
  let mtu = route.mtu ?? device.mtu
  if (ipv4.pmtu.size > 0) {
    const cached = ipv4.pmtu.get(destination, ipv4.now())
    if (cached !== undefined) mtu = Math.min(mtu, cached)
  }
  return {
    device,
    source: from,
    mtu,
    broadcast: route.type === "broadcast" || addresses.isBroadcast(destination),
    multicast: isMulticast(destination)
  }
}
