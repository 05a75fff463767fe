/**
 * The loopback medium: what is sent is delivered straight back to the same
 * port's receiver, inside `send`, unchanged, with its offload metadata when
 * the receiver takes it (Linux's `lo` never sums a packet either); a packet
 * handed over comes back as itself, without a copy (`MediumPort.handOver`).
 */
import { Counters, type MediumCounters } from "./counters.ts"
import { type MediumPort, ReceiverSlot } from "./port.ts"

/** A port whose frames come back to itself, with counters. */
export interface Loopback extends MediumPort {
  /** A snapshot of the counters (`sent`, `delivered`, `unattachedDropped`; the rest stay 0). */
  readonly counters: () => MediumCounters
}

/** A new loopback port. */
export const loopback = (): Loopback => {
  const slot = new ReceiverSlot()
  const stats = new Counters()
  return {
    send: (frame, release, offload) => {
      stats.sent++
      if (slot.attached) stats.delivered++
      else stats.unattachedDropped++
      slot.deliver(frame, offload, release)
    },
    handOver: (packet, offload) => {
      if (!slot.takesPacket(offload)) return false
      stats.sent++
      stats.delivered++
      slot.handOver(packet, offload)
      return true
    },
    attach: (receiver, accepts, zeroCopy) => slot.attach(receiver, accepts, zeroCopy),
    offloadSupport: slot.offloadSupport,
    counters: () => stats.snapshot()
  }
}
