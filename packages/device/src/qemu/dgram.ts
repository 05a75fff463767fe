/**
 * QEMU's `-netdev dgram` as a medium over UDP: one Ethernet frame per
 * datagram, no prefix (QEMU net/dgram.c). With
 *
 *   qemu-system-x86_64 … -netdev dgram,id=n0,local.type=inet,local.host=127.0.0.1,local.port=5556,
 *     remote.type=inet,remote.host=127.0.0.1,remote.port=5555 -device virtio-net,netdev=n0
 *
 * `QemuDgram.open({ local: { host: "127.0.0.1", port: 5555 }, remote: { host: "127.0.0.1", port: 5556 } })`
 * is the other end. Frames go to `remote`; datagrams from anywhere else are
 * dropped and counted (unless `acceptFrom: "any"`), as are empty ones and
 * ones longer than `maxFrame`. At most `txQueueLimit` frames wait in the
 * socket; more are dropped and counted. Datagrams carry no offload metadata.
 */
import { createSocket, type RemoteInfo, type Socket } from "node:dgram"
import { isIPv6 } from "node:net"
import { Effect, type Scope } from "effect"
import { completeChecksum, type FrameOffload, needsChecksum } from "../medium/offload.ts"
import { type FrameReceiver, type FrameRelease, type MediumPort, ReceiverSlot } from "../medium/port.ts"
import { type MediumSocketError, socketErrorFrom } from "./errors.ts"
import { QEMU_MAX_FRAME } from "./framing.ts"

/** A UDP endpoint. */
export interface DgramAddress {
  readonly host: string
  readonly port: number
}

/** How to open a dgram netdev. */
export interface DgramOptions {
  /** Where to bind (port 0 picks one). */
  readonly local: DgramAddress
  /** Where frames go. */
  readonly remote: DgramAddress
  /** Take datagrams only from `remote` (default) or from anyone. */
  readonly acceptFrom?: "remote" | "any" | undefined
  /** Most frames waiting in the socket; default 1024. */
  readonly txQueueLimit?: number | undefined
  /** Longest frame accepted; default QEMU's 69632. */
  readonly maxFrame?: number | undefined
}

/** Counters of a dgram medium. */
export interface DgramCounters {
  readonly rxFrames: number
  readonly rxBytes: number
  /** Datagrams from an address other than `remote`. */
  readonly rxForeign: number
  /** Empty datagrams, or longer than `maxFrame`. */
  readonly rxMalformed: number
  /** Frames that arrived with no receiver attached. */
  readonly rxUnattached: number
  readonly txFrames: number
  readonly txBytes: number
  /** Frames dropped because `txQueueLimit` frames were waiting. */
  readonly txQueueDrops: number
  /** Frames the socket failed to send, super-packets (datagrams carry no GSO metadata), frames sent after closing. */
  readonly txErrors: number
}

/** A dgram netdev as a medium port. */
export interface DgramMedium extends MediumPort {
  /** The address it is bound to (the chosen port when asked for 0). */
  readonly local: DgramAddress
  readonly remote: DgramAddress
  /** A snapshot of the counters. */
  readonly counters: () => DgramCounters
}

/** Opens dgram netdevs. */
export const QemuDgram = {
  /** Binds `options.local` until the scope closes. Fails with `MediumSocketError` if it cannot. */
  open: Effect.fn("QemuDgram.open")(function*(
    options: DgramOptions
  ): Effect.fn.Return<DgramMedium, MediumSocketError, Scope.Scope> {
    const slot = new ReceiverSlot()
    const limit = Math.max(1, options.txQueueLimit ?? 1024)
    const maxFrame = Math.max(1, options.maxFrame ?? QEMU_MAX_FRAME)
    const anyone = options.acceptFrom === "any"
    const remote = options.remote
    const c = {
      rxFrames: 0,
      rxBytes: 0,
      rxForeign: 0,
      rxMalformed: 0,
      rxUnattached: 0,
      txFrames: 0,
      txBytes: 0,
      txQueueDrops: 0,
      txErrors: 0
    }
    let pending = 0
    let closed = false
    const where = `${options.local.host}:${options.local.port}`
    const socket = yield* Effect.acquireRelease(
      Effect.callback<Socket, MediumSocketError>((resume) => {
        const socket = createSocket(isIPv6(options.local.host) ? "udp6" : "udp4")
        const onError = (error: Error) => {
          socket.close()
          resume(Effect.fail(socketErrorFrom("bind", where, error)))
        }
        socket.once("error", onError)
        socket.bind(options.local.port, options.local.host, () => {
          socket.off("error", onError)
          // Later errors (ICMP port unreachable reported on send…) cost a frame, not the medium.
          socket.on("error", () => void c.txErrors++)
          resume(Effect.succeed(socket))
        })
        return Effect.sync(() => void socket.close())
      }),
      (socket) =>
        Effect.sync(() => {
          closed = true
          socket.close()
        })
    )
    socket.on("message", (message: Uint8Array, from: RemoteInfo) => {
      if (!anyone && (from.port !== remote.port || from.address !== remote.host)) {
        c.rxForeign++
        return
      }
      if (message.length === 0 || message.length > maxFrame) {
        c.rxMalformed++
        return
      }
      c.rxFrames++
      c.rxBytes += message.length
      if (!slot.attached) c.rxUnattached++
      slot.deliver(message)
    })
    const bound = socket.address()
    const send = (frame: Uint8Array, release?: FrameRelease, offload?: FrameOffload): void => {
      if (offload !== undefined && offload.gsoType !== "none") {
        c.txErrors++
        return release?.(frame)
      }
      if (closed) {
        c.txErrors++
        return release?.(frame)
      }
      if (pending >= limit) {
        c.txQueueDrops++
        return release?.(frame)
      }
      if (needsChecksum(offload)) completeChecksum(frame, offload.csumStart, offload.csumOffset)
      pending++
      c.txFrames++
      c.txBytes += frame.length
      socket.send(frame, remote.port, remote.host, (error) => {
        pending--
        if (error !== null && error !== undefined) c.txErrors++
        release?.(frame)
      })
    }
    return {
      send,
      attach: (receiver: FrameReceiver) => slot.attach(receiver),
      local: { host: bound.address, port: bound.port },
      remote,
      counters: () => ({ ...c })
    }
  })
}
