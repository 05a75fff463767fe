/**
 * @netstack/device: The NIC model: descriptor rings, DMA, IRQs and coalescing, RSS, offloads, and the media a NIC sits on.
 *
 * Nothing is exported yet; see the README feature table.
 */
export {}
