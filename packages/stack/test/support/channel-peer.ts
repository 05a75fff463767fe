/**
 * A scripted peer talking to a host with net channels on and tracing, the
 * connection (host port 8080) established and its channel open: what the
 * net-channel tests start from.
 */
import { Effect } from "effect"
import { TcpPeer } from "./tcp-peer.ts"

/** The peer, its host, the host's end of the connection and that connection's channel. */
export const establishedWithChannel = Effect.gen(function*() {
  const peer = yield* TcpPeer.make({ tcp: { timestamps: false } })
  peer.host.channels.enabled = true
  yield* peer.host.startTracing()
  const { connection } = yield* peer.establishPassive({ syn: { mss: 1460 } })
  peer.takeAll()
  const host = peer.host
  const channel = host.channels.channels()[0]
  if (channel === undefined) return yield* Effect.die("no channel for the established connection")
  return { peer, host, connection, channel }
})
