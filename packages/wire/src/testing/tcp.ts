/** fast-check arbitraries (tcp): not written yet. */
export {}
