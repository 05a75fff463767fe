/** pcap: not written yet. */
export {}
