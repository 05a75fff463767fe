/**
 * @netstack/channels: Van Jacobson / OSv net channels: a classifier in each
 * driver's receive path, a channel per established TCP connection with its
 * consumer fiber running TCP input, and the slow path for everything else.
 */
export { NetChannel, type NetChannelOwner } from "./channel.ts"
export { ChannelTable, type FlowKey } from "./channel-table.ts"
export {
  classify,
  CLASSIFIED_HEADERS,
  type ClassifiedChannel,
  type ClassifierContext,
  type ClassifierDevice,
  type SlowPathReason,
  slowPathReasons
} from "./classifier.ts"
export { type ChannelDevice, NetChannels, type NetChannelsDependencies, type NetChannelsOptions } from "./net-channels.ts"
export { type NetChannelCounters, NetChannelStats } from "./stats.ts"
