/**
 * `netstack ping`: the session behind it (`runPing`) over in-process hosts
 * under TestClock, line for line as Linux's ping (iputils) prints them:
 * replies with their round trips, duplicates, ICMP errors from a router
 * (fragmentation needed with the next-hop MTU, then the local EMSGSIZE
 * that the cached path MTU causes, RFC 1191 §3–4; TTL exceeded, RFC 792),
 * host unreachable after ARP fails (RFC 1122 §2.3.2.2), silence, the
 * statistics (also when interrupted), and the JSON summary. Then the
 * command itself, run as a process against `netstack up` over a QEMU
 * stream socket: its output and its exit status (0, or 1 when nothing
 * answered).
 */
import { describe, expect, it } from "@effect/vitest"
import { checkPingSettings, type PingSettings, type PingSummary, runPing } from "@netstack/cli"
import { type Host, Network, whileClockAdvances } from "@netstack/stack"
import { outputMatching } from "@netstack/test-support"
import { Duration, Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { spawn, spawnSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NETSTACK_BIN as bin } from "./linux-harness.ts"

const settings = (destination: string, overrides: Partial<PingSettings> = {}): PingSettings => ({
  destination,
  count: 3,
  size: 56,
  interval: 1,
  timeout: 2,
  dontFragment: false,
  ...overrides
})

/** Runs a ping session from `host` while the test clock moves; returns the lines written and the summary. */
const pingLines = (host: Host, s: PingSettings, json = false) =>
  Effect.gen(function*() {
    const lines: Array<string> = []
    const result = yield* whileClockAdvances(runPing(host, s, (line) => Effect.sync(() => void lines.push(line)), json), 20_000)
    if (result._tag === "Failure") return yield* Effect.die(result.failure)
    return { lines, summary: result.success }
  })

/** a (10.0.1.1) — r (10.0.1.254 | 10.0.2.254) — b (10.0.2.1), 1 ms wires; r–b has `mtuRB`. */
const triangle = (mtuRB = 1500) =>
  Effect.gen(function*() {
    const net = Network.make()
    const a = yield* net.host("a")
    const r = yield* net.router("r")
    const b = yield* net.host("b")
    const impairments = { delay: Duration.millis(1) }
    yield* net.link(a, r, { a: "10.0.1.1/24", b: "10.0.1.254/24", impairments })
    yield* net.link(r, b, { a: "10.0.2.254/24", b: "10.0.2.1/24", impairments, mtu: mtuRB })
    a.addRoute({ destination: "default", via: "10.0.1.254" })
    b.addRoute({ destination: "default", via: "10.0.2.254" })
    return { a, r, b }
  })

describe("runPing", () => {
  it.effect("prints ping's lines: the header, one line per reply, the statistics", () =>
    Effect.gen(function*() {
      const { a } = yield* triangle()
      const { lines, summary } = yield* pingLines(a, settings("10.0.2.1"))
      expect(lines[0]).toBe("PING 10.0.2.1 (10.0.2.1) 56(84) bytes of data.")
      // the first waits for ARP on both links; then four 1 ms hops
      expect(lines[1]).toMatch(/^64 bytes from 10\.0\.2\.1: icmp_seq=1 ttl=63 time=\d+\.\d+ ms$/)
      expect(lines.slice(2, 4)).toEqual([
        "64 bytes from 10.0.2.1: icmp_seq=2 ttl=63 time=4.00 ms",
        "64 bytes from 10.0.2.1: icmp_seq=3 ttl=63 time=4.00 ms"
      ])
      expect(lines.slice(4, 7)).toEqual(["", "--- 10.0.2.1 ping statistics ---", "3 packets transmitted, 3 received, 0% packet loss, time 2004ms"])
      expect(lines[7]).toMatch(/^rtt min\/avg\/max\/mdev = 4\.000\/\d+\.\d{3}\/\d+\.\d{3}\/\d+\.\d{3} ms$/)
      expect(lines).toHaveLength(8)
      expect(summary).toMatchObject({ transmitted: 3, received: 3, errors: 0, duplicates: 0, loss: 0 })
      expect(summary.rtt?.min).toBe(4)
    }))

  it.effect("-s 3000: fragments both ways, the reply is 3008 bytes and intact", () =>
    Effect.gen(function*() {
      const { a } = yield* triangle()
      const { lines, summary } = yield* pingLines(a, settings("10.0.2.1", { size: 3000, count: 1 }))
      expect(lines[0]).toBe("PING 10.0.2.1 (10.0.2.1) 3000(3028) bytes of data.")
      expect(lines[1]).toMatch(/^3008 bytes from 10\.0\.2\.1: icmp_seq=1 ttl=63 time=/)
      expect(lines.join("\n")).not.toContain("wrong data byte")
      expect(summary.received).toBe(1)
    }))

  it.effect("-M do over a smaller next hop: fragmentation needed from the router, then the local error the cached path MTU causes", () =>
    Effect.gen(function*() {
      const { a } = yield* triangle(576)
      const { lines, summary } = yield* pingLines(a, settings("10.0.2.1", { size: 1000, count: 2, dontFragment: true }))
      expect(lines.slice(1)).toEqual([
        // RFC 1191 §4: type 3 code 4 with the next-hop MTU; RFC 1191 §3: the sender keeps it as the path MTU
        "From 10.0.1.254 icmp_seq=1 Frag needed and DF set (mtu = 576)",
        // Linux's ping gets EMSGSIZE for the next DF request larger than the path MTU
        "ping: local error: message too long, mtu=576",
        "",
        "--- 10.0.2.1 ping statistics ---",
        "2 packets transmitted, 0 received, +2 errors, 100% packet loss, time 1000ms"
      ])
      expect(summary.events.map((e) => e.type)).toEqual(["icmp-error", "local-error"])
      expect(summary.events[0]).toMatchObject({ icmpType: 3, icmpCode: 4, mtu: 576 })
    }))

  it.effect("a TTL that runs out at the router: time to live exceeded", () =>
    Effect.gen(function*() {
      const { a } = yield* triangle()
      const { lines } = yield* pingLines(a, settings("10.0.2.1", { count: 1, ttl: 1 }))
      expect(lines[1]).toBe("From 10.0.1.254 icmp_seq=1 Time to live exceeded")
    }))

  it.effect("nobody answers ARP: destination host unreachable from the pinging host itself, as Linux reports it", () =>
    Effect.gen(function*() {
      const { a } = yield* triangle()
      const { lines, summary } = yield* pingLines(a, settings("10.0.1.77", { count: 1, timeout: 5 }))
      expect(lines[1]).toBe("From 10.0.1.1 icmp_seq=1 Destination Host Unreachable")
      expect(lines[4]).toMatch(/^1 packets transmitted, 0 received, \+1 errors, 100% packet loss, time \d+ms$/)
      expect(summary.received).toBe(0)
    }))

  it.effect("silence: no line per request, 100% loss and no rtt line after -W", () =>
    Effect.gen(function*() {
      const { a, b } = yield* triangle()
      b.ipv4.filter.append("input", { match: { protocol: 1 }, verdict: "drop" })
      const { lines } = yield* pingLines(a, settings("10.0.2.1", { count: 2, timeout: 0.5 }))
      expect(lines.slice(1)).toEqual(["", "--- 10.0.2.1 ping statistics ---", "2 packets transmitted, 0 received, 100% packet loss, time 1500ms"])
    }))

  it.effect("a duplicated reply is printed with (DUP!) and counted apart", () =>
    Effect.gen(function*() {
      const net = Network.make()
      const a = yield* net.host("a")
      const b = yield* net.host("b")
      yield* net.link(a, b, { a: "10.0.0.1/24", b: "10.0.0.2/24", impairments: { delay: Duration.millis(1), duplicate: 1 } })
      // ping -c stops at the last reply, so the duplicates seen are those of the earlier requests
      const { lines, summary } = yield* pingLines(a, settings("10.0.0.2", { count: 2 }))
      expect(lines.filter((l) => /icmp_seq=1 .* \(DUP!\)$/.test(l)).length).toBeGreaterThan(0)
      expect(lines.join("\n")).toMatch(/2 packets transmitted, 2 received, \+\d+ duplicates, 0% packet loss/)
      expect(summary.duplicates).toBeGreaterThan(0)
    }))

  it.effect("--json: one object with the counts, the rtt statistics and every event", () =>
    Effect.gen(function*() {
      const { a } = yield* triangle()
      const { lines } = yield* pingLines(a, settings("10.0.2.1", { count: 2 }), true)
      expect(lines).toHaveLength(1)
      const summary = JSON.parse(lines[0] ?? "") as PingSummary
      expect(summary).toMatchObject({ destination: "10.0.2.1", transmitted: 2, received: 2, loss: 0 })
      expect(summary.events.map((e) => [e.type, e.sequence])).toEqual([["reply", 1], ["reply", 2]])
      expect(summary.rtt?.min).toBe(4)
    }))

  it.effect("-c 0 pings until interrupted, and the statistics are still printed", () =>
    Effect.gen(function*() {
      const net = Network.make()
      const a = yield* net.host("a")
      const b = yield* net.host("b")
      yield* net.link(a, b, { a: "10.0.0.1/24", b: "10.0.0.2/24", impairments: { delay: Duration.millis(1) } })
      const lines: Array<string> = []
      const fiber = yield* Effect.forkChild(runPing(a, settings("10.0.0.2", { count: 0 }), (l) => Effect.sync(() => void lines.push(l))))
      for (let t = 0; t < 3500; t++) yield* TestClock.adjust("1 millis")
      yield* Fiber.interrupt(fiber)
      expect(lines.filter((l) => l.startsWith("64 bytes from 10.0.0.2"))).toHaveLength(4)
      expect(lines).toContain("--- 10.0.0.2 ping statistics ---")
      expect(lines.some((l) => l.startsWith("4 packets transmitted, 4 received, 0% packet loss"))).toBe(true)
    }))

  it("refuses bad settings before sending", () => {
    expect(checkPingSettings(settings("10.0.0.300"))?.message).toContain("expected a dotted IPv4 address")
    expect(checkPingSettings(settings("10.0.0.1", { size: 65508 }))?.message).toContain("invalid packet size")
    expect(checkPingSettings(settings("10.0.0.1", { interval: 0 }))?.message).toContain("bad timing interval")
    expect(checkPingSettings(settings("10.0.0.1", { ttl: 0 }))?.message).toContain("invalid ttl")
    expect(checkPingSettings(settings("10.0.0.1"))).toBeUndefined()
  })
})

describe("netstack ping (the command)", () => {
  it("pings `netstack up` over a QEMU stream socket; exits 0, or 1 when nothing answers", async () => {
    const dir = mkdtempSync(join(tmpdir(), "netstack-ping-"))
    const socket = join(dir, "link.sock")
    const up = spawn(process.execPath, [bin, "up", "--qemu-stream", `listen:unix:${socket}`, "--ip", "10.7.0.2/24"], { stdio: ["ignore", "pipe", "pipe"] })
    try {
      await outputMatching(up, /^ready /m)
      const run = (...args: ReadonlyArray<string>) =>
        spawnSync(process.execPath, [bin, "ping", "--qemu-stream", `unix:${socket}`, "--ip", "10.7.0.1/24", "-i", "0.2", ...args], {
          encoding: "utf8",
          timeout: 30_000
        })
      const ok = run("-c", "2", "10.7.0.2")
      expect(ok.status).toBe(0)
      const lines = ok.stdout.split("\n")
      expect(lines[0]).toBe("PING 10.7.0.2 (10.7.0.2) 56(84) bytes of data.")
      expect(lines[1]).toMatch(/^64 bytes from 10\.7\.0\.2: icmp_seq=1 ttl=64 time=[\d.]+ ms$/)
      expect(lines[2]).toMatch(/^64 bytes from 10\.7\.0\.2: icmp_seq=2 ttl=64 time=[\d.]+ ms$/)
      expect(ok.stdout).toContain("2 packets transmitted, 2 received, 0% packet loss")
      const silent = run("-c", "1", "-W", "0.3", "10.7.0.9")
      expect(silent.status).toBe(1)
      expect(silent.stdout).toContain("1 packets transmitted, 0 received, 100% packet loss")
      expect(silent.stderr).toBe("")
    } finally {
      up.kill("SIGINT")
      await new Promise((resolve) => up.once("exit", resolve))
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
