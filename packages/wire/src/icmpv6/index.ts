/** icmpv6: not written yet. */
export {}
