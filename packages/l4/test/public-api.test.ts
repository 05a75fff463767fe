/** The package resolves through its workspace name and exports nothing yet (see the README feature table). */
import { describe, expect, it } from "@effect/vitest"

describe("@netstack/l4", () => {
  it("resolves and has an empty public API until its issue lands", async () => {
    const api = await import("@netstack/l4")
    expect(Object.keys(api)).toEqual([])
  })
})
