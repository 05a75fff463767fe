/** fast-check arbitraries (l2): not written yet. */
export {}
