/** fast-check arbitraries (ipv6): not written yet. */
export {}
