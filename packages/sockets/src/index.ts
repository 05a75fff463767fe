/**
 * @netstack/sockets: The application API: stream, datagram, raw and packet sockets.
 *
 * Nothing is exported yet; see the README feature table.
 */
export {}
