/**
 * Test fixture: a "switch" host whose Ethernet interfaces are the ports of
 * a learning bridge, each wired to its own end host (real NICs, drivers and
 * wires from `lan.ts`), plus recorders for what the switch's taps see and
 * what each end host's protocol handler receives.
 */
import { PacketBuffer } from "@netstack/buffers"
import { BridgeDevice, type BridgeOptions, type EthernetDevice, type NetDevice } from "@netstack/l2"
import { emitEthernet, readMac, readU16 } from "@netstack/wire"
import { Effect, type Scope } from "effect"
import { addInterface, connect, makeHost, type TestHost } from "./lan.ts"

/** IEEE 802 local experimental EtherType 1. */
export const EXPERIMENTAL = 0x88b5

/** The MAC of end host `i` (0-based): 02:00:00:00:00:0(i+1). */
export const hostMac = (i: number): number => 0x020000000001 + i

/** A frame from `source` to `destination` of the experimental EtherType whose first payload byte is `tag`. */
export const frame = (destination: number, source: number, tag: number, etherType = EXPERIMENTAL): PacketBuffer => {
  const buffer = PacketBuffer.fromBytes(Uint8Array.from([tag, 0, 0, 0]), 64)
  emitEthernet(buffer, { destination, source, etherType })
  return buffer
}

/** What a tap or handler saw of a frame. */
export interface Seen {
  readonly device: string
  readonly direction: "in" | "out" | "rx"
  readonly destination: number
  readonly source: number
  readonly tag: number
  readonly packetType?: string
}

/** An end host: its link layer, its one interface and what its handler received. */
export interface EndHost {
  readonly host: TestHost
  readonly eth: EthernetDevice
  readonly mac: number
  readonly received: Array<Seen>
}

/** The switch and its end hosts. */
export interface BridgedLan {
  readonly sw: TestHost
  readonly bridge: BridgeDevice
  readonly ports: ReadonlyArray<EthernetDevice>
  readonly hosts: ReadonlyArray<EndHost>
  /** Every experimental frame the switch's taps saw, in order. */
  readonly taps: Array<Seen>
  /** Every experimental frame the switch's own handler received (from the bridge). */
  readonly local: Array<Seen>
  /** Names of the switch ports frame `tag` went out of, sorted. */
  readonly egress: (tag: number) => ReadonlyArray<string>
}

const seenOf = (p: PacketBuffer, device: NetDevice, direction: Seen["direction"], offset: number): Seen | undefined => {
  const b = p.toUint8Array()
  if (b.length < offset + 15 || readU16(b, offset + 12) !== EXPERIMENTAL) return undefined
  return { device: device.name, direction, destination: readMac(b, offset), source: readMac(b, offset + 6), tag: b[offset + 14] }
}

/**
 * A switch host with `n` ports bridged by `bridge` (options from
 * `bridgeOptions`), port i wired to end host i (MAC `hostMac(i)`).
 */
export const makeBridgedLan = (
  n: number,
  bridgeOptions: Partial<Omit<BridgeOptions, "link" | "timers">> = {}
): Effect.Effect<BridgedLan, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const sw = yield* makeHost()
    const ports: Array<EthernetDevice> = []
    const hosts: Array<EndHost> = []
    for (let i = 0; i < n; i++) {
      ports.push(yield* addInterface(sw, { mac: 0x02000000ff01 + i }))
      const host = yield* makeHost()
      const eth = yield* addInterface(host, { mac: hostMac(i) })
      yield* connect(ports[i], eth)
      const received: Array<Seen> = []
      host.link.addProtocol(EXPERIMENTAL, (p, device) => {
        const b = p.toUint8Array()
        const mac = p.meta.macHeader
        const header = p.bytes.subarray(mac, mac + 14)
        received.push({
          device: device.name,
          direction: "rx",
          destination: readMac(header, 0),
          source: readMac(header, 6),
          tag: b[0],
          packetType: p.meta.packetType
        })
        p.release()
      })
      hosts.push({ host, eth, mac: hostMac(i), received })
    }
    const bridge = yield* BridgeDevice.make({ link: sw.link, timers: sw.timers, ...bridgeOptions })
    for (const port of ports) {
      const refused = bridge.addPort(port)
      if (refused !== undefined) return yield* Effect.die(refused)
    }
    const taps: Array<Seen> = []
    sw.link.addTap((p, device, direction) => {
      const seen = seenOf(p, device, direction, 0)
      if (seen !== undefined) taps.push(seen)
    })
    const local: Array<Seen> = []
    sw.link.addProtocol(EXPERIMENTAL, (p, device) => {
      const mac = p.meta.macHeader
      const header = p.bytes.subarray(mac, mac + 14)
      local.push({
        device: device.name,
        direction: "rx",
        destination: readMac(header, 0),
        source: readMac(header, 6),
        tag: p.toUint8Array()[0],
        packetType: p.meta.packetType
      })
      p.release()
    })
    const egress = (tag: number): ReadonlyArray<string> =>
      taps.filter((s) => s.tag === tag && s.direction === "out" && s.device !== bridge.name).map((s) => s.device).sort()
    return { sw, bridge, ports, hosts, taps, local, egress }
  })
