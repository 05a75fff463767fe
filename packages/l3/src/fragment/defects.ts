/** Why `fragmentIpv4` refuses a datagram, and why the reassembler drops a fragment. */
import { headerDefects, isHeaderDefect } from "@netstack/wire"

/**
 * Fragmentation defects (preallocated; `name` is the drop counter, `fragment.<reason>`):
 * - `df-set`: the datagram is larger than the MTU and has Don't Fragment set; the caller sends
 *   ICMP destination unreachable, fragmentation needed, with the MTU (RFC 791 §3.2; RFC 1191 §4);
 * - `mtu-too-small`: the MTU is below 68 (RFC 791 §3.2, "Every internet module must be able to
 *   forward a datagram of 68 octets"; RFC 1122 §3.3.2) or below the header plus 8 data bytes;
 * - `bad-header`: the input is not a well-formed IPv4 packet (`Ipv4View.parse` refuses it, or it was released);
 * - `bad-checksum`: its header checksum does not verify (fragments would launder the corruption);
 * - `bad-offset`: its fragment offset plus its data runs past the largest datagram (65535 bytes);
 * - `partial-checksum`: its transport checksum is left for offload (`Partial`) and could not be
 *   completed in software first (Linux `ip_do_fragment` calls `skb_checksum_help`);
 * - `gso-packet`: a GSO super-packet; it is segmented, never fragmented (Linux `ip_finish_output_gso`).
 */
export const FragmentDefect = headerDefects("fragment", [
  "df-set",
  "mtu-too-small",
  "bad-header",
  "bad-checksum",
  "bad-offset",
  "partial-checksum",
  "gso-packet"
])
/** A fragmentation defect. */
export type FragmentDefect = (typeof FragmentDefect)[keyof typeof FragmentDefect]

/** True when `fragmentIpv4` refused its input (a `FragmentDefect`), false for the list of fragments. */
export const isFragmentDefect = (u: unknown): u is FragmentDefect => isHeaderDefect(u) && u.header === "fragment"

/**
 * Why `Reassembler.add` dropped a fragment (the caller counts it as `reassembly.<reason>`):
 * - `duplicate`: an exact copy of a fragment already held; dropped alone (Linux `IPFRAG_DUP`);
 * - `overlap`: it overlaps data already held without being an exact copy; the whole datagram
 *   is dropped (Linux `IPFRAG_OVERLAP` since CVE-2018-5391; RFC 5722 §4 for IPv6, in spirit);
 * - `inconsistent`: it contradicts the datagram's end (a second last fragment with another end,
 *   or data past the end); the whole datagram is dropped (Linux `ip_frag_queue`, `discard_qp`);
 * - `too-big`: the reassembled datagram would exceed 65535 bytes (the "ping of death");
 *   the whole datagram is dropped (Linux `ip_frag_reasm`, `out_oversize`);
 * - `ecn-mismatch`: Not-ECT mixed with ECT or CE fragments (RFC 3168 §5.3; Linux `ip_frag_ecn_table`);
 *   the whole datagram is dropped;
 * - `memory`: the bytes held are at the high threshold; refused (Linux ≥ 4.17 `inet_frag_alloc`);
 * - `queue-limit`: a new datagram while the number of datagrams being reassembled is at its bound;
 * - `invalid`: not a well-formed IPv4 fragment (bad header, or no data once a non-last fragment's
 *   data is cut to a multiple of 8 bytes).
 */
export type ReassemblyDrop =
  | "duplicate"
  | "overlap"
  | "inconsistent"
  | "too-big"
  | "ecn-mismatch"
  | "memory"
  | "queue-limit"
  | "invalid"
