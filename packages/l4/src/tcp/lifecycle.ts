/**
 * A connection's entry into and exit from the states that matter to the
 * host and the application: ESTABLISHED (the congestion controller starts;
 * `connect` and `accept` return), TIME-WAIT (RFC 9293 §3.10.7.4: 2 MSL
 * before the 4-tuple may be reused), and CLOSED (timers stop, buffers are
 * freed, the host forgets the connection, every waiter is woken, with the
 * error that ended it if one did).
 */
import { Latch } from "effect"
import { initialWindow } from "./congestion/congestion-control.ts"
import type { TcpError } from "./settings.ts"
import type { Tcb } from "./tcb.ts"

/** The handshake completed: start congestion control and wake `connect`/the listener. */
export const established = (tcb: Tcb): void => {
  const host = tcb.host
  const now = host.timers.now()
  // A CLOSE in SYN-RECEIVED already sent the FIN (RFC 9293 §3.10.4): the handshake completes in FIN-WAIT-1, or in
  // CLOSING when the peer's FIN came first; that state stays.
  if (tcb.state !== "CLOSING") tcb.state = tcb.finQueued ? "FIN-WAIT-1" : "ESTABLISHED"
  tcb.cc = host.congestion.make({ mss: tcb.mss, initialWindow: initialWindow(tcb.mss), now })
  tcb.retransmits = 0
  tcb.lastReceive = now
  if (tcb.keepalive) tcb.keepaliveTimer.arm(host.settings.keepaliveTime)
  // The host first (a net channel opens, a passive connection joins its listener's queue), then `connect`:
  // opening the latch resumes the connecting fiber at once, which may write and close before this returns.
  host.onEstablished(tcb)
  Latch.openUnsafe(tcb.opened)
}

/** RFC 9293 §3.10.7.4: TIME-WAIT for 2 MSL; the retransmission timers stop. */
export const enterTimeWait = (tcb: Tcb): void => {
  tcb.state = "TIME-WAIT"
  // Linux `inet_twsk_hashdance`; with the TIME-WAIT table full the connection closes at once (TCPTimeWaitOverflow).
  if (!tcb.host.onTimeWait(tcb)) return done(tcb)
  tcb.host.stats.TW++
  tcb.stopTransmitTimers()
  tcb.timeWaitTimer.arm(tcb.host.settings.timeWait)
  // The application's part is over: a close waiting for the FIN exchange returns now.
  Latch.openUnsafe(tcb.closed)
  Latch.openUnsafe(tcb.readable)
}

/**
 * The connection is CLOSED (RFC 9293 "delete the TCB"): with `error` when
 * it was reset, timed out or aborted. Idempotent.
 */
export const done = (tcb: Tcb, error?: TcpError): void => {
  if (tcb.state === "CLOSED") return
  const wasSynchronizing = tcb.state === "SYN-SENT" || tcb.state === "SYN-RECEIVED"
  const stats = tcb.host.stats
  if (error !== undefined) {
    if (wasSynchronizing) stats.AttemptFails++
    else if (tcb.state === "ESTABLISHED" || tcb.state === "CLOSE-WAIT") stats.EstabResets++
    tcb.error ??= error
  }
  tcb.state = "CLOSED"
  tcb.disposeTimers()
  tcb.send.clear()
  tcb.outOfOrder = undefined
  tcb.scoreboard?.clear()
  if (tcb.error !== undefined) tcb.receive.clear() // an error ends reading too; a clean close leaves data to read
  for (const latch of [tcb.readable, tcb.writable, tcb.opened, tcb.closed]) Latch.openUnsafe(latch)
  tcb.host.onClosed(tcb)
}
