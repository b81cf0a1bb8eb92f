/**
 * The retransmission timer (Linux tcp_retransmit_timer, tcp_probe_timer): SYN / SYN-ACK
 * retries with backoff, RTO recovery (RFC 6298 §5.4–5.6, RFC 5681 §3.1: collapse cwnd, back
 * off, every record lost, the head retransmitted), giving up after TCP_RETRIES2 with the soft error if any, and the
 * zero-window / held-data probe when nothing is in flight.
 */
import { ERRNO } from '../../uapi/index.js';
import { TCP_ACK, TCP_PSH } from '../../wire/tcp.js';
import {
  TCP_ORPHAN_RETRIES, TCP_RETRIES2, TCP_RTO_MAX, TCP_RTO_MIN, TCP_SYNACK_RETRIES, TCP_SYN_RECV, TCP_SYN_RETRIES, TCP_SYN_SENT,
} from '../constants.js';
import { tcpFail } from '../conn.js';
import { tcpSendProbe, tcpSendSyn } from '../output/control.js';
import { tcpXmitRetransmitQueue } from '../output/retransmit.js';
import { tcpSendNew } from '../output/xmit.js';
import type { TcpProto } from '../proto.js';
import type { TcpSock } from '../sock.js';

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
  tp.retransmits++;
  tp.ssthresh = Math.max(tp.inFlight >> 1, 2 * tp.mss);
  tp.cwnd = tp.mss;
  tp.cwndCnt = 0;
  tp.inRecovery = false;
  tp.dupAcks = 0;
  tp.renoSacked = 0;
  tp.recover = tp.sndMax;
  tp.lossHigh = tp.sndMax;
  tp.inLoss = true;
  tp.backoff++;
  tp.rto = Math.min(tp.rto * 2, TCP_RTO_MAX);
  tp.rtx.markAllLost();
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
