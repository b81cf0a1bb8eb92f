/**
 * The congestion state machine of the core as Linux 6.18 runs it (tcp_input.c
 * tcp_fastretrans_alert and its helpers; tcp_recovery.c for RACK's socket side), wired to the
 * per-socket congestion-control module (cong/), PRR (recovery/prr.ts) and RACK
 * (recovery/rack.ts). cwnd and ssthresh count SEGMENTS (sock.ts); the transmit paths see
 * `tp.cwnd` in bytes.
 *
 *  - `tcpInitCongestion` when the connection is established (tcp_init_transfer);
 *  - `tcpFastretransAlert` for every "dubious" ACK (duplicate, SACK, DSACK, or any ACK outside
 *    Open): state exits when high_seq is ACKed (with undo: tcp_try_undo_recovery / _dsack /
 *    _partial / _loss, DSACK- or timestamp-based, RFC 2883 / RFC 3522), loss detection (RACK
 *    with SACK; NewReno's head-of-queue rule without, where duplicate ACKs count as SACKed
 *    segments — which is also what lets limited transmit (RFC 3042) send on the first two),
 *    Open ⇄ Disorder (tcp_try_keep_open), entering Recovery once a segment is marked lost, and
 *    F-RTO (RFC 5682) in Loss. Returns what to retransmit (REXMIT_*); the cwnd change is the
 *    caller's `tcpCongControl` afterwards, as Linux orders tcp_ack;
 *  - `tcpRackMarkLost` / `tcpRackReoTimeout`: RACK's detection and its reordering timer;
 *  - `tcpProcessTlpAck`: the end of a tail-loss-probe episode (a repaired loss → CWR);
 *  - `tcpCaXmitStart` / `tcpCaXmitDone` around a transmit burst.
 * Nothing allocates per ACK (one scratch AckSample is reused).
 */
import { tcpEcnQueueCwr, tcpEcnWithdrawCwr } from '../ecn.js';
import { seqGt, seqLt } from '../../wire/seq.js';
import { findCongestion } from '../cong/registry.js';
import { CaEvent, CaState, type AckSample } from '../cong/types.js';
import { tcpCurrentSsthresh, tcpCwndValidate, tcpInCwndReduction } from '../cong/cwnd.js';
import { tcpXmitRetransmitQueue } from '../output/retransmit.js';
import type { TcpProto } from '../proto.js';
import {
  FLAG_DATA_SACKED, FLAG_ECE, FLAG_LOST_RETRANS, FLAG_ORIG_SACK_ACKED, FLAG_SACK_RENEGING, FLAG_SET_XMIT_TIMER,
  FLAG_SND_UNA_ADVANCED,
} from '../recovery/flags.js';
import { tcpCwndReduction, tcpEndCwndReduction, tcpInitCwndReduction, tcpUndoCwnd } from '../recovery/prr.js';
import { TCPCB_EVER_RETRANS, TCPCB_LOST, TCPCB_RETRANS, rackMarkLost, rackDetectLoss } from '../recovery/rack.js';
import { TlpAck, tlpProcessAck } from '../recovery/tlp.js';
import type { TcpSock } from '../sock.js';
import { tcpScheduleLossProbe } from '../timer/tlp.js';
import { tcpCheckSackReordering } from './sack.js';

/** what tcp_xmit_recovery sends after the ACK (Linux REXMIT_*) */
export const REXMIT_NONE = 0;
export const REXMIT_LOST = 1;
export const REXMIT_NEW = 2;

/** scratch sample handed to `pktsAcked` (the modules read it synchronously) */
const sample: AckSample = { pktsAcked: 0, rttUs: -1, inFlight: 0 };

/** the FLAG_* word of the ACK being processed, as tcp_fastretrans_alert updates it */
export const alertState = { flag: 0, rexmit: REXMIT_NONE };

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
  tcpClearRetrans(tp);
  tp.reordering = tp.proto.sysctl.tcp_reordering;
  tp.reordSeenCount = 0;
  tp.rack.reset();
  tp.caOps.init(tp);
}

/** Linux tcp_clear_retrans: recovery bookkeeping of a fresh connection */
export function tcpClearRetrans(tp: TcpSock): void {
  tp.undoActive = false;
  tp.undoRetrans = -1;
  tp.renoSackedSegs = 0;
  tp.renoSacked = 0;
  tp.firstRetransUs = -1;
  tp.frto = false;
  tp.isSackReneg = false;
  tp.dsackDups = 0;
  tp.reoPending = false;
}

/** the module's view of one ACK (Linux tcp_clean_rtx_queue's pkts_acked call) */
export function tcpPktsAcked(tp: TcpSock, pktsAcked: number, rttUs: number, priorInFlight: number): void {
  const ca = tp.caOps;
  if (ca.pktsAcked === undefined || (pktsAcked === 0 && rttUs < 0)) return;
  sample.pktsAcked = pktsAcked;
  sample.rttUs = rttUs;
  sample.inFlight = priorInFlight;
  ca.pktsAcked(tp, sample);
}

// ---------------------------------------------------------------------------------------------
// Reno (no SACK): duplicate ACKs stand for SACKed segments
// ---------------------------------------------------------------------------------------------

function setRenoSacked(tp: TcpSock, segs: number): void {
  tp.renoSackedSegs = segs;
  tp.renoSacked = segs * tp.mss;
}

/** Linux tcp_limit_reno_sacked: never more duplicate ACKs than segments out, less one */
function tcpLimitRenoSacked(tp: TcpSock): boolean {
  const holes = Math.max(Math.ceil(tp.rtx.lostOut / tp.mss), 1);
  const out = tp.packetsOut;
  if (tp.renoSackedSegs + holes > out) {
    setRenoSacked(tp, Math.max(out - holes, 0));
    return true;
  }
  return false;
}

/** Linux tcp_check_reno_reordering: more duplicate ACKs than expected means reordering */
function tcpCheckRenoReordering(tp: TcpSock, addend: number): void {
  if (!tcpLimitRenoSacked(tp)) return;
  tp.reordering = Math.min(tp.packetsOut + addend, tp.proto.sysctl.tcp_max_reordering);
  tp.reordSeenCount++;
}

/** Linux tcp_add_reno_sack: `numDupack` duplicate ACKs, each a segment that left the network */
function tcpAddRenoSack(tp: TcpSock, numDupack: number): void {
  if (numDupack === 0) return;
  const prior = tp.renoSackedSegs;
  setRenoSacked(tp, prior + numDupack);
  tcpCheckRenoReordering(tp, 0);
  const delivered = tp.renoSackedSegs - prior;
  if (delivered > 0) tp.delivered += delivered;
}

/** Linux tcp_remove_reno_sacks: `acked` segments cumulatively ACKed; one filled the hole */
export function tcpRemoveRenoSacks(tp: TcpSock, acked: number): void {
  if (acked > 0) {
    tp.delivered += Math.max(acked - tp.renoSackedSegs, 1);
    if (acked - 1 >= tp.renoSackedSegs) setRenoSacked(tp, 0);
    else setRenoSacked(tp, tp.renoSackedSegs - (acked - 1));
  }
  tcpCheckRenoReordering(tp, acked);
}

function tcpResetRenoSack(tp: TcpSock): void {
  setRenoSacked(tp, 0);
}

/**
 * Linux tcp_newreno_mark_lost (RFC 6582): the head is lost once `reordering` duplicate ACKs
 * arrived, or on a partial ACK in Recovery
 */
function tcpNewrenoMarkLost(tp: TcpSock, sndUnaAdvanced: boolean): void {
  tp.rtx.segmentize();
  const st = tp.caState;
  if ((st < CaState.Recovery && tp.renoSackedSegs >= tp.reordering) || (st === CaState.Recovery && sndUnaAdvanced)) {
    const h = tp.rtx.head;
    if (h === null || h.sacked & TCPCB_LOST) return;
    // one MSS of it (a record longer than the MSS after a PMTU drop)
    if (h.len - (h.fin ? 1 : 0) > tp.mss) tp.rtx.split(h, tp.mss);
    tp.rtx.markLost(h);
  }
}

// ---------------------------------------------------------------------------------------------
// RACK on the socket
// ---------------------------------------------------------------------------------------------

/**
 * Linux tcp_rack_mark_lost: when the RACK reference advanced, marks what expired lost and arms
 * the reordering timer for the rest; true when the timer was armed
 */
export function tcpRackMarkLost(tcp: TcpProto, tp: TcpSock): boolean {
  tp.rtx.segmentize();
  const t = rackMarkLost(tp.rack, tp, tp.rtx, tp.rto);
  if (t === 0) return false;
  const sched = tcp.sched;
  sched.arm(tp.rtoTimer, sched.now() + t);
  tp.tlpPending = false;
  tp.reoPending = true;
  return true;
}

/** Linux tcp_rack_reo_timeout: the reordering window passed; mark, recover, retransmit */
export function tcpRackReoTimeout(tcp: TcpProto, tp: TcpSock): void {
  tp.rtx.segmentize();
  tp.reoPending = false;
  const prior = tp.packetsInFlight;
  const lostBefore = tp.rtx.lostOut;
  rackDetectLoss(tp.rack, tp, tp.rtx);
  if (prior !== tp.packetsInFlight || lostBefore !== tp.rtx.lostOut) {
    if (tp.caState !== CaState.Recovery) {
      tcpEnterRecovery(tp, false);
      tcpCwndReduction(tp, 1, 0, false);
    }
    tcpXmitRetransmitQueue(tcp, tp, false);
  }
  if (!tp.rtoTimer.armed || tp.tlpPending || tp.reoPending) tcpRearmRto(tcp, tp);
}

/**
 * Linux tcp_rearm_rto: the RTO from now, or — replacing a probe or reordering timer — from
 * the head's last transmission (tcp_rto_delta_us); cancelled when nothing is out
 */
export function tcpRearmRto(tcp: TcpProto, tp: TcpSock): void {
  const sched = tcp.sched;
  if (tp.rtx.head === null) {
    sched.cancel(tp.rtoTimer);
    tp.tlpPending = tp.reoPending = false;
    return;
  }
  let rto = tp.rto;
  if (tp.tlpPending || tp.reoPending) rto = Math.max(tp.rtoDeltaUs, 1);
  tp.tlpPending = tp.reoPending = false;
  sched.arm(tp.rtoTimer, sched.now() + rto);
}

/** Linux tcp_set_xmit_timer: a loss probe, else the RTO */
export function tcpSetXmitTimer(tcp: TcpProto, tp: TcpSock): void {
  if (!tcpScheduleLossProbe(tcp, tp, true)) tcpRearmRto(tcp, tp);
}

// ---------------------------------------------------------------------------------------------
// undo (RFC 2883 DSACK, RFC 3522 Eifel with timestamps)
// ---------------------------------------------------------------------------------------------

/** Linux tcp_init_undo: undo possible back to snd_una; retransmissions in flight may be DSACKed */
export function tcpInitUndo(tp: TcpSock): void {
  tp.undoActive = true;
  tp.undoMarker = tp.sndUna;
  tp.undoRetrans = tp.rtx.retransOut > 0 ? Math.ceil(tp.rtx.retransOut / tp.mss) : -1;
}

/** Linux tcp_any_retrans_done: retransmissions in flight, or the head was ever retransmitted */
function tcpAnyRetransDone(tp: TcpSock): boolean {
  if (tp.rtx.retransOut > 0) return true;
  const h = tp.rtx.head;
  return h !== null && (h.sacked & TCPCB_EVER_RETRANS) !== 0;
}

/** our TSval clock at µs time `us` (tcp_skb_timestamp_ts) */
function tsAt(tp: TcpSock, us: number): number {
  return (Math.floor(us / 1000) + tp.tsOffset) | 0;
}

/** the ACK echoes a timestamp older than TS time `when` (tcp_tsopt_ecr_before) */
function tcpTsoptEcrBefore(tcp: TcpProto, tp: TcpSock, whenTs: number): boolean {
  const o = tcp.opts;
  return tp.tsOk && o.hasTimestamp && o.tsEcr !== 0 && seqLt(o.tsEcr, whenTs);
}

/** Linux tcp_packet_delayed: the echo predates the first retransmission (Eifel) */
function tcpPacketDelayed(tcp: TcpProto, tp: TcpSock): boolean {
  return tp.firstRetransUs >= 0 && tcpTsoptEcrBefore(tcp, tp, tsAt(tp, tp.firstRetransUs));
}

/** Linux tcp_skb_spurious_retrans: `xmitUs` of a retransmitted record is after the echo */
export function tcpSkbSpuriousRetrans(tcp: TcpProto, tp: TcpSock, sacked: number, xmitUs: number): boolean {
  return (sacked & TCPCB_RETRANS) !== 0 && tcpTsoptEcrBefore(tcp, tp, tsAt(tp, xmitUs));
}

/** Linux tcp_may_undo */
function tcpMayUndo(tcp: TcpProto, tp: TcpSock): boolean {
  return tp.undoActive && (tp.undoRetrans === 0 || tcpPacketDelayed(tcp, tp));
}

/** Linux tcp_undo_cwnd_reduction */
function tcpUndoCwndReduction(tp: TcpSock, unmarkLoss: boolean): void {
  if (unmarkLoss) tp.rtx.unmarkLost();
  // ssthresh restored: a CWR still queued is withdrawn (Linux tcp_undo_cwnd_reduction)
  if (tcpUndoCwnd(tp, tp.caOps)) tcpEcnWithdrawCwr(tp);
  tp.undoActive = false;
  tp.rack.advanced = true; // RACK re-examines losses
}

/** Linux tcp_is_non_sack_preventing_reopen: Reno holds the state until data above high_seq is ACKed */
function tcpIsNonSackPreventingReopen(tp: TcpSock): boolean {
  if (tp.sndUna === tp.highSeq && !tp.sackOk) {
    if (!tcpAnyRetransDone(tp)) tp.firstRetransUs = -1;
    return true;
  }
  return false;
}

/** Linux tcp_try_undo_recovery: the recovery point was ACKed */
function tcpTryUndoRecovery(tcp: TcpProto, tp: TcpSock): boolean {
  if (tcpMayUndo(tcp, tp)) {
    tcpUndoCwndReduction(tp, false);
    tp.undoCount++;
  } else if (tp.rack.reoWndPersist > 0) {
    tp.rack.reoWndPersist--;
  }
  if (tcpIsNonSackPreventingReopen(tp)) return true;
  tcpSetCaState(tp, CaState.Open);
  tp.isSackReneg = false;
  return false;
}

/** Linux tcp_try_undo_dsack: DSACKs showed every retransmission redundant */
function tcpTryUndoDsack(tp: TcpSock): boolean {
  if (tp.undoActive && tp.undoRetrans === 0) {
    tp.rack.reoWndPersist = Math.min(16, tp.rack.reoWndPersist + 1);
    tcpUndoCwndReduction(tp, false);
    tp.undoCount++;
    return true;
  }
  return false;
}

/** Linux tcp_try_undo_loss: after an RTO, the retransmissions were spurious (or F-RTO said so) */
function tcpTryUndoLoss(tcp: TcpProto, tp: TcpSock, frtoUndo: boolean): boolean {
  if (frtoUndo || tcpMayUndo(tcp, tp)) {
    tcpUndoCwndReduction(tp, true);
    tp.undoCount++;
    if (frtoUndo) tp.spuriousRtoCount++;
    tp.retransmits = 0;
    if (tcpIsNonSackPreventingReopen(tp)) return true;
    if (frtoUndo || tp.sackOk) {
      tcpSetCaState(tp, CaState.Open);
      tp.isSackReneg = false;
    }
    return true;
  }
  return false;
}

/** Linux tcp_try_undo_partial: a partial ACK in Recovery; the hole was filled by the original */
function tcpTryUndoPartial(tcp: TcpProto, tp: TcpSock, priorSndUna: number): boolean {
  if (tp.undoActive && tcpPacketDelayed(tcp, tp)) {
    tcpCheckSackReordering(tp, priorSndUna, true);
    // reordering, not loss: clock out new data, but keep retransmissions in flight
    if (tp.rtx.retransOut > 0) return true;
    if (!tcpAnyRetransDone(tp)) tp.firstRetransUs = -1;
    tcpUndoCwndReduction(tp, true);
    tp.undoCount++;
    tcpTryKeepOpen(tp);
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// states
// ---------------------------------------------------------------------------------------------

/** Linux tcp_try_keep_open: Disorder while anything is SACKed, lost or retransmitted */
export function tcpTryKeepOpen(tp: TcpSock): void {
  const q = tp.rtx;
  const leftOut = q.sackedOut > 0 || q.lostOut > 0 || tp.renoSackedSegs > 0;
  const state = leftOut || tcpAnyRetransDone(tp) ? CaState.Disorder : CaState.Open;
  if (tp.caState !== state) {
    tcpSetCaState(tp, state);
    tp.highSeq = tp.sndNxt;
  }
}

/** Linux tcp_enter_cwr: a congestion signal without loss (ECN, a repaired tail loss) */
export function tcpEnterCwr(tp: TcpSock): void {
  tp.priorSsthresh = 0;
  if (tp.caState < CaState.CWR) {
    tp.undoActive = false;
    tcpInitCwndReduction(tp, tp.caOps);
    tcpEcnQueueCwr(tp); // Linux tcp_init_cwnd_reduction: CWR on the next new data
    tcpSetCaState(tp, CaState.CWR);
  }
}

function tcpTryToOpen(tp: TcpSock, flag: number): void {
  if (!tcpAnyRetransDone(tp)) tp.firstRetransUs = -1;
  if (flag & FLAG_ECE) tcpEnterCwr(tp);
  if (tp.caState !== CaState.CWR) tcpTryKeepOpen(tp);
}

/** Linux tcp_enter_recovery: undo state, PRR start (unless already reducing), state Recovery */
export function tcpEnterRecovery(tp: TcpSock, ece: boolean): void {
  tp.priorSsthresh = 0;
  tcpInitUndo(tp);
  if (!tcpInCwndReduction(tp.caState)) {
    if (!ece) tp.priorSsthresh = tcpCurrentSsthresh(tp);
    tcpInitCwndReduction(tp, tp.caOps);
    tcpEcnQueueCwr(tp); // Linux tcp_init_cwnd_reduction: CWR on the next new data
  }
  tcpSetCaState(tp, CaState.Recovery);
}

/** Linux tcp_identify_packet_loss: NewReno's rule without SACK, RACK with it */
function tcpIdentifyPacketLoss(tcp: TcpProto, tp: TcpSock): void {
  const q = tp.rtx;
  if (q.head === null) return;
  if (!tp.sackOk) {
    tcpNewrenoMarkLost(tp, (alertState.flag & FLAG_SND_UNA_ADVANCED) !== 0);
    return;
  }
  const priorRetrans = q.retransOut;
  if (tcpRackMarkLost(tcp, tp)) alertState.flag &= ~FLAG_SET_XMIT_TIMER;
  if (priorRetrans > q.retransOut) alertState.flag |= FLAG_LOST_RETRANS;
}

/** Linux tcp_time_to_recover: loss detection marked something lost */
function tcpTimeToRecover(tp: TcpSock): boolean {
  return tp.rtx.lostOut > 0;
}

/** Linux tcp_process_loss: an ACK in Loss (after an RTO), with F-RTO (RFC 5682) */
function tcpProcessLoss(tcp: TcpProto, tp: TcpSock, flag: number, numDupack: number): void {
  const recovered = !seqLt(tp.sndUna, tp.highSeq);
  if (flag & FLAG_SND_UNA_ADVANCED && tcpTryUndoLoss(tcp, tp, false)) return;
  if (tp.frto) {
    // step 3.b: never-retransmitted data (S)ACKed: the timeout was spurious
    if (flag & FLAG_ORIG_SACK_ACKED && tcpTryUndoLoss(tcp, tp, true)) return;
    if (seqGt(tp.sndNxt, tp.highSeq)) {
      if (flag & FLAG_DATA_SACKED || numDupack !== 0) tp.frto = false; // step 3.a: loss was real
    } else if (flag & FLAG_SND_UNA_ADVANCED && !recovered) {
      tp.highSeq = tp.sndNxt;
      // step 2.b: send new data (after cwnd is updated) if the window allows, else recover
      if (tp.unsent > 0 && seqGt((tp.sndUna + tp.sndWnd) | 0, tp.sndNxt)) {
        alertState.rexmit = REXMIT_NEW;
        return;
      }
      tp.frto = false;
    }
  }
  if (recovered) {
    // step 2.a and the first part of 3.a
    tcpTryUndoRecovery(tcp, tp);
    return;
  }
  if (!tp.sackOk) {
    // a Reno duplicate ACK means the new data of F-RTO step 2.b arrived
    if (seqGt(tp.sndNxt, tp.highSeq) && numDupack !== 0) tcpAddRenoSack(tp, numDupack);
    else if (flag & FLAG_SND_UNA_ADVANCED) tcpResetRenoSack(tp);
  }
  alertState.rexmit = REXMIT_LOST;
}

/**
 * Linux tcp_check_sack_reneging: snd_una advanced onto a SACKed record — give the receiver a
 * little time (max(srtt/2, 10 ms)) before the RTO forgets every SACK
 */
function tcpCheckSackReneging(tcp: TcpProto, tp: TcpSock): boolean {
  const flag = alertState.flag;
  if (flag & FLAG_SACK_RENEGING && flag & FLAG_SND_UNA_ADVANCED) {
    const delay = Math.max(Math.floor((tp.srttUs >>> 4) / 1000) * 1000, 10_000);
    const sched = tcp.sched;
    sched.arm(tp.rtoTimer, sched.now() + delay);
    tp.tlpPending = tp.reoPending = false;
    alertState.flag &= ~FLAG_SET_XMIT_TIMER;
    return true;
  }
  return false;
}

/**
 * Linux tcp_fastretrans_alert: the state machine for one dubious ACK. Reads and updates
 * `alertState.flag`; sets `alertState.rexmit`.
 */
export function tcpFastretransAlert(tcp: TcpProto, tp: TcpSock, priorSndUna: number, numDupack: number): void {
  tp.rtx.segmentize();
  const flag = alertState.flag;
  const ece = (flag & FLAG_ECE) !== 0;
  const q = tp.rtx;
  if (q.head === null && tp.renoSackedSegs > 0) tcpResetRenoSack(tp);
  // A. ECE: the reduction is required, no undo
  if (ece) tp.priorSsthresh = 0;
  // B. reneging
  if (tcpCheckSackReneging(tcp, tp)) return;
  // D. state exits once high_seq is ACKed
  if (tp.caState === CaState.Open) {
    tp.firstRetransUs = -1;
  } else if (!seqLt(tp.sndUna, tp.highSeq)) {
    switch (tp.caState) {
      case CaState.CWR:
        // held until something above high_seq is ACKed, so that CWR reached the receiver
        if (tp.sndUna !== tp.highSeq) {
          tcpEndCwndReduction(tp, tp.caOps, 0);
          tcpSetCaState(tp, CaState.Open);
        }
        break;
      case CaState.Recovery:
        if (!tp.sackOk) tcpResetRenoSack(tp);
        if (tcpTryUndoRecovery(tcp, tp)) return;
        tcpEndCwndReduction(tp, tp.caOps, tp.undoActive ? 1 : 0);
        break;
    }
  }
  // E. process the state
  switch (tp.caState) {
    case CaState.Recovery:
      if (!(flag & FLAG_SND_UNA_ADVANCED)) {
        if (!tp.sackOk) tcpAddRenoSack(tp, numDupack);
      } else if (tcpTryUndoPartial(tcp, tp, priorSndUna)) {
        return;
      }
      if (tcpTryUndoDsack(tp)) tcpTryKeepOpen(tp);
      tcpIdentifyPacketLoss(tcp, tp);
      if (tp.caState !== CaState.Recovery) {
        if (!tcpTimeToRecover(tp)) return;
        // undo reverted the state but loss is evident: a new recovery
        tcpEnterRecovery(tp, ece);
      }
      break;
    case CaState.Loss:
      tcpProcessLoss(tcp, tp, flag, numDupack);
      tcpIdentifyPacketLoss(tcp, tp);
      if (!((tp.caState as CaState) === CaState.Open || alertState.flag & FLAG_LOST_RETRANS)) return;
      // cwnd undone, or retransmissions lost: change state below
      tcpAlertOpen(tcp, tp, flag, numDupack, ece);
      return;
    default:
      if (!tcpAlertOpen(tcp, tp, flag, numDupack, ece)) return;
      break;
  }
  alertState.rexmit = REXMIT_LOST;
}

/** the Open / Disorder / CWR branch of tcp_fastretrans_alert; false when nothing is lost */
function tcpAlertOpen(tcp: TcpProto, tp: TcpSock, flag: number, numDupack: number, ece: boolean): boolean {
  if (!tp.sackOk) {
    if (flag & FLAG_SND_UNA_ADVANCED) tcpResetRenoSack(tp);
    tcpAddRenoSack(tp, numDupack);
  }
  if (tp.caState <= CaState.Disorder) tcpTryUndoDsack(tp);
  tcpIdentifyPacketLoss(tcp, tp);
  if (!tcpTimeToRecover(tp)) {
    tcpTryToOpen(tp, flag);
    return false;
  }
  tcpEnterRecovery(tp, ece);
  alertState.rexmit = REXMIT_LOST;
  return true;
}

/** Linux tcp_process_tlp_ack: an ACK while a tail loss probe is outstanding */
export function tcpProcessTlpAck(tp: TcpSock, ack: number, flag: number): void {
  const r = tlpProcessAck(tp, ack, flag);
  if (r === TlpAck.NoLoss) {
    tp.tlpHighSeq = 0;
  } else if (r === TlpAck.Loss) {
    // the probe repaired a loss: reduce cwnd once (the reduction clears tlp_high_seq)
    tcpInitCwndReduction(tp, tp.caOps);
    tcpEcnQueueCwr(tp); // Linux tcp_init_cwnd_reduction: CWR on the next new data
    tcpSetCaState(tp, CaState.CWR);
    tcpEndCwndReduction(tp, tp.caOps, tp.undoActive ? 1 : 0);
    tcpTryKeepOpen(tp);
  }
}

/**
 * before a transmit burst: CA_EVENT_TX_START when new data leaves an empty flight. Returns the
 * token `tcpCaXmitDone` takes (snd_nxt now).
 */
export function tcpCaXmitStart(tp: TcpSock): number {
  if (tp.inFlight === 0 && tp.unsent > 0) tp.caOps.cwndEvent?.(tp, CaEvent.TxStart);
  return tp.sndNxt;
}

/**
 * after a transmit burst (`token` from tcpCaXmitStart): when new sequence space went out (data
 * or a lone FIN) lsndtime and a loss probe; tcp_cwnd_validate (cwnd-limited when data waits and
 * the flight fills cwnd)
 */
export function tcpCaXmitDone(tp: TcpSock, token: number): void {
  const sent = tp.sndNxt !== token;
  const limited = tp.unsent > 0 && tp.pipe + tp.mss > tp.cwnd;
  if (sent) {
    tp.lsndtimeMs = tp.nowMs;
    // tcp_write_xmit: new data out, a loss probe may replace the RTO
    if (tp.inFlight > 0) tcpScheduleLossProbe(tp.proto, tp, false);
  }
  if (sent || limited) tcpCwndValidate(tp, tp.cwndUsage, limited, false);
}
