/** tcp: not written yet. */
export {}
