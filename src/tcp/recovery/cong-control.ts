/**
 * Where an ACK meets the congestion-control module, as Linux tcp_input.c tcp_cong_control /
 * tcp_may_raise_cwnd, and the cwnd part of an RTO (tcp_enter_loss).
 *
 * Contract: the core calls `tcpCongControl` once per ACK that (S)ACKed something, after loss
 * detection and the CA state machine (tcp_fastretrans_alert), with the segments newly ACKed or
 * SACKed, the segments it newly marked lost and the tcp_ack FLAG_* bits; then it recomputes the
 * pacing rate (cong/pacing.ts). On an RTO it marks the queue lost, then calls
 * `tcpEnterLossCwnd` (if that returns true it also records undo state: tcp_init_undo), then
 * sets CA state Loss (calling `setState`), high_seq = snd_nxt. Nothing allocates.
 */
import { CaEvent, CaState, type CongestionOps } from '../cong/types.js';
import { tcpCurrentSsthresh, tcpInCwndReduction } from '../cong/cwnd.js';
import { tcpCwndReduction, type PrrSock } from './prr.js';
import { FLAG_DATA_ACKED, FLAG_FORWARD_PROGRESS, FLAG_SND_UNA_ADVANCED } from './flags.js';

/**
 * Linux tcp_may_raise_cwnd: grow only on in-order delivery (RFC 5681), or on any delivery
 * (SACKs included) once the path reorders more than `net.ipv4.tcp_reordering`.
 */
export function tcpMayRaiseCwnd(flag: number, reordering: number, sysctlReordering: number): boolean {
  if (reordering > sysctlReordering) return (flag & FLAG_FORWARD_PROGRESS) !== 0;
  return (flag & FLAG_DATA_ACKED) !== 0;
}

/**
 * Linux tcp_cong_control (algorithms without their own cong_control): PRR while in CWR or
 * Recovery, else `congAvoid` when the ACK may raise cwnd.
 */
export function tcpCongControl(
  tp: PrrSock, ca: CongestionOps, ack: number, ackedSacked: number, newlyLost: number, flag: number,
  reordering: number, sysctlReordering: number,
): void {
  if (tcpInCwndReduction(tp.caState)) {
    tcpCwndReduction(tp, ackedSacked, newlyLost, (flag & FLAG_SND_UNA_ADVANCED) !== 0);
  } else if (tcpMayRaiseCwnd(flag, reordering, sysctlReordering)) {
    ca.congAvoid(tp, ack, ackedSacked);
  }
}

/**
 * The cwnd part of Linux tcp_enter_loss (the core has just marked the queue lost, so
 * `packetsInFlight` counts only retransmissions): unless ssthresh was already reduced in this
 * window, remember prior ssthresh / cwnd, take the algorithm's ssthresh and send
 * CA_EVENT_LOSS — returning true (the core then records undo state); in every case cwnd =
 * in flight + 1. `retransmits`: RTOs already fired for this segment (icsk_retransmits).
 */
export function tcpEnterLossCwnd(tp: PrrSock, ca: CongestionOps, retransmits: number): boolean {
  let reduced = false;
  if (tp.caState <= CaState.Disorder || ((tp.highSeq - tp.sndUna) | 0) <= 0 ||
      (tp.caState === CaState.Loss && retransmits === 0)) {
    tp.priorSsthresh = tcpCurrentSsthresh(tp);
    tp.priorCwnd = tp.sndCwnd;
    tp.sndSsthresh = ca.ssthresh(tp);
    ca.cwndEvent?.(tp, CaEvent.Loss);
    reduced = true;
  }
  tp.sndCwnd = tp.packetsInFlight + 1;
  tp.sndCwndCnt = 0;
  return reduced;
}
