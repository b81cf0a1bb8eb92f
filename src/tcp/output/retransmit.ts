/**
 * Retransmission (Linux tcp_retransmit_skb, tcp_xmit_retransmit_queue, tcp_simple_retransmit):
 * records of the retransmit queue marked lost are sent again, in sequence order, while the pipe
 * leaves room in cwnd; a retransmission re-references the send buffer's pages for the record's
 * range (no copy). A record longer than the current MSS (the path MTU fell) is split first.
 */
import { TCP_ACK, TCP_FIN, TCP_PSH } from '../../wire/tcp.js';
import type { TcpProto } from '../proto.js';
import { TCPCB_LOST, TCPCB_SACKED_ACKED, TCPCB_SACKED_RETRANS } from '../recovery/rack.js';
import type { TcpSock } from '../sock.js';
import type { TxRecord } from './rtx-queue.js';
import { tcpSendData, tcpWriteXmit } from './xmit.js';

/** sends record `r` again (split to the MSS first) and marks it retransmitted */
export function tcpRetransmitRecord(tcp: TcpProto, tp: TcpSock, r: TxRecord): void {
  const mss = tp.mss;
  const dataLen = r.len - (r.fin ? 1 : 0);
  if (dataLen > mss) tp.rtx.split(r, mss);
  else if (dataLen < mss) tp.rtx.collapse(r, mss);
  const len = r.len - (r.fin ? 1 : 0);
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
  tp.rtx.markRetrans(r, tcp.sched.now());
}

/**
 * Linux tcp_xmit_retransmit_queue: retransmits lost records not yet retransmitted while the
 * pipe is below cwnd (at least one when `force`: the fast retransmit, the RTO). Returns the
 * number sent.
 */
export function tcpXmitRetransmitQueue(tcp: TcpProto, tp: TcpSock, force: boolean): number {
  const q = tp.rtx;
  if (q.lostOut <= 0) return 0;
  let sent = 0;
  for (let r = q.head; r !== null; r = r.next) {
    const s = r.sacked;
    if (!(s & TCPCB_LOST) || s & (TCPCB_SACKED_ACKED | TCPCB_SACKED_RETRANS)) continue;
    if (tp.pipe + Math.min(r.len, tp.mss) > tp.cwnd && !(force && sent === 0)) break;
    tcpRetransmitRecord(tcp, tp, r);
    sent++;
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
    if (r.len - (r.fin ? 1 : 0) > mss) {
      if (r.sacked & TCPCB_SACKED_RETRANS) {
        // its retransmission was too big as well
        r.sacked &= ~TCPCB_SACKED_RETRANS;
        if (r.sacked & TCPCB_LOST) q.retransOut -= r.len;
      }
      q.markLost(r);
    }
  }
  if (q.lostOut > 0) tcpXmitRetransmitQueue(tcp, tp, true);
  tcpWriteXmit(tcp, tp, tp.cork);
  const sched = tcp.sched;
  if (tp.inFlight > 0 && !tp.rtoTimer.armed) sched.arm(tp.rtoTimer, sched.now() + tp.rto);
}
