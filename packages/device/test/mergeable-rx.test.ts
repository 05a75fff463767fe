/**
 * The NIC's receive side with mergeable buffers: jumbo frames spread over
 * page-sized buffers keep their checksum offload (trusted, completed or
 * verified over the whole frame), and TSO super-packets from a medium are
 * received whole with their GSO metadata, while a super-packet the ring
 * cannot hold and malformed GSO metadata are dropped and counted, never
 * thrown.
 */
import { describe, expect, it } from "@effect/vitest"
import { ChecksumState, PacketBuffer } from "@netstack/buffers"
import { type FrameOffload, NEEDS_CSUM } from "@netstack/device"
import fc from "fast-check"
import { Effect } from "effect"
import { completedChecksum, MAC_B, nicWithBuffers, takeAll, tcpFrame, transportChecksum } from "./support/frames.ts"

const payloadOf = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 13 + 5) & 0xff)

/** The metadata Linux's TAP gives a TCP/IPv4 super-packet of `mss`-byte segments. */
const tso4 = (mss: number): FrameOffload => ({
  flags: NEEDS_CSUM, csumStart: 34, csumOffset: 16, gsoType: "tcpv4", gsoSize: mss, hdrLen: 54
})

describe("jumbo frames over page-sized buffers", () => {
  it.effect("a 9000-byte MTU frame spans three buffers; a partial checksum is trusted, or completed without rx checksumming", () =>
    Effect.gen(function*() {
      const frame = tcpFrame({ payload: payloadOf(8960), checksum: "partial" }).toUint8Array()
      expect(frame.length).toBe(9014)
      const trusting = yield* nicWithBuffers({ mac: MAC_B, mtu: 9000 }, 8, 4096)
      trusting.receive(frame, { ...tso4(0), gsoType: "none" })
      const [trusted] = takeAll(trusting)
      expect(trusted?.fragments).toHaveLength(2)
      expect(trusted?.toUint8Array()).toEqual(frame)
      expect(trusted?.meta.checksum).toEqual(ChecksumState.partial((trusted?.data ?? 0) + 34, 16))

      const plain = yield* nicWithBuffers({ mac: MAC_B, mtu: 9000, offloads: { rxChecksum: false } }, 8, 4096)
      plain.receive(frame, { ...tso4(0), gsoType: "none" })
      const [completed] = takeAll(plain)
      const bytes = completed?.toUint8Array() ?? new Uint8Array()
      expect(transportChecksum(bytes)).toBe("valid")
      expect(bytes.subarray(54)).toEqual(frame.subarray(54))
      expect(plain.stats()).toMatchObject({ rx_csum_completed: 1, rx_packets: 1 })
    }))

  it.effect("without metadata the NIC verifies the checksum over every buffer of the frame", () =>
    Effect.gen(function*() {
      const nic = yield* nicWithBuffers({ mac: MAC_B, mtu: 9000 }, 8, 4096)
      const good = tcpFrame({ payload: payloadOf(8960), checksum: "full" }).toUint8Array()
      const bad = good.slice()
      bad[bad.length - 1] ^= 0xff
      nic.receive(good)
      nic.receive(bad)
      expect(takeAll(nic).map((p) => p.meta.checksum._tag)).toEqual(["Unnecessary", "None"])
      expect(nic.stats()).toMatchObject({ rx_csum_offload_good: 1, rx_csum_offload_errors: 1 })
    }))
})

describe("TSO super-packets received whole", () => {
  it.effect("a 64 KiB super-packet arrives as one packet with GSO metadata and the same bytes", () =>
    Effect.gen(function*() {
      const nic = yield* nicWithBuffers({ mac: MAC_B }, 32, 4096)
      const payload = payloadOf(65535 - 40)
      const frame = tcpFrame({ payload, checksum: "partial" }).toUint8Array()
      nic.receive(frame, tso4(1448))
      const packets = takeAll(nic)
      expect(packets).toHaveLength(1)
      const [packet] = packets
      expect(packet?.toUint8Array()).toEqual(frame)
      expect(packet?.fragments).toHaveLength(16)
      expect(packet?.meta).toMatchObject({ gsoType: "tcpv4", gsoSize: 1448, gsoSegments: Math.ceil(payload.length / 1448) })
      // The host left the checksum partial: a capture completes it and finds it valid.
      expect(completedChecksum(frame)).toBe("valid")
      expect(nic.stats()).toMatchObject({ rx_gso_packets: 1, rx_gso_whole: 1, rx_packets: 1, rx_bytes: frame.length })
    }))

  it.effect("a super-packet larger than the ring holds is a length error; one the posted buffers cannot hold now is missed", () =>
    Effect.gen(function*() {
      const frame = tcpFrame({ payload: payloadOf(30_000), checksum: "partial" }).toUint8Array()
      const small = yield* nicWithBuffers({ mac: MAC_B, rxRingSize: 8 }, 8, 2048)
      small.receive(frame, tso4(1448))
      expect(small.stats()).toMatchObject({ rx_length_errors: 1, rx_missed_errors: 0, rx_packets: 0, rx_gso_packets: 0 })
      expect(small.rx[0].ring.posted).toBe(8)
      const short = yield* nicWithBuffers({ mac: MAC_B, rxRingSize: 64 }, 10, 2048)
      short.receive(frame, tso4(1448))
      expect(short.stats()).toMatchObject({ rx_missed_errors: 1, rx_queue_0_missed: 1, rx_packets: 0 })
      expect(short.rx[0].ring.posted).toBe(10)
    }))

  it.effect("malformed GSO metadata is dropped and counted", () =>
    Effect.gen(function*() {
      const nic = yield* nicWithBuffers({ mac: MAC_B }, 64, 4096)
      const frame = tcpFrame({ payload: payloadOf(20_000), checksum: "partial" }).toUint8Array()
      const bad: ReadonlyArray<FrameOffload> = [
        tso4(0),
        tso4(-5),
        tso4(1.5),
        tso4(1500), // a 1500-byte segment does not fit a 1500-byte MTU after its 40 bytes of headers
        { ...tso4(1448), gsoType: "tcpv6" },
        { ...tso4(1448), csumStart: 14 },
        { ...tso4(1448), csumOffset: 6 }
      ]
      for (const offload of bad) nic.receive(frame, offload)
      const truncated = frame.subarray(0, 2000)
      nic.receive(truncated, tso4(1448))
      expect(takeAll(nic)).toEqual([])
      expect(nic.stats()).toMatchObject({ rx_offload_errors: bad.length + 1, rx_packets: 0, rx_gso_packets: 0 })
      expect(nic.rx[0].ring.posted).toBe(64)
    }))

  it.effect("any bytes with any GSO metadata: received whole or counted, never thrown, the ring consistent", () =>
    Effect.gen(function*() {
      const nic = yield* nicWithBuffers({ mac: MAC_B, rxRingSize: 64 }, 64, 4096)
      const base = tcpFrame({ payload: payloadOf(12_000), checksum: "partial" }).toUint8Array()
      const tally = { sent: 0, whole: 0 }
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
          fc.integer({ min: 1520, max: base.length }),
          fc.record({
            flags: fc.constantFrom(0, NEEDS_CSUM, 2),
            csumStart: fc.integer({ min: -2, max: 80 }),
            csumOffset: fc.integer({ min: -2, max: 20 }),
            gsoType: fc.constantFrom("tcpv4" as const, "tcpv6" as const),
            gsoSize: fc.integer({ min: -1, max: 3000 }),
            hdrLen: fc.nat(100)
          }),
          (edits, length, offload) => {
            const frame = base.slice(0, length)
            // The IPv4 total length follows the cut (the header checksum is the network layer's to check).
            frame[16] = (length - 14) >>> 8
            frame[17] = (length - 14) & 0xff
            for (const [at, value] of edits) if (at < length) frame[at] = value
            const before = nic.stats()
            tally.sent++
            nic.receive(frame, offload)
            const after = nic.stats()
            const received = takeAll(nic)
            const counted = ["rx_offload_errors", "rx_length_errors", "rx_missed_errors"]
              .reduce((n, k) => n + (after[k] ?? 0) - (before[k] ?? 0), 0)
            expect(received.length + counted).toBe(1)
            tally.whole += received.length
            for (const p of received) {
              expect(p.toUint8Array()).toEqual(frame)
              expect(p.meta.gsoSegments).toBeGreaterThan(0)
              p.release()
            }
            // Nothing is left half-written; refill what was taken, as the driver would.
            const ring = nic.rx[0].ring
            expect(ring.done).toBe(0)
            while (ring.free > 0) {
              const b = PacketBuffer.alloc(4096)
              b.reserve(64)
              ring.post(b)
            }
            return true
          }
        ),
        { numRuns: 300 }
      )
      // The generator reaches both outcomes.
      expect(tally.whole).toBeGreaterThan(0)
      expect(tally.whole).toBeLessThan(tally.sent)
    }))
})
