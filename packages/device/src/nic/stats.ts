/**
 * NIC counters, named as `ethtool -S` and `ip -s link` name them: totals,
 * per-queue packets and bytes, and every reason a frame was dropped.
 */

/** Counters of one receive queue. */
export class RxQueueStats {
  packets = 0
  bytes = 0
  /** Frames that found no posted buffer on this queue's ring (counted in `rx_missed_errors` too). */
  missed = 0
}

/** Counters of one transmit queue. */
export class TxQueueStats {
  packets = 0
  bytes = 0
  /** Frames the device sent for this queue (segments of a TSO super-packet count one each). */
  wireFrames = 0
}

/** Device-wide error counters. */
export class NicErrorStats {
  /** No posted rx buffer (ring exhausted): the frame is lost. */
  rxMissedErrors = 0
  /** A frame longer than the MTU allows, or than the whole rx ring holds, or shorter than an Ethernet header. */
  rxLengthErrors = 0
  /** Frames a medium lent with their memory, received without a copy in place of a posted buffer (page flips). */
  rxFlipped = 0
  /** Packets a medium handed over themselves, received as they are, no clone and no copy (veth's skb hand-off). */
  rxHandedOver = 0
  /** Received while the link was down. */
  rxCarrierDrops = 0
  /** Transport checksums the NIC verified and found good / bad (rx checksum offload). */
  rxChecksumGood = 0
  rxChecksumBad = 0
  /** Frames whose metadata said partial or verified checksum, trusted without summing (rx checksum offload). */
  rxChecksumTrusted = 0
  /** Partial checksums the NIC completed on receive, for want of rx checksum offload. */
  rxChecksumCompleted = 0
  /** TSO super-packets taken from the medium (metadata in order), either way below. */
  rxGsoPackets = 0
  /** Of those, received whole as one packet across mergeable buffers (a NIC with rx checksumming and TSO). */
  rxGsoWhole = 0
  /** Of those, cut into MTU-sized segments (a NIC without them, handed super-packets all the same). */
  rxGsoSegmented = 0
  /** Segments cut from them. */
  rxGsoSegments = 0
  /** Frames whose offload metadata could not be used (out of range, a super-packet that does not segment). */
  rxOffloadErrors = 0
  /** Transmitted while the link was down: the frame is lost. */
  txCarrierErrors = 0
  /** Packets the device could not transmit (an offload it lacks, a super-packet it cannot segment). */
  txErrors = 0
}

/** An `ethtool -S`-style snapshot: name → value. */
export type NicStatsSnapshot = Readonly<Record<string, number>>

/** The snapshot of a NIC's counters, totals first, then per queue. */
export const snapshotStats = (
  rx: ReadonlyArray<RxQueueStats>,
  tx: ReadonlyArray<TxQueueStats>,
  errors: NicErrorStats,
  interrupts: ReadonlyArray<number>
): NicStatsSnapshot => {
  const sum = <A>(xs: ReadonlyArray<A>, f: (a: A) => number) => xs.reduce((n, x) => n + f(x), 0)
  const out: Record<string, number> = {
    rx_packets: sum(rx, (q) => q.packets),
    rx_bytes: sum(rx, (q) => q.bytes),
    tx_packets: sum(tx, (q) => q.packets),
    tx_bytes: sum(tx, (q) => q.bytes),
    rx_missed_errors: errors.rxMissedErrors,
    rx_length_errors: errors.rxLengthErrors,
    rx_carrier_drops: errors.rxCarrierDrops,
    rx_flipped: errors.rxFlipped,
    rx_handed_over: errors.rxHandedOver,
    rx_csum_offload_good: errors.rxChecksumGood,
    rx_csum_offload_errors: errors.rxChecksumBad,
    rx_csum_trusted: errors.rxChecksumTrusted,
    rx_csum_completed: errors.rxChecksumCompleted,
    rx_gso_packets: errors.rxGsoPackets,
    rx_gso_whole: errors.rxGsoWhole,
    rx_gso_segmented: errors.rxGsoSegmented,
    rx_gso_segments: errors.rxGsoSegments,
    rx_offload_errors: errors.rxOffloadErrors,
    tx_carrier_errors: errors.txCarrierErrors,
    tx_errors: errors.txErrors
  }
  rx.forEach((q, i) => {
    out[`rx_queue_${i}_packets`] = q.packets
    out[`rx_queue_${i}_bytes`] = q.bytes
    out[`rx_queue_${i}_missed`] = q.missed
  })
  tx.forEach((q, i) => {
    out[`tx_queue_${i}_packets`] = q.packets
    out[`tx_queue_${i}_bytes`] = q.bytes
    out[`tx_queue_${i}_wire_frames`] = q.wireFrames
  })
  interrupts.forEach((n, i) => {
    out[`irq_${i}`] = n
  })
  return out
}
