/**
 * `npm run fuzz`: the same property tests with a random seed (printed) and
 * many more runs per property. Long; not part of `npm test`.
 */
import { defineConfig } from "vitest/config"
import projects from "./vitest.workspace.ts"

// Workers load this file again and inherit the variables set below, so the seed is chosen and printed once.
if (process.env["FC_SEED"] === undefined) {
  process.env["FC_SEED"] = String(Math.floor(Math.random() * 0x7fffffff))
  process.env["FC_RUNS"] = process.env["FC_RUNS"] ?? "5000"
  console.log(`fuzz: FC_SEED=${process.env["FC_SEED"]} FC_RUNS=${process.env["FC_RUNS"]} (set both to replay)`)
}

export default defineConfig({
  test: {
    // Each project sets its own timeout for ordinary runs; fuzzing runs far longer.
    projects: projects.map((project) => ({ test: { ...project.test, testTimeout: 600_000 } })),
    reporters: ["default", "@netstack/test-support/summary-reporter"],
    passWithNoTests: true,
    testTimeout: 600_000
  }
})
