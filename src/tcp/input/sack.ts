/**
 * The sender's SACK scoreboard update (Linux tcp_sacktag_write_queue, tcp_check_dsack; RFC 2018,
 * RFC 2883, RFC 6675): the blocks of an arriving ACK mark the retransmit queue's records SACKed;
 * a first block below the cumulative ACK, or inside the second block, is a DSACK (counted, not a
 * loss signal); blocks outside snd_una..snd_nxt are ignored. Then RFC 6675's IsLost: a record
 * not SACKed with at least DupThresh (3) segments' worth of SACKed bytes above it is marked lost;
 * and RACK's time rule (RFC 8985 §6.2) for retransmissions: one sent more than a reordering
 * window (min RTT / 4) before the newest unambiguous transmission the receiver SACKed is lost again.
 */
import { seqGe, seqGt, seqLe, seqLt } from '../../wire/seq.js';
import type { TcpOptions } from '../../wire/tcp.js';
import type { TcpProto } from '../proto.js';
import { TCPCB_EVER_RETRANS, TCPCB_LOST, TCPCB_SACKED_ACKED, TCPCB_SACKED_RETRANS } from '../recovery/rack.js';
import type { TcpSock } from '../sock.js';

/** RFC 6675 DupThresh */
const DUP_THRESH = 3;

/** processes the SACK blocks in `o` for an ACK of `ack`; returns bytes newly SACKed */
export function tcpSacktag(tcp: TcpProto, tp: TcpSock, o: TcpOptions, ack: number): number {
  const b = o.sackBlocks;
  const n = o.sackCount;
  let first = 0;
  // RFC 2883: a duplicate report comes first
  if (n > 0) {
    const s0 = b[0]!;
    const e0 = b[1]!;
    if (seqLt(s0, ack) || (n > 1 && seqGe(s0, b[2]!) && seqLe(e0, b[3]!))) {
      tcp.stats.dsacksIn++;
      first = 1;
    }
  }
  const q = tp.rtx;
  let newly = 0;
  for (let i = first; i < n; i++) {
    const s = b[2 * i]!;
    const e = b[2 * i + 1]!;
    if (!seqLt(s, e) || seqLt(s, tp.sndUna) || seqGt(e, tp.sndMax)) {
      tcp.stats.sackDiscard++;
      continue;
    }
    tcp.stats.sackBlocksIn++;
    newly += q.markSacked(s, e);
  }
  if (newly > 0) {
    tcpSackMarkLost(tp);
    tcpSackMarkLostRetrans(tp);
  }
  return newly;
}

/** RFC 6675 IsLost over the queue: records with DupThresh·MSS SACKed bytes above them */
function tcpSackMarkLost(tp: TcpSock): void {
  const q = tp.rtx;
  const need = DUP_THRESH * tp.mss;
  let above = q.sackedOut;
  for (let r = q.head; r !== null && above >= need; r = r.next) {
    if (r.sacked & TCPCB_SACKED_ACKED) above -= r.len;
    else if (!(r.sacked & TCPCB_LOST)) q.markLost(r);
  }
}

/**
 * Lost retransmissions, which IsLost cannot see (RFC 8985 §6.2, the part Linux's RACK finds):
 * a retransmitted record not SACKed whose last transmission is more than min RTT / 4 older
 * than the newest SACKed record never retransmitted is lost again, to be sent once more.
 */
function tcpSackMarkLostRetrans(tp: TcpSock): void {
  const q = tp.rtx;
  if (q.retransOut <= 0) return;
  let newest = -1;
  for (let r = q.head; r !== null; r = r.next) {
    if ((r.sacked & (TCPCB_SACKED_ACKED | TCPCB_EVER_RETRANS)) === TCPCB_SACKED_ACKED && r.xmitUs > newest) newest = r.xmitUs;
  }
  if (newest < 0) return;
  const reoWnd = tp.minRttUs === 0xffffffff ? 0 : tp.minRttUs >>> 2;
  const both = TCPCB_LOST | TCPCB_SACKED_RETRANS;
  for (let r = q.head; r !== null; r = r.next) {
    if ((r.sacked & (both | TCPCB_SACKED_ACKED)) === both && r.xmitUs + reoWnd < newest) {
      r.sacked &= ~TCPCB_SACKED_RETRANS;
      q.retransOut -= r.len;
    }
  }
}
