/** ipv6: not written yet. */
export {}
