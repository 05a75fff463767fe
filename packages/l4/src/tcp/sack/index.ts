/**
 * SACK on the sending side: the scoreboard of selectively acknowledged data
 * (RFC 2018 §3, RFC 6675 §3) and RFC 6675 §4's IsLost(), SetPipe() and
 * NextSeg() that SACK-based loss recovery (RFC 6675 §5) is built on.
 */
export {
  DUP_THRESH,
  FALLBACK_SMSS,
  isDsack,
  type NextSegKind,
  type NextSegment,
  rejectBlock,
  type RescueState,
  SCOREBOARD_MAX_RANGES,
  Scoreboard,
  type ScoreboardCounters,
  type ScoreboardOptions,
  type ScoreboardUpdate,
  type SackBlockRejection,
  type SackRange
} from "./scoreboard.ts"
