/** The path-MTU cache (RFC 1191). */
export {
  plateauBelow,
  PMTU_PLATEAUS,
  PmtuCache,
  type PmtuCacheOptions,
  type PmtuEntry,
  PmtuStats
} from "./pmtu.ts"
