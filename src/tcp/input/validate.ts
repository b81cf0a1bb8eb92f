/**
 * The one validation step for synchronized states (Linux tcp_validate_incoming; RFC 9293
 * §3.10.7.4 first to fourth checks with RFC 5961): PAWS (RFC 7323 §5, Linux tcp_paws_discard
 * with tcp_disordered_ack_check), sequence acceptability, RST, SYN; and the answers to invalid
 * segments, each bounded by Linux's rate limits (ratelimit.ts): duplicate ACKs for PAWS-rejected
 * and out-of-window segments, challenge ACKs for RSTs not at rcv_nxt and for SYNs. Also the
 * ts_recent rules shared with the ACK step (`tcpPawsCheck`, `tcpReplaceTsRecent`).
 *
 * Like Linux, a forged segment that passes every check (in window, at or before rcv_wup,
 * acceptable ACK) with a TSval far ahead of the peer's clock moves ts_recent, and PAWS then
 * drops the peer's real segments until ts_recent is TCP_PAWS_WRAP old: RFC 7323 offers no
 * defence (TSecr is not checked on synchronized connections); the answers stay rate limited.
 */
import { skbFree, type SkBuff } from '../../skb/index.js';
import { ERRNO } from '../../uapi/index.js';
import { seqGe, seqGt, seqLe, seqLt } from '../../wire/seq.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../../wire/tcp.js';
import { TCP_CLOSE_WAIT, TCP_CLOSING, TCP_ESTABLISHED, TCP_LAST_ACK, TCP_SYN_RECV } from '../constants.js';
import { tcpFail } from '../conn.js';
import { tcpSendAck } from '../output/control.js';
import type { TcpProto } from '../proto.js';
import { oowRateLimited, segOowRateLimited } from '../ratelimit.js';
import type { TcpSock } from '../sock.js';
import { tcpDsackSet } from './sack-blocks.js';

/**
 * Linux TCP_PAWS_WRAP (INT_MAX / USEC_PER_SEC seconds, about 35.8 minutes; it replaced the 24
 * days of RFC 7323 §5.5 when microsecond TS clocks came): a ts_recent this old no longer
 * rejects anything, µs
 */
export const TCP_PAWS_WRAP_US = Math.floor(0x7fffffff / 1_000_000) * 1_000_000;
/** Linux TCP_PAWS_WINDOW: the replay window of tcp_paws_discard, in TS ticks */
const TCP_PAWS_WINDOW = 1;
/** PAWS verdicts of `tcpPawsReject` */
const PAWS_OK = 0;
/** an old duplicate: counted, answered with a (rate-limited) duplicate ACK */
const PAWS_REJECT = 1;
/** an old pure ACK before rcv_nxt (SKB_DROP_REASON_TCP_RFC7323_PAWS_ACK): dropped silently */
const PAWS_OLD_ACK = 2;

export function tcpValidateIncoming(
  tcp: TcpProto, tp: TcpSock, skb: SkBuff, seq: number, flags: number, segLen: number, ack: number, win: number,
): boolean {
  const endSeq = (seq + segLen) | 0;
  // RFC 7323 §5 PAWS: a timestamp older than ts_recent marks an old duplicate (a RST is still
  // looked at; a SYN gets the challenge ACK below)
  if (tp.tsOk && !(flags & (TCP_RST | TCP_SYN))) {
    const o = tcp.opts;
    const v = o.hasTimestamp ? tcpPawsReject(tcp, tp, o.tsVal, seq, ack, win, segLen, flags) : PAWS_OK;
    if (v !== PAWS_OK) {
      skbFree(skb);
      if (v === PAWS_OLD_ACK) return false;
      tcp.stats.pawsEstabRejected++;
      if (segOowRateLimited(tp, tcp.sched.now(), tcp.invalidRatelimit, segLen, false)) tcp.stats.ackSkippedPaws++;
      else tcpSendDupAck(tcp, tp, seq, endSeq);
      return false;
    }
  }
  // Linux tcp_sequence (6.17+): end_seq not before rcv_wup, seq not past the window, and a
  // segment that ends past the window only while nothing waits in the receive queue (a FIN
  // alone may stick out)
  const wnd = (tp.rcvWup + tp.rcvWnd - tp.rcvNxt) | 0;
  const limit = (tp.rcvNxt + (wnd > 0 ? wnd : 0)) | 0;
  const inWindow = seqGe(endSeq, tp.rcvWup) && seqLe(seq, limit) &&
    (seqLe(endSeq, limit) || seqLe((endSeq - (flags & TCP_FIN ? 1 : 0)) | 0, limit) || tp.rcvHead === null);
  if (!inWindow) {
    tp.stats.dupSegsIn++;
    skbFree(skb);
    if (!(flags & TCP_RST)) {
      if (flags & TCP_SYN) {
        tcp.stats.synChallenge++;
        tcpSendChallengeAck(tcp, tp);
      } else if (segOowRateLimited(tp, tcp.sched.now(), tcp.invalidRatelimit, segLen, false)) {
        tcp.stats.ackSkippedSeq++;
      } else {
        tcpSendDupAck(tcp, tp, seq, endSeq);
      }
    } else if (resetCheck(tp, seq)) {
      tcpReset(tcp, tp);
    }
    return false;
  }
  if (flags & TCP_RST) {
    skbFree(skb);
    if (seq === tp.rcvNxt || resetCheck(tp, seq)) tcpReset(tcp, tp);
    else tcpSendChallengeAck(tcp, tp); // RFC 5961 §3.2
    return false;
  }
  if (flags & TCP_SYN) {
    // RFC 5961 §4.2
    skbFree(skb);
    tcp.stats.synChallenge++;
    tcpSendChallengeAck(tcp, tp);
    return false;
  }
  return true;
}

/**
 * Linux tcp_paws_check: a TSval not older than ts_recent by more than `win` ticks passes, and so
 * does any TSval once ts_recent is stale (TCP_PAWS_WRAP) or unset (0: some peers send TSval 0
 * on the SYN, RFC 7323 §5.5 leaves it open)
 */
export function tcpPawsCheck(tcp: TcpProto, tp: TcpSock, tsVal: number, win: number): boolean {
  if (((tp.tsRecent - tsVal) | 0) <= win) return true;
  if (tp.tsRecentStamp < 0 || tcp.sched.now() - tp.tsRecentStamp >= TCP_PAWS_WRAP_US) return true;
  return tp.tsRecent === 0;
}

/**
 * Linux tcp_replace_ts_recent (called by the ACK step once the segment was found acceptable):
 * a segment at or before the left edge of the window we last advertised (seq ≤ rcv_wup)
 * carrying a TSval that passes `tcpPawsCheck` with no replay slack becomes ts_recent
 */
export function tcpReplaceTsRecent(tcp: TcpProto, tp: TcpSock, seq: number, tsVal: number): void {
  if (!seqGt(seq, tp.rcvWup) && tcpPawsCheck(tcp, tp, tsVal, 0)) {
    tp.tsRecent = tsVal;
    tp.tsRecentStamp = tcp.sched.now();
  }
}

/**
 * Linux tcp_paws_discard + tcp_disordered_ack_check: a TSval older than ts_recent (beyond the
 * one-tick replay window) marks an old duplicate — unless the segment is a pure duplicate ACK at
 * rcv_nxt that does not update the window and whose TSval is within the RTO-sized replay window
 * (tcp_tsval_replay: 1.2 TS ticks per ms of RTO), which reordering explains. A pure ACK before
 * rcv_nxt is an old ACK: dropped without a count or an answer.
 */
function tcpPawsReject(tcp: TcpProto, tp: TcpSock, tsVal: number, seq: number, ack: number, win: number, segLen: number, flags: number): number {
  if (tcpPawsCheck(tcp, tp, tsVal, TCP_PAWS_WINDOW)) return PAWS_OK;
  // 1. not a pure ACK
  if (!(flags & TCP_ACK) || segLen !== 0) return PAWS_REJECT;
  // 2. not at rcv_nxt
  if (seq !== tp.rcvNxt) return seqLt(seq, tp.rcvNxt) ? PAWS_OLD_ACK : PAWS_REJECT;
  // 3. not a duplicate ACK
  if (ack !== tp.sndUna) return PAWS_REJECT;
  // 4. it would update the window (Linux tcp_may_update_window)
  const nwin = win << tp.sndWscale;
  if (seqGt(seq, tp.sndWl1) || (seq === tp.sndWl1 && (nwin > tp.sndWnd || nwin === 0))) return PAWS_REJECT;
  // 5. outside the replay window
  if (((tp.tsRecent - tsVal) | 0) > Math.floor((tp.rto * 1200) / 1_000_000)) return PAWS_REJECT;
  return PAWS_OK;
}

/** Linux tcp_send_dupack: an ACK now, with a DSACK block for an old duplicate's data */
function tcpSendDupAck(tcp: TcpProto, tp: TcpSock, seq: number, endSeq: number): void {
  if (seq !== endSeq && seqLt(endSeq, tp.rcvNxt) && tp.sackOk) tcpDsackSet(tcp, tp, seq, endSeq);
  tcpSendAck(tcp, tp);
}

/**
 * Linux tcp_reset_check: after the peer's FIN (CLOSE_WAIT, LAST_ACK, CLOSING) a RST may carry
 * the FIN's sequence number (rcv_nxt − 1)
 */
function resetCheck(tp: TcpSock, seq: number): boolean {
  const st = tp.state;
  return seq === ((tp.rcvNxt - 1) | 0) && (st === TCP_CLOSE_WAIT || st === TCP_LAST_ACK || st === TCP_CLOSING);
}

/** Linux tcp_reset: the peer reset the connection */
export function tcpReset(tcp: TcpProto, tp: TcpSock): void {
  if (tp.state === TCP_ESTABLISHED || tp.state === TCP_CLOSE_WAIT) tcp.stats.estabResets++;
  tcpFail(tcp, tp, tp.state === TCP_SYN_RECV ? ERRNO.ECONNREFUSED : tp.state === TCP_CLOSE_WAIT ? ERRNO.EPIPE : ERRNO.ECONNRESET);
}

/**
 * Linux tcp_send_challenge_ack (RFC 5961 §7): an ACK with our current sequence numbers, at
 * most one per `invalidRatelimit` per socket and within the host's per-second budget
 */
export function tcpSendChallengeAck(tcp: TcpProto, tp: TcpSock): void {
  const now = tcp.sched.now();
  if (oowRateLimited(tp, now, tcp.invalidRatelimit)) {
    tcp.stats.ackSkippedChallenge++;
    return;
  }
  if (!tcp.challengeAcks.take(now)) return;
  tcp.stats.challengeAck++;
  tcpSendAck(tcp, tp);
}
