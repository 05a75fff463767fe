/**
 * @netstack/buffers: the packet descriptor and what it needs.
 *
 * - `PacketBuffer`: the sk_buff/mbuf (head/data/tail/end, push/pull/put/trim,
 *   clone with copy-on-write, copy, fragments, metadata).
 * - `BufferPool`: preallocated fixed-size buffers with counters.
 * - The Internet checksum (RFC 1071), its incremental update (RFC 1624) and
 *   pseudo-header sums.
 */
export {
  addSums,
  finishChecksum,
  foldSum,
  internetChecksum,
  ipv4PseudoHeaderSum,
  ipv6PseudoHeaderSum,
  sumBytes,
  sumPacket,
  updateChecksum16,
  updateChecksum32
} from "./checksum.ts"
export {
  BufferReleased,
  ChecksumStateMismatch,
  DoubleRelease,
  HeadroomExceeded,
  InvalidLength,
  LengthExceeded,
  NonLinear,
  NotEmpty,
  OutOfRange,
  type PacketBufferError,
  PoolExhausted,
  TailroomExceeded,
  TooManyFragments
} from "./errors.ts"
export { formatLayout, hexdump } from "./format.ts"
export { type Fragment, MAX_FRAGMENTS } from "./fragment.ts"
export { ChecksumState, type GsoType, PacketMetadata, type PacketType, type TxOwner, UNSET_OFFSET } from "./metadata.ts"
export { PacketBuffer, type SegmentVisitor } from "./packet-buffer.ts"
export { resolvePartialChecksum } from "./partial-checksum.ts"
export { BufferPool, type BufferPoolOptions, type BufferPoolStats } from "./pool.ts"
export { LentBytes, SharedBytes, type StorageOwner } from "./shared-bytes.ts"
