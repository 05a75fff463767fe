/**
 * An oracle no one here wrote, on traffic no one here wrote: Linux, in two
 * network namespaces this test creates, pings over IPv4 and IPv6 (ARP, NDP,
 * MLD with a Hop-by-Hop header), pings and sends UDP with 3000 bytes of data
 * (IPv4 fragments), sends UDP to closed ports (ICMP and ICMPv6 port
 * unreachable), and moves 200 kB over TCP with window scaling, SACK and
 * timestamps while nftables drops every ninth large segment (so SACK blocks
 * appear). Where python3 is installed, ARP requests padded to the Ethernet
 * minimum (as a NIC pads them; veth does not), one of them 802.1Q-tagged, go
 * from a packet socket, and Linux answers. tcpdump captures it; our pcap
 * reader and views must decode every frame to the field values tshark
 * reports (fragments dissected one by one, as we decode them), with the
 * checksum verdicts tshark reaches, and print the lines `tcpdump -n -tt -S`
 * prints.
 *
 * Needs root and iproute2, tcpdump, tshark, iputils-ping, netcat-openbsd,
 * nftables and ethtool (installed by .ci/run); skips with the reason otherwise.
 * Without python3 it runs without the padded ARP and says so.
 */
import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { PacketBuffer } from "@netstack/buffers"
import {
  hasCommand,
  inNs,
  makeNamespacePair,
  PAYLOAD_AS_DATA,
  skipReason,
  spawnInNs,
  stop,
  STRICT_PREFERENCES,
  tsharkFields,
  waitForOutput
} from "@netstack/test-support"
import { decodeFrame, formatFrame, frameToJson, readCaptureFile } from "@netstack/wire"
import { Effect, Stream } from "effect"
import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { expectedTsharkFields, mismatches, TSHARK_FIELDS } from "./support/tshark-mapping.ts"

const missing = skipReason(
  "the capture of real Linux traffic",
  ["ip", "tcpdump", "tshark", "ping", "nc", "nft", "ethtool", "bash"],
  true
)

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const python = hasCommand("python3")
if (!python && missing === undefined) console.log("real Linux traffic: python3 missing, so no padded ARP frames are sent")

/**
 * Sends, from a packet socket on `dev`, ARP requests in frames padded with
 * zeros to the Ethernet minimum: who-has `target` (which Linux answers), a
 * gratuitous one for `sender`, and one in a frame tagged for VLAN 10 (padded
 * to 64 bytes, the minimum and the tag), which Linux drops.
 */
const PADDED_ARP = String.raw`
import socket, struct, sys
dev, sender, target = sys.argv[1:4]
mac = bytes.fromhex(open("/sys/class/net/%s/address" % dev).read().strip().replace(":", ""))
def arp(tpa):
    return struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + socket.inet_aton(sender) + bytes(6) + socket.inet_aton(tpa)
def frame(tag, tpa, size):
    f = b"\xff" * 6 + mac + tag + b"\x08\x06" + arp(tpa)
    return f + bytes(size - len(f))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((dev, 0))
s.send(frame(b"", target, 60))
s.send(frame(b"", sender, 60))
s.send(frame(b"\x81\x00\x00\x0a", target, 64))
`

/** Makes Linux talk inside two fresh namespaces while tcpdump writes `path`. */
const captureLinuxTraffic = async (path: string): Promise<void> => {
  const pair = makeNamespacePair()
  try {
    // Checksums computed in software, so the capture holds them (veth would leave them partial);
    // no segmentation offload, so the loss rule below sees (and drops) single segments.
    for (const [ns, dev] of [[pair.a, pair.ifA], [pair.b, pair.ifB]] as const) {
      inNs(ns, ["ethtool", "-K", dev, "tx", "off", "tso", "off", "gso", "off"])
    }
    // b drops every ninth full-sized segment to its port 5001 as it arrives (after tcpdump's tap has
    // seen it: the tap runs before netfilter), so it acknowledges what follows with SACK blocks. The
    // sender's output hook would see GSO super-packets instead of segments, so loss is made on receive.
    inNs(pair.b, ["nft", "add", "table", "inet", "loss"])
    inNs(pair.b, ["nft", "add", "chain", "inet", "loss", "in", "{ type filter hook prerouting priority -300; }"])
    inNs(pair.b, [
      "nft", "add", "rule", "inet", "loss", "in",
      "tcp", "dport", "5001", "meta", "length", "> 1000", "numgen", "inc", "mod", "9", "==", "4", "drop"
    ])
    const dump = spawnInNs(pair.b, ["tcpdump", "-i", pair.ifB, "-w", path, "-U"])
    if (!(await waitForOutput(dump, /listening on/))) throw new Error("tcpdump did not start")
    try {
      inNs(pair.a, ["ping", "-c", "2", "-i", "0.2", pair.ipv4B])
      if (python) inNs(pair.a, ["python3", "-c", PADDED_ARP, pair.ifA, pair.ipv4A, pair.ipv4B])
      // 3008 bytes of ICMP and 3008 of UDP: three IPv4 fragments each way (veth's MTU is 1500).
      inNs(pair.a, ["ping", "-c", "1", "-s", "3000", pair.ipv4B])
      inNs(pair.a, ["bash", "-c", `printf '%03000d' 0 > /dev/udp/${pair.ipv4B}/5004`])
      inNs(pair.a, ["ping", "-6", "-c", "2", "-i", "0.2", pair.ipv6B])
      inNs(pair.a, ["bash", "-c", `echo hello > /dev/udp/${pair.ipv4B}/5002; echo hello6 > /dev/udp/${pair.ipv6B}/5002`])
      // Listeners read nothing from stdin, so each closes its side once the client has sent all and shut down.
      const server = spawnInNs(pair.b, ["bash", "-c", "nc -l 5001 < /dev/null > /dev/null"])
      const server6 = spawnInNs(pair.b, ["bash", "-c", "nc -6 -l 5003 < /dev/null > /dev/null"])
      await pause(300)
      inNs(pair.a, ["bash", "-c", `head -c 200000 /dev/zero | nc -N -w 5 ${pair.ipv4B} 5001`])
      inNs(pair.a, ["bash", "-c", `echo small | nc -N -w 5 ${pair.ipv6B} 5003`])
      await pause(500)
      server.kill()
      server6.kill()
    } finally {
      await stop(dump)
    }
  } finally {
    pair.close()
  }
}

describe("real Linux traffic", () => {
  it.skipIf(missing !== undefined)(
    "decodes every captured frame as tshark does and prints tcpdump's lines",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "netstack-linux-"))
      try {
        const path = join(dir, "linux.pcap")
        await captureLinuxTraffic(path)

        const frames = await Effect.runPromise(
          Stream.runCollect(readCaptureFile(path)).pipe(Effect.provide(NodeFileSystem.layer))
        )
        const decoded = frames.map((f) => decodeFrame(PacketBuffer.wrap(f.data.slice())))
        const json = decoded.map((d) => frameToJson(d))
        expect(frames.length).toBeGreaterThan(100)
        expect(decoded.flatMap((d, i) => (d.defect === undefined ? [] : [`frame ${i + 1}: ${d.defect.name}`]))).toEqual([])

        // The traffic covers what it should.
        const text = JSON.stringify(json)
        for (const expected of ['"layer":"arp"', '"layer":"icmpv4"', '"DestinationUnreachable"', '"NeighborSolicitation"',
          '"NeighborAdvertisement"', '"HopByHop"', '"WindowScale"', '"SackPermitted"', '"Timestamps"', '"kind":"Sack"',
          '"layer":"udp"']) {
          expect(text.includes(expected), `the capture holds ${expected}`).toBe(true)
        }
        for (const d of decoded) {
          // A first fragment's transport checksum covers bytes in later fragments: not verified.
          const first = d.layers.some((l) => l.layer === "ipv4" && l.header.moreFragments && l.header.fragmentOffset === 0)
          for (const layer of d.layers) {
            if ("checksum" in layer) expect(layer.checksum).toBe(first && layer.layer !== "ipv4" ? "unverified" : "valid")
          }
        }

        // tshark dissects each fragment alone (as we decode them), not the datagram reassembled in the last.
        const preferences = [...STRICT_PREFERENCES, "ip.defragment:FALSE"]
        const theirs = tsharkFields(path, TSHARK_FIELDS, preferences, PAYLOAD_AS_DATA)
        expect(theirs.length).toBe(frames.length)
        const differences = json.flatMap((ours, i) =>
          mismatches(expectedTsharkFields(ours), theirs[i] ?? {}).map((m) => `frame ${i + 1}: ${m}`)
        )
        expect(differences).toEqual([])

        const tcpdump = execFileSync("tcpdump", ["-n", "-tt", "-S", "-r", path], {
          encoding: "utf8",
          stdio: ["ignore", "pipe", "ignore"]
        }).split("\n").filter((line) => line.length > 0)
        const ours = frames.map((f, i) => {
          const micros = f.timestamp / 1000n
          return `${micros / 1_000_000n}.${(micros % 1_000_000n).toString().padStart(6, "0")} ${formatFrame(decoded[i])}`
        })
        expect(ours).toEqual(tcpdump)
        const printed = (pattern: RegExp) => tcpdump.filter((line) => pattern.test(line)).length
        expect(printed(/ICMP echo request, id \d+, seq 1, length 1480$/), "first fragments of the large ping").toBe(1)
        expect(printed(/ip-proto-1$/), "later fragments of the large ping and its reply").toBe(4)
        expect(printed(/\.5004: UDP, length 3000$/), "the first fragment of the large UDP datagram").toBe(1)
        expect(printed(/ip-proto-17$/), "its later fragments").toBe(2)
        if (python) {
          expect(printed(/ARP, Request who-has .* length 46$/), "padded ARP requests, one tagged").toBe(3)
          expect(text.includes('"layer":"vlan"'), "the capture keeps the 802.1Q tag").toBe(true)
        }
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
    120_000
  )
})
