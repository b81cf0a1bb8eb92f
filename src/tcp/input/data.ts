/**
 * Receiving data and FIN (Linux tcp_data_queue, tcp_fin, tcp_event_data_recv + ACK policy):
 * in-order data joins the receive queue (coalesced into the tail skb when possible), the
 * out-of-order queue drains behind it, duplicates are answered with an ACK, out-of-order data is
 * kept (ofo.ts) with one duplicate ACK per merged segment. ACK policy: quick ACKs at the start,
 * every second full segment (at the end of the device poll for a NAPI-polled device:
 * ack-defer.ts), after out-of-order, on FIN; otherwise the delayed-ACK timer.
 */
import { skbFree, skbTryCoalesce, type SkBuff } from '../../skb/index.js';
import { seqGt, seqLe, seqLt } from '../../wire/seq.js';
import { TCP_CWR, TCP_FIN } from '../../wire/tcp.js';
import { TCP_CLOSING, TCP_CLOSE_WAIT, TCP_DELACK_MIN, TCP_ESTABLISHED, TCP_FIN_WAIT1, TCP_FIN_WAIT2, TCP_SYN_RECV } from '../constants.js';
import { tcpEcnCheckCe } from '../ecn.js';
import { tcpSendAck } from '../output/control.js';
import type { TcpProto } from '../proto.js';
import type { TcpSock } from '../sock.js';
import { tcpDeferAck } from './ack-defer.js';
import { tcpOfoDrain, tcpOfoInsert } from './ofo.js';
import { tcpDsackSet, tcpSackRemove } from './sack-blocks.js';
import { tcpEnterTimeWait } from './timewait.js';

/** queues in-order data (and a FIN), or keeps out-of-order data; takes the skb */
export function tcpDataQueue(tcp: TcpProto, tp: TcpSock, skb: SkBuff): void {
  const fin = (skb.tcpFlags & TCP_FIN) !== 0;
  tp.stats.dataSegsIn++;
  const segLen = skb.gsoSize > 0 ? skb.gsoSize : skb.len;
  if (segLen > tp.rcvMss) tp.rcvMss = Math.min(segLen, tp.advMss);
  // memory limit (Linux tcp_try_rmem_schedule: the queues are already over the buffer). Data
  // inside the window we advertised is still taken: Linux offers at most half its buffer (the
  // rest covers skb overhead), so an advertised window always fits there; here the buffer counts
  // payload bytes, and a window offered before SO_RCVBUF shrank must still fill up, or the sender
  // probes a window that never closes (tcp_shrink_window = 0: the right edge never moves left)
  if (skb.len > 0 && tp.rcvQueueBytes + tp.ofoBytes > tp.rcvBuf && seqGt(skb.endSeq, (tp.rcvWup + tp.rcvWnd) | 0)) {
    tcp.stats.rcvPruned++;
    skbFree(skb);
    tcpSendAck(tcp, tp);
    return;
  }
  // ECN: data with CWR is ACKed at once (Linux tcp_ecn_accept_cwr; the ACK step ended the echo)
  const ecn = tp.ecnFlags !== 0;
  const ackNow = ecn && (skb.tcpFlags & TCP_CWR) !== 0 && skb.len > 0;
  // in order: starts at rcv_nxt, or overlaps it with new data or a new FIN (a retransmission
  // of data we have, carrying the FIN we missed)
  if (
    skb.seq === tp.rcvNxt ||
    (seqLt(skb.seq, tp.rcvNxt) && (seqGt(skb.endSeq, tp.rcvNxt) || (fin && skb.endSeq === tp.rcvNxt && !tp.finReceived)))
  ) {
    // a retransmission overlapping what we have: report the overlap (RFC 2883)
    if (seqLt(skb.seq, tp.rcvNxt) && tp.sackOk) tcpDsackSet(tcp, tp, skb.seq, tp.rcvNxt);
    // Linux tcp_event_data_recv → tcp_ecn_check_ce (CE: ECE until CWR, quick ACKs)
    if (ecn) tcpEcnCheckCe(tp, tcp.rxTos);
    tcpQueueRcv(tp, skb);
    if (fin) tcpFinRcv(tcp, tp);
    const hadOfo = tp.ofoHead !== null;
    if (hadOfo) {
      tcpOfoDrain(tcp, tp);
      if (tp.numSacks > 0) tcpSackRemove(tp);
    }
    if (tp.sockOwner) tp.sockOwner.tcpReadable(tp);
    // ACK policy: quickack at start, every second full segment, out-of-order fill, FIN
    // (a GRO train counts as the segments it merged)
    tp.unackedSegs += skb.gsoSize > 0 ? Math.ceil(skb.len / skb.gsoSize) : 1;
    if (fin || hadOfo || tp.quickAcks > 0 || ackNow) {
      if (tp.quickAcks > 0) tp.quickAcks--;
      tcpSendAck(tcp, tp);
    } else if (tp.unackedSegs >= 2) {
      // the regular ACK: once per device poll when the segment came from one (ack-defer.ts)
      if (tcp.rxNapi) tcpDeferAck(tcp, tp);
      else tcpSendAck(tcp, tp);
    } else if (!tp.delackTimer.armed) {
      tp.ackPending = true;
      tcp.sched.arm(tp.delackTimer, tcp.sched.now() + TCP_DELACK_MIN);
    } else {
      tp.ackPending = true;
    }
    return;
  }
  if (seqLe(skb.endSeq, tp.rcvNxt) && !(fin && skb.endSeq === tp.rcvNxt && !tp.finReceived)) {
    // duplicate
    tp.stats.dupSegsIn++;
    if (tp.sackOk) tcpDsackSet(tcp, tp, skb.seq, skb.endSeq);
    skbFree(skb);
    tcpSendAck(tcp, tp);
    return;
  }
  // duplicate ACKs for the hole drive the sender's fast retransmit; without SACK the sender
  // counts them, so a GRO train that merged N out-of-order segments is answered with N, as
  // the segments would have been one by one
  const dupacks = skb.gsoSize > 0 ? Math.ceil(skb.len / skb.gsoSize) : 1;
  // Linux tcp_data_queue_ofo → tcp_ecn_check_ce
  if (ecn) tcpEcnCheckCe(tp, tcp.rxTos);
  tcpOfoInsert(tcp, tp, skb);
  for (let i = 0; i < dupacks; i++) tcpSendAck(tcp, tp);
}

/** appends in-order data to the receive queue (advancing rcv_nxt); takes the skb */
export function tcpQueueRcv(tp: TcpSock, skb: SkBuff): void {
  const len = (skb.endSeq - tp.rcvNxt) | 0;
  tp.rcvNxt = skb.endSeq;
  tp.stats.bytesReceived += len;
  if (skb.len === 0 || len <= 0) {
    // no new bytes (a bare FIN, or old data carrying a new FIN)
    skbFree(skb);
    return;
  }
  tp.rcvQueueBytes += skb.len;
  const tail = tp.rcvTail;
  if (tail !== null && tail.endSeq === skb.seq && skbTryCoalesce(tail, skb)) {
    tail.endSeq = skb.endSeq;
    skbFree(skb);
    return;
  }
  skb.next = null;
  if (tail === null) tp.rcvHead = skb;
  else tail.next = skb;
  tp.rcvTail = skb;
}

/** Linux tcp_fin: the peer's FIN is in sequence */
export function tcpFinRcv(tcp: TcpProto, tp: TcpSock): void {
  if (tp.finReceived) return;
  tp.finReceived = true;
  tp.finSeq = tp.rcvNxt;
  tp.rcvNxt = (tp.rcvNxt + 1) | 0;
  switch (tp.state) {
    case TCP_SYN_RECV:
    case TCP_ESTABLISHED:
      tp.state = TCP_CLOSE_WAIT;
      break;
    case TCP_FIN_WAIT1:
      tp.state = TCP_CLOSING;
      break;
    case TCP_FIN_WAIT2:
      tcpEnterTimeWait(tcp, tp);
      break;
  }
  if (tp.sockOwner) {
    tp.sockOwner.tcpStateChange(tp);
    tp.sockOwner.tcpReadable(tp);
  }
}
