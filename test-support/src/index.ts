/**
 * @netstack/test-support: what tests across the packages share: which
 * tools and privileges the machine has, tshark as an oracle, throwaway
 * network namespaces with Linux on the other end, byte-array helpers, and
 * how many runs a property test makes.
 */
export { concatBytes } from "./bytes.ts"
export { propertyRuns } from "./property-runs.ts"
export { LINKTYPE_ETHERNET, LINKTYPE_IPV4, LINKTYPE_IPV6, rawPcap, withCapture } from "./capture.ts"
export { hasCommand, isRoot, skipReason } from "./tools.ts"
export { ExpertSeverity, PAYLOAD_AS_DATA, STRICT_PREFERENCES, type TsharkFrame, tsharkFields, tsharkProblems } from "./tshark.ts"
export { inNs, ip, makeNamespacePair, Namespace, type NamespacePair, outputMatching, spawnInNs, stop, stopChild, waitForOutput } from "./netns.ts"
