/**
 * @netstack/l4: UDP and TCP, socket lookup tables.
 *
 * Nothing is exported yet; see the README feature table.
 */
export {}
