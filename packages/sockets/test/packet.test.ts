/**
 * Packet sockets (packet(7)) on a device: every ARP and IP frame it sends
 * and receives, whole, with the packet type (outgoing, to us, broadcast);
 * an EtherType filter; and sending a hand-made frame (an ARP request the
 * peer answers), with the errors of a bad send.
 */
import { describe, expect, it } from "@effect/vitest"
import { advanceClock, whileClockAdvances } from "@netstack/stack"
import { Effect, Result } from "effect"
import type { Frame } from "@netstack/sockets"
import { pair } from "./support/pair.ts"

/** The 6 bytes of a MAC address. */
const macBytes = (mac: number): Array<number> => [0, 1, 2, 3, 4, 5].map((i) => Math.floor(mac / 2 ** (8 * (5 - i))) & 0xff)

/** An Ethernet frame holding an ARP request (RFC 826) from `mac`/`ip` for `target`. */
const arpRequest = (mac: number, ip: ReadonlyArray<number>, target: ReadonlyArray<number>): Uint8Array =>
  Uint8Array.from([
    ...[0xff, 0xff, 0xff, 0xff, 0xff, 0xff], ...macBytes(mac), 0x08, 0x06,
    0, 1, 0x08, 0x00, 6, 4, 0, 1, ...macBytes(mac), ...ip, 0, 0, 0, 0, 0, 0, ...target
  ])

/** Everything queued on a socket now. */
const drain = (take: () => Frame | undefined): Array<Frame> => {
  const out: Array<Frame> = []
  for (let f = take(); f !== undefined; f = take()) out.push(f)
  return out
}

describe("packet sockets", () => {
  it.effect("see the ARP and IP frames a device sends and receives, whole, with their packet types", () =>
    Effect.gen(function*() {
      const { a, sa, devA } = yield* pair()
      const all = yield* sa.packet({ device: devA.name })
      const arpOnly = yield* sa.packet({ protocol: 0x0806 })
      // Both hosts announce their addresses (gratuitous ARP, RFC 5227 §2.3): broadcasts each sees.
      yield* advanceClock(5_000, 10)
      const announcements = drain(() => all.tryReceive())
      expect(announcements.length).toBeGreaterThan(0)
      expect(announcements.every((f) => f.protocol === 0x0806 && (f.packetType === "outgoing" || f.packetType === "broadcast"))).toBe(true)
      expect(announcements.some((f) => f.packetType === "broadcast")).toBe(true)
      drain(() => arpOnly.tryReceive())
      const ping = yield* whileClockAdvances(a.ping("10.0.0.2"))
      expect(ping._tag).toBe("Success")
      const frames = drain(() => all.tryReceive())
      const summary = frames.map((f) => [f.protocol, f.packetType, f.device])
      // ARP request out (broadcast), ARP reply in (to us), echo request out, echo reply in.
      expect(summary).toEqual([
        [0x0806, "outgoing", devA.name],
        [0x0806, "host", devA.name],
        [0x0800, "outgoing", devA.name],
        [0x0800, "host", devA.name]
      ])
      const request = frames[2]?.data ?? new Uint8Array(0)
      expect(request.subarray(6, 12)).toEqual(Uint8Array.from(macBytes(devA.mac)))
      expect(request[14 + 9]).toBe(1) // ICMP
      expect(request[14 + 20]).toBe(8) // echo request
      const arp = yield* Effect.forEach([0, 1], () => sa.receive(arpOnly))
      expect(arp.map((f) => f.protocol)).toEqual([0x0806, 0x0806])
    }).pipe(Effect.scoped))

  it.effect("send a whole frame out of a device: the peer answers the ARP request it carries", () =>
    Effect.gen(function*() {
      const { sa, devA } = yield* pair()
      yield* advanceClock(5_000, 10) // past the gratuitous ARPs
      const socket = yield* sa.packet({ device: devA.name, protocol: 0x0806 })
      const watcher = yield* sa.packet({ device: devA.name, protocol: 0x0806 })
      const request = arpRequest(devA.mac, [10, 0, 0, 1], [10, 0, 0, 2])
      yield* sa.send(socket, request)
      // Another packet socket sees the frame go out as given; the sender does not see its own (Linux `skb_loop_sk`).
      const sent = watcher.tryReceive()
      expect(sent?.packetType).toBe("outgoing")
      expect(sent?.data).toEqual(request)
      const answered = yield* whileClockAdvances(sa.receive(socket), 1_000)
      expect(answered._tag).toBe("Success")
      if (answered._tag !== "Success") return
      const reply = answered.success
      expect(reply.packetType).toBe("host")
      expect(reply.data[21]).toBe(2) // ARP reply
      expect(Array.from(reply.data.subarray(28, 32))).toEqual([10, 0, 0, 2])
      yield* advanceClock(1)
      const short = yield* Effect.result(sa.send(socket, new Uint8Array(10)))
      expect(Result.isFailure(short) && short.failure.errno).toBe("EINVAL")
      const big = yield* Effect.result(sa.send(socket, new Uint8Array(devA.mtu + 100)))
      expect(Result.isFailure(big) && big.failure.errno).toBe("EMSGSIZE")
      const unbound = yield* sa.packet()
      const nowhere = yield* Effect.result(sa.send(unbound, arpRequest(devA.mac, [10, 0, 0, 1], [10, 0, 0, 2])))
      expect(Result.isFailure(nowhere) && nowhere.failure.errno).toBe("ENODEV")
      const noSuch = yield* Effect.result(sa.packet({ device: "eth9" }))
      expect(Result.isFailure(noSuch) && noSuch.failure.errno).toBe("ENODEV")
    }).pipe(Effect.scoped))
})
