/** ipv4: not written yet. */
export {}
