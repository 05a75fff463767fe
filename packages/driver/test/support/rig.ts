/**
 * A test rig: a simulated NIC, a softirq and a driver whose receive handler
 * records every packet (bytes and metadata) and releases it.
 */
import { ipv4PseudoHeaderSum, PacketBuffer } from "@netstack/buffers"
import { Nic, type NicDevice, type NicOptions } from "@netstack/device"
import { Driver, type DriverOptions, type DriverShape, ReceiveHandler, Softirq, type SoftirqOptions, type SoftirqShape } from "@netstack/driver"
import { emitEthernet, emitIpv4, emitTcp, emitUdp } from "@netstack/wire"
import { Effect, type Scope } from "effect"

/** What the handler saw of one packet. */
export interface Received {
  readonly bytes: Uint8Array
  readonly checksum: string
  readonly gsoSegments: number
  readonly traceId: number
}

/** A NIC with its driver. */
export interface Rig {
  readonly nic: NicDevice
  readonly driver: DriverShape
  readonly softirq: SoftirqShape
  readonly received: Array<Received>
}

/** Builds a rig; `softirq` may be shared between rigs (one simulated CPU). */
export const makeRig = (
  nicOptions: Partial<NicOptions> = {},
  driverOptions: DriverOptions = {},
  softirqOrOptions: SoftirqShape | SoftirqOptions = {}
): Effect.Effect<Rig, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const nic = yield* Nic.make({ mac: 0x020000000001, ...nicOptions })
    const softirq = "schedule" in softirqOrOptions ? softirqOrOptions : yield* Softirq.make(softirqOrOptions)
    const received: Array<Received> = []
    const handler = {
      receive: (p: PacketBuffer) => {
        received.push({
          bytes: p.toUint8Array(),
          checksum: p.meta.checksum._tag,
          gsoSegments: p.meta.gsoSegments,
          traceId: p.meta.traceId
        })
        p.release()
      }
    }
    const driver = yield* Driver.make(driverOptions).pipe(
      Effect.provideService(Nic, nic),
      Effect.provideService(Softirq, softirq),
      Effect.provideService(ReceiveHandler, handler)
    )
    return { nic, driver, softirq, received }
  })

/** Lets every runnable fiber run (handlers, softirq, transmit engines) without moving the clock. */
export const settle: Effect.Effect<void> = Effect.gen(function*() {
  for (let i = 0; i < 50; i++) yield* Effect.yieldNow
})

/** A UDP/IPv4 frame of flow `flow` carrying `sequence` (4 bytes) and `extra` bytes, checksum as asked. */
export const udpFrame = (
  flow: number,
  sequence: number,
  extra = 0,
  checksum: "full" | "partial" = "full"
): PacketBuffer => {
  const payload = new Uint8Array(4 + extra)
  new DataView(payload.buffer).setUint32(0, sequence)
  const buffer = PacketBuffer.fromBytes(payload, 128)
  const source = 0x0a000001
  const destination = 0x0a000100 + (flow & 0xff)
  emitUdp(buffer, { sourcePort: 10000 + flow, destinationPort: 9 }, {
    mode: checksum,
    pseudoHeaderSum: ipv4PseudoHeaderSum(source, destination, 17, 8 + payload.length)
  })
  emitIpv4(buffer, {
    dscp: 0, ecn: 0, identification: sequence & 0xffff, reservedFlag: false, dontFragment: true,
    moreFragments: false, fragmentOffset: 0, ttl: 64, protocol: 17, source, destination
  })
  emitEthernet(buffer, { destination: 0x020000000002, source: 0x020000000001, etherType: 0x0800 })
  return buffer
}

/** The flow and sequence number `udpFrame` put in a frame. */
export const flowAndSequence = (frame: Uint8Array): { readonly flow: number; readonly sequence: number } => {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength)
  return { flow: view.getUint16(34) - 10000, sequence: view.getUint32(42) }
}

/**
 * A TCP/IPv4 frame from 10.0.0.1:5000 to 10.0.0.2:80 carrying `payload`
 * bytes (byte i is i mod 256) from `sequence`, its checksum left partial as
 * TCP hands a segment or super-packet down.
 */
export const tcpFrame = (payload: number, sequence: number, flags: number): PacketBuffer => {
  const buffer = PacketBuffer.fromBytes(Uint8Array.from({ length: payload }, (_, i) => i & 0xff), 128)
  const source = 0x0a000001
  const destination = 0x0a000002
  emitTcp(buffer, {
    sourcePort: 5000, destinationPort: 80, sequenceNumber: sequence, acknowledgmentNumber: 1,
    flags, window: 1000, urgentPointer: 0, options: []
  }, { mode: "partial", pseudoHeaderSum: ipv4PseudoHeaderSum(source, destination, 6, 20 + payload) })
  emitIpv4(buffer, {
    dscp: 0, ecn: 0, identification: 1, reservedFlag: false, dontFragment: true, moreFragments: false,
    fragmentOffset: 0, ttl: 64, protocol: 6, source, destination
  })
  emitEthernet(buffer, { destination: 0x020000000002, source: 0x020000000001, etherType: 0x0800 })
  return buffer
}
