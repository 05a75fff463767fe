/** icmpv4: not written yet. */
export {}
