/** The package resolves through its workspace name and exports nothing yet (see the README feature table). */
import { describe, expect, it } from "@effect/vitest"

describe("@netstack/l3", () => {
  it("resolves and has an empty public API until its issue lands", async () => {
    const api = await import("@netstack/l3")
    expect(Object.keys(api)).toEqual([])
  })
})
