/**
 * @netstack/channels: Van Jacobson / OSv net channels: classifier and per-connection fast path.
 *
 * Nothing is exported yet; see the README feature table.
 */
export {}
