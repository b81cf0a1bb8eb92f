/**
 * Reno congestion control and the shared cwnd helpers, as Linux net/ipv4/tcp_cong.c.
 *
 * Contract: every function works in SEGMENTS on a `CongSock` the TCP core implements; all
 * values are u32 as in Linux (`>>> 0` where Linux relies on wrap-around). Nothing allocates.
 *  - `tcpSlowStart` (Linux tcp_slow_start): slow start counting each (S)ACKed segment once,
 *    stopping at ssthresh, and returning the ACKed segments left over for congestion avoidance;
 *  - `tcpCongAvoidAi` (Linux tcp_cong_avoid_ai): additive increase of one segment per `w`
 *    segments ACKed, with `snd_cwnd_cnt` as the credit counter;
 *  - `RenoOps` (Linux tcp_reno): cong_avoid only when cwnd-limited, ssthresh max(cwnd/2, 2),
 *    undo to max(cwnd, prior_cwnd).
 */
import type { CongSock, CongestionOps } from './types.js';

/** Linux TCP_INFINITE_SSTHRESH */
export const TCP_INFINITE_SSTHRESH = 0x7fffffff;

/** Linux tcp_in_slow_start: cwnd below ssthresh */
export function tcpInSlowStart(tp: CongSock): boolean {
  return tp.sndCwnd < tp.sndSsthresh;
}

/**
 * Linux tcp_slow_start: grows cwnd by `acked` segments up to ssthresh (and the clamp); returns
 * the segments not used, which the caller spends in congestion avoidance.
 */
export function tcpSlowStart(tp: CongSock, acked: number): number {
  const before = tp.sndCwnd;
  const cwnd = Math.min((before + acked) >>> 0, tp.sndSsthresh);
  const left = (acked - (cwnd - before)) >>> 0;
  tp.sndCwnd = Math.min(cwnd, tp.sndCwndClamp);
  return left;
}

/**
 * Linux tcp_cong_avoid_ai: cwnd += 1 per `w` segments ACKed (in theory cwnd += acked / w),
 * applying credit accumulated under a larger `w` first. `w` of 0 is treated as 1.
 */
export function tcpCongAvoidAi(tp: CongSock, w: number, acked: number): void {
  if (w === 0) w = 1;
  if (tp.sndCwndCnt >= w) {
    tp.sndCwndCnt = 0;
    tp.sndCwnd = (tp.sndCwnd + 1) >>> 0;
  }
  tp.sndCwndCnt = (tp.sndCwndCnt + acked) >>> 0;
  if (tp.sndCwndCnt >= w) {
    const delta = Math.floor(tp.sndCwndCnt / w);
    tp.sndCwndCnt -= delta * w;
    tp.sndCwnd = (tp.sndCwnd + delta) >>> 0;
  }
  tp.sndCwnd = Math.min(tp.sndCwnd, tp.sndCwndClamp);
}

/** Linux tcp_reno_cong_avoid: slow start, then one segment per cwnd segments ACKed */
export function tcpRenoCongAvoid(tp: CongSock, _ack: number, acked: number): void {
  if (!tp.isCwndLimited) return;
  if (tcpInSlowStart(tp)) {
    acked = tcpSlowStart(tp, acked);
    if (acked === 0) return;
  }
  tcpCongAvoidAi(tp, tp.sndCwnd, acked);
}

/** Linux tcp_reno_ssthresh: half the congestion window, at least 2 */
export function tcpRenoSsthresh(tp: CongSock): number {
  return Math.max(tp.sndCwnd >>> 1, 2);
}

/** Linux tcp_reno_undo_cwnd: the larger of cwnd and the cwnd before the reduction */
export function tcpRenoUndoCwnd(tp: CongSock): number {
  return Math.max(tp.sndCwnd, tp.priorCwnd);
}

/** Linux `tcp_reno` (the fallback algorithm; holds no per-socket state) */
export class RenoOps implements CongestionOps {
  readonly name = 'reno';
  init(_tp: CongSock): void { /* Reno keeps no state */ }
  ssthresh(tp: CongSock): number { return tcpRenoSsthresh(tp); }
  congAvoid(tp: CongSock, ack: number, acked: number): void { tcpRenoCongAvoid(tp, ack, acked); }
  undoCwnd(tp: CongSock): number { return tcpRenoUndoCwnd(tp); }
}

/** factory registered as 'reno' */
export function createReno(): CongestionOps {
  return new RenoOps();
}
