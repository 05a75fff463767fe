/**
 * Schemas for the integer fields headers are made of. Each carries its range
 * as a check, so decoding validates it and arbitraries respect it.
 */
import { Schema } from "effect"

/** An integer in `[0, 2^bits)`. */
export const UintBits = (bits: number) =>
  Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 2 ** bits - 1 }))

/** An unsigned 8-bit field. */
export const Uint8 = UintBits(8)
/** An unsigned 16-bit field. */
export const Uint16 = UintBits(16)
/** An unsigned 32-bit field. */
export const Uint32 = UintBits(32)

/** A transport port, 0 to 65535 (0 is valid on the wire, e.g. an unused UDP source port). */
export const Port = Uint16.pipe(Schema.brand("Port"))
/** A transport port. */
export type Port = typeof Port.Type

/** An EtherType (IEEE 802 numbers: 0x0800 IPv4, 0x0806 ARP, 0x8100 802.1Q, 0x86dd IPv6, …). */
export const EtherType = Uint16.annotate({ description: "EtherType" })
