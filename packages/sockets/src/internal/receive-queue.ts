/**
 * The receive queue of a raw or packet socket (`sk_receive_queue` bounded
 * by SO_RCVBUF): items charged by size plus a fixed overhead, as the kernel
 * charges `skb->truesize`; the softirq side (`offer`) never blocks, and an
 * item that does not fit is refused and counted (Linux `sk_drops`).
 */
import { Latch } from "effect"

/** Bytes charged per queued item beyond its data (the `sk_buff` overhead, as UDP charges it). */
export const ITEM_OVERHEAD = 256

/** Linux's default receive buffer (`net.core.rmem_default`). */
export const DEFAULT_RECEIVE_BUFFER = 212_992

/** A bounded FIFO with a wake-up latch. */
export class ChargedQueue<A> {
  /** Bytes the queue may be charged (SO_RCVBUF). */
  capacity: number
  /** Items refused because the queue was full. */
  drops = 0
  /** Open while items wait (or the socket closed); readers close it when they find nothing. */
  readonly ready: Latch.Latch = Latch.makeUnsafe(false)
  private items: Array<A | undefined> = []
  private head = 0
  private charged = 0
  private readonly size: (item: A) => number

  constructor(capacity: number, size: (item: A) => number) {
    this.capacity = capacity
    this.size = size
  }

  /** Items waiting. */
  get length(): number {
    return this.items.length - this.head
  }

  /** Bytes charged. */
  get bytes(): number {
    return this.charged
  }

  /** Queues `item`, or refuses it when full; an empty queue takes one item whatever its size (Linux `__sock_queue_rcv_skb`). */
  offer(item: A): boolean {
    const charge = this.size(item) + ITEM_OVERHEAD
    if (this.charged + charge > this.capacity && this.length > 0) {
      this.drops++
      return false
    }
    this.items.push(item)
    this.charged += charge
    Latch.openUnsafe(this.ready)
    return true
  }

  /** The oldest item, or undefined. */
  poll(): A | undefined {
    if (this.head >= this.items.length) return undefined
    const item = this.items[this.head]
    this.items[this.head] = undefined // let the consumed item be collected before compaction
    this.head++
    if (item === undefined) return undefined
    this.charged -= this.size(item) + ITEM_OVERHEAD
    if (this.head === this.items.length) {
      this.items = []
      this.head = 0
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return item
  }

  /** Drops everything waiting. */
  clear(): void {
    this.items = []
    this.head = 0
    this.charged = 0
  }
}
