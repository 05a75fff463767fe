/**
 * The TAP medium against Linux (root, /dev/net/tun and the addon needed;
 * otherwise skipped with the reason printed). Each test creates a TAP with a
 * unique name, moves it into a network namespace it made (the fd stays bound
 * to the device), gives Linux's end an address there, and attaches a NIC
 * with a minimal host behind it: Linux pings it; a TSO super-packet with a
 * partial checksum goes to Linux as one frame and Linux's RST acknowledges
 * every byte of it; Linux's TCP sends super-packets (TUN_F_TSO4) that the
 * NIC receives whole. All traffic stays between the test's namespace
 * and its TAP.
 */
import { execFileSync, spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { type FrameOffload, NEEDS_CSUM, TapDevice, type TapMedium, TUN_F_CSUM, TUN_F_TSO4 } from "@netstack/device"
import { hasCommand, inNs, ip, skipReason } from "@netstack/test-support"
import { macFromString } from "@netstack/wire"
import { Effect } from "effect"
import { nicWithBuffers, tcpFrame } from "./support/frames.ts"
import { runMiniHost } from "./support/mini-host.ts"

const WHAT = "the TAP medium against Linux"

const unavailable = (): string | undefined => {
  const tools = skipReason(WHAT, ["ip", "ping", "python3"], true)
  if (tools !== undefined) return tools
  const missing = !existsSync("/dev/net/tun")
    ? "no /dev/net/tun"
    : TapDevice.unavailable()?.reason
  if (missing === undefined) return undefined
  const reason = `skipping ${WHAT}: ${missing}`
  console.log(reason)
  return reason
}
const reason = unavailable()

let counter = 0
const NETSTACK_MAC = 0x020000000077

/** A namespace, a TAP moved into it with 10.216.k.1/24 on Linux's side (netstack is .2), a NIC and a mini host on the TAP. */
const setup = Effect.gen(function*() {
  const k = (process.pid + counter++) % 250
  const tag = `${process.pid % 100000}-${counter}`
  const ns = `nst-tap-${tag}`
  const name = `nstap${tag}`.slice(0, 15)
  yield* Effect.acquireRelease(
    Effect.sync(() => ip("netns", "add", ns)),
    () => Effect.sync(() => void execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" }))
  )
  const tap = yield* TapDevice.open({ name })
  // Record what crosses the medium each way (frame lengths and metadata), then hand it on.
  const arrived: Array<{ length: number; offload: FrameOffload | undefined }> = []
  const sent: Array<{ length: number; offload: FrameOffload | undefined }> = []
  const port: TapMedium = {
    ...tap,
    send: (frame, release, offload) => {
      sent.push({ length: frame.length, offload })
      tap.send(frame, release, offload)
    },
    attach: (receiver, accepts) =>
      tap.attach((frame, offload) => {
        arrived.push({ length: frame.length, offload })
        receiver(frame, offload)
      }, accepts)
  }
  ip("link", "set", tap.name, "netns", ns)
  const linux = `10.216.${k}.1`
  const netstack = `10.216.${k}.2`
  inNs(ns, ["ip", "link", "set", "lo", "up"])
  inNs(ns, ["ip", "addr", "add", `${linux}/24`, "dev", tap.name])
  inNs(ns, ["ip", "link", "set", tap.name, "up"])
  const linuxMac = macFromString(inNs(ns, ["cat", `/sys/class/net/${tap.name}/address`]).trim()) ?? 0
  const nic = yield* nicWithBuffers({ mac: NETSTACK_MAC })
  nic.attach(port)
  const toNumber = (a: string) => a.split(".").reduce((n, o) => n * 256 + Number(o), 0)
  const host = yield* runMiniHost({ nic, mac: NETSTACK_MAC, ipv4: toNumber(netstack), tcpPort: 5000 })
  return { ns, tap, nic, host, arrived, sent, linux, netstack, linuxMac, linuxIp: toNumber(linux), netstackIp: toNumber(netstack) }
})

/** Runs `command` in `ns` in the background; resolves with its exit code and output. */
const runInNs = (ns: string, command: ReadonlyArray<string>) =>
  Effect.callback<{ code: number | null; output: string }>((resume) => {
    const child = spawn("ip", ["netns", "exec", ns, ...command], { stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    child.stdout.on("data", (d: Buffer) => void (output += d.toString()))
    child.stderr.on("data", (d: Buffer) => void (output += d.toString()))
    child.on("exit", (code) => resume(Effect.succeed({ code, output })))
    return Effect.sync(() => void child.kill())
  })

const eventually = (done: () => boolean, ms = 10_000) =>
  Effect.gen(function*() {
    for (let waited = 0; !done() && waited < ms; waited += 10) yield* Effect.sleep("10 millis")
    expect(done()).toBe(true)
  })

describe.skipIf(reason !== undefined)("TAP medium", () => {
  it.live("Linux pings a NIC on the TAP (ARP and ICMP through the vnet header path)", () =>
    Effect.scoped(Effect.gen(function*() {
      const { ns, tap, host, netstack } = yield* setup
      expect(tap.offloadFlags()).toBe(TUN_F_CSUM | TUN_F_TSO4 | 0x04)
      const { code, output } = yield* runInNs(ns, ["ping", "-c", "3", "-i", "0.2", "-W", "2", netstack])
      expect(output).toContain("3 received")
      expect(code).toBe(0)
      expect(host.log.echoRequests).toBe(3)
      expect(tap.counters()).toMatchObject({ rxMalformed: 0, txErrors: 0, txQueueDrops: 0 })
      expect(tap.counters().txFrames).toBeGreaterThanOrEqual(4) // ARP reply and three echo replies
    })), 30_000)

  it.live("a TSO super-packet with a partial checksum goes to Linux as one frame; Linux's RST acknowledges all of it", () =>
    Effect.scoped(Effect.gen(function*() {
      const { tap, nic, host, sent, linuxMac, linuxIp, netstackIp } = yield* setup
      const payload = new Uint8Array(20 * 1448).fill(0x61)
      // No ACK flag, to a closed port: RFC 9293 §3.10.7.1, the RST acknowledges SEG.SEQ + SEG.LEN.
      const superPacket = tcpFrame({
        payload, checksum: "partial", gsoSize: 1448, flags: 0x08, sequence: 5000,
        source: netstackIp, destination: linuxIp, sourceMac: NETSTACK_MAC, destinationMac: linuxMac,
        sourcePort: 40001, destinationPort: 9
      })
      nic.tx[0].ring.fill(superPacket)
      nic.tx[0].kick()
      yield* eventually(() => host.log.resets.length > 0)
      expect(host.log.resets[0]?.acknowledgment).toBe(5000 + payload.length)
      const supers = sent.filter((f) => f.offload?.gsoType === "tcpv4")
      expect(supers).toEqual([{
        length: 14 + 20 + 20 + payload.length,
        offload: { flags: NEEDS_CSUM, csumStart: 34, csumOffset: 16, gsoType: "tcpv4", gsoSize: 1448, hdrLen: 54 }
      }])
      expect(tap.counters().txErrors).toBe(0)
    })), 30_000)

  it.live("Linux's TCP hands over super-packets (TUN_F_TSO4): the NIC receives them whole and every byte arrives in order", () =>
    Effect.scoped(Effect.gen(function*() {
      const { ns, nic, host, arrived, netstack } = yield* setup
      const total = 200_000
      const script = [
        "import socket",
        `s = socket.create_connection(("${netstack}", 5000), timeout=10)`,
        `s.sendall(bytes(i % 251 for i in range(${total})))`,
        "s.shutdown(socket.SHUT_WR)",
        "s.recv(1)",
        "s.close()"
      ].join("\n")
      const { code, output } = yield* runInNs(ns, ["python3", "-c", script])
      expect(output).toBe("")
      expect(code).toBe(0)
      yield* eventually(() => host.log.finished)
      expect(host.log.streamBytes).toBe(total)
      const joined = new Uint8Array(total)
      let at = 0
      for (const chunk of host.log.stream) {
        joined.set(chunk, at)
        at += chunk.length
      }
      expect(joined.every((b, i) => b === i % 251)).toBe(true)
      const supers = arrived.filter((f) => f.offload !== undefined && f.offload.gsoType === "tcpv4")
      expect(supers.length).toBeGreaterThan(0)
      expect(supers.every((f) => f.length > 1514 && ((f.offload?.flags ?? 0) & NEEDS_CSUM) !== 0)).toBe(true)
      expect(nic.stats()).toMatchObject({ rx_gso_packets: supers.length, rx_gso_whole: supers.length, rx_gso_segmented: 0 })
      expect(host.log.badChecksums).toBe(0)
    })), 30_000)

  it.live("up: true brings the interface up (SIOCSIFFLAGS); the device goes away with the scope (not persistent)", () =>
    Effect.gen(function*() {
      const name = `nstup${process.pid % 100000}`
      yield* Effect.scoped(Effect.gen(function*() {
        const tap = yield* TapDevice.open({ name, up: true })
        expect(tap.name).toBe(name)
        expect(ip("-o", "link", "show", name)).toMatch(/<[^>]*\bUP\b[^>]*>/)
      }))
      expect(() => execFileSync("ip", ["link", "show", name], { stdio: "ignore" })).toThrow()
    }))

  it.live.skipIf(!hasCommand("capsh"))("without CAP_NET_ADMIN, opening is TapPermissionDenied", () =>
    Effect.gen(function*() {
      const script = [
        `import { Cause, Effect } from "effect"`,
        `import { TapDevice } from "@netstack/device"`,
        `const exit = await Effect.runPromiseExit(Effect.scoped(TapDevice.open({ name: "nstperm${process.pid % 10000}" })))`,
        `console.log(exit._tag === "Failure" ? JSON.stringify(Cause.squash(exit.cause)) : "opened")`
      ].join("; ")
      const output = execFileSync("capsh", ["--drop=cap_net_admin", "--", "-c", `"${process.execPath}" --input-type=module -e '${script}'`], {
        cwd: new URL("..", import.meta.url),
        encoding: "utf8"
      })
      expect(JSON.parse(output.trim().split("\n").at(-1) ?? "{}")).toMatchObject({ _tag: "TapPermissionDenied", operation: "open" })
    }), 30_000)

  it.live("an unusable name is a typed error", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.scoped(TapDevice.open({ name: "no/slashes" })))
      expect(error._tag).toBe("TapError")
    }))
})
