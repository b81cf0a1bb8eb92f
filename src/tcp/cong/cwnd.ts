/**
 * cwnd moderation shared by every algorithm, as Linux: whether the sender is cwnd-limited
 * (include/net/tcp.h tcp_is_cwnd_limited, tcp_output.c tcp_cwnd_validate), the shrink of an
 * unused window (tcp_cwnd_application_limited, RFC 7661-like) and slow start after idle
 * (tcp_slow_start_after_idle_check → tcp_cwnd_restart, RFC 5681 §4.1), plus
 * tcp_current_ssthresh / tcp_in_cwnd_reduction.
 *
 * Contract: the core keeps a `CwndUsage` per socket, calls `tcpCwndValidate` after each
 * transmit burst (tcp_write_xmit: when it sent something or was cwnd-limited) and exposes
 * `tcpIsCwndLimited(tp, usage)` as `CongSock.isCwndLimited`; before queueing new data on an
 * idle socket it calls `tcpSlowStartAfterIdleCheck`. Times in ms (jiffies), windows in
 * segments. Nothing allocates.
 */
import { CaEvent, CaState, type CongSock, type CongestionOps } from './types.js';

/** Linux tcp_in_cwnd_reduction: in CWR or Recovery */
export function tcpInCwndReduction(state: CaState): boolean {
  return state === CaState.CWR || state === CaState.Recovery;
}

/**
 * Linux tcp_current_ssthresh: ssthresh during a reduction, else at least 3/4 of cwnd (what
 * `prior_ssthresh` records on entering Recovery)
 */
export function tcpCurrentSsthresh(tp: CongSock): number {
  if (tcpInCwndReduction(tp.caState)) return tp.sndSsthresh;
  return Math.max(tp.sndSsthresh, (tp.sndCwnd >>> 1) + (tp.sndCwnd >>> 2));
}

/** Linux tcp_sock fields tracking how much of cwnd is used */
export class CwndUsage {
  /** the last flight was limited by cwnd (`is_cwnd_limited`) */
  isCwndLimited = false;
  /** most segments out in the current window (`max_packets_out`) */
  maxPacketsOut = 0;
  /** snd_nxt when the current window started (`cwnd_usage_seq`) */
  cwndUsageSeq = 0;
  /** most segments out while not cwnd-limited (`snd_cwnd_used`) */
  sndCwndUsed = 0;
  /** last time cwnd was fully used or changed, ms (`snd_cwnd_stamp`) */
  sndCwndStamp = 0;
}

/** Linux tcp_is_cwnd_limited: cwnd-limited, or in slow start below twice the flight */
export function tcpIsCwndLimited(tp: CongSock, u: CwndUsage): boolean {
  if (u.isCwndLimited) return true;
  if (tp.sndCwnd < tp.sndSsthresh) return tp.sndCwnd < 2 * u.maxPacketsOut;
  return false;
}

/** the socket fields cwnd validation reads besides CongSock */
export interface CwndValidateSock extends CongSock {
  /** segments sent and not ACKed (`packets_out`) */
  readonly packetsOut: number;
  /** current RTO, ms */
  readonly rtoMs: number;
  /** initial window (tcp_init_cwnd: route initcwnd or 10) */
  readonly initCwnd: number;
  /** the application is not blocked on send-buffer space (no SOCK_NOSPACE) */
  readonly sndBufAvailable: boolean;
}

/**
 * Linux tcp_cwnd_application_limited: after an RTO without using cwnd in Open state, shrink
 * cwnd halfway to what was used (at least the initial window), keeping 3/4 of it as ssthresh.
 */
export function tcpCwndApplicationLimited(tp: CwndValidateSock, u: CwndUsage): void {
  if (tp.caState === CaState.Open && tp.sndBufAvailable) {
    const winUsed = Math.max(u.sndCwndUsed, tp.initCwnd);
    if (winUsed < tp.sndCwnd) {
      tp.sndSsthresh = tcpCurrentSsthresh(tp);
      tp.sndCwnd = (tp.sndCwnd + winUsed) >>> 1;
    }
    u.sndCwndUsed = 0;
  }
  u.sndCwndStamp = tp.nowMs >>> 0;
}

/**
 * Linux tcp_cwnd_validate after a transmit burst: `isCwndLimited` — the burst stopped on cwnd
 * (or in flight reached cwnd); `slowStartAfterIdle` — net.ipv4.tcp_slow_start_after_idle.
 */
export function tcpCwndValidate(tp: CwndValidateSock, u: CwndUsage, isCwndLimited: boolean, slowStartAfterIdle: boolean): void {
  // remember the strongest signal of cwnd use within the current window
  if (((tp.sndUna - u.cwndUsageSeq) | 0) >= 0 || isCwndLimited ||
      (!u.isCwndLimited && tp.packetsOut > u.maxPacketsOut)) {
    u.isCwndLimited = isCwndLimited;
    u.maxPacketsOut = tp.packetsOut;
    u.cwndUsageSeq = tp.sndNxt;
  }
  if (tcpIsCwndLimited(tp, u)) {
    u.sndCwndUsed = 0;
    u.sndCwndStamp = tp.nowMs >>> 0;
  } else {
    if (tp.packetsOut > u.sndCwndUsed) u.sndCwndUsed = tp.packetsOut;
    if (slowStartAfterIdle && (((tp.nowMs >>> 0) - u.sndCwndStamp) | 0) >= tp.rtoMs) {
      tcpCwndApplicationLimited(tp, u);
    }
  }
}

/**
 * Linux tcp_cwnd_restart: after `idleMs` without sending, halve cwnd once per RTO elapsed down
 * to min(initial window, cwnd); ssthresh keeps 3/4 of the old cwnd. CA_EVENT_CWND_RESTART first.
 */
export function tcpCwndRestart(tp: CongSock, u: CwndUsage, ca: CongestionOps, idleMs: number, rtoMs: number, initCwnd: number): void {
  ca.cwndEvent?.(tp, CaEvent.CwndRestart);
  let cwnd = tp.sndCwnd;
  tp.sndSsthresh = tcpCurrentSsthresh(tp);
  const restart = Math.min(initCwnd, cwnd);
  let delta = idleMs | 0;
  while ((delta = (delta - rtoMs) | 0) > 0 && cwnd > restart) cwnd >>>= 1;
  tp.sndCwnd = Math.max(cwnd, restart);
  u.sndCwndStamp = tp.nowMs >>> 0;
  u.sndCwndUsed = 0;
}

/**
 * Linux tcp_slow_start_after_idle_check: with the sysctl on and nothing in flight, restart
 * the window when the socket sent nothing for longer than the RTO (since `lsndtimeMs`).
 */
export function tcpSlowStartAfterIdleCheck(
  tp: CwndValidateSock, u: CwndUsage, ca: CongestionOps, slowStartAfterIdle: boolean,
): void {
  if (!slowStartAfterIdle || tp.packetsOut !== 0) return;
  const delta = ((tp.nowMs >>> 0) - tp.lsndtimeMs) | 0;
  if (delta > tp.rtoMs) tcpCwndRestart(tp, u, ca, delta, tp.rtoMs, tp.initCwnd);
}
