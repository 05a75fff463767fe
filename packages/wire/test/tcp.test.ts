/**
 * TCP: view ⇄ Schema agreement on valid and hostile bytes (options above
 * all), each defect named, option accessors, the emitter writing the Schema
 * encoding with checksums that verify (full and partial, IPv4 and IPv6
 * pseudo-headers), and the tcpdump-like rendering.
 */
import { describe, expect, it } from "@effect/vitest"
import { ipv4PseudoHeaderSum, ipv6PseudoHeaderSum, PacketBuffer, resolvePartialChecksum } from "@netstack/buffers"
import {
  emitTcp,
  formatTcpSegment,
  TCP_PROTOCOL,
  TcpDefect,
  tcpFields,
  TcpFlags,
  TcpHeader,
  TcpHeaderFromBytes,
  type TcpOption,
  tcpOptionsLength,
  TcpView
} from "@netstack/wire"
import { ipv6AddressBytes, mutated, tcpHeader, tcpOptions, tcpSegment } from "@netstack/wire/testing"
import { Result, Schema } from "effect"
import fc from "fast-check"
import { expectAgreement } from "./support/agreement.ts"

const decoders = { codec: TcpHeaderFromBytes, parse: (b: PacketBuffer) => TcpView.parse(b) }
const encode = Schema.encodeSync(TcpHeaderFromBytes)
const decodeHeader = Schema.decodeUnknownSync(TcpHeader)
const concat = (...parts: ReadonlyArray<ArrayLike<number>>): Uint8Array => Uint8Array.from(parts.flatMap((p) => Array.from(p)))
const segments = tcpSegment.map(({ header, payload }) => concat(encode(header), payload))

/** 20 header bytes (ports 1 > 2, seq 3, ack 4, ACK, window 5) with a data offset, followed by `options`. */
const raw = (options: ReadonlyArray<number>, dataOffset = 5 + Math.ceil(options.length / 4)): Uint8Array =>
  Uint8Array.from([0, 1, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, dataOffset << 4, TcpFlags.ack, 0, 5, 0, 0, 0, 0, ...options])

/** Parses `bytes` that must be accepted. */
const view = (bytes: Uint8Array | PacketBuffer): TcpView => {
  const v = TcpView.parse(bytes instanceof PacketBuffer ? bytes : PacketBuffer.wrap(bytes))
  if (!(v instanceof TcpView)) throw new Error(`refused: ${v.name}`)
  return v
}

/** What the view's accessors must say for a typed option list: the last occurrence of each known kind wins. */
const lastOf = <T extends TcpOption["_tag"]>(options: ReadonlyArray<TcpOption>, tag: T) =>
  options.findLast((o): o is Extract<TcpOption, { _tag: T }> => o._tag === tag)

// Realistic option spaces, as bytes.
const LINUX_SYN = [2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7] // mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7
const SACK_4 = [1, 1, 5, 34, ...Array.from({ length: 32 }, (_, i) => i + 1)] // nop,nop,sack 4 {..}
const TS_SACK_3 = [1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 8, 1, 1, 5, 26, ...Array.from({ length: 24 }, (_, i) => 100 + i)]
const UNKNOWN = [19, 18, ...Array.from({ length: 16 }, (_, i) => i), 30, 6, 0, 1, 2, 3, 34, 2, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0] // md5, mptcp, tfo, nop×4, eol

describe("TCP", () => {
  it("view and Schema decode every valid segment to the same header", () => {
    fc.assert(
      fc.property(tcpSegment, ({ header, payload }) => {
        const bytes = concat(encode(header), payload)
        expect(bytes.length).toBe(header.dataOffset * 4 + payload.length)
        expect(expectAgreement(decoders, bytes)).toEqual(header)
      }),
      { numRuns: 500 }
    )
  })

  it("Schema encoding is byte-exact: encode(decode(bytes)) gives the header bytes back", () => {
    fc.assert(
      fc.property(segments, (bytes) => {
        const header = Schema.decodeSync(TcpHeaderFromBytes)(bytes)
        expect([...encode(header)]).toEqual([...bytes.subarray(0, header.dataOffset * 4)])
      }),
      { numRuns: 300 }
    )
    // padding after EOL that is not zero, and an unknown option, survive the round trip
    for (const options of [LINUX_SYN, SACK_4, TS_SACK_3, UNKNOWN, [0, 0xde, 0xad, 0xbe], [1, 0, 2, 0]]) {
      const bytes = raw(options)
      expect([...encode(Schema.decodeSync(TcpHeaderFromBytes)(bytes))]).toEqual([...bytes])
    }
  })

  it("view and Schema accept and refuse the same arbitrary and mutated bytes", () => {
    fc.assert(fc.property(mutated(segments), (bytes) => void expectAgreement(decoders, bytes)), { numRuns: 1000 })
  })

  describe("hostile options", () => {
    it("agree when any option byte of realistic headers takes any value", () => {
      let refused = 0
      for (const options of [LINUX_SYN, SACK_4, TS_SACK_3, UNKNOWN]) {
        const base = raw(options)
        for (let at = 20; at < base.length; at++) {
          for (let value = 0; value < 256; value++) {
            const bytes = base.slice()
            bytes[at] = value
            if (expectAgreement(decoders, bytes) === undefined) refused++
          }
        }
      }
      // some edits must have been refused, or this test checked nothing hostile
      expect(refused).toBeGreaterThan(1000)
    })

    it("agree on option spaces made of small kinds and lengths", () => {
      const token = fc.oneof(
        fc.constantFrom(0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 18, 26, 34, 35, 40, 41, 255),
        fc.integer({ min: 0, max: 255 })
      )
      const space = fc.integer({ min: 0, max: 10 }).chain((words) => fc.array(token, { minLength: 4 * words, maxLength: 4 * words }))
      fc.assert(
        fc.property(space, fc.uint8Array({ maxLength: 8 }), (options, payload) => void expectAgreement(decoders, concat(raw(options), payload))),
        { numRuns: 2000 }
      )
    })

    it("refuses an option overrunning the option space at every position, and accepts it one byte shorter", () => {
      for (let space = 4; space <= 40; space += 4) {
        for (let at = 0; at < space; at++) {
          const nops = Array.from({ length: at }, () => 1)
          const left = space - at
          if (left === 1) {
            // only the kind fits: the length byte is missing
            for (const kind of [2, 3, 4, 5, 8, 99]) {
              const bytes = raw([...nops, kind])
              expect(TcpView.parse(PacketBuffer.wrap(bytes.slice()))).toBe(TcpDefect["bad-option-length"])
              expectAgreement(decoders, bytes)
            }
            continue
          }
          const over = raw([...nops, 99, left + 1, ...Array.from({ length: left - 2 }, () => 0)])
          expect(over.length).toBe(20 + space)
          expect(TcpView.parse(PacketBuffer.wrap(over.slice()))).toBe(TcpDefect["bad-option-length"])
          expectAgreement(decoders, over)
          const exact = raw([...nops, 99, left, ...Array.from({ length: left - 2 }, () => 7)])
          const header = expectAgreement(decoders, exact)
          expect(header?.options.at(-1)).toEqual({ _tag: "Unknown", kind: 99, data: new Uint8Array(left - 2).fill(7) })
          // the option space ends at the data offset even when more bytes follow
          expect(TcpView.parse(PacketBuffer.wrap(concat(over, [0, 0, 0, 0])))).toBe(TcpDefect["bad-option-length"])
        }
      }
    })

    it("refuses lengths 0 and 1 for every kind that has a length byte", () => {
      for (let kind = 2; kind < 256; kind++) {
        for (const length of [0, 1]) {
          const bytes = raw([kind, length, 0, 0])
          expect(TcpView.parse(PacketBuffer.wrap(bytes.slice()))).toBe(TcpDefect["bad-option-length"])
          expectAgreement(decoders, bytes)
        }
      }
    })

    it("accepts SACK only with 2 + 8n bytes, n = 1..4", () => {
      for (let length = 0; length < 256; length++) {
        const bytes = raw([5, length, ...Array.from({ length: 38 }, () => 1)])
        const parsed = TcpView.parse(PacketBuffer.wrap(bytes.slice()))
        if ([10, 18, 26, 34].includes(length)) {
          if (!(parsed instanceof TcpView)) throw new Error(`SACK length ${length} refused`)
          expect(parsed.sackBlockCount).toBe((length - 2) / 8)
        } else {
          expect(parsed, `SACK length ${length}`).toBe(TcpDefect["bad-option-length"])
        }
        expectAgreement(decoders, bytes)
      }
    })

    it("accepts MSS, Window Scale, SACK-Permitted and Timestamps only at their fixed lengths", () => {
      const fixed: ReadonlyArray<readonly [number, number]> = [[2, 4], [3, 3], [4, 2], [8, 10]]
      for (const [kind, expected] of fixed) {
        for (let length = 0; length < 256; length++) {
          const bytes = raw([kind, length, ...Array.from({ length: 38 }, () => 1)])
          const parsed = TcpView.parse(PacketBuffer.wrap(bytes.slice()))
          if (length === expected) expect(parsed).toBeInstanceOf(TcpView)
          else expect(parsed, `kind ${kind} length ${length}`).toBe(TcpDefect["bad-option-length"])
          expectAgreement(decoders, bytes)
        }
      }
    })

    it("keeps whatever follows an EOL as its padding, unparsed, even if it would be illegal options", () => {
      const junk = [2, 0, 5, 1, 99, 200, 0xff] // a zero length, a SACK of length 1, an overrun
      const bytes = raw([1, 0, ...junk, 0xaa, 0xbb, 0xcc])
      const header = expectAgreement(decoders, bytes)
      expect(header?.options).toEqual([{ _tag: "Nop" }, { _tag: "Eol", padding: Uint8Array.from([...junk, 0xaa, 0xbb, 0xcc]) }])
      const v = view(bytes)
      expect(v.mss).toBeUndefined()
      expect(v.sackBlockCount).toBe(0)
      expect([...encode(decodeHeader(header))]).toEqual([...bytes])
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 39 }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })), (after) => {
          const padding = [...after, ...Array.from({ length: (4 - ((after.length + 1) % 4)) % 4 }, () => 0xee)]
          const b = raw([0, ...padding])
          expect(expectAgreement(decoders, b)?.options).toEqual([{ _tag: "Eol", padding: Uint8Array.from(padding) }])
        })
      )
    })
  })

  it("names each defect", () => {
    // truncated: fewer than 20 bytes at every length
    for (let n = 0; n < 20; n++) expect(TcpView.parse(PacketBuffer.wrap(raw([]).subarray(0, n)))).toBe(TcpDefect.truncated)
    // truncated: fewer bytes than the data offset says, at every data offset and length
    for (let dataOffset = 6; dataOffset <= 15; dataOffset++) {
      for (let n = 20; n < dataOffset * 4; n++) {
        const bytes = raw(Array.from({ length: 40 }, () => 1), dataOffset).slice(0, n)
        expect(TcpView.parse(PacketBuffer.wrap(bytes.slice()))).toBe(TcpDefect.truncated)
        expectAgreement(decoders, bytes)
      }
    }
    // an offset past the buffer, negative, or fractional
    expect(TcpView.parse(PacketBuffer.wrap(raw([])), 1)).toBe(TcpDefect.truncated)
    expect(TcpView.parse(PacketBuffer.wrap(raw([])), -1)).toBe(TcpDefect.truncated)
    expect(TcpView.parse(PacketBuffer.wrap(concat(raw([]), [0])), 0.5)).toBe(TcpDefect.truncated)
    // bad-data-offset: below 5, even with bytes to spare
    for (let dataOffset = 0; dataOffset < 5; dataOffset++) {
      const bytes = concat(raw([], dataOffset), new Uint8Array(40))
      expect(TcpView.parse(PacketBuffer.wrap(bytes.slice()))).toBe(TcpDefect["bad-data-offset"])
      expectAgreement(decoders, bytes)
    }
    // bad-option-length: zero, one, missing, overrunning, wrong for a known kind, bad SACK
    for (const options of [[99, 0, 0, 0], [99, 1, 0, 0], [1, 1, 1, 99], [99, 5, 0, 0], [2, 3, 5, 1], [5, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]]) {
      expect(TcpView.parse(PacketBuffer.wrap(raw(options)))).toBe(TcpDefect["bad-option-length"])
      const schema = Schema.decodeUnknownResult(TcpHeaderFromBytes)(raw(options))
      expect(Result.isFailure(schema) && schema.failure.message).toContain("tcp.bad-option-length")
    }
    // bad-checksum: from verification only; the Schema and the view accept a wrong checksum
    const bytes = raw([])
    expect(Schema.decodeSync(TcpHeaderFromBytes)(bytes).checksum).toBe(0)
    expect(view(bytes).verifyChecksum(ipv4PseudoHeaderSum(1, 2, TCP_PROTOCOL, 20))).toBe(false)
    expect(TcpDefect["bad-checksum"].name).toBe("tcp.bad-checksum")
    expect(Object.values(TcpDefect).map((d) => d.name)).toEqual([
      "tcp.truncated",
      "tcp.bad-data-offset",
      "tcp.bad-option-length",
      "tcp.bad-checksum"
    ])
  })

  it("the typed header refuses options that do not fill the data offset, an EOL before the end, and impossible options", () => {
    const [h] = fc.sample(tcpHeader, { numRuns: 1, seed: 3 })
    const base = { ...h, dataOffset: 5, options: [] }
    expect(Schema.is(TcpHeader)(base)).toBe(true)
    const bad: ReadonlyArray<TcpHeader> = [
      { ...base, dataOffset: 6 },
      { ...base, options: [{ _tag: "Nop" }, { _tag: "Nop" }, { _tag: "Nop" }, { _tag: "Nop" }] },
      { ...base, dataOffset: 6, options: [{ _tag: "Nop" }, { _tag: "Nop" }, { _tag: "Nop" }] },
      { ...base, dataOffset: 6, options: [{ _tag: "Eol", padding: new Uint8Array(0) }, { _tag: "Nop" }, { _tag: "Nop" }, { _tag: "Nop" }] },
      { ...base, dataOffset: 6, options: [{ _tag: "Unknown", kind: 2, data: Uint8Array.of(5, 0xb4) }] },
      { ...base, dataOffset: 6, options: [{ _tag: "Sack", blocks: [] }, { _tag: "Nop" }, { _tag: "Nop" }] },
      { ...base, dataOffset: 4 }
    ]
    for (const header of bad) {
      expect(Schema.is(TcpHeader)(header)).toBe(false)
      expect(() => encode(header)).toThrow()
    }
    const five = Array.from({ length: 5 }, () => ({ left: 1, right: 2 }))
    expect(Schema.is(TcpHeader)({ ...base, dataOffset: 16, options: [{ _tag: "Nop" }, { _tag: "Nop" }, { _tag: "Sack", blocks: five }] })).toBe(false)
  })

  it("the option accessors read, without a typed list, what the typed list holds", () => {
    fc.assert(
      fc.property(tcpSegment, ({ header, payload }) => {
        const v = view(concat(encode(header), payload))
        const mss = lastOf(header.options, "Mss")
        const ws = lastOf(header.options, "WindowScale")
        const ts = lastOf(header.options, "Timestamps")
        const sack = lastOf(header.options, "Sack")
        expect(v.mss).toBe(mss?.value)
        expect(v.windowScale).toBe(ws?.shift)
        expect(v.sackPermitted).toBe(lastOf(header.options, "SackPermitted") !== undefined)
        expect(v.hasTimestamps).toBe(ts !== undefined)
        expect(v.timestampValue).toBe(ts?.value)
        expect(v.timestampEcho).toBe(ts?.echo)
        expect(v.sackBlockCount).toBe(sack?.blocks.length ?? 0)
        for (let i = 0; i < v.sackBlockCount; i++) {
          expect(v.sackBlockLeft(i)).toBe(sack?.blocks[i].left)
          expect(v.sackBlockRight(i)).toBe(sack?.blocks[i].right)
        }
        expect(v.sackBlockLeft(v.sackBlockCount)).toBeUndefined()
        expect(v.sackBlockRight(-1)).toBeUndefined()
        expect(v.flags).toBe(tcpFields(header).flags)
        expect(v.headerLength).toBe(header.dataOffset * 4)
        expect(v.optionsLength).toBe(header.dataOffset * 4 - 20)
        expect(v.payloadOffset).toBe(header.dataOffset * 4)
        expect(v.payloadLength).toBe(payload.length)
        expect(v.segmentLength).toBe(header.dataOffset * 4 + payload.length)
      }),
      { numRuns: 300 }
    )
    const syn = view(raw(LINUX_SYN))
    expect([syn.mss, syn.sackPermitted, syn.timestampValue, syn.timestampEcho, syn.windowScale]).toEqual([1460, true, 1, 0, 7])
    const data = view(raw(TS_SACK_3))
    expect([data.timestampValue, data.timestampEcho, data.sackBlockCount, data.sackBlockLeft(2), data.sackBlockRight(2)]).toEqual([
      9,
      8,
      3,
      0x7475_7677,
      0x7879_7a7b
    ])
    // Deliberate difference: with a kind seen twice the accessor reports the last one (as Linux),
    // while the typed list (view.toHeader() and the Schema alike) keeps both, in order.
    const twice = raw([2, 4, 0, 1, 2, 4, 0, 2])
    expect(view(twice).mss).toBe(2)
    expect(expectAgreement(decoders, twice)?.options).toEqual([{ _tag: "Mss", value: 1 }, { _tag: "Mss", value: 2 }])
  })

  it("reads a header and options that straddle fragments, and verifies the checksum across them", () => {
    fc.assert(
      fc.property(tcpSegment, fc.integer({ min: 1, max: 59 }), fc.integer({ min: 1, max: 59 }), ({ header, payload }, a, b) => {
        const buffer = PacketBuffer.fromBytes(payload, 60)
        const sum = (length: number) => ipv4PseudoHeaderSum(0x0a000001, 0x0a000002, TCP_PROTOCOL, length)
        expect(emitTcp(buffer, tcpFields(header), { mode: "full", pseudoHeaderSum: sum(header.dataOffset * 4 + payload.length) })).toBeUndefined()
        const bytes = buffer.toUint8Array()
        const [x, y] = [Math.min(a, b, bytes.length), Math.min(Math.max(a, b), bytes.length)]
        const fragmented = PacketBuffer.fromBytes(bytes.subarray(0, x))
        fragmented.addFragmentBytes(bytes.slice(x, y))
        fragmented.addFragmentBytes(bytes.slice(y))
        const v = view(fragmented)
        expect(v.toHeader()).toEqual({ ...header, checksum: v.checksum })
        expect(v.verifyChecksum(sum(v.segmentLength))).toBe(true)
      })
    )
  })

  describe("the emitter", () => {
    const SRC4 = 0xc0a80001
    const DST4 = 0xc0a80002
    const family = fc.oneof(
      fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff })).map(([s, d]) => ({
        sum: (length: number) => ipv4PseudoHeaderSum(s, d, TCP_PROTOCOL, length),
        other: (length: number) => ipv4PseudoHeaderSum(s ^ 1, d, TCP_PROTOCOL, length)
      })),
      fc.tuple(ipv6AddressBytes, ipv6AddressBytes).map(([s, d]) => ({
        sum: (length: number) => ipv6PseudoHeaderSum(s, d, TCP_PROTOCOL, length),
        other: (length: number) => ipv6PseudoHeaderSum(s, d, TCP_PROTOCOL, length + 1)
      }))
    )

    it("writes the Schema encoding with a checksum that verifies, full or partial, over IPv4 and IPv6", () => {
      fc.assert(
        fc.property(tcpSegment, fc.constantFrom("full" as const, "partial" as const), family, ({ header, payload }, mode, pseudo) => {
          const buffer = PacketBuffer.fromBytes(payload, 64)
          const length = header.dataOffset * 4 + payload.length
          expect(emitTcp(buffer, tcpFields(header), { mode, pseudoHeaderSum: pseudo.sum(length) })).toBeUndefined()
          expect(buffer.meta.transportHeader).toBe(buffer.data)
          if (mode === "partial") {
            expect(buffer.meta.checksum).toEqual({ _tag: "Partial", start: buffer.data, offset: 16 })
            expect(resolvePartialChecksum(buffer)).toBeUndefined()
          }
          const v = view(buffer)
          expect(v.segmentLength).toBe(length)
          expect(v.verifyChecksum(pseudo.sum(length))).toBe(true)
          expect(v.verifyChecksum(pseudo.other(length))).toBe(false)
          expect([...buffer.toUint8Array()]).toEqual([...encode({ ...header, checksum: v.checksum }), ...payload])
        }),
        { numRuns: 300 }
      )
    })

    it("a corrupted byte anywhere in the segment fails verification", () => {
      fc.assert(
        fc.property(tcpSegment, fc.nat(), fc.integer({ min: 1, max: 255 }), ({ header, payload }, at, delta) => {
          const buffer = PacketBuffer.fromBytes(payload, 64)
          const sum = ipv4PseudoHeaderSum(SRC4, DST4, TCP_PROTOCOL, header.dataOffset * 4 + payload.length)
          emitTcp(buffer, tcpFields(header), { mode: "full", pseudoHeaderSum: sum })
          const bytes = buffer.toUint8Array()
          const i = at % bytes.length
          // a change that keeps the data offset, so the segment still parses
          if (i === 12) return
          bytes[i] = (bytes[i] + delta) & 0xff
          const v = TcpView.parse(PacketBuffer.wrap(bytes))
          if (v instanceof TcpView) expect(v.verifyChecksum(sum)).toBe(false)
        })
      )
    })

    it("pads options to a 4-byte boundary with zeros (read back as EOL and padding), and leaves aligned lists alone", () => {
      const buffer = PacketBuffer.fromBytes(Uint8Array.of(9, 9), 64)
      const fields = {
        sourcePort: 40000,
        destinationPort: 80,
        sequenceNumber: 1000,
        acknowledgmentNumber: 0,
        flags: TcpFlags.syn,
        window: 65535,
        urgentPointer: 0,
        options: [{ _tag: "Mss", value: 1460 }, { _tag: "WindowScale", shift: 7 }] satisfies ReadonlyArray<TcpOption>
      }
      const sum = ipv4PseudoHeaderSum(SRC4, DST4, TCP_PROTOCOL, 30)
      expect(emitTcp(buffer, fields, { mode: "full", pseudoHeaderSum: sum })).toBeUndefined()
      const bytes = buffer.toUint8Array()
      expect([...bytes.subarray(12, 14)]).toEqual([7 << 4, TcpFlags.syn])
      expect([...bytes.subarray(20)]).toEqual([2, 4, 5, 0xb4, 3, 3, 7, 0, 9, 9])
      const v = view(buffer)
      expect(v.verifyChecksum(sum)).toBe(true)
      expect(v.toHeader().options).toEqual([...fields.options, { _tag: "Eol", padding: new Uint8Array(0) }])
      // no options: a 20-byte header
      const bare = PacketBuffer.fromBytes(new Uint8Array(0), 64)
      expect(emitTcp(bare, { ...fields, options: [], reserved: 0 }, { mode: "none" })).toBeUndefined()
      expect(bare.length).toBe(20)
      expect(bare.bytes[bare.data + 12]).toBe(5 << 4)
      expect(view(bare).checksum).toBe(0)
    })

    it("refuses options longer than 40 bytes and too little headroom, changing nothing", () => {
      const fields = tcpFields(fc.sample(tcpHeader, { numRuns: 1, seed: 5 })[0])
      const long = { ...fields, options: [...Array.from({ length: 4 }, () => ({ _tag: "Timestamps", value: 1, echo: 2 }) as const), { _tag: "Nop" } as const] }
      const buffer = PacketBuffer.fromBytes(Uint8Array.of(1), 64)
      const err = emitTcp(buffer, long, { mode: "none" })
      expect(err?._tag).toBe("InvalidLength")
      expect(buffer.length).toBe(1)
      const small = PacketBuffer.fromBytes(Uint8Array.of(1), 19)
      expect(emitTcp(small, { ...fields, options: [] }, { mode: "none" })?._tag).toBe("HeadroomExceeded")
      expect(small.length).toBe(1)
    })
  })

  describe("rendering", () => {
    const h = (fields: Partial<TcpHeader>): TcpHeader =>
      decodeHeader({
        sourcePort: 40000,
        destinationPort: 80,
        sequenceNumber: 1000,
        acknowledgmentNumber: 2001,
        dataOffset: 5,
        reserved: 0,
        cwr: false,
        ece: false,
        urg: false,
        ack: false,
        psh: false,
        rst: false,
        syn: false,
        fin: false,
        window: 65535,
        checksum: 0,
        urgentPointer: 0,
        options: [],
        ...fields
      })
    const synOptions = Schema.decodeSync(TcpHeaderFromBytes)(raw(LINUX_SYN)).options

    it("prints a header like tcpdump -S, without the length it cannot know", () => {
      const format = Schema.toFormatter(TcpHeader)
      expect(format(h({ syn: true, dataOffset: 10, options: synOptions }))).toBe(
        "TCP 40000 > 80: Flags [S], seq 1000, win 65535, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7]"
      )
      expect(format(h({ syn: true, ack: true, dataOffset: 10, options: synOptions }))).toBe(
        "TCP 40000 > 80: Flags [S.], seq 1000, ack 2001, win 65535, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7]"
      )
      expect(format(h({}))).toBe("TCP 40000 > 80: Flags [none], seq 1000, win 65535")
    })

    it("prints a segment like tcpdump -S: seq range, ack, urg, options, length", () => {
      expect(formatTcpSegment(h({ syn: true, ack: true, dataOffset: 10, options: synOptions }), 0)).toBe(
        "TCP 40000 > 80: Flags [S.], seq 1000, ack 2001, win 65535, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0"
      )
      expect(formatTcpSegment(h({ sequenceNumber: 1, ack: true, psh: true }), 100)).toBe(
        "TCP 40000 > 80: Flags [P.], seq 1:101, ack 2001, win 65535, length 100"
      )
      expect(formatTcpSegment(h({ sequenceNumber: 0xffffff00, ack: true }), 0x200)).toBe(
        "TCP 40000 > 80: Flags [.], seq 4294967040:256, ack 2001, win 65535, length 512"
      )
      expect(formatTcpSegment(h({ ack: true }), 0)).toBe("TCP 40000 > 80: Flags [.], ack 2001, win 65535, length 0")
      expect(formatTcpSegment(h({ rst: true }), 0)).toBe("TCP 40000 > 80: Flags [R], seq 1000, win 65535, length 0")
      expect(formatTcpSegment(h({ fin: true, ack: true }), 0)).toBe("TCP 40000 > 80: Flags [F.], seq 1000, ack 2001, win 65535, length 0")
      expect(
        formatTcpSegment(h({ syn: true, ece: true, cwr: true, reserved: 1, urg: true, urgentPointer: 7 }), 0)
      ).toBe("TCP 40000 > 80: Flags [SUEWe], seq 1000, win 65535, urg 7, length 0")
      expect(formatTcpSegment(h({ fin: true, syn: true, rst: true, psh: true, ack: true, urg: true, ece: true, cwr: true }), 0)).toBe(
        "TCP 40000 > 80: Flags [FSRP.UEW], seq 1000, ack 2001, win 65535, urg 0, length 0"
      )
      const data = Schema.decodeSync(TcpHeaderFromBytes)(raw([...TS_SACK_3.slice(0, 12), 1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2]))
      expect(formatTcpSegment({ ...data, ack: true }, 0)).toBe(
        "TCP 1 > 2: Flags [.], ack 4, win 5, options [nop,nop,TS val 9 ecr 8,nop,nop,sack 1 {1:2}], length 0"
      )
      const odd = Schema.decodeSync(TcpHeaderFromBytes)(raw([99, 4, 0xab, 0xcd, 77, 2, 1, 0, 0, 0, 0, 0]))
      expect(formatTcpSegment(odd, 0)).toBe("TCP 1 > 2: Flags [.], ack 4, win 5, options [unknown-99 0xabcd,unknown-77,nop,eol], length 0")
    })
  })

  it("tcpOptions always fills a whole number of words within 40 bytes, so it makes a valid header", () => {
    const [base] = fc.sample(tcpHeader, { numRuns: 1, seed: 9 })
    fc.assert(
      fc.property(tcpOptions, (options) => {
        const length = tcpOptionsLength(options)
        expect(length % 4).toBe(0)
        expect(length).toBeLessThanOrEqual(40)
        expect(Schema.is(TcpHeader)({ ...base, dataOffset: 5 + length / 4, options })).toBe(true)
      }),
      { numRuns: 300 }
    )
  })
})
