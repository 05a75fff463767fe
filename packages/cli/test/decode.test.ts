/**
 * `netstack decode`: prints one tcpdump-like line (or JSON object) per frame
 * of a pcap or pcapng file, reports a bad or missing file with a message and
 * exit code 1, and still prints the frames before a fault.
 */
import { describe, expect, it } from "@effect/vitest"
import { skipReason } from "@netstack/test-support"
import { execFileSync, spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const bin = fileURLToPath(new URL("../bin/netstack.ts", import.meta.url))
const fixture = (name: string) => fileURLToPath(new URL(`../../wire/test/fixtures/${name}`, import.meta.url))
const netstack = (...args: ReadonlyArray<string>) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", timeout: 60_000 })
const lines = (text: string) => text.split("\n").filter((l) => l.length > 0)

describe("netstack decode", () => {
  it("prints one line per frame of a pcap and of a pcapng file", () => {
    for (const name of ["tcpdump-us.pcap", "dumpcap.pcapng"]) {
      const run = netstack("decode", fixture(name))
      expect(run.status).toBe(0)
      const frames = JSON.parse(readFileSync(`${fixture(name)}.tshark.json`, "utf8")) as ReadonlyArray<unknown>
      expect(lines(run.stdout)).toHaveLength(frames.length)
      expect(lines(run.stdout)[0]).toMatch(/^\d+\.\d{6} IP 127\.0\.0\.1 > 127\.0\.0\.1: ICMP echo request, id \d+, seq 1, length \d+$/)
    }
  })

  it.skipIf(skipReason("comparing with tcpdump's lines", ["tcpdump"]) !== undefined)("prints the lines tcpdump -n -tt -S prints", () => {
    const path = fixture("tcpdump-us.pcap")
    const theirs = execFileSync("tcpdump", ["-n", "-tt", "-S", "-r", path], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
    expect(lines(netstack("decode", path).stdout)).toEqual(lines(theirs))
  })

  it("prints one JSON object per frame with every layer", () => {
    const run = netstack("decode", "--json", fixture("tcpdump-ns.pcap"))
    expect(run.status).toBe(0)
    const objects = lines(run.stdout).map((l) => JSON.parse(l) as { frame: number; layers: ReadonlyArray<{ layer: string }> })
    expect(objects.map((o) => o.frame)).toEqual(objects.map((_, i) => i + 1))
    for (const o of objects) expect(o.layers.map((l) => l.layer)).toEqual(["ethernet", "ipv4", "icmpv4"])
    expect(lines(run.stdout)[0]).toContain('"source":"127.0.0.1"')
  })

  it("reports a missing or malformed file with a message and exit code 1, after the frames it could read", () => {
    const missing = netstack("decode", "/nonexistent/capture.pcap")
    expect(missing.status).toBe(1)
    expect(missing.stderr + missing.stdout).toContain("/nonexistent/capture.pcap")
    const dir = mkdtempSync(join(tmpdir(), "netstack-decode-"))
    try {
      const whole = readFileSync(fixture("tcpdump-us.pcap"))
      const cut = join(dir, "cut.pcap")
      writeFileSync(cut, whole.subarray(0, whole.length - 10))
      const run = netstack("decode", cut)
      expect(run.status).toBe(1)
      expect(lines(run.stdout).length).toBe(5)
      expect(run.stderr + run.stdout).toMatch(/not a valid capture \(truncated at byte \d+/)
      const junk = join(dir, "junk.pcap")
      writeFileSync(junk, "this is not a capture file")
      expect(netstack("decode", junk).stderr).toMatch(/not a valid capture \(bad-magic at byte 0/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
