/**
 * Proportional Rate Reduction (RFC 6937) and the cwnd-reduction bookkeeping around it, as Linux
 * net/ipv4/tcp_input.c (tcp_init_cwnd_reduction, tcp_cwnd_reduction, tcp_end_cwnd_reduction,
 * and the cwnd part of tcp_undo_cwnd_reduction).
 *
 * Contract:
 *  - the core implements `PrrSock` (a `CongSock` plus the reduction fields Linux keeps in
 *    tcp_sock) and calls: `tcpInitCwndReduction` on entering Recovery or CWR (it also queues
 *    ECN CWR itself); `tcpCwndReduction` on every ACK while in Recovery/CWR, with the segments
 *    newly ACKed or SACKed, the segments newly marked lost and whether snd_una advanced; adds
 *    every segment it sends while `tcpInCwndReduction` (cong/cwnd.ts) to `prrOut` (tcp_write_xmit /
 *    tcp_xmit_retransmit_queue do `prr_out += pcount`); `tcpEndCwndReduction` on leaving;
 *  - during the reduction cwnd = in flight + sndcnt: while in flight exceeds ssthresh, the
 *    proportional part ⌈prr_delivered · ssthresh / prior_cwnd⌉ − prr_out; else packet
 *    conservation max(prr_delivered − prr_out, newly delivered), plus one (the slow-start
 *    reduction bound) when snd_una advanced with no new loss, never above ssthresh − in flight;
 *    at least one segment while nothing was sent yet (the fast retransmit);
 *  - all values are segments; nothing allocates.
 */
import { CaEvent, CaState, type CongSock, type CongestionOps } from '../cong/types.js';
import { TCP_INFINITE_SSTHRESH } from '../cong/reno.js';

/** the socket state PRR reads and writes (Linux tcp_sock fields) */
export interface PrrSock extends CongSock {
  /** cwnd when the reduction started (`prior_cwnd`) */
  priorCwnd: number;
  /** segments delivered (ACKed or SACKed) since the reduction started (`prr_delivered`) */
  prrDelivered: number;
  /** segments sent since the reduction started (`prr_out`) */
  prrOut: number;
  /** snd_nxt when the reduction started: the state ends once it is ACKed (`high_seq`) */
  highSeq: number;
  /** TLP's marker, cleared by a new reduction (`tlp_high_seq`) */
  tlpHighSeq: number;
  /** ssthresh before the reduction, for undo (0: undo not possible) (`prior_ssthresh`) */
  priorSsthresh: number;
}

/**
 * Linux tcp_init_cwnd_reduction: high_seq = snd_nxt, clear the TLP marker and the linear
 * counter, remember cwnd, zero the PRR counters, and ask the algorithm for the new ssthresh.
 */
export function tcpInitCwndReduction(tp: PrrSock, ca: CongestionOps): void {
  tp.highSeq = tp.sndNxt;
  tp.tlpHighSeq = 0;
  tp.sndCwndCnt = 0;
  tp.priorCwnd = tp.sndCwnd;
  tp.prrDelivered = 0;
  tp.prrOut = 0;
  tp.sndSsthresh = ca.ssthresh(tp);
}

/**
 * Linux tcp_cwnd_reduction (RFC 6937): sets cwnd for this ACK. `newlyAckedSacked`: segments
 * newly ACKed or SACKed by it; `newlyLost`: segments it newly marked lost; `sndUnaAdvanced`:
 * it moved snd_una (FLAG_SND_UNA_ADVANCED). Nothing happens for an ACK delivering nothing, or
 * before a reduction was initialised (prior_cwnd 0).
 */
export function tcpCwndReduction(
  tp: PrrSock, newlyAckedSacked: number, newlyLost: number, sndUnaAdvanced: boolean,
): void {
  if (newlyAckedSacked <= 0 || tp.priorCwnd === 0) return;
  const inFlight = tp.packetsInFlight;
  const delta = tp.sndSsthresh - inFlight;
  tp.prrDelivered += newlyAckedSacked;
  let sndcnt: number;
  if (delta < 0) {
    // proportional: ⌈ssthresh · prr_delivered / prior_cwnd⌉ − prr_out
    const dividend = tp.sndSsthresh * tp.prrDelivered + tp.priorCwnd - 1;
    sndcnt = Math.floor(dividend / tp.priorCwnd) - tp.prrOut;
  } else {
    sndcnt = Math.max(tp.prrDelivered - tp.prrOut, newlyAckedSacked);
    if (sndUnaAdvanced && newlyLost === 0) sndcnt++;
    sndcnt = Math.min(delta, sndcnt);
  }
  // force the fast retransmit on entering recovery
  sndcnt = Math.max(sndcnt, tp.prrOut !== 0 ? 0 : 1);
  tp.sndCwnd = inFlight + sndcnt;
}

/**
 * Linux tcp_end_cwnd_reduction: back to ssthresh when leaving CWR, or Recovery not undone
 * (`undoMarker` non-zero), then CA_EVENT_COMPLETE_CWR to the algorithm.
 */
export function tcpEndCwndReduction(tp: PrrSock, ca: CongestionOps, undoMarker: number): void {
  if (tp.sndSsthresh < TCP_INFINITE_SSTHRESH && (tp.caState === CaState.CWR || undoMarker !== 0)) {
    tp.sndCwnd = tp.sndSsthresh;
  }
  ca.cwndEvent?.(tp, CaEvent.CompleteCwr);
}

/**
 * The cwnd part of Linux tcp_undo_cwnd_reduction: when undo is possible (prior_ssthresh set)
 * cwnd goes back to `ca.undoCwnd`, and ssthresh to prior_ssthresh if that is larger. Returns
 * true when ssthresh was restored (the core then withdraws a queued ECN CWR). Unmarking lost
 * segments and clearing undo_marker stay with the core.
 */
export function tcpUndoCwnd(tp: PrrSock, ca: CongestionOps): boolean {
  if (tp.priorSsthresh === 0) return false;
  tp.sndCwnd = ca.undoCwnd(tp);
  if (tp.priorSsthresh > tp.sndSsthresh) {
    tp.sndSsthresh = tp.priorSsthresh;
    return true;
  }
  return false;
}
