/**
 * The README's examples are real: each file here is quoted verbatim in
 * README.md and runs to completion (each checks its own results with assert).
 */
import { describe, expect, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

const here = fileURLToPath(new URL(".", import.meta.url))
const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8")
const examples = readdirSync(here).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))

describe("README examples", () => {
  it.each(examples)("%s is quoted in README.md and runs", (file) => {
    const source = readFileSync(new URL(file, import.meta.url), "utf8")
    expect(readme).toContain("```ts\n" + source + "```")
    const run = spawnSync(process.execPath, [`${here}${file}`], { encoding: "utf8", timeout: 60_000 })
    expect(run.stderr).toBe("")
    expect(run.status).toBe(0)
  })
})
