/**
 * @netstack/driver: The driver side: IRQ handler fibers, NAPI polling, GRO/GSO, transmit and completion.
 *
 * Nothing is exported yet; see the README feature table.
 */
export {}
