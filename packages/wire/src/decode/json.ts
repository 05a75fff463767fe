/**
 * A decoded frame as one JSON object, for programs: every layer with every
 * field, numbers as numbers, addresses in their usual text form, byte
 * strings as hex, tagged unions (TCP options, ICMP kinds) with their tag as
 * `kind`, and each checksum's verdict as `checksumStatus`.
 */
import { toHex } from "../bytes.ts"
import { isHeaderDefect } from "../defect.ts"
import { decodeIpv4Options } from "../ipv4/options.ts"
import type { DecodedFrame, DecodedLayer } from "./frame.ts"

/** A JSON value. */
export type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

/** Converts a typed value to JSON: bytes to hex, bigints to numbers (strings past 2^53), `_tag` to `kind`. */
export const toJson = (value: unknown): Json => {
  if (value === null || value === undefined) return null
  if (value instanceof Uint8Array) return toHex(value)
  if (typeof value === "bigint") return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString()
  if (typeof value === "number" || typeof value === "string" || typeof value === "boolean") return value
  if (Array.isArray(value)) return value.map(toJson)
  if (typeof value === "object") {
    const out: Record<string, Json> = {}
    for (const [key, field] of Object.entries(value)) {
      if (field !== undefined) out[key === "_tag" ? "kind" : key] = toJson(field)
    }
    return out
  }
  return null
}

/** One layer: its name, its header's fields, and what the decoder found about it. */
const layerToJson = (layer: DecodedLayer): Json => {
  const fields = toJson(layer.header)
  const base: Record<string, Json> = { layer: layer.layer }
  const extra: Record<string, Json> = {}
  switch (layer.layer) {
    case "ipv4": {
      const options = decodeIpv4Options(layer.header.options)
      extra["decodedOptions"] = isHeaderDefect(options) ? null : toJson(options)
      extra["checksumStatus"] = layer.checksum
      break
    }
    case "icmpv4":
    case "icmpv6":
      base["type"] = layer.type
      base["code"] = layer.code
      extra["checksumStatus"] = layer.checksum
      break
    case "udp":
      extra["checksumStatus"] = layer.checksum
      break
    case "tcp":
      extra["payloadLength"] = layer.payloadLength
      extra["checksumStatus"] = layer.checksum
      break
  }
  return { ...base, ...(typeof fields === "object" && fields !== null && !Array.isArray(fields) ? fields : {}), ...extra }
}

/** Where a frame came from in its capture, when known. */
export interface FrameContext {
  /** 1-based position in the capture. */
  readonly index?: number
  /** Capture time, nanoseconds since the epoch. */
  readonly timestamp?: bigint
  /** Length on the wire, when the capture cut the frame short. */
  readonly originalLength?: number
}

/** The frame as a JSON object: `frame`, `time` (seconds, microsecond precision), lengths, `layers`, `defect`. */
export const frameToJson = (frame: DecodedFrame, context: FrameContext = {}): Json => ({
  ...(context.index === undefined ? {} : { frame: context.index }),
  ...(context.timestamp === undefined ? {} : { time: Number(context.timestamp / 1000n) / 1e6 }),
  length: frame.length,
  ...(context.originalLength === undefined ? {} : { originalLength: context.originalLength }),
  layers: frame.layers.map(layerToJson),
  payloadLength: frame.payloadLength,
  defect: frame.defect === undefined ? null : frame.defect.name
})
