/** arp: not written yet. */
export {}
