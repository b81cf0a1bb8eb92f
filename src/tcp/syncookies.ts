/**
 * SYN cookies in Linux's format (net/ipv4/syncookies.c, net/ipv6/syncookies.c): when a listener's
 * SYN queue is full, the SYN-ACK's sequence number encodes the connection so that no request is
 * kept, and the peer's ACK (ack − 1 = the cookie) rebuilds it.
 *
 *   cookie = H(secret0; saddr, daddr, sport, dport, 0) + client ISN + (count << 24)
 *          + ((H(secret1; saddr, daddr, sport, dport, count) + mssind) mod 2^24)
 *
 * `count` is the minute counter (`tcp_cookie_time`: time / 60 s); a cookie is accepted for
 * `MAX_SYNCOOKIE_AGE` (2) counter values. `mssind` indexes the family's MSS table. With
 * timestamps the SYN-ACK's TSval carries wscale / SACK / ECN in its low 6 bits
 * (`cookie_init_timestamp`), decoded from the ACK's TSecr (`cookie_timestamp_decode`).
 * H is SipHash-2-4 with two secrets per family (Linux `syncookie_secret[2]`,
 * `syncookie6_secret[2]`). Pure: the caller passes the time (µs) and owns the counters
 * (SyncookiesSent / Recv / Failed) and the listener's last-overflow stamp.
 */
import { isV4, type Addr } from '../inet/index.js';
import type { Rng } from '../rand/index.js';
import { FLOW_SCRATCH, putAddr, putPorts, putU32, sipKeyFrom, siphash24, type SipKey } from './isn.js';

/** upper bits of the cookie hold the counter */
export const COOKIEBITS = 24;
export const COOKIEMASK = (1 << COOKIEBITS) - 1;
/** counter values a cookie stays valid for */
export const MAX_SYNCOOKIE_AGE = 2;
/** `TCP_SYNCOOKIE_PERIOD`: one counter tick, µs */
export const TCP_SYNCOOKIE_PERIOD = 60_000_000;
/** `TCP_SYNCOOKIE_VALID`: how long after a SYN-queue overflow cookie ACKs are looked at, µs */
export const TCP_SYNCOOKIE_VALID = MAX_SYNCOOKIE_AGE * TCP_SYNCOOKIE_PERIOD;
/** `HZ` in µs: the slack before the last overflow `tcp_synq_no_recent_overflow` allows */
const ONE_SECOND = 1_000_000;

/** IPv4 MSS table (sorted): index 0 is also what an MSS below 536 gets */
export const MSSTAB_V4: readonly number[] = [536, 1300, 1440, 1460];
/** IPv6 MSS table: IPv6 minimum MTU, 1480 (encapsulation), 1500 and 9000 minus 60 */
export const MSSTAB_V6: readonly number[] = [1280 - 60, 1480 - 60, 1500 - 60, 9000 - 60];

/** the TSval low bits `cookie_init_timestamp` uses */
export const TSBITS = 6;
export const TS_OPT_WSCALE_MASK = 0xf;
export const TS_OPT_SACK = 1 << 4;
export const TS_OPT_ECN = 1 << 5;

/** `tcp_cookie_time`: the minute counter at `nowUs` (u32) */
export function cookieTime(nowUs: number): number {
  return Math.floor(nowUs / TCP_SYNCOOKIE_PERIOD) >>> 0;
}

/** index into `tab` of the largest entry ≤ mss (0 when mss is below every entry) */
export function mssIndex(tab: readonly number[], mss: number): number {
  let i = tab.length - 1;
  for (; i > 0; i--) if (mss >= tab[i]) break;
  return i;
}

/**
 * `tcp_synq_no_recent_overflow`: true when the listener's SYN queue has not overflowed in
 * [last − 1 s, last + TCP_SYNCOOKIE_VALID]; cookie ACKs are then not even checked. `lastOverflowUs`
 * < 0 means never.
 */
export function synqNoRecentOverflow(lastOverflowUs: number, nowUs: number): boolean {
  if (lastOverflowUs < 0) return true;
  return !(nowUs >= lastOverflowUs - ONE_SECOND && nowUs <= lastOverflowUs + TCP_SYNCOOKIE_VALID);
}

/** `tcp_synq_overflow`: the new last-overflow stamp (updated at most once a second) */
export function synqOverflow(lastOverflowUs: number, nowUs: number): number {
  return lastOverflowUs < 0 || nowUs < lastOverflowUs || nowUs > lastOverflowUs + ONE_SECOND ? nowUs : lastOverflowUs;
}

/** options recovered from a cookie ACK's TSecr (`cookie_timestamp_decode`); reusable */
export class CookieTsOptions {
  sawTstamp = false;
  sackOk = false;
  wscaleOk = false;
  sndWscale = 0;
  ecnOk = false;
}

/**
 * `cookie_init_timestamp`: the SYN-ACK's TSval (ms, before the connection's ts offset is added)
 * for `tsNowMs`, with the options in its low 6 bits, never above `tsNowMs`. `sndWscale` < 0: the
 * SYN had no window scale.
 */
export function cookieInitTimestamp(tsNowMs: number, sndWscale: number, sackOk: boolean, ecnOk: boolean): number {
  let options = sndWscale >= 0 ? sndWscale & TS_OPT_WSCALE_MASK : TS_OPT_WSCALE_MASK;
  if (sackOk) options |= TS_OPT_SACK;
  if (ecnOk) options |= TS_OPT_ECN;
  const now = tsNowMs >>> 0;
  let ts = ((now >>> TSBITS) << TSBITS) >>> 0;
  ts = (ts | options) >>> 0;
  if (ts > now) ts = (ts - (1 << TSBITS)) >>> 0;
  return ts;
}

/**
 * `cookie_timestamp_decode`: fills `out` from the ACK's timestamp option (`tsecr` already has the
 * connection's ts offset removed). Returns false when the cookie claims an option this host has
 * turned off (the ACK is then not a valid cookie).
 */
export function cookieTimestampDecode(
  sawTstamp: boolean, tsecr: number, out: CookieTsOptions,
  sysctl: { tcp_timestamps: boolean; tcp_sack: boolean; tcp_window_scaling: boolean },
): boolean {
  out.sawTstamp = sawTstamp;
  out.sackOk = false;
  out.wscaleOk = false;
  out.sndWscale = 0;
  out.ecnOk = false;
  if (!sawTstamp) return true;
  if (!sysctl.tcp_timestamps) return false;
  out.sackOk = (tsecr & TS_OPT_SACK) !== 0;
  out.ecnOk = (tsecr & TS_OPT_ECN) !== 0;
  if (out.sackOk && !sysctl.tcp_sack) return false;
  if ((tsecr & TS_OPT_WSCALE_MASK) === TS_OPT_WSCALE_MASK) return true;
  out.wscaleOk = true;
  out.sndWscale = tsecr & TS_OPT_WSCALE_MASK;
  return sysctl.tcp_window_scaling;
}

/**
 * The cookie generator and checker of one host. `initSequence` returns the SYN-ACK's sequence
 * number and leaves the MSS the cookie encodes in `mss`; `check` returns the MSS of a valid
 * cookie ACK, or 0.
 */
export class SynCookies {
  private readonly v4: readonly [SipKey, SipKey];
  private readonly v6: readonly [SipKey, SipKey];
  /** the MSS the last `initSequence` encoded (the table entry at or below the peer's MSS) */
  mss = 0;

  constructor(rng: Rng) {
    this.v4 = [sipKeyFrom(rng), sipKeyFrom(rng)];
    this.v6 = [sipKeyFrom(rng), sipKeyFrom(rng)];
  }

  /** `cookie_hash`: the keyed hash of the flow and `count` with secret `c` */
  private hash(saddr: Addr, daddr: Addr, sport: number, dport: number, count: number, c: 0 | 1): number {
    const v4 = isV4(saddr) && isV4(daddr);
    let n = putAddr(0, saddr, v4);
    n = putAddr(n, daddr, v4);
    n = putPorts(n, sport, dport);
    n = putU32(n, count);
    return siphash24(v4 ? this.v4[c] : this.v6[c], FLOW_SCRATCH, n);
  }

  /**
   * `cookie_v4_init_sequence` / `cookie_v6_init_sequence` for a SYN from (saddr, sport) to
   * (daddr, dport) with sequence `seq` and MSS option `mss` (use the family's default when the
   * SYN had none); the encoded MSS is left in `this.mss`.
   */
  initSequence(saddr: Addr, daddr: Addr, sport: number, dport: number, seq: number, mss: number, nowUs: number): number {
    const tab = isV4(saddr) && isV4(daddr) ? MSSTAB_V4 : MSSTAB_V6;
    const mssind = mssIndex(tab, mss);
    this.mss = tab[mssind];
    const count = cookieTime(nowUs);
    const h0 = this.hash(saddr, daddr, sport, dport, 0, 0);
    const h1 = this.hash(saddr, daddr, sport, dport, count, 1);
    return (h0 + (seq >>> 0) + ((count << COOKIEBITS) >>> 0) + (((h1 + mssind) >>> 0) & COOKIEMASK)) >>> 0;
  }

  /**
   * `__cookie_v4_check` / `__cookie_v6_check` for an ACK from (saddr, sport) to (daddr, dport)
   * with sequence `seq` and acknowledgment `ack`: the MSS the cookie (ack − 1) encodes, or 0 when
   * it is forged, for another flow or older than `MAX_SYNCOOKIE_AGE` minutes.
   */
  check(saddr: Addr, daddr: Addr, sport: number, dport: number, seq: number, ack: number, nowUs: number): number {
    const tab = isV4(saddr) && isV4(daddr) ? MSSTAB_V4 : MSSTAB_V6;
    const sseq = (seq - 1) >>> 0;
    let cookie = (ack - 1) >>> 0;
    const count = cookieTime(nowUs);
    cookie = (cookie - this.hash(saddr, daddr, sport, dport, 0, 0) - sseq) >>> 0;
    const diff = (count - (cookie >>> COOKIEBITS)) & (0xffffffff >>> COOKIEBITS);
    if (diff >= MAX_SYNCOOKIE_AGE) return 0;
    const mssind = ((cookie - this.hash(saddr, daddr, sport, dport, (count - diff) >>> 0, 1)) >>> 0) & COOKIEMASK;
    return mssind < tab.length ? tab[mssind] : 0;
  }
}
