/** Per-packet metadata carried from a datagram to its fragments and back (Linux `ip_copy_metadata`). */
import { ChecksumState, type PacketMetadata } from "@netstack/buffers"

/**
 * Copies what stays true of a piece of a datagram: addressing, priority,
 * mark, flow hash, VLAN tag, time stamp and trace id. The checksum state
 * becomes `None` (a state about the whole transport payload does not hold
 * for a part of it), GSO is off, and header offsets are left for the caller.
 */
export const copyPacketMetadata = (from: PacketMetadata, to: PacketMetadata): void => {
  to.protocol = from.protocol
  to.inputInterface = from.inputInterface
  to.outputInterface = from.outputInterface
  to.packetType = from.packetType
  to.priority = from.priority
  to.mark = from.mark
  to.flowHash = from.flowHash
  to.vlanTag = from.vlanTag
  to.timestamp = from.timestamp
  to.traceId = from.traceId
  to.checksum = ChecksumState.none
  to.gsoSize = 0
  to.gsoType = "none"
  to.gsoSegments = 0
}
