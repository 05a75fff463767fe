/** Whole-frame decoding: typed layers with checksum verdicts, a tcpdump-like line, and JSON. */
export { type ChecksumStatus, type DecodedFrame, type DecodedLayer, decodeFrame, type IcmpNumbers } from "./frame.ts"
export { type FrameContext, frameToJson, type Json, toJson } from "./json.ts"
export { formatFrame } from "./render.ts"
