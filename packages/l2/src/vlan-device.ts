/**
 * An 802.1Q VLAN sub-interface (`ip link add link eth0 name eth0.100 type
 * vlan id 100`): it receives the frames tagged with its VID on the lower
 * device (the link layer strips the tag) and sends frames through the lower
 * device with the tag inserted (IEEE 802.1Q-2018 §9.6).
 */
import type { PacketBuffer } from "@netstack/buffers"
import { writeU16 } from "@netstack/wire"
import { type DeviceFeatures, LinkStats, type NetDevice, type RxHandler } from "./net-device.ts"

/** TPID of a customer VLAN tag. */
const TPID_8021Q = 0x8100

/** A VLAN interface on a lower device. */
export class VlanDevice implements NetDevice {
  readonly name: string
  readonly ifindex: number
  readonly kind = "vlan" as const
  readonly mac: number
  mtu: number
  up = true
  promiscuous = false
  readonly stats = new LinkStats()
  rxHandler: RxHandler | undefined = undefined
  readonly lower: NetDevice
  readonly vlanId: number
  /** Priority (PCP) written into the tags of sent frames. */
  priority = 0
  private readonly send: (device: NetDevice, frame: PacketBuffer) => void

  /** A VLAN `vlanId` on `lower`; `send` hands tagged frames to the lower device (through the taps). */
  constructor(
    lower: NetDevice,
    vlanId: number,
    ifindex: number,
    name: string,
    send: (device: NetDevice, frame: PacketBuffer) => void
  ) {
    this.lower = lower
    this.vlanId = vlanId
    this.ifindex = ifindex
    this.name = name
    this.mac = lower.mac
    this.mtu = lower.mtu
    this.send = send
  }

  get features(): DeviceFeatures {
    return this.lower.features
  }

  readonly carrier = (): boolean => this.lower.carrier()

  /** Inserts the tag after the two addresses of the frame's Ethernet header and sends it through the lower device. */
  readonly transmit = (frame: PacketBuffer): void => {
    if (!this.up || frame.headLength < 14 || frame.push(4) !== undefined) {
      this.stats.txDropped++
      frame.release()
      return
    }
    const bytes = frame.writableBytes()
    if (!(bytes instanceof Uint8Array)) {
      this.stats.txDropped++
      return
    }
    const i = frame.data
    bytes.copyWithin(i, i + 4, i + 16)
    writeU16(bytes, i + 12, TPID_8021Q)
    writeU16(bytes, i + 14, ((this.priority & 7) << 13) | (this.vlanId & 0x0fff))
    frame.resetMacHeader()
    this.stats.txPackets++
    this.stats.txBytes += frame.length
    this.send(this.lower, frame)
  }
}
