/**
 * Window arithmetic on both sides.
 *
 * Receive (RFC 9293 §3.8.6.2.2, RFC 7323 §2.4; Linux `__tcp_select_window`):
 * the window offered is the room left in the receive buffer; its right edge
 * never moves left ("shrinking the window" is strongly discouraged), and it
 * only moves right by at least min(half the buffer, one MSS) so the sender
 * is not invited to send tiny segments (receiver silly-window avoidance).
 * With window scaling the field carries the window shifted right, rounded
 * up so the right edge is never pulled back.
 *
 * Send: what the peer's window and the congestion window leave room for.
 */
import { seqAdd, seqDiff, seqLt } from "./seq.ts"
import type { Tcb } from "./tcb.ts"

/** The largest unscaled window field (RFC 9293 §3.1). */
export const MAX_WINDOW_FIELD = 0xffff

/** Bytes the connection can still take in: buffer room not used by queued out-of-order data. */
export const receiveSpace = (tcb: Tcb): number => Math.max(0, tcb.receive.free - (tcb.outOfOrder?.length ?? 0))

/**
 * The window field for a segment sent now (a SYN's is never scaled,
 * RFC 7323 §2.2), updating the advertised right edge (`rcvAdv`).
 */
export const selectWindow = (tcb: Tcb, syn = false): number => {
  const space = receiveSpace(tcb)
  if (syn) {
    const field = Math.min(MAX_WINDOW_FIELD, space)
    tcb.rcvAdv = seqAdd(tcb.rcvNxt, field)
    return field
  }
  let right = seqAdd(tcb.rcvNxt, space)
  const current = tcb.rcvAdv
  if (seqLt(right, current)) {
    right = current // never shrink
  } else {
    const growth = seqDiff(right, current)
    const threshold = Math.min(tcb.receive.capacity / 2, tcb.rcvMss)
    // Receiver SWS avoidance: hold the edge until it can move by a useful amount.
    if (growth < threshold) right = current
  }
  const window = Math.max(0, seqDiff(right, tcb.rcvNxt))
  const shift = tcb.rcvWscale
  const field = Math.min(MAX_WINDOW_FIELD, Math.ceil(window / 2 ** shift))
  tcb.rcvAdv = seqAdd(tcb.rcvNxt, field * 2 ** shift)
  return field
}

/** The receive window now offered: from RCV.NXT to the advertised right edge. */
export const receiveWindow = (tcb: Tcb): number => Math.max(0, seqDiff(tcb.rcvAdv, tcb.rcvNxt))

/** Bytes the peer's window still allows past SND.NXT (negative when SND.NXT is beyond it). */
export const sendWindowRoom = (tcb: Tcb): number => seqDiff(seqAdd(tcb.sndUna, tcb.sndWnd), tcb.sndNxt)
