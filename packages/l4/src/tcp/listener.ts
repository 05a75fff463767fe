/**
 * A listening endpoint (RFC 9293 §3.10.1 passive OPEN; Linux's listen
 * socket): its SYN-RECEIVED children (bounded by the SYN backlog), and the
 * accept queue of connections that completed the handshake and wait for
 * `accept` (bounded by the listen backlog). The SYN handling itself is the
 * host TCP's (`tcp.ts`), which owns the tables.
 */
import { Latch } from "effect"
import type { TcpBinding } from "./lookup.ts"
import type { Tcb } from "./tcb.ts"

/** What new connections inherit from their listener (socket options set before listen). */
export interface ConnectionDefaults {
  readonly noDelay: boolean
  readonly keepalive: boolean
  readonly userTimeout: number | undefined
  readonly ttl: number | undefined
}

/** A listener. */
export class Listener {
  readonly localAddress: number
  readonly localPort: number
  /** Connections the accept queue holds (listen's backlog, Linux `sk_max_ack_backlog`). */
  readonly backlog: number
  /** Handshakes in progress (children in SYN-RECEIVED). */
  pending = 0
  /** Established connections not yet accepted, oldest first. */
  readonly queue: Array<Tcb> = []
  /** Open while the queue holds a connection or the listener is closed. */
  readonly ready = Latch.makeUnsafe(false)
  closed = false
  readonly binding: TcpBinding
  readonly defaults: ConnectionDefaults

  constructor(binding: TcpBinding, localAddress: number, localPort: number, backlog: number, defaults: ConnectionDefaults) {
    this.binding = binding
    this.localAddress = localAddress
    this.localPort = localPort
    this.backlog = backlog
    this.defaults = defaults
  }

  /** Whether the accept queue has room. */
  get hasRoom(): boolean {
    return this.queue.length < this.backlog
  }

  /** A child completed its handshake: it waits for `accept`. */
  enqueue(tcb: Tcb): void {
    this.pending = Math.max(0, this.pending - 1)
    this.queue.push(tcb)
    Latch.openUnsafe(this.ready)
  }

  /** The oldest waiting connection, if any. */
  take(): Tcb | undefined {
    const tcb = this.queue.shift()
    if (this.queue.length === 0 && !this.closed) Latch.closeUnsafe(this.ready)
    return tcb
  }

  /** A child went away before being accepted (reset or timed out, in the handshake or in the queue): forget it. */
  forget(tcb: Tcb): void {
    const at = this.queue.indexOf(tcb)
    if (at >= 0) this.queue.splice(at, 1)
    else this.pending = Math.max(0, this.pending - 1)
    if (this.queue.length === 0 && !this.closed) Latch.closeUnsafe(this.ready)
  }
}
