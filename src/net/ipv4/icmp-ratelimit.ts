/**
 * ICMP error rate limiting (Linux `icmp_global_allow` / `icmp_global_consume` and
 * `inet_peer_xrlim_allow`), two token buckets that an error must pass, in this order:
 *  - global (`icmp_msgs_per_sec` 1000, `icmp_msgs_burst` 50): refilled at most every 20 ms by
 *    `msgsPerSec × elapsed` (elapsed capped at 1 s); a message may go while credit is positive,
 *    and one that goes consumes 0, 1 or 2 credits at random (1 without an rng), as Linux does
 *    against side channels;
 *  - per destination (`icmp_ratelimit` 1000 ms): a destination earns one token per µs, holds at
 *    most `XRLIM_BURST_FACTOR` (6) × `ratelimitUs`, and a message costs `ratelimitUs` — a burst
 *    of 6, then one per second. A destination not seen before starts with a full bucket.
 * Which messages are limited at all (`icmp_ratemask`, loopback exemptions) is the caller's
 * business. Destination state is bounded (`maxPeers`, least recently used dropped first), so
 * spoofed sources cannot grow it. No timers.
 */
import type { Clock } from '../../time/index.js';
import type { Rng } from '../../rand/index.js';

export interface IcmpRateParams {
  /** Linux `icmp_ratelimit` (µs per message and destination) */
  ratelimitUs: number;
  /** Linux `icmp_msgs_per_sec` / `icmp_msgs_burst` */
  msgsPerSec: number;
  msgsBurst: number;
  /** destinations remembered */
  maxPeers: number;
}

export const ICMP_RATE_DEFAULTS: Readonly<IcmpRateParams> = {
  ratelimitUs: 1_000_000,
  msgsPerSec: 1000,
  msgsBurst: 50,
  maxPeers: 4096,
};

const XRLIM_BURST_FACTOR = 6;
const SEC_US = 1_000_000;
/** the global bucket is not refilled more often than this (Linux HZ / 50) */
const GLOBAL_MIN_REFILL_US = 20_000;

class RatePeer {
  tokens = 0;
  last = 0;
}

export class IcmpRateLimit {
  readonly params: IcmpRateParams;
  private credit = 0;
  private stamp = -Infinity;
  private readonly peers = new Map<number, RatePeer>();

  constructor(private readonly clock: Clock, private readonly rng: Rng | null, params?: Partial<IcmpRateParams>) {
    this.params = { ...ICMP_RATE_DEFAULTS, ...params };
  }

  /** destinations remembered now */
  get size(): number {
    return this.peers.size;
  }

  /** Linux `icmp_global_allow`: true when the global budget lets one more error go */
  globalAllow(): boolean {
    if (this.credit > 0) return true;
    const p = this.params;
    const now = this.clock.now();
    const delta = Math.min(now - this.stamp, SEC_US);
    if (delta < GLOBAL_MIN_REFILL_US) return false;
    const incr = Math.floor((p.msgsPerSec * delta) / SEC_US);
    if (incr === 0) return false;
    this.stamp = now;
    this.credit = Math.min(this.credit + incr, p.msgsBurst);
    return true;
  }

  /** Linux `icmp_global_consume`: an error passed every check and goes */
  globalConsume(): void {
    this.credit -= this.rng !== null ? this.rng.nextU32() % 3 : 1;
  }

  /** Linux `inet_peer_xrlim_allow` for destination `key` */
  peerAllow(key: number): boolean {
    const p = this.params;
    const now = this.clock.now();
    const timeout = p.ratelimitUs;
    let peer = this.peers.get(key);
    if (peer === undefined) {
      if (this.peers.size >= p.maxPeers) {
        const oldest = this.peers.keys().next();
        if (oldest.done !== true) this.peers.delete(oldest.value);
      }
      peer = new RatePeer();
      peer.last = now - 60 * SEC_US;
    } else {
      this.peers.delete(key);
    }
    this.peers.set(key, peer);
    let token = peer.tokens + (now - peer.last);
    peer.last = now;
    if (token > XRLIM_BURST_FACTOR * timeout) token = XRLIM_BURST_FACTOR * timeout;
    let ok = false;
    if (token >= timeout) {
      token -= timeout;
      ok = true;
    }
    peer.tokens = token;
    return ok;
  }

  clear(): void {
    this.peers.clear();
  }
}
