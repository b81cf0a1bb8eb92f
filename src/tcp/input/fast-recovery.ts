/**
 * The congestion state machine of the core (Linux tcp_fastretrans_alert / tcp_cong_control in
 * outline), wired to the per-socket congestion-control module (cong/) and PRR (recovery/prr.ts).
 * cwnd and ssthresh count SEGMENTS (sock.ts); the transmit paths see `tp.cwnd` in bytes.
 *
 *  - `tcpInitCongestion` when the connection is established (tcp_init_transfer): initial window,
 *    a child takes its listener's TCP_CONGESTION choice, `ops.init`;
 *  - `tcpCongAck` once per acceptable ACK: `pktsAcked` with the RTT sample, then by state —
 *    Recovery: PRR sets cwnd on every ACK (RFC 6937), the full ACK (snd_una ≥ recover) ends it
 *    with cwnd = ssthresh; without SACK a partial ACK marks the next head lost (RFC 6582) and a
 *    duplicate ACK counts one segment delivered (tcp_add_reno_sack); Loss (after an RTO) lasts
 *    until snd_una reaches lossHigh; outside Recovery an ACK that advanced snd_una calls
 *    `congAvoid` with the segments delivered (the module checks cwnd-limited itself);
 *  - `tcpMaybeEnterRecovery`: on the third duplicate ACK or a lost record in the SACK
 *    scoreboard, once snd_una passed the previous recovery point: prior_ssthresh for undo,
 *    tcp_init_cwnd_reduction (ssthresh from the module), state Recovery, the fast retransmit;
 *  - `tcpCaXmitStart` / `tcpCaXmitDone` around a transmit burst: CA_EVENT_TX_START when sending
 *    from an empty flight (before lsndtime moves), then lsndtime and tcp_cwnd_validate.
 * Nothing allocates per ACK (one scratch AckSample is reused).
 */
import { seqGe, seqGt } from '../../wire/seq.js';
import { findCongestion } from '../cong/registry.js';
import { CaEvent, CaState, type AckSample } from '../cong/types.js';
import { tcpCurrentSsthresh, tcpCwndValidate } from '../cong/cwnd.js';
import { tcpXmitRetransmitQueue } from '../output/retransmit.js';
import type { TcpProto } from '../proto.js';
import { tcpCwndReduction, tcpEndCwndReduction, tcpInitCwndReduction } from '../recovery/prr.js';
import { TCPCB_SACKED_ACKED } from '../recovery/rack.js';
import type { TcpSock } from '../sock.js';
import { tcpScheduleLossProbe } from '../timer/tlp.js';
import type { TxRecord } from '../output/rtx-queue.js';

/** scratch sample handed to `pktsAcked` (the modules read it synchronously) */
const sample: AckSample = { pktsAcked: 0, rttUs: -1, inFlight: 0 };

/** Linux tcp_set_ca_state: tell the module, then switch */
export function tcpSetCaState(tp: TcpSock, state: CaState): void {
  if (tp.caState === state) return;
  tp.caOps.setState?.(tp, state);
  tp.caState = state;
}

/** the connection became ESTABLISHED (Linux tcp_init_transfer + tcp_init_congestion_control) */
export function tcpInitCongestion(tp: TcpSock): void {
  const parent = tp.parent;
  if (parent !== null && parent.caSetsockopt && parent.caOps.name !== tp.caOps.name) {
    const f = findCongestion(parent.caOps.name);
    if (f !== null) {
      tp.caOps = f();
      tp.caSetsockopt = true;
    }
  }
  tp.sndCwnd = tp.initCwnd;
  tp.sndCwndCnt = 0;
  tp.cwndUsage.sndCwndStamp = tp.nowMs;
  tp.caOps.init(tp);
}

/**
 * One acceptable ACK. `ackedBytes`: bytes snd_una advanced (0 for none); `delivered`: segments
 * newly ACKed or SACKed; `pktsAcked`: records cumulatively acknowledged; `rttUs`: RTT sample
 * (−1 none); `priorInFlight`: packets in flight before the ACK; `dup`: a duplicate ACK.
 */
export function tcpCongAck(
  tp: TcpSock, ack: number, ackedBytes: number, delivered: number, pktsAcked: number, rttUs: number,
  priorInFlight: number, dup: boolean,
): void {
  const ca = tp.caOps;
  const advanced = ackedBytes > 0;
  if (ca.pktsAcked !== undefined && (pktsAcked > 0 || rttUs >= 0)) {
    sample.pktsAcked = pktsAcked;
    sample.rttUs = rttUs;
    sample.inFlight = priorInFlight;
    ca.pktsAcked(tp, sample);
  }
  if (dup) {
    tp.dupAcks++;
    if (!tp.sackOk) {
      // a segment left the network (Linux tcp_add_reno_sack), at most all but one in flight
      if (tp.caState === CaState.Recovery) {
        tp.renoSacked = Math.min(tp.renoSacked + tp.mss, Math.max(tp.inFlight - tp.mss, 0));
      }
      delivered = 1;
    }
  }
  tp.delivered += delivered;
  let newlyLost = 0;
  if (tp.caState === CaState.Recovery) {
    if (advanced && seqGe(ack, tp.recover)) {
      // full ACK: leave fast recovery (tcp_end_cwnd_reduction: cwnd = ssthresh)
      tp.dupAcks = 0;
      tp.renoSacked = 0;
      tcpEndCwndReduction(tp, ca, 1);
      tcpSetCaState(tp, CaState.Open);
    } else {
      if (advanced && !tp.sackOk) {
        // partial ACK (RFC 6582 §3.2 step 5): the next hole is lost too
        tp.renoSacked = Math.max(tp.renoSacked - ackedBytes, 0);
        const h = tp.rtx.head;
        if (h !== null) {
          tp.rtx.markLost(h);
          newlyLost = 1;
        }
      }
      tcpCwndReduction(tp, delivered, newlyLost, advanced);
      return;
    }
  } else if (advanced) {
    tp.dupAcks = 0;
    tp.renoSacked = 0;
    if (tp.caState === CaState.Loss && seqGe(ack, tp.lossHigh)) tcpSetCaState(tp, CaState.Open);
  }
  if (!advanced) return;
  // keep `recover` trailing snd_una: left at the ISS it would fall 2^31 behind after 2 GiB
  // and the serial comparison (snd_una > recover) would turn false
  if (seqGt(ack, tp.recover)) tp.recover = (ack - 1) | 0;
  // tcp_cong_control outside a reduction (tcp_may_raise_cwnd: data ACKed)
  if (delivered > 0) ca.congAvoid(tp, ack, delivered);
}

/**
 * Enters recovery when the duplicate ACKs or the SACK scoreboard say a segment is lost
 * (RFC 6582 §3.2: only once the cumulative ACK passed the previous recovery point), sets the
 * PRR cwnd for this ACK and sends the fast retransmit. `delivered`: segments this ACK delivered.
 */
export function tcpMaybeEnterRecovery(tcp: TcpProto, tp: TcpSock, delivered: number): void {
  if (tp.caState === CaState.Recovery || tp.caState === CaState.Loss) return;
  const q = tp.rtx;
  if (tp.dupAcks < 3 && q.lostOut === 0) return;
  if (!seqGt(tp.sndUna, tp.recover) || q.head === null) return;
  tp.priorSsthresh = tcpCurrentSsthresh(tp);
  tcpInitCwndReduction(tp, tp.caOps);
  tp.recover = tp.sndMax;
  tcpSetCaState(tp, CaState.Recovery);
  // the first segment not SACKed is retransmitted in any case (RFC 6675 §5 step 4.2)
  let h: TxRecord | null = q.head;
  while (h !== null && h.sacked & TCPCB_SACKED_ACKED) h = h.next;
  if (h !== null) q.markLost(h);
  if (!tp.sackOk) tp.renoSacked = Math.min(3 * tp.mss, Math.max(tp.inFlight - tp.mss, 0));
  tcpCwndReduction(tp, delivered > 0 ? delivered : 1, 1, false);
  tcpXmitRetransmitQueue(tcp, tp, true);
}

/** before a transmit burst: CA_EVENT_TX_START when new data leaves an empty flight */
export function tcpCaXmitStart(tp: TcpSock): number {
  if (tp.inFlight === 0 && tp.unsent > 0) tp.caOps.cwndEvent?.(tp, CaEvent.TxStart);
  return tp.stats.dataSegsOut;
}

/**
 * after a transmit burst that began with `segsBefore` data segments sent: lsndtime, and
 * tcp_cwnd_validate (cwnd-limited when data waits and the flight fills cwnd)
 */
export function tcpCaXmitDone(tp: TcpSock, segsBefore: number): void {
  const sent = tp.stats.dataSegsOut !== segsBefore;
  const limited = tp.unsent > 0 && tp.pipe + tp.mss > tp.cwnd;
  if (sent) {
    tp.lsndtimeMs = tp.nowMs;
    // tcp_write_xmit: new data out, a loss probe may replace the RTO
    if (tp.inFlight > 0) tcpScheduleLossProbe(tp.proto, tp, false);
  }
  if (sent || limited) tcpCwndValidate(tp, tp.cwndUsage, limited, false);
}
