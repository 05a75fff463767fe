/**
 * Why a bridge operation was refused (the errno `ip link` / `bridge` would
 * print). Returned as values, never thrown.
 */
import { Schema } from "effect"

/**
 * Why a bridge operation was refused.
 *
 * - `loop`: a bridge cannot be a port of itself or of another bridge (Linux `br_add_if`: `-ELOOP`).
 * - `not-ethernet`: only Ethernet-like devices (Ethernet, VLAN) can be ports (`br_add_if`: `-EINVAL`).
 * - `busy`: the device already has a receive hook, e.g. it is a port of another bridge (`netdev_rx_handler_register`: `-EBUSY`).
 * - `unknown-device`: the device is not registered with the bridge's link layer.
 * - `not-a-port`: the device is not a port of this bridge (`br_del_if`: `-EINVAL`).
 * - `bad-address`: a MAC that is not a 48-bit unicast address, or the all-zero address.
 * - `bad-ageing-time`: an ageing time that is negative or not a number.
 * - `bad-limit`: an FDB limit that is not a non-negative integer (or `Infinity`).
 * - `name-taken`: another interface of the link layer has that name.
 * - `not-found`: no such FDB entry, or one that cannot be removed (a local one).
 */
export const BridgeErrorReason = Schema.Literals([
  "loop",
  "not-ethernet",
  "busy",
  "unknown-device",
  "not-a-port",
  "bad-address",
  "bad-ageing-time",
  "bad-limit",
  "name-taken",
  "not-found"
])
/** Why a bridge operation was refused. */
export type BridgeErrorReason = typeof BridgeErrorReason.Type

/** A refused bridge operation: the reason and a human-readable detail. */
export class BridgeError extends Schema.TaggedError<BridgeError>()("BridgeError", {
  reason: BridgeErrorReason,
  detail: Schema.String
}) {
  override get message(): string {
    return `bridge ${this.reason}: ${this.detail}`
  }
}
