/**
 * The retransmission timer (Linux tcp_retransmit_timer, tcp_probe_timer): SYN / SYN-ACK
 * retries with backoff, RTO recovery (RFC 6298 §5.4–5.6, as Linux tcp_enter_loss: every record
 * not SACKed lost, the module's ssthresh, cwnd = in flight + 1, state Loss, back off, the head retransmitted), giving up after TCP_RETRIES2 with the soft error if any, and the
 * zero-window / held-data probe when nothing is in flight (tcp_probe_timer).
 */
import { ERRNO } from '../../uapi/index.js';
import { TCP_ACK, TCP_PSH } from '../../wire/tcp.js';
import {
  TCP_ORPHAN_RETRIES, TCP_RETRIES2, TCP_RTO_MAX, TCP_RTO_MIN, TCP_SYNACK_RETRIES, TCP_SYN_RECV, TCP_SYN_RETRIES, TCP_SYN_SENT,
} from '../constants.js';
import { tcpFail } from '../conn.js';
import { CaState } from '../cong/types.js';
import { tcpSetCaState } from '../input/fast-recovery.js';
import { tcpSendProbe, tcpSendSyn } from '../output/control.js';
import { tcpXmitRetransmitQueue } from '../output/retransmit.js';
import { tcpSendNew } from '../output/xmit.js';
import type { TcpProto } from '../proto.js';
import type { TxRecord } from '../output/rtx-queue.js';
import { tcpEnterLossCwnd } from '../recovery/cong-control.js';
import { TCPCB_LOST, TCPCB_SACKED_ACKED, TCPCB_SACKED_RETRANS } from '../recovery/rack.js';
import type { TcpSock } from '../sock.js';
import { tcpSendLossProbe } from './tlp.js';

export function tcpRetransmitTimer(tcp: TcpProto, tp: TcpSock): void {
  const sched = tcp.sched;
  const now = sched.now();
  if (tp.state === TCP_SYN_SENT || tp.state === TCP_SYN_RECV) {
    const limit = tp.state === TCP_SYN_SENT ? TCP_SYN_RETRIES : TCP_SYNACK_RETRIES;
    if (tp.retransmits >= limit) {
      if (tp.state === TCP_SYN_SENT) tcp.stats.attemptFails++;
      tcpFail(tcp, tp, tp.softError || ERRNO.ETIMEDOUT);
      return;
    }
    tp.retransmits++;
    tp.backoff++;
    tp.rttTime = -1;
    tp.rto = Math.min(tp.rto * 2, TCP_RTO_MAX);
    tp.stats.timeouts++;
    tcp.stats.retransSegs++;
    tcpSendSyn(tcp, tp, tp.state === TCP_SYN_RECV);
    return;
  }
  if (tp.tlpPending) {
    tp.tlpPending = false;
    if (tp.inFlight > 0) {
      tcpSendLossProbe(tcp, tp);
      return;
    }
  }
  if (tp.inFlight === 0) {
    tcpProbeTimer(tcp, tp, now);
    return;
  }
  if (tp.retransmits >= TCP_RETRIES2) {
    // Linux tcp_write_err: the soft error (an ICMP error seen meanwhile) if there is one
    tcpFail(tcp, tp, tp.softError || ERRNO.ETIMEDOUT);
    return;
  }
  // RFC 6298 §5.4–5.6 + RFC 5681 §3.1, as Linux tcp_enter_loss: collapse cwnd, back off, mark
  // every record not SACKed lost and retransmit the head; the rest follows as cwnd reopens
  tp.stats.timeouts++;
  tcp.stats.timeouts++;
  tp.dupAcks = 0;
  tp.renoSacked = 0;
  tcpTimeoutMarkLost(tp);
  // the module's ssthresh (unless already reduced in this window), cwnd = in flight + 1
  tcpEnterLossCwnd(tp, tp.caOps, tp.retransmits);
  tp.retransmits++;
  tp.recover = tp.sndMax;
  tp.lossHigh = tp.sndMax;
  tp.highSeq = tp.sndNxt;
  tp.tlpHighSeq = 0;
  tcpSetCaState(tp, CaState.Loss);
  tp.backoff++;
  tp.rto = Math.min(tp.rto * 2, TCP_RTO_MAX);
  tcpXmitRetransmitQueue(tcp, tp, true);
  sched.arm(tp.rtoTimer, now + tp.rto);
}

/**
 * Linux tcp_probe_timer / tcp_write_wakeup: nothing in flight but data waits — send what the
 * window allows, or, with a zero window, a probe (a bare ACK with seq = snd_una − 1) with
 * exponential backoff
 */
function tcpProbeTimer(tcp: TcpProto, tp: TcpSock, now: number): void {
  if (tp.unsent <= 0) return;
  const sched = tcp.sched;
  const wnd = (tp.sndUna + tp.sndWnd - tp.sndNxt) | 0;
  if (wnd > 0) {
    const len = Math.min(wnd, tp.mss, tp.unsent);
    const withFin = len === tp.unsent && tp.finQueued && !tp.finSent;
    tcpSendNew(tcp, tp, len, TCP_ACK | TCP_PSH, withFin);
    sched.arm(tp.rtoTimer, now + tp.rto);
    return;
  }
  // Linux tcp_probe_timer: give up after tcp_retries2 unanswered probes (an orphan: 8)
  const maxProbes = tp.orphan ? TCP_ORPHAN_RETRIES : TCP_RETRIES2;
  if (tp.probesOut >= maxProbes) {
    tcpFail(tcp, tp, tp.softError || ERRNO.ETIMEDOUT);
    return;
  }
  tp.probesOut++;
  tcpSendProbe(tcp, tp);
  tp.backoff++;
  const next = Math.min(Math.max(tp.rto, TCP_RTO_MIN) << Math.min(tp.backoff, 10), TCP_RTO_MAX);
  sched.arm(tp.rtoTimer, now + next);
}

/**
 * Linux tcp_timeout_mark_lost: every record not SACKed is lost, retransmissions in flight
 * included. SACK marks stay unless the head itself is SACKed (the receiver reneged, or the
 * blocks were forged: then every mark goes, RFC 2018 §8) or the connection has no SACK.
 */
function tcpTimeoutMarkLost(tp: TcpSock): void {
  const q = tp.rtx;
  const head = q.head;
  if (head === null || !tp.sackOk || head.sacked & TCPCB_SACKED_ACKED) {
    q.markAllLost();
    return;
  }
  for (let r: TxRecord | null = head; r !== null; r = r.next) {
    if ((r.sacked & (TCPCB_LOST | TCPCB_SACKED_RETRANS)) === (TCPCB_LOST | TCPCB_SACKED_RETRANS)) {
      // a retransmission lost again
      r.sacked &= ~TCPCB_SACKED_RETRANS;
      q.retransOut -= r.len;
    } else {
      q.markLost(r);
    }
  }
}
