/**
 * Retransmission (Linux tcp_retransmit_skb, tcp_xmit_retransmit_queue, tcp_simple_retransmit):
 * records of the retransmit queue marked lost are sent again, in sequence order, while the pipe
 * leaves room in cwnd; a retransmission re-references the write queue's frags for the record's
 * range (no copy). A record longer than the current MSS (the path MTU fell) is split first; a
 * short one takes its small followers along (tcp_retrans_try_collapse) — neither ever crosses a
 * hard boundary of the write queue (MSG_EOR, a zerocopy completion, readable / unreadable).
 * When cwnd leaves room for `segs` segments, a lost run of records that went out in one packet
 * (`TxRecord.cont`, one Linux skb) goes again as one multi-MSS packet of at most mss × segs
 * bytes (Linux __tcp_retransmit_skb: tcp_fragment beyond that); the counters stay per record
 * (bytes), so undo / RACK / TLP see each MSS as before.
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
import { tcpSendData, tcpTsoSegs, tcpWriteXmit } from './xmit.js';

/**
 * Linux tcp_retransmit_skb: sends record `r` again (split to the MSS first, or merged with
 * small followers), marks it retransmitted (newest in transmission order) and keeps the
 * episode's bookkeeping: the first retransmission's time (retrans_stamp, for undo and the
 * give-up timers) and the count undo checks DSACKs against (not for a tail loss probe,
 * `probe`). False when it cannot go: outside the peer's window (a receiver that shrank it),
 * unless it is the head. `segs` (> 1 only from the retransmit queue, never for a probe): the
 * segments cwnd leaves room for — a lost run of full-MSS records sent as one packet before goes
 * as one packet of up to `segs` MSS (within the peer's window and the write queue's hard
 * boundaries).
 */
export function tcpRetransmitRecord(tcp: TcpProto, tp: TcpSock, r: TxRecord, probe = false, segs = 1): boolean {
  tp.rtx.segmentize();
  const mss = tp.mss;
  if (r.seq !== tp.sndUna && !seqLt(r.seq, (tp.sndUna + tp.sndWnd) | 0)) return false;
  const q = tp.rtx;
  const wq = tp.sendBuf;
  const dataLen = r.len - (r.fin ? 1 : 0);
  let last = r;
  let n = 1;
  let len: number;
  if (dataLen > mss) q.split(r, mss);
  // merge small followers, never across a hard boundary of the write queue (EOR, zerocopy
  // completion, readable / unreadable memory: writeq-api segLimit)
  else if (dataLen < mss) q.collapse(r, dataLen > 0 ? wq.segLimit(r.seq, mss) : mss);
  else if (segs > 1 && !probe && !r.fin) {
    // the run of lost records of r's original packet, up to segs MSS and the peer's window
    // (Linux: len = cur_mss × segs, rounded down to whole MSS of avail_wnd)
    const avail = (tp.sndUna + tp.sndWnd - r.seq) | 0;
    let max = mss * segs;
    if (avail < max) max = avail >= mss ? avail - (avail % mss) : mss;
    const fit = wq.segLimit(r.seq, max, tcp.skbs.maxFrags);
    if (fit < max) max = fit;
    let total = mss;
    for (let x = r.next; x !== null && x.cont && x.seq === last.endSeq; x = x.next) {
      if ((x.sacked & (TCPCB_LOST | TCPCB_SACKED_ACKED | TCPCB_SACKED_RETRANS)) !== TCPCB_LOST) break;
      const d = x.len - (x.fin ? 1 : 0);
      if (x.fin || d <= 0 || total + d > max) break;
      total += d;
      last = x;
      n++;
      if (d < mss) break;
    }
  }
  if (n > 1) {
    len = (last.endSeq - r.seq) | 0;
  } else {
    len = r.len - (r.fin ? 1 : 0);
    if (len > 0) {
      const fit = wq.segLimit(r.seq, len);
      if (fit > 0 && fit < len) {
        q.split(r, fit);
        len = fit;
      }
    }
  }
  const now = tcp.sched.now();
  tp.stats.retransSegs += n;
  tp.stats.bytesRetrans += len;
  tcp.stats.retransSegs += n;
  if (!tp.inLoss) {
    // TcpExt TCPFastRetrans: retransmissions outside RTO recovery (Linux counts segments)
    tp.stats.fastRetrans += n;
    tcp.stats.fastRetrans += n;
  }
  // PSH as the original: on a record that ends a write (Linux keeps it on the skb's tail part);
  // tcpSendData adds it to a multi-MSS packet
  tcpSendData(tcp, tp, r.seq, len, TCP_ACK | (len > 0 && last.psh ? TCP_PSH : 0) | (last.fin ? TCP_FIN : 0));
  // Linux tcp_fragment: the packet is one skb from now on, apart from what precedes and follows
  r.cont = false;
  if (last.next !== null) last.next.cont = false;
  if (probe) {
    // a tail loss probe (Linux __tcp_retransmit_skb): not a retransmission in flight
    q.markProbed(r, now);
    return true;
  }
  // each record of the packet: in flight again, newest in transmission order (in sequence)
  for (let x = r; ; ) {
    q.markRetrans(x, now);
    if (x === last || x.next === null) break;
    x = x.next;
  }
  if (tp.firstRetransUs < 0) tp.firstRetransUs = now;
  tp.undoRetrans = tp.undoRetrans < 0 ? n : tp.undoRetrans + n;
  return true;
}

/**
 * Linux tcp_xmit_retransmit_queue: retransmits lost records not yet retransmitted, in sequence
 * order, while cwnd leaves room and lost records outnumber retransmissions in flight (at least
 * one when `force`: the RTO). Re-arms the RTO when the head went again (unless the RACK
 * reordering timer is pending). Returns the number sent.
 */
export function tcpXmitRetransmitQueue(tcp: TcpProto, tp: TcpSock, force: boolean): number {
  tp.rtx.segmentize();
  const q = tp.rtx;
  if (q.lostOut <= 0) return 0;
  let sent = 0;
  let rearm = false;
  const head = q.head;
  const mss = tp.mss;
  const dev = tp.routeDev;
  // Linux max_segs: what one TSO packet may carry (one segment without a route)
  const maxSegs = dev !== null ? tcpTsoSegs(tcp, tp, mss, dev.gsoMaxSize) : 1;
  for (let r = head; r !== null; r = r.next) {
    if (!(force && sent === 0)) {
      if (tp.pipe + Math.min(r.len, mss) > tp.cwnd) break;
      if (q.retransOut >= q.lostOut) break;
    }
    const s = r.sacked;
    if (!(s & TCPCB_LOST) || s & (TCPCB_SACKED_ACKED | TCPCB_SACKED_RETRANS)) continue;
    // Linux segs = cwnd − packets in flight, at most max_segs. The first packet of a pass goes
    // as one MSS: Linux 6.18 was observed (packetdrill on this kernel, fr-4pkt-fack-last-byte and
    // sack-route-refresh-ip-tos) to send the first hole's first MSS alone, later holes whole
    let segs = sent === 0 ? 1 : tp.sndCwnd - tp.packetsInFlight;
    if (segs > maxSegs) segs = maxSegs;
    if (!tcpRetransmitRecord(tcp, tp, r, false, segs)) break;
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
  tp.rtx.segmentize();
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
