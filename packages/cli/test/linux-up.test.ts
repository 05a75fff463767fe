/**
 * Stock Linux tools against `netstack up` on a TAP (tap0) in a namespace
 * this test creates, netstack serving echo, discard, HTTP and iperf3 with a
 * pcap of its interface:
 *
 * - iputils `ping`: default size; `-s 3000` (fragmented both ways, RFC 791);
 *   `-M do -s 1472`, the largest datagram the 1500-byte link carries with DF,
 *   answered by a reply just as large and not fragmented;
 * - `arping` gets netstack's replies from the MAC of its ready line, and
 *   Linux's neighbour table holds that MAC;
 * - `curl` fetches 100 MiB of `/bytes/N` (checked by SHA-256 against the
 *   pattern);
 * - `nc` sends 100 MiB to echo and reads them back (both directions, checked
 *   by SHA-256), and 100 MiB to discard;
 * - `iperf3 -c -t 5` forward and reverse (`-R`): bytes both sides, in every second, no error;
 *   the rates are printed;
 * - `tshark` reads the pcap of all of it: no malformed frame, every IPv4 and
 *   ICMP checksum right, and no other error but transport checksums that hold
 *   the pseudo-header sum of CHECKSUM_PARTIAL (frames Linux handed over
 *   with NEEDS_CSUM, captured before anyone sums them) or 0xFFFF for a zero
 *   sum (RFC 1624 §3, Linux's CSUM_MANGLED_0). The capture is taken at
 *   netstack's link layer, where Linux's packet sockets see frames too, so
 *   TSO super-packets appear whole, as tcpdump shows them on a Linux
 *   interface with offloads; tshark reports no problem with them, so none is
 *   filtered.
 *
 * Needs root, iproute2, iputils-ping, arping, curl, netcat-openbsd, iperf3,
 * tshark, /dev/net/tun and the TAP addon; skips with the reason otherwise.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { PAYLOAD_AS_DATA, STRICT_PREFERENCES } from "@netstack/test-support"
import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { linuxSkipReason, Namespace, patternSha256, type RunningNetstack, sha256File, startUp, subnetOctet } from "./linux-harness.ts"

const skip = linuxSkipReason("Linux tools against netstack up on a TAP", ["ping", "arping", "curl", "nc", "iperf3", "tshark", "sha256sum", "bash"])

const k = subnetOctet()
const LINUX = `10.219.${k}.1`
const NETSTACK = `10.219.${k}.2`
const MIB_100 = 100 * 1024 * 1024

/** What `iperf3 -J` reports at the end, as far as these tests read it. */
interface Iperf3Report {
  readonly error?: string
  /** One per second: the bytes that moved in it. */
  readonly intervals?: ReadonlyArray<{ readonly sum: { readonly bytes: number } }>
  readonly end?: {
    readonly sum_sent?: { readonly bytes: number; readonly bits_per_second: number; readonly retransmits?: number }
    readonly sum_received?: { readonly bytes: number; readonly bits_per_second: number }
  }
}

/**
 * Every frame's values of `fields` from `tshark -T fields` (one line per frame, far smaller than its JSON for
 * the 100 000+ frames of this capture): each field's occurrences, in order.
 */
const tsharkFrames = (path: string, fields: ReadonlyArray<string>): ReadonlyArray<Readonly<Record<string, ReadonlyArray<string>>>> => {
  const out = execFileSync(
    "tshark",
    [
      "-r", path, "-T", "fields", "-E", "separator=/t", "-E", "aggregator=|", "-E", "occurrence=a",
      ...PAYLOAD_AS_DATA, ...STRICT_PREFERENCES.flatMap((p) => ["-o", p]), ...fields.flatMap((f) => ["-e", f])
    ],
    { encoding: "utf8", maxBuffer: 1024 * 1024 * 1024, stdio: ["ignore", "pipe", "ignore"] }
  )
  return out.split("\n").filter((line) => line.length > 0).map((line) => {
    const values = line.split("\t")
    return Object.fromEntries(fields.map((f, i) => [f, (values[i] ?? "") === "" ? [] : (values[i] ?? "").split("|")]))
  })
}

/** The folded 16-bit one's complement sum of the IPv4 pseudo-header (RFC 9293 §3.1, RFC 768). */
const pseudoHeaderSum = (source: string, destination: string, protocol: number, length: number): number => {
  const words = [...source.split("."), ...destination.split(".")].map(Number)
  let sum = protocol + length
  for (let i = 0; i < 8; i += 2) sum += ((words[i] ?? 0) << 8) | (words[i + 1] ?? 0)
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16)
  return sum
}

describe.skipIf(skip !== undefined)("Linux tools against netstack up on a TAP", () => {
  let ns: Namespace
  let dir: string
  let pcap: string
  let netstack: RunningNetstack
  let stopped = ""

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "netstack-linux-up-"))
    pcap = join(dir, "up.pcap")
    ns = new Namespace("nst-up")
    netstack = await startUp(ns, [
      "--tap", "tap0", "--ip", `${NETSTACK}/24`, "--pcap", pcap,
      "--serve", "echo:7", "--serve", "discard:9", "--serve", "http:80", "--serve", "iperf3:5201"
    ])
    ns.run(["ip", "addr", "add", `${LINUX}/24`, "dev", "tap0"])
    ns.run(["ip", "link", "set", "tap0", "up"])
  }, 60_000)

  afterAll(async () => {
    await ns?.close()
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  }, 60_000)

  it("ping: default size, then -s 3000 (fragments both ways), then -M do -s 1472 (exactly the MTU)", () => {
    const small = ns.run(["ping", "-c", "3", "-i", "0.2", "-W", "2", NETSTACK])
    expect(small).toContain("3 packets transmitted, 3 received, 0% packet loss")
    expect(small).toMatch(new RegExp(`64 bytes from ${NETSTACK.replaceAll(".", "\\.")}: icmp_seq=1 ttl=64 `))
    const large = ns.run(["ping", "-c", "2", "-i", "0.2", "-W", "2", "-s", "3000", NETSTACK])
    expect(large).toContain("2 packets transmitted, 2 received, 0% packet loss")
    expect(large).toContain("3008 bytes from")
    const full = ns.run(["ping", "-c", "2", "-i", "0.2", "-W", "2", "-M", "do", "-s", "1472", NETSTACK])
    expect(full).toContain("2 packets transmitted, 2 received, 0% packet loss")
    expect(full).toContain("1480 bytes from")
  })

  it("arping gets replies from netstack's MAC, and Linux's neighbour table holds it", () => {
    const mac = netstack.ready.mac.toLowerCase()
    const arping = ns.runResult(["arping", "-c", "2", "-W", "0.2", "-i", "tap0", NETSTACK], 20_000)
    expect(arping.status, arping.stdout + arping.stderr).toBe(0)
    expect(arping.stdout.toLowerCase()).toContain(`from ${mac} (${NETSTACK})`)
    expect(arping.stdout).toMatch(/2 packets transmitted, 2 packets received/)
    expect(ns.run(["ip", "neigh", "show", NETSTACK, "dev", "tap0"]).toLowerCase()).toContain(`lladdr ${mac}`)
  })

  it("curl fetches 100 MiB of /bytes/N, byte for byte", () => {
    const run = ns.runResult(
      ["bash", "-o", "pipefail", "-c", `curl -sS -w '%{stderr}%{speed_download} %{size_download}' http://${NETSTACK}/bytes/${MIB_100} | sha256sum`],
      60_000
    )
    expect(run.status, run.stderr).toBe(0)
    expect(run.stdout.split(" ")[0]).toBe(patternSha256(MIB_100))
    const [speed, size] = run.stderr.trim().split(" ").map(Number)
    expect(size).toBe(MIB_100)
    console.log(`curl from netstack: ${MIB_100} bytes at ${((speed ?? 0) / 1e6).toFixed(1)} MB/s`)
  }, 60_000)

  it("nc: 100 MiB to echo and back (both ways, by SHA-256), and 100 MiB to discard", async () => {
    const file = join(dir, "random.bin")
    writeFileSync(file, randomBytes(MIB_100))
    const sent = await sha256File(file)
    const echoed = ns.run(["bash", "-o", "pipefail", "-c", `nc -N -w 30 ${NETSTACK} 7 < ${file} | sha256sum`], { timeout: 90_000 })
    expect(echoed.split(" ")[0]).toBe(sent)
    const discard = ns.runResult(["bash", "-c", `nc -N -w 30 ${NETSTACK} 9 < ${file}`], 90_000)
    expect(discard.status, discard.stderr).toBe(0)
  }, 120_000)

  it("iperf3 -c for 5 s, forward and reverse (-R): bytes both sides and in every second, no error", () => {
    const rates: Array<string> = []
    for (const reverse of [false, true]) {
      const run = ns.runResult(["iperf3", "-c", NETSTACK, "-t", "5", "-J", ...(reverse ? ["-R"] : [])], 60_000)
      const report = JSON.parse(run.stdout) as Iperf3Report
      expect(report.error).toBeUndefined()
      expect(run.status).toBe(0)
      expect(report.end?.sum_sent?.bytes).toBeGreaterThan(0)
      expect(report.end?.sum_received?.bytes).toBeGreaterThan(0)
      // Data moved in every second: no stall (a sender that stopped after 2^31 bytes once hid behind the total).
      const perSecond = (report.intervals ?? []).map((interval) => interval.sum.bytes)
      expect(perSecond.length).toBeGreaterThanOrEqual(5)
      expect(perSecond.filter((bytes) => bytes === 0)).toEqual([])
      rates.push(
        `${reverse ? "netstack → Linux (-R)" : "Linux → netstack"}: ${((report.end?.sum_received?.bits_per_second ?? 0) / 1e9).toFixed(2)} Gbit/s` +
          (report.end?.sum_sent?.retransmits === undefined ? "" : ` (Linux retransmitted ${report.end.sum_sent.retransmits})`)
      )
    }
    console.log(`iperf3 against netstack, capturing: ${rates.join("; ")}`)
  }, 60_000)

  it("tshark finds nothing malformed and no error but checksums left for offload", async () => {
    stopped = await netstack.stop()
    expect(stopped).toMatch(/^stopped \{/m)
    const frames = tsharkFrames(pcap, [
      "ip.src", "ip.dst", "ip.len", "ip.hdr_len", "ip.flags.mf", "ip.checksum.status", "icmp.checksum.status",
      "tcp.checksum", "tcp.checksum.status", "tcp.srcport", "tcp.dstport", "tcp.flags", "tcp.len", "udp.checksum",
      "udp.checksum.status", "frame.len", "_ws.malformed", "_ws.expert.message", "_ws.expert.severity"
    ])
    expect(frames.length).toBeGreaterThan(1000)
    const problems: Array<string> = []
    let partial = 0
    let mangledZero = 0
    let superPackets = 0
    const fragmentsFrom = new Set<string>()
    frames.forEach((frame, i) => {
      const f = (name: string) => frame[name]?.[0]
      const at = `frame ${i + 1} (${f("ip.src") ?? "?"}.${f("tcp.srcport") ?? ""} > ${f("ip.dst") ?? "?"}.${f("tcp.dstport") ?? ""}` +
        ` flags ${f("tcp.flags") ?? "-"} len ${f("tcp.len") ?? "-"} ip.len ${f("ip.len") ?? "-"})`
      if ((frame["_ws.malformed"] ?? []).length > 0) problems.push(`${at}: malformed`)
      if (f("ip.checksum.status") === "0") problems.push(`${at}: bad IPv4 header checksum`)
      if (f("icmp.checksum.status") === "0") problems.push(`${at}: bad ICMP checksum`)
      if (f("ip.flags.mf") === "1" || f("ip.flags.mf") === "True") fragmentsFrom.add(f("ip.src") ?? "")
      if (Number(f("frame.len")) > 1514) superPackets++
      const messages = frame["_ws.expert.message"] ?? []
      const severities = frame["_ws.expert.severity"] ?? []
      // A transport checksum tshark calls bad is still right when it is either
      // - the pseudo-header sum of CHECKSUM_PARTIAL: a frame Linux handed over with NEEDS_CSUM, captured before
      //   anyone sums it (tcpdump on a Linux interface with tx offload shows the same), or
      // - 0xFFFF where the sum gives 0x0000: the other ones'-complement zero (RFC 1624 §3), which Linux's
      //   skb_checksum_help writes too (CSUM_MANGLED_0) and which every receiver's verification accepts.
      let excused = false
      for (const proto of ["tcp", "udp"] as const) {
        if (f(`${proto}.checksum.status`) !== "0") continue
        const stored = Number(f(`${proto}.checksum`))
        const length = Number(f("ip.len")) - Number(f("ip.hdr_len"))
        const expected = pseudoHeaderSum(f("ip.src") ?? "", f("ip.dst") ?? "", proto === "tcp" ? 6 : 17, length)
        if (stored === expected) {
          partial++
          excused = true
        } else if (stored === 0xffff && messages.some((m) => m.includes("0xffff instead of 0x0000"))) {
          mangledZero++
          excused = true
        } else problems.push(`${at}: ${proto} checksum ${f(`${proto}.checksum`)} is neither right nor the pseudo-header sum 0x${expected.toString(16)}`)
      }
      messages.forEach((message, j) => {
        const error = Number(severities[j] ?? 0) >= 8388608
        if (error && !(excused && message.startsWith("Bad checksum"))) problems.push(`${at}: ${message}`)
      })
    })
    expect(problems.slice(0, 20)).toEqual([])
    // the ping -s 3000 went out in fragments from both sides
    expect([...fragmentsFrom].sort()).toEqual([LINUX, NETSTACK].sort())
    console.log(`tshark: ${frames.length} frames, ${superPackets} TSO super-packets, ${partial} with a partial transport checksum, ${mangledZero} with 0xffff for a zero checksum, no problem`)
  }, 120_000)
})
