/**
 * The list of test projects: one per package under `packages/`.
 * Vitest 5 no longer reads this file by itself; `vitest.config.ts` imports it.
 */

/** Package folders under `packages/`, bottom of the stack first. */
export const packages = ["buffers", "wire", "device", "driver", "l2", "l3", "l4", "channels", "stack", "sockets", "cli"] as const

/** One vitest project per package, named after it, running its `test/**\/*.test.ts`; and the README examples. */
export default [
  ...packages.map((name) => ({
    test: {
      name,
      root: `packages/${name}`,
      include: ["test/**/*.test.ts"],
      setupFiles: ["@netstack/test-support/fast-check-setup"],
      passWithNoTests: true,
      // Tests that start tshark, tcpdump or Linux namespaces take seconds on a busy 2-core machine.
      testTimeout: 30_000
    }
  })),
  { test: { name: "examples", root: "examples", include: ["*.test.ts"], testTimeout: 30_000 } }
]
