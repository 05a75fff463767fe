/**
 * Offload metadata with frames (a `virtio_net_hdr` per frame): a NIC with
 * TSO and tx checksum offload on a wire whose far end takes metadata sends
 * segments with partial checksums and `NEEDS_CSUM` instead of summing them;
 * the receiving NIC trusts them unsummed (or, where IPv4 may fragment the
 * packet later, completes them once), and completes them if it sends such a
 * packet on to a plain medium. Plain peers
 * get exactly what they got before. The impaired path completes the checksum
 * and drops the metadata before corrupting a frame, so the damage is caught.
 * Super-packets cross as one frame to a medium that takes them; a NIC with
 * TSO receives one whole, one without cuts it into segments. Captures show
 * valid checksums.
 */
import { describe, expect, it } from "@effect/vitest"
import { ChecksumState, ipv4PseudoHeaderSum, PacketBuffer } from "@netstack/buffers"
import {
  captureCopy,
  capturedFrame,
  DATA_VALID,
  decodeVnetHeader,
  encodeVnetHeader,
  FULL_OFFLOAD_SUPPORT,
  Hub,
  isVnetHeaderDefect,
  loopback,
  type MediumPort,
  NEEDS_CSUM,
  partialChecksum,
  VNET_HEADER_SIZE,
  Wire
} from "@netstack/device"
import { LINKTYPE_ETHERNET, skipReason, tsharkFields, withCapture } from "@netstack/test-support"
import fc from "fast-check"
import { Effect, Random } from "effect"
import {
  completedChecksum,
  IP_A,
  IP_B,
  MAC_A,
  MAC_B,
  nicWithBuffers,
  recording,
  takeAll,
  tcpFrame,
  tcpPayload,
  transmit,
  transportChecksum,
  udpFrame
} from "./support/frames.ts"
import { concatBytes } from "@netstack/test-support"

const MSS = 1448
const payloadOf = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff)

/** The value in a TCP/IPv4 frame's checksum field. */
const tcpChecksumField = (bytes: Uint8Array): number => (bytes[14 + 20 + 16] << 8) | bytes[14 + 20 + 17]

describe("offload metadata on an in-process wire", () => {
  it.effect("TSO sender, rx-offload receiver: segments cross with partial checksums and NEEDS_CSUM, and nobody sums them", () =>
    Effect.gen(function*() {
      const wire = yield* Wire.make()
      const sender = yield* nicWithBuffers({ mac: MAC_A })
      const receiver = yield* nicWithBuffers({ mac: MAC_B })
      const { port, sent } = recording(wire.a)
      sender.attach(port)
      receiver.attach(wire.b)
      const payload = payloadOf(5 * MSS + 100)
      yield* transmit(sender, [tcpFrame({ payload, checksum: "partial", gsoSize: MSS })])

      expect(sent).toHaveLength(6)
      for (const frame of sent) {
        // On the wire: the field holds only the pseudo-header sum; the sender's NIC did not sum the segment.
        const tcpLength = frame.bytes.length - 34
        expect(tcpChecksumField(frame.bytes)).toBe(ipv4PseudoHeaderSum(IP_A, IP_B, 6, tcpLength))
        expect(transportChecksum(frame.bytes)).toBe("invalid")
        expect(completedChecksum(frame.bytes)).toBe("valid")
        expect(frame.offload).toMatchObject({ flags: NEEDS_CSUM, csumStart: 34, csumOffset: 16, gsoType: "none" })
      }
      const received = takeAll(receiver)
      expect(received).toHaveLength(6)
      const bytes = received.map((p) => p.toUint8Array())
      // Kept CHECKSUM_PARTIAL, which the receive path trusts as Linux's does; the bytes as they crossed.
      expect(received.every((p) => p.meta.checksum._tag === "Partial" && ChecksumState.trusted(p.meta.checksum))).toBe(true)
      expect(bytes).toEqual(sent.map((f) => f.bytes))
      expect(concatBytes(bytes.map(tcpPayload))).toEqual(payload)
      expect(receiver.stats()).toMatchObject({ rx_packets: 6, rx_csum_trusted: 6, rx_csum_completed: 0, rx_csum_offload_good: 0 })
      expect(sender.stats()).toMatchObject({ tx_packets: 1, tx_queue_0_wire_frames: 6 })
    }))

  it.effect("a frame IPv4 may fragment on its way on (DF clear) stays partial too: its offsets are the packet's, for whoever completes it", () =>
    Effect.gen(function*() {
      const wire = yield* Wire.make()
      const sender = yield* nicWithBuffers({ mac: MAC_A })
      const receiver = yield* nicWithBuffers({ mac: MAC_B })
      const { port, sent } = recording(wire.a)
      sender.attach(port)
      receiver.attach(wire.b)
      yield* transmit(sender, [udpFrame(300, "partial", false), tcpFrame({ payload: payloadOf(900), checksum: "partial", dontFragment: false })])
      expect(sent.map((f) => f.offload?.flags)).toEqual([NEEDS_CSUM, NEEDS_CSUM])
      const received = takeAll(receiver)
      expect(received.map((p) => p.meta.checksum._tag)).toEqual(["Partial", "Partial"])
      // Completing at the recorded offsets gives valid checksums (IPv4 fragmentation does it before cutting).
      expect(received.map((p) => {
        const state = p.meta.checksum
        const bytes = p.toUint8Array()
        return state._tag === "Partial" && state.start - p.data === 34 ? completedChecksum(bytes, state.offset) : "wrong offsets"
      })).toEqual(["valid", "valid"])
      expect(receiver.stats()).toMatchObject({ rx_csum_completed: 0, rx_csum_trusted: 2 })
    }))

  it.effect("a trusted partial packet sent on (forwarded) is completed for a plain medium and stays partial where metadata is taken", () =>
    Effect.gen(function*() {
      const wire = yield* Wire.make()
      const sender = yield* nicWithBuffers({ mac: MAC_A })
      const router = yield* nicWithBuffers({ mac: MAC_B })
      sender.attach(wire.a)
      router.attach(wire.b)
      yield* transmit(sender, [tcpFrame({ payload: payloadOf(700), checksum: "partial" }), udpFrame(80, "partial")])
      const forwarded = takeAll(router)
      expect(router.stats()).toMatchObject({ rx_csum_trusted: 2 })

      // Out of a checksumming NIC onto a plain peer: completed (the frame must be valid).
      const plainNic = yield* nicWithBuffers({ mac: 0x020000000003 })
      const plainFrames: Array<{ bytes: Uint8Array; offload: unknown }> = []
      plainNic.attach({ send: (frame, _r, offload) => void plainFrames.push({ bytes: frame.slice(), offload }), attach: () => {} })
      yield* transmit(plainNic, forwarded.map((p) => p.clone()).filter((p): p is PacketBuffer => p instanceof PacketBuffer))
      expect(plainFrames.map((f) => [transportChecksum(f.bytes), f.offload])).toEqual([["valid", undefined], ["valid", undefined]])

      // Onto another wire whose far end takes metadata: partial again, offsets read from the headers.
      const next = yield* Wire.make()
      const out = yield* nicWithBuffers({ mac: 0x020000000004 })
      const last = yield* nicWithBuffers({ mac: 0x020000000005 })
      const { port, sent } = recording(next.a)
      out.attach(port)
      last.attach(next.b)
      yield* transmit(out, forwarded)
      expect(sent.map((f) => f.offload)).toEqual([partialChecksum(34, 16), partialChecksum(34, 6)])
      expect(sent.map((f) => completedChecksum(f.bytes, f.offload?.csumOffset))).toEqual(["valid", "valid"])
      expect(last.stats()).toMatchObject({ rx_csum_trusted: 2 })
    }))

  it.effect("a receiver without rx checksum offload takes no metadata: the sender completes every checksum, as before", () =>
    Effect.gen(function*() {
      const wire = yield* Wire.make()
      const sender = yield* nicWithBuffers({ mac: MAC_A })
      const receiver = yield* nicWithBuffers({ mac: MAC_B, offloads: { rxChecksum: false } })
      const { port, sent } = recording(wire.a)
      sender.attach(port)
      receiver.attach(wire.b)
      yield* transmit(sender, [tcpFrame({ payload: payloadOf(3 * MSS), checksum: "partial", gsoSize: MSS }), udpFrame(40, "partial")])
      expect(sent).toHaveLength(4)
      expect(sent.every((f) => f.offload === undefined && transportChecksum(f.bytes) === "valid")).toBe(true)
      const received = takeAll(receiver)
      expect(received.map((p) => p.meta.checksum._tag)).toEqual(["None", "None", "None", "None"])
      expect(receiver.stats()).toMatchObject({ rx_csum_completed: 0, rx_csum_trusted: 0 })
    }))

  it.effect("a plain peer (no offloadSupport) gets complete checksums and no metadata", () =>
    Effect.gen(function*() {
      const sender = yield* nicWithBuffers({ mac: MAC_A })
      const got: Array<{ bytes: Uint8Array; args: number }> = []
      const plain: MediumPort = {
        send: (...args) => void got.push({ bytes: args[0].slice(), args: args.length }),
        attach: () => {}
      }
      sender.attach(plain)
      yield* transmit(sender, [udpFrame(30, "partial"), tcpFrame({ payload: payloadOf(2 * MSS), checksum: "partial", gsoSize: MSS })])
      expect(got.map((g) => g.args)).toEqual([2, 2, 2])
      expect(got.every((g) => transportChecksum(g.bytes) === "valid")).toBe(true)
    }))

  it.effect("a forwarded, verified packet goes with DATA_VALID and the next NIC trusts it without summing", () =>
    Effect.gen(function*() {
      const wire = yield* Wire.make()
      const sender = yield* nicWithBuffers({ mac: MAC_A })
      const receiver = yield* nicWithBuffers({ mac: MAC_B })
      const { port, sent } = recording(wire.a)
      sender.attach(port)
      receiver.attach(wire.b)
      const forwarded = udpFrame(64, "full")
      forwarded.meta.checksum = ChecksumState.unnecessary
      yield* transmit(sender, [forwarded])
      expect(sent[0]?.offload?.flags).toBe(DATA_VALID)
      expect(takeAll(receiver).map((p) => p.meta.checksum._tag)).toEqual(["Unnecessary"])
      expect(receiver.stats()).toMatchObject({ rx_csum_trusted: 1, rx_csum_offload_good: 0 })
    }))

  it.effect("the impaired path completes the checksum and drops the metadata before corrupting: the receiver catches every damaged frame", () =>
    Effect.gen(function*() {
      const wire = yield* Wire.make({ impairments: { corrupt: 1 } })
      const sender = yield* nicWithBuffers({ mac: MAC_A })
      const receiver = yield* nicWithBuffers({ mac: MAC_B }, 128)
      sender.attach(wire.a)
      receiver.attach(wire.b)
      const packets = Array.from({ length: 40 }, (_, i) => tcpFrame({ payload: payloadOf(200 + i), checksum: "partial", sequence: i }))
      yield* transmit(sender, packets)
      const received = takeAll(receiver)
      expect(wire.counters("aToB").corrupted).toBe(40)
      // No metadata reached the receiver: nothing trusted, nothing completed.
      expect(receiver.stats()).toMatchObject({ rx_csum_trusted: 0, rx_csum_completed: 0 })
      // Every frame the NIC marked verified really has a valid checksum; the rest were caught (bad) or left to software.
      for (const p of received) {
        if (p.meta.checksum._tag === "Unnecessary") expect(transportChecksum(p.toUint8Array())).toBe("valid")
      }
      // A flip outside the segment (MAC or IP header bits) leaves its checksum good; every flip inside it is caught.
      const stats = receiver.stats()
      expect(stats.rx_csum_offload_errors).toBeGreaterThan(25)
      expect(stats.rx_csum_offload_good + stats.rx_csum_offload_errors).toBeLessThanOrEqual(40)
    }).pipe(Random.withSeed(7)))

  it.effect("loopback and hubs carry the metadata; a hub only when every attached far end takes it", () =>
    Effect.gen(function*() {
      const lo = loopback()
      const nic = yield* nicWithBuffers({ mac: MAC_B })
      nic.attach(lo)
      yield* transmit(nic, [udpFrame(20, "partial")])
      expect(nic.stats()).toMatchObject({ rx_csum_trusted: 1, tx_packets: 1 })

      const hub = yield* Hub.make({ ports: 3 })
      const [p0, p1, p2] = hub.ports
      if (p0 === undefined || p1 === undefined || p2 === undefined) throw new Error("hub ports")
      const a = yield* nicWithBuffers({ mac: MAC_A })
      const b = yield* nicWithBuffers({ mac: MAC_B })
      a.attach(p0)
      b.attach(p1)
      expect(p0.offloadSupport?.()).toEqual({ checksum: true, gso: false })
      yield* transmit(a, [udpFrame(20, "partial")])
      expect(b.stats()).toMatchObject({ rx_csum_trusted: 1 })
      takeAll(b)

      const c = yield* nicWithBuffers({ mac: 0x020000000003, offloads: { rxChecksum: false } })
      c.attach(p2)
      expect(p0.offloadSupport?.()).toEqual({ checksum: false, gso: false })
      yield* transmit(a, [udpFrame(20, "partial")])
      expect(takeAll(b).map((p) => transportChecksum(p.toUint8Array()))).toEqual(["valid"])
      expect(takeAll(c).map((p) => transportChecksum(p.toUint8Array()))).toEqual(["valid"])
      expect(b.stats()).toMatchObject({ rx_csum_trusted: 1, rx_csum_offload_good: 1 })
    }))

  it.effect("captured copies of packets with partial checksums, sent or received, are complete; tshark agrees", () =>
    Effect.gen(function*() {
      const wire = yield* Wire.make()
      const sender = yield* nicWithBuffers({ mac: MAC_A })
      const receiver = yield* nicWithBuffers({ mac: MAC_B })
      sender.attach(wire.a)
      receiver.attach(wire.b)
      const outgoing = [tcpFrame({ payload: payloadOf(1000), checksum: "partial" }), udpFrame(99, "partial")]
      const outgoingCopies = outgoing.map((p) => capturedFrame(p))
      yield* transmit(sender, outgoing)
      const received = takeAll(receiver)
      expect(received.map((p) => transportChecksum(p.toUint8Array()))).toEqual(["invalid", "invalid"])
      const frames = [...outgoingCopies, ...received.map((p) => capturedFrame(p))]
      expect(frames.map(transportChecksum)).toEqual(["valid", "valid", "valid", "valid"])
      // The packets themselves keep their partial fields; a snaplen cuts the completed copy.
      expect(received.map((p) => transportChecksum(p.toUint8Array()))).toEqual(["invalid", "invalid"])
      expect(capturedFrame(received[0] ?? outgoing[0], 60)).toEqual(frames[2]?.subarray(0, 60))
      if (skipReason("tshark checking the captured checksums", ["tshark"]) === undefined) {
        const fields = withCapture(frames, LINKTYPE_ETHERNET, (path) => tsharkFields(path, ["tcp.checksum.status", "udp.checksum.status"]))
        expect(fields.map((f) => f["tcp.checksum.status"]?.[0] ?? f["udp.checksum.status"]?.[0])).toEqual(["1", "1", "1", "1"])
      }
    }))

  it("a capture copy of a NEEDS_CSUM frame has its checksum completed; the frame itself is untouched", () => {
    const packet = tcpFrame({ payload: payloadOf(300), checksum: "partial" })
    const bytes = packet.toUint8Array()
    const copy = captureCopy(bytes, partialChecksum(34, 16))
    expect(transportChecksum(copy)).toBe("valid")
    expect(transportChecksum(bytes)).toBe("invalid")
    expect(captureCopy(copy)).toEqual(copy)
  })
})

describe("super-packets", () => {
  it.effect("to a medium that takes GSO, a TSO super-packet goes as one frame with its virtio_net_hdr fields", () =>
    Effect.gen(function*() {
      const sender = yield* nicWithBuffers({ mac: MAC_A })
      const got: Array<{ bytes: Uint8Array; offload: unknown }> = []
      sender.attach({
        send: (frame, _release, offload) => void got.push({ bytes: frame.slice(), offload }),
        attach: () => {},
        offloadSupport: () => FULL_OFFLOAD_SUPPORT
      })
      const payload = payloadOf(20 * MSS)
      yield* transmit(sender, [tcpFrame({ payload, checksum: "partial", gsoSize: MSS })])
      expect(got).toHaveLength(1)
      const frame = got[0]
      if (frame === undefined) throw new Error("no frame")
      expect(frame.bytes.length).toBe(34 + 20 + payload.length)
      expect(frame.offload).toEqual({ flags: NEEDS_CSUM, csumStart: 34, csumOffset: 16, gsoType: "tcpv4", gsoSize: MSS, hdrLen: 54 })
      // Linux's CHECKSUM_PARTIAL super-packet: the pseudo-header sum over the whole TCP length.
      expect(tcpChecksumField(frame.bytes)).toBe(ipv4PseudoHeaderSum(IP_A, IP_B, 6, 20 + payload.length))
    }))

  it.effect("a NIC with TSO receives a super-packet whole across its buffers, with GSO metadata and a trusted checksum", () =>
    Effect.gen(function*() {
      const nic = yield* nicWithBuffers({ mac: MAC_B })
      const payload = payloadOf(10 * 1460 + 5)
      const superPacket = tcpFrame({ payload, checksum: "partial" }).toUint8Array()
      nic.receive(superPacket, { flags: NEEDS_CSUM, csumStart: 34, csumOffset: 16, gsoType: "tcpv4", gsoSize: 1460, hdrLen: 54 })
      const packets = takeAll(nic)
      expect(packets).toHaveLength(1)
      const packet = packets[0]
      if (packet === undefined) throw new Error("no packet")
      expect(packet.toUint8Array()).toEqual(superPacket)
      // 2048-byte buffers with 64 bytes of headroom: 1,984 bytes in each.
      expect(packet.fragments).toHaveLength(Math.ceil(superPacket.length / 1984) - 1)
      expect(packet.meta).toMatchObject({ gsoType: "tcpv4", gsoSize: 1460, gsoSegments: 11 })
      expect(packet.meta.checksum).toEqual(ChecksumState.partial(packet.data + 34, 16))
      expect(nic.stats()).toMatchObject({
        rx_gso_packets: 1, rx_gso_whole: 1, rx_gso_segmented: 0, rx_gso_segments: 0, rx_packets: 1, rx_csum_trusted: 1
      })
      // Without GSO metadata a frame that long is a length error, as before.
      nic.receive(superPacket)
      expect(nic.stats()).toMatchObject({ rx_length_errors: 1, rx_packets: 1 })
      packet.release()
    }))

  it.effect("a NIC without TSO cuts a super-packet it is handed into MTU-sized segments with valid checksums", () =>
    Effect.gen(function*() {
      const nic = yield* nicWithBuffers({ mac: MAC_B, offloads: { tso: false } })
      const payload = payloadOf(10 * 1460 + 5)
      const superPacket = tcpFrame({ payload, checksum: "partial" }).toUint8Array()
      nic.receive(superPacket, { flags: NEEDS_CSUM, csumStart: 34, csumOffset: 16, gsoType: "tcpv4", gsoSize: 1460, hdrLen: 54 })
      const segments = takeAll(nic).map((p) => p.toUint8Array())
      expect(segments).toHaveLength(11)
      // Each segment keeps a partial checksum (trusted, DF is set): complete it and it is valid.
      expect(segments.every((s) => s.length <= 1514 && completedChecksum(s) === "valid")).toBe(true)
      expect(concatBytes(segments.map(tcpPayload))).toEqual(payload)
      expect(nic.stats()).toMatchObject({
        rx_gso_packets: 1, rx_gso_whole: 0, rx_gso_segmented: 1, rx_gso_segments: 11, rx_packets: 11, rx_csum_trusted: 11
      })
    }))

  it.effect("metadata that points outside the frame is ignored and counted; the checksum is verified instead", () =>
    Effect.gen(function*() {
      const nic = yield* nicWithBuffers({ mac: MAC_B })
      const frame = udpFrame(10, "full").toUint8Array()
      nic.receive(frame, partialChecksum(frame.length - 1, 16))
      expect(takeAll(nic).map((p) => p.meta.checksum._tag)).toEqual(["Unnecessary"])
      expect(nic.stats()).toMatchObject({ rx_offload_errors: 1, rx_csum_offload_good: 1 })
    }))
})

describe("virtio_net_hdr", () => {
  const offload = fc.oneof(
    fc.constant(undefined),
    fc.record({
      flags: fc.constantFrom(NEEDS_CSUM, DATA_VALID, NEEDS_CSUM | DATA_VALID),
      csumStart: fc.integer({ min: 0, max: 0xffff }),
      csumOffset: fc.integer({ min: 0, max: 0xffff }),
      gsoType: fc.constantFrom("none" as const, "tcpv4" as const, "tcpv6" as const),
      gsoSize: fc.integer({ min: 1, max: 0xffff }),
      hdrLen: fc.integer({ min: 1, max: 0xffff })
    }).map((o) => ({
      ...o,
      csumStart: (o.flags & NEEDS_CSUM) !== 0 ? o.csumStart : 0,
      csumOffset: (o.flags & NEEDS_CSUM) !== 0 ? o.csumOffset : 0,
      gsoSize: o.gsoType === "none" ? 0 : o.gsoSize,
      hdrLen: o.gsoType === "none" ? 0 : o.hdrLen
    }))
  )

  it("encodes and decodes every offload it can describe (12 bytes, little-endian)", () => {
    fc.assert(fc.property(offload, fc.integer({ min: 0, max: 8 }), (o, at) => {
      const bytes = new Uint8Array(at + VNET_HEADER_SIZE).fill(0xee)
      encodeVnetHeader(bytes, at, o)
      expect(decodeVnetHeader(bytes, at, VNET_HEADER_SIZE)).toEqual(o)
    }))
  })

  it("reads Linux's layout, and refuses short frames and GSO types it never enables", () => {
    // flags NEEDS_CSUM, gso TCPV4|ECN, hdr_len 54, gso_size 1448, csum_start 34, csum_offset 16
    const header = Uint8Array.of(1, 0x81, 54, 0, 0xa8, 0x05, 34, 0, 16, 0, 0, 0)
    expect(decodeVnetHeader(header, 0, 12)).toEqual({
      flags: NEEDS_CSUM, csumStart: 34, csumOffset: 16, gsoType: "tcpv4", gsoSize: 1448, hdrLen: 54
    })
    expect(isVnetHeaderDefect(decodeVnetHeader(header, 0, 11))).toBe(true)
    expect(decodeVnetHeader(Uint8Array.of(0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), 0, 12)).toBe("unknown-gso-type")
    expect(decodeVnetHeader(new Uint8Array(12), 0, 12)).toBeUndefined()
  })
})
