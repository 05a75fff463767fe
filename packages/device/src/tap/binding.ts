/**
 * The TAP addon (`native/tap.c`, built by the package's install step with
 * node-gyp): loaded once, checked for the functions this package calls, or
 * the reason it is not there (not built, not Linux, a load error).
 */
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"
import { TapUnavailable } from "./errors.ts"

/** An open, polled TAP fd inside the addon. */
export type NativeTapHandle = { readonly __nativeTapHandle: unique symbol }

/** What the addon exports (see native/tap.c for each call). Its functions throw Errors with `code` and `errno`. */
export interface TapAddon {
  readonly open: (name: string, vnetHeaderSize: number) => { readonly fd: number; readonly name: string }
  readonly setOffload: (fd: number, flags: number) => void
  readonly setUp: (name: string, up: boolean) => void
  readonly start: (
    fd: number,
    readBuffer: ArrayBuffer,
    lengths: Uint32Array,
    status: Int32Array,
    onFrames: (count: number) => void,
    onWritable: () => void,
    onError: (code: string, message: string) => void,
    maxFrames: number
  ) => NativeTapHandle
  readonly write: (
    handle: NativeTapHandle,
    headers: Uint8Array,
    frames: ReadonlyArray<Uint8Array>,
    count: number,
    headerSize: number
  ) => number
  readonly close: (handle: NativeTapHandle) => void
  readonly closeFd: (fd: number) => void
}

const ADDON_PATH = "../../native/build/Release/netstack_tap.node"
const NOT_BUILT_NOTE = "../../native/build/not-built.txt"
const FUNCTIONS = ["open", "setOffload", "setUp", "start", "write", "close", "closeFd"] as const

const isAddon = (value: unknown): value is TapAddon =>
  typeof value === "object" && value !== null &&
  FUNCTIONS.every((name) => typeof (value as Record<string, unknown>)[name] === "function")

/** What the install step wrote when it could not build the addon, if anything. */
const installNote = (): string | undefined => {
  try {
    return readFileSync(fileURLToPath(new URL(NOT_BUILT_NOTE, import.meta.url)), "utf8").trim()
  } catch {
    return undefined
  }
}

let loaded: TapAddon | TapUnavailable | undefined = undefined

/** The addon, or why it cannot be used (loaded once). */
export const tapAddon = (): TapAddon | TapUnavailable => {
  if (loaded !== undefined) return loaded
  if (process.platform !== "linux") {
    loaded = new TapUnavailable({ reason: `TAP devices are Linux only (this is ${process.platform})` })
    return loaded
  }
  try {
    const module: unknown = createRequire(import.meta.url)(ADDON_PATH)
    loaded = isAddon(module)
      ? module
      : new TapUnavailable({ reason: "the TAP addon does not export open/setOffload/setUp/start/write/close" })
  } catch (error) {
    const note = installNote()
    const message = error instanceof Error ? error.message : String(error)
    loaded = new TapUnavailable({
      reason: `the TAP addon could not be loaded (${message})` +
        (note === undefined ? "; build it with `node packages/device/native/build.mjs`" : `; the install step said: ${note}`)
    })
  }
  return loaded
}
