/**
 * @netstack/l2/testing: stand-ins for tests of the layers above the link
 * layer (routing tables, bridges' databases) that need a `NetDevice` but no
 * NIC behind it.
 */
import type { PacketBuffer } from "@netstack/buffers"
import { type DeviceKind, LinkStats, type NetDevice, NO_FEATURES } from "../net-device.ts"

/**
 * A device that is up, has carrier and no offloads; its MAC is
 * 02:00:00:00:00:ifindex unless given, and `transmit` releases each frame
 * (or hands it to `options.transmit`).
 */
export const stubDevice = (
  name: string,
  ifindex: number,
  options: {
    readonly kind?: DeviceKind
    readonly mac?: number
    readonly transmit?: (frame: PacketBuffer) => void
  } = {}
): NetDevice => ({
  name,
  ifindex,
  kind: options.kind ?? "ethernet",
  mac: options.mac ?? 0x020000000000 + ifindex,
  mtu: 1500,
  up: true,
  promiscuous: false,
  stats: new LinkStats(),
  features: NO_FEATURES,
  carrier: () => true,
  rxHandler: undefined,
  lower: undefined,
  vlanId: undefined,
  transmit: options.transmit ?? ((frame) => void frame.release())
})
