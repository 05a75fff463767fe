/**
 * The driver with mergeable receive buffers: page-sized buffers for large
 * MTUs, so the pool stays small; frames longer than a buffer come up as one
 * packet whose later buffers are fragments; NAPI's budget counts frames; and,
 * whatever the frame sizes and however late the refills, every frame either
 * arrives intact or is counted, and every buffer comes back.
 */
import { describe, expect, it } from "@effect/vitest"
import { PacketBuffer } from "@netstack/buffers"
import { NEEDS_CSUM, Nic, Wire } from "@netstack/device"
import { Driver, type DriverOptions, GroEngine, ReceiveHandler, Softirq } from "@netstack/driver"
import fc from "fast-check"
import { Effect } from "effect"
import { settle, tcpFrame } from "./support/rig.ts"

const MiB = 1024 * 1024
/** Page-sized receive buffers, as a large-MTU NIC may be given (`rxBufferSize`). */
const PAGES: DriverOptions = { rxBufferSize: 4096 }

/** A NIC and driver whose handler keeps every packet until the test lets it go (a socket or reassembly queue). */
const heldRig = (mtu: number, rxRingSize: number, driverOptions: DriverOptions = {}) =>
  Effect.gen(function*() {
    const nic = yield* Nic.make({ mac: 0x020000000001, mtu, rxRingSize })
    const held: Array<PacketBuffer> = []
    const driver = yield* Driver.make({ gro: (b) => b, ...driverOptions }).pipe(
      Effect.provideService(Nic, nic),
      Effect.provideService(Softirq, yield* Softirq.make()),
      Effect.provideService(ReceiveHandler, { receive: (p: PacketBuffer) => void held.push(p) })
    )
    return { nic, driver, held }
  })

/** A frame of `length` bytes (an experimental EtherType, so nothing parses it) numbered `n`. */
const frameOf = (length: number, n: number): Uint8Array => {
  const frame = Uint8Array.from({ length }, (_, i) => (i * 7 + n * 13) & 0xff)
  frame[12] = 0x88
  frame[13] = 0xb5
  if (length >= 18) new DataView(frame.buffer).setUint32(14, n)
  return frame
}

/** A TCP/IPv4 super-packet of `payload` bytes with a partial checksum, as Linux hands one to a TAP. */
const tcpSuperPacket = (payload: number, sequence: number): Uint8Array => tcpFrame(payload, sequence, 0x10).toUint8Array()

describe("receive buffers", () => {
  it.effect("a 64 KiB-MTU NIC holds whole frames by default; given page-sized buffers, it preallocates at most 8 MiB", () =>
    Effect.gen(function*() {
      const whole = yield* heldRig(65535, 64)
      expect(whole.driver.rxPoolStats().bufferSize).toBe(64 + 65535 + 18)
      const { driver, nic } = yield* heldRig(65535, 1024, PAGES)
      const pool = driver.rxPoolStats()
      expect(pool.bufferSize).toBe(4096)
      expect(pool.capacity * pool.bufferSize).toBeLessThanOrEqual(8 * MiB)
      expect(nic.rx[0].ring.posted).toBe(1024)
    }))

  it.effect("rings that need more than 8 MiB get it by growing the pool, not by preallocating it", () =>
    Effect.gen(function*() {
      const nic = yield* Nic.make({ mac: 0x020000000001, mtu: 65535, rxQueues: 4, txQueues: 4, rxRingSize: 1024 })
      const driver = yield* Driver.make(PAGES).pipe(
        Effect.provideService(Nic, nic),
        Effect.provideService(Softirq, yield* Softirq.make()),
        Effect.provideService(ReceiveHandler, { receive: (p: PacketBuffer) => void p.release() })
      )
      const pool = driver.rxPoolStats()
      expect(pool.capacity - pool.grown).toBe((8 * MiB) / 4096)
      expect(pool.capacity).toBe(4 * 1024)
      expect(nic.rx.map((q) => q.ring.posted)).toEqual([1024, 1024, 1024, 1024])
    }))

  it.effect("an MTU whose frames fit a page keeps one frame per buffer (2 KiB at least), unless told otherwise", () =>
    Effect.gen(function*() {
      const standard = yield* heldRig(1500, 256)
      expect(standard.driver.rxPoolStats()).toMatchObject({ bufferSize: 2048, capacity: 1024 })
      const large = yield* heldRig(4000, 256)
      expect(large.driver.rxPoolStats().bufferSize).toBe(64 + 4000 + 18)
      const chosen = yield* heldRig(1500, 256, { rxBufferSize: 4096 })
      expect(chosen.driver.rxPoolStats()).toMatchObject({ bufferSize: 4096, capacity: 1024 })
    }))

  it.effect("frames of 9000 and 65535 bytes come up as one packet each, with their buffers as fragments", () =>
    Effect.gen(function*() {
      const { nic, driver, held } = yield* heldRig(65535, 64, PAGES)
      const frames = [frameOf(9000, 1), frameOf(65535, 2), frameOf(60, 3)]
      for (const f of frames) nic.receive(f)
      yield* settle
      expect(held.map((p) => p.toUint8Array())).toEqual(frames)
      expect(held.map((p) => p.fragments.length)).toEqual([2, 16, 0])
      expect(nic.rx[0].ring.posted).toBe(64)
      expect(driver.rxPoolStats().inUse).toBe(64 + 3 + 17 + 1)
      for (const p of held.splice(0)) p.release()
      expect(driver.rxPoolStats().inUse).toBe(64)
    }))

  it.effect("frames a medium lends (page flips) cost no buffer: the ones they displace are posted again, not taken from the pool", () =>
    Effect.gen(function*() {
      const { nic, driver, held } = yield* heldRig(1500, 16)
      const wire = yield* Wire.make()
      nic.attach(wire.b)
      const before = driver.rxPoolStats()
      const returned: Array<Uint8Array> = []
      const frames: Array<Uint8Array> = []
      for (let n = 0; n < 40; n++) {
        // Lent memory with the driver's 64 bytes of headroom in front of the frame, as a transmit DMA lays it out.
        const frame = new Uint8Array(new ArrayBuffer(2048), 64, 200)
        frame.set(frameOf(200, n))
        frames.push(frame.slice())
        wire.a.send(frame, (f) => void returned.push(f))
        yield* settle
      }
      expect(held.map((p) => p.toUint8Array())).toEqual(frames)
      expect(nic.stats()).toMatchObject({ rx_packets: 40, rx_flipped: 40 })
      // Forty frames through a 16-descriptor ring, and the pool handed out not one buffer more.
      expect(driver.rxPoolStats()).toMatchObject({ acquired: before.acquired, inUse: 16 })
      expect(nic.rx[0].ring.posted).toBe(16)
      for (const p of held.splice(0)) p.release()
      expect(returned).toHaveLength(40)
    }))

  it.effect("NAPI's budget counts frames, not buffers", () =>
    Effect.gen(function*() {
      const { nic, driver, held } = yield* heldRig(65535, 64, PAGES)
      driver.setBusyPolling(0, true)
      for (let i = 0; i < 5; i++) nic.receive(frameOf(9000, i))
      expect(nic.rx[0].ring.done).toBe(15)
      expect(driver.busyPoll(0, 2)).toBe(2)
      expect(held).toHaveLength(2)
      // Every descriptor the two frames freed is posted again.
      expect({ posted: nic.rx[0].ring.posted, done: nic.rx[0].ring.done }).toEqual({ posted: 55, done: 9 })
      expect(driver.busyPoll(0, 64)).toBe(3)
      expect(nic.rx[0].ring.posted).toBe(64)
      for (const p of held.splice(0)) p.release()
    }))

  it.effect("a TSO super-packet from the medium reaches the handler as one packet through GRO, with its GSO metadata", () =>
    Effect.gen(function*() {
      const gro = GroEngine.make()
      const { nic, driver, held } = yield* heldRig(1500, 256, { gro: gro.receive })
      const frames = [tcpSuperPacket(45 * 1448, 1), tcpSuperPacket(10 * 1448 + 7, 1 + 45 * 1448)]
      for (const f of frames) {
        nic.receive(f, { flags: NEEDS_CSUM, csumStart: 34, csumOffset: 16, gsoType: "tcpv4", gsoSize: 1448, hdrLen: 54 })
      }
      yield* settle
      expect(held.map((p) => p.toUint8Array())).toEqual(frames)
      expect(held.map((p) => ({ type: p.meta.gsoType, size: p.meta.gsoSize, segments: p.meta.gsoSegments, checksum: p.meta.checksum._tag })))
        .toEqual([
          { type: "tcpv4", size: 1448, segments: 45, checksum: "Partial" },
          { type: "tcpv4", size: 1448, segments: 11, checksum: "Partial" }
        ])
      expect(gro.stats()).toMatchObject({ packetsIn: 2, packetsOut: 2, mergedAway: 0 })
      expect(nic.stats()).toMatchObject({ rx_gso_whole: 2, rx_packets: 2 })
      for (const p of held.splice(0)) p.release()
      expect(driver.rxPoolStats().inUse).toBe(nic.rx[0].ring.posted)
    }))

  it.effect("any frame sizes, any refill timing: each frame arrives intact or is counted, and no buffer leaks", () =>
    Effect.gen(function*() {
      // A small ring (12 × 4,032 bytes: a 64 KiB frame never fits) and a pool that may run dry while packets are held.
      const { nic, driver, held } = yield* heldRig(65535, 12, { ...PAGES, rxBuffers: 12, rxBuffersMax: 20 })
      driver.setBusyPolling(0, true)
      const ring = nic.rx[0].ring
      const action = fc.oneof(
        fc.record({ kind: fc.constant("frame" as const), length: fc.oneof(fc.integer({ min: 14, max: 65553 }), fc.integer({ min: 14, max: 9000 })) }),
        fc.record({ kind: fc.constant("poll" as const), budget: fc.integer({ min: 1, max: 8 }) }),
        fc.record({ kind: fc.constant("release" as const), count: fc.integer({ min: 1, max: 6 }) })
      )
      let n = 0
      const tally = { arrived: 0, dropped: 0, multiBuffer: 0 }
      fc.assert(
        fc.property(fc.array(action, { maxLength: 60 }), (actions) => {
          const sent: Array<Uint8Array> = []
          const arrived: Array<Uint8Array> = []
          const kept: Array<PacketBuffer> = []
          let dropped = 0
          /** Copies out what the last poll passed up; the packets stay held. */
          const collect = (): void => {
            for (const p of held.splice(0)) {
              arrived.push(p.toUint8Array())
              if (p.fragments.length > 0) tally.multiBuffer++
              kept.push(p)
            }
          }
          for (const a of actions) {
            if (a.kind === "frame") {
              const frame = frameOf(a.length, n++)
              const before = nic.stats()
              nic.receive(frame)
              const after = nic.stats()
              if (after.rx_packets === before.rx_packets) {
                dropped++
                expect(after.rx_missed_errors + after.rx_length_errors).toBe(before.rx_missed_errors + before.rx_length_errors + 1)
              } else {
                sent.push(frame)
              }
            } else if (a.kind === "poll") {
              expect(driver.busyPoll(0, a.budget)).toBeLessThanOrEqual(a.budget)
              collect()
            } else {
              for (const p of kept.splice(0, a.count)) p.release()
            }
          }
          for (const p of kept.splice(0)) p.release()
          while (driver.busyPoll(0, 64) > 0) {
            collect()
            for (const p of kept.splice(0)) p.release()
          }
          tally.arrived += arrived.length
          tally.dropped += dropped
          expect(arrived).toEqual(sent)
          expect(sent.length + dropped).toBe(actions.filter((a) => a.kind === "frame").length)
          // Nothing is left half-received, and the pool holds exactly the posted buffers.
          expect(ring.done).toBe(0)
          expect(driver.rxPoolStats().inUse).toBe(ring.posted)
          expect(ring.posted).toBe(12)
          return true
        }),
        { numRuns: 150 }
      )
      // The runs saw frames arrive over several buffers, and frames dropped.
      expect(tally.multiBuffer).toBeGreaterThan(0)
      expect(tally.dropped).toBeGreaterThan(0)
      expect(tally.arrived).toBeGreaterThan(tally.multiBuffer)
    }))
})
