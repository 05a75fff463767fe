/**
 * Readiness events (poll(2)/epoll(7)): a socket is readable, writable, has
 * an error, is hung up, or its peer closed its sending side. Kept as an
 * event mask with Linux's bit values (EPOLLIN 0x001, EPOLLOUT 0x004,
 * EPOLLERR 0x008, EPOLLHUP 0x010, EPOLLRDHUP 0x2000) and shown to the
 * application as a record of booleans.
 */
import type { Effect } from "effect"

/** The event bits (Linux `<sys/epoll.h>` values). */
export const PollBits = {
  readable: 0x001,
  writable: 0x004,
  error: 0x008,
  hangup: 0x010,
  peerClosed: 0x2000
} as const

/** Reported whether asked for or not (epoll(7): EPOLLERR and EPOLLHUP are always waited for). */
export const ALWAYS = PollBits.error | PollBits.hangup

/** What a socket is ready for. */
export interface Readiness {
  /** Data (or a connection, or the end of the data) waits: a receive (accept) will not block (EPOLLIN). */
  readonly readable: boolean
  /** A send will not block (EPOLLOUT). */
  readonly writable: boolean
  /** An error is pending (EPOLLERR). */
  readonly error: boolean
  /** Both directions are shut, or the connection or socket is gone (EPOLLHUP). */
  readonly hangup: boolean
  /** The peer shut down its sending side: its FIN came (EPOLLRDHUP). */
  readonly peerClosed: boolean
}

/** What to wait for; `error` and `hangup` are always reported. */
export interface Interest {
  readonly readable?: boolean | undefined
  readonly writable?: boolean | undefined
  readonly peerClosed?: boolean | undefined
}

/** The mask of `interest` (with the always-reported bits). */
export const interestMask = (interest: Interest): number =>
  ALWAYS |
  (interest.readable === true ? PollBits.readable : 0) |
  (interest.writable === true ? PollBits.writable : 0) |
  (interest.peerClosed === true ? PollBits.peerClosed : 0)

/** The readiness record of `mask`. */
export const readinessOf = (mask: number): Readiness => ({
  readable: (mask & PollBits.readable) !== 0,
  writable: (mask & PollBits.writable) !== 0,
  error: (mask & PollBits.error) !== 0,
  hangup: (mask & PollBits.hangup) !== 0,
  peerClosed: (mask & PollBits.peerClosed) !== 0
})

/**
 * What every socket kind offers the poll machinery: its readiness now, and
 * a wait for a change that may alter it (the socket's wake-up latches, each
 * closed first when its condition does not hold, so the wait ends on the
 * next change rather than at once).
 */
export interface PollSource {
  /** The event mask now (level). */
  readonly mask: () => number
  /** Ends when something that may change the bits of `interest` happened. */
  readonly changed: (interest: number) => Effect.Effect<void>
  /**
   * Ends when the application used the socket (a receive, send or accept
   * through this API), after which a level that stayed up may have dropped:
   * edge-triggered waits use it for bits that are up.
   */
  readonly used: () => Effect.Effect<void>
}

/** Anything a poll set can watch. */
export interface Pollable {
  readonly pollSource: PollSource
}
