/**
 * `netstack demo` prints real, self-consistent results: checksums that
 * verify, an incremental checksum equal to recomputation, a clone whose write
 * did not reach the original, and a pool with every buffer returned.
 */
import { describe, expect, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { demoLines } from "@netstack/cli"
import { Effect } from "effect"

const bin = fileURLToPath(new URL("../bin/netstack.ts", import.meta.url))

describe("netstack demo", () => {
  it("reports verified checksums, copy-on-write and a drained pool", async () => {
    const text = (await Effect.runPromise(demoLines)).join("\n")
    expect(text).toMatch(/IPv4 header checksum 0x[0-9a-f]{4}; sum over the header verifies to 0x0000/)
    expect(text).toMatch(/UDP checksum with pseudo-header verifies to 0x0000/)
    const rfc1624 = text.match(/incremental checksum (0x[0-9a-f]{4}), full recomputation (0x[0-9a-f]{4})/)
    expect(rfc1624?.[1]).toBe(rfc1624?.[2])
    const fragments = text.match(/across fragments (0x[0-9a-f]{4}), over the linear payload (0x[0-9a-f]{4})/)
    expect(fragments?.[1]).toBe(fragments?.[2])
    expect(text).toMatch(/clone .* private {3}TTL 63/)
    expect(text).toMatch(/original .* TTL 64 \(untouched\)/)
    expect(text).toMatch(/inUse=0 highWater=1 acquired=1 released=1 exhausted=0 doubleReleases=0/)
  })

  it("decodes the frame it built as tcpdump prints it, and names what is wrong with damaged copies", async () => {
    const text = (await Effect.runPromise(demoLines)).join("\n")
    expect(text).toContain("IP 10.0.0.1.40000 > 10.0.0.2.7: UDP, length 15")
    expect(text).toMatch(/ipv4 +checksum valid/)
    expect(text).toMatch(/udp +checksum valid/)
    expect(text).toContain("one payload byte flipped: UDP checksum invalid")
    expect(text).toMatch(/cut to 40 bytes: .* \[\|ipv4\.bad-total-length\]/)
  })

  it("runs two NICs and drivers over an impaired wire: counters add up, RSS spreads, coalescing and the trace show", async () => {
    const text = (await Effect.runPromise(demoLines)).join("\n")
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
    // the simulation clock and the seed make every run print the same
    expect((await Effect.runPromise(demoLines)).join("\n")).toBe(text)
  })

  it("runs as the netstack binary, which `npm start` calls", () => {
    const run = spawnSync(process.execPath, [bin, "demo"], { encoding: "utf8", timeout: 60_000 })
    expect(run.status).toBe(0)
    expect(run.stdout).toContain("== buffers: one UDP datagram")
    expect(run.stdout).toContain("== pool")
  })

  it("lists its subcommands in --help", () => {
    const run = spawnSync(process.execPath, [bin, "--help"], { encoding: "utf8", timeout: 60_000 })
    expect(run.status).toBe(0)
    expect(run.stdout).toContain("demo")
  })
})
