/**
 * `netstack ping`, `get` and `dump` against Linux, each a process on a TAP
 * (tap1, made persistent beforehand so Linux's side keeps its address
 * between the runs) in a namespace this test creates. Linux answers ping,
 * serves a file with `python3 -m http.server`, pings netstack while `dump`
 * watches, and routes (forwarding on) to a second namespace behind a
 * veth link with MTU 1280:
 *
 * - a DF ping of 1428 bytes toward that namespace gets Linux's
 *   "fragmentation needed" with next-hop MTU 1280 (RFC 792 type 3 code 4,
 *   RFC 1191 §4), and netstack's next DF request fails locally with that
 *   path MTU (RFC 1191 §3), as Linux's ping reports it;
 * - without DF the router fragments, the far end's reply comes back in
 *   fragments, and netstack reassembles it.
 *
 * Every netstack run uses one MAC, so Linux's neighbour entry stays right
 * from one process to the next.
 *
 * Needs root, iproute2, iputils-ping, python3, /dev/net/tun and the TAP
 * addon; skips with the reason otherwise.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { outputMatching } from "@netstack/test-support"
import { randomBytes } from "node:crypto"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { linuxSkipReason, Namespace, NETSTACK_BIN, sha256File, stopChild, subnetOctet } from "./linux-harness.ts"

const skip = linuxSkipReason("netstack ping/get/dump against Linux", ["ping", "python3"])

const k = subnetOctet()
const LINUX = `10.220.${k}.1`
const NETSTACK = `10.220.${k}.2`
const ROUTER_FAR = `10.221.${k}.1`
const FAR = `10.221.${k}.2`
const MAC = "02:4e:53:00:01:02"
/** The host flags of every netstack run here. */
const HOST = ["--tap", "tap1", "--ip", `${NETSTACK}/24`, "--gw", LINUX, "--mac", MAC]
const BLOB_BYTES = 32 * 1024 * 1024

describe.skipIf(skip !== undefined)("netstack ping, get and dump against Linux on a TAP", () => {
  let ns: Namespace
  let far: Namespace
  let dir: string
  let blobSha = ""

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "netstack-linux-client-"))
    ns = new Namespace("nst-cl")
    far = new Namespace("nst-far")
    // No IPv6 on Linux's side: its multicast listener reports and duplicate address probes would be the
    // frames `dump -c 4` counts. Linux's end of netstack's link: a persistent TAP netstack attaches to on each run.
    ns.run(["sh", "-c", "for f in /proc/sys/net/ipv6/conf/all/disable_ipv6 /proc/sys/net/ipv6/conf/default/disable_ipv6; do [ ! -e $f ] || echo 1 > $f; done"])
    ns.run(["ip", "tuntap", "add", "dev", "tap1", "mode", "tap"])
    ns.run(["ip", "addr", "add", `${LINUX}/24`, "dev", "tap1"])
    ns.run(["ip", "link", "set", "tap1", "up"])
    // Linux as a router to a namespace behind a 1280-byte link.
    ns.run(["sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"])
    ns.run(["ip", "link", "add", "vfar", "mtu", "1280", "type", "veth", "peer", "name", "vnear", "netns", far.name])
    ns.run(["ip", "addr", "add", `${ROUTER_FAR}/24`, "dev", "vfar"])
    ns.run(["ip", "link", "set", "vfar", "up"])
    far.run(["ip", "link", "set", "vnear", "mtu", "1280", "up"])
    far.run(["ip", "addr", "add", `${FAR}/24`, "dev", "vnear"])
    far.run(["ip", "route", "add", "default", "via", ROUTER_FAR])
    // A file for `netstack get`, served by Python on Linux's TAP address.
    const blob = join(dir, "blob.bin")
    writeFileSync(blob, randomBytes(BLOB_BYTES))
    blobSha = await sha256File(blob)
    const server = ns.spawn(["python3", "-m", "http.server", "8000", "--bind", LINUX, "--directory", dir])
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("python3 -m http.server did not start")), 15_000)
      const poll = () => {
        if (ns.runResult(["python3", "-c", `import socket; socket.create_connection(("${LINUX}", 8000), 1)`]).status === 0) {
          clearTimeout(timer)
          resolve()
        } else if (server.exitCode !== null) reject(new Error("python3 -m http.server exited"))
        else setTimeout(poll, 200)
      }
      poll()
    })
  }, 60_000)

  afterAll(async () => {
    await ns?.close()
    await far?.close()
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  }, 60_000)

  it("netstack ping: Linux answers, with ping's lines and exit status 0", () => {
    const run = ns.netstack(["ping", ...HOST, "-c", "3", "-i", "0.2", LINUX])
    expect(run.status, run.stderr).toBe(0)
    const lines = run.stdout.split("\n")
    expect(lines[0]).toBe(`PING ${LINUX} (${LINUX}) 56(84) bytes of data.`)
    for (const seq of [1, 2, 3]) {
      expect(lines[seq]).toMatch(new RegExp(`^64 bytes from ${LINUX.replaceAll(".", "\\.")}: icmp_seq=${seq} ttl=64 time=[\\d.]+ ms$`))
    }
    expect(run.stdout).toContain("3 packets transmitted, 3 received, 0% packet loss")
  })

  it("netstack ping -s 3000: fragments both ways, reassembled on each side", () => {
    const run = ns.netstack(["ping", ...HOST, "-c", "2", "-i", "0.2", "-s", "3000", LINUX])
    expect(run.status, run.stderr).toBe(0)
    expect(run.stdout).toMatch(new RegExp(`^3008 bytes from ${LINUX.replaceAll(".", "\\.")}: icmp_seq=1 ttl=64 `, "m"))
    expect(run.stdout).toContain("2 packets transmitted, 2 received, 0% packet loss")
  })

  it("netstack ping -M do -s 1400 through Linux to a 1280-byte link: fragmentation needed, then the local error of the learned path MTU", () => {
    const run = ns.netstack(["ping", ...HOST, "-c", "2", "-i", "0.5", "-M", "do", "-s", "1400", FAR])
    // nothing answered: ping's exit status 1
    expect(run.status, run.stderr).toBe(1)
    expect(run.stdout.split("\n").slice(1, 3)).toEqual([
      // Linux's ICMP type 3 code 4 with the next-hop MTU (RFC 1191 §4), from the router's address on netstack's link
      `From ${LINUX} icmp_seq=1 Frag needed and DF set (mtu = 1280)`,
      // netstack keeps the path MTU (RFC 1191 §3) and refuses the next DF datagram larger than it, as Linux does
      "ping: local error: message too long, mtu=1280"
    ])
    expect(run.stdout).toContain("2 packets transmitted, 0 received, +2 errors, 100% packet loss")
  })

  it("netstack ping -s 1400 without DF through the same router: fragmented on the way, reassembled on return", () => {
    const run = ns.netstack(["ping", ...HOST, "-c", "2", "-i", "0.2", "-s", "1400", FAR])
    expect(run.status, run.stderr).toBe(0)
    // one hop: Linux decremented the TTL
    expect(run.stdout).toMatch(new RegExp(`^1408 bytes from ${FAR.replaceAll(".", "\\.")}: icmp_seq=1 ttl=63 `, "m"))
    expect(run.stdout).toContain("2 packets transmitted, 2 received, 0% packet loss")
  })

  it("netstack get: a file from python3 -m http.server, byte for byte (SHA-256)", async () => {
    const out = join(dir, "fetched.bin")
    const run = ns.netstack(["get", ...HOST, "-o", out, "--json", `http://${LINUX}:8000/blob.bin`], 120_000)
    expect(run.status, run.stderr).toBe(0)
    const summary = JSON.parse(run.stdout) as { status: number; bytes: number; seconds: number; sha256: string }
    expect(summary).toMatchObject({ status: 200, bytes: BLOB_BYTES, sha256: blobSha })
    expect(await sha256File(out)).toBe(blobSha)
    console.log(`netstack get from Linux: ${BLOB_BYTES} bytes in ${summary.seconds.toFixed(2)} s, ${(BLOB_BYTES / summary.seconds / 1e6).toFixed(1)} MB/s`)
  }, 120_000)

  it("netstack dump: prints the frames while Linux pings it, and stops after -c 4", async () => {
    const dump = ns.spawn([process.execPath, NETSTACK_BIN, "dump", ...HOST, "-c", "4"])
    let out = ""
    let err = ""
    dump.stdout?.on("data", (chunk: Buffer) => void (out += chunk.toString()))
    dump.stderr?.on("data", (chunk: Buffer) => void (err += chunk.toString()))
    const exited = new Promise<number | null>((resolve) => dump.once("exit", (code) => resolve(code)))
    try {
      await outputMatching(dump, /listening on/)
      expect(err).toContain("listening on eth0 (tap tap1")
      // Linux resolves netstack's address (or confirms its entry) and pings it
      const ping = ns.runResult(["ping", "-c", "2", "-i", "0.3", "-W", "2", NETSTACK])
      expect(ping.status, ping.stdout + ping.stderr).toBe(0)
      expect(await exited).toBe(0)
      const lines = out.trim().split("\n")
      expect(lines).toHaveLength(4)
      const esc = (s: string) => s.replaceAll(".", "\\.")
      expect(lines.some((l) => new RegExp(`eth0 In  IP ${esc(LINUX)} > ${esc(NETSTACK)}: ICMP echo request, id \\d+, seq 1, length 64$`).test(l))).toBe(true)
      expect(lines.some((l) => new RegExp(`eth0 Out IP ${esc(NETSTACK)} > ${esc(LINUX)}: ICMP echo reply, id \\d+, seq 1, length 64$`).test(l))).toBe(true)
      expect(err).toContain("4 packets captured, 0 dropped")
    } finally {
      await stopChild(dump, "SIGINT", 5_000)
    }
  }, 60_000)
})
