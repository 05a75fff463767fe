/**
 * The contract between a NIC and the medium it sits on (a wire, a hub, a
 * loopback, a TAP device, a QEMU socket). A port is one attachment point: the
 * NIC sends frames into it, and the medium delivers frames to the receiver
 * attached to it. Both directions are plain synchronous calls; a medium that
 * delays frames runs its own fibers.
 *
 * Frames may carry offload metadata (`FrameOffload`, a `virtio_net_hdr`) on
 * media that can: a receiver says at `attach` what it takes, and a port's
 * `offloadSupport` says what a sender may pass now (what the medium carries
 * and the far end takes). Without either, frames are plain.
 *
 * In-process media move data without copying it where they can
 * (`ZeroCopyReceiver`): a packet itself to a receiving NIC when nothing on
 * the way would touch it (veth's skb hand-off), or a sent frame's memory
 * (a page flip).
 */
import type { PacketBuffer } from "@netstack/buffers"
import {
  CHECKSUM_OFFLOAD_SUPPORT,
  completeChecksum,
  type FrameOffload,
  needsChecksum,
  NO_OFFLOAD_SUPPORT,
  type OffloadSupport
} from "./offload.ts"

/**
 * Takes a delivered frame: a NIC's DMA engine. The array is only valid during
 * the call (copy what you keep). `offload` is present only if the receiver
 * said at `attach` that it takes metadata.
 */
export type FrameReceiver = (frame: Uint8Array, offload?: FrameOffload) => void

/**
 * Gives a sent frame back to its sender once the medium is done with it
 * (delivered to every receiver, or dropped), so the sender can reuse the
 * memory. A medium may also never call it; the frame is then garbage.
 */
export type FrameRelease = (frame: Uint8Array) => void

/**
 * Takes a delivered frame together with its memory, instead of copying it
 * (page flipping: Xen's netback once flipped a page holding the frame into
 * its guest rather than copy it). Returns true when it kept the frame: it
 * then owns `frame` and the whole `ArrayBuffer` under it, bytes before and
 * after the view included, and calls `release(frame)` once when done with
 * them. False: it kept nothing (it copied or dropped the frame) and the
 * medium still owns the frame. `offload` as for a `FrameReceiver`.
 */
export type FrameKeeper = (frame: Uint8Array, release: FrameRelease, offload?: FrameOffload) => boolean

/**
 * Takes a sent packet itself instead of a frame copied out of it, as veth
 * hands the skb to its peer (`veth_xmit`): the packet is the receiver's from
 * then on, to release when done (bytes it shares with others stay shared,
 * copy-on-write). `packet.data` is at the Ethernet header; `offload` as for
 * a `FrameReceiver`.
 */
export type PacketTaker = (packet: PacketBuffer, offload?: FrameOffload) => void

/** How a receiver takes data from an in-process medium without copying it. */
export interface ZeroCopyReceiver {
  readonly keepFrame: FrameKeeper
  readonly takePacket: PacketTaker
}

/** One attachment point on a medium. */
export interface MediumPort {
  /**
   * Hands one frame to the medium. The medium owns `frame` afterwards (the
   * sender must not change it) and calls `release`, if given, when done.
   * A sender that gives `release` lends the whole `ArrayBuffer` under the
   * frame: the medium may pass it on to a receiver that keeps it (a
   * `FrameKeeper`), and `release` then comes once that receiver is done.
   * `offload` may only use what `offloadSupport()` allowed.
   */
  readonly send: (frame: Uint8Array, release?: FrameRelease, offload?: FrameOffload) => void
  /**
   * Hands `packet` itself to the far end, when the medium would deliver it
   * at once and unchanged (no impairment, nothing queued ahead of it) to a
   * receiver that takes packets (`ZeroCopyReceiver.takePacket`): true once
   * delivered, and `packet` is the receiver's from then on (the sender must
   * not touch or release it). False: nothing happened, and the sender keeps
   * it, to send as a frame. Absent on media that only carry frames.
   */
  readonly handOver?: (packet: PacketBuffer, offload?: FrameOffload) => boolean
  /**
   * Sets who receives the frames this port delivers (one receiver; attaching
   * again replaces it), what metadata it takes (none by default), and how it
   * takes data without a copy, if it can (in-process media use `zeroCopy`;
   * other media ignore it).
   */
  readonly attach: (receiver: FrameReceiver, accepts?: OffloadSupport, zeroCopy?: ZeroCopyReceiver) => void
  /** What frames sent into this port may carry now; absent on media that carry plain frames only. */
  readonly offloadSupport?: () => OffloadSupport
}

/** A port that delivers to `receiver` once attached, and drops frames (counting them) before that. */
export class ReceiverSlot {
  private receiver: FrameReceiver | undefined = undefined
  private zeroCopy: ZeroCopyReceiver | undefined = undefined
  /** What the attached receiver takes. */
  accepts: OffloadSupport = NO_OFFLOAD_SUPPORT
  /** Frames that arrived while nothing was attached. */
  unattachedDrops = 0

  /** Attaches `receiver`, which takes `accepts`, and data without a copy through `zeroCopy`, if given. */
  attach(receiver: FrameReceiver, accepts: OffloadSupport = NO_OFFLOAD_SUPPORT, zeroCopy?: ZeroCopyReceiver): void {
    this.receiver = receiver
    this.accepts = accepts
    this.zeroCopy = zeroCopy
  }

  /**
   * Whether `handOver` would deliver a packet with `offload`: the receiver
   * takes packets, and the metadata if there is any.
   */
  takesPacket(offload: FrameOffload | undefined): boolean {
    return this.zeroCopy !== undefined && (offload === undefined || this.accepts.checksum)
  }

  /** Hands `packet` itself to the receiver; only after `takesPacket` said yes. */
  handOver(packet: PacketBuffer, offload: FrameOffload | undefined): void {
    this.zeroCopy?.takePacket(packet, offload)
  }

  /**
   * What an in-process medium lets a sender pass to this slot: checksum
   * metadata if the receiver takes it, never super-packets (its receiver's
   * buffers hold frames up to its MTU, so the sender's TSO engine segments).
   */
  readonly offloadSupport = (): OffloadSupport => this.accepts.checksum ? CHECKSUM_OFFLOAD_SUPPORT : NO_OFFLOAD_SUPPORT

  /** True once a receiver is attached (a `deliver` now would reach it). */
  get attached(): boolean {
    return this.receiver !== undefined
  }

  /**
   * Delivers `frame` (owned by the medium) to the receiver, or counts it
   * dropped. Metadata goes along only to a receiver that takes it: senders
   * ask `offloadSupport` first, but the far end may have changed since, so a
   * partial checksum is completed in place for a receiver that takes none
   * (what virtio's host does for a guest without `GUEST_CSUM`); a super-packet
   * goes as it is, and a plain receiver drops it as too long. A frame the
   * sender lent (`release` given) goes to a receiver that keeps frames, and
   * `release` comes when the receiver is done with it; otherwise at once,
   * after the receiver returns.
   */
  deliver(frame: Uint8Array, offload?: FrameOffload, release?: FrameRelease): void {
    const zeroCopy = this.zeroCopy
    if (release !== undefined && zeroCopy !== undefined && (offload === undefined || this.accepts.checksum)) {
      if (!zeroCopy.keepFrame(frame, release, offload)) release(frame)
      return
    }
    this.hand(frame, offload)
    release?.(frame)
  }

  /** Hands `frame` to the receiver (see `deliver`), or counts it dropped. */
  private hand(frame: Uint8Array, offload?: FrameOffload): void {
    const receiver = this.receiver
    if (receiver === undefined) this.unattachedDrops++
    else if (offload === undefined) receiver(frame)
    else if (this.accepts.checksum) receiver(frame, offload)
    else {
      if (needsChecksum(offload)) completeChecksum(frame, offload.csumStart, offload.csumOffset)
      receiver(frame)
    }
  }
}
