/**
 * The contract between a NIC and the medium it sits on (a wire, a hub, a
 * loopback, later a TAP device or a QEMU socket). A port is one attachment
 * point: the NIC sends frames into it, and the medium delivers frames to the
 * receiver attached to it. Both directions are plain synchronous calls; a
 * medium that delays frames runs its own fibers.
 */

/** Takes a delivered frame: a NIC's DMA engine. The array is only valid during the call (copy what you keep). */
export type FrameReceiver = (frame: Uint8Array) => void

/**
 * Gives a sent frame back to its sender once the medium is done with it
 * (delivered to every receiver, or dropped), so the sender can reuse the
 * memory. A medium may also never call it; the frame is then garbage.
 */
export type FrameRelease = (frame: Uint8Array) => void

/** One attachment point on a medium. */
export interface MediumPort {
  /**
   * Hands one frame to the medium. The medium owns `frame` afterwards (the
   * sender must not change it) and calls `release`, if given, when done.
   */
  readonly send: (frame: Uint8Array, release?: FrameRelease) => void
  /** Sets who receives the frames this port delivers (one receiver; attaching again replaces it). */
  readonly attach: (receiver: FrameReceiver) => void
}

/** A port that delivers to `receiver` once attached, and drops frames (counting them) before that. */
export class ReceiverSlot {
  private receiver: FrameReceiver | undefined = undefined
  /** Frames that arrived while nothing was attached. */
  unattachedDrops = 0

  /** Attaches `receiver`. */
  attach(receiver: FrameReceiver): void {
    this.receiver = receiver
  }

  /** True once a receiver is attached (a `deliver` now would reach it). */
  get attached(): boolean {
    return this.receiver !== undefined
  }

  /** Delivers `frame` to the receiver, or counts it dropped. */
  deliver(frame: Uint8Array): void {
    if (this.receiver === undefined) this.unattachedDrops++
    else this.receiver(frame)
  }
}
