/** vlan: not written yet. */
export {}
