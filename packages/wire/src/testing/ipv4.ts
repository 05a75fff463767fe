/** fast-check arbitraries (ipv4): not written yet. */
export {}
