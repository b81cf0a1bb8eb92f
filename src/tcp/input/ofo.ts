/**
 * The out-of-order queue (Linux tcp_data_queue_ofo / tcp_ofo_queue): a list of skbs sorted by
 * sequence; an arrival fully covered by a queued skb is a duplicate, queued skbs an arrival
 * fully covers are dropped; `tcpOfoDrain` moves what became in-order to the receive queue.
 * The queue owns its skbs.
 */
import { skbFree, type SkBuff } from '../../skb/index.js';
import { seqGe, seqGt, seqLe } from '../../wire/seq.js';
import { TCP_FIN } from '../../wire/tcp.js';
import { TCP_MAX_QUICKACKS } from '../constants.js';
import type { TcpProto } from '../proto.js';
import type { TcpSock } from '../sock.js';
import { tcpFinRcv, tcpQueueRcv } from './data.js';
import { tcpDsackSet, tcpSackNewOfo } from './sack-blocks.js';

/** keeps an out-of-order skb (takes it) and updates the SACK blocks we report */
export function tcpOfoInsert(tcp: TcpProto, tp: TcpSock, skb: SkBuff): void {
  const seq = skb.seq;
  const end = skb.endSeq;
  tp.stats.ofoQueued++;
  tp.quickAcks = TCP_MAX_QUICKACKS;
  let prev: SkBuff | null = null;
  let cur = tp.ofoHead;
  while (cur !== null && seqLe(cur.seq, skb.seq)) {
    if (seqGe(cur.endSeq, skb.endSeq) && !(skb.tcpFlags & TCP_FIN && !(cur.tcpFlags & TCP_FIN))) {
      // fully covered
      tp.stats.dupSegsIn++;
      skbFree(skb);
      if (tp.sackOk) {
        tcpDsackSet(tcp, tp, seq, end);
        tcpSackNewOfo(tp, seq, end);
      }
      return;
    }
    prev = cur;
    cur = cur.next;
  }
  // drop queued segments the new one fully covers
  while (cur !== null && seqLe(cur.endSeq, skb.endSeq) && !(cur.tcpFlags & TCP_FIN && !(skb.tcpFlags & TCP_FIN))) {
    const n: SkBuff | null = cur.next;
    tp.ofoBytes -= cur.len;
    cur.next = null;
    skbFree(cur);
    cur = n;
  }
  skb.next = cur;
  if (prev === null) tp.ofoHead = skb;
  else prev.next = skb;
  tp.ofoBytes += skb.len;
  if (tp.sackOk) tcpSackNewOfo(tp, seq, end);
}

/** moves the skbs that rcv_nxt reached to the receive queue (a FIN among them is taken) */
export function tcpOfoDrain(tcp: TcpProto, tp: TcpSock): void {
  let cur = tp.ofoHead;
  while (cur !== null && seqLe(cur.seq, tp.rcvNxt)) {
    const next: SkBuff | null = cur.next;
    cur.next = null;
    tp.ofoBytes -= cur.len;
    tp.ofoHead = next;
    const fin = (cur.tcpFlags & TCP_FIN) !== 0;
    if (seqGt(cur.endSeq, tp.rcvNxt) || (fin && cur.endSeq === tp.rcvNxt && !tp.finReceived)) {
      tcpQueueRcv(tp, cur);
      if (fin) tcpFinRcv(tcp, tp);
    } else {
      skbFree(cur);
    }
    cur = next;
  }
}

/** frees the out-of-order queue */
export function tcpPurgeOfo(tp: TcpSock): void {
  let s = tp.ofoHead;
  while (s !== null) {
    const n: SkBuff | null = s.next;
    s.next = null;
    skbFree(s);
    s = n;
  }
  tp.ofoHead = null;
  tp.ofoBytes = 0;
  tp.numSacks = 0;
}
