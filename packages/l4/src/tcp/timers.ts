/**
 * What a connection's timers do when they fire (Linux `tcp_timer.c`):
 *
 * - retransmission (RFC 6298 §5): the SYN or SYN-ACK again (up to
 *   `synRetries`/`synAckRetries`, then the attempt fails), the data
 *   (`retransmissionTimeout`, up to `retries` expiries or the user timeout,
 *   RFC 5482, then the connection times out), or, with nothing in flight and
 *   a zero window, a window probe (the persist timer, RFC 9293 §3.8.6.1,
 *   backing off like the RTO);
 * - delayed ACK (RFC 9293 §3.8.6.3): the ACK that was held back;
 * - keepalive (RFC 1122 §4.2.3.6): after `keepaliveTime` idle, probes every
 *   `keepaliveInterval`, and after `keepaliveProbes` unanswered ones the
 *   connection times out;
 * - TIME-WAIT (RFC 9293 §3.10.7.4): the connection is closed; the same timer
 *   ends an orphaned FIN-WAIT-2 after `finTimeout` (Linux `tcp_fin_timeout`).
 */
import { TcpFlags } from "@netstack/wire"
import { done } from "./lifecycle.ts"
import { sendAck, sendProbe, sendSyn, transmit } from "./output.ts"
import { retransmissionTimeout } from "./recovery.ts"
import { seqAdd } from "./seq.ts"
import { TcpError } from "./settings.ts"
import type { Tcb, TimerActions } from "./tcb.ts"

/** The error a timed-out connection reports: the last ICMP error if there was one (Linux `sk_err_soft`), else ETIMEDOUT. */
const timedOut = (tcb: Tcb): TcpError =>
  tcb.softError ?? new TcpError({ reason: "timed-out", detail: tcb.toString() })

const retransmit = (tcb: Tcb): void => {
  const host = tcb.host
  const settings = host.settings
  // The handshake not complete: SYN-SENT, SYN-RECEIVED, or FIN-WAIT-1 (CLOSING) after a CLOSE in SYN-RECEIVED.
  const closedEarly = tcb.cc === undefined && (tcb.state === "FIN-WAIT-1" || tcb.state === "CLOSING")
  if (tcb.state === "SYN-SENT" || tcb.state === "SYN-RECEIVED" || closedEarly) {
    const limit = tcb.state === "SYN-SENT" ? settings.synRetries : settings.synAckRetries
    if (tcb.retransmits >= limit) return done(tcb, timedOut(tcb))
    tcb.retransmits++
    tcb.rtt.expired()
    host.stats.TCPTimeouts++
    sendSyn(tcb)
    if (closedEarly) transmit(tcb, seqAdd(tcb.iss, 1), 0, TcpFlags.fin)
    return
  }
  if (tcb.state === "CLOSED" || tcb.state === "LISTEN" || tcb.state === "TIME-WAIT") return
  const now = host.timers.now()
  const overdue = tcb.userTimeout !== undefined && tcb.unackedSince !== undefined && now - tcb.unackedSince >= tcb.userTimeout
  if (tcb.sndUna === tcb.sndMax) {
    // Nothing in flight: the persist timer, if data waits for a window (RFC 9293 §3.8.6.1; RFC 1122 §4.2.2.17).
    if (tcb.unsent === 0 || tcb.sndWnd > 0) return
    if (tcb.retransmits >= settings.retries) {
      host.stats.TCPAbortOnTimeout++
      return done(tcb, timedOut(tcb))
    }
    tcb.retransmits++
    tcb.rtt.expired()
    host.stats.TCPWinProbe++
    sendProbe(tcb)
    tcb.retransmitTimer.arm(tcb.rtt.rto)
    return
  }
  if (tcb.retransmits >= settings.retries || overdue) {
    host.stats.TCPAbortOnTimeout++
    return done(tcb, timedOut(tcb))
  }
  retransmissionTimeout(tcb)
  // The user timeout (RFC 9293 §3.8.3; TCP_USER_TIMEOUT, Linux `tcp_clamp_rto_to_user_timeout`): the backed-off
  // timer fires no later than it, so the connection is aborted on time instead of up to one RTO late.
  if (tcb.userTimeout !== undefined && tcb.unackedSince !== undefined) {
    const deadline = tcb.unackedSince + tcb.userTimeout
    const at = tcb.retransmitTimer.at
    if (at !== undefined && at > deadline) tcb.retransmitTimer.armAt(Math.max(deadline, now))
  }
}

const delayedAck = (tcb: Tcb): void => {
  if (tcb.state === "CLOSED" || tcb.state === "LISTEN" || tcb.state === "SYN-SENT") return
  tcb.host.stats.DelayedACKs++
  sendAck(tcb)
}

const keepalive = (tcb: Tcb): void => {
  const host = tcb.host
  const settings = host.settings
  if (!tcb.keepalive || (tcb.state !== "ESTABLISHED" && tcb.state !== "CLOSE-WAIT")) return
  const idle = host.timers.now() - tcb.lastReceive
  if (idle < settings.keepaliveTime && tcb.keepaliveProbes === 0) {
    tcb.keepaliveTimer.arm(settings.keepaliveTime - idle)
    return
  }
  if (tcb.keepaliveProbes >= settings.keepaliveProbes) {
    host.stats.TCPAbortOnTimeout++
    return done(tcb, timedOut(tcb))
  }
  tcb.keepaliveProbes++
  host.stats.TCPKeepAlive++
  sendProbe(tcb)
  tcb.keepaliveTimer.arm(settings.keepaliveInterval)
}

const timeWait = (tcb: Tcb): void => {
  if (tcb.state === "TIME-WAIT") return done(tcb)
  // An orphaned FIN-WAIT-2 (the application closed; the peer never sent its FIN): Linux `tcp_fin_timeout`.
  if (tcb.state === "FIN-WAIT-2") {
    tcb.host.stats.TCPAbortOnTimeout++
    done(tcb, timedOut(tcb))
  }
}

/** The timer callbacks every connection of a host uses. */
export const timerActions: TimerActions = { retransmit, delayedAck, keepalive, timeWait }
