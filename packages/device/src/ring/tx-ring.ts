/**
 * A transmit descriptor ring. The driver fills descriptors with packets and
 * rings the doorbell; the device takes them in order, transmits them and
 * marks them done; the driver cleans done descriptors (releasing the
 * buffers). A full ring is how the driver knows to stop its queue. A device
 * that hands a packet on whole (`handOn`, an in-process medium taking the
 * packet itself) leaves its descriptor done without it: cleaning it releases
 * nothing, and gives the sender its charge back then, as a completion would.
 */
import type { PacketBuffer, TxOwner } from "@netstack/buffers"

const EMPTY = 0
const READY = 1
const DONE = 2

/** A transmit ring of `size` descriptors. */
export class TxRing {
  readonly size: number
  private readonly buffers: Array<PacketBuffer | undefined>
  /** On a descriptor whose packet was handed on: the sender it was charged to, and the charge. */
  private readonly owners: Array<TxOwner | undefined>
  private readonly charges: Float64Array
  private readonly states: Uint8Array
  private fillIndex = 0
  private deviceIndex = 0
  private cleanIndex = 0
  private readyCount = 0
  private doneCount = 0
  /** Descriptors cleaned so far, those handed on included. */
  cleaned = 0

  constructor(size: number) {
    this.size = size
    this.buffers = new Array<PacketBuffer | undefined>(size).fill(undefined)
    this.owners = new Array<TxOwner | undefined>(size).fill(undefined)
    this.charges = new Float64Array(size)
    this.states = new Uint8Array(size)
  }

  /** Descriptors the driver can fill now. */
  get free(): number {
    return this.size - this.readyCount - this.doneCount
  }
  /** Descriptors waiting for the device. */
  get ready(): number {
    return this.readyCount
  }
  /** Descriptors the device finished and the driver has not cleaned. */
  get done(): number {
    return this.doneCount
  }

  /** Driver: puts `packet` on the next descriptor for the device. False when the ring is full. */
  fill(packet: PacketBuffer): boolean {
    const i = this.fillIndex
    if (this.states[i] !== EMPTY) return false
    this.buffers[i] = packet
    this.states[i] = READY
    this.fillIndex = (i + 1) % this.size
    this.readyCount++
    return true
  }

  /** Device: the next packet to transmit, or `undefined` when none is ready. Call `complete` after sending it. */
  peek(): PacketBuffer | undefined {
    const i = this.deviceIndex
    return this.states[i] === READY ? this.buffers[i] : undefined
  }

  /** Device: marks the descriptor returned by `peek` done. */
  complete(): void {
    const i = this.deviceIndex
    if (this.states[i] !== READY) return
    this.states[i] = DONE
    this.deviceIndex = (i + 1) % this.size
    this.readyCount--
    this.doneCount++
  }

  /**
   * Device: marks the descriptor returned by `peek` done and lets go of its
   * packet, which now belongs to whoever it was handed to (veth's skb
   * hand-off): the driver has nothing to release for it. `owner`, the
   * sender the packet was charged to (taken off it before the hand-off),
   * gets `charge` back when the descriptor is cleaned, in the driver's
   * completion handling, as for a packet released there.
   */
  handOn(owner?: TxOwner, charge = 0): void {
    const i = this.deviceIndex
    if (this.states[i] !== READY) return
    this.buffers[i] = undefined
    this.owners[i] = owner
    this.charges[i] = charge
    this.complete()
  }

  /**
   * Driver: takes the next done packet (to release it), or `undefined`;
   * done descriptors whose packet was handed on are cleaned on the way,
   * their senders given their charges back.
   */
  clean(): PacketBuffer | undefined {
    for (;;) {
      const i = this.cleanIndex
      if (this.states[i] !== DONE) return undefined
      const packet = this.buffers[i]
      this.buffers[i] = undefined
      this.states[i] = EMPTY
      this.cleanIndex = (i + 1) % this.size
      this.doneCount--
      this.cleaned++
      if (packet !== undefined) return packet
      this.giveBack(i)
    }
  }

  /** Gives the sender of the packet handed on from descriptor `i` its charge back, if it had one. */
  private giveBack(i: number): void {
    const owner = this.owners[i]
    if (owner === undefined) return
    this.owners[i] = undefined
    owner.txDone(this.charges[i])
  }

  /** Takes back every packet still on the ring (at shutdown). */
  drain(): ReadonlyArray<PacketBuffer> {
    const out: Array<PacketBuffer> = []
    for (let i = 0; i < this.size; i++) {
      const packet = this.buffers[i]
      if (packet !== undefined) out.push(packet)
      this.giveBack(i)
      this.buffers[i] = undefined
      this.states[i] = EMPTY
    }
    this.fillIndex = this.deviceIndex = this.cleanIndex = 0
    this.readyCount = this.doneCount = 0
    return out
  }
}
