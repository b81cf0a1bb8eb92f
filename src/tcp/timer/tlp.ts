/**
 * The tail loss probe on the retransmission timer (RFC 8985 §7; Linux tcp_schedule_loss_probe,
 * tcp_send_loss_probe, the tlp_high_seq part of tcp_process_tlp_ack). The decisions are
 * recovery/tlp.ts's; this module owns the timer use: the probe shares `rtoTimer` with the RTO,
 * as Linux's ICSK_TIME_LOSS_PROBE shares icsk_retransmit_timer, and `tp.tlpPending` tells which
 * one is armed. A probe is new data when the window allows (one MSS, cwnd ignored), else the
 * last record sent again; afterwards the RTO is armed. Without SACK, outside Open/CWR, or while
 * a probe is outstanding (tlp_high_seq), nothing is scheduled.
 */
import { CaState } from '../cong/types.js';
import { TCP_ACK, TCP_PSH } from '../../wire/tcp.js';
import { tcpRetransmitRecord } from '../output/retransmit.js';
import { tcpSendNew } from '../output/xmit.js';
import type { TcpProto } from '../proto.js';
import { TlpProbe, tlpProbeKind, tlpTimeoutUs } from '../recovery/tlp.js';
import type { TcpSock } from '../sock.js';

/**
 * Linux tcp_schedule_loss_probe: `advancingRto` — called for an ACK that re-armed the RTO
 * (true) or after sending new data (false). Returns whether a probe was armed.
 */
export function tcpScheduleLossProbe(tcp: TcpProto, tp: TcpSock, advancingRto: boolean): boolean {
  if (tp.tlpHighSeq !== 0) return false;
  const t = tlpTimeoutUs(tp, advancingRto);
  if (t < 0) return false;
  const sched = tcp.sched;
  sched.arm(tp.rtoTimer, sched.now() + t);
  tp.tlpPending = true;
  return true;
}

/** Linux tcp_send_loss_probe: the probe timer fired */
export function tcpSendLossProbe(tcp: TcpProto, tp: TcpSock): void {
  tp.rtx.segmentize();
  const sched = tcp.sched;
  const q = tp.rtx;
  const wnd = (tp.sndUna + tp.sndWnd - tp.sndNxt) | 0;
  const mss = tp.mss;
  const unsent = tp.unsent;
  const fits = unsent > 0 && wnd >= Math.min(mss, unsent);
  tp.tlpPending = false;
  if (tp.caState !== CaState.Open && tp.caState !== CaState.CWR) {
    // recovery started meanwhile: the timer is the RTO again
    sched.arm(tp.rtoTimer, sched.now() + tp.rto);
    return;
  }
  const kind = tlpProbeKind(tp, fits, q.tail === null);
  if (kind === TlpProbe.NewData) {
    const len = Math.min(mss, unsent);
    const withFin = len === unsent && tp.finQueued && !tp.finSent;
    tcpSendNew(tcp, tp, len, TCP_ACK | (len === unsent ? TCP_PSH : 0), withFin);
    tp.tlpRetrans = false;
    tp.tlpHighSeq = tp.sndNxt;
  } else if (kind === TlpProbe.RetransmitLast && q.tail !== null) {
    // its last MSS only (Linux fragments a larger skb)
    const t = q.tail;
    if (t.len - (t.fin ? 1 : 0) > mss) q.split(t, t.len - (t.fin ? 1 : 0) - mss);
    if (tcpRetransmitRecord(tcp, tp, q.tail, true)) {
      tp.tlpRetrans = true;
      tp.tlpHighSeq = tp.sndNxt;
    }
  }
  // the RTO from now (Linux: icsk_pending = 0, then tcp_rearm_rto)
  sched.arm(tp.rtoTimer, sched.now() + tp.rto);
}
