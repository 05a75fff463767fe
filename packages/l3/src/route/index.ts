/**
 * IPv4 routing: the FIB (`local` and `main` tables, longest-prefix match then
 * metric, RFC 1812 §5.2.4), its routes as `ip route` shows them, and the
 * routes an interface address brings.
 */
export { connectedRoutes } from "./connected.ts"
export { type AddOptions, Fib, type RouteSelector } from "./fib.ts"
export {
  DuplicateRoute,
  formatPrefix,
  formatRoute,
  InvalidRoute,
  makeRoute,
  type Route,
  type RouteProtocol,
  type RouteScope,
  type RouteSpec,
  type RouteTable,
  type RouteType,
  tableOf,
  validateRoute
} from "./route.ts"
