/**
 * Loss recovery and congestion avoidance in bytes (RFC 5681, RFC 6582 NewReno, RFC 6675
 * SACK-based recovery; Linux tcp_fastretrans_alert in outline): recovery starts on the third
 * duplicate ACK, or when the SACK scoreboard marks a record lost, once snd_una passed the
 * previous recovery point; ssthresh = max(flight / 2, 2·MSS), cwnd = ssthresh, and lost records
 * are retransmitted while the pipe (sock.ts) is below cwnd. Without SACK, each duplicate ACK
 * during recovery counts one MSS as gone from the network and a partial ACK marks the next
 * head lost. The full ACK ends recovery. Outside recovery cwnd grows (slow start with
 * RFC 3465 L = 2, then one MSS per cwnd of acknowledged bytes).
 */
import { seqGe, seqGt } from '../../wire/seq.js';
import { TCP_INIT_CWND } from '../constants.js';
import { tcpXmitRetransmitQueue } from '../output/retransmit.js';
import type { TcpProto } from '../proto.js';
import { TCPCB_SACKED_ACKED } from '../recovery/rack.js';
import type { TcpSock } from '../sock.js';
import type { TxRecord } from '../output/rtx-queue.js';

/** a new cumulative ACK of `acked` bytes up to `ack` */
export function tcpRecoveryAck(tcp: TcpProto, tp: TcpSock, ack: number, acked: number): void {
  if (tp.inRecovery) {
    if (seqGe(ack, tp.recover)) {
      // full ACK: leave fast recovery
      tp.inRecovery = false;
      tp.dupAcks = 0;
      tp.renoSacked = 0;
      tp.cwnd = Math.min(tp.ssthresh, Math.max(tp.pipe, 0) + tp.mss);
      if (tp.cwnd < tp.mss) tp.cwnd = tp.mss;
    } else if (!tp.sackOk) {
      // partial ACK (RFC 6582 §3.2 step 5): the next hole is lost too
      tp.renoSacked = Math.max(tp.renoSacked - acked, 0);
      const h = tp.rtx.head;
      if (h !== null) tp.rtx.markLost(h);
    }
    return;
  }
  tp.dupAcks = 0;
  tp.renoSacked = 0;
  if (tp.inLoss && seqGe(ack, tp.lossHigh)) tp.inLoss = false;
  // keep `recover` trailing snd_una: left at the ISS it would fall 2^31 behind after 2 GiB
  // and the serial comparison (snd_una > recover) would turn false
  if (seqGt(ack, tp.recover)) tp.recover = (ack - 1) >>> 0;
  if (tp.cwnd < tp.ssthresh) {
    tp.cwnd += Math.min(acked, tp.mss * 2); // slow start (RFC 3465 L = 2)
  } else {
    tp.cwndCnt += acked;
    if (tp.cwndCnt >= tp.cwnd) {
      tp.cwndCnt -= tp.cwnd;
      tp.cwnd += tp.mss;
    }
  }
  const cap = Math.max(tp.sndBuf, 2 * tp.maxWindow, TCP_INIT_CWND * tp.mss);
  if (tp.cwnd > cap) tp.cwnd = cap;
}

/** a duplicate ACK (same snd_una, no data, no window change, data in flight) */
export function tcpRecoveryDupAck(tp: TcpSock): void {
  tp.dupAcks++;
  if (tp.inRecovery && !tp.sackOk) {
    // a segment left the network (Linux tcp_add_reno_sack), at most all but one in flight
    tp.renoSacked = Math.min(tp.renoSacked + tp.mss, Math.max(tp.inFlight - tp.mss, 0));
  }
}

/**
 * Enters recovery when the duplicate ACKs or the SACK scoreboard say a segment is lost
 * (RFC 6582 §3.2: only once the cumulative ACK passed the previous recovery point), and sends
 * the fast retransmit.
 */
export function tcpMaybeEnterRecovery(tcp: TcpProto, tp: TcpSock): void {
  if (tp.inRecovery) return;
  const q = tp.rtx;
  if (tp.dupAcks < 3 && q.lostOut === 0) return;
  if (!seqGt(tp.sndUna, tp.recover) || q.head === null) return;
  tp.ssthresh = Math.max(tp.inFlight >> 1, 2 * tp.mss);
  tp.recover = tp.sndMax;
  tp.inRecovery = true;
  // the first segment not SACKed is retransmitted in any case (RFC 6675 §5 step 4.2)
  let h: TxRecord | null = q.head;
  while (h !== null && h.sacked & TCPCB_SACKED_ACKED) h = h.next;
  if (h !== null) q.markLost(h);
  if (!tp.sackOk) tp.renoSacked = Math.min(3 * tp.mss, Math.max(tp.inFlight - tp.mss, 0));
  tp.cwnd = tp.ssthresh;
  tcpXmitRetransmitQueue(tcp, tp, true);
}
