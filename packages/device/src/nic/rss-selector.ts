/**
 * RSS as the NIC's receive-queue selector: the Toeplitz hash of the frame's
 * addresses (and ports, where the hash types say), and the indirection table
 * entry it picks. Frames without a hash go to queue 0.
 */
import { IndirectionTable, MICROSOFT_RSS_KEY, RSS_HASH_TYPES_DEFAULT, rssHash, ToeplitzKey } from "../rss/index.ts"
import type { QueueSelector } from "./nic.ts"

/** RSS settings: the 40-byte key, the hash types, and the indirection table (default: spread over `queues`). */
export interface RssOptions {
  readonly queues: number
  readonly key?: Uint8Array
  readonly types?: number
  readonly table?: IndirectionTable
}

/** A queue selector doing RSS. */
export const rssQueueSelector = (options: RssOptions): QueueSelector => {
  const key = new ToeplitzKey(options.key ?? MICROSOFT_RSS_KEY)
  const types = options.types ?? RSS_HASH_TYPES_DEFAULT
  const table = options.table ?? IndirectionTable.make(options.queues)
  return {
    select: (frame) => {
      const hash = rssHash(frame, key, types)
      return { queue: table === undefined ? 0 : table.queueFor(hash), hash: hash ?? 0 }
    }
  }
}
