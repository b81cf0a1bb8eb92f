/**
 * Rate limits on TCP's answers to invalid segments (Linux tcp_input.c). Two hosts that disagree
 * about a connection's sequence space (a forged segment, a half-open connection) would answer
 * each other's ACKs forever; Linux bounds every such answer:
 *
 * - per socket, `oowRateLimited` (Linux `__tcp_oow_rate_limited`): at most one answer per
 *   `net.ipv4.tcp_invalid_ratelimit` (500 ms) to out-of-window segments, invalid SYNs and RSTs
 *   (challenge ACKs), for request sockets and TIME_WAIT too. `segOowRateLimited` (Linux
 *   `tcp_oow_rate_limited`) exempts segments that occupy sequence space without a SYN: data
 *   (or a FIN) is not part of an ACK loop, and its duplicate ACK drives the sender's recovery.
 * - per host, `ChallengeAckBudget` (RFC 5961 §7, Linux `tcp_send_challenge_ack`):
 *   `net.ipv4.tcp_challenge_ack_limit` (1000) challenge ACKs per second, the budget of each
 *   second drawn at random in [limit/2, limit·3/2) so that an attacker cannot count it.
 *
 * Times are virtual microseconds. A socket holds its stamp in `lastOowAckTime` (-1: never).
 */
import type { Rng } from '../rand/index.js';

/** net.ipv4.tcp_invalid_ratelimit (Linux default HZ/2), µs */
export const TCP_INVALID_RATELIMIT = 500_000;
/** net.ipv4.tcp_challenge_ack_limit (Linux default before 6.0; 6.0 made it INT_MAX) */
export const TCP_CHALLENGE_ACK_LIMIT = 1000;

/** what holds an out-of-window answer stamp (a socket, request or TIME_WAIT) */
export interface OowStamp {
  /** virtual time of the last answer to an invalid segment, -1 for none */
  lastOowAckTime: number;
}

/**
 * Linux __tcp_oow_rate_limited: true when an answer went out less than `limit` µs ago (skip
 * this one); false to go ahead, and the answer's time is recorded.
 */
export function oowRateLimited(h: OowStamp, now: number, limit: number): boolean {
  const last = h.lastOowAckTime;
  if (last >= 0) {
    const elapsed = now - last;
    if (elapsed >= 0 && elapsed < limit) return true;
  }
  h.lastOowAckTime = now;
  return false;
}

/**
 * Linux tcp_oow_rate_limited for a segment of `segLen` sequence units (data + SYN + FIN):
 * a segment occupying sequence space without a SYN is never limited.
 */
export function segOowRateLimited(h: OowStamp, now: number, limit: number, segLen: number, syn: boolean): boolean {
  if (segLen !== 0 && !syn) return false;
  return oowRateLimited(h, now, limit);
}

/** the host-wide challenge ACK budget (RFC 5961 §7) */
export class ChallengeAckBudget {
  /** net.ipv4.tcp_challenge_ack_limit; 0x7fffffff or more: unlimited */
  limit = TCP_CHALLENGE_ACK_LIMIT;
  private second = -1;
  private count = 0;

  constructor(private readonly rng: Rng) {}

  /** true: send the challenge ACK (takes one from this second's budget) */
  take(now: number): boolean {
    const limit = this.limit;
    if (limit >= 0x7fffffff) return true;
    const sec = Math.floor(now / 1_000_000);
    if (sec !== this.second) {
      this.second = sec;
      // Linux get_random_u32_inclusive(half, limit + half - 1)
      const half = (limit + 1) >> 1;
      this.count = limit > 0 ? half + (this.rng.nextU32() % limit) : 0;
    }
    if (this.count <= 0) return false;
    this.count--;
    return true;
  }
}
