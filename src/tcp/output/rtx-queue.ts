/**
 * The retransmit queue (Linux tcp_rtx_queue + the scoreboard counters): one record per sent
 * segment of at most one MSS, in sequence order, from snd_una to snd_nxt — except that a TSO
 * packet nothing has touched yet stays one record of `segs` MSS-sized pieces (`pushPacket`, Linux
 * keeps it one skb of tcp_skb_pcount segments), so that a clean bulk transfer pushes and frees one
 * record per packet instead of one per MSS. Such a record is only ever pushed, acknowledged whole
 * or by whole pieces (`ackPieces`), or exploded into its pieces (`segmentize`): everything else —
 * SACK tagging, loss marks, retransmissions, probes, splits — works on single-MSS records, and the
 * entry points of those paths call `segmentize()` first (the queue then stays per-segment until it
 * empties). `count` is in segments either way (Linux packets_out). A record holds no
 * bytes: its payload stays in the send buffer, and a retransmission attaches frags for
 * [seq, endSeq) again (re-references the pages; no copy). Flags are Linux's TCPCB_* bits
 * (recovery/rack.ts): SACKED_ACKED, SACKED_RETRANS, LOST, EVER_RETRANS. The counters are in
 * bytes (the transmit paths compare them with the byte view of cwnd, `tp.cwnd` = sndCwnd × mss): `sackedOut`, `lostOut`, `retransOut` of the records in the queue.
 * `cont` remembers which records left in one packet (one Linux skb of several MSS), so that a
 * retransmission may send such a lost run as one multi-MSS packet again (output/retransmit.ts).
 * Records come from a per-queue free list: sending and acknowledging do not allocate once the
 * queue reached its largest size.
 *
 * Besides sequence order the records not SACKed form Linux's `tsorted_sent_queue`: a second
 * list in order of last transmission (a retransmitted record moves to its tail) that RACK walks
 * from the record sent longest ago (`tsortedFirst` / `tsortedNext`, the `RackSentQueue` shape);
 * `markLost` takes a record out of it until it is sent again.
 */
import { seqGe, seqGt, seqLe } from '../../wire/seq.js';
import {
  TCPCB_EVER_RETRANS, TCPCB_LOST, TCPCB_SACKED_ACKED, TCPCB_SACKED_RETRANS,
} from '../recovery/rack.js';

export class TxRecord {
  seq = 0;
  /** sequence after the record (a FIN counts one) */
  endSeq = 0;
  /** time of its last (re)transmission, µs */
  xmitUs = 0;
  /** TCPCB_* bits */
  sacked = 0;
  /** transmission order (RACK's tie-break between equal µs times; see recovery/rack.ts) */
  xmitOrder = 0;
  /** the record carries our FIN (its last sequence number) */
  fin = false;
  /** the record ends a write (Linux tcp_mark_push): its retransmissions carry PSH */
  psh = false;
  /**
   * the record went out in the same packet as the one before it (one Linux skb of several
   * MSS): a retransmission may send such a run as one multi-MSS packet again
   */
  cont = false;
  /** MSS-sized pieces the record stands for (> 1 only for an untouched TSO packet; see the module comment) */
  segs = 1;
  /** the pieces' size when segs > 1 (the last piece may be shorter and carries the FIN) */
  pieceLen = 0;
  next: TxRecord | null = null;
  /** neighbours in transmission order (Linux tcp_tsorted_anchor); `inTs` when linked */
  tsPrev: TxRecord | null = null;
  tsNext: TxRecord | null = null;
  inTs = false;

  /** sequence space it covers */
  get len(): number {
    return (this.endSeq - this.seq) | 0;
  }
}

export class RtxQueue {
  head: TxRecord | null = null;
  tail: TxRecord | null = null;
  /** segments in the queue (Linux packets_out): a multi-piece record counts its pieces */
  count = 0;
  /** records of more than one piece */
  multi = 0;
  /** a recovery path needed per-segment records: new packets are pushed per MSS until the queue empties */
  perSegment = false;
  /** false: one record per MSS always (the reference behaviour the TSO records are tested against) */
  tsoRecords = true;
  /** packets pushed as one multi-piece record (a statistic) */
  multiPushed = 0;
  /** bytes of SACKed records */
  sackedOut = 0;
  /** bytes of records marked lost and not SACKed */
  lostOut = 0;
  /** bytes of lost records retransmitted and not yet (S)ACKed */
  retransOut = 0;
  /** highest SACKed sequence (end of a SACKed record), valid when sackedOut > 0 */
  highSacked = 0;
  /** records marked lost so far (Linux tp->lost, segments; never decreases) */
  lost = 0;
  /** the next transmission order number */
  private order = 1;
  /** transmission-ordered list of the records not SACKed (RACK) */
  tsHead: TxRecord | null = null;
  tsTail: TxRecord | null = null;
  private free: TxRecord | null = null;

  /** appends a record for [seq, end) sent at `now` */
  push(seq: number, end: number, now: number, fin: boolean, psh = false, cont = false): void {
    const r = this.take();
    r.cont = cont;
    r.seq = seq;
    r.endSeq = end;
    r.xmitUs = now;
    r.xmitOrder = this.order++;
    r.sacked = 0;
    r.fin = fin;
    r.psh = psh;
    r.next = null;
    if (this.tail === null) this.head = r;
    else this.tail.next = r;
    this.tail = r;
    this.count++;
    this.tsAppend(r);
  }

  /**
   * appends one record for a TSO packet [seq, seq + len) (+ the FIN) of `ceil(len / mss)` pieces
   * sent at `now` (the pieces take consecutive transmission orders, as per-MSS pushes would);
   * per-MSS records instead while the queue is per-segment
   */
  pushPacket(seq: number, len: number, mss: number, now: number, fin: boolean, psh: boolean): void {
    if (len <= mss || this.perSegment || !this.tsoRecords) {
      let at = seq;
      let left = len;
      while (left > mss) {
        this.push(at, (at + mss) | 0, now, false, false, at !== seq);
        at = (at + mss) | 0;
        left -= mss;
      }
      this.push(at, (at + left + (fin ? 1 : 0)) | 0, now, fin, len > 0 && psh, at !== seq);
      return;
    }
    const segs = Math.ceil(len / mss);
    const r = this.take();
    r.cont = false;
    r.seq = seq;
    r.endSeq = (seq + len + (fin ? 1 : 0)) | 0;
    r.xmitUs = now;
    r.xmitOrder = this.order;
    this.order += segs;
    r.sacked = 0;
    r.fin = fin;
    r.psh = psh;
    r.segs = segs;
    r.pieceLen = mss;
    r.next = null;
    if (this.tail === null) this.head = r;
    else this.tail.next = r;
    this.tail = r;
    this.count += segs;
    this.multi++;
    this.multiPushed++;
    this.tsAppend(r);
  }

  /**
   * the first `k` pieces (0 < k < segs) of the multi-piece head record `r` are acknowledged
   * (Linux tcp_trim_head of a TSO skb): `r` keeps the rest, each piece its transmission order
   */
  ackPieces(r: TxRecord, k: number): void {
    r.seq = (r.seq + k * r.pieceLen) | 0;
    r.xmitOrder += k;
    // what is left went out in the same packet as the pieces before it
    r.cont = true;
    r.segs -= k;
    this.count -= k;
    if (r.segs === 1) {
      r.pieceLen = 0;
      this.multi--;
    }
  }

  /** every multi-piece record becomes its pieces; the queue stays per-segment until it empties */
  segmentize(): void {
    this.perSegment = true;
    for (let r = this.head; r !== null && this.multi > 0; r = r.next) if (r.segs > 1) this.explode(r);
  }

  /**
   * `r` becomes its pieces, in place (both lists): exactly the records per-MSS pushes would have
   * made (continuation flags, transmission orders, the FIN and PSH on the last)
   */
  explode(r: TxRecord): void {
    const n = r.segs;
    if (n <= 1) return;
    const mss = r.pieceLen;
    const end = r.endSeq;
    const fin = r.fin;
    const psh = r.psh;
    let prev = r;
    for (let i = 1; i < n; i++) {
      const p = this.take();
      p.seq = (r.seq + i * mss) | 0;
      p.endSeq = i === n - 1 ? end : (p.seq + mss) | 0;
      p.xmitUs = r.xmitUs;
      p.xmitOrder = r.xmitOrder + i;
      p.sacked = r.sacked;
      p.fin = i === n - 1 && fin;
      p.psh = i === n - 1 && psh;
      p.cont = true;
      p.next = prev.next;
      prev.next = p;
      p.inTs = false;
      this.tsInsertAfter(prev, p);
      prev = p;
    }
    if (this.tail === r) this.tail = prev;
    r.endSeq = (r.seq + mss) | 0;
    r.fin = false;
    r.psh = false;
    r.segs = 1;
    r.pieceLen = 0;
    this.multi--;
  }

  // ---- the transmission-ordered list (RackSentQueue) ----

  /** the record sent longest ago that is not SACKed (or taken out as lost), or null */
  tsortedFirst(): TxRecord | null {
    return this.tsHead;
  }

  tsortedNext(r: TxRecord): TxRecord | null {
    return r.tsNext;
  }

  /** appends `r` as the most recently sent record (moves it when already linked) */
  tsAppend(r: TxRecord): void {
    if (r.inTs) {
      if (this.tsTail === r) return;
      this.tsUnlink(r);
    }
    r.tsPrev = this.tsTail;
    r.tsNext = null;
    if (this.tsTail === null) this.tsHead = r;
    else this.tsTail.tsNext = r;
    this.tsTail = r;
    r.inTs = true;
  }

  /** takes `r` out of the transmission-ordered list (no-op when not linked) */
  tsUnlink(r: TxRecord): void {
    if (!r.inTs) return;
    const p = r.tsPrev;
    const n = r.tsNext;
    if (p === null) this.tsHead = n;
    else p.tsNext = n;
    if (n === null) this.tsTail = p;
    else n.tsPrev = p;
    r.tsPrev = r.tsNext = null;
    r.inTs = false;
  }

  /** inserts `rest` right after `r` in transmission order (a split keeps the send time) */
  private tsInsertAfter(r: TxRecord, rest: TxRecord): void {
    if (!r.inTs) return;
    const n = r.tsNext;
    rest.tsPrev = r;
    rest.tsNext = n;
    r.tsNext = rest;
    if (n === null) this.tsTail = rest;
    else n.tsPrev = rest;
    rest.inTs = true;
  }

  /**
   * Removes the records `una` acknowledges (a record only partly covered is trimmed). Returns
   * the send time of the oldest fully acknowledged record never retransmitted (Karn), or -1.
   * (The ACK path walks the records itself, see input/ack.ts; this is the plain form.)
   */
  ackTo(una: number): number {
    let rtt = -1;
    let r = this.head;
    while (r !== null && seqLe(r.endSeq, una)) {
      const n = r.next;
      if (rtt < 0 && !(r.sacked & TCPCB_EVER_RETRANS) && !(r.sacked & TCPCB_SACKED_ACKED)) rtt = r.xmitUs;
      this.unlinkHead(r);
      r = n;
    }
    if (r !== null) {
      // whole pieces of a multi-piece record acknowledged count as records would (never retransmitted)
      if (rtt < 0 && r.segs > 1 && ((una - r.seq) | 0) >= r.pieceLen) rtt = r.xmitUs;
      this.trimHead(r, una);
    }
    return rtt;
  }

  /** frees the head record `r` (fully acknowledged): counters, both lists */
  unlinkHead(r: TxRecord): void {
    this.unaccount(r, r.len);
    this.head = r.next;
    this.count -= r.segs;
    if (r.segs > 1) this.multi--;
    if (this.head === null) {
      this.tail = null;
      this.sackedOut = this.lostOut = this.retransOut = 0;
      this.perSegment = false;
    }
    this.tsUnlink(r);
    this.give(r);
  }

  /** the head record `r` is acknowledged up to `una` (inside it): keep the rest */
  trimHead(r: TxRecord, una: number): void {
    if (!seqGt(una, r.seq)) return;
    if (r.segs > 1) {
      // a multi-piece record: whole pieces go, a piece `una` ends inside becomes a record
      const k = Math.floor(((una - r.seq) | 0) / r.pieceLen);
      if (k > 0) this.ackPieces(r, Math.min(k, r.segs - 1));
      if (r.segs > 1 && seqGt(una, r.seq)) this.explode(r);
      if (!seqGt(una, r.seq)) return;
    }
    this.unaccount(r, (una - r.seq) | 0);
    r.seq = una;
  }

  /**
   * Linux tcp_sacktag_one's marking of a record newly SACKed: a lost retransmission and the
   * lost mark go (its retransmission arrived, or the original did); a retransmission not
   * marked lost stays counted in flight. Returns the bytes newly SACKed (0 if it already was).
   */
  tagSacked(r: TxRecord): number {
    if (this.multi !== 0) this.segmentize();
    const s = r.sacked;
    if (s & TCPCB_SACKED_ACKED) return 0;
    const len = r.len;
    let t = s;
    if (s & TCPCB_LOST) {
      this.lostOut -= len;
      t &= ~TCPCB_LOST;
      if (s & TCPCB_SACKED_RETRANS) {
        this.retransOut -= len;
        t &= ~TCPCB_SACKED_RETRANS;
      }
    }
    r.sacked = t | TCPCB_SACKED_ACKED;
    this.tsUnlink(r);
    this.sackedOut += len;
    if (this.sackedOut === len || seqGt(r.endSeq, this.highSacked)) this.highSacked = r.endSeq;
    return len;
  }

  /** a DSACK names `r`'s retransmission as redundant: it is no longer in flight */
  clearRetrans(r: TxRecord): void {
    if (this.multi !== 0) this.segmentize();
    if (!(r.sacked & TCPCB_SACKED_RETRANS)) return;
    r.sacked &= ~TCPCB_SACKED_RETRANS;
    this.retransOut -= r.len;
  }

  /** marks the records fully inside [start, end) SACKed; returns bytes newly SACKed */
  markSacked(start: number, end: number): number {
    if (this.multi !== 0) this.segmentize();
    let n = 0;
    for (let r = this.head; r !== null && seqGt(end, r.seq); r = r.next) {
      if (seqGe(r.seq, start) && seqLe(r.endSeq, end)) n += this.tagSacked(r);
    }
    return n;
  }

  /**
   * Linux tcp_mark_skb_lost: a record presumed lost (nothing when SACKed); a lost record whose
   * retransmission is presumed lost as well leaves the retransmissions in flight. Either way it
   * leaves the transmission-ordered list until it is sent again (RACK skips it meanwhile).
   */
  markLost(r: TxRecord): void {
    if (this.multi !== 0) this.segmentize();
    const s = r.sacked;
    if (s & TCPCB_SACKED_ACKED) return;
    this.tsUnlink(r);
    if (s & TCPCB_LOST) {
      if (s & TCPCB_SACKED_RETRANS) {
        r.sacked = s & ~TCPCB_SACKED_RETRANS;
        this.retransOut -= r.len;
        this.lost++;
      }
      return;
    }
    r.sacked = s | TCPCB_LOST;
    this.lostOut += r.len;
    this.lost++;
  }

  /**
   * Linux tcp_undo_cwnd_reduction(unmark_loss): every lost mark goes (the retransmissions in
   * flight stay counted)
   */
  unmarkLost(): void {
    if (this.multi !== 0) this.segmentize();
    for (let r = this.head; r !== null; r = r.next) r.sacked &= ~TCPCB_LOST;
    this.lostOut = 0;
  }

  /**
   * An RTO when the receiver reneged (Linux tcp_timeout_mark_lost with is_reneg): every SACK
   * mark goes (RFC 2018 §8: the receiver may have dropped them, or the blocks were forged), so
   * no byte depends on a SACK once the timer fired, and every record is lost.
   */
  markAllLost(): void {
    if (this.multi !== 0) this.segmentize();
    for (let r = this.head; r !== null; r = r.next) {
      if (r.sacked & TCPCB_SACKED_ACKED) r.sacked &= ~TCPCB_SACKED_ACKED;
      this.markLost(r);
    }
    this.sackedOut = 0;
  }

  /**
   * a tail loss probe resent `r` at `now` (Linux __tcp_retransmit_skb without the retransmit
   * accounting): ever retransmitted and newest in transmission order, not counted in flight
   */
  markProbed(r: TxRecord, now: number): void {
    if (this.multi !== 0) this.segmentize();
    r.xmitUs = now;
    r.xmitOrder = this.order++;
    r.sacked |= TCPCB_EVER_RETRANS;
    this.tsAppend(r);
  }

  /** a record was (re)transmitted at `now`: counted in flight again, newest in transmission order */
  markRetrans(r: TxRecord, now: number): void {
    if (this.multi !== 0) this.segmentize();
    r.xmitUs = now;
    r.xmitOrder = this.order++;
    if (!(r.sacked & TCPCB_SACKED_RETRANS)) this.retransOut += r.len;
    r.sacked |= TCPCB_SACKED_RETRANS | TCPCB_EVER_RETRANS;
    this.tsAppend(r);
  }

  /** splits `r` after `len` bytes (a retransmission at a smaller MSS); the rest follows it */
  split(r: TxRecord, len: number): void {
    if (this.multi !== 0) this.segmentize();
    const rest = this.take();
    rest.seq = (r.seq + len) | 0;
    rest.endSeq = r.endSeq;
    rest.xmitUs = r.xmitUs;
    rest.xmitOrder = r.xmitOrder;
    rest.sacked = r.sacked;
    rest.fin = r.fin;
    rest.psh = r.psh;
    // Linux tcp_fragment: the rest is an skb of its own (its followers stay with it)
    rest.cont = false;
    rest.next = r.next;
    r.endSeq = rest.seq;
    r.fin = false;
    r.psh = false;
    r.next = rest;
    if (this.tail === r) this.tail = rest;
    this.count++;
    rest.inTs = false;
    this.tsInsertAfter(r, rest);
    // the counters are bytes: the halves together count what `r` counted
  }

  /**
   * Linux tcp_retrans_try_collapse: merges the records after `r` into it while the sum stays
   * within `mss` payload bytes (a retransmission then carries, say, data and the FIN that
   * followed it). Only records neither SACKed nor in retransmission, lost exactly when `r` is.
   */
  collapse(r: TxRecord, mss: number): void {
    if (this.multi !== 0) this.segmentize();
    for (;;) {
      const n = r.next;
      if (n === null || r.fin || r.sacked & (TCPCB_SACKED_RETRANS | TCPCB_SACKED_ACKED)) return;
      if (n.sacked & (TCPCB_SACKED_ACKED | TCPCB_SACKED_RETRANS)) return;
      if ((n.sacked & TCPCB_LOST) !== (r.sacked & TCPCB_LOST)) return;
      if (r.len + n.len - (n.fin ? 1 : 0) > mss) return;
      r.endSeq = n.endSeq;
      r.fin = n.fin;
      r.psh = n.psh;
      r.sacked |= n.sacked & TCPCB_EVER_RETRANS;
      r.next = n.next;
      if (this.tail === n) this.tail = r;
      this.tsUnlink(n);
      this.give(n);
      this.count--;
    }
  }

  /** drops every record */
  clear(): void {
    let r = this.head;
    while (r !== null) {
      const n = r.next;
      this.give(r);
      r = n;
    }
    this.head = this.tail = null;
    this.tsHead = this.tsTail = null;
    this.count = 0;
    this.multi = 0;
    this.perSegment = false;
    this.sackedOut = this.lostOut = this.retransOut = 0;
  }

  /** `len` bytes of `r` leave the counters of the bits it carries */
  private unaccount(r: TxRecord, len: number): void {
    const s = r.sacked;
    if (s & TCPCB_SACKED_ACKED) this.sackedOut -= len;
    if (s & TCPCB_LOST) this.lostOut -= len;
    if (s & TCPCB_SACKED_RETRANS) this.retransOut -= len;
  }

  private take(): TxRecord {
    const r = this.free;
    if (r === null) return new TxRecord();
    this.free = r.next;
    return r;
  }

  private give(r: TxRecord): void {
    r.segs = 1;
    r.pieceLen = 0;
    r.inTs = false;
    r.tsPrev = r.tsNext = null;
    r.next = this.free;
    this.free = r;
  }
}
