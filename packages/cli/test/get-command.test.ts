/**
 * `netstack get`: the fetch behind it (`fetchOnHost`) between in-process
 * hosts on the live clock (Node's HTTP client uses real timers): the body
 * of the CLI's HTTP app (`/bytes/N`: byte i is i % 251) streams to a file,
 * to stdout or nowhere, byte for byte, with its SHA-256 and byte count; the
 * progress callback sees the bytes grow to the Content-Length; a 404 fails
 * without writing. Then the command as a process against `netstack up
 * --serve http:80` over a QEMU stream socket: `-o FILE` and `--json`.
 */
import { NodeServices } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { fetchOnHost, formatBytes, type GetProgress, type GetResult, httpApp, patternBytes, progressLine, resultLine } from "@netstack/cli"
import { makeSockets, NetstackHttpServer, Sockets } from "@netstack/sockets"
import { CurrentHost, Network } from "@netstack/stack"
import { outputMatching } from "@netstack/test-support"
import { Effect, Exit, Sink, Stdio } from "effect"
import { spawn, spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NETSTACK_BIN as bin } from "./linux-harness.ts"

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex")

/** a (10.0.0.1) fetches from b (10.0.0.2), which serves the CLI's HTTP app on port 80. */
const pair = Effect.gen(function*() {
  const net = Network.make()
  const a = yield* net.host("a")
  const b = yield* net.host("b")
  yield* net.link(a, b, { a: "10.0.0.1/24", b: "10.0.0.2/24" })
  const server = yield* NetstackHttpServer.make({ port: 80 }).pipe(
    Effect.provideService(CurrentHost, b),
    Effect.provideService(Sockets, makeSockets(b))
  )
  yield* server.serve(httpApp("b")).pipe(Effect.provideService(CurrentHost, b), Effect.provideService(Sockets, makeSockets(b)))
  return { a, b }
})

const withDir = <A, E, R>(use: (dir: string) => Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "netstack-get-"))),
    use,
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )

describe("fetchOnHost", () => {
  it.live("streams the body to a file, with its byte count and SHA-256, and reports progress up to the Content-Length", () =>
    withDir((dir) =>
      Effect.gen(function*() {
        const { a } = yield* pair
        const path = join(dir, "body")
        const size = 3_000_000
        const progress: Array<GetProgress> = []
        const result = yield* fetchOnHost(a, {
          url: `http://10.0.0.2/bytes/${size}`,
          output: { _tag: "file", path },
          progress: (p) => Effect.sync(() => void progress.push(p))
        })
        const expected = patternBytes(0, size)
        const written = new Uint8Array(readFileSync(path))
        expect(written.length).toBe(size)
        expect(sha256(written)).toBe(sha256(expected))
        expect(result).toMatchObject({ status: 200, bytes: size, sha256: sha256(expected), output: path })
        expect(result.seconds).toBeGreaterThan(0)
        // the last report is the whole body; reports never go backwards
        expect(progress.at(-1)).toMatchObject({ bytes: size, total: size })
        expect(progress.every((p, i) => i === 0 || p.bytes >= (progress[i - 1]?.bytes ?? 0))).toBe(true)
      }).pipe(Effect.provide(NodeServices.layer))
    ))

  it.live("to stdout (through Stdio, chunk by chunk) and to nowhere (hashed only)", () =>
    Effect.gen(function*() {
      const { a } = yield* pair
      const chunks: Array<Uint8Array> = []
      const stdio = Stdio.layerTest({
        stdout: () => Sink.forEach((chunk: string | Uint8Array) => Effect.sync(() => void chunks.push(typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk)))
      })
      const shown = yield* fetchOnHost(a, { url: "http://10.0.0.2/bytes/100000", output: { _tag: "stdout" } }).pipe(Effect.provide(stdio))
      const body = Buffer.concat(chunks)
      expect(body.length).toBe(100_000)
      expect(sha256(body)).toBe(sha256(patternBytes(0, 100_000)))
      expect(chunks.length).toBeGreaterThan(1)
      expect(shown.sha256).toBe(sha256(body))
      const hashed = yield* fetchOnHost(a, { url: "http://10.0.0.2/bytes/5000", output: { _tag: "discard" } }).pipe(Effect.provide(stdio))
      expect(hashed).toMatchObject({ bytes: 5000, sha256: sha256(patternBytes(0, 5000)) })
      expect(hashed.output).toBeUndefined()
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("a 404 fails with the status and writes no file", () =>
    withDir((dir) =>
      Effect.gen(function*() {
        const { a } = yield* pair
        const path = join(dir, "none")
        const exit = yield* Effect.exit(fetchOnHost(a, { url: "http://10.0.0.2/missing", output: { _tag: "file", path } }))
        expect(Exit.isFailure(exit) ? JSON.stringify(exit.cause) : "").toContain("HttpStatusError")
        expect(existsSync(path)).toBe(false)
      }).pipe(Effect.provide(NodeServices.layer))
    ))

  it("formats sizes, progress and the closing line", () => {
    expect(formatBytes(999)).toBe("999 B")
    expect(formatBytes(1536)).toBe("1.5 KiB")
    expect(formatBytes(104857600)).toBe("100.0 MiB")
    expect(progressLine({ bytes: 52428800, total: 104857600, seconds: 2 })).toBe("50.0 MiB of 100.0 MiB (50%)  25.0 MiB/s")
    expect(progressLine({ bytes: 2048, total: undefined, seconds: 1 })).toBe("2.0 KiB  2.0 KiB/s")
    expect(resultLine({ url: "u", status: 200, bytes: 1048576, seconds: 0.5, sha256: "", output: "f" })).toBe(
      "HTTP 200: 1048576 bytes in 0.50 s (2.0 MiB/s) to f"
    )
  })
})

describe("netstack get (the command)", () => {
  it("fetches from `netstack up --serve http:80` over a QEMU stream socket: -o FILE, then --json", async () => {
    const dir = mkdtempSync(join(tmpdir(), "netstack-get-"))
    const socket = join(dir, "link.sock")
    const up = spawn(process.execPath, [bin, "up", "--qemu-stream", `listen:unix:${socket}`, "--ip", "10.7.0.2/24", "--serve", "http:80"], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    try {
      await outputMatching(up, /^ready /m)
      const run = (...args: ReadonlyArray<string>) =>
        spawnSync(process.execPath, [bin, "get", "--qemu-stream", `unix:${socket}`, "--ip", "10.7.0.1/24", ...args], {
          encoding: "utf8",
          timeout: 30_000
        })
      const file = join(dir, "body")
      const saved = run("-o", file, "http://10.7.0.2/bytes/1000000")
      expect(saved.status).toBe(0)
      expect(saved.stderr).toMatch(/^HTTP 200: 1000000 bytes in [\d.]+ s \(.*\/s\) to /m)
      expect(sha256(readFileSync(file))).toBe(sha256(patternBytes(0, 1_000_000)))
      const json = run("--json", "http://10.7.0.2/bytes/4096")
      expect(json.status).toBe(0)
      const summary = JSON.parse(json.stdout) as GetResult
      expect(summary).toMatchObject({ status: 200, bytes: 4096, sha256: sha256(patternBytes(0, 4096)) })
      const missing = run("http://10.7.0.2/missing")
      expect(missing.status).toBe(1)
      expect(missing.stderr).toContain("HTTP status 404")
    } finally {
      up.kill("SIGINT")
      await new Promise((resolve) => up.once("exit", resolve))
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
