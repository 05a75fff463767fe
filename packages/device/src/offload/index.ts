/** Segmentation offload: software GSO for TCP super-packets, and the storage runs it shares payload through. */
export { GsoDefect, type GsoOptions, isGsoDefect, segmentIfNeeded, segmentTcp } from "./gso.ts"
export { countStorageRuns, forEachStorageRun, type StorageRunVisitor } from "./runs.ts"
