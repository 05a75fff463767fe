// The install step of @netstack/device: builds the TAP addon (tap.c) from source with the node-gyp that npm
// bundles, against Node headers found on this machine (never downloaded: only the npm registry is reachable).
// Whatever goes wrong, the install succeeds: it prints a warning, and opening a TAP device then fails with a
// typed error that carries the reason (TapUnavailable).
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, writeFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, "..", "..", "..")
const reasonFile = join(here, "build", "not-built.txt")

const warn = (reason) => {
  console.warn(`@netstack/device: the TAP addon was not built (${reason}); TAP media will be unavailable.`)
  try {
    mkdirSync(dirname(reasonFile), { recursive: true })
    writeFileSync(reasonFile, reason + "\n")
  } catch {
    // nothing more to do
  }
  process.exit(0)
}

if (process.platform !== "linux") warn(`TAP devices are Linux only, this is ${process.platform}`)

// Node headers, first that has node_api.h: the `node` devDependency's arch package, the system's, the running
// node's own. node-gyp's --nodedir is the folder holding include/node.
const arch = `node-${process.platform}-${process.arch}`
const candidates = [
  join(root, "node_modules", "node", "node_modules", arch, "include", "node"),
  join(root, "node_modules", arch, "include", "node"),
  "/usr/include/node",
  join(dirname(process.execPath), "..", "include", "node")
]
const headers = candidates.find((dir) => existsSync(join(dir, "node_api.h")))
if (headers === undefined) warn(`no Node headers with node_api.h in ${candidates.join(", ")}`)
const nodedir = resolve(headers, "..", "..")

// npm tells its scripts where its bundled node-gyp is; else look beside npm itself.
const gypCandidates = [
  process.env.npm_config_node_gyp,
  process.env.npm_execpath && join(dirname(process.env.npm_execpath), "..", "node_modules", "node-gyp", "bin", "node-gyp.js"),
  "/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js",
  join(dirname(process.execPath), "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js")
].filter((p) => typeof p === "string" && p.length > 0)
const gyp = gypCandidates.find((p) => existsSync(p))
if (gyp === undefined) warn(`node-gyp not found (looked in ${gypCandidates.join(", ")})`)

const result = spawnSync(process.execPath, [gyp, "rebuild", `--nodedir=${nodedir}`], {
  cwd: here,
  stdio: ["ignore", "inherit", "inherit"],
  env: { ...process.env, npm_config_nodedir: nodedir }
})
if (result.error !== undefined) warn(`node-gyp could not run: ${result.error.message}`)
if (result.status !== 0) warn(`node-gyp exited with ${result.status ?? result.signal} (headers ${headers})`)
console.log(`@netstack/device: built the TAP addon against ${headers}`)
