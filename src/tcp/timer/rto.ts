/**
 * The retransmission timer (Linux tcp_retransmit_timer, tcp_write_timeout, tcp_enter_loss,
 * tcp_probe_timer). One `rtoTimer` serves the RTO, the tail loss probe (`tp.tlpPending`,
 * timer/tlp.ts) and RACK's reordering timeout (`tp.reoPending`), as Linux's
 * icsk_retransmit_timer serves ICSK_TIME_RETRANS / LOSS_PROBE / REO_TIMEOUT.
 *
 *  - SYN / SYN-ACK retries with backoff;
 *  - RTO recovery (RFC 6298 §5.4–5.6, RFC 5681 §3.1, as tcp_enter_loss): the records not
 *    SACKed are lost except those sent within RACK's RTT (all of them, SACK marks too, when
 *    the receiver reneged), the module's ssthresh unless already reduced in this window, cwnd
 *    = in flight + 1, undo state, state Loss, F-RTO (RFC 5682) armed when net.ipv4.tcp_frto;
 *    the head retransmitted, the RTO doubled (clamped to what TCP_USER_TIMEOUT leaves);
 *  - giving up (tcp_write_timeout): after the time tcp_retries2 backed-off RTOs take from the
 *    first retransmission (tcp_model_timeout; an orphan: tcp_orphan_retries, 8), or after
 *    TCP_USER_TIMEOUT when set; the error is the soft error (an ICMP seen meanwhile) or
 *    ETIMEDOUT;
 *  - the zero-window probe when nothing is in flight but data waits (tcp_probe_timer), given
 *    up after tcp_retries2 unanswered probes (an orphan: tcp_orphan_retries) or once
 *    TCP_USER_TIMEOUT passed since the first probe.
 */
import { tcpEcnQueueCwr } from '../ecn.js';
import { ERRNO } from '../../uapi/index.js';
import { TCP_ACK, TCP_PSH } from '../../wire/tcp.js';
import {
  TCP_RTO_MAX, TCP_RTO_MIN, TCP_SYNACK_RETRIES, TCP_SYN_RECV, TCP_SYN_RETRIES, TCP_SYN_SENT,
} from '../constants.js';
import { tcpFail } from '../conn.js';
import { CaState } from '../cong/types.js';
import { tcpInitUndo, tcpRackReoTimeout, tcpSetCaState } from '../input/fast-recovery.js';
import { tcpSendProbe, tcpSendSyn } from '../output/control.js';
import { tcpRetransmitRecord } from '../output/retransmit.js';
import { tcpSendNew } from '../output/xmit.js';
import type { TcpProto } from '../proto.js';
import type { TxRecord } from '../output/rtx-queue.js';
import { tcpEnterLossCwnd } from '../recovery/cong-control.js';
import { TCPCB_SACKED_ACKED, rackSkbTimeout } from '../recovery/rack.js';
import type { TcpSock } from '../sock.js';
import { tcpSendLossProbe } from './tlp.js';

export function tcpRetransmitTimer(tcp: TcpProto, tp: TcpSock): void {
  tp.rtx.segmentize();
  const sched = tcp.sched;
  const now = sched.now();
  if (tp.state === TCP_SYN_SENT || tp.state === TCP_SYN_RECV) {
    const limit = tp.state === TCP_SYN_SENT ? TCP_SYN_RETRIES : TCP_SYNACK_RETRIES;
    if (tp.retransmits >= limit) {
      if (tp.state === TCP_SYN_SENT) tcp.stats.attemptFails++;
      tcpFail(tcp, tp, tp.softError || ERRNO.ETIMEDOUT);
      return;
    }
    tp.retransmits++;
    tp.backoff++;
    tp.rttTime = -1;
    tp.rto = Math.min(tp.rto * 2, TCP_RTO_MAX);
    tp.stats.timeouts++;
    tcp.stats.retransSegs++;
    tcpSendSyn(tcp, tp, tp.state === TCP_SYN_RECV);
    return;
  }
  if (tp.reoPending) {
    tcpRackReoTimeout(tcp, tp);
    return;
  }
  if (tp.tlpPending) {
    tp.tlpPending = false;
    if (tp.rtx.head !== null) {
      tcpSendLossProbe(tcp, tp);
      return;
    }
  }
  const head = tp.rtx.head;
  if (head === null) {
    tcpProbeTimer(tcp, tp, now);
    return;
  }
  tp.stats.timeouts++;
  tcp.stats.timeouts++;
  if (tcpWriteTimeout(tcp, tp, now)) return;
  tcpEnterLoss(tcp, tp);
  // Linux tcp_update_rto_stats
  tp.retransmits++;
  tcpRetransmitRecord(tcp, tp, head);
  tp.backoff++;
  tp.rto = Math.min(tp.rto * 2, TCP_RTO_MAX);
  sched.arm(tp.rtoTimer, now + tcpClampRtoToUserTimeout(tp, now));
}

/**
 * Linux tcp_enter_loss: the RTO fired. Marks the queue lost (tcp_timeout_mark_lost), reduces
 * cwnd once per window (with undo state), enters Loss, arms F-RTO.
 */
export function tcpEnterLoss(tcp: TcpProto, tp: TcpSock): void {
  tp.rtx.segmentize();
  const newRecovery = tp.caState < CaState.Recovery;
  tcpTimeoutMarkLost(tp);
  if (tcpEnterLossCwnd(tp, tp.caOps, tp.retransmits)) tcpInitUndo(tp);
  tcpEcnQueueCwr(tp);
  tp.cwndUsage.sndCwndStamp = tp.nowMs;
  // a timeout after many duplicate ACKs: the reordering degree was overestimated
  const sysReo = tcp.sysctl.tcp_reordering;
  if (tp.caState <= CaState.Disorder && tp.sackedOut >= sysReo) tp.reordering = Math.min(tp.reordering, sysReo);
  tcpSetCaState(tp, CaState.Loss);
  tp.highSeq = tp.sndNxt;
  tp.tlpHighSeq = 0;
  // F-RTO (RFC 5682 §3.1 step 1): unless a recovery was already under way (repeated timeouts of
  // the same snd_una count as new)
  tp.frto = tcp.sysctl.tcp_frto !== 0 && (newRecovery || tp.retransmits !== 0);
}

/**
 * Linux tcp_timeout_mark_lost: every record not SACKed is lost except those sent within the
 * latest RTT RACK measured (they may still arrive); the head always. When the head itself is
 * SACKed the receiver reneged: every SACK mark goes (RFC 2018 §8) and everything is lost.
 */
function tcpTimeoutMarkLost(tp: TcpSock): void {
  const q = tp.rtx;
  const head = q.head;
  if (head === null) return;
  if (!tp.sackOk) {
    tp.renoSackedSegs = 0;
    tp.renoSacked = 0;
  }
  if (head.sacked & TCPCB_SACKED_ACKED) {
    tp.isSackReneg = true;
    q.markAllLost();
    return;
  }
  for (let r: TxRecord | null = head; r !== null; r = r.next) {
    if (r !== head && rackSkbTimeout(tp.rack, tp, r, 0) > 0) continue;
    q.markLost(r);
  }
}

/** Linux tcp_model_timeout: ms that `boundary` backed-off RTOs from `rtoBase` µs take */
export function tcpModelTimeoutMs(boundary: number, rtoBaseUs: number): number {
  const base = Math.floor(rtoBaseUs / 1000);
  const thresh = Math.floor(Math.log2(TCP_RTO_MAX / rtoBaseUs));
  if (boundary <= thresh) return ((2 << boundary) - 1) * base;
  return ((2 << thresh) - 1) * base + (boundary - thresh) * Math.floor(TCP_RTO_MAX / 1000);
}

/**
 * Linux retransmits_timed_out: an RTO episode (retransmits ≠ 0) that began `timeoutMs` ago (or,
 * when 0, as long ago as `boundary` backed-off RTOs take)
 */
export function tcpRetransmitsTimedOut(tp: TcpSock, boundary: number, timeoutMs: number, now: number): boolean {
  if (tp.retransmits === 0 || tp.firstRetransUs < 0) return false;
  const t = timeoutMs !== 0 ? timeoutMs : tcpModelTimeoutMs(boundary, TCP_RTO_MIN);
  return now - tp.firstRetransUs >= t * 1000;
}

/** Linux tcp_orphan_retries: tcp_orphan_retries, or 8 while the RTO is still short */
function tcpOrphanRetries(tcp: TcpProto, tp: TcpSock, alive: boolean): number {
  let retries = tcp.sysctl.tcp_orphan_retries;
  if (tp.softError !== 0 && !alive) retries = 0;
  if (retries === 0 && alive) retries = 8;
  return retries;
}

/** Linux tcp_write_timeout for a synchronized connection: true when it gave up */
function tcpWriteTimeout(tcp: TcpProto, tp: TcpSock, now: number): boolean {
  let retryUntil = tcp.sysctl.tcp_retries2;
  if (tp.orphan) retryUntil = tcpOrphanRetries(tcp, tp, tp.rto < TCP_RTO_MAX);
  const userMs = Math.floor(tp.userTimeout / 1000);
  if (!tcpRetransmitsTimedOut(tp, retryUntil, userMs, now)) return false;
  // Linux tcp_write_err: the soft error (an ICMP error seen meanwhile) if there is one
  tcpFail(tcp, tp, tp.softError || ERRNO.ETIMEDOUT);
  return true;
}

/** Linux tcp_clamp_rto_to_user_timeout: the next RTO never runs past TCP_USER_TIMEOUT */
function tcpClampRtoToUserTimeout(tp: TcpSock, now: number): number {
  if (tp.userTimeout === 0 || tp.firstRetransUs < 0) return tp.rto;
  const elapsedMs = Math.floor((now - tp.firstRetransUs) / 1000);
  const remainingMs = Math.floor(tp.userTimeout / 1000) - elapsedMs;
  if (remainingMs <= 0) return 1000;
  return Math.min(tp.rto, remainingMs * 1000);
}

/**
 * Linux tcp_probe_timer / tcp_send_probe0 / tcp_write_wakeup: nothing in flight but data waits
 * — send what the window allows, or, with a zero window, a probe (a bare ACK with seq =
 * snd_una − 1) with exponential backoff; give up as the file comment says
 */
function tcpProbeTimer(tcp: TcpProto, tp: TcpSock, now: number): void {
  if (tp.unsent <= 0) {
    tp.probesOut = 0;
    tp.probesTstampUs = -1;
    return;
  }
  const sched = tcp.sched;
  const wnd = (tp.sndUna + tp.sndWnd - tp.sndNxt) | 0;
  if (wnd > 0) {
    const len = Math.min(wnd, tp.mss, tp.unsent);
    const withFin = len === tp.unsent && tp.finQueued && !tp.finSent;
    tcpSendNew(tcp, tp, len, TCP_ACK | TCP_PSH, withFin);
    tp.probesOut = 0;
    tp.backoff = 0;
    tp.probesTstampUs = -1;
    sched.arm(tp.rtoTimer, now + tp.rto);
    return;
  }
  let abort = false;
  if (tp.probesTstampUs < 0) tp.probesTstampUs = now;
  else if (tp.userTimeout !== 0 && now - tp.probesTstampUs >= tp.userTimeout) abort = true;
  let maxProbes = tcp.sysctl.tcp_retries2;
  if (tp.orphan) {
    const alive = Math.min(Math.max(tp.rto, TCP_RTO_MIN) * 2 ** tp.backoff, TCP_RTO_MAX) < TCP_RTO_MAX;
    maxProbes = tcpOrphanRetries(tcp, tp, alive);
    if (!alive && tp.backoff >= maxProbes) abort = true;
  }
  if (abort || tp.probesOut >= maxProbes) {
    tcpFail(tcp, tp, tp.softError || ERRNO.ETIMEDOUT);
    return;
  }
  tp.probesOut++;
  tcpSendProbe(tcp, tp);
  if (tp.backoff < tcp.sysctl.tcp_retries2) tp.backoff++;
  let next = Math.min(Math.max(tp.rto, TCP_RTO_MIN) * 2 ** Math.min(tp.backoff, 30), TCP_RTO_MAX);
  // Linux tcp_clamp_probe0_to_user_timeout
  if (tp.userTimeout !== 0 && tp.probesTstampUs >= 0) {
    const left = tp.userTimeout - (now - tp.probesTstampUs);
    next = Math.min(next, Math.max(left, 2000));
  }
  sched.arm(tp.rtoTimer, now + next);
}
