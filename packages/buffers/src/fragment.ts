/**
 * Fragments: the scatter-gather pages of a non-linear packet (the kernel's
 * `skb_frag_t`). A fragment is an immutable window into a `SharedBytes`; the
 * packet holds one reference on each fragment's storage.
 */
import type { SharedBytes } from "./shared-bytes.ts"

/**
 * The most fragments one packet carries: the kernel's `MAX_SKB_FRAGS` at
 * its largest setting (`CONFIG_MAX_SKB_FRAGS=45`, made for BIG TCP), so GRO
 * can merge a full 64 KiB of 1448-byte segments (45 of them) into one packet
 * without a `frag_list`.
 */
export const MAX_FRAGMENTS = 45

/** One scatter-gather page: `length` bytes of `storage` starting at `offset`. */
export interface Fragment {
  readonly storage: SharedBytes
  readonly offset: number
  readonly length: number
}

/** Builds a fragment record (does not take a reference). */
export const fragment = (storage: SharedBytes, offset: number, length: number): Fragment => ({
  storage,
  offset,
  length
})
