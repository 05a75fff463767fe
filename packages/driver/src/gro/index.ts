/** GRO: merging the in-order TCP segments of a flow in a NAPI batch into one super-packet. */
export { GroEngine, type GroOptions, type GroStats } from "./gro.ts"
