/**
 * A netstack TCP connection as a Node `stream.Duplex` with the parts of
 * `net.Socket` that `http`, `tls` and stream utilities use. The Duplex is a
 * thin shell over `TcpConnection`: every read, write and connect is an
 * Effect run with the services captured when the socket was made, and the
 * kernel's buffers give the backpressure:
 *
 * - writing: a chunk's callback runs once `TcpConnection.write` has taken
 *   it into the send buffer (it waits while the buffer is full), so Node's
 *   writable `highWaterMark` bounds what waits above TCP;
 * - reading: bytes are read from the receive buffer and pushed until `push`
 *   returns false (the readable `highWaterMark` is reached); then nothing is
 *   read until Node asks again, the receive buffer fills and TCP's window
 *   closes (RFC 9293 §3.8.6.2), which stops the sender;
 * - `end()` is `shutdown(SHUT_WR)` (a FIN after the data, RFC 9293 §3.10.4);
 * - `destroy()` is `close(2)`, or ABORT (RST, RFC 9293 §3.10.5) when it
 *   carries an error or writes were still waiting to enter the send buffer.
 *
 * A socket made by `NetSocket.connect` connects lazily: it is returned
 * at once, `connecting` until the handshake completes, and queues reads,
 * writes and `end()` until then (as `net.connect` does), then emits
 * `connect` and `ready`.
 */
import type { TimerHandle, TimerQueue } from "@netstack/l2"
import type { ConnectOptions, TcpConnection, TcpError } from "@netstack/l4"
import type { Host } from "@netstack/stack"
import { ipv4ToString } from "@netstack/wire"
import { type Context, Effect, Exit, type Fiber, Result, Scope } from "effect"
import { Duplex } from "node:stream"
import { type Endpoint, nodeErrorFromTcp, notFound } from "./errors.ts"
import { resolveIpv4 } from "./resolve.ts"

/** How a `NetSocket` buffers and reads. */
export interface NetSocketOptions {
  /**
   * Keep the writable side open after the peer's FIN (default false, as
   * `net.Socket`: the socket ends its side too when reading ends).
   */
  readonly allowHalfOpen?: boolean
  /** Bytes Node buffers for the reader before the socket stops reading from TCP (default 64 KiB). */
  readonly readableHighWaterMark?: number
  /** Bytes Node buffers above TCP before `write` returns false (default 16 KiB). */
  readonly writableHighWaterMark?: number
  /** Most bytes taken from the receive buffer per read (default 64 KiB). */
  readonly readSize?: number
}

/** What a lazily connecting socket connects with (the options of `Host.connect`). */
export type NetSocketConnectOptions = NetSocketOptions & ConnectOptions

/** A socket's local or remote end, as `net.Socket.address()` reports it. */
export interface SocketAddressInfo {
  readonly address: string
  readonly family: "IPv4"
  readonly port: number
}

type Callback = (error?: Error | null) => void

/** A netstack TCP connection as a Node `Duplex` (see the module documentation). */
export class NetSocket extends Duplex {
  /** True while a lazily connecting socket waits for its handshake (as `net.Socket.connecting`). */
  connecting: boolean
  /** The idle timeout set by `setTimeout`, in milliseconds (0: none). */
  timeout = 0
  /** The peer's address and port (known before the handshake completes; undefined if the name did not resolve). */
  readonly remoteAddress: string | undefined
  readonly remotePort: number
  readonly remoteFamily = "IPv4"
  /** Bytes pushed to the reader and taken by TCP. */
  bytesRead = 0
  bytesWritten = 0

  private connection: TcpConnection | undefined
  private readonly context: Context.Context<never>
  private readonly timers: TimerQueue
  private readonly readSize: number
  /** Work waiting for the handshake of a connecting socket. */
  private queued: Array<(connection: TcpConnection) => void> = []
  /** Closes what the lazy connect opened (the connection's own scope). */
  private readonly connectScope: Scope.Closeable | undefined
  private connector: Fiber.Fiber<unknown> | undefined = undefined
  private reader: Fiber.Fiber<unknown> | undefined = undefined
  /** A reader fiber is running (set before it starts, cleared when it ends). */
  private reading = false
  private writer: Fiber.Fiber<unknown> | undefined = undefined
  /** Node asked for data during the last `push`: the reader reads on even though `push` said enough. */
  private readRequested = false
  /** `resetAndDestroy` was called: destroy aborts. */
  private reset = false
  private noDelay: boolean | undefined = undefined
  private keepAlive: boolean | undefined = undefined
  /** The idle deadline (µs on the host's clock) and the timer entry that checks it. */
  private idleDeadline: number | undefined = undefined
  private idleEntry: TimerHandle | undefined = undefined

  private constructor(
    parts: {
      readonly context: Context.Context<never>
      readonly timers: TimerQueue
      readonly connection: TcpConnection | undefined
      readonly remote: { readonly address: string | undefined; readonly port: number }
      readonly connectScope: Scope.Closeable | undefined
    },
    options: NetSocketOptions
  ) {
    super({
      allowHalfOpen: options.allowHalfOpen ?? false,
      readableHighWaterMark: options.readableHighWaterMark ?? 64 * 1024,
      writableHighWaterMark: options.writableHighWaterMark ?? 16 * 1024,
      // `close` carries `hadError`, as net.Socket's does: emitted by `_destroy` after Node's `error`.
      emitClose: false
    })
    this.context = parts.context
    this.timers = parts.timers
    this.connection = parts.connection
    this.connecting = parts.connection === undefined
    this.remoteAddress = parts.remote.address
    this.remotePort = parts.remote.port
    this.connectScope = parts.connectScope
    this.readSize = options.readSize ?? 64 * 1024
  }

  /**
   * Wraps an established connection (an accepted one, or one from
   * `Host.connect`); the socket owns it from now on. `context` runs the
   * socket's effects (take it with `Effect.context()`).
   */
  static fromConnection(
    connection: TcpConnection,
    context: Context.Context<never>,
    options: NetSocketOptions = {}
  ): NetSocket {
    const socket = new NetSocket({
      context,
      timers: connection.tcb.host.timers,
      connection,
      remote: { address: ipv4ToString(connection.remoteAddress), port: connection.remotePort },
      connectScope: undefined
    }, options)
    // As net.Socket: start the flow of data into the readable buffer (up to its high-water mark).
    socket.read(0)
    return socket
  }

  /**
   * Starts connecting `host` to `hostname:port` and returns the socket at
   * once (`connecting` until the handshake completes, then `connect` and
   * `ready`; a failure is an `error` with `ECONNREFUSED`, `ETIMEDOUT`…).
   * `hostname` is a dotted IPv4 address or `localhost`; any other name fails
   * with `ENOTFOUND` (netstack has no resolver).
   */
  static connect(
    host: Host,
    hostname: string,
    port: number,
    context: Context.Context<never>,
    options: NetSocketConnectOptions = {}
  ): NetSocket {
    const address = resolveIpv4(hostname)
    const connectScope = Scope.makeUnsafe()
    const socket = new NetSocket({
      context,
      timers: host.timers,
      connection: undefined,
      remote: { address, port },
      connectScope
    }, options)
    if (address === undefined) {
      // As net.connect: the socket is returned, and the lookup's failure comes as an `error` event.
      process.nextTick(() => socket.destroy(notFound(hostname)))
    } else {
      socket.startConnecting(
        host.connect(address, port, connectOptions(options)).pipe(Scope.provide(connectScope)),
        { address, port }
      )
    }
    return socket
  }

  /** `fromConnection` with the current services. */
  static make(connection: TcpConnection, options: NetSocketOptions = {}): Effect.Effect<NetSocket> {
    return Effect.map(Effect.context<never>(), (context) => NetSocket.fromConnection(connection, context, options))
  }

  /** The TCP connection (undefined while connecting). */
  get tcp(): TcpConnection | undefined {
    return this.connection
  }

  get localAddress(): string | undefined {
    return this.connection === undefined ? undefined : ipv4ToString(this.connection.localAddress)
  }

  get localPort(): number | undefined {
    return this.connection?.localPort
  }

  /** "opening" while connecting, then as `net.Socket.readyState`. */
  get readyState(): "opening" | "open" | "readOnly" | "writeOnly" | "closed" {
    if (this.connecting) return "opening"
    if (this.readable && this.writable) return "open"
    if (this.readable) return "readOnly"
    if (this.writable) return "writeOnly"
    return "closed"
  }

  /** The local end (as `net.Socket.address()`); empty while connecting. */
  address(): SocketAddressInfo | Record<string, never> {
    const connection = this.connection
    return connection === undefined
      ? {}
      : { address: ipv4ToString(connection.localAddress), family: "IPv4", port: connection.localPort }
  }

  /** TCP_NODELAY: segments leave without waiting for Nagle's algorithm (RFC 9293 §3.7.4). */
  setNoDelay(noDelay = true): this {
    this.noDelay = noDelay
    this.connection?.setNoDelay(noDelay)
    return this
  }

  /**
   * SO_KEEPALIVE (RFC 1122 §4.2.3.6), as Linux `tcp_set_keepalive`: turning
   * it on arms the keepalive timer for the host's `keepaliveTime`; off stops
   * it. Netstack has no per-socket TCP_KEEPIDLE, so `initialDelay` is unused.
   */
  setKeepAlive(enable = false, _initialDelay = 0): this {
    this.keepAlive = enable
    if (this.connection !== undefined) applyKeepAlive(this.connection, enable)
    return this
  }

  /**
   * Emits `timeout` after `ms` milliseconds without reading or writing (on
   * the host's clock); 0 turns it off. As `net.Socket.setTimeout`, the
   * socket is not closed: the listener decides.
   */
  setTimeout(ms: number, callback?: () => void): this {
    this.timeout = ms > 0 ? ms : 0
    if (callback !== undefined) {
      if (this.timeout === 0) this.removeListener("timeout", callback)
      else this.once("timeout", callback)
    }
    this.touch()
    return this
  }

  /** There is no event-loop handle to keep the process alive: a no-op, as on a socket that is already unref'd. */
  ref(): this {
    return this
  }

  /** A no-op (see `ref`). */
  unref(): this {
    return this
  }

  /** Ends the writable side, then destroys the socket once everything was handed to TCP (as `net.Socket.destroySoon`). */
  destroySoon(): void {
    if (this.writable) this.end()
    if (this.writableFinished) this.destroy()
    else this.once("finish", () => this.destroy())
  }

  /** Destroys the socket with an RST (ABORT) instead of a FIN (as `net.Socket.resetAndDestroy`). */
  resetAndDestroy(): this {
    this.reset = true
    return this.destroy()
  }

  // ---------------------------------------------------------------- Duplex

  override _read(_size: number): void {
    this.readRequested = true
    if (this.reading) return
    this.withConnection((connection) => this.startReading(connection))
  }

  override _write(chunk: Uint8Array, _encoding: BufferEncoding, callback: Callback): void {
    this.withConnection((connection) => this.startWriting(connection, [chunk], callback))
  }

  override _writev(chunks: Array<{ chunk: Uint8Array; encoding: BufferEncoding }>, callback: Callback): void {
    this.withConnection((connection) =>
      this.startWriting(connection, chunks.map((entry) => entry.chunk), callback)
    )
  }

  override _final(callback: Callback): void {
    this.withConnection((connection) => {
      this.runQuiet(connection.shutdown())
      callback()
    })
  }

  override _destroy(error: Error | null, callback: Callback): void {
    this.stopIdleTimer()
    // Writes not yet taken by TCP would be lost without the peer knowing: reset instead (as an error does).
    const unsent = this.writer !== undefined || this.writableLength > 0
    this.queued = []
    for (const fiber of [this.reader, this.writer, this.connector]) fiber?.interruptUnsafe()
    this.reader = undefined
    this.writer = undefined
    this.connector = undefined
    const connection = this.connection
    if (connection !== undefined) {
      // close(2): the FIN exchange finishes in the background (with unread data, l4 resets: RFC 2525 §2.17).
      this.runQuiet(error !== null || unsent || this.reset ? connection.abort() : connection.close())
    }
    if (this.connectScope !== undefined) this.runQuiet(Scope.close(this.connectScope, Exit.void))
    callback(error)
    // After the `error` that `callback` scheduled.
    process.nextTick(() => this.emit("close", error !== null))
  }

  // ---------------------------------------------------------------- internals

  /** Runs `effect` with the socket's services and calls `onExit` unless the socket was destroyed meanwhile. */
  private run<A>(effect: Effect.Effect<A>, onExit: (exit: Exit.Exit<A>) => void): Fiber.Fiber<A> {
    const fiber = Effect.runForkWith(this.context)(effect)
    fiber.addObserver((exit) => {
      if (!this.destroyed) onExit(exit)
    })
    return fiber
  }

  /** Runs a synchronous, infallible connection call. */
  private runQuiet(effect: Effect.Effect<void>): void {
    Effect.runForkWith(this.context)(effect)
  }

  private withConnection(work: (connection: TcpConnection) => void): void {
    if (this.connection !== undefined) work(this.connection)
    else this.queued.push(work)
  }

  private startConnecting(connect: Effect.Effect<TcpConnection, TcpError>, remote: Endpoint): void {
    const fiber = this.run(Effect.result(connect), (exit) => {
      this.connector = undefined
      if (!Exit.isSuccess(exit)) return
      const result = exit.value
      if (Result.isFailure(result)) {
        this.destroy(nodeErrorFromTcp(result.failure, "connect", remote))
        return
      }
      const connection = result.success
      this.connection = connection
      this.connecting = false
      if (this.noDelay !== undefined) connection.setNoDelay(this.noDelay)
      if (this.keepAlive !== undefined) applyKeepAlive(connection, this.keepAlive)
      this.touch()
      this.emit("connect")
      this.emit("ready")
      const queued = this.queued
      this.queued = []
      for (const work of queued) {
        if (this.destroyed) return
        work(connection)
      }
      if (!this.destroyed) this.read(0)
    })
    if (fiber.pollUnsafe() === undefined) this.connector = fiber
  }

  /**
   * Reads and pushes until `push` says the reader has enough (and Node has
   * not asked again meanwhile), the peer's FIN (`push(null)`), or an error.
   */
  private startReading(connection: TcpConnection): void {
    const socket = this
    const loop = Effect.gen(function*() {
      for (;;) {
        const chunk = yield* connection.read(socket.readSize)
        if (chunk === undefined) return "end" as const
        socket.bytesRead += chunk.length
        socket.touch()
        // A `_read` while this push runs (a consumer reading from its `data` handler) wants more: go on.
        socket.readRequested = false
        if (!socket.push(chunk) && !socket.readRequested) return "full" as const
        if (socket.destroyed) return "full" as const
      }
    })
    // Set before the fiber starts: it runs synchronously as far as it can, and a `_read` from inside its
    // `push` must not start a second reader.
    this.reading = true
    const fiber = this.run(Effect.result(loop), (exit) => {
      this.reading = false
      this.reader = undefined
      if (!Exit.isSuccess(exit)) return
      const result = exit.value
      if (Result.isFailure(result)) this.destroy(nodeErrorFromTcp(result.failure, "read"))
      else if (result.success === "end") this.push(null)
    })
    if (this.reading) this.reader = fiber
  }

  /** Hands `chunks` to TCP; `callback` runs once all are in the send buffer. */
  private startWriting(connection: TcpConnection, chunks: ReadonlyArray<Uint8Array>, callback: Callback): void {
    const first = chunks[0]
    const write = chunks.length === 1 && first !== undefined
      ? connection.write(first)
      : Effect.forEach(chunks, (chunk) => connection.write(chunk), { discard: true })
    let length = 0
    for (const chunk of chunks) length += chunk.length
    const fiber = this.run(Effect.result(write), (exit) => {
      this.writer = undefined
      if (!Exit.isSuccess(exit)) return
      const result = exit.value
      if (Result.isFailure(result)) return callback(nodeErrorFromTcp(result.failure, "write"))
      this.bytesWritten += length
      this.touch()
      callback()
    })
    if (fiber.pollUnsafe() === undefined) this.writer = fiber
  }

  /** Activity: the idle timeout starts again (net.Socket refreshes its timer on every read and write). */
  private touch(): void {
    if (this.timeout === 0) return this.stopIdleTimer()
    const deadline = this.timers.now() + this.timeout * 1000
    this.idleDeadline = deadline
    const entry = this.idleEntry
    if (entry === undefined || entry.at > deadline) {
      this.timers.cancel(entry)
      this.idleEntry = this.timers.schedule(deadline, this.onIdleEntry)
    }
  }

  /** The timer entry came due: emit `timeout` if the deadline passed, or look again at the (later) deadline. */
  private readonly onIdleEntry = (): void => {
    const dueAt = this.idleEntry?.at ?? this.timers.now()
    this.idleEntry = undefined
    const deadline = this.idleDeadline
    if (deadline === undefined || this.destroyed) return
    if (deadline > dueAt) {
      this.idleEntry = this.timers.schedule(deadline, this.onIdleEntry)
      return
    }
    // Once per idle period; the next read or write arms it again.
    this.idleDeadline = undefined
    this.emit("timeout")
  }

  private stopIdleTimer(): void {
    this.idleDeadline = undefined
    this.timers.cancel(this.idleEntry)
    this.idleEntry = undefined
  }
}

/** The `ConnectOptions` among a lazily connecting socket's options. */
const connectOptions = (options: NetSocketConnectOptions): ConnectOptions => ({
  ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
  ...(options.localPort === undefined ? {} : { localPort: options.localPort }),
  ...(options.noDelay === undefined ? {} : { noDelay: options.noDelay }),
  ...(options.keepalive === undefined ? {} : { keepalive: options.keepalive }),
  ...(options.userTimeout === undefined ? {} : { userTimeout: options.userTimeout })
})

/** SO_KEEPALIVE as Linux `tcp_set_keepalive`: only a change arms (in a synchronized state) or stops the timer. */
const applyKeepAlive = (connection: TcpConnection, enable: boolean): void => {
  if (enable !== connection.tcb.keepalive) connection.setKeepalive(enable)
}
