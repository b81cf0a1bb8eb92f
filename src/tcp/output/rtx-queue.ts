/**
 * The retransmit queue (Linux tcp_rtx_queue + the scoreboard counters): one record per sent
 * segment of at most one MSS, in sequence order, from snd_una to snd_nxt. A record holds no
 * bytes: its payload stays in the send buffer, and a retransmission attaches frags for
 * [seq, endSeq) again (re-references the pages; no copy). Flags are Linux's TCPCB_* bits
 * (recovery/rack.ts): SACKED_ACKED, SACKED_RETRANS, LOST, EVER_RETRANS. The counters are in
 * bytes (the transmit paths compare them with the byte view of cwnd, `tp.cwnd` = sndCwnd × mss): `sackedOut`, `lostOut`, `retransOut` of the records in the queue.
 * Records come from a per-queue free list: sending and acknowledging do not allocate once the
 * queue reached its largest size.
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
  /** the record carries our FIN (its last sequence number) */
  fin = false;
  /** the record ends a write (Linux tcp_mark_push): its retransmissions carry PSH */
  psh = false;
  next: TxRecord | null = null;

  /** sequence space it covers */
  get len(): number {
    return (this.endSeq - this.seq) | 0;
  }
}

export class RtxQueue {
  head: TxRecord | null = null;
  tail: TxRecord | null = null;
  count = 0;
  /** bytes of SACKed records */
  sackedOut = 0;
  /** bytes of records marked lost and not SACKed */
  lostOut = 0;
  /** bytes of lost records retransmitted and not yet (S)ACKed */
  retransOut = 0;
  /** highest SACKed sequence (end of a SACKed record), valid when sackedOut > 0 */
  highSacked = 0;
  private free: TxRecord | null = null;

  /** appends a record for [seq, end) sent at `now` */
  push(seq: number, end: number, now: number, fin: boolean, psh = false): void {
    const r = this.take();
    r.seq = seq;
    r.endSeq = end;
    r.xmitUs = now;
    r.sacked = 0;
    r.fin = fin;
    r.psh = psh;
    r.next = null;
    if (this.tail === null) this.head = r;
    else this.tail.next = r;
    this.tail = r;
    this.count++;
  }

  /**
   * Removes the records `una` acknowledges (a record only partly covered is trimmed). Returns
   * the send time of the oldest fully acknowledged record never retransmitted (Karn), or -1.
   */
  ackTo(una: number): number {
    let rtt = -1;
    let r = this.head;
    while (r !== null && seqLe(r.endSeq, una)) {
      const n = r.next;
      this.unaccount(r);
      if (rtt < 0 && !(r.sacked & TCPCB_EVER_RETRANS) && !(r.sacked & TCPCB_SACKED_ACKED)) rtt = r.xmitUs;
      this.give(r);
      this.count--;
      r = n;
    }
    this.head = r;
    if (r === null) this.tail = null;
    else if (seqGt(una, r.seq)) {
      // partly acknowledged (a segment split by the peer's ACK): keep the rest
      const cut = (una - r.seq) | 0;
      if (!(r.sacked & TCPCB_SACKED_ACKED)) {
        if (r.sacked & TCPCB_LOST) this.lostOut -= cut;
        if (r.sacked & TCPCB_SACKED_RETRANS) this.retransOut -= cut;
      } else {
        this.sackedOut -= cut;
      }
      r.seq = una;
    }
    if (this.head === null) this.sackedOut = this.lostOut = this.retransOut = 0;
    return rtt;
  }

  /** marks the records fully inside [start, end) SACKed; returns bytes newly SACKed */
  markSacked(start: number, end: number): number {
    let n = 0;
    for (let r = this.head; r !== null && seqGt(end, r.seq); r = r.next) {
      if (r.sacked & TCPCB_SACKED_ACKED) continue;
      if (seqGe(r.seq, start) && seqLe(r.endSeq, end)) {
        const len = r.len;
        if (r.sacked & TCPCB_LOST) this.lostOut -= len;
        if (r.sacked & TCPCB_SACKED_RETRANS) this.retransOut -= len;
        r.sacked = (r.sacked & ~(TCPCB_LOST | TCPCB_SACKED_RETRANS)) | TCPCB_SACKED_ACKED;
        this.sackedOut += len;
        n += len;
        if (this.sackedOut === len || seqGt(r.endSeq, this.highSacked)) this.highSacked = r.endSeq;
      }
    }
    return n;
  }

  /** Linux tcp_mark_skb_lost: a record presumed lost (not when SACKed or already lost) */
  markLost(r: TxRecord): void {
    if (r.sacked & (TCPCB_SACKED_ACKED | TCPCB_LOST)) return;
    if (r.sacked & TCPCB_SACKED_RETRANS) {
      // its retransmission is lost too
      r.sacked &= ~TCPCB_SACKED_RETRANS;
      this.retransOut -= r.len;
    }
    r.sacked |= TCPCB_LOST;
    this.lostOut += r.len;
  }

  /**
   * An RTO (Linux tcp_enter_loss): every record is lost and retransmissions are forgotten; the
   * SACK marks go too (RFC 2018 §8: the receiver may have reneged, or the blocks were forged),
   * so no byte depends on a SACK once the timer fired.
   */
  markAllLost(): void {
    for (let r = this.head; r !== null; r = r.next) {
      r.sacked = (r.sacked & TCPCB_EVER_RETRANS) | TCPCB_LOST;
    }
    let lost = 0;
    for (let r = this.head; r !== null; r = r.next) lost += r.len;
    this.lostOut = lost;
    this.sackedOut = 0;
    this.retransOut = 0;
  }

  /** a record was (re)transmitted at `now` */
  markRetrans(r: TxRecord, now: number): void {
    r.xmitUs = now;
    if (r.sacked & TCPCB_LOST && !(r.sacked & TCPCB_SACKED_RETRANS)) this.retransOut += r.len;
    r.sacked |= TCPCB_SACKED_RETRANS | TCPCB_EVER_RETRANS;
  }

  /** splits `r` after `len` bytes (a retransmission at a smaller MSS); the rest follows it */
  split(r: TxRecord, len: number): void {
    const rest = this.take();
    rest.seq = (r.seq + len) | 0;
    rest.endSeq = r.endSeq;
    rest.xmitUs = r.xmitUs;
    rest.sacked = r.sacked;
    rest.fin = r.fin;
    rest.psh = r.psh;
    rest.next = r.next;
    r.endSeq = rest.seq;
    r.fin = false;
    r.psh = false;
    r.next = rest;
    if (this.tail === r) this.tail = rest;
    this.count++;
  }

  /**
   * Linux tcp_retrans_try_collapse: merges the records after `r` into it while the sum stays
   * within `mss` payload bytes (a retransmission then carries, say, data and the FIN that
   * followed it). Only records neither SACKed nor in retransmission, lost exactly when `r` is.
   */
  collapse(r: TxRecord, mss: number): void {
    for (;;) {
      const n = r.next;
      if (n === null || r.fin) return;
      if (n.sacked & (TCPCB_SACKED_ACKED | TCPCB_SACKED_RETRANS)) return;
      if ((n.sacked & TCPCB_LOST) !== (r.sacked & TCPCB_LOST)) return;
      if (r.len + n.len - (n.fin ? 1 : 0) > mss) return;
      r.endSeq = n.endSeq;
      r.fin = n.fin;
      r.psh = n.psh;
      r.sacked |= n.sacked & TCPCB_EVER_RETRANS;
      r.next = n.next;
      if (this.tail === n) this.tail = r;
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
    this.count = 0;
    this.sackedOut = this.lostOut = this.retransOut = 0;
  }

  private unaccount(r: TxRecord): void {
    const len = r.len;
    if (r.sacked & TCPCB_SACKED_ACKED) this.sackedOut -= len;
    else {
      if (r.sacked & TCPCB_LOST) this.lostOut -= len;
      if (r.sacked & TCPCB_SACKED_RETRANS) this.retransOut -= len;
    }
  }

  private take(): TxRecord {
    const r = this.free;
    if (r === null) return new TxRecord();
    this.free = r.next;
    return r;
  }

  private give(r: TxRecord): void {
    r.next = this.free;
    this.free = r;
  }
}
