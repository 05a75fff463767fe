/**
 * An Ethernet interface over a NIC and its driver: what the link layer sends
 * through and receives from. Frames go to the driver through a pfifo qdisc,
 * so a stopped queue delays them instead of losing them.
 */
import type { PacketBuffer } from "@netstack/buffers"
import type { DriverShape } from "@netstack/driver"
import { Effect, type Scope } from "effect"
import { type DeviceFeatures, type DeviceKind, LinkStats, type NetDevice, type RxHandler } from "./net-device.ts"
import { PfifoQdisc } from "./qdisc.ts"

/** An interface backed by a simulated NIC. */
export class EthernetDevice implements NetDevice {
  readonly name: string
  readonly ifindex: number
  readonly kind: DeviceKind
  readonly mac: number
  mtu: number
  up = true
  promiscuous = false
  readonly stats = new LinkStats()
  rxHandler: RxHandler | undefined = undefined
  readonly lower = undefined
  readonly vlanId = undefined
  readonly driver: DriverShape
  readonly qdisc: PfifoQdisc

  private constructor(driver: DriverShape, qdisc: PfifoQdisc, ifindex: number, kind: DeviceKind) {
    this.driver = driver
    this.qdisc = qdisc
    this.name = driver.nic.name
    this.ifindex = ifindex
    this.kind = kind
    this.mac = driver.nic.mac
    this.mtu = driver.nic.mtu
  }

  /** The interface of `driver`'s NIC, as index `ifindex` (its qdisc's fiber in the current scope). */
  static make(
    driver: DriverShape,
    ifindex: number,
    kind: DeviceKind = "ethernet"
  ): Effect.Effect<EthernetDevice, never, Scope.Scope> {
    return Effect.map(PfifoQdisc.make(driver), (qdisc) => new EthernetDevice(driver, qdisc, ifindex, kind))
  }

  get features(): DeviceFeatures {
    const o = this.driver.nic.offloads
    return { tso: o.tso, txChecksum: o.txChecksum, scatterGather: o.scatterGather }
  }

  readonly carrier = (): boolean => this.driver.nic.linkUp()

  readonly transmit = (frame: PacketBuffer): void => {
    if (!this.up) {
      this.stats.txDropped++
      frame.release()
      return
    }
    const length = frame.length
    if (this.qdisc.enqueue(frame) === "dropped") {
      this.stats.txDropped++
      return
    }
    this.stats.txPackets++
    this.stats.txBytes += length
  }
}
