/**
 * ACK processing (Linux tcp_ack): ts_recent, the SACK scoreboard (sack.ts), the send window
 * update (RFC 9293 SND.WL1/WL2 rule), snd_una advance (retransmit-queue records and send
 * buffer pages released, RTT sample, backoff reset, the retransmit timer re-armed or stopped),
 * the segments it delivered handed to congestion control and recovery (fast-recovery.ts), then
 * retransmitting lost records and sending what the new window allows.
 */
import { seqGt, seqLe, seqLt } from '../../wire/seq.js';
import { TCP_FIN, TCP_SYN } from '../../wire/tcp.js';
import { tcpTsVal } from '../output/options.js';
import { tcpXmitRetransmitQueue } from '../output/retransmit.js';
import { tcpWriteXmit } from '../output/xmit.js';
import type { TcpProto } from '../proto.js';
import { tcpComputeRto, tcpRttUpdate } from '../rtt.js';
import type { TcpSock } from '../sock.js';
import { tcpScheduleLossProbe, tcpTlpAck } from '../timer/tlp.js';
import { tcpCongAck, tcpMaybeEnterRecovery } from './fast-recovery.js';
import { tcpSacktag } from './sack.js';

/** the ACK was processed */
export const ACK_OK = 1;
/** older than snd_una: nothing to do, the segment's data still counts */
export const ACK_OLD = 0;
/** RFC 5961 §5.2: older than snd_una − max window (the segment is dropped) */
export const ACK_TOO_OLD = -1;
/** acknowledges data never sent (the segment is dropped) */
export const ACK_UNSENT = -2;

/** one of the ACK_* results */
export function tcpAck(tcp: TcpProto, tp: TcpSock, ack: number, win: number, seq: number, dataLen: number, flags: number): number {
  if (seqLt(ack, tp.sndUna)) {
    // bytes never sent are not acknowledged: the window is at most what was acked
    const maxWin = Math.min(tp.maxWindow, tp.stats.bytesAcked);
    return seqLt(ack, (tp.sndUna - maxWin) | 0) ? ACK_TOO_OLD : ACK_OLD;
  }
  if (seqGt(ack, tp.sndMax)) return ACK_UNSENT;
  // the segment's options (read before anything is sent: sending may parse other segments)
  const o = tcp.opts;
  const sawTs = tp.tsOk && o.hasTimestamp;
  const tsVal = o.tsVal;
  const tsEcr = o.tsEcr;
  // RFC 7323 §4.3 / Linux tcp_replace_ts_recent: a segment at the left window edge updates ts_recent
  if (sawTs && seqLe(seq, tp.rcvWup) && ((tsVal - tp.tsRecent) | 0) >= 0) {
    tp.tsRecent = tsVal;
    tp.tsRecentStamp = tcp.sched.now();
  }
  // an acceptable ACK answers the zero-window probes (Linux tcp_ack: icsk_probes_out = 0)
  tp.probesOut = 0;
  const priorInFlight = tp.packetsInFlight;
  const sacked = tp.sackOk && o.sackCount > 0 ? tcpSacktag(tcp, tp, o, ack) : 0;
  const sndWnd = win << tp.sndWscale;
  // window update (RFC 9293: SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK))
  let windowChanged = false;
  if (seqLt(tp.sndWl1, seq) || (tp.sndWl1 === seq && seqLe(tp.sndWl2, ack))) {
    if (tp.sndWnd !== sndWnd) windowChanged = true;
    tp.sndWnd = sndWnd;
    tp.sndWl1 = seq;
    tp.sndWl2 = ack;
    if (sndWnd > tp.maxWindow) tp.maxWindow = sndWnd;
  }
  // bytes newly delivered (ACKed and not SACKed before, or newly SACKed), for PRR and congAvoid
  let deliveredBytes = sacked;
  if (seqGt(ack, tp.sndUna)) {
    const acked = (ack - tp.sndUna) | 0;
    const sched = tcp.sched;
    const now = sched.now();
    if (seqGt(ack, tp.sndNxt)) tp.sndNxt = ack;
    // RTT (Linux tcp_clean_rtx_queue / tcp_ack_update_rtt): the oldest newly acknowledged
    // record never retransmitted (Karn), else the echoed timestamp (RFC 7323 §4)
    const q = tp.rtx;
    const countBefore = q.count;
    const sackedBefore = q.sackedOut;
    const sentUs = q.ackTo(ack);
    deliveredBytes += acked - (sackedBefore - q.sackedOut);
    let rttUs = -1;
    if (sentUs >= 0) rttUs = Math.max(now - sentUs, 1);
    else if (sawTs && tsEcr !== 0) rttUs = Math.max(((tcpTsVal(tcp, tp) - tsEcr) | 0) * 1000, 1);
    if (rttUs >= 0) tcpRttUpdate(tp, rttUs);
    tp.sendBuf.ackTo(seqGt(ack, tp.sendBuf.endSeq) ? tp.sendBuf.endSeq : ack);
    if (tcp.memWait.size !== 0) tcp.memWait.wake();
    tp.sndUna = ack;
    tp.stats.bytesAcked += acked;
    tp.retransmits = 0;
    if (tp.backoff !== 0) {
      tp.backoff = 0;
      tcpComputeRto(tp);
    }
    tcpCongAck(tp, ack, acked, segs(tp, deliveredBytes), countBefore - q.count, rttUs, priorInFlight, false);
    tp.tlpPending = false;
    if (tp.inFlight > 0) sched.arm(tp.rtoTimer, now + tp.rto);
    else sched.cancel(tp.rtoTimer);
    if (tp.sockOwner && tp.sendSpace > 0) tp.sockOwner.tcpWritable(tp);
  } else if (ack === tp.sndUna && dataLen === 0 && !(flags & (TCP_SYN | TCP_FIN)) && !windowChanged && tp.inFlight > 0) {
    tp.stats.dupAcksIn++;
    tcpCongAck(tp, ack, 0, segs(tp, deliveredBytes), 0, -1, priorInFlight, true);
  } else if (deliveredBytes > 0) {
    tcpCongAck(tp, ack, 0, segs(tp, deliveredBytes), 0, -1, priorInFlight, false);
  }
  if (tp.inFlight > 0 && (sacked > 0 || tp.dupAcks >= 3)) tcpMaybeEnterRecovery(tcp, tp, segs(tp, deliveredBytes));
  if (tp.rtx.lostOut > 0) tcpXmitRetransmitQueue(tcp, tp, false);
  tcpTlpAck(tp, ack);
  // tcp_set_xmit_timer: a probe instead of the RTO when TLP applies (after an ACK of new data)
  if (deliveredBytes > 0 && tp.inFlight > 0) tcpScheduleLossProbe(tcp, tp, true);
  tcpWriteXmit(tcp, tp, tp.cork);
  return ACK_OK;
}

/** bytes → segments of the current MSS, rounded up */
function segs(tp: TcpSock, bytes: number): number {
  return bytes > 0 ? Math.ceil(bytes / tp.mss) : 0;
}
