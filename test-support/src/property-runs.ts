/**
 * How many runs a property test makes: its own count in `npm test`, or
 * `FC_RUNS` when set (`npm run fuzz` sets many). The seed comes from the
 * global setup (`fast-check-setup.ts`), so a property should not pin one.
 */

/** Runs per property: `n`, or `FC_RUNS` when set (`npm run fuzz`). */
export const propertyRuns = (n: number): number => process.env["FC_RUNS"] === undefined ? n : Number(process.env["FC_RUNS"])
