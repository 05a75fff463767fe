/** The package resolves through its workspace name and exports its public API. */
import { describe, expect, it } from "@effect/vitest"

describe("@netstack/sockets", () => {
  it("exports the socket service, the socket kinds, readiness, errors and the effect/socket implementations", async () => {
    const api = await import("@netstack/sockets")
    expect(Object.keys(api)).toEqual(expect.arrayContaining([
      "Sockets",
      "makeSockets",
      "StreamSocket",
      "StreamListener",
      "DatagramSocket",
      "RawSocket",
      "PacketSocket",
      "PollSet",
      "PollBits",
      "awaitReadiness",
      "NetstackSocketError",
      "ERRNO",
      "EffectSocket",
      "EffectSocketServer",
      "EffectDatagramSocket"
    ]))
    expect(Object.keys(api.EffectSocket).sort()).toEqual(["fromOpen", "fromStreamSocket", "layerNet", "makeNet"])
    expect(Object.keys(api.EffectSocketServer).sort()).toEqual(["layer", "make"])
    expect(Object.keys(api.EffectDatagramSocket).sort()).toEqual(["layer", "make"])
  })
})
