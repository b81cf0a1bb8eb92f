/**
 * RACK loss detection (RFC 8985), as Linux net/ipv4/tcp_recovery.c.
 *
 * A segment is lost once a segment sent after it has been (S)ACKed and more than the latest
 * RTT plus a reordering window has passed since it was sent.
 *
 * Contract — what the TCP core provides:
 *  - `RackSegment`: its sent-segment record viewed as { endSeq, xmitUs (last (re)transmission,
 *    µs), sacked (Linux TCPCB_* bits, values below) };
 *  - `RackSentQueue`: Linux's `tsorted_sent_queue`, the records not yet ACKed or SACKed in
 *    order of their last transmission (a retransmitted record moves to the tail; a SACKed one
 *    leaves it), walked with `tsortedFirst`/`tsortedNext` (no iterator objects), and
 *    `markLost` (Linux tcp_mark_skb_lost + taking it out of that list). `rackDetectLoss` reads
 *    the next record before marking one lost;
 *  - `RackSock`: the few socket fields RACK reads.
 * The core calls `rackAdvance` for each newly (S)ACKed record (tcp_sacktag_one /
 * tcp_clean_rtx_queue), `rackMarkLost` from loss detection (tcp_identify_packet_loss) and arms
 * the reordering timer it returns, `rackDetectLoss` when that timer fires (tcp_rack_reo_timeout,
 * then it enters Recovery itself if in-flight changed), `rackUpdateReoWnd` once per ACK with
 * the rate sample's prior_delivered, and sets `dsackSeen` on a DSACK (tcp_dsack_seen).
 * Nothing allocates.
 */
import { CaState } from '../cong/types.js';

/** Linux TCPCB_* bits of the `sacked` byte */
export const TCPCB_SACKED_ACKED = 0x01;
/** retransmitted and not yet known to be delivered */
export const TCPCB_SACKED_RETRANS = 0x02;
export const TCPCB_LOST = 0x04;
export const TCPCB_EVER_RETRANS = 0x80;
export const TCPCB_RETRANS = TCPCB_SACKED_RETRANS | TCPCB_EVER_RETRANS;

/** `net.ipv4.tcp_recovery` bits */
export const TCP_RACK_LOSS_DETECTION = 0x1;
export const TCP_RACK_STATIC_REO_WND = 0x2;
export const TCP_RACK_NO_DUPTHRESH = 0x4;
/** recoveries an enlarged reordering window persists for (TCP_RACK_RECOVERY_THRESH) */
export const TCP_RACK_RECOVERY_THRESH = 16;
/** TCP_TIMEOUT_MIN_US: added to the reordering timer (2 ms) */
export const TCP_TIMEOUT_MIN_US = 2000;

/** a sent-segment record as RACK sees it */
export interface RackSegment {
  /** sequence number after the segment */
  readonly endSeq: number;
  /** time of its last (re)transmission, µs */
  readonly xmitUs: number;
  /** TCPCB_* bits */
  readonly sacked: number;
  /**
   * transmission order (increasing with every (re)transmission; pieces of one transmission
   * share it): breaks ties between equal `xmitUs` — Linux's nanosecond stamps never tie, a
   * µs virtual clock does. Absent: ties fall back to sequence order as in Linux.
   */
  readonly xmitOrder?: number;
}

/** Linux tsorted_sent_queue, walked without allocating */
export interface RackSentQueue<S extends RackSegment> {
  /** the record sent longest ago still in the list, or null */
  tsortedFirst(): S | null;
  /** the record sent after `s`, or null */
  tsortedNext(s: S): S | null;
  /** Linux tcp_mark_skb_lost (sets TCPCB_LOST, counts lost_out / tp->lost) and removes `s`
   *  from the time-sorted list until it is retransmitted */
  markLost(s: S): void;
}

/** socket fields RACK reads */
export interface RackSock {
  /** `tcp_mstamp`, µs */
  readonly nowUs: number;
  /** windowed minimum RTT, µs (0xffffffff before the first sample) */
  readonly minRttUs: number;
  /** smoothed RTT, µs << 3 (0 before the first sample) */
  readonly srttUs: number;
  /** reordering was ever observed (`tp->reord_seen` non-zero) */
  readonly reordSeen: boolean;
  readonly caState: CaState;
  /** SACKed segments (`sacked_out`) */
  readonly sackedOut: number;
  /** reordering degree (`tp->reordering`, net.ipv4.tcp_reordering: 3) */
  readonly reordering: number;
  /** `net.ipv4.tcp_recovery` (TCP_RACK_* bits; Linux default 1) */
  readonly sysctlRecovery: number;
  /** segments delivered so far (`tp->delivered`) */
  readonly delivered: number;
}

/** Linux `tp->rack` */
export class RackState {
  /** transmit time of the most recently (re)sent segment (S)ACKed, µs; −1 before any (Linux
   *  starts at 0 with a clock that is never 0; virtual time starts at 0, so a segment sent at
   *  time 0 must still count as later than "none") */
  mstamp = -1;
  /** RTT of that segment, µs */
  rttUs = 0;
  /** its end_seq (tie-break among equal times) */
  endSeq = 0;
  /** its transmission order (RackSegment.xmitOrder; the first tie-break) */
  order = 0;
  /** tp->delivered when reoWndSteps last changed */
  lastDelivered = 0;
  /** reordering window in units of min_rtt/4 */
  reoWndSteps = 1;
  /** recoveries left before the window falls back to one step */
  reoWndPersist = 0;
  /** a DSACK arrived since the last window update */
  dsackSeen = false;
  /** mstamp advanced since the last detection: the queue needs a scan */
  advanced = false;

  /** back to a new connection's state */
  reset(): void {
    this.mstamp = -1;
    this.rttUs = 0;
    this.endSeq = 0;
    this.order = 0;
    this.lastDelivered = 0;
    this.reoWndSteps = 1;
    this.reoWndPersist = 0;
    this.dsackSeen = false;
    this.advanced = false;
  }
}

/** Linux after() on u32 sequence numbers */
function after(a: number, b: number): boolean {
  return ((b - a) | 0) < 0;
}

/**
 * Linux tcp_skb_sent_after: t1/seq1 sent after t2/seq2 (equal times: the later transmission
 * order `o1` vs `o2`, then the higher sequence)
 */
export function tcpSkbSentAfter(t1: number, t2: number, seq1: number, seq2: number, o1 = 0, o2 = 0): boolean {
  return t1 > t2 || (t1 === t2 && (o1 > o2 || (o1 === o2 && after(seq1, seq2))));
}

/** Linux tcp_stamp_us_delta: t1 − t0, never negative */
function stampDelta(t1: number, t0: number): number {
  return Math.max(t1 - t0, 0);
}

/**
 * Linux tcp_rack_reo_wnd, µs: 0 while no reordering was seen and either in Recovery or
 * dupthresh (sacked ≥ reordering) already says loss; else min_rtt/4 × steps, at most srtt.
 */
export function rackReoWnd(rack: RackState, tp: RackSock): number {
  if (!tp.reordSeen) {
    if (tp.caState >= CaState.Recovery) return 0;
    if (tp.sackedOut >= tp.reordering && !(tp.sysctlRecovery & TCP_RACK_NO_DUPTHRESH)) return 0;
  }
  const wnd = Math.imul(tp.minRttUs >>> 2, rack.reoWndSteps) >>> 0;
  return Math.min(wnd, tp.srttUs >>> 3);
}

/** Linux tcp_rack_skb_timeout: µs left before `s` counts as lost (≤ 0: lost now) */
export function rackSkbTimeout(rack: RackState, tp: RackSock, s: RackSegment, reoWnd: number): number {
  return (rack.rttUs + reoWnd - stampDelta(tp.nowUs, s.xmitUs)) | 0;
}

/**
 * Linux tcp_rack_detect_loss: marks lost every record sent before the RACK reference whose
 * time is up; returns the longest wait (µs) among those not yet expired, 0 if none.
 */
export function rackDetectLoss<S extends RackSegment>(rack: RackState, tp: RackSock, q: RackSentQueue<S>): number {
  let reoTimeout = 0;
  const reoWnd = rackReoWnd(rack, tp);
  let s = q.tsortedFirst();
  while (s !== null) {
    const next = q.tsortedNext(s);
    const sacked = s.sacked;
    // skip records marked lost but not yet retransmitted
    if (!((sacked & TCPCB_LOST) && !(sacked & TCPCB_SACKED_RETRANS))) {
      if (!tcpSkbSentAfter(rack.mstamp, s.xmitUs, rack.endSeq, s.endSeq, rack.order, s.xmitOrder ?? 0)) break;
      const remaining = rackSkbTimeout(rack, tp, s, reoWnd);
      if (remaining <= 0) q.markLost(s);
      else if (remaining > reoTimeout) reoTimeout = remaining;
    }
    s = next;
  }
  return reoTimeout;
}

/**
 * Linux tcp_rack_mark_lost: when the reference advanced, detects losses and returns the
 * reordering timer to arm (ICSK_TIME_REO_TIMEOUT), in µs: ⌈(wait + 2 ms) / 1 ms⌉ ms, at most
 * `rtoUs`; 0 when no timer is needed (or nothing advanced).
 */
export function rackMarkLost<S extends RackSegment>(rack: RackState, tp: RackSock, q: RackSentQueue<S>, rtoUs: number): number {
  if (!rack.advanced) return 0;
  rack.advanced = false;
  const timeout = rackDetectLoss(rack, tp, q);
  if (timeout === 0) return 0;
  const ms = Math.floor((timeout + TCP_TIMEOUT_MIN_US + 999) / 1000);
  return Math.min(ms * 1000, rtoUs);
}

/**
 * Linux tcp_rack_advance: a record with TCPCB_* bits `sacked`, `endSeq` and last transmit time
 * `xmitUs` was just (S)ACKed. A retransmitted record whose RTT is below min_rtt is ambiguous
 * (the original may have been ACKed) and ignored.
 */
export function rackAdvance(
  rack: RackState, tp: RackSock, sacked: number, endSeq: number, xmitUs: number, order = 0,
): void {
  const rttUs = stampDelta(tp.nowUs, xmitUs);
  if (rttUs < (tp.minRttUs >>> 0) && (sacked & TCPCB_RETRANS)) return;
  rack.advanced = true;
  rack.rttUs = rttUs;
  if (tcpSkbSentAfter(xmitUs, rack.mstamp, endSeq, rack.endSeq, order, rack.order)) {
    rack.mstamp = xmitUs;
    rack.endSeq = endSeq;
    rack.order = order;
  }
}

/**
 * Linux tcp_rack_update_reo_wnd: once per ACK with the rate sample's `priorDelivered`. A DSACK
 * (at most one per RTT) widens the window by a step (up to 255) and keeps it for
 * TCP_RACK_RECOVERY_THRESH recoveries; afterwards it falls back to one step.
 */
export function rackUpdateReoWnd(rack: RackState, tp: RackSock, priorDelivered: number): void {
  if ((tp.sysctlRecovery & TCP_RACK_STATIC_REO_WND) || !priorDelivered) return;
  // ignore a DSACK if an RTT has not passed since the last adjustment
  if (((priorDelivered - rack.lastDelivered) | 0) < 0) rack.dsackSeen = false;
  if (rack.dsackSeen) {
    rack.reoWndSteps = Math.min(0xff, rack.reoWndSteps + 1);
    rack.dsackSeen = false;
    rack.lastDelivered = tp.delivered;
    rack.reoWndPersist = TCP_RACK_RECOVERY_THRESH;
  } else if (!rack.reoWndPersist) {
    rack.reoWndSteps = 1;
  }
}
