/**
 * The copy of a packet a capture keeps (a link-layer tap, `tcpdump -i`):
 * its bytes with any partial checksum completed, so captures stay valid for
 * tshark, where tcpdump on Linux shows a `CHECKSUM_PARTIAL` packet's
 * pseudo-header sum as a bad checksum. Two kinds of packet carry one: those
 * the stack is sending (`Partial`, completed by the NIC or not at all when
 * the medium takes metadata) and those received with one from a peer on
 * this machine (a TAP, a wire carrying offload metadata).
 */
import { PacketBuffer } from "@netstack/buffers"
import { completeChecksum } from "../medium/offload.ts"

/**
 * The first `snaplen` bytes of `packet` (data at the Ethernet header), with
 * a partial checksum completed in the copy (the packet is not changed). A
 * checksum outside the first `snaplen` bytes stays as it is.
 */
export const capturedFrame = (packet: PacketBuffer, snaplen = Number.MAX_SAFE_INTEGER): Uint8Array => {
  const state = packet.meta.checksum
  const partial = state._tag === "Partial"
  const whole = new Uint8Array(partial ? packet.length : Math.min(packet.length, snaplen))
  if (packet.copyOut(0, whole.length, whole) !== undefined) return new Uint8Array(0)
  if (state._tag === "Partial") completeChecksum(whole, state.start - packet.data, state.offset)
  return whole.length > snaplen ? whole.slice(0, snaplen) : whole
}
