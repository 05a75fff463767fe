/**
 * A UDP socket's receive queue (`sk_receive_queue` bounded by SO_RCVBUF):
 * datagrams copied out of their packets, charged by size plus a fixed
 * overhead (the kernel charges `skb->truesize`, so even empty datagrams fill
 * it), and a latch that wakes readers. The softirq side (`offer`) is
 * synchronous and never blocks: a datagram that does not fit is refused and
 * the caller counts it.
 */
import { Latch } from "effect"

/** A datagram as an application receives it. */
export interface UdpDatagram {
  /** The data: a fresh copy the application owns. */
  readonly data: Uint8Array
  /** Who sent it. */
  readonly from: { readonly address: number; readonly port: number }
  /** The address it was sent to: one of ours, or a broadcast or multicast address (IP_PKTINFO's `ipi_addr`). */
  readonly to: number
}

/** Bytes charged per queued datagram beyond its data (an approximation of the `sk_buff` overhead in `truesize`). */
export const DATAGRAM_OVERHEAD = 256

/** Linux's default receive buffer (`net.core.rmem_default`), bytes. */
export const DEFAULT_RECEIVE_BUFFER = 212_992

/** The charge of one datagram. */
const chargeOf = (datagram: UdpDatagram): number => datagram.data.length + DATAGRAM_OVERHEAD

/** A bounded FIFO of received datagrams with a wake-up latch. */
export class ReceiveQueue {
  /** Bytes the queue may be charged (SO_RCVBUF). */
  capacity: number
  /** Open while datagrams wait (or the socket has news: an error, a close); readers close it when they find nothing. */
  readonly ready: Latch.Latch = Latch.makeUnsafe(false)
  private items: Array<UdpDatagram> = []
  private head = 0
  private charged = 0

  constructor(capacity: number) {
    this.capacity = capacity
  }

  /** Datagrams waiting. */
  get length(): number {
    return this.items.length - this.head
  }

  /** Bytes charged to the queue. */
  get bytes(): number {
    return this.charged
  }

  /**
   * Queues `datagram`, or refuses it (false) when its charge would pass the
   * capacity; an empty queue always takes one datagram, so a buffer smaller
   * than a datagram still receives (Linux `__udp_enqueue_schedule_skb`).
   */
  offer(datagram: UdpDatagram): boolean {
    const charge = chargeOf(datagram)
    if (this.charged + charge > this.capacity && this.length > 0) return false
    this.items.push(datagram)
    this.charged += charge
    Latch.openUnsafe(this.ready)
    return true
  }

  /** The oldest datagram, or undefined when empty. */
  poll(): UdpDatagram | undefined {
    if (this.head >= this.items.length) return undefined
    const datagram = this.items[this.head]
    this.items[this.head] = EMPTY_SLOT
    this.head++
    this.charged -= chargeOf(datagram)
    // Compact once the consumed prefix is large, so memory stays bounded by what waits.
    if (this.head === this.items.length) {
      this.items = []
      this.head = 0
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return datagram
  }

  /** Drops every waiting datagram; returns how many. */
  clear(): number {
    const n = this.length
    this.items = []
    this.head = 0
    this.charged = 0
    return n
  }
}

/** What a consumed slot holds until compaction (so the datagram's bytes can be collected). */
const EMPTY_SLOT: UdpDatagram = { data: new Uint8Array(0), from: { address: 0, port: 0 }, to: 0 }
