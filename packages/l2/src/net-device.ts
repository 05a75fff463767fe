/**
 * `NetDevice`: an interface of a host, as the kernel's `net_device`: an
 * Ethernet NIC (with its driver), the loopback, a VLAN sub-interface, a
 * bridge. The link layer receives frames from devices and transmits frames
 * through them; the network layer addresses them by name or index.
 */
import type { PacketBuffer } from "@netstack/buffers"

/** What kind of interface a device is. */
export type DeviceKind = "ethernet" | "loopback" | "vlan" | "bridge"

/** Counters of one interface, as `ip -s link` shows them. */
export class LinkStats {
  rxPackets = 0
  rxBytes = 0
  /** Frames dropped after the device received them (down, unknown protocol, for another host, …). */
  rxDropped = 0
  rxMulticast = 0
  txPackets = 0
  txBytes = 0
  /** Frames dropped on the way out (down, qdisc full, driver refused). */
  txDropped = 0
}

/** The offloads the stack may rely on when it builds packets for a device. */
export interface DeviceFeatures {
  readonly tso: boolean
  readonly txChecksum: boolean
  readonly scatterGather: boolean
}

/** No offloads. */
export const NO_FEATURES: DeviceFeatures = { tso: false, txChecksum: false, scatterGather: false }

/**
 * A bridge port's receive hook (the kernel's `rx_handler`): sees every frame
 * the port receives before the protocols do, and either keeps it
 * (`consumed`, e.g. forwarded) or lets it continue (`pass`).
 */
export type RxHandler = (packet: PacketBuffer, device: NetDevice) => "consumed" | "pass"

/** An interface of a host. */
export interface NetDevice {
  readonly name: string
  readonly ifindex: number
  readonly kind: DeviceKind
  /** Link-layer address, 48 bits as a number. */
  readonly mac: number
  /** Largest network-layer packet the device carries. */
  mtu: number
  /** Administratively up (`ip link set … up`); a down device drops every frame. */
  up: boolean
  /** Accept frames addressed to other hosts (`ip link set … promisc on`). */
  promiscuous: boolean
  readonly stats: LinkStats
  readonly features: DeviceFeatures
  /** Whether the medium is connected (carrier). */
  readonly carrier: () => boolean
  /** The bridge hook, while the device is a bridge port. */
  rxHandler: RxHandler | undefined
  /** The device a stacked device (VLAN) sends through. */
  readonly lower: NetDevice | undefined
  /** The VLAN id of a VLAN device. */
  readonly vlanId: number | undefined
  /**
   * Sends a frame whose data starts at its Ethernet header. The device owns
   * the frame from here (it is sent, queued, or dropped and counted).
   */
  readonly transmit: (frame: PacketBuffer) => void
}
