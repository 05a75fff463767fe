/** Local ports: the bound-port table and ephemeral port selection (RFC 6056) shared by UDP and TCP, and the keyed hash. */
export {
  DEFAULT_EPHEMERAL_RANGE,
  type EphemeralFlow,
  EphemeralPorts,
  EphemeralPortsExhausted,
  type EphemeralPortsOptions,
  type EphemeralRange,
  EphemeralStats,
  InvalidPortRange
} from "./ephemeral.ts"
export { keyedHash32, keyedHash64, type KeyedHashKey, keyedHashKeyFromWords, makeKeyedHashKey } from "./keyed-hash.ts"
export { ANY_ADDRESS, type PortBinding, PortInUse, PortTable, PortTableFull, type PortTableOptions } from "./port-table.ts"
