/**
 * Test datagrams for fragmentation and reassembly: IPv4 packets built with
 * `emitIpv4` (optionally non-linear), a fast-check generator of options,
 * raw fragments written by hand, and a leak check over every storage a test
 * made.
 */
import { MAX_FRAGMENTS, PacketBuffer, type SharedBytes } from "@netstack/buffers"
import { emitIpv4, type Ipv4Fields } from "@netstack/wire"
import fc from "fast-check"

/** What a test datagram is made of. */
export interface DatagramSpec {
  readonly payload: Uint8Array
  /** Raw options (padded by the emitter). */
  readonly options?: Uint8Array
  readonly identification?: number
  readonly protocol?: number
  readonly source?: number
  readonly destination?: number
  readonly dontFragment?: boolean
  readonly moreFragments?: boolean
  /** In 8-byte units. */
  readonly fragmentOffset?: number
  readonly ecn?: number
  /** Payload cut points: the payload after the first cut goes into buffer fragments. */
  readonly cuts?: ReadonlyArray<number>
}

/** The emitter fields of a spec. */
export const fieldsOf = (spec: DatagramSpec): Ipv4Fields => ({
  dscp: 0,
  ecn: spec.ecn ?? 0,
  identification: spec.identification ?? 0x1234,
  reservedFlag: false,
  dontFragment: spec.dontFragment ?? false,
  moreFragments: spec.moreFragments ?? false,
  fragmentOffset: spec.fragmentOffset ?? 0,
  ttl: 64,
  protocol: spec.protocol ?? 17,
  source: spec.source ?? 0x0a000001,
  destination: spec.destination ?? 0x0a000002,
  ...(spec.options === undefined ? {} : { options: spec.options })
})

/**
 * An IPv4 datagram (data at its header, 64 bytes of headroom). With `cuts`,
 * the payload's first part is linear and the rest is spread over buffer
 * fragments at the cut points, so fragmentation has several storage runs to
 * share.
 */
export const datagram = (spec: DatagramSpec): PacketBuffer => {
  // At most MAX_FRAGMENTS buffer fragments: the first MAX_FRAGMENTS distinct cut points.
  const cuts = [...new Set(spec.cuts ?? [])].filter((c) => c > 0 && c < spec.payload.length).sort((a, b) => a - b)
    .slice(0, MAX_FRAGMENTS)
  const linearEnd = cuts.length > 0 ? cuts[0] : spec.payload.length
  const packet = PacketBuffer.fromBytes(spec.payload.subarray(0, linearEnd), 64 + 60)
  const points = [...cuts, spec.payload.length]
  for (let i = 0; i + 1 < points.length; i++) {
    const added = packet.addFragmentBytes(spec.payload.slice(points[i], points[i + 1]))
    if (added !== undefined) throw new Error(`addFragmentBytes: ${added._tag}`)
  }
  const err = emitIpv4(packet, fieldsOf(spec))
  if (err !== undefined) throw new Error(`emitIpv4: ${err._tag}`)
  return packet
}

/** A clone that must succeed. */
export const mustClone = (packet: PacketBuffer): PacketBuffer => {
  const c = packet.clone()
  if (!(c instanceof PacketBuffer)) throw new Error("clone of a released buffer")
  return c
}

/**
 * One option, raw, with whether it is copied into every fragment:
 * NOP, Record Route (7), Timestamp (68), an unknown non-copied kind (30) —
 * not copied; Loose Source Route (131), Security (130), Router Alert (148)
 * — copied.
 */
export const optionArbitrary: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.constant(Uint8Array.of(1)),
  fc.integer({ min: 1, max: 3 }).map((k) => {
    const o = new Uint8Array(3 + 4 * k)
    o[0] = 7
    o[1] = o.length
    o[2] = 4
    return o
  }),
  fc.constant(Uint8Array.of(68, 8, 5, 0, 0, 0, 0, 0)),
  fc.uint8Array({ minLength: 0, maxLength: 6, size: "max" }).map((d) => Uint8Array.of(30, 2 + d.length, ...d)),
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 })).map(([a, b]) =>
    Uint8Array.of(131, 7, 4, 10, 0, a, b)
  ),
  fc.uint8Array({ minLength: 9, maxLength: 9 }).map((d) => Uint8Array.of(130, 11, ...d)),
  fc.constant(Uint8Array.of(148, 4, 0, 0))
)

/** An options area of at most 40 bytes (unpadded; the emitter pads it). */
export const optionsArbitrary: fc.Arbitrary<Uint8Array> = fc
  .array(optionArbitrary, { minLength: 0, maxLength: 6, size: "max" })
  .map((list) => {
    const out: Array<number> = []
    for (const o of list) if (out.length + o.length <= 40) out.push(...o)
    return Uint8Array.from(out)
  })

/** The options of `raw` whose copied flag is set, in order (NOP and EOL dropped). */
export const copiedOptions = (raw: Uint8Array): Array<number> => {
  const out: Array<number> = []
  for (let i = 0; i < raw.length;) {
    const type = raw[i]
    if (type === 0) break
    if (type === 1) {
      i++
      continue
    }
    const length = raw[i + 1]
    if ((type & 0x80) !== 0) out.push(...raw.subarray(i, i + length))
    i += length
  }
  return out
}

/**
 * A fragment written by hand: `data` at byte offset `offset` (a multiple of
 * 8), MF as given, 20-byte header, valid checksum.
 */
export const rawFragment = (
  data: Uint8Array,
  offset: number,
  more: boolean,
  spec: Omit<DatagramSpec, "payload" | "fragmentOffset" | "moreFragments"> = {}
): PacketBuffer => datagram({ ...spec, payload: data, fragmentOffset: offset / 8, moreFragments: more })

/** Records every storage behind packets a test makes, to check at the end that all were released. */
export class StorageLedger {
  private readonly storages = new Set<SharedBytes>()

  /** Notes the storages of `packet` (linear area and fragments); returns it. */
  track(packet: PacketBuffer): PacketBuffer {
    this.storages.add(packet.sharedStorage)
    for (const f of packet.fragments) this.storages.add(f.storage)
    return packet
  }

  /** Storages still referenced. */
  get live(): number {
    let n = 0
    for (const s of this.storages) if (s.refs > 0) n++
    return n
  }
}

/** A deterministic permutation of `0..n-1` from sort keys (fast-check shrinks the keys). */
export const permutation = (n: number, keys: ReadonlyArray<number>): Array<number> =>
  Array.from({ length: n }, (_, i) => i).sort((a, b) => {
    const ka = keys.length === 0 ? 0 : keys[a % keys.length]
    const kb = keys.length === 0 ? 0 : keys[b % keys.length]
    return ka - kb || a - b
  })
