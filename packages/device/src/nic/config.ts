/**
 * What a simulated NIC is built with: identity, queues and rings, offloads,
 * coalescing and link speed. Defaults are those of a modern virtual NIC.
 */
import { Schema } from "effect"
import { type CoalescingSettings, NO_COALESCING } from "../irq/coalescer.ts"

/** The offloads a NIC has (ethtool -k names in comments). */
export interface Offloads {
  /** rx-checksumming: the NIC verifies TCP/UDP checksums and marks packets CHECKSUM_UNNECESSARY. */
  readonly rxChecksum: boolean
  /** tx-checksumming: the NIC completes CHECKSUM_PARTIAL packets. */
  readonly txChecksum: boolean
  /** tcp-segmentation-offload: the NIC segments TCP super-packets. */
  readonly tso: boolean
  /** scatter-gather: the NIC reads packets made of fragments. */
  readonly scatterGather: boolean
}

/** Every offload on. */
export const ALL_OFFLOADS: Offloads = { rxChecksum: true, txChecksum: true, tso: true, scatterGather: true }
/** Every offload off: the driver does it all in software. */
export const NO_OFFLOADS: Offloads = { rxChecksum: false, txChecksum: false, tso: false, scatterGather: false }

/** A NIC's full configuration. */
export interface NicConfig {
  /** Interface name, e.g. `eth0`. */
  readonly name: string
  /** Interface index (`meta.inputInterface` of received packets). */
  readonly ifindex: number
  /** MAC address, 48 bits as a number. */
  readonly mac: number
  /** Largest IP packet the link carries; frames up to mtu + 18 (Ethernet, one VLAN tag) are received. */
  readonly mtu: number
  readonly rxQueues: number
  readonly txQueues: number
  /** Descriptors per rx ring. */
  readonly rxRingSize: number
  /** Descriptors per tx ring. */
  readonly txRingSize: number
  readonly offloads: Offloads
  readonly coalescing: CoalescingSettings
  /** Line rate in bits per second; `undefined` transmits as fast as the simulation runs. */
  readonly linkSpeed: number | undefined
  /**
   * Stamp each received frame with the clock (`meta.timestamp`): hardware
   * receive timestamping (`hwtstamp_config.rx_filter`), off by default as in
   * Linux, where nothing is stamped until someone asks for timestamps.
   */
  readonly rxTimestamps: boolean
}

/** What `Nic.make` takes: a MAC and any overrides. */
export type NicOptions = Partial<Omit<NicConfig, "offloads" | "coalescing">> & {
  readonly mac: number
  readonly offloads?: Partial<Offloads>
  readonly coalescing?: Partial<CoalescingSettings>
}

/** A NIC configuration that cannot be built (queues, ring sizes or MTU out of range). */
export class InvalidNicConfig extends Schema.TaggedError<InvalidNicConfig>()("InvalidNicConfig", {
  field: Schema.String,
  value: Schema.Number,
  expected: Schema.String
}) {}

const check = (field: string, value: number, ok: boolean, expected: string): InvalidNicConfig | undefined =>
  ok ? undefined : new InvalidNicConfig({ field, value, expected })

const isInt = (n: number, min: number, max: number): boolean => Number.isInteger(n) && n >= min && n <= max

/**
 * Why coalescing settings cannot be used, or `undefined`: a frame threshold
 * needs a time bound too, or the last frames of a burst would wait forever
 * for the threshold.
 */
export const coalescingProblem = (c: CoalescingSettings): InvalidNicConfig | undefined =>
  check("rxUsecs", c.rxUsecs, c.rxFrames === 0 || c.rxUsecs > 0, "> 0 when rxFrames is set (bounds the wait)")

/** The configuration `options` describe, with defaults filled in, or why it is invalid. */
export const resolveNicConfig = (options: NicOptions): NicConfig | InvalidNicConfig => {
  const config: NicConfig = {
    name: options.name ?? "eth0",
    ifindex: options.ifindex ?? 1,
    mac: options.mac,
    mtu: options.mtu ?? 1500,
    rxQueues: options.rxQueues ?? 1,
    txQueues: options.txQueues ?? 1,
    rxRingSize: options.rxRingSize ?? 256,
    txRingSize: options.txRingSize ?? 256,
    offloads: { ...ALL_OFFLOADS, ...options.offloads },
    coalescing: { ...NO_COALESCING, ...options.coalescing },
    linkSpeed: options.linkSpeed,
    rxTimestamps: options.rxTimestamps ?? false
  }
  return (
    check("mac", config.mac, isInt(config.mac, 0, 2 ** 48 - 1), "a 48-bit address") ??
      check("mtu", config.mtu, isInt(config.mtu, 68, 65535), "68 to 65535 (RFC 791 §3.2 minimum 68)") ??
      check("rxQueues", config.rxQueues, isInt(config.rxQueues, 1, 64), "1 to 64") ??
      check("txQueues", config.txQueues, isInt(config.txQueues, 1, 64), "1 to 64") ??
      check("rxRingSize", config.rxRingSize, isInt(config.rxRingSize, 2, 65536), "2 to 65536") ??
      check("txRingSize", config.txRingSize, isInt(config.txRingSize, 2, 65536), "2 to 65536") ??
      check("rxUsecs", config.coalescing.rxUsecs, config.coalescing.rxUsecs >= 0, "≥ 0") ??
      check("rxFrames", config.coalescing.rxFrames, isInt(config.coalescing.rxFrames, 0, 65536), "0 to 65536") ??
      check("txUsecs", config.coalescing.txUsecs, config.coalescing.txUsecs >= 0, "≥ 0") ??
      coalescingProblem(config.coalescing) ??
      check("linkSpeed", config.linkSpeed ?? 1, (config.linkSpeed ?? 1) > 0, "> 0 bits per second") ??
      config
  )
}
