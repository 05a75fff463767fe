/**
 * Test fixture for ARP and the neighbour table: a host from `lan.ts` with
 * one Ethernet interface, a `NeighbourTable` answering for a set of IPv4
 * addresses, and recorders for what leaves it (ARP and IPv4 frames, via a
 * tap), what reaches its IPv4 handler and what the table hands to
 * `unreachable`. Test IPv4 packets carry a 32-bit id after a 20-byte header.
 */
import { PacketBuffer } from "@netstack/buffers"
import { loopback, Nic } from "@netstack/device"
import { Driver, ReceiveHandler, Softirq } from "@netstack/driver"
import { EthernetDevice, type NeighbourParameters, NeighbourTable, type NetDevice } from "@netstack/l2"
import { EtherTypes, readMac, readU16, readU32 } from "@netstack/wire"
import { Effect, type Scope } from "effect"
import { addInterface, makeHost, type TestHost } from "./lan.ts"

/** An ARP frame seen leaving a host. */
export interface ArpRecord {
  /** When it left (µs). */
  readonly at: number
  readonly device: string
  /** Ethernet destination. */
  readonly destination: number
  readonly operation: number
  readonly senderMac: number
  readonly senderIpv4: number
  readonly targetMac: number
  readonly targetIpv4: number
  /** Frame length (with padding). */
  readonly length: number
}

/** A test IPv4 packet seen leaving a host. */
export interface IpRecord {
  readonly at: number
  readonly device: string
  readonly destination: number
  readonly source: number
  readonly id: number
}

/** A host with a neighbour table and recorders. */
export interface ArpHost {
  readonly host: TestHost
  readonly eth: EthernetDevice
  readonly table: NeighbourTable
  /** The addresses this host answers for (mutable). */
  readonly addresses: Set<number>
  /** Its first address. */
  readonly ip: number
  readonly arpOut: Array<ArpRecord>
  readonly ipOut: Array<IpRecord>
  /** Ids of the test packets its IPv4 handler received. */
  readonly received: Array<number>
  /** Ids of the packets the table handed to `unreachable`, with their first byte (0x45 when at the IP header). */
  readonly unreachable: Array<{ readonly id: number; readonly firstByte: number; readonly device: string }>
}

/** Options of `makeArpHost`. */
export interface ArpHostOptions {
  readonly mac: number
  readonly ip: number
  readonly parameters?: Partial<NeighbourParameters>
  /** Default: always 0.5, so the reachable time is exactly `base_reachable_time`. */
  readonly random?: () => number
}

/** 10.0.0.n */
export const ip = (n: number): number => (10 << 24) + n

/** Bytes of a test IPv4 packet: a 20-byte header and a 4-byte id. */
export const TEST_PACKET_LENGTH = 24

/** A test IPv4 packet from `source` to `destination` carrying `id`, with 64 bytes of headroom. */
export const ipPacket = (source: number, destination: number, id: number): PacketBuffer => {
  const bytes = new Uint8Array(TEST_PACKET_LENGTH)
  const view = new DataView(bytes.buffer)
  view.setUint8(0, 0x45)
  view.setUint16(2, TEST_PACKET_LENGTH)
  view.setUint8(8, 64)
  view.setUint8(9, 253) // RFC 3692 experimental protocol
  view.setUint32(12, source)
  view.setUint32(16, destination)
  view.setUint32(20, id)
  return PacketBuffer.fromBytes(bytes, 64)
}

/** Records frames leaving `host` into `arpOut` and `ipOut`. */
const record = (host: TestHost, arpOut: Array<ArpRecord>, ipOut: Array<IpRecord>): void => {
  host.link.addTap((frame, device, direction) => {
    if (direction !== "out") return
    const b = frame.toUint8Array()
    if (b.length < 14) return
    const etherType = readU16(b, 12)
    const at = host.timers.now()
    if (etherType === EtherTypes.arp && b.length >= 42) {
      arpOut.push({
        at,
        device: device.name,
        destination: readMac(b, 0),
        operation: readU16(b, 20),
        senderMac: readMac(b, 22),
        senderIpv4: readU32(b, 28),
        targetMac: readMac(b, 32),
        targetIpv4: readU32(b, 38),
        length: b.length
      })
    } else if (etherType === EtherTypes.ipv4 && b.length >= 14 + TEST_PACKET_LENGTH) {
      ipOut.push({
        at,
        device: device.name,
        destination: readMac(b, 0),
        source: readMac(b, 6),
        id: readU32(b, 34)
      })
    }
  })
}

/** A neighbour table on `host` answering for `addresses`, recording `unreachable`. */
export const makeTable = (
  host: TestHost,
  addresses: Set<number>,
  sourceFor: (device: NetDevice, target: number) => number | undefined,
  unreachable: Array<{ readonly id: number; readonly firstByte: number; readonly device: string }>,
  parameters: Partial<NeighbourParameters> | undefined,
  random: () => number
): NeighbourTable =>
  NeighbourTable.make({
    link: host.link,
    timers: host.timers,
    random,
    addresses: { isLocal: (_device, address) => addresses.has(address), sourceFor },
    unreachable: (packet, device) => {
      const b = packet.toUint8Array()
      unreachable.push({ id: b.length >= 24 ? readU32(b, 20) : -1, firstByte: b[0] ?? -1, device: device.name })
      packet.release()
    },
    ...(parameters === undefined ? {} : { parameters })
  })

/** A host with one interface (`eth0`), a neighbour table registered for ARP, and a recording IPv4 handler. */
export const makeArpHost = (options: ArpHostOptions): Effect.Effect<ArpHost, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const host = yield* makeHost()
    const eth = yield* addInterface(host, { mac: options.mac })
    const addresses = new Set([options.ip])
    const arpOut: Array<ArpRecord> = []
    const ipOut: Array<IpRecord> = []
    const received: Array<number> = []
    const unreachable: Array<{ id: number; firstByte: number; device: string }> = []
    const table = makeTable(host, addresses, () => options.ip, unreachable, options.parameters, options.random ?? (() => 0.5))
    host.link.addProtocol(EtherTypes.arp, (p, device) => table.receive(p, device))
    host.link.addProtocol(EtherTypes.ipv4, (p) => {
      if (p.length >= TEST_PACKET_LENGTH) received.push(readU32(p.bytes, p.data + 20))
      p.release()
    })
    record(host, arpOut, ipOut)
    return { host, eth, table, addresses, ip: options.ip, arpOut, ipOut, received, unreachable }
  })

/** Adds a loopback interface (`lo`, MAC 0, kind "loopback") over the loopback medium, as the stack's hosts have. */
export const addLoopback = (host: TestHost): Effect.Effect<EthernetDevice, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const ifindex = host.link.allocateIfindex()
    const nic = yield* Nic.make({ name: "lo", ifindex, mac: 0, mtu: 65535 })
    let device: EthernetDevice | undefined = undefined
    const driver = yield* Driver.make().pipe(
      Effect.provideService(Nic, nic),
      Effect.provideService(ReceiveHandler, {
        receive: (p: PacketBuffer) => (device === undefined ? p.release() : host.link.receive(device, p))
      }),
      Effect.provideService(Softirq, host.softirq)
    )
    device = yield* EthernetDevice.make(driver, ifindex, "loopback")
    nic.attach(loopback())
    host.link.register(device)
    return device
  })
