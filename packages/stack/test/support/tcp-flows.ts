/**
 * Small scripts on top of `TcpPeer` shared by the segment-level data and
 * congestion tests: an active open with a chosen handshake RTT, and the
 * sequence ranges of a flight of segments.
 */
import type { TcpConnection, TcpError } from "@netstack/l4"
import { Effect, type Scope } from "effect"
import type { OutSegment, SendSpec, TcpPeer } from "./tcp-peer.ts"

/**
 * An active open whose SYN-ACK comes `rtt` ms after the SYN, carrying
 * `synAck` options (a `ts` option is completed with the echo of the SYN's
 * TSval). The handshake is the connection's first RTT sample: SRTT = rtt,
 * RTTVAR = rtt/2, RTO = SRTT + 4·RTTVAR = 3·rtt (RFC 6298 §2.2), at least
 * the minimum RTO.
 */
export const openWithRtt = (
  peer: TcpPeer,
  rtt: number,
  synAck: SendSpec["options"],
  window = 65535
): Effect.Effect<TcpConnection, TcpError, Scope.Scope> =>
  Effect.gen(function*() {
    const connecting = yield* peer.connect()
    const syn = peer.expect({ flags: "S", seq: 0 })
    yield* peer.after(rtt)
    const ts = synAck?.ts === undefined || synAck.ts === false ? undefined : [synAck.ts[0], syn.options.ts?.[0] ?? 0] as const
    peer.timestamps = ts !== undefined && syn.options.ts !== undefined
    yield* peer.send({ flags: "S.", seq: 0, ack: 1, window, options: { ...synAck, ...(ts === undefined ? {} : { ts }) } })
    peer.expect({ flags: ".", seq: 1, ack: 1 })
    return yield* peer.done(connecting)
  })

/** `[seq, seq + length)` of each segment (relative), to compare flights. */
export const ranges = (segments: ReadonlyArray<Pick<OutSegment, "seq" | "length">>): Array<readonly [number, number]> =>
  segments.map((s) => [s.seq, s.seq + s.length] as const)
