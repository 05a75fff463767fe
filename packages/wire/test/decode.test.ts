/**
 * Whole-frame decoding: every frame our emitters build decodes with every
 * checksum valid and no defect; any mangled frame decodes to a named defect
 * or fewer layers, and never throws; link padding is trimmed; renders and
 * JSON always work.
 */
import { describe, expect, it } from "@effect/vitest"
import { PacketBuffer } from "@netstack/buffers"
import { decodeFrame, formatFrame, frameToJson } from "@netstack/wire"
import { ethernetFrame, mutated } from "@netstack/wire/testing"
import fc from "fast-check"

const decode = (bytes: Uint8Array) => decodeFrame(PacketBuffer.wrap(bytes.slice()))

describe("decodeFrame", () => {
  it("decodes every emitted frame completely, with every checksum valid", () => {
    fc.assert(
      fc.property(ethernetFrame, (bytes) => {
        const frame = decode(bytes)
        expect(frame.defect).toBeUndefined()
        expect(frame.layers.length).toBeGreaterThanOrEqual(2)
        for (const layer of frame.layers) if ("checksum" in layer) expect(layer.checksum, layer.layer).toBe("valid")
        const line = formatFrame(frame)
        expect(line).not.toContain("[|")
        expect(JSON.parse(JSON.stringify(frameToJson(frame)))).toEqual(frameToJson(frame))
      }),
      { numRuns: 300 }
    )
  })

  it("never throws on mangled frames: it stops at a named defect or decodes fewer layers", () => {
    fc.assert(
      fc.property(mutated(ethernetFrame), (bytes) => {
        const frame = decode(bytes)
        if (frame.defect !== undefined) {
          expect(frame.defect.name).toMatch(/^[a-z0-9]+\.[a-z0-9-]+$/)
          expect(formatFrame(frame)).toContain(`[|${frame.defect.name}]`)
        }
        expect(() => JSON.stringify(frameToJson(frame))).not.toThrow()
      }),
      { numRuns: 500 }
    )
  })

  it("trims link-layer padding after the IP packet, so transport checksums still verify", () => {
    const [bytes] = fc.sample(
      ethernetFrame.filter((f) => f[12] === 0x08 && f[13] === 0x00 && f[23] === 17),
      { numRuns: 1, seed: 7 }
    )
    const padded = Uint8Array.from([...bytes, 0, 0, 0, 0, 0, 0])
    const frame = decode(padded)
    expect(frame.defect).toBeUndefined()
    const udp = frame.layers.find((l) => l.layer === "udp")
    expect(udp?.layer === "udp" ? udp.checksum : undefined).toBe("valid")
    expect(frame.length).toBe(bytes.length)
  })

  it("names the defect of a frame cut short, as tcpdump's [|proto]", () => {
    const [bytes] = fc.sample(ethernetFrame.filter((f) => f[12] === 0x08 && f[13] === 0x00), { numRuns: 1, seed: 3 })
    const frame = decode(bytes.subarray(0, 30))
    expect(frame.defect?.name).toBe("ipv4.truncated")
    expect(formatFrame(frame)).toMatch(/\[\|ipv4\.truncated\]$/)
    expect(formatFrame(decode(new Uint8Array(5)))).toBe("5 bytes [|ethernet.truncated]")
  })
})
