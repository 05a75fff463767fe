/**
 * Vitest setup for every project: property tests run with a fixed seed so a
 * run is reproducible. `FC_SEED` picks another seed, `FC_RUNS` changes the
 * number of runs per property (`npm run fuzz` sets both: a random seed and
 * many runs; the seed is printed so a failure can be replayed).
 */
import fc from "fast-check"

const seed = process.env["FC_SEED"] === undefined ? 0x5eed : Number(process.env["FC_SEED"])
const runs = process.env["FC_RUNS"] === undefined ? undefined : Number(process.env["FC_RUNS"])

fc.configureGlobal({ seed, ...(runs === undefined ? {} : { numRuns: runs }) })
