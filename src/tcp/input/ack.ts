/**
 * ACK processing, in Linux tcp_ack's order: ts_recent; the send window (tcp_may_update_window);
 * the SACK scoreboard (sack.ts); the retransmit queue cleaned up to the ACK (tcp_clean_rtx_queue:
 * records and send-buffer pages released, RACK advanced, RTT from the oldest never-retransmitted
 * record, else the SACKed one, else the echoed timestamp — RFC 6298 Karn, RFC 7323); RACK's
 * reordering window; the tail-loss-probe episode; for a dubious ACK (duplicate, SACK, DSACK, or
 * not in Open) the recovery state machine (fast-recovery.ts); the TLP / RTO timer; congestion
 * control with the segments newly delivered and newly lost (PRR in CWR / Recovery); then the
 * retransmissions recovery asked for and whatever new data the windows allow. The FLAG_* word
 * of recovery/flags.ts carries what the ACK did between the steps. Nothing allocates.
 */
import { seqGt, seqLe, seqLt } from '../../wire/seq.js';
import { TCP_FIN, TCP_SYN } from '../../wire/tcp.js';
import { tcpTsVal } from '../output/options.js';
import { tcpXmitRetransmitQueue } from '../output/retransmit.js';
import { tcpWriteXmit } from '../output/xmit.js';
import type { TcpProto } from '../proto.js';
import { tcpCongControl } from '../recovery/cong-control.js';
import {
  FLAG_ACKED, FLAG_CA_ALERT, FLAG_DATA, FLAG_DATA_ACKED, FLAG_DSACKING_ACK, FLAG_ECE, FLAG_NOT_DUP, FLAG_ORIG_SACK_ACKED,
  FLAG_RETRANS_DATA_ACKED, FLAG_SACK_RENEGING, FLAG_SET_XMIT_TIMER, FLAG_SND_UNA_ADVANCED, FLAG_WIN_UPDATE,
} from '../recovery/flags.js';
import { TCPCB_RETRANS, TCPCB_SACKED_ACKED, rackAdvance, rackUpdateReoWnd } from '../recovery/rack.js';
import { CaState } from '../cong/types.js';
import { tcpRttUpdate } from '../rtt.js';
import type { TcpSock } from '../sock.js';
import type { TxRecord } from '../output/rtx-queue.js';
import {
  REXMIT_LOST, REXMIT_NEW, REXMIT_NONE, alertState, tcpFastretransAlert, tcpPktsAcked, tcpProcessTlpAck,
  tcpRemoveRenoSacks, tcpSetXmitTimer, tcpSkbSpuriousRetrans,
} from './fast-recovery.js';
import { sackState, tcpCheckSackReordering, tcpHighestSackSeq, tcpSacktag } from './sack.js';
import { tcpReplaceTsRecent } from './validate.js';
import { tcpEcnAcceptCwr, tcpEcnRcvEcnEcho } from '../ecn.js';

/** the ACK was processed */
export const ACK_OK = 1;
/** older than snd_una: nothing to do, the segment's data still counts */
export const ACK_OLD = 0;
/** RFC 5961 §5.2: older than snd_una − max window (the segment is dropped) */
export const ACK_TOO_OLD = -1;
/** acknowledges data never sent (the segment is dropped) */
export const ACK_UNSENT = -2;

/** what tcp_clean_rtx_queue measured (scratch, read right after the call) */
const clean = { pktsAcked: 0, seqRttUs: -1, caRttUs: -1 };

/** one of the ACK_* results */
export function tcpAck(tcp: TcpProto, tp: TcpSock, ack: number, win: number, seq: number, dataLen: number, flags: number): number {
  const priorSndUna = tp.sndUna;
  const o = tcp.opts;
  const q = tp.rtx;
  const st = sackState;
  if (seqLt(ack, priorSndUna)) {
    // bytes never sent are not acknowledged: the window is at most what was acked
    const maxWin = Math.min(tp.maxWindow, tp.stats.bytesAcked);
    if (seqLt(ack, (priorSndUna - maxWin) | 0)) return ACK_TOO_OLD;
    // an old ACK may still carry SACK / DSACK news (reordered ACKs)
    if (tp.sackOk && o.sackCount > 0 && q.head !== null) {
      tcpSacktag(tcp, tp, o, ack, priorSndUna, st);
      tp.delivered += st.sackDelivered;
      alertState.flag = st.flag;
      alertState.rexmit = REXMIT_NONE;
      tcpFastretransAlert(tcp, tp, priorSndUna, 0);
      tcpXmitRecovery(tcp, tp, alertState.rexmit);
    }
    return ACK_OLD;
  }
  if (seqGt(ack, tp.sndMax)) return ACK_UNSENT;
  const sched = tcp.sched;
  const now = sched.now();
  let flag = 0;
  if (seqGt(ack, priorSndUna)) {
    flag |= FLAG_SND_UNA_ADVANCED;
    tp.retransmits = 0;
  }
  // the segment's options (read before anything is sent: sending may parse other segments)
  const sawTs = tp.tsOk && o.hasTimestamp;
  const tsVal = o.tsVal;
  const tsEcr = o.tsEcr;
  const priorFack = tcpHighestSackSeq(tp);
  const priorInFlight = tp.packetsInFlight;
  const priorDelivered = tp.delivered;
  const priorLost = q.lost;
  const priorPackets = q.count;
  // RFC 7323 §4.3 / Linux tcp_replace_ts_recent: a segment at the left window edge updates ts_recent
  if (sawTs) tcpReplaceTsRecent(tcp, tp, seq, tsVal);
  if (dataLen > 0 || flags & (TCP_FIN | TCP_SYN)) flag |= FLAG_DATA;
  if (tp.ecnFlags !== 0) {
    if (tcpEcnRcvEcnEcho(tp, flags)) flag |= FLAG_ECE;
    tcpEcnAcceptCwr(tp, flags);
  }
  // Linux tcp_ack_update_window (tcp_may_update_window)
  const nwin = win << tp.sndWscale;
  if (seqGt(ack, priorSndUna) || seqGt(seq, tp.sndWl1) || (seq === tp.sndWl1 && (nwin > tp.sndWnd || nwin === 0))) {
    flag |= FLAG_WIN_UPDATE;
    tp.sndWl1 = seq;
    tp.sndWl2 = ack;
    tp.sndWnd = nwin;
    if (nwin > tp.maxWindow) tp.maxWindow = nwin;
  }
  // snd_una moves first (Linux tcp_snd_una_update inside tcp_ack_update_window): DSACKs below it
  // are judged against the new value
  if (flag & FLAG_SND_UNA_ADVANCED) {
    if (seqGt(ack, tp.sndNxt)) tp.sndNxt = ack;
    const acked = (ack - priorSndUna) | 0;
    tp.sendBuf.ackTo(seqGt(ack, tp.sendBuf.endSeq) ? tp.sendBuf.endSeq : ack);
    if (tcp.memWait.size !== 0) tcp.memWait.wake();
    tp.sndUna = ack;
    // SO_TIMESTAMPING: ACK stamps of keys now acknowledged (null when off)
    if (tp.txTstamp !== null) tp.txTstamp.acked(ack);
    tp.stats.bytesAcked += acked;
  }
  if (tp.sackOk && o.sackCount > 0) {
    tcpSacktag(tcp, tp, o, ack, priorSndUna, st);
    flag |= st.flag;
    tp.delivered += st.sackDelivered;
  } else {
    st.firstSacktUs = st.lastSacktUs = -1;
  }
  // something worked: the soft error goes; zero-window probes are answered
  tp.softError = 0;
  tp.probesOut = 0;
  tp.rcvTstampUs = now;
  if (priorPackets === 0) {
    // nothing was out: a DSACK may still undo a reduction
    if (flag & FLAG_DSACKING_ACK) {
      alertState.flag = flag;
      alertState.rexmit = REXMIT_NONE;
      tcpFastretransAlert(tcp, tp, priorSndUna, 0);
    }
    tcpAckProbe(tcp, tp);
    if (tp.tlpHighSeq !== 0) tcpProcessTlpAck(tp, ack, flag);
    tcpAfterAck(tcp, tp, flag);
    return ACK_OK;
  }
  flag |= tcpCleanRtxQueue(tcp, tp, ack, priorFack, now);
  // RTT (Linux tcp_ack_update_rtt): the ACKed record, else the SACKed one, else the echo
  let seqRtt = clean.seqRttUs;
  let caRtt = clean.caRttUs;
  if (st.firstSacktUs >= 0) {
    const sackRtt = Math.max(now - st.firstSacktUs, 0);
    caRtt = Math.max(now - st.lastSacktUs, 0);
    if (seqRtt < 0) seqRtt = sackRtt;
  }
  if (seqRtt < 0 && sawTs && tsEcr !== 0 && flag & FLAG_ACKED) {
    seqRtt = caRtt = Math.max(((tcpTsVal(tcp, tp) - tsEcr) | 0) * 1000, 1);
  }
  if (seqRtt >= 0) {
    tcpRttUpdate(tp, Math.max(seqRtt, 1));
    // RFC 6298: only a valid RTT sample resets the backoff
    tp.backoff = 0;
  }
  if (flag & FLAG_ACKED) {
    flag |= FLAG_SET_XMIT_TIMER;
    if (!tp.sackOk) {
      tcpRemoveRenoSacks(tp, clean.pktsAcked);
      // without SACK marks, a retransmitted record ACKed hides whether the originals arrived
      if (flag & FLAG_RETRANS_DATA_ACKED) flag &= ~FLAG_ORIG_SACK_ACKED;
    }
  } else if (seqRtt >= 0 && st.firstSacktUs >= 0 && q.head !== null && now - st.firstSacktUs > now - q.head.xmitUs) {
    // a SACK RTT of data sent before the head's last transmission: re-arm
    flag |= FLAG_SET_XMIT_TIMER;
  }
  tcpPktsAcked(tp, clean.pktsAcked, caRtt, priorInFlight);
  rackUpdateReoWnd(tp.rack, tp, priorDelivered);
  if (tp.tlpHighSeq !== 0) tcpProcessTlpAck(tp, ack, flag);
  alertState.flag = flag;
  alertState.rexmit = REXMIT_NONE;
  // tcp_ack_is_dubious
  if (!(flag & FLAG_NOT_DUP) || flag & FLAG_CA_ALERT || tp.caState !== CaState.Open) {
    const numDupack = !(flag & (FLAG_SND_UNA_ADVANCED | FLAG_NOT_DUP | FLAG_DSACKING_ACK)) ? 1 : 0;
    if (numDupack !== 0) tp.stats.dupAcksIn++;
    tcpFastretransAlert(tcp, tp, priorSndUna, numDupack);
    flag = alertState.flag;
  }
  const rexmit = alertState.rexmit;
  if (flag & FLAG_SET_XMIT_TIMER) tcpSetXmitTimer(tcp, tp);
  const delivered = tp.delivered - priorDelivered;
  const lost = q.lost - priorLost;
  tcpCongControl(tp, tp.caOps, ack, delivered, lost, flag, tp.reordering, tcp.sysctl.tcp_reordering);
  tcpXmitRecovery(tcp, tp, rexmit);
  tcpAfterAck(tcp, tp, flag);
  return ACK_OK;
}

/** wakeups and new data after an ACK (tcp_data_snd_check, sk_stream_write_space) */
function tcpAfterAck(tcp: TcpProto, tp: TcpSock, flag: number): void {
  if (flag & FLAG_SND_UNA_ADVANCED && tp.sockOwner && tp.sendSpace > 0) tp.sockOwner.tcpWritable(tp);
  tcpWriteXmit(tcp, tp, tp.cork);
}

/**
 * Linux tcp_ack_probe: nothing is out; when the window now takes the next segment the
 * zero-window probe timer and its backoff stop (sending re-arms the RTO)
 */
function tcpAckProbe(tcp: TcpProto, tp: TcpSock): void {
  const unsent = tp.unsent;
  if (unsent <= 0) return;
  const wnd = (tp.sndUna + tp.sndWnd - tp.sndNxt) | 0;
  if (wnd >= Math.min(unsent, tp.mss)) {
    tp.backoff = 0;
    tcp.sched.cancel(tp.rtoTimer);
    tp.tlpPending = tp.reoPending = false;
  }
}

/**
 * Linux tcp_clean_rtx_queue: frees the records `ack` covers; RACK advances on those never
 * SACKed; returns FLAG_* bits and leaves the RTT samples and the count in `clean`
 */
function tcpCleanRtxQueue(tcp: TcpProto, tp: TcpSock, ack: number, priorFack: number, now: number): number {
  const q = tp.rtx;
  let flag = 0;
  let firstAckt = -1;
  let lastAckt = -1;
  let reord = tp.sndNxt;
  let pkts = 0;
  let r = q.head;
  while (r !== null) {
    if (r.segs > 1) {
      // an untouched TSO packet (rtx-queue.ts): acknowledged whole, by whole pieces, or exploded
      const k = seqLe(r.endSeq, ack) ? r.segs : piecesAcked(r, ack);
      if (k < 0) {
        q.explode(r);
        continue;
      }
      if (k === 0) break;
      // every piece was sent at once and never retransmitted: what k per-MSS records would do
      lastAckt = r.xmitUs;
      if (firstAckt < 0) firstAckt = lastAckt;
      if (seqLt(r.seq, reord)) reord = r.seq;
      if (!seqGt((r.seq + r.pieceLen) | 0, tp.highSeq)) flag |= FLAG_ORIG_SACK_ACKED;
      if (tp.sackOk) {
        tp.delivered += k;
        const lastEnd = k === r.segs ? r.endSeq : (r.seq + k * r.pieceLen) | 0;
        rackAdvance(tp.rack, tp, 0, lastEnd, r.xmitUs, r.xmitOrder + k - 1);
      }
      pkts += k;
      flag |= FLAG_DATA_ACKED;
      if (k < r.segs) {
        q.ackPieces(r, k);
        break;
      }
      const next = r.next;
      q.unlinkHead(r);
      r = next;
      continue;
    }
    if (!seqLe(r.endSeq, ack)) break;
    const next = r.next;
    const sacked = r.sacked;
    if (sacked & TCPCB_RETRANS) {
      flag |= FLAG_RETRANS_DATA_ACKED;
    } else if (!(sacked & TCPCB_SACKED_ACKED)) {
      lastAckt = r.xmitUs;
      if (firstAckt < 0) firstAckt = lastAckt;
      if (seqLt(r.seq, reord)) reord = r.seq;
      if (!seqGt(r.endSeq, tp.highSeq)) flag |= FLAG_ORIG_SACK_ACKED;
    }
    if (!(sacked & TCPCB_SACKED_ACKED) && tp.sackOk) {
      tp.delivered++;
      if (!tcpSkbSpuriousRetrans(tcp, tp, sacked, r.xmitUs)) rackAdvance(tp.rack, tp, sacked, r.endSeq, r.xmitUs, r.xmitOrder);
    }
    pkts++;
    flag |= FLAG_DATA_ACKED;
    q.unlinkHead(r);
    r = next;
  }
  if (r !== null) {
    // partly acknowledged (the peer ACKed inside a segment): keep the rest
    if (seqGt(ack, r.seq)) {
      q.trimHead(r, ack);
      flag |= FLAG_DATA_ACKED;
    }
    if (r.sacked & TCPCB_SACKED_ACKED) flag |= FLAG_SACK_RENEGING;
  }
  clean.pktsAcked = pkts;
  clean.seqRttUs = clean.caRttUs = -1;
  if (firstAckt >= 0 && !(flag & FLAG_RETRANS_DATA_ACKED)) {
    clean.seqRttUs = Math.max(now - firstAckt, 0);
    clean.caRttUs = Math.max(now - lastAckt, 0);
  }
  // a never-retransmitted hole below SACKed data filled: that was reordering
  if (flag & FLAG_ACKED && tp.sackOk && seqLt(reord, priorFack)) tcpCheckSackReordering(tp, reord, false);
  return flag;
}

/**
 * whole pieces of the multi-piece record `r` that `ack` covers (it ends inside `r`); −1 when
 * it ends inside a piece (the record must become its pieces first)
 */
function piecesAcked(r: TxRecord, ack: number): number {
  const acked = (ack - r.seq) | 0;
  if (acked <= 0) return 0;
  const k = Math.floor(acked / r.pieceLen);
  // inside a piece, or all pieces but not the FIN after them: per-piece handling decides
  return k * r.pieceLen === acked && k < r.segs ? k : -1;
}

/** Linux tcp_xmit_recovery: after cwnd is set, new data (F-RTO) or the lost records */
function tcpXmitRecovery(tcp: TcpProto, tp: TcpSock, rexmit: number): void {
  if (rexmit === REXMIT_NONE) return;
  if (rexmit === REXMIT_NEW) {
    tcpWriteXmit(tcp, tp, false);
    if (seqGt(tp.sndNxt, tp.highSeq)) return;
    tp.frto = false;
  }
  if (rexmit === REXMIT_LOST || rexmit === REXMIT_NEW) tcpXmitRetransmitQueue(tcp, tp, false);
}
