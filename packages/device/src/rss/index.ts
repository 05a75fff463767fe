/**
 * Receive Side Scaling for the simulated NIC: the Toeplitz hash (Microsoft's
 * NDIS "RSS Hashing Functions"), the hash of a received frame by hash type
 * ("RSS Hashing Types"), and the indirection table that maps a hash to a
 * receive queue ("RSS Configuration").
 */
export {
  RSS_HASH_TYPES_ALL,
  RSS_HASH_TYPES_DEFAULT,
  rssHash,
  rssHashInput,
  type RssHashType,
  rssHashType,
  RssHashTypes
} from "./flow.ts"
export {
  DEFAULT_INDIRECTION_TABLE_SIZE,
  IndirectionTable,
  MAX_INDIRECTION_TABLE_SIZE,
  MAX_RSS_QUEUES
} from "./indirection.ts"
export { MICROSOFT_RSS_KEY, RSS_KEY_LENGTH, toeplitzHash, ToeplitzKey } from "./toeplitz.ts"
