/**
 * Tail Loss Probe (RFC 8985 §7), as Linux net/ipv4/tcp_output.c (tcp_schedule_loss_probe,
 * tcp_send_loss_probe) and tcp_input.c (tcp_process_tlp_ack).
 *
 * Contract: pure decisions on a small `TlpSock` view; the core owns the timer and the queues.
 *  - `tlpTimeoutUs` — after sending new data (advancingRto = false) or on an ACK that re-arms
 *    the timers (true): −1 when no probe may be scheduled (TLP off in `tcp_early_retrans`,
 *    nothing out, no SACK, not Open/CWR, Fast Open handshake pending), else the probe timeout
 *    PTO = 2·srtt + (rto_min when one segment is out, else 2 ms), 1 s without an RTT sample,
 *    in whole jiffies (ms, rounded up) and never later than the RTO;
 *  - `tlpProbeKind` — when the PTO fires: nothing while a probe is outstanding
 *    (`tlpHighSeq` ≠ 0), new data if the send head fits the peer's window, else a
 *    retransmission of the last segment (its last MSS only). After sending, the core sets
 *    `tlpHighSeq = snd_nxt` and `tlpRetrans` (1 for a retransmission) and re-arms the RTO;
 *  - `tlpProcessAck` — for every ACK while `tlpHighSeq` ≠ 0: tells whether the episode is
 *    over without loss (clear tlpHighSeq) or the probe repaired a loss (the core then does
 *    tcp_init_cwnd_reduction, CWR, tcp_end_cwnd_reduction, tcp_try_keep_open — see prr.ts).
 * Nothing allocates.
 */
import { CaState } from '../cong/types.js';

/** TCP_RTO_MIN (200 ms), µs */
export const TCP_RTO_MIN_US = 200_000;
/** TCP_TIMEOUT_INIT (1 s), µs */
export const TCP_TIMEOUT_INIT_US = 1_000_000;
/** TCP_TIMEOUT_MIN_US (2 ms) */
export const TLP_TIMEOUT_MIN_US = 2000;

import {
  FLAG_DSACK_TLP, FLAG_DATA_SACKED, FLAG_NOT_DUP, FLAG_SND_UNA_ADVANCED,
} from './flags.js';

/* the tcp_ack flag bits, also for TLP's callers */
export {
  FLAG_ACKED, FLAG_DATA, FLAG_DATA_ACKED, FLAG_DATA_SACKED, FLAG_DSACK_TLP, FLAG_NOT_DUP, FLAG_RETRANS_DATA_ACKED,
  FLAG_SND_UNA_ADVANCED, FLAG_SYN_ACKED, FLAG_WIN_UPDATE,
} from './flags.js';

/** the socket fields TLP reads */
export interface TlpSock {
  /** `net.ipv4.tcp_early_retrans` (3 or 4 enable TLP; Linux default 3) */
  readonly earlyRetrans: number;
  /** segments sent and not yet ACKed (`packets_out`) */
  readonly packetsOut: number;
  /** the peer does SACK */
  readonly sackOk: boolean;
  readonly caState: CaState;
  /** a Fast Open passive open has not completed its handshake (`fastopen_rsk`) */
  readonly fastopenPending: boolean;
  /** smoothed RTT, µs << 3 (0: no sample yet) */
  readonly srttUs: number;
  /** `tcp_rto_min_us` (route rto_min or TCP_RTO_MIN), µs */
  readonly rtoMinUs: number;
  /** current RTO (`icsk_rto`), µs */
  readonly rtoUs: number;
  /** µs until the pending RTO would fire (`tcp_rto_delta_us`; may be ≤ 0) */
  readonly rtoDeltaUs: number;
  /** snd_nxt when the outstanding probe was sent, 0 for none (`tlp_high_seq`) */
  readonly tlpHighSeq: number;
  /** the outstanding probe was a retransmission (`tlp_retrans`) */
  readonly tlpRetrans: boolean;
}

/** µs rounded up to whole jiffies (ms) */
function jiffiesUs(us: number): number {
  return Math.floor((us + 999) / 1000) * 1000;
}

/** Linux tcp_schedule_loss_probe's timeout, µs, or −1 when no probe may be scheduled */
export function tlpTimeoutUs(tp: TlpSock, advancingRto: boolean): number {
  if (tp.fastopenPending) return -1;
  if ((tp.earlyRetrans !== 3 && tp.earlyRetrans !== 4) || tp.packetsOut === 0 || !tp.sackOk ||
      (tp.caState !== CaState.Open && tp.caState !== CaState.CWR)) return -1;
  let timeout: number;
  if (tp.srttUs) {
    // 2·srtt, plus rto_min for the peer's delayed ACK when only one segment is out
    let us = tp.srttUs >>> 2;
    us += tp.packetsOut === 1 ? tp.rtoMinUs : TLP_TIMEOUT_MIN_US;
    timeout = jiffiesUs(us);
  } else {
    timeout = TCP_TIMEOUT_INIT_US;
  }
  const rtoDelta = advancingRto ? tp.rtoUs : tp.rtoDeltaUs;
  if (rtoDelta > 0) timeout = Math.min(timeout, jiffiesUs(rtoDelta));
  return timeout;
}

/** what the probe timer sends (tcp_send_loss_probe) */
export const enum TlpProbe {
  /** a probe is already outstanding: only re-arm the RTO */
  None = 0,
  /** send one new segment, ignoring cwnd */
  NewData = 1,
  /** retransmit the last segment of the retransmit queue (its last MSS) */
  RetransmitLast = 2,
}

/**
 * Linux tcp_send_loss_probe's choice. `sendHeadFits`: unsent data exists and its first
 * segment fits the peer's window (tcp_snd_wnd_test); `rtxQueueEmpty`: nothing to retransmit.
 */
export function tlpProbeKind(tp: TlpSock, sendHeadFits: boolean, rtxQueueEmpty: boolean): TlpProbe {
  if (tp.tlpHighSeq !== 0) return TlpProbe.None;
  if (sendHeadFits) return TlpProbe.NewData;
  if (rtxQueueEmpty) return TlpProbe.None;
  return TlpProbe.RetransmitLast;
}

/** outcome of an ACK for an outstanding probe */
export const enum TlpAck {
  /** nothing decided yet */
  Pending = 0,
  /** episode over, no loss: clear tlpHighSeq */
  NoLoss = 1,
  /** the probe repaired a loss: reduce cwnd (CWR) — the reduction also clears tlpHighSeq */
  Loss = 2,
}

/** Linux after(a, b) on u32 */
function after(a: number, b: number): boolean {
  return ((b - a) | 0) < 0;
}

/**
 * Linux tcp_process_tlp_ack for an ACK of `ack` with tcp_ack `flag` bits (FLAG_* above;
 * FLAG_DSACK_TLP: a DSACK of exactly the probe).
 */
export function tlpProcessAck(tp: TlpSock, ack: number, flag: number): TlpAck {
  if (tp.tlpHighSeq === 0 || ((ack - tp.tlpHighSeq) | 0) < 0) return TlpAck.Pending;
  // a probe of new data was ACKed; or original and probe both arrived (DSACK)
  if (!tp.tlpRetrans || (flag & FLAG_DSACK_TLP)) return TlpAck.NoLoss;
  if (after(ack, tp.tlpHighSeq)) return TlpAck.Loss;
  // a pure duplicate ACK: original and probe both arrived
  if (!(flag & (FLAG_SND_UNA_ADVANCED | FLAG_NOT_DUP | FLAG_DATA_SACKED))) return TlpAck.NoLoss;
  return TlpAck.Pending;
}
