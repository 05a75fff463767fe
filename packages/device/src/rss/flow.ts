/**
 * The RSS hash of a received Ethernet frame, as Microsoft specifies it for
 * NDIS: which fields go into the hash ("RSS Hashing Types") and in what
 * order ("RSS Hashing Functions", the `@n-m` byte ranges of its examples):
 *
 * | hash type | input |
 * |---|---|
 * | `NDIS_HASH_IPV4` | source address, destination address (8 bytes: IPv4 header bytes 12–19) |
 * | `NDIS_HASH_TCP_IPV4`, `NDIS_HASH_UDP_IPV4` | the same, then source port, destination port (12 bytes) |
 * | `NDIS_HASH_IPV6` | source address, destination address (32 bytes: IPv6 header bytes 8–39) |
 * | `NDIS_HASH_TCP_IPV6`, `NDIS_HASH_UDP_IPV6` | the same, then source port, destination port (36 bytes) |
 *
 * The addresses and the ports each lie contiguously in the frame in that
 * order, so nothing is copied: the addresses are hashed at input position 0
 * and the ports at position 8 (IPv4) or 32 (IPv6), and the two XORed
 * (`ToeplitzKey.hash`, linearity). Nothing is allocated besides the header
 * views the wire package's parsers return.
 *
 * Choosing the hash type ("RSS Hashing Types"): a TCP (UDP) segment is hashed
 * with its ports when `NDIS_HASH_TCP_*` (`NDIS_HASH_UDP_*`, Linux's
 * `ethtool -N rx-flow-hash udp4 sdfn`) is enabled; otherwise, or when the
 * packet carries no TCP (UDP) header, with its addresses when `NDIS_HASH_IPV4`
 * (`NDIS_HASH_IPV6`) is enabled; otherwise not at all. A fragment never uses
 * its ports, the first one included (the note under `NDIS_HASH_IPV4`), since
 * the later fragments carry none. "If the NIC cannot interpret the received
 * data correctly, it must not compute the hash value": a frame the wire views
 * refuse (truncated, bad version, bad lengths, bad IPv4 options or IPv6
 * extension headers) gets no hash, and the NIC puts it on queue 0
 * ("Non-RSS Receive Processing").
 *
 * Deliberate limits:
 * - The `_EX` types (`NDIS_HASH_IPV6_EX` …: the home address of a Destination
 *   Options header and the address of a type 2 Routing header in place of the
 *   source and destination) are not implemented. `NDIS_HASH_IPV6` hashes the
 *   fixed header's addresses whatever extension headers follow; the chain is
 *   skipped with `Ipv6View` to find TCP or UDP ("must identify and skip over
 *   any IPv6 extension headers").
 * - A TCP or UDP header counts as present when its view accepts it and it
 *   fits in the IP payload; a segment with malformed TCP options is hashed as
 *   if it had no TCP header (it is dropped above anyway).
 * - Up to two VLAN tags (802.1Q, 802.1ad) are skipped; a tag does not enter
 *   the hash, so a tagged frame hashes like the untagged one.
 * - An IPv6 packet with a Fragment header is a fragment (an atomic fragment,
 *   RFC 6946, included).
 */
import type { PacketBuffer } from "@netstack/buffers"
import {
  EthernetView,
  EtherTypes,
  Ipv4Protocols,
  Ipv4View,
  Ipv6NextHeaders,
  Ipv6View,
  isVlanEtherType,
  TCP_HEADER_LENGTH,
  TcpView,
  UDP_HEADER_LENGTH,
  UdpView,
  VlanView
} from "@netstack/wire"
import { toeplitzHash, ToeplitzKey } from "./toeplitz.ts"

/**
 * The hash types, with the values of NDIS's `NDIS_HASH_*` flags (ntddndis.h)
 * so a configuration reads the same as in Windows. OR them together.
 */
export const RssHashTypes = {
  /** `NDIS_HASH_IPV4`: IPv4 source and destination addresses. */
  ipv4: 0x0000_0100,
  /** `NDIS_HASH_TCP_IPV4`: IPv4 addresses and TCP ports. */
  tcpIpv4: 0x0000_0200,
  /** `NDIS_HASH_IPV6`: IPv6 source and destination addresses. */
  ipv6: 0x0000_0400,
  /** `NDIS_HASH_TCP_IPV6`: IPv6 addresses and TCP ports. */
  tcpIpv6: 0x0000_1000,
  /** `NDIS_HASH_UDP_IPV4`: IPv4 addresses and UDP ports (NDIS 6.80). */
  udpIpv4: 0x0000_4000,
  /** `NDIS_HASH_UDP_IPV6`: IPv6 addresses and UDP ports (NDIS 6.80). */
  udpIpv6: 0x0000_8000
} as const

/** One of the `RssHashTypes` flags. */
export type RssHashType = (typeof RssHashTypes)[keyof typeof RssHashTypes]

/** Every hash type this module implements. */
export const RSS_HASH_TYPES_ALL: number = RssHashTypes.ipv4 | RssHashTypes.tcpIpv4 | RssHashTypes.udpIpv4 |
  RssHashTypes.ipv6 | RssHashTypes.tcpIpv6 | RssHashTypes.udpIpv6

/**
 * The usual default: TCP by 4-tuple, everything else IP by addresses. The
 * classic NDIS set (the UDP types came only with NDIS 6.80), and the default
 * of Linux drivers such as ixgbe (`ethtool -n <dev> rx-flow-hash udp4`:
 * "IP SA, IP DA"): UDP is spread by address only, because a fragmented
 * datagram's pieces would otherwise land on different queues.
 */
export const RSS_HASH_TYPES_DEFAULT: number = RssHashTypes.ipv4 | RssHashTypes.tcpIpv4 | RssHashTypes.ipv6 |
  RssHashTypes.tcpIpv6

const IPV4_TYPES = RssHashTypes.ipv4 | RssHashTypes.tcpIpv4 | RssHashTypes.udpIpv4
const IPV6_TYPES = RssHashTypes.ipv6 | RssHashTypes.tcpIpv6 | RssHashTypes.udpIpv6

/** 802.1Q and 802.1ad: at most an outer and an inner tag, as NIC parsers do. */
const MAX_VLAN_TAGS = 2

/** IPv4 header bytes 12–19 and IPv6 header bytes 8–39: the addresses. */
const IPV4_ADDRESSES_AT = 12
const IPV4_ADDRESSES_LENGTH = 8
const IPV6_ADDRESSES_LENGTH = 32
/** Source and destination ports: the first 4 bytes of a TCP or UDP header. */
const PORTS_LENGTH = 4

// Where `classify` found the hash input, as offsets from `frame.data`
// (single-threaded scratch, read right after each call).
let addressOffset = 0
let addressLength = 0
let portOffset = -1

/**
 * Finds the TCP header at `offset`, within the `available` bytes of IP
 * payload, and records its ports. False when there is none.
 */
const tcpPorts = (frame: PacketBuffer, offset: number, available: number): boolean => {
  if (available < TCP_HEADER_LENGTH) return false
  const tcp = TcpView.parse(frame, offset)
  if (!(tcp instanceof TcpView) || tcp.headerLength > available) return false
  portOffset = offset
  return true
}

/** As `tcpPorts`, for a UDP header. */
const udpPorts = (frame: PacketBuffer, offset: number, available: number): boolean => {
  if (available < UDP_HEADER_LENGTH || !(UdpView.parse(frame, offset) instanceof UdpView)) return false
  portOffset = offset
  return true
}

/** The hash type of the IPv4 packet at `offset` ("RSS Hashing Types", IPv4 combinations), or 0. */
const classifyIpv4 = (frame: PacketBuffer, offset: number, types: number): RssHashType | 0 => {
  const ip = Ipv4View.parse(frame, offset)
  if (!(ip instanceof Ipv4View)) return 0
  addressOffset = offset + IPV4_ADDRESSES_AT
  addressLength = IPV4_ADDRESSES_LENGTH
  portOffset = -1
  if (!ip.isFragment) {
    const protocol = ip.protocol
    if (protocol === Ipv4Protocols.tcp) {
      if ((types & RssHashTypes.tcpIpv4) !== 0 && tcpPorts(frame, ip.payloadOffset, ip.payloadLength)) {
        return RssHashTypes.tcpIpv4
      }
    } else if (protocol === Ipv4Protocols.udp) {
      if ((types & RssHashTypes.udpIpv4) !== 0 && udpPorts(frame, ip.payloadOffset, ip.payloadLength)) {
        return RssHashTypes.udpIpv4
      }
    }
  }
  return (types & RssHashTypes.ipv4) !== 0 ? RssHashTypes.ipv4 : 0
}

/** The hash type of the IPv6 packet at `offset` ("RSS Hashing Types", IPv6 combinations), or 0. */
const classifyIpv6 = (frame: PacketBuffer, offset: number, types: number): RssHashType | 0 => {
  const ip = Ipv6View.parse(frame, offset)
  if (!(ip instanceof Ipv6View)) return 0
  addressOffset = ip.sourceOffset // the destination follows it: header bytes 8–39
  addressLength = IPV6_ADDRESSES_LENGTH
  portOffset = -1
  if (!ip.isFragment) {
    // After the extension headers the view walked (RFC 8200 §4).
    const protocol = ip.upperLayerProtocol
    if (protocol === Ipv6NextHeaders.tcp) {
      if ((types & RssHashTypes.tcpIpv6) !== 0 && tcpPorts(frame, ip.upperLayerOffset, ip.upperLayerLength)) {
        return RssHashTypes.tcpIpv6
      }
    } else if (protocol === Ipv6NextHeaders.udp) {
      if ((types & RssHashTypes.udpIpv6) !== 0 && udpPorts(frame, ip.upperLayerOffset, ip.upperLayerLength)) {
        return RssHashTypes.udpIpv6
      }
    }
  }
  return (types & RssHashTypes.ipv6) !== 0 ? RssHashTypes.ipv6 : 0
}

/**
 * The hash type that applies to the Ethernet frame at `frame.data` under
 * `types`, or 0 for none; on success the scratch offsets say where the input is.
 */
const classify = (frame: PacketBuffer, types: number): RssHashType | 0 => {
  if ((types & (IPV4_TYPES | IPV6_TYPES)) === 0) return 0
  const ethernet = EthernetView.parse(frame, 0)
  if (!(ethernet instanceof EthernetView)) return 0
  let etherType = ethernet.etherType
  let offset = ethernet.payloadOffset
  for (let tags = 0; isVlanEtherType(etherType); tags++) {
    if (tags === MAX_VLAN_TAGS) return 0
    const tag = VlanView.parse(frame, offset)
    if (!(tag instanceof VlanView)) return 0
    etherType = tag.etherType
    offset = tag.payloadOffset
  }
  if (etherType === EtherTypes.ipv4) return (types & IPV4_TYPES) === 0 ? 0 : classifyIpv4(frame, offset, types)
  if (etherType === EtherTypes.ipv6) return (types & IPV6_TYPES) === 0 ? 0 : classifyIpv6(frame, offset, types)
  return 0
}

/**
 * The RSS hash (unsigned 32 bits) of the Ethernet frame at `frame.data`, or
 * `undefined` when no enabled hash type applies (not IPv4 or IPv6, a type not
 * enabled, or headers the NIC cannot interpret): the NIC then uses queue 0.
 * `types` is an OR of `RssHashTypes`. `key` is best a `ToeplitzKey` built
 * once; a raw key is hashed bit by bit. Allocates no hash input.
 */
export const rssHash = (frame: PacketBuffer, key: ToeplitzKey | Uint8Array, types: number): number | undefined => {
  if (classify(frame, types) === 0) return undefined
  const bytes = frame.bytes // read after parsing: a view may have pulled bytes into the linear area
  const a = frame.data + addressOffset
  if (key instanceof ToeplitzKey) {
    const addresses = key.hash(bytes, a, a + addressLength, 0)
    if (portOffset < 0) return addresses
    const p = frame.data + portOffset
    return (addresses ^ key.hash(bytes, p, p + PORTS_LENGTH, addressLength)) >>> 0
  }
  const addresses = toeplitzHash(key, bytes, a, a + addressLength, 0)
  if (portOffset < 0) return addresses
  const p = frame.data + portOffset
  return (addresses ^ toeplitzHash(key, bytes, p, p + PORTS_LENGTH, addressLength)) >>> 0
}

/**
 * The hash type `rssHash` uses for the frame under `types` (one of
 * `RssHashTypes`, what a NIC reports beside the hash), or `undefined` when it
 * computes none.
 */
export const rssHashType = (frame: PacketBuffer, types: number): RssHashType | undefined => {
  const type = classify(frame, types)
  return type === 0 ? undefined : type
}

/**
 * The bytes `rssHash` feeds to the Toeplitz hash for the frame under `types`
 * (addresses, then ports when the type has them), or `undefined` when it
 * computes no hash. Allocates: for tests and diagnostics, not the hot path.
 */
export const rssHashInput = (frame: PacketBuffer, types: number): Uint8Array | undefined => {
  if (classify(frame, types) === 0) return undefined
  const bytes = frame.bytes
  const a = frame.data + addressOffset
  const input = new Uint8Array(addressLength + (portOffset < 0 ? 0 : PORTS_LENGTH))
  input.set(bytes.subarray(a, a + addressLength), 0)
  if (portOffset >= 0) {
    const p = frame.data + portOffset
    input.set(bytes.subarray(p, p + PORTS_LENGTH), addressLength)
  }
  return input
}
