/**
 * @netstack/sockets: the application API of the stack: stream (TCP),
 * datagram (UDP), raw IP and packet sockets as an Effect service
 * (`Sockets`), readiness for one socket and for an epoll-like `PollSet`,
 * data as `Stream` and `Sink`, one tagged error family with errno names,
 * and the stack's implementations of `effect/socket`'s `Socket`,
 * `SocketServer` and `DatagramSocket`.
 */
export { type AddressInput, type EndpointInput, type SocketAddress } from "./address.ts"
export { ERRNO, type Errno, fromIpSendError, fromTcpError, fromUdpError, NetstackSocketError, socketError, type SocketErrorReason } from "./errors.ts"
export { checkOptions, type SocketOptionName, type SocketOptions, SocketOptionsSchema } from "./options.ts"
export { type AnySocket, makeSockets, type Receive, type Send, Sockets, type SocketsShape } from "./sockets.ts"
export { type ConnectOptions, connectStream } from "./stream/connect.ts"
export { type ListenAddress, type ListenOptions, listenStream, StreamListener } from "./stream/listener.ts"
export { DEFAULT_READ_SIZE, type ShutdownHow, StreamSocket } from "./stream/stream-socket.ts"
export { bindDatagram, type BindAddress, type Datagram, type DatagramOptions, DatagramSocket } from "./datagram/datagram-socket.ts"
export { IPPROTO_RAW, openRaw, type RawDatagram, type RawOptions, RawSocket } from "./raw/raw-socket.ts"
export { type Frame, openPacket, type PacketOptions, PacketSocket, type PacketType } from "./packet/packet-socket.ts"
export { awaitReadiness } from "./poll/await-readiness.ts"
export { type Interest, type Pollable, PollBits, type PollSource, type Readiness, readinessOf } from "./poll/events.ts"
export { type PollEvent, PollSet, type WaitOptions, type WatchOptions } from "./poll/poll-set.ts"
export { NetSocketError } from "./node/errors.ts"
export { NetSocket, type NetSocketConnectOptions, type NetSocketOptions, type SocketAddressInfo } from "./node/socket.ts"
/** Effect's `HttpServer` served over a netstack host (`make`, `layer`, `layerServer`). */
export * as NetstackHttpServer from "./http/server.ts"
/** Effect's `HttpClient` over a netstack host (`layer`, `layerOptions`, `layerAgent`, `NetstackHttpAgent`). */
export * as NetstackHttpClient from "./http/client.ts"
/** `effect/socket`'s `Socket` over netstack TCP: `fromStreamSocket`, `makeNet`, `layerNet`. */
export * as EffectSocket from "./effect/socket.ts"
/** `effect/socket`'s `SocketServer` over netstack TCP: `make`, `layer`. */
export * as EffectSocketServer from "./effect/socket-server.ts"
/** `effect/socket`'s `DatagramSocket` over netstack UDP: `make`, `layer`. */
export * as EffectDatagramSocket from "./effect/datagram-socket.ts"
