/**
 * The one validation step for synchronized states (Linux tcp_validate_incoming; RFC 9293
 * §3.10.7.4 first to fourth checks with RFC 5961): sequence acceptability, RST, SYN; and the
 * answers to invalid segments, each bounded by Linux's rate limits (ratelimit.ts): duplicate
 * ACKs for out-of-window segments, challenge ACKs for RSTs not at rcv_nxt and for SYNs.
 */
import { skbFree, type SkBuff } from '../../skb/index.js';
import { ERRNO } from '../../uapi/index.js';
import { seqGe, seqLe, seqLt } from '../../wire/seq.js';
import { TCP_FIN, TCP_RST, TCP_SYN } from '../../wire/tcp.js';
import { TCP_CLOSE_WAIT, TCP_CLOSING, TCP_ESTABLISHED, TCP_LAST_ACK, TCP_SYN_RECV } from '../constants.js';
import { tcpFail } from '../conn.js';
import { tcpSendAck } from '../output/control.js';
import type { TcpProto } from '../proto.js';
import { oowRateLimited, segOowRateLimited } from '../ratelimit.js';
import type { TcpSock } from '../sock.js';
import { tcpDsackSet } from './sack-blocks.js';

/**
 * The sequence number must fall in the receive window (else a duplicate ACK, at most one per
 * `invalidRatelimit` unless the segment carries data), a RST must sit exactly at rcv_nxt (else
 * a challenge ACK), a SYN gets a challenge ACK. true: go on with the ACK field; false: the skb
 * was consumed.
 */
export function tcpValidateIncoming(tcp: TcpProto, tp: TcpSock, skb: SkBuff, seq: number, flags: number, segLen: number): boolean {
  const endSeq = (seq + segLen) | 0;
  // RFC 7323 §5 PAWS: a timestamp older than ts_recent marks an old duplicate (a RST is still
  // looked at; a SYN gets the challenge ACK below)
  if (tp.tsOk && !(flags & (TCP_RST | TCP_SYN))) {
    const o = tcp.opts;
    if (o.hasTimestamp && tcpPawsDiscard(tcp, tp, o.tsVal, seq, skb.len, flags)) {
      tcp.stats.pawsEstabRejected++;
      skbFree(skb);
      if (segOowRateLimited(tp, tcp.sched.now(), tcp.invalidRatelimit, segLen, false)) tcp.stats.ackSkippedPaws++;
      else tcpSendDupAck(tcp, tp, seq, endSeq);
      return false;
    }
  }
  // Linux tcp_sequence: end_seq not before rcv_wup, seq not past the window
  const wnd = (tp.rcvWup + tp.rcvWnd - tp.rcvNxt) | 0;
  const inWindow = seqGe(endSeq, tp.rcvWup) && seqLe(seq, (tp.rcvNxt + (wnd > 0 ? wnd : 0)) | 0);
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

/** the 24 days after which ts_recent no longer counts (RFC 7323 §5.5), µs */
const TCP_PAWS_24DAYS = 24 * 86_400 * 1_000_000;

/**
 * Linux tcp_paws_discard: TSval older than ts_recent by more than one tick, unless ts_recent
 * is stale (24 days) or unset, or the segment is a disordered pure duplicate ACK
 * (tcp_disordered_ack, simplified: no data, seq = rcv_nxt)
 */
function tcpPawsDiscard(tcp: TcpProto, tp: TcpSock, tsVal: number, seq: number, dataLen: number, flags: number): boolean {
  if (((tp.tsRecent - tsVal) | 0) <= 1) return false;
  if (tp.tsRecentStamp < 0 || tcp.sched.now() - tp.tsRecentStamp >= TCP_PAWS_24DAYS) return false;
  if (tp.tsRecent === 0) return false;
  if (dataLen === 0 && !(flags & TCP_FIN) && seq === tp.rcvNxt) return false;
  return true;
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
