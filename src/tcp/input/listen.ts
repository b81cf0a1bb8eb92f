/**
 * The passive open (Linux tcp_v4_conn_request / tcp_conn_request and tcp_check_req): a SYN on a
 * LISTEN socket creates a SYN_RECV child (it stands in for Linux's request socket: hashed in the
 * established table, counted in the listener's SYN queue) and answers with a SYN-ACK; segments
 * for that child before the handshake completes go through `tcpCheckReq`. The ISN is chosen in
 * conn.ts (`tcpChooseIsn`, called by `tcpInitConnection`).
 */
import { isLinkLocal, isMulticast as isMulticastAddr, isUnspecified, isV4 } from '../../inet/index.js';
import type { RxMeta } from '../../net/index.js';
import { skbFree, type SkBuff } from '../../skb/index.js';
import { seqGt, seqLt } from '../../wire/seq.js';
import { TCP_ACK, TCP_RST, TCP_SYN } from '../../wire/tcp.js';
import { TCP_MAX_WINDOW, TCP_SYN_RECV } from '../constants.js';
import { tcpApplySynOptions, tcpCreateChild, tcpDone } from '../conn.js';
import { tcpEcnCreateRequest } from '../ecn.js';
import { tcpSendAck, tcpSendResetFor, tcpSendResetForSeg, tcpSendSyn } from '../output/control.js';
import type { TcpProto } from '../proto.js';
import { segOowRateLimited } from '../ratelimit.js';
import { TcpSock } from '../sock.js';
import { tcpCookieCheck, tcpSendCookieSynAck, wantCookie } from './cookie-req.js';

/** a segment for a LISTEN socket; takes the skb */
export function tcpListenRcv(
  tcp: TcpProto, lp: TcpSock, skb: SkBuff, meta: RxMeta, sport: number, dport: number, seq: number, ack: number,
  flags: number, win: number,
): void {
  const src = meta.src;
  const dst = meta.dst;
  if (flags & TCP_RST) return skbFree(skb);
  if (flags & TCP_ACK) {
    // no request socket for it (we keep SYN_RECV children in the hash): a SYN cookie, or reset
    if (tcpCookieCheck(tcp, lp, skb, meta, sport, dport, seq, ack, flags, win)) return;
    tcpSendResetFor(tcp, src, dst, sport, dport, seq, ack, flags, skb.len, skb);
    return;
  }
  if (!(flags & TCP_SYN)) return skbFree(skb);
  // never answer a SYN from a multicast / unspecified source (Linux tcp_v4_conn_request)
  if (isUnspecified(src) || isMulticastAddr(src)) return skbFree(skb);
  // a full SYN queue drops the SYN unless SYN cookies answer it; a full accept queue always does
  const cookie = wantCookie(tcp, lp);
  if (lp.acceptQueue.length >= lp.backlog || (!cookie && lp.acceptQueue.length + lp.synQueueLen >= lp.backlog)) {
    tcp.stats.listenDrops++;
    return skbFree(skb);
  }
  const v4 = isV4(src);
  const oif = !v4 && isLinkLocal(src) && meta.dev !== null ? meta.dev.ifindex : 0;
  const rt = oif !== 0 ? tcp.ip.route(src, oif) : tcp.ip.route(src);
  if (rt === null) return skbFree(skb);
  if (cookie) {
    tcpSendCookieSynAck(tcp, lp, meta, sport, dport, seq, rt, flags);
    return skbFree(skb);
  }
  // an AF_INET6 listener accepts IPv4 (v4-mapped) children unless v6only (demux checked it)
  const child = tcpCreateChild(tcp, lp, src, dst, sport, oif, rt);
  tcpApplySynOptions(tcp, child, tcp.opts);
  tcpEcnCreateRequest(tcp, child, flags, meta.tos);
  child.irs = seq;
  child.rcvNxt = (seq + 1) | 0;
  child.copiedSeq = child.rcvNxt;
  child.rcvWup = child.rcvNxt;
  child.sndWnd = win;
  child.sndWl1 = seq;
  child.sndWl2 = child.iss;
  child.state = TCP_SYN_RECV;
  lp.synQueueLen++;
  tcp.ports.inherit(child, dport);
  child.portHeld = true;
  tcp.demux.insert(child);
  tcp.stats.passiveOpens++;
  skbFree(skb);
  tcpSendSyn(tcp, child, true);
}

/**
 * Linux tcp_check_req: a segment for a passive open whose SYN-ACK is unanswered (the SYN_RECV
 * child stands in for the request socket). A retransmitted SYN gets the SYN-ACK again; an ACK
 * of anything but our SYN-ACK is reset (for the listener); an out-of-window segment gets an
 * ACK; a RST or SYN in the window drops the request (a SYN answered with RST). All answers
 * but the RSTs are rate limited. true: an acceptable ACK, the handshake completes; false: the
 * skb was consumed.
 */
export function tcpCheckReq(
  tcp: TcpProto, tp: TcpSock, skb: SkBuff, seq: number, ack: number, flags: number, segLen: number,
): boolean {
  let flg = flags & (TCP_RST | TCP_SYN | TCP_ACK);
  const now = tcp.sched.now();
  if (seq === tp.irs && flg === TCP_SYN) {
    skbFree(skb);
    if (segOowRateLimited(tp, now, tcp.invalidRatelimit, segLen, true)) tcp.stats.ackSkippedSynRecv++;
    else tcpSendSyn(tcp, tp, true);
    return false;
  }
  if (flg & TCP_ACK && ack !== ((tp.iss + 1) | 0)) {
    tcpSendResetForSeg(tcp, tp, seq, ack, flags, skb.len, skb);
    return false;
  }
  // Linux tcp_in_window over the window our SYN-ACK offered
  const left = tp.rcvNxt;
  const right = (left + Math.min(tp.rcvWnd, TCP_MAX_WINDOW)) | 0;
  const endSeq = (seq + segLen) | 0;
  if (!(seq === left || (seqGt(endSeq, left) && seqLt(seq, right)) || (seq === right && seq === endSeq))) {
    skbFree(skb);
    if (!(flg & TCP_RST)) {
      if (segOowRateLimited(tp, now, tcp.invalidRatelimit, segLen, (flg & TCP_SYN) !== 0)) tcp.stats.ackSkippedSynRecv++;
      else tcpSendAck(tcp, tp);
    }
    return false;
  }
  // a SYN at the initial sequence is the one we have
  if (seq === tp.irs) flg &= ~TCP_SYN;
  if (flg & (TCP_RST | TCP_SYN)) {
    // embryonic reset: the request goes; a SYN is answered with RST
    if (flg & TCP_SYN) tcp.stats.attemptFails++;
    tcp.stats.embryonicRsts++;
    if (!(flg & TCP_RST)) tcpSendResetForSeg(tcp, tp, seq, ack, flags, skb.len, skb);
    else skbFree(skb);
    tp.orphan = true;
    tcpDone(tcp, tp);
    return false;
  }
  if (!(flg & TCP_ACK)) {
    skbFree(skb);
    return false;
  }
  return true;
}

