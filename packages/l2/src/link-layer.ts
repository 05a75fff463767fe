/**
 * The link layer of one host: its interfaces, the receive path from a device
 * to the protocol handlers, and the transmit path from a protocol to a
 * device.
 *
 * Receive (the kernel's `netif_receive_skb` and `eth_type_trans`): taps see
 * the frame; a bridge port's hook may take it; the Ethernet header is checked
 * and stripped, the packet type set (host, broadcast, multicast, other host);
 * an 802.1Q tag hands the frame to the VLAN interface of its VID; frames for
 * other hosts are dropped unless the interface is promiscuous; the packet
 * goes to the handler registered for its EtherType (`dev_add_pack`). Every
 * drop is counted under a named reason.
 */
import type { PacketBuffer } from "@netstack/buffers"
import { CurrentNetTrace, type NetTrace } from "@netstack/device"
import {
  BROADCAST_MAC,
  ETHERNET_HEADER_LENGTH,
  EthernetView,
  isMulticastMac,
  isVlanEtherType,
  VLAN_TAG_LENGTH,
  VlanView
} from "@netstack/wire"
import { Effect } from "effect"
import { DropCounters } from "./drops.ts"
import type { NetDevice } from "./net-device.ts"
import { VlanDevice } from "./vlan-device.ts"

/** Receives packets of one EtherType: data at the network header, `meta.protocol` and `meta.packetType` set. */
export type ProtocolHandler = (packet: PacketBuffer, device: NetDevice) => void

/** Which way a frame went past a tap. */
export type TapDirection = "in" | "out"

/** Sees every frame in and out (data at the Ethernet header); must not keep or change the frame (copy what it needs). */
export type Tap = (frame: PacketBuffer, device: NetDevice, direction: TapDirection) => void

/** A host's link layer. */
export class LinkLayer {
  /** Frames dropped, by reason. */
  readonly drops = new DropCounters()
  private readonly byIndex = new Map<number, NetDevice>()
  private readonly byName = new Map<string, NetDevice>()
  private readonly protocols = new Map<number, ProtocolHandler>()
  private readonly vlans = new Map<number, Map<number, VlanDevice>>()
  private taps: ReadonlyArray<Tap> = []
  private nextIndex = 1
  /** The host's network trace (tracepoints of the layers above record into it too). */
  readonly trace: NetTrace

  private constructor(trace: NetTrace) {
    this.trace = trace
  }

  /** A link layer using the current network trace. */
  static make(): Effect.Effect<LinkLayer> {
    return Effect.gen(function*() {
      return new LinkLayer(yield* CurrentNetTrace)
    })
  }

  // ------------------------------------------------------------------ interfaces

  /** The next free interface index (1 for the first interface, usually `lo`). */
  allocateIfindex(): number {
    return this.nextIndex++
  }

  /** Adds an interface (its name and index must be new). */
  register(device: NetDevice): void {
    this.byIndex.set(device.ifindex, device)
    this.byName.set(device.name, device)
  }

  /** The interface named `name`, or with index `ifindex`. */
  device(nameOrIndex: string | number): NetDevice | undefined {
    return typeof nameOrIndex === "string" ? this.byName.get(nameOrIndex) : this.byIndex.get(nameOrIndex)
  }

  /** Every interface, by index. */
  devices(): ReadonlyArray<NetDevice> {
    return [...this.byIndex.values()].sort((a, b) => a.ifindex - b.ifindex)
  }

  /** Adds VLAN `vlanId` on `lower` (`ip link add link LOWER name NAME type vlan id ID`). */
  addVlan(lower: NetDevice, vlanId: number, name = `${lower.name}.${vlanId}`): VlanDevice {
    const device = new VlanDevice(lower, vlanId, this.allocateIfindex(), name, (dev, frame) => this.transmit(dev, frame))
    let table = this.vlans.get(lower.ifindex)
    if (table === undefined) {
      table = new Map()
      this.vlans.set(lower.ifindex, table)
    }
    table.set(vlanId, device)
    this.register(device)
    return device
  }

  // ------------------------------------------------------------------ protocols and taps

  /** Registers the handler of an EtherType (`dev_add_pack`); replaces any earlier one. */
  addProtocol(etherType: number, handler: ProtocolHandler): void {
    this.protocols.set(etherType, handler)
  }

  /** Adds a tap on every interface; returns the function that removes it. */
  /** Whether any tap is installed (a net-channel fast path must then leave frames to the taps' path). */
  get tapped(): boolean {
    return this.taps.length > 0
  }

  addTap(tap: Tap): () => void {
    this.taps = [...this.taps, tap]
    return () => {
      this.taps = this.taps.filter((t) => t !== tap)
    }
  }

  // ------------------------------------------------------------------ receive

  /** A frame from `device` (data at its Ethernet header). The link layer owns it from here. */
  receive(device: NetDevice, frame: PacketBuffer): void {
    if (!device.up) return this.drop(device, frame, "l2.device-down")
    device.stats.rxPackets++
    device.stats.rxBytes += frame.length
    for (const tap of this.taps) tap(frame, device, "in")
    if (this.trace.enabled) this.trace.record("l2-rx", frame, device.name)
    if (device.rxHandler !== undefined && device.rxHandler(frame, device) === "consumed") return
    this.deliver(device, frame)
  }

  /**
   * Delivers a frame to the protocols as received on `device` (bridges call
   * this for frames addressed to the bridge itself).
   */
  deliver(device: NetDevice, frame: PacketBuffer): void {
    const ethernet = EthernetView.parse(frame)
    if (!(ethernet instanceof EthernetView)) return this.drop(device, frame, ethernet.name)
    const destination = ethernet.destination
    const meta = frame.meta
    meta.macHeader = frame.data
    meta.packetType = destination === device.mac
      ? "host"
      : destination === BROADCAST_MAC
      ? "broadcast"
      : isMulticastMac(destination)
      ? "multicast"
      : "otherhost"
    if (meta.packetType === "multicast" || meta.packetType === "broadcast") device.stats.rxMulticast++
    let etherType = ethernet.etherType
    let into: NetDevice = device
    frame.pull(ETHERNET_HEADER_LENGTH)
    if (isVlanEtherType(etherType)) {
      const tag = VlanView.parse(frame)
      if (!(tag instanceof VlanView)) return this.drop(device, frame, tag.name)
      const vlan = this.vlans.get(device.ifindex)?.get(tag.vlanId)
      if (vlan === undefined || !vlan.up) return this.drop(device, frame, "vlan.unknown-vid")
      meta.vlanTag = tag.tci
      etherType = tag.etherType
      frame.pull(VLAN_TAG_LENGTH)
      vlan.stats.rxPackets++
      vlan.stats.rxBytes += frame.length
      into = vlan
    }
    if (meta.packetType === "otherhost" && !into.promiscuous) return this.drop(into, frame, "l2.otherhost")
    meta.protocol = etherType
    meta.inputInterface = into.ifindex
    frame.resetNetworkHeader()
    const handler = this.protocols.get(etherType)
    if (handler === undefined) return this.drop(into, frame, "l2.unknown-ethertype")
    handler(frame, into)
  }

  // ------------------------------------------------------------------ transmit

  /** Sends `frame` (data at its Ethernet header) through `device`, past the taps. The device owns it from here. */
  transmit(device: NetDevice, frame: PacketBuffer): void {
    for (const tap of this.taps) tap(frame, device, "out")
    if (this.trace.enabled) this.trace.record("l2-tx", frame, device.name)
    frame.meta.outputInterface = device.ifindex
    device.transmit(frame)
  }

  private drop(device: NetDevice, frame: PacketBuffer, reason: string): void {
    device.stats.rxDropped++
    this.drops.count(reason)
    frame.release()
  }
}
