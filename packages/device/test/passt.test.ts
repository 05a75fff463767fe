/**
 * passt as a medium: started on a socket pair (`passt --foreground --fd 3`),
 * QEMU stream framing. passt answers ARP for its gateway address itself, so
 * the exchange stays between this process and passt (no frame is sent that
 * passt would carry to the host's network). Skipped, with the reason
 * printed, without `passt`; a missing program is a typed error either way.
 */
import { PacketBuffer } from "@netstack/buffers"
import { describe, expect, it } from "@effect/vitest"
import { Passt, type PasstMedium } from "@netstack/device"
import { skipReason } from "@netstack/test-support"
import { ArpView, emitArp, emitEthernet } from "@netstack/wire"
import { Effect } from "effect"
import { nicWithBuffers, takeAll } from "./support/frames.ts"

const reason = skipReason("the passt medium", ["passt"])

const OUR_MAC = 0x020000000042
const GATEWAY = 0xc0000201 // 192.0.2.1 (TEST-NET-1, RFC 5737), given to passt as the guest's gateway
const GUEST = 0xc0000202 // 192.0.2.2

const eventually = (done: () => boolean, ms = 10_000) =>
  Effect.gen(function*() {
    for (let waited = 0; !done() && waited < ms; waited += 10) yield* Effect.sleep("10 millis")
    return done()
  })

describe("passt", () => {
  it.live.skipIf(reason !== undefined)("answers ARP for its gateway over the socket pair, and stops with the scope", () =>
    Effect.gen(function*() {
      const seen: { medium?: PasstMedium } = {}
      yield* Effect.scoped(Effect.gen(function*() {
        const passt = yield* Passt.start({
          args: ["--quiet", "--tcp-ports", "none", "--udp-ports", "none", "--address", "192.0.2.2", "--netmask", "24", "--gateway", "192.0.2.1"]
        })
        seen.medium = passt
        const nic = yield* nicWithBuffers({ mac: OUR_MAC })
        nic.attach(passt)
        const request = PacketBuffer.alloc(128)
        request.reserve(128)
        emitArp(request, { operation: 1, senderMac: OUR_MAC, senderIpv4: GUEST, targetMac: 0, targetIpv4: GATEWAY })
        emitEthernet(request, { destination: 0xffffffffffff, source: OUR_MAC, etherType: 0x0806 })
        nic.tx[0].ring.fill(request)
        nic.tx[0].kick()
        const replies: Array<ArpView> = []
        const answered = yield* eventually(() => {
          for (const p of takeAll(nic)) {
            const arp = ArpView.parse(p, 14)
            if (arp instanceof ArpView && arp.operation === 2) replies.push(arp)
          }
          return replies.length > 0
        })
        expect(answered, `passt did not answer; it said: ${passt.stderr()}`).toBe(true)
        expect(replies[0]?.senderIpv4).toBe(GATEWAY)
        expect(replies[0]?.targetMac).toBe(OUR_MAC)
        expect(passt.counters()).toMatchObject({ txFrames: 1, connections: 1 })
        expect(passt.counters().rxFrames).toBeGreaterThanOrEqual(1)
        expect(passt.connected()).toBe(true)
      }))
      // The scope stopped passt and waited for it to exit.
      expect(seen.medium?.exit()).toBeDefined()
    }), 30_000)

  it.live("a missing program is PasstUnavailable", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.scoped(Passt.start({ command: "/nonexistent/netstack-passt" })))
      expect(error._tag).toBe("PasstUnavailable")
      expect(error.reason).toContain("not installed")
    }))
})
