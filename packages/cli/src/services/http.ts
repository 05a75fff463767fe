/**
 * The HTTP service `netstack up --serve http:PORT` runs: a hello page at
 * `/`, and `/bytes/N` answering N bytes of a deterministic pattern, streamed
 * (so 100 MB cost no 100 MB buffer), for checking a transfer by hash.
 */
import { Effect, Stream } from "effect"
import { HttpServerRequest } from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"

/** The largest `/bytes/N` served: 4 GiB. */
export const MAX_PATTERN_BYTES = 4 * 1024 ** 3

/** The pattern's byte at offset `i`: counting modulo 251, a prime, so no power-of-two alignment hides a misplaced block. */
export const patternByte = (i: number): number => i % 251

/** Bytes `offset` … `offset + length` of the pattern. */
export const patternBytes = (offset: number, length: number): Uint8Array => {
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) out[i] = patternByte(offset + i)
  return out
}

/** Chunk size of a streamed pattern: a multiple of 251, so every chunk is the same bytes. */
const CHUNK = 251 * 256

/** The first `total` bytes of the pattern, as a stream of chunks. */
export const patternStream = (total: number): Stream.Stream<Uint8Array> => {
  if (total <= 0) return Stream.empty
  const chunk = patternBytes(0, CHUNK)
  const chunks = Math.ceil(total / CHUNK)
  return Stream.range(0, chunks - 1).pipe(
    Stream.map((i) => (i === chunks - 1 && total % CHUNK !== 0 ? chunk.subarray(0, total % CHUNK) : chunk))
  )
}

const hello = (host: string) => `<!doctype html>
<title>netstack</title>
<h1>Hello from netstack</h1>
<p>This page came from host ${host} over netstack, a user-space TCP/IP stack in TypeScript on Effect.</p>
<p><a href="/bytes/1048576">/bytes/1048576</a> answers 1 MiB of a deterministic pattern (byte i = i mod 251).</p>
`

/** The app: `GET /` and `GET /bytes/N`; anything else 404, other methods 405. */
export const httpApp = (hostName = "netstack") =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest
    const path = request.url.split("?")[0] ?? "/"
    if (request.method !== "GET" && request.method !== "HEAD") return HttpServerResponse.text("method not allowed\n", { status: 405 })
    if (path === "/") return HttpServerResponse.html(hello(hostName))
    const bytes = /^\/bytes\/(\d{1,10})$/.exec(path)
    if (bytes !== null) {
      const n = Number(bytes[1])
      if (n > MAX_PATTERN_BYTES) return HttpServerResponse.text(`at most ${MAX_PATTERN_BYTES} bytes\n`, { status: 400 })
      return HttpServerResponse.stream(patternStream(n), { contentType: "application/octet-stream", contentLength: n })
    }
    return HttpServerResponse.text("not found\n", { status: 404 })
  })
