/**
 * @netstack/l2: Ethernet, 802.1Q VLAN, ARP and the neighbour subsystem, packet taps, bridges.
 *
 * Nothing is exported yet; see the README feature table.
 */
export {}
