/**
 * The sender's SACK scoreboard update (Linux tcp_sacktag_write_queue, tcp_check_dsack,
 * tcp_dsack_seen, tcp_is_sackblock_valid, tcp_sacktag_one, tcp_check_sack_reordering; RFC 2018,
 * RFC 2883): the blocks of an arriving ACK mark the retransmit queue's records SACKed (a record
 * counts when a block covers it whole); a first block below the cumulative ACK, or inside the
 * second block, is a DSACK — counted, checked for plausibility (no longer than the peer's
 * largest window, never more segments DSACKed than were retransmitted) and used for undo, never
 * as a loss signal; blocks outside snd_una..snd_nxt are ignored (a DSACK below snd_una only down
 * to the undo point). Loss itself is RACK's (recovery/rack.ts): each newly SACKed record
 * advances the RACK reference. What the ACK did is returned in `SackTagState` (FLAG_* bits,
 * segments delivered, SACK RTT stamps); nothing allocates.
 */
import { seqGe, seqGt, seqLe, seqLt } from '../../wire/seq.js';
import type { TcpOptions } from '../../wire/tcp.js';
import { CaState } from '../cong/types.js';
import type { TcpProto } from '../proto.js';
import {
  FLAG_DATA_SACKED, FLAG_DSACKING_ACK, FLAG_DSACK_TLP, FLAG_ORIG_SACK_ACKED,
} from '../recovery/flags.js';
import {
  TCPCB_RETRANS, TCPCB_SACKED_ACKED, TCPCB_SACKED_RETRANS, rackAdvance,
} from '../recovery/rack.js';
import type { TxRecord } from '../output/rtx-queue.js';
import type { TcpSock } from '../sock.js';

/** what one ACK's SACK blocks did (Linux struct tcp_sacktag_state); one scratch per process */
export class SackTagState {
  /** FLAG_* bits */
  flag = 0;
  /** segments newly SACKed or DSACKed (Linux sack_delivered) */
  sackDelivered = 0;
  /** send times of the first and last never-retransmitted records SACKed, µs (−1: none) */
  firstSacktUs = -1;
  lastSacktUs = -1;
  /** lowest never-retransmitted sequence found delivered out of order (reordering) */
  reord = 0;
}

/** the scratch state the ACK path hands to `tcpSacktag` */
export const sackState = new SackTagState();

/** scratch: the valid SACK blocks of the ACK being processed, sorted */
const sorted = new Int32Array(8);

/** where the last range walk stopped: the last record starting below its end (or the head) */
let resume: TxRecord | null = null;

/**
 * tags the records [s, e) covers whole, walking from `from`; returns bytes newly SACKed and
 * leaves in `resume` the last record that starts below `e` (the next block, sorted by start,
 * can only cover records from there on)
 */
function tcpSacktagRange(tp: TcpSock, from: TxRecord | null, s: number, e: number, dup: boolean, st: SackTagState): number {
  let newly = 0;
  let last = from;
  for (let r = from; r !== null && seqLt(r.seq, e); r = r.next) {
    last = r;
    if (seqGe(r.seq, s) && seqLe(r.endSeq, e)) newly += tcpSacktagOne(tp, r, dup, st);
  }
  resume = last;
  return newly;
}

/** Linux tcp_highest_sack_seq: the end of the highest SACKed record, snd_una when none */
export function tcpHighestSackSeq(tp: TcpSock): number {
  const q = tp.rtx;
  return q.sackedOut > 0 ? q.highSacked : tp.sndUna;
}

/**
 * Processes the SACK blocks in `o` of an ACK of `ack` (snd_una was `priorSndUna` before it);
 * fills `st` (reset first). Returns bytes newly SACKed.
 */
export function tcpSacktag(
  tcp: TcpProto, tp: TcpSock, o: TcpOptions, ack: number, priorSndUna: number, st: SackTagState,
): number {
  st.flag = 0;
  st.sackDelivered = 0;
  st.firstSacktUs = st.lastSacktUs = -1;
  st.reord = tp.sndNxt;
  const b = o.sackBlocks;
  const n = o.sackCount;
  if (n <= 0) return 0;
  // SACK tagging works on single-MSS records (rtx-queue.ts): TSO packets become their pieces
  tp.rtx.segmentize();
  const dsack = tcpCheckDsack(tcp, tp, b[0]! | 0, b[1]! | 0, n > 1 ? b[2]! | 0 : 0, n > 1 ? b[3]! | 0 : 0, n, ack, priorSndUna, st);
  // the valid blocks, sorted by start (Linux sorts them: reordering is judged in sequence order)
  const blk = sorted;
  let m = 0;
  let dupS = 0;
  let dupE = 0;
  let haveDup = false;
  for (let i = 0; i < n; i++) {
    const s = b[2 * i]! | 0;
    const e = b[2 * i + 1]! | 0;
    const dup = dsack && i === 0;
    if (!tcpIsSackblockValid(tp, dup, s, e)) {
      if (!dup) tcp.stats.sackDiscard++;
      continue;
    }
    // ignore blocks the cumulative ACK already covers
    if (!seqGt(e, priorSndUna)) continue;
    if (dup) {
      haveDup = true;
      dupS = s;
      dupE = e;
      continue;
    }
    tcp.stats.sackBlocksIn++;
    let k = m++;
    while (k > 0 && seqLt(s, blk[2 * k - 2]!)) {
      blk[2 * k] = blk[2 * k - 2]!;
      blk[2 * k + 1] = blk[2 * k - 1]!;
      k--;
    }
    blk[2 * k] = s;
    blk[2 * k + 1] = e;
  }
  const q = tp.rtx;
  let newly = 0;
  if (haveDup) newly += tcpSacktagRange(tp, q.head, dupS, dupE, true, st);
  // sorted blocks: each walk goes on from where the previous one stopped
  resume = q.head;
  for (let i = 0; i < m; i++) newly += tcpSacktagRange(tp, resume, blk[2 * i]!, blk[2 * i + 1]!, false, st);
  resume = null;
  // reordering is not measured in Loss, where retransmissions cannot be told apart
  if (tp.caState !== CaState.Loss || tp.undoActive) tcpCheckSackReordering(tp, st.reord, false);
  return newly;
}

/**
 * Linux tcp_check_dsack: is the first block a DSACK (below the ACK, or inside the second
 * block), and a plausible one? Counts it and does undo's "dumb counting" for data below
 * snd_una.
 */
function tcpCheckDsack(
  tcp: TcpProto, tp: TcpSock, s0: number, e0: number, s1: number, e1: number, n: number, ack: number,
  priorSndUna: number, st: SackTagState,
): boolean {
  if (seqLt(s0, ack)) {
    tcp.stats.dsacksIn++;
  } else if (n > 1) {
    if (seqGt(e0, e1) || seqLt(s0, s1)) return false;
    tcp.stats.dsacksIn++;
  } else {
    return false;
  }
  const dupSegs = tcpDsackSeen(tp, s0 | 0, e0 | 0, st);
  if (dupSegs === 0) return false;
  // DSACK for data already acknowledged: count it against the retransmissions of this episode
  if (tp.undoActive && tp.undoRetrans > 0 && seqLe(e0, priorSndUna) && seqGt(e0, tp.undoMarker)) {
    tp.undoRetrans = Math.max(0, tp.undoRetrans - dupSegs);
  }
  return true;
}

/**
 * Linux tcp_dsack_seen: segments the DSACK reports duplicated, 0 when it is dubious (longer
 * than the peer ever offered, or more DSACKed segments than we ever retransmitted)
 */
function tcpDsackSeen(tp: TcpSock, s: number, e: number, st: SackTagState): number {
  if (!seqLt(s, e)) return 0;
  const len = (e - s) | 0;
  if (len > tp.maxWindow) return 0;
  let dup = 1;
  if (len > tp.mss) dup = Math.ceil(len / tp.mss);
  else if (tp.tlpHighSeq !== 0 && tp.tlpHighSeq === e) st.flag |= FLAG_DSACK_TLP;
  tp.dsackDups += dup;
  if (tp.dsackDups > tp.stats.retransSegs) return 0;
  // RACK widens its reordering window on DSACKs, once reordering was seen (not for TLP)
  if (tp.reordSeen && !(st.flag & FLAG_DSACK_TLP)) tp.rack.dsackSeen = true;
  st.flag |= FLAG_DSACKING_ACK;
  st.sackDelivered += dup;
  return dup;
}

/**
 * Linux tcp_is_sackblock_valid: inside snd_una..snd_nxt (start strictly above snd_una), or a
 * DSACK wholly below snd_una and not below the undo point
 */
function tcpIsSackblockValid(tp: TcpSock, dsack: boolean, s: number, e: number): boolean {
  const nxt = tp.sndNxt;
  if (seqGt(e, nxt) || !seqLt(s, e)) return false;
  if (!seqLt(s, nxt)) return false;
  if (seqGt(s, tp.sndUna)) return true;
  if (!dsack || !tp.undoActive) return false;
  if (seqGt(e, tp.sndUna)) return false;
  if (seqGe(s, tp.undoMarker)) return true;
  if (!seqGt(e, tp.undoMarker)) return false;
  return seqGe(s, (e - tp.maxWindow) | 0);
}

/** Linux tcp_sacktag_one for a record `r` a block covers; returns bytes newly SACKed */
function tcpSacktagOne(tp: TcpSock, r: TxRecord, dup: boolean, st: SackTagState): number {
  const sacked = r.sacked;
  const q = tp.rtx;
  if (dup && sacked & TCPCB_RETRANS) {
    // a retransmission shown redundant
    if (tp.undoActive && tp.undoRetrans > 0 && seqGt(r.endSeq, tp.undoMarker)) tp.undoRetrans--;
    if (sacked & TCPCB_SACKED_ACKED && seqLt(r.seq, st.reord)) st.reord = r.seq;
  }
  if (!seqGt(r.endSeq, tp.sndUna)) return 0;
  let n = 0;
  if (!(sacked & TCPCB_SACKED_ACKED)) {
    rackAdvance(tp.rack, tp, sacked, r.endSeq, r.xmitUs, r.xmitOrder);
    if (!(sacked & TCPCB_RETRANS)) {
      // a never-retransmitted segment in a hole arrived: reordering
      if (seqLt(r.seq, tcpHighestSackSeq(tp)) && seqLt(r.seq, st.reord)) st.reord = r.seq;
      if (!seqGt(r.endSeq, tp.highSeq)) st.flag |= FLAG_ORIG_SACK_ACKED;
      if (st.firstSacktUs < 0) st.firstSacktUs = r.xmitUs;
      st.lastSacktUs = r.xmitUs;
    }
    n = q.tagSacked(r);
    st.flag |= FLAG_DATA_SACKED;
    st.sackDelivered++;
  }
  if (dup && r.sacked & TCPCB_SACKED_RETRANS) q.clearRetrans(r);
  return n;
}

/**
 * Linux tcp_check_sack_reordering: `lowSeq` (never retransmitted) was delivered after data
 * above it: widen `reordering` to the distance (in MSS, up to tcp_max_reordering) and remember
 * that reordering was seen (RACK then keeps its reordering window in recovery).
 */
export function tcpCheckSackReordering(tp: TcpSock, lowSeq: number, _ts: boolean): void {
  const fack = tcpHighestSackSeq(tp);
  if (!seqLt(lowSeq, fack)) return;
  const metric = (fack - lowSeq) | 0;
  const mss = tp.mss;
  if (mss > 0 && metric > tp.reordering * mss) {
    tp.reordering = Math.min(Math.ceil(metric / mss), tp.proto.sysctl.tcp_max_reordering);
  }
  tp.reordSeenCount++;
}
