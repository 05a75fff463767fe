/**
 * The routes that come with an interface address, as Linux's
 * `fib_add_ifaddr` makes them (`proto kernel`, `src` the address).
 */
import type { NetDevice } from "@netstack/l2"
import { isU32, makeRoute, PREFIX_MASKS, type Route } from "./route.ts"

/**
 * The routes Linux creates when `address/prefixLength` is added to `device`
 * (`ip addr add`):
 * - `local ADDR dev DEV proto kernel scope host src ADDR` (table local);
 * - unless the prefix is /32 or the subnet is 0.0.0.0/8: the connected
 *   route `NET/LEN dev DEV proto kernel scope link src ADDR` (on a loopback
 *   device a `local` route with scope host instead: the whole subnet is
 *   this host, as 127.0.0.0/8 on `lo`);
 * - when the prefix is shorter than /31 (RFC 3021: a /31 has no broadcast):
 *   `broadcast BCAST dev DEV proto kernel scope link src ADDR` (table local).
 *
 * Add them with `Fib.add` (they are `kernel` routes, appended as the kernel
 * does). Empty for an address that is not 32-bit or a prefix length outside
 * 0..32 (the address table refuses those first).
 */
export const connectedRoutes = (device: NetDevice, address: number, prefixLength: number): ReadonlyArray<Route> => {
  if (!isU32(address) || !Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > 32) return []
  const mask = PREFIX_MASKS[prefixLength]
  const network = (address & mask) >>> 0
  const kernel = { device, source: address, protocol: "kernel" } as const
  const routes: Array<Route> = [makeRoute({ ...kernel, destination: address, prefixLength: 32, type: "local" })]
  if (prefixLength < 32 && (network >>> 24) !== 0) {
    const loopback = device.kind === "loopback"
    routes.push(makeRoute({ ...kernel, destination: network, prefixLength, type: loopback ? "local" : "unicast" }))
    if (prefixLength < 31) {
      routes.push(makeRoute({ ...kernel, destination: (network | ~mask) >>> 0, prefixLength: 32, type: "broadcast" }))
    }
  }
  return routes
}
