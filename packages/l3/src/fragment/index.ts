/** IPv4 fragmentation and reassembly (RFC 791 §3.2, RFC 815; Linux ip_output.c and ip_fragment.c). */
export { FragmentDefect, isFragmentDefect, type ReassemblyDrop } from "./defects.ts"
export { fragmentIpv4, IPV4_MAX_DATAGRAM, IPV4_MIN_MTU } from "./fragment.ts"
export {
  Reassembler,
  type ReassemblerOptions,
  REASSEMBLY_FRAGMENT_OVERHEAD,
  ReassemblyStats,
  type ReassemblyTimers
} from "./reassembly.ts"
