/**
 * `netstack demo` prints real, self-consistent results: checksums that
 * verify, an incremental checksum equal to recomputation, a clone whose write
 * did not reach the original, a pool with every buffer returned, counters
 * that add up, pings across a router with fragmentation, and a pcap that
 * decodes. Runs write their pcap into a temporary directory.
 */
import { NodeServices } from "@effect/platform-node"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { PacketBuffer } from "@netstack/buffers"
import { DEFAULT_DEMO_PCAP, demoLines } from "@netstack/cli"
import {
  decodeFrame,
  ETHERNET_HEADER_LENGTH,
  EtherTypes,
  formatFrame,
  Ipv4View,
  ipv4FromString,
  readCaptureFile,
  readU16
} from "@netstack/wire"
import { Effect, Stream } from "effect"
import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const bin = fileURLToPath(new URL("../bin/netstack.ts", import.meta.url))
const dir = mkdtempSync(join(tmpdir(), "netstack-demo-"))
const pcap = join(dir, "demo.pcap")
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** One run of the demo: its text and the pcap it wrote. */
interface Run {
  readonly text: string
  readonly pcap: Uint8Array
}

const run = (): Promise<Run> =>
  Effect.runPromise(demoLines({ pcap }).pipe(Effect.provide(NodeServices.layer)))
    .then((lines) => ({ text: lines.join("\n"), pcap: readFileSync(pcap) }))

// The demo takes seconds: the tests share one run, and one more for determinism.
let first: Promise<Run> | undefined
let second: Promise<Run> | undefined
const demo = (): Promise<Run> => (first ??= run())
const demoAgain = (): Promise<Run> => (second ??= demo().then(run))
const demoText = (): Promise<string> => demo().then((r) => r.text)
/** Enough for a run, or for starting the binary (a few seconds each), on a loaded machine. */
const DEMO_TIMEOUT = 60_000

/** The counter `name` on `host`'s `Ip:`, `Icmp:`, `arp_cache:` or `drops:` line; 0 when absent (only non-zero ones are printed). */
const counter = (text: string, host: string, line: string, name: string): number => {
  const lines = text.slice(text.indexOf("== counters")).split("\n")
  const start = lines.findIndex((l) => l.startsWith(`  ${host}  Ip:`))
  const row = lines.slice(start, start + 4).find((l) => l.includes(` ${line} `)) ?? ""
  return Number(new RegExp(` ${name} (\\d+)`).exec(row)?.[1] ?? 0)
}

describe("netstack demo", () => {
  it("reports verified checksums, copy-on-write and a drained pool", async () => {
    const text = await demoText()
    expect(text).toMatch(/IPv4 header checksum 0x[0-9a-f]{4}; sum over the header verifies to 0x0000/)
    expect(text).toMatch(/UDP checksum with pseudo-header verifies to 0x0000/)
    const rfc1624 = text.match(/incremental checksum (0x[0-9a-f]{4}), full recomputation (0x[0-9a-f]{4})/)
    expect(rfc1624?.[1]).toBe(rfc1624?.[2])
    const fragments = text.match(/across fragments (0x[0-9a-f]{4}), over the linear payload (0x[0-9a-f]{4})/)
    expect(fragments?.[1]).toBe(fragments?.[2])
    expect(text).toMatch(/clone .* private {3}TTL 63/)
    expect(text).toMatch(/original .* TTL 64 \(untouched\)/)
    expect(text).toMatch(/inUse=0 highWater=1 acquired=1 released=1 exhausted=0 doubleReleases=0/)
  }, DEMO_TIMEOUT)

  it("decodes the frame it built as tcpdump prints it, and names what is wrong with damaged copies", async () => {
    const text = await demoText()
    expect(text).toContain("IP 10.0.0.1.40000 > 10.0.0.2.7: UDP, length 15")
    expect(text).toMatch(/ipv4 +checksum valid/)
    expect(text).toMatch(/udp +checksum valid/)
    expect(text).toContain("one payload byte flipped: UDP checksum invalid")
    expect(text).toMatch(/cut to 40 bytes: .* \[\|ipv4\.bad-total-length\]/)
  }, DEMO_TIMEOUT)

  it("runs two NICs and drivers over an impaired wire: counters add up, RSS spreads, coalescing and the trace show", async () => {
    const text = await demoText()
    const wire = text.match(/wire a→b: sent (\d+), delivered (\d+), lost (\d+)/)
    expect(Number(wire?.[1])).toBe(1000)
    expect(Number(wire?.[2]) + Number(wire?.[3])).toBe(1000)
    const rx = text.match(/b0 rx_packets (\d+), rx_missed_errors (\d+); handler got (\d+)/)
    expect(rx?.[1]).toBe(wire?.[2])
    expect(rx?.[3]).toBe(rx?.[1])
    const queues = (text.match(/over 4 queues: ([\d /]+)/)?.[1] ?? "").split(" / ").map(Number)
    expect(queues.filter((n) => n > 0).length).toBeGreaterThan(1)
    const irq = text.match(/interrupts with rx-usecs 50 \(4 queues, one line each\): (\d+) for (\d+) frames/)
    expect(Number(irq?.[1])).toBeLessThan(Number(irq?.[2]) / 2)
    expect(text).toMatch(/xmit[\s\S]*device-tx[\s\S]*device-rx[\s\S]*napi-poll[\s\S]*receive/)
  }, DEMO_TIMEOUT)

  it("pings across a router: replies of every size with ttl 63 and exact round trips, the first after ARP", async () => {
    const text = await demoText()
    const replies = [...text.matchAll(/^ {4}(\d+) bytes from 10\.0\.2\.1: icmp_seq=1 ttl=(\d+) time=(\d+\.\d{3}) ms/gm)]
      .map((m) => ({ bytes: Number(m[1]), ttl: Number(m[2]), ms: Number(m[3]) }))
    expect(replies.map((r) => r.bytes)).toEqual([64, 1480, 3008, 8008])
    expect(replies.every((r) => r.ttl === 63)).toBe(true)
    const [arp, ...rest] = replies
    // ARP at a and at r adds two round trips of 1 ms wires to the echo's four hops
    expect(arp?.ms).toBeGreaterThanOrEqual(8)
    expect(arp?.ms).toBeLessThan(8.1)
    // four 1 ms hops, and at 100 Mbit/s at least the datagram's bytes serialized on the a—r wire both ways
    for (const r of rest) expect(r.ms).toBeGreaterThanOrEqual(4 + (2 * (r.bytes + 20 + 14) * 8) / 100_000)
    expect(rest.map((r) => r.ms)).toEqual([...rest.map((r) => r.ms)].sort((x, y) => x - y))
    expect(text).toContain("4 of 4 replies carried exactly the data sent")
    expect(text).toMatch(/3008 bytes .* fragments made: a 3, r 6, b 6/)
  }, DEMO_TIMEOUT)

  it("shows TTL expiry at the router, fragmentation needed with the MTU, and the cached path MTU", async () => {
    const text = await demoText()
    expect(text).toContain("From 10.0.1.254 icmp_seq=1 Time to live exceeded")
    expect(text).toContain("From 10.0.1.254 icmp_seq=1 Frag needed and DF set (mtu = 576)")
    expect(text).toMatch(/10\.0\.2\.1 via 10\.0\.1\.254 dev a-eth0 src 10\.0\.1\.1\n +cache expires 600sec mtu 576/)
    expect(text).toContain("ping: local error: message too long, mtu=576")
  }, DEMO_TIMEOUT)

  it("traces one request stage by stage from a through r's forward stage to b, with exact wire times", async () => {
    const text = await demoText()
    const trace = text.slice(text.indexOf("== one echo request's path"), text.indexOf("== counters"))
    expect(trace).toMatch(
      /0\.000 µs +ip-output +#\d+ +a-eth0[\s\S]*xmit +#\d+ +a-eth0:0[\s\S]*1007\.840 µs +device-rx +#\d+ +r-eth0:0[\s\S]*napi-poll[\s\S]*l2-rx +#\d+ +r-eth0[\s\S]*ip-rcv +#\d+ +r-eth0[\s\S]*ip-forward +#\d+ +r-eth0→r-eth1[\s\S]*l2-tx +#\d+ +r-eth1[\s\S]*2015\.680 µs +device-rx +#\d+ +b-eth0:0[\s\S]*ip-local +#\d+ +b-eth0/
    )
    // four hops of 1 ms plus 98 bytes at 100 Mbit/s each
    expect(trace).toContain("ip-local a-eth0 at 4031.360 µs; ping: time=4.031 ms")
  }, DEMO_TIMEOUT)

  it("counts fragmentation at a and r, reassembly at a and b, forwarding and ICMP errors at r", async () => {
    const text = await demoText()
    expect(counter(text, "a", "Ip:", "FragOKs")).toBe(2) // the 3000- and 8000-byte requests
    expect(counter(text, "a", "Ip:", "FragCreates")).toBe(3 + 6)
    expect(counter(text, "r", "Ip:", "FragOKs")).toBeGreaterThan(0)
    expect(counter(text, "r", "Ip:", "FragCreates")).toBe(3 + 6 + 17)
    expect(counter(text, "r", "Ip:", "ForwDatagrams")).toBeGreaterThan(0)
    expect(counter(text, "b", "Ip:", "ReasmReqds")).toBe(3 + 7 + 17)
    expect(counter(text, "b", "Ip:", "ReasmOKs")).toBe(3)
    expect(counter(text, "a", "Ip:", "ReasmOKs")).toBe(3)
    expect(counter(text, "r", "Icmp:", "OutTimeExcds")).toBe(1)
    expect(counter(text, "r", "Icmp:", "OutDestUnreachs")).toBe(1)
    expect(counter(text, "b", "Icmp:", "OutEchoReps")).toBe(5)
    expect(text).toMatch(/drops: ipv4\.fragmentation-needed 1 ipv4\.ttl-exceeded 1/)
    expect(text).toMatch(/r: 10\.0\.2\.1 dev r-eth1 lladdr 02:00:00:00:00:04 (REACHABLE|STALE|DELAY)/)
  }, DEMO_TIMEOUT)

  it("writes a pcap of the router's frames that decodes: ARP, echo requests, a's fragments and r's", async () => {
    const { text } = await demo()
    expect(text).toContain(`frames to ${pcap} (`)
    const frames = await Effect.runPromise(readCaptureFile(pcap).pipe(Stream.runCollect, Effect.provide(NodeServices.layer)))
    expect(frames.length).toBe(Number(/wrote (\d+) frames to/.exec(text)?.[1]))
    const arp = frames.map((f) => formatFrame(decodeFrame(PacketBuffer.wrap(f.data.slice()))))
    expect(arp.some((l) => l.startsWith("ARP, Request who-has 10.0.2.1 tell 10.0.2.254"))).toBe(true)
    const datagrams = frames.flatMap((f) => {
      if (readU16(f.data, 12) !== EtherTypes.ipv4) return []
      const view = Ipv4View.parse(PacketBuffer.wrap(f.data.slice()), ETHERNET_HEADER_LENGTH)
      return view instanceof Ipv4View ? [{ view, icmpType: f.data[ETHERNET_HEADER_LENGTH + view.headerLength] }] : []
    })
    const echoRequests = datagrams.filter((d) => d.view.protocol === 1 && d.view.fragmentOffset === 0 && d.icmpType === 8)
    expect(echoRequests.length).toBeGreaterThan(0)
    // a's 1500-byte fragments come in on r-eth0 (TTL 64); r's pieces of them go out on r-eth1 (TTL 63, at most 576 bytes)
    expect(datagrams.some((d) => d.view.isFragment && d.view.totalLength === 1500 && d.view.ttl === 64)).toBe(true)
    const refragmented = datagrams.filter((d) => d.view.isFragment && d.view.ttl === 63 && d.view.source === ipv4FromString("10.0.1.1"))
    expect(refragmented.length).toBeGreaterThan(0)
    expect(refragmented.every((d) => d.view.totalLength <= 576)).toBe(true)
    expect(refragmented.some((d) => d.view.fragmentOffset > 0 && !d.view.moreFragments)).toBe(true)
  }, DEMO_TIMEOUT)

  it("prints the same and writes the same pcap on every run (simulation clock, fixed seed)", async () => {
    const [one, two] = [await demo(), await demoAgain()]
    expect(two.text).toBe(one.text)
    expect(two.pcap).toEqual(one.pcap)
  }, DEMO_TIMEOUT)

  it("runs as the netstack binary, which `npm start` calls, writing its pcap in the current directory", () => {
    const cwd = mkdtempSync(join(dir, "cwd-"))
    const run = spawnSync(process.execPath, [bin, "demo"], { encoding: "utf8", timeout: 60_000, cwd })
    expect(run.status).toBe(0)
    expect(run.stdout).toContain("== buffers: one UDP datagram")
    expect(run.stdout).toContain("== pool")
    expect(run.stdout).toContain("== network: hosts and a router")
    expect(run.stdout).toContain("b read 262144 bytes") // the TCP transfer through the router, whole
    expect(run.stdout).toContain(`frames to ${DEFAULT_DEMO_PCAP} (`)
    expect(existsSync(join(cwd, DEFAULT_DEMO_PCAP))).toBe(true)
  }, DEMO_TIMEOUT)

  it("runs the demo when called without a subcommand (the default)", () => {
    const cwd = mkdtempSync(join(dir, "bare-"))
    const run = spawnSync(process.execPath, [bin], { encoding: "utf8", timeout: 60_000, cwd })
    expect(run.status).toBe(0)
    expect(run.stdout).toContain("== buffers: one UDP datagram")
    expect(run.stdout).toContain("b read 262144 bytes")
    expect(existsSync(join(cwd, DEFAULT_DEMO_PCAP))).toBe(true)
  }, DEMO_TIMEOUT)

  it("lists its subcommands in --help, and demo its --pcap flag", () => {
    const run = spawnSync(process.execPath, [bin, "--help"], { encoding: "utf8", timeout: 60_000 })
    expect(run.status).toBe(0)
    for (const subcommand of ["demo", "decode", "up", "ping", "get", "dump"]) expect(run.stdout).toContain(subcommand)
    const demoHelp = spawnSync(process.execPath, [bin, "demo", "--help"], { encoding: "utf8", timeout: 60_000 })
    expect(demoHelp.stdout).toContain("--pcap")
  }, DEMO_TIMEOUT)
})
