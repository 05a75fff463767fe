/**
 * `netstack dump`: the capture behind it (`runDump`) on in-process hosts
 * under TestClock: one tcpdump-like line per frame with the interface and
 * direction (ARP who-has in, is-at out, echo request in, echo reply out
 * while another host pings), `-c N` stopping it after N frames, `--json`
 * objects, `-w FILE` writing a pcap that reads back to the same frames, the
 * summary on interruption, and frames dropped (and counted) when the queue
 * is full. Then the command as a process on a QEMU stream socket while
 * `netstack ping` pings it.
 */
import { NodeServices } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { PacketBuffer } from "@netstack/buffers"
import { type DumpSummary, runDump } from "@netstack/cli"
import { Network, whileClockAdvances } from "@netstack/stack"
import { decodeFrame, formatFrame, readCaptureFile } from "@netstack/wire"
import { outputMatching } from "@netstack/test-support"
import { Duration, Effect, Fiber, Stream } from "effect"
import { TestClock } from "effect/testing"
import { spawn, spawnSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NETSTACK_BIN as bin } from "./linux-harness.ts"

/** a (10.0.0.1) and b (10.0.0.2) on a 1 ms wire, with a moment for their start-up frames to pass. */
const pair = Effect.gen(function*() {
  const net = Network.make()
  const a = yield* net.host("a")
  const b = yield* net.host("b")
  yield* net.link(a, b, { a: "10.0.0.1/24", b: "10.0.0.2/24", impairments: { delay: Duration.millis(1) } })
  for (let t = 0; t < 10; t++) yield* TestClock.adjust("1 millis")
  return { a, b }
})

/** Dumps on `b` (into `lines`) while `a` pings it once with `size` bytes. */
const dumpWhilePinging = (options: { readonly count?: number; readonly json?: boolean; readonly pcap?: string; readonly size?: number; readonly bufferFrames?: number }) =>
  Effect.gen(function*() {
    const { a, b } = yield* pair
    const lines: Array<string> = []
    const summaries: Array<DumpSummary> = []
    const dump = yield* Effect.forkChild(
      runDump(b, options, (line) => Effect.sync(() => void lines.push(line)), (s) => Effect.sync(() => void summaries.push(s)))
    )
    yield* whileClockAdvances(a.ping("10.0.0.2", { size: options.size ?? 56 }))
    for (let t = 0; t < 10; t++) yield* TestClock.adjust("1 millis")
    return { lines, summaries, dump }
  })

describe("runDump", () => {
  it.effect("prints one line per frame with time, interface and direction, and stops itself after -c frames", () =>
    Effect.gen(function*() {
      const { lines, summaries, dump } = yield* dumpWhilePinging({ count: 4 })
      const summary = yield* Fiber.join(dump)
      expect(lines.map((l) => l.replace(/^\d+\.\d{6} /, ""))).toEqual([
        "eth0 In  ARP, Request who-has 10.0.0.2 tell 10.0.0.1, length 46",
        expect.stringMatching(/^eth0 Out ARP, Reply 10\.0\.0\.2 is-at [0-9a-f:]{17}, length 46$/),
        expect.stringMatching(/^eth0 In  IP 10\.0\.0\.1 > 10\.0\.0\.2: ICMP echo request, id \d+, seq 1, length 64$/),
        expect.stringMatching(/^eth0 Out IP 10\.0\.0\.2 > 10\.0\.0\.1: ICMP echo reply, id \d+, seq 1, length 64$/)
      ])
      expect(summary).toEqual({ captured: 4, dropped: 0 })
      expect(summaries).toEqual([summary])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("--json: one object per frame with its index, time, interface, direction and layers", () =>
    Effect.gen(function*() {
      const { lines } = yield* dumpWhilePinging({ count: 4, json: true })
      const objects = lines.map((l) => JSON.parse(l) as { frame: number; time: number; interface: string; direction: string; layers: ReadonlyArray<{ layer: string }> })
      expect(objects.map((o) => [o.frame, o.interface, o.direction])).toEqual([[1, "eth0", "in"], [2, "eth0", "out"], [3, "eth0", "in"], [4, "eth0", "out"]])
      expect(objects[2]?.layers.map((l) => l.layer)).toEqual(["ethernet", "ipv4", "icmpv4"])
      expect(objects[0]?.time).toBeGreaterThan(0)
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("-w FILE writes a pcap that reads back to the frames it would have printed", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "netstack-dump-"))
      try {
        const path = join(dir, "dump.pcap")
        // 3000 bytes of data: three fragments each way, so a frame of every size class
        const { lines, dump } = yield* dumpWhilePinging({ count: 8, pcap: path, size: 3000 })
        const summary = yield* Fiber.join(dump)
        expect(lines).toEqual([])
        expect(summary).toEqual({ captured: 8, dropped: 0, file: path })
        const frames = yield* Stream.runCollect(readCaptureFile(path))
        const decoded = frames.map((f) => formatFrame(decodeFrame(PacketBuffer.wrap(f.data.slice()))))
        expect(decoded[0]).toMatch(/^ARP, Request who-has 10\.0\.0\.2 tell 10\.0\.0\.1/)
        expect(decoded[1]).toMatch(/^ARP, Reply 10\.0\.0\.2 is-at /)
        expect(decoded.filter((l) => l.includes("ICMP echo request"))).toHaveLength(1)
        expect(decoded.filter((l) => l.includes("ICMP echo reply"))).toHaveLength(1)
        expect(decoded).toHaveLength(8)
        expect(frames.every((f) => f.data.length === f.originalLength && f.data.length <= 1514)).toBe(true)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("interrupted (SIGINT): the summary still reports what was captured", () =>
    Effect.gen(function*() {
      const { lines, summaries, dump } = yield* dumpWhilePinging({})
      yield* Fiber.interrupt(dump)
      expect(lines.length).toBe(4)
      expect(summaries).toEqual([{ captured: 4, dropped: 0 }])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("frames that find the queue full are dropped and counted, as libpcap's ps_drop", () =>
    Effect.gen(function*() {
      // three fragments of the request arrive in one NAPI batch: a one-frame queue keeps the first of them
      const { lines, summaries, dump } = yield* dumpWhilePinging({ size: 3000, bufferFrames: 1 })
      yield* Fiber.interrupt(dump)
      const summary = summaries[0]
      expect(summary?.dropped).toBeGreaterThan(0)
      expect(summary?.captured).toBe(lines.length)
    }).pipe(Effect.provide(NodeServices.layer)))
})

describe("netstack dump (the command)", () => {
  it("prints the frames of a QEMU stream link while `netstack ping` pings it, and exits by itself after -c 5", async () => {
    const dir = mkdtempSync(join(tmpdir(), "netstack-dump-"))
    const socket = join(dir, "link.sock")
    const dump = spawn(process.execPath, [bin, "dump", "--qemu-stream", `listen:unix:${socket}`, "--ip", "10.7.0.2/24", "-c", "5"], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    let err = ""
    dump.stdout?.on("data", (chunk: Buffer) => void (out += chunk.toString()))
    dump.stderr?.on("data", (chunk: Buffer) => void (err += chunk.toString()))
    const exited = new Promise<number | null>((resolve) => dump.once("exit", (code) => resolve(code)))
    try {
      await outputMatching(dump, /^listening on eth0 /m)
      const ping = spawnSync(process.execPath, [bin, "ping", "--qemu-stream", `unix:${socket}`, "--ip", "10.7.0.1/24", "-c", "2", "-i", "0.2", "10.7.0.2"], {
        encoding: "utf8",
        timeout: 30_000
      })
      expect(ping.status).toBe(0)
      expect(await exited).toBe(0)
      const lines = out.trim().split("\n")
      expect(lines).toHaveLength(5)
      for (const line of lines) expect(line).toMatch(/^\d+\.\d{6} eth0 (In |Out) (ARP, |IP )/)
      expect(out).toContain("ICMP echo request")
      expect(out).toContain("ICMP echo reply")
      expect(err).toContain("5 packets captured, 0 dropped")
    } finally {
      if (dump.exitCode === null) dump.kill("SIGINT")
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
