/**
 * `ping`: ICMP echo (RFC 792) as an Effect. Sends one echo request and waits
 * for the reply with the same identifier and sequence number, or for an ICMP
 * error about the request, or for the timeout. Time is the stack's `Clock`,
 * so round trips are exact under `TestClock`.
 */
import { ipv4ToString } from "@netstack/wire"
import { Deferred, Duration, Effect, Schema } from "effect"
import type { Icmp } from "./icmp.ts"

/** Ping settings (`ping -s SIZE -t TTL -M do -W TIMEOUT`). */
export interface PingOptions {
  /** Bytes of data after the 8-byte ICMP header; default 56 (ping's default). */
  readonly size?: number
  readonly identifier?: number
  readonly sequence?: number
  readonly ttl?: number
  /** Set DF (`ping -M do`). */
  readonly dontFragment?: boolean
  /** How long to wait for the reply; default 1 s. */
  readonly timeout?: Duration.Input
}

/** A reply. */
export interface EchoReply {
  /** Who answered. */
  readonly from: string
  readonly sequence: number
  /** Bytes of the ICMP message, as ping prints (`64 bytes from …`). */
  readonly bytes: number
  readonly ttl: number
  /** Round-trip time in microseconds. */
  readonly rttMicros: number
  /** The reply carried exactly the data sent. */
  readonly intact: boolean
}

/** Why a ping got no reply: an ICMP error (with its type and code and who sent it), a failed send, or silence. */
export class PingError extends Schema.TaggedError<PingError>()("PingError", {
  reason: Schema.Literals(["timeout", "unreachable", "time-exceeded", "send-failed"]),
  destination: Schema.String,
  /** Who sent the ICMP error. */
  from: Schema.optional(Schema.String),
  /** `ICMP type T code C`, or why the send failed (a `SendError` reason). */
  detail: Schema.optional(Schema.String),
  /** The ICMP error's type and code (RFC 792). */
  icmpType: Schema.optional(Schema.Number),
  icmpCode: Schema.optional(Schema.Number),
  /** The path MTU: from a fragmentation needed (RFC 1191 §4), or the one a DF send exceeded. */
  mtu: Schema.optional(Schema.Number)
}) {}

/** The data ping sends: a deterministic pattern, like ping's 0x10, 0x11, … fill. */
const pattern = (size: number): Uint8Array => Uint8Array.from({ length: size }, (_, i) => (i + 0x10) & 0xff)

/** Sends one echo request to `destination` and waits for its reply. */
export const ping = (icmp: Icmp, destination: number, options: PingOptions = {}): Effect.Effect<EchoReply, PingError> =>
  Effect.gen(function*() {
    const identifier = options.identifier ?? icmp.allocateIdentifier()
    const sequence = options.sequence ?? 1
    const data = pattern(options.size ?? 56)
    const target = ipv4ToString(destination)
    const done = yield* Deferred.make<EchoReply, PingError>()
    const sentAt = icmp.now()
    const stop = icmp.listen(identifier, (event) => {
      if (event.sequence !== sequence) return
      if (event._tag === "reply") {
        const intact = event.data.length === data.length && event.data.every((b, i) => b === data[i])
        Deferred.doneUnsafe(
          done,
          Effect.succeed({
            from: ipv4ToString(event.from),
            sequence,
            bytes: event.length,
            ttl: event.ttl,
            rttMicros: icmp.now() - sentAt,
            intact
          })
        )
      } else {
        Deferred.doneUnsafe(
          done,
          Effect.fail(
            new PingError({
              reason: event.type === 11 ? "time-exceeded" : "unreachable",
              destination: target,
              from: ipv4ToString(event.from),
              detail: `ICMP type ${event.type} code ${event.code}`,
              icmpType: event.type,
              icmpCode: event.code,
              ...(event.mtu === undefined ? {} : { mtu: event.mtu })
            })
          )
        )
      }
    })
    const error = icmp.sendEcho(destination, identifier, sequence, data, {
      ...(options.ttl === undefined ? {} : { ttl: options.ttl }),
      ...(options.dontFragment === undefined ? {} : { dontFragment: options.dontFragment })
    })
    if (error !== undefined) {
      stop()
      return yield* new PingError({
        reason: "send-failed",
        destination: target,
        detail: error.reason,
        ...(error.mtu === undefined ? {} : { mtu: error.mtu })
      })
    }
    return yield* Deferred.await(done).pipe(
      Effect.timeoutOrElse({
        duration: options.timeout ?? Duration.seconds(1),
        orElse: () => Effect.fail(new PingError({ reason: "timeout", destination: target }))
      }),
      Effect.ensuring(Effect.sync(stop))
    )
  })
