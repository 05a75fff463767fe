/**
 * @netstack/l3: IPv4 and IPv6, ICMP, routing, forwarding, fragmentation and reassembly.
 *
 * Nothing is exported yet; see the README feature table.
 */
export {}
