/**
 * Initial sequence numbers (RFC 6528 §3) and per-connection timestamp
 * offsets (RFC 7323 §5.4 and Appendix G; Linux net/core/secure_seq.c).
 *
 * RFC 6528 §3: ISN = M + F(localip, localport, remoteip, remoteport,
 * secretkey), where M is a timer ticking every 4 µs and F a keyed
 * pseudorandom function of the connection's 4-tuple. The timer keeps the
 * ISNs of successive incarnations of one 4-tuple moving forward (faster than
 * a 2 Mb/s connection consumes sequence space, RFC 9293 §3.4.1), while F
 * makes the ISNs of different 4-tuples unrelated, so an off-path attacker
 * cannot guess one connection's ISN from another's (RFC 6528 §1).
 *
 * F is SipHash-2-4 as in Linux's `secure_tcp_seq` (which hashes
 * `saddr, daddr, sport << 16 | dport` under `net_secret`); M is the
 * 4 µs clock of the RFC rather than Linux's 64 ns one (`seq_scale`).
 * The timestamp offset is Linux's `secure_tcp_ts_off`: SipHash of the two
 * addresses under a second secret, added to every TSval of the connection
 * so TSvals do not reveal the host's clock and differ between peers.
 */
import { SipHash } from "./siphash.ts"

/** Length of one tick of RFC 6528's timer M, in µs. */
export const ISN_TICK_MICROS = 4

const TWO_32 = 4294967296

/** Makes initial sequence numbers and timestamp offsets under secrets drawn once per host. */
export class IsnGenerator {
  /** Linux `net_secret`: keys F of RFC 6528 §3. */
  private readonly seqKey: SipHash
  /** Linux `ts_secret`: keys the timestamp offsets. */
  private readonly tsKey: SipHash

  /** Draws the two 128-bit secrets (RFC 6528 §3: "secretkey … at least 128 bits") from `random` (uniform in [0, 1)). */
  constructor(random: () => number) {
    this.seqKey = SipHash.fromRandom(random)
    this.tsKey = SipHash.fromRandom(random)
  }

  /**
   * The ISN for a connection from `local`:`localPort` to `remote`:`remotePort`
   * at host time `nowMicros` (RFC 6528 §3): M = ⌊nowMicros / 4⌋ mod 2^32
   * plus F of the 4-tuple, modulo 2^32.
   */
  isn(local: number, localPort: number, remote: number, remotePort: number, nowMicros: number): number {
    const f = this.seqKey.hash3(local, remote, ((localPort & 0xffff) << 16) | (remotePort & 0xffff))
    return (isnTimer(nowMicros) + f) >>> 0
  }

  /**
   * The offset added to this host's timestamp clock in every TSval sent
   * from `local` to `remote` (RFC 7323 §5.4's randomized start; Linux
   * `secure_tcp_ts_off`). It is keyed by the address pair only, so
   * successive connections between two hosts see one monotonic clock, as
   * reusing a TIME_WAIT 4-tuple by its timestamps needs (RFC 6191;
   * Linux `tcp_twsk_unique`).
   */
  timestampOffset(local: number, remote: number): number {
    return this.tsKey.hash2(local, remote)
  }
}

/** RFC 6528 §3's M: the 4 µs timer at `nowMicros`, modulo 2^32 (non-finite or negative times count as 0). */
export const isnTimer = (nowMicros: number): number => {
  const ticks = Math.floor(nowMicros / ISN_TICK_MICROS)
  return Number.isFinite(ticks) && ticks > 0 ? ticks % TWO_32 : 0
}
