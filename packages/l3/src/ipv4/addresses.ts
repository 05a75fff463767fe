/**
 * The IPv4 addresses of a host, per interface (`ip -4 addr`). The host is
 * "weak" (RFC 1122 §3.3.4.2, Linux's default): a packet for any of its
 * addresses is accepted on any interface.
 */
import type { NetDevice } from "@netstack/l2"
import { ipv4ToString } from "@netstack/wire"
import { Schema } from "effect"

/** One address on one interface. */
export interface InterfaceAddress {
  readonly device: NetDevice
  readonly address: number
  readonly prefixLength: number
  /** The subnet's directed broadcast address (all host bits one). */
  readonly broadcast: number
}

/** An address that cannot be added: a bad prefix length, already present, or not a unicast address. */
export class InvalidAddress extends Schema.TaggedError<InvalidAddress>()("InvalidAddress", {
  address: Schema.String,
  reason: Schema.String
}) {}

/** The network mask of a prefix length. */
export const maskOf = (prefixLength: number): number => (prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0)

/** True for 0.0.0.0/8, 127.0.0.0/8 (except on loopback), 224.0.0.0/4 and 240.0.0.0/4: not a host's unicast address. */
const isSpecial = (address: number, loopback: boolean): boolean => {
  const first = address >>> 24
  return first === 0 || (first === 127 && !loopback) || first >= 224
}

/** The addresses of one host. */
export class AddressTable {
  private readonly list: Array<InterfaceAddress> = []
  private readonly local = new Set<number>()
  private readonly broadcasts = new Set<number>()

  /** Adds `address/prefixLength` on `device`, or says why not. */
  add(device: NetDevice, address: number, prefixLength: number): InterfaceAddress | InvalidAddress {
    const text = `${ipv4ToString(address)}/${prefixLength}`
    if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > 32) {
      return new InvalidAddress({ address: text, reason: "prefix length must be 0 to 32" })
    }
    if (isSpecial(address, device.kind === "loopback")) {
      return new InvalidAddress({ address: text, reason: "not a unicast host address (RFC 1122 §3.2.1.3)" })
    }
    if (this.list.some((a) => a.device === device && a.address === address)) {
      return new InvalidAddress({ address: text, reason: "already on this interface" })
    }
    const mask = maskOf(prefixLength)
    const entry: InterfaceAddress = { device, address, prefixLength, broadcast: ((address & mask) | ~mask) >>> 0 }
    this.list.push(entry)
    this.rebuild()
    return entry
  }

  /** Removes `address` from `device`; true if it was there. */
  remove(device: NetDevice, address: number): boolean {
    const i = this.list.findIndex((a) => a.device === device && a.address === address)
    if (i < 0) return false
    this.list.splice(i, 1)
    this.rebuild()
    return true
  }

  /** Every address. */
  all(): ReadonlyArray<InterfaceAddress> {
    return this.list
  }

  /** The addresses on `device`. */
  on(device: NetDevice): ReadonlyArray<InterfaceAddress> {
    return this.list.filter((a) => a.device === device)
  }

  /** True when `address` is one of the host's addresses (any interface: the weak host model). */
  isLocal(address: number): boolean {
    return this.local.has(address)
  }

  /** True for 255.255.255.255 and the directed broadcast address of any of the host's subnets. */
  isBroadcast(address: number): boolean {
    return address === 0xffffffff || this.broadcasts.has(address)
  }

  /** The address on `device` to use as source toward `target`: one on the same subnet if any, else the first. */
  sourceFor(device: NetDevice, target: number): number | undefined {
    let first: number | undefined = undefined
    for (const a of this.list) {
      if (a.device !== device) continue
      const mask = maskOf(a.prefixLength)
      if (((a.address ^ target) & mask) === 0) return a.address
      first ??= a.address
    }
    return first
  }

  /** `ip -4 addr show` style lines. */
  format(): string {
    return this.list
      .map((a) => `${a.device.ifindex}: ${a.device.name}    inet ${ipv4ToString(a.address)}/${a.prefixLength} brd ${ipv4ToString(a.broadcast)}`)
      .join("\n")
  }

  private rebuild(): void {
    this.local.clear()
    this.broadcasts.clear()
    for (const a of this.list) {
      this.local.add(a.address)
      if (a.prefixLength < 31) this.broadcasts.add(a.broadcast)
    }
  }
}
