/**
 * Retransmission (Linux tcp_retransmit_skb, tcp_xmit_retransmit_queue, tcp_simple_retransmit):
 * records of the retransmit queue marked lost are sent again, in sequence order, while the pipe
 * leaves room in cwnd; a retransmission re-references the write queue's frags for the record's
 * range (no copy). A record longer than the current MSS (the path MTU fell) is split first; a
 * short one takes its small followers along (tcp_retrans_try_collapse) — neither ever crosses a
 * hard boundary of the write queue (MSG_EOR, a zerocopy completion, readable / unreadable).
 */
import { seqLt } from '../../wire/seq.js';
import { TCP_ACK, TCP_FIN, TCP_PSH } from '../../wire/tcp.js';
import { tcpCurrentSsthresh } from '../cong/cwnd.js';
import { CaState } from '../cong/types.js';
import { tcpSetCaState } from '../input/fast-recovery.js';
import type { TcpProto } from '../proto.js';
import { TCPCB_LOST, TCPCB_SACKED_ACKED, TCPCB_SACKED_RETRANS } from '../recovery/rack.js';
import type { TcpSock } from '../sock.js';
import type { TxRecord } from './rtx-queue.js';
import { tcpSendData, tcpWriteXmit } from './xmit.js';

/**
 * Linux tcp_retransmit_skb: sends record `r` again (split to the MSS first, or merged with
 * small followers), marks it retransmitted (newest in transmission order) and keeps the
 * episode's bookkeeping: the first retransmission's time (retrans_stamp, for undo and the
 * give-up timers) and the count undo checks DSACKs against (not for a tail loss probe,
 * `probe`). False when it cannot go: outside the peer's window (a receiver that shrank it),
 * unless it is the head.
 */
export function tcpRetransmitRecord(tcp: TcpProto, tp: TcpSock, r: TxRecord, probe = false): boolean {
  const mss = tp.mss;
  if (r.seq !== tp.sndUna && !seqLt(r.seq, (tp.sndUna + tp.sndWnd) | 0)) return false;
  const q = tp.rtx;
  const wq = tp.sendBuf;
  const dataLen = r.len - (r.fin ? 1 : 0);
  if (dataLen > mss) q.split(r, mss);
  // merge small followers, never across a hard boundary of the write queue (EOR, zerocopy
  // completion, readable / unreadable memory: writeq-api segLimit)
  else if (dataLen < mss) q.collapse(r, dataLen > 0 ? wq.segLimit(r.seq, mss) : mss);
  let len = r.len - (r.fin ? 1 : 0);
  if (len > 0) {
    const fit = wq.segLimit(r.seq, len);
    if (fit > 0 && fit < len) {
      q.split(r, fit);
      len = fit;
    }
  }
  const now = tcp.sched.now();
  tp.stats.retransSegs++;
  tp.stats.bytesRetrans += len;
  tcp.stats.retransSegs++;
  if (!tp.inLoss) {
    // TcpExt TCPFastRetrans: retransmissions outside RTO recovery (Linux counts segments)
    tp.stats.fastRetrans++;
    tcp.stats.fastRetrans++;
  }
  // PSH as the original: on a record that ends a write (Linux keeps it on the skb's tail part)
  tcpSendData(tcp, tp, r.seq, len, TCP_ACK | (len > 0 && r.psh ? TCP_PSH : 0) | (r.fin ? TCP_FIN : 0));
  if (probe) {
    // a tail loss probe (Linux __tcp_retransmit_skb): not a retransmission in flight
    tp.rtx.markProbed(r, now);
    return true;
  }
  tp.rtx.markRetrans(r, now);
  if (tp.firstRetransUs < 0) tp.firstRetransUs = now;
  tp.undoRetrans = tp.undoRetrans < 0 ? 1 : tp.undoRetrans + 1;
  return true;
}

/**
 * Linux tcp_xmit_retransmit_queue: retransmits lost records not yet retransmitted, in sequence
 * order, while cwnd leaves room and lost records outnumber retransmissions in flight (at least
 * one when `force`: the RTO). Re-arms the RTO when the head went again (unless the RACK
 * reordering timer is pending). Returns the number sent.
 */
export function tcpXmitRetransmitQueue(tcp: TcpProto, tp: TcpSock, force: boolean): number {
  const q = tp.rtx;
  if (q.lostOut <= 0) return 0;
  let sent = 0;
  let rearm = false;
  const head = q.head;
  for (let r = head; r !== null; r = r.next) {
    if (!(force && sent === 0)) {
      if (tp.pipe + Math.min(r.len, tp.mss) > tp.cwnd) break;
      if (q.retransOut >= q.lostOut) break;
    }
    const s = r.sacked;
    if (!(s & TCPCB_LOST) || s & (TCPCB_SACKED_ACKED | TCPCB_SACKED_RETRANS)) continue;
    if (!tcpRetransmitRecord(tcp, tp, r)) break;
    if (r === head && !tp.reoPending) rearm = true;
    sent++;
  }
  if (rearm) {
    const sched = tcp.sched;
    sched.arm(tp.rtoTimer, sched.now() + tp.rto);
    tp.tlpPending = false;
  }
  return sent;
}
/**
 * Linux tcp_simple_retransmit: the segments in flight were built for the old MSS and are lost
 * at the smaller MTU; mark those longer than the new MSS lost and send them again (without a
 * congestion response).
 */
export function tcpSimpleRetransmit(tcp: TcpProto, tp: TcpSock): void {
  const q = tp.rtx;
  const mss = tp.mss;
  for (let r = q.head; r !== null; r = r.next) {
    // too big for the new MSS: lost, its retransmission too
    if (r.len - (r.fin ? 1 : 0) > mss) {
      q.clearRetrans(r);
      q.markLost(r);
    }
  }
  if (q.lostOut > 0) {
    // no congestion response: the units changed, not the amount in flight (Linux keeps cwnd,
    // takes ssthresh = current ssthresh and recovers in Loss without undo)
    if (tp.caState !== CaState.Loss) {
      tp.highSeq = tp.sndNxt;
      tp.sndSsthresh = tcpCurrentSsthresh(tp);
      tp.priorSsthresh = 0;
      tp.undoActive = false;
      tcpSetCaState(tp, CaState.Loss);
    }
    tcpXmitRetransmitQueue(tcp, tp, true);
  }
  tcpWriteXmit(tcp, tp, tp.cork);
  const sched = tcp.sched;
  if (tp.inFlight > 0 && !tp.rtoTimer.armed) sched.arm(tp.rtoTimer, sched.now() + tp.rto);
}
