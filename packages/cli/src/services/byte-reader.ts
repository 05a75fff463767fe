/**
 * Reading a byte stream in exact amounts: protocols with fixed-size fields
 * and length-prefixed messages (iperf3's control channel) need `n` bytes,
 * not whatever chunk the transport delivered.
 */
import { Effect } from "effect"
import type { SocketError } from "effect/socket/Socket"

/** A pull of the next chunks of a byte stream (`Socket.readerBytes`). */
export type Pull = Effect.Effect<ReadonlyArray<Uint8Array>, SocketError>

/** Buffers what `pull` delivered beyond the bytes asked for, for the next read. */
export class ByteReader {
  private readonly pending: Array<Uint8Array> = []
  private buffered = 0
  private readonly pull: Pull

  constructor(pull: Pull) {
    this.pull = pull
  }

  /** Exactly `n` bytes (fails as `pull` fails, e.g. when the peer closes first). */
  readExactly(n: number): Effect.Effect<Uint8Array, SocketError> {
    return Effect.suspend(() => {
      if (this.buffered >= n) return Effect.succeed(this.take(n))
      return Effect.flatMap(this.pull, (chunks) => {
        for (const chunk of chunks) {
          if (chunk.length === 0) continue
          this.pending.push(chunk)
          this.buffered += chunk.length
        }
        return this.readExactly(n)
      })
    })
  }

  /** Whatever is buffered, or the next chunks pulled: at least one byte. */
  readSome(): Effect.Effect<ReadonlyArray<Uint8Array>, SocketError> {
    return Effect.suspend(() => {
      if (this.buffered === 0) return this.pull
      const chunks = this.pending.splice(0)
      this.buffered = 0
      return Effect.succeed(chunks)
    })
  }

  private take(n: number): Uint8Array {
    const out = new Uint8Array(n)
    let filled = 0
    while (filled < n) {
      const head = this.pending[0]
      if (head === undefined) break
      const used = Math.min(head.length, n - filled)
      out.set(head.subarray(0, used), filled)
      filled += used
      if (used === head.length) this.pending.shift()
      else this.pending[0] = head.subarray(used)
    }
    this.buffered -= n
    return out
  }
}
