/**
 * The net-channel classifier (Van Jacobson's net channels, 2006; OSv's
 * `net_channel` classifier): decides, from the first 54 bytes of a received
 * frame, whether it is an IPv4 TCP segment of a flow that has a channel and
 * may skip the link and network layers.
 *
 * It reads the bytes in place (no view objects, no copies, no pulls: a
 * refused packet is left exactly as it came) and refuses, with a named
 * reason, anything the slow path would treat in any other way than
 * "strip Ethernet, strip IPv4, deliver to TCP": frames not addressed to the
 * device, other EtherTypes (ARP, 802.1Q, IPv6), IPv4 headers that are
 * malformed (RFC 791 §3.1), carry options, fail their checksum (RFC 791
 * §3.1 "Header Checksum"; no NIC here verifies IPv4 header checksums, so it
 * is always summed, 20 bytes), are fragments (RFC 791 §3.2: reassembly is
 * IP's), come from a martian source (RFC 1812 §5.3.7) or are not for a
 * local unicast address, datagrams the packet filter would see, and TCP
 * segments with SYN, FIN or RST (RFC 9293 §3.10.7: they change the
 * connection's state; the slow path handles them). What it accepts the
 * slow path would have delivered to TCP unchanged, so the fast path and the
 * slow path give TCP the same segments. The TCP checksum is left to TCP
 * input, which both paths share.
 */
import type { PacketBuffer } from "@netstack/buffers"
import { sumBytes } from "@netstack/buffers"
import {
  ETHERNET_HEADER_LENGTH,
  EtherTypes,
  IPV4_HEADER_LENGTH,
  readMac,
  readU16,
  readU32,
  TCP_HEADER_LENGTH,
  TcpFlags
} from "@netstack/wire"

/** Why the classifier left a packet to the slow path (counted per reason in `NetChannelStats.slowPath`). */
export type SlowPathReason =
  /** The interface is down, or a bridge port (its frames belong to the bridge). */
  | "device"
  /** A packet tap (a capture, a packet socket) watches the host's frames: it must see this one (Linux's `ptype_all` taps run before any protocol). */
  | "tapped"
  /** Shorter than the headers it claims. */
  | "truncated"
  /** The headers are not all in the linear area (the slow path pulls them). */
  | "nonlinear"
  /** Not addressed to the interface's own MAC address (broadcast, multicast, another host). */
  | "not-for-host"
  /** Not IPv4 (ARP, 802.1Q, IPv6 …). */
  | "not-ipv4"
  /** IPv4 version, header length or total length invalid (RFC 791 §3.1). */
  | "ip-bad-header"
  /** IPv4 options present (the slow path processes them). */
  | "ip-options"
  /** The IPv4 header checksum fails (RFC 791 §3.1). */
  | "ip-bad-checksum"
  /** A fragment (MF or an offset): reassembly is the slow path's (RFC 791 §3.2). */
  | "ip-fragment"
  /** Not TCP. */
  | "not-tcp"
  /** A broadcast, multicast or (off loopback) 127/8 source (RFC 1812 §5.3.7). */
  | "martian-source"
  /** Not for one of this host's unicast addresses (broadcast, forwarding). */
  | "not-local"
  /** The packet filter has rules at PREROUTING or INPUT: the datagram must pass them. */
  | "filtered"
  /** The TCP header is too short for its data offset, or the offset is below 5 (RFC 9293 §3.1). */
  | "tcp-bad-header"
  /** SYN, FIN or RST set: state changes go the slow path. */
  | "tcp-control"
  /** No channel for the 4-tuple (no such connection, or one in the handshake or past the peer's FIN). */
  | "no-channel"
  /** The flow's channel is closing (its connection stopped receiving). */
  | "channel-closing"

/** Every `SlowPathReason`, in the classifier's order. */
export const slowPathReasons: ReadonlyArray<SlowPathReason> = [
  "device",
  "tapped",
  "truncated",
  "nonlinear",
  "not-for-host",
  "not-ipv4",
  "ip-bad-header",
  "ip-options",
  "ip-bad-checksum",
  "ip-fragment",
  "not-tcp",
  "martian-source",
  "not-local",
  "filtered",
  "tcp-bad-header",
  "tcp-control",
  "no-channel",
  "channel-closing"
]

/** The interface a frame arrived on, as the classifier needs it (an `@netstack/l2` `NetDevice` fits). */
export interface ClassifierDevice {
  readonly name: string
  readonly kind: string
  readonly mac: number
  readonly up: boolean
  /** A bridge port's receive hook (set: the frame is the bridge's). */
  readonly rxHandler: unknown
}

/** A flow's channel as the classifier sees it: open (taking packets) or closing. */
export interface ClassifiedChannel {
  readonly open: boolean
}

/** What the classifier asks of the host: its addresses, its packet filter, its channels. */
export interface ClassifierContext<C extends ClassifiedChannel> {
  /** Whether `address` is one of the host's own unicast addresses. */
  readonly isLocal: (address: number) => boolean
  /** Whether a packet tap watches the host's frames (they must then take the slow path, past the taps). */
  readonly tapped: () => boolean
  /** Whether the packet filter has no rule at PREROUTING and INPUT (a datagram may skip it). */
  readonly filterEmpty: () => boolean
  /** The channel of a 4-tuple from this host's side (destination = local). */
  readonly lookup: (localAddress: number, localPort: number, remoteAddress: number, remotePort: number) => C | undefined
}

/** Ethernet + IPv4 without options + the fixed TCP header: what must be linear to classify. */
export const CLASSIFIED_HEADERS = ETHERNET_HEADER_LENGTH + IPV4_HEADER_LENGTH + TCP_HEADER_LENGTH

const CONTROL = TcpFlags.syn | TcpFlags.fin | TcpFlags.rst

/**
 * Classifies `frame` (data at its Ethernet header) received on `device`:
 * its channel when it may take the fast path, else why not. Reads only
 * (allocates nothing); never throws, never changes the packet.
 */
export const classify = <C extends ClassifiedChannel>(
  frame: PacketBuffer,
  device: ClassifierDevice,
  context: ClassifierContext<C>
): C | SlowPathReason => {
  if (!device.up || device.rxHandler !== undefined) return "device"
  if (context.tapped()) return "tapped"
  const length = frame.length
  const linear = frame.headLength
  if (length < ETHERNET_HEADER_LENGTH) return "truncated"
  if (linear < ETHERNET_HEADER_LENGTH) return "nonlinear"
  const bytes = frame.bytes
  const eth = frame.data
  if (readMac(bytes, eth) !== device.mac) return "not-for-host"
  if (readU16(bytes, eth + 12) !== EtherTypes.ipv4) return "not-ipv4"
  const ip = eth + ETHERNET_HEADER_LENGTH
  if (length < ETHERNET_HEADER_LENGTH + IPV4_HEADER_LENGTH) return "truncated"
  if (linear < ETHERNET_HEADER_LENGTH + IPV4_HEADER_LENGTH) return "nonlinear"
  const versionIhl = bytes[ip]
  // RFC 791 §3.1: version 4, IHL ≥ 5 words; the total length covers the header and fits the frame.
  if (versionIhl >>> 4 !== 4 || (versionIhl & 0x0f) < 5) return "ip-bad-header"
  if ((versionIhl & 0x0f) !== 5) return "ip-options"
  const totalLength = readU16(bytes, ip + 2)
  if (totalLength < IPV4_HEADER_LENGTH || totalLength > length - ETHERNET_HEADER_LENGTH) return "ip-bad-header"
  if (sumBytes(bytes, ip, ip + IPV4_HEADER_LENGTH) !== 0xffff) return "ip-bad-checksum"
  if ((readU16(bytes, ip + 6) & 0x3fff) !== 0) return "ip-fragment"
  if (bytes[ip + 9] !== 6) return "not-tcp"
  const source = readU32(bytes, ip + 12)
  const destination = readU32(bytes, ip + 16)
  if (source === 0xffffffff || source >>> 28 === 14 || (source >>> 24 === 127 && device.kind !== "loopback")) {
    return "martian-source"
  }
  if (!context.isLocal(destination)) return "not-local"
  if (!context.filterEmpty()) return "filtered"
  if (totalLength < IPV4_HEADER_LENGTH + TCP_HEADER_LENGTH) return "tcp-bad-header"
  if (linear < CLASSIFIED_HEADERS) return "nonlinear"
  const tcp = ip + IPV4_HEADER_LENGTH
  const dataOffset = bytes[tcp + 12] >>> 4
  if (dataOffset < 5 || dataOffset * 4 > totalLength - IPV4_HEADER_LENGTH) return "tcp-bad-header"
  if ((bytes[tcp + 13] & CONTROL) !== 0) return "tcp-control"
  const channel = context.lookup(destination, readU16(bytes, tcp + 2), source, readU16(bytes, tcp))
  if (channel === undefined) return "no-channel"
  if (!channel.open) return "channel-closing"
  return channel
}
