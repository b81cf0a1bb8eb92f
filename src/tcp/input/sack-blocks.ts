/**
 * The SACK blocks a receiver reports (RFC 2018 §4, RFC 2883; Linux tcp_sack_new_ofo_skb,
 * tcp_sack_maybe_coalesce, tcp_sack_remove, tcp_dsack_set): up to four [start, end) blocks of
 * out-of-order data, the block holding the most recently received segment first, blocks that
 * touch merged; blocks the cumulative ACK reached dropped; a DSACK block for a duplicate segment,
 * reported once on the next ACK. All state lives in the socket (`selAcks`, `numSacks`, `dsack*`);
 * allocation-free.
 */
import { seqGe, seqGt, seqLe, seqLt } from '../../wire/seq.js';
import type { TcpProto } from '../proto.js';
import type { TcpSock } from '../sock.js';

const MAX_SACKS = 4;

/** out-of-order data [seq, end) arrived: its block becomes the first */
export function tcpSackNewOfo(tp: TcpSock, seq: number, end: number): void {
  if (!tp.sackOk || seq === end) return;
  const sel = tp.selAcks;
  let n = tp.numSacks;
  let s = seq;
  let e = end;
  // absorb every block the new range touches (tcp_sack_extend + tcp_sack_maybe_coalesce)
  for (let i = 0; i < n; ) {
    const bs = sel[2 * i]!;
    const be = sel[2 * i + 1]!;
    if (seqLe(bs, e) && seqLe(s, be)) {
      if (seqLt(bs, s)) s = bs;
      if (seqGt(be, e)) e = be;
      for (let k = i; k < n - 1; k++) {
        sel[2 * k] = sel[2 * k + 2]!;
        sel[2 * k + 1] = sel[2 * k + 3]!;
      }
      n--;
    } else {
      i++;
    }
  }
  // shift down (dropping the oldest block past the fourth) and put the new one first
  if (n >= MAX_SACKS) n = MAX_SACKS - 1;
  for (let k = n; k > 0; k--) {
    sel[2 * k] = sel[2 * k - 2]!;
    sel[2 * k + 1] = sel[2 * k - 1]!;
  }
  sel[0] = s;
  sel[1] = e;
  tp.numSacks = n + 1;
}

/** rcv_nxt advanced: blocks it reached are acknowledged cumulatively and go */
export function tcpSackRemove(tp: TcpSock): void {
  if (tp.ofoHead === null) {
    tp.numSacks = 0;
    return;
  }
  const sel = tp.selAcks;
  let n = tp.numSacks;
  for (let i = 0; i < n; ) {
    if (seqGe(tp.rcvNxt, sel[2 * i]!)) {
      for (let k = i; k < n - 1; k++) {
        sel[2 * k] = sel[2 * k + 2]!;
        sel[2 * k + 1] = sel[2 * k + 3]!;
      }
      n--;
    } else {
      i++;
    }
  }
  tp.numSacks = n;
}

/** a duplicate [seq, end) arrived: report it in a DSACK block on the next ACK (tcp_dsack_set) */
export function tcpDsackSet(tcp: TcpProto, tp: TcpSock, seq: number, end: number): void {
  if (!tp.sackOk || !tcp.sysctl.tcp_dsack || seq === end) return;
  tp.dsack = true;
  tp.dsackStart = seq;
  tp.dsackEnd = end;
}
