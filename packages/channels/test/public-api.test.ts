/** The package resolves through its workspace name and exports exactly its public API. */
import { describe, expect, it } from "@effect/vitest"

describe("@netstack/channels", () => {
  it("exports the classifier, the channel table, channels and their counters", async () => {
    const api = await import("@netstack/channels")
    expect(Object.keys(api).sort()).toEqual(
      ["CLASSIFIED_HEADERS", "ChannelTable", "NetChannel", "NetChannelStats", "NetChannels", "classify", "slowPathReasons"].sort()
    )
  })
})
