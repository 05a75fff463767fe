/**
 * IPv4 fragmentation (RFC 791 §3.2; Linux `ip_do_fragment`): every piece is a
 * well-formed IPv4 packet with a valid checksum that fits the MTU, data in
 * multiples of 8 except the last, offsets from the original, MF on all but the
 * last, options by their copied flag; the data is shared, not copied; the
 * input is left as it was; refusals are the preallocated defects.
 */
import { describe, expect, it } from "@effect/vitest"
import { ChecksumState, internetChecksum, ipv4PseudoHeaderSum, MAX_FRAGMENTS, PacketBuffer } from "@netstack/buffers"
import { FragmentDefect, fragmentIpv4, isFragmentDefect } from "../src/fragment/index.ts"
import { decodeIpv4Options, IPV4_HEADER_LENGTH, Ipv4HeaderFromBytes, Ipv4View, isHeaderDefect } from "@netstack/wire"
import { Schema } from "effect"
import fc from "fast-check"
import { copiedOptions, datagram, optionsArbitrary, StorageLedger } from "./support/datagrams.ts"

/** The pieces, or a failed test. */
const mustFragment = (packet: PacketBuffer, mtu: number): ReadonlyArray<PacketBuffer> => {
  const pieces = fragmentIpv4(packet, mtu)
  if (isFragmentDefect(pieces)) throw new Error(`unexpected ${pieces.name}`)
  return pieces
}

/** A parsed view, or a failed test. */
const mustParse = (packet: PacketBuffer): Ipv4View => {
  const view = Ipv4View.parse(packet)
  if (!(view instanceof Ipv4View)) throw new Error(`unexpected ${view.name}`)
  return view
}

const padded = (options: ReadonlyArray<number>): Array<number> => {
  const out = [...options]
  while (out.length % 4 !== 0) out.push(0)
  return out
}

describe("fragmentIpv4", () => {
  it("cuts any datagram into well-formed pieces that fit, share the data, and put it back in order (property)", () => {
    let fragmented = 0
    let withOptions = 0
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 3000, size: "max" }),
        fc.option(optionsArbitrary, { nil: undefined }),
        fc.integer({ min: 68, max: 1600 }),
        fc.array(fc.integer({ min: 1, max: 2999 }), { minLength: 0, maxLength: 20, size: "max" }),
        fc.integer({ min: 0, max: 0xffff }),
        (payload, options, mtu, cuts, identification) => {
          const ledger = new StorageLedger()
          const input = ledger.track(datagram({ payload, ...(options === undefined ? {} : { options }), cuts, identification }))
          const before = input.toUint8Array()
          const original = mustParse(input)
          const headerLength = original.headerLength
          const originalOptions = before.subarray(IPV4_HEADER_LENGTH, headerLength)
          const pieces = mustFragment(input, mtu)
          for (const p of pieces) ledger.track(p)

          // The input is left as it was.
          expect(input.isReleased).toBe(false)
          expect(input.toUint8Array()).toEqual(before)

          if (before.length <= mtu) {
            expect(pieces).toHaveLength(1)
            expect(pieces[0].toUint8Array()).toEqual(before)
          } else {
            expect(pieces.length).toBeGreaterThan(1)
            fragmented++
            if (headerLength > IPV4_HEADER_LENGTH) withOptions++
            let offset = 0
            const data: Array<Uint8Array> = []
            pieces.forEach((piece, i) => {
              const view = mustParse(piece)
              const last = i === pieces.length - 1
              expect(view.verifyChecksum()).toBe(true)
              expect(view.totalLength).toBe(piece.length)
              expect(piece.length).toBeLessThanOrEqual(mtu)
              expect(view.identification).toBe(identification)
              expect(view.protocol).toBe(original.protocol)
              expect(view.source).toBe(original.source)
              expect(view.destination).toBe(original.destination)
              expect(view.ttl).toBe(original.ttl)
              expect(view.dontFragment).toBe(false)
              expect(view.moreFragments).toBe(!last)
              expect(view.fragmentByteOffset).toBe(offset)
              if (!last) expect(view.payloadLength % 8).toBe(0)
              expect(view.payloadLength).toBeGreaterThan(0)
              const bytes = piece.toUint8Array()
              const opts = bytes.subarray(IPV4_HEADER_LENGTH, view.headerLength)
              // RFC 791 §3.1: all options in the first piece, only the copied ones after.
              if (i === 0) expect(opts).toEqual(originalOptions)
              else expect([...opts]).toEqual(padded(copiedOptions(originalOptions)))
              expect(isHeaderDefect(decodeIpv4Options(opts))).toBe(false)
              // The Schema codec accepts it too.
              expect(Schema.decodeSync(Ipv4HeaderFromBytes)(bytes).fragmentOffset).toBe(offset / 8)
              data.push(bytes.subarray(view.headerLength))
              offset += view.payloadLength
            })
            expect(offset).toBe(payload.length)
            expect(Buffer.concat(data)).toEqual(Buffer.from(payload))
          }
          for (const p of pieces) p.release()
          input.release()
          expect(ledger.live).toBe(0)
        }
      ),
      { numRuns: 300 }
    )
    // The property is not vacuous: most runs fragmented, many with options.
    expect(fragmented).toBeGreaterThan(150)
    expect(withOptions).toBeGreaterThan(50)
  })

  it("shares the payload storage instead of copying it", () => {
    const input = datagram({ payload: new Uint8Array(4000).map((_, i) => i), cuts: [1000, 2500] })
    const storages = new Set([input.sharedStorage, ...input.fragments.map((f) => f.storage)])
    const pieces = mustFragment(input, 1500)
    expect(pieces).toHaveLength(3)
    for (const piece of pieces) {
      // Linear area: the header only; data: fragments over the input's storage.
      expect(piece.headLength).toBe(20)
      expect(piece.fragments.length).toBeGreaterThan(0)
      for (const f of piece.fragments) expect(storages.has(f.storage)).toBe(true)
      expect(piece.headroom).toBeGreaterThanOrEqual(32)
    }
    // A write to the input afterwards does not reach the pieces (copy-on-write).
    const before = pieces[0].toUint8Array()
    input.setUint8(30, 0xee)
    expect(pieces[0].toUint8Array()).toEqual(before)
    for (const p of pieces) p.release()
    input.release()
    for (const s of storages) expect(s.refs).toBe(0)
  })

  it("copies a piece's data only when it would span more than MAX_FRAGMENTS runs", () => {
    const payload = new Uint8Array(1400).map((_, i) => i * 7)
    // MAX_FRAGMENTS cuts: the linear part and MAX_FRAGMENTS fragments, one run more than a piece may hold.
    const cuts = Array.from({ length: MAX_FRAGMENTS }, (_, i) => 20 + i * 20)
    const input = datagram({ payload, cuts })
    const pieces = mustFragment(input, 1000)
    expect(pieces).toHaveLength(2)
    expect(pieces[0].isLinear).toBe(true) // MAX_FRAGMENTS + 1 runs: copied
    expect(pieces[1].isLinear).toBe(false) // 1 run: shared
    const out = pieces.map((p) => p.toUint8Array().subarray(20))
    expect(Buffer.concat(out)).toEqual(Buffer.from(payload))
    for (const p of pieces) p.release()
    input.release()
  })

  it("keeps the offset base of a datagram that is itself a fragment, and its MF on the last piece", () => {
    for (const more of [false, true]) {
      const payload = new Uint8Array(2000).map((_, i) => i)
      const input = datagram({ payload, fragmentOffset: 100, moreFragments: more, options: Uint8Array.of(7, 7, 4, 0, 0, 0, 0, 148, 4, 0, 0) })
      const pieces = mustFragment(input, 576)
      let offset = 800
      pieces.forEach((piece, i) => {
        const view = mustParse(piece)
        expect(view.fragmentByteOffset).toBe(offset)
        expect(view.moreFragments).toBe(i < pieces.length - 1 ? true : more)
        // Not at offset 0: only the copied Router Alert, even on the first piece.
        expect(view.headerLength).toBe(24)
        expect(view.findOption(148)).toBe(20)
        offset += view.payloadLength
      })
      expect(offset).toBe(2800)
      for (const p of pieces) p.release()
      input.release()
    }
  })

  it("uses the shorter header of later pieces to carry more data (RFC 791 §3.2)", () => {
    // 40 bytes of Record Route (not copied): the first piece has a 60-byte header, the rest 20.
    const rr = new Uint8Array(39)
    rr[0] = 7
    rr[1] = 39
    rr[2] = 4
    const input = datagram({ payload: new Uint8Array(1000), options: rr })
    const pieces = mustFragment(input, 200)
    const views = pieces.map(mustParse)
    expect(views[0].headerLength).toBe(60)
    expect(views[0].payloadLength).toBe(136)
    expect(views[1].headerLength).toBe(20)
    expect(views[1].payloadLength).toBe(176)
    for (const p of pieces) p.release()
    input.release()
  })

  it("completes a partial transport checksum first, on its own copy, even when the field is not linear", () => {
    for (const cuts of [[], [4]]) {
      // A UDP datagram whose checksum is left for offload: the field holds the pseudo-header sum.
      const udp = new Uint8Array(1208).map((_, i) => (i * 13) & 0xff)
      const pseudo = ipv4PseudoHeaderSum(0x0a000001, 0x0a000002, 17, udp.length)
      udp.set([0x30, 0x39, 0x00, 0x35, 0x04, 0xb8, pseudo >>> 8, pseudo & 0xff])
      const input = datagram({ payload: udp, protocol: 17, cuts })
      input.meta.checksum = ChecksumState.partial(input.data + 20, 6)
      const before = input.toUint8Array()
      const layout = input.fragments.length
      const pieces = mustFragment(input, 576)
      // The input is unchanged, partial still, same layout.
      expect(input.toUint8Array()).toEqual(before)
      expect(input.meta.checksum._tag).toBe("Partial")
      expect(input.fragments.length).toBe(layout)
      // Reassembled by hand, the UDP checksum verifies.
      const data = Buffer.concat(pieces.map((p) => p.toUint8Array().subarray(mustParse(p).headerLength)))
      expect(data.readUInt16BE(6)).not.toBe(pseudo)
      expect(internetChecksum(data, 0, data.length, ipv4PseudoHeaderSum(0x0a000001, 0x0a000002, 17, data.length))).toBe(0)
      for (const p of pieces) {
        expect(p.meta.checksum._tag).toBe("None")
        p.release()
      }
      input.release()
    }
  })

  it("gives a datagram that fits one piece, padding trimmed, even with DF", () => {
    const input = datagram({ payload: new Uint8Array(100), dontFragment: true })
    const padding = PacketBuffer.fromBytes(Uint8Array.of(0, 0, 0, 0))
    input.addFragment(padding.sharedStorage, 0, 4)
    const pieces = mustFragment(input, 1500)
    expect(pieces).toHaveLength(1)
    expect(pieces[0].length).toBe(120)
    expect(pieces[0]).not.toBe(input)
    for (const p of pieces) p.release()
    input.release()
    padding.release()
  })

  it("refuses with preallocated defects, leaves the input to the caller, and never throws", () => {
    const big = datagram({ payload: new Uint8Array(2000), dontFragment: true })
    expect(fragmentIpv4(big, 1500)).toBe(FragmentDefect["df-set"])
    expect(big.isReleased).toBe(false)
    const plain = datagram({ payload: new Uint8Array(2000) })
    expect(fragmentIpv4(plain, 67)).toBe(FragmentDefect["mtu-too-small"])
    expect(fragmentIpv4(plain, 1500.5)).toBe(FragmentDefect["mtu-too-small"])
    expect(fragmentIpv4(plain, Number.NaN)).toBe(FragmentDefect["mtu-too-small"])
    expect(fragmentIpv4(PacketBuffer.fromBytes(Uint8Array.of(1, 2, 3)), 576)).toBe(FragmentDefect["bad-header"])
    expect(fragmentIpv4(PacketBuffer.wrap(new Uint8Array(100)), 576)).toBe(FragmentDefect["bad-header"])
    const corrupt = datagram({ payload: new Uint8Array(2000) })
    corrupt.setUint8(8, 1) // TTL changed, checksum not updated
    expect(fragmentIpv4(corrupt, 576)).toBe(FragmentDefect["bad-checksum"])
    // 8191 × 8 + 2000 bytes would run past 65535.
    const far = datagram({ payload: new Uint8Array(2000), fragmentOffset: 8191 })
    expect(fragmentIpv4(far, 576)).toBe(FragmentDefect["bad-offset"])
    const gso = datagram({ payload: new Uint8Array(2000) })
    gso.meta.gsoType = "tcpv4"
    expect(fragmentIpv4(gso, 576)).toBe(FragmentDefect["gso-packet"])
    const released = datagram({ payload: new Uint8Array(2000) })
    released.release()
    expect(fragmentIpv4(released, 576)).toBe(FragmentDefect["bad-header"])
    expect(FragmentDefect["df-set"].name).toBe("fragment.df-set")
    expect(Object.isFrozen(FragmentDefect["df-set"])).toBe(true)
    for (const p of [big, plain, corrupt, far, gso]) p.release()
  })

  it("cuts the smallest legal case: a 60-byte header at MTU 68 gives 8 bytes per first piece", () => {
    const options = Uint8Array.of(131, 39, 4, ...new Uint8Array(36), 0)
    const input = datagram({ payload: new Uint8Array(100).map((_, i) => i), options })
    const pieces = mustFragment(input, 68)
    const views = pieces.map(mustParse)
    expect(views[0].headerLength).toBe(60)
    expect(views[0].payloadLength).toBe(8)
    // Loose Source Route is copied: every piece keeps the 60-byte header.
    for (const v of views) expect(v.headerLength).toBe(60)
    expect(views.reduce((n, v) => n + v.payloadLength, 0)).toBe(100)
    for (const p of pieces) p.release()
    input.release()
  })
})
