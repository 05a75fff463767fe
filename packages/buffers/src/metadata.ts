/**
 * Per-packet metadata: what the stack knows about a packet besides its bytes
 * (the non-data fields of the kernel's `sk_buff`). Clones get their own copy.
 */

/** Who the frame was addressed to, as the kernel's `PACKET_*` types. */
export type PacketType = "host" | "broadcast" | "multicast" | "otherhost"

/**
 * What is known of the transport checksum, as the kernel's `CHECKSUM_*`:
 * - `None`: nothing; software must verify (rx) or compute (tx) it.
 * - `Unnecessary`: the device verified it (rx).
 * - `Complete`: the device summed the packet from the network header on; `value` is that sum (rx).
 * - `Partial`: the checksum still has to be computed from `start` (an offset from `head`) to the
 *   end of the packet and stored at `start + offset` (tx, for offload or software fallback).
 */
export type ChecksumState =
  | { readonly _tag: "None" }
  | { readonly _tag: "Unnecessary" }
  | { readonly _tag: "Complete"; readonly value: number }
  | { readonly _tag: "Partial"; readonly start: number; readonly offset: number }

/** Constructors for `ChecksumState`. The two constant states are shared singletons. */
export const ChecksumState = {
  none: { _tag: "None" } as ChecksumState,
  unnecessary: { _tag: "Unnecessary" } as ChecksumState,
  complete: (value: number): ChecksumState => ({ _tag: "Complete", value }),
  partial: (start: number, offset: number): ChecksumState => ({ _tag: "Partial", start, offset }),
  /**
   * Whether a receiver may skip verifying: the device verified it
   * (`Unnecessary`), or the packet never left this machine with its checksum
   * computed (`Partial`: made here, or handed over partial by a peer on this
   * machine through offload metadata), as Linux's `skb_csum_unnecessary`.
   */
  trusted: (state: ChecksumState): boolean => state._tag === "Unnecessary" || state._tag === "Partial"
} as const

/** Segmentation offload type of a super-packet, as the kernel's `SKB_GSO_*`. */
export type GsoType = "none" | "tcpv4" | "tcpv6" | "udp"

/**
 * Who is told when a packet it sent is done with: transmitted and released
 * by the driver, or dropped (the kernel's `skb->destructor` with `skb->sk`,
 * as TCP's `tcp_wfree` for TCP small queues). `charge` is what the packet
 * was charged when it was sent.
 */
export interface TxOwner {
  readonly txDone: (charge: number) => void
}

/** Value of a header offset that has not been set. */
export const UNSET_OFFSET = -1

/** The metadata of one packet. Header offsets count from the buffer's `head`, so push and pull keep them valid. */
export class PacketMetadata {
  /** Link-layer protocol (an ethertype such as 0x0800), 0 when unknown. */
  protocol = 0
  /** Interface index the packet arrived on, 0 for none. */
  inputInterface = 0
  /** Interface index the packet leaves by, 0 for none. */
  outputInterface = 0
  /** Who the frame was addressed to. */
  packetType: PacketType = "host"
  /** Queueing priority (the kernel's `skb->priority`). */
  priority = 0
  /** Firewall mark (the kernel's `skb->mark`). */
  mark = 0
  /** Flow hash (RSS or software), 0 when not computed. */
  flowHash = 0
  /** 802.1Q tag control information (PCP, DEI, VID) when the tag was stripped or is to be inserted. */
  vlanTag: number | undefined = undefined
  /** What is known of the transport checksum. */
  checksum: ChecksumState = ChecksumState.none
  /** Payload bytes per segment of a GSO super-packet, 0 when not GSO. */
  gsoSize = 0
  /** Which protocol segments a GSO super-packet. */
  gsoType: GsoType = "none"
  /** Number of segments a GSO super-packet becomes. */
  gsoSegments = 0
  /** Receive or transmit time in microseconds since the epoch of the stack's `Clock`, 0 when unset. */
  timestamp = 0
  /** Offset from `head` of the link-layer header, `UNSET_OFFSET` when unset. */
  macHeader = UNSET_OFFSET
  /** Offset from `head` of the network-layer header, `UNSET_OFFSET` when unset. */
  networkHeader = UNSET_OFFSET
  /** Offset from `head` of the transport-layer header, `UNSET_OFFSET` when unset. */
  transportHeader = UNSET_OFFSET
  /** The packet's id in the network trace, 0 when tracing did not see it. */
  traceId = 0
  /**
   * The sender to tell when the packet is released (`TxOwner`), with the
   * charge to give back. Not copied to clones or copies (as `skb_clone`
   * leaves the destructor behind); GSO hands it on to the segments, each
   * charged its share.
   */
  txOwner: TxOwner | undefined = undefined
  txCharge = 0

  /** Every field back to its default, as on a fresh packet (a receiver taking a clone of a sent packet). */
  reset(): this {
    this.copyFrom(BLANK)
    this.txOwner = undefined
    this.txCharge = 0
    return this
  }

  /** An independent copy of every field. */
  clone(): PacketMetadata {
    return new PacketMetadata().copyFrom(this)
  }

  /** Sets every field from `other` (returns this). */
  copyFrom(other: PacketMetadata): this {
    const m = this
    const o = other
    m.protocol = o.protocol
    m.inputInterface = o.inputInterface
    m.outputInterface = o.outputInterface
    m.packetType = o.packetType
    m.priority = o.priority
    m.mark = o.mark
    m.flowHash = o.flowHash
    m.vlanTag = o.vlanTag
    m.checksum = o.checksum
    m.gsoSize = o.gsoSize
    m.gsoType = o.gsoType
    m.gsoSegments = o.gsoSegments
    m.timestamp = o.timestamp
    m.macHeader = o.macHeader
    m.networkHeader = o.networkHeader
    m.transportHeader = o.transportHeader
    m.traceId = o.traceId
    return m
  }
}

/** The defaults `reset` restores. Never changed. */
const BLANK = new PacketMetadata()
