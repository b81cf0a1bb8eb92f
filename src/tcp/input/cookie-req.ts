/**
 * SYN cookies on the listen path (Linux tcp_conn_request's `want_cookie` branch and
 * cookie_v4_check / cookie_v6_check): with `tcp_syncookies` on and the SYN queue full, a SYN is
 * answered with a SYN-ACK whose sequence number is a cookie (src/tcp/syncookies.ts) and nothing
 * is kept; an ACK that finds no request on a listener whose queue overflowed in the last two
 * minutes is checked as a cookie ACK and, when valid, becomes a child socket exactly as a
 * completed handshake would (SYN_RECV child handed the ACK). With timestamps the SYN-ACK's TSval
 * carries wscale / SACK in its low bits; without them the connection has neither (Linux
 * tcp_clear_options). Counters: SyncookiesSent / SyncookiesRecv / SyncookiesFailed.
 * Allocation-free except for the child socket itself.
 */
import { isLinkLocal, isV4 } from '../../inet/index.js';
import type { Route, RxMeta } from '../../net/index.js';
import type { SkBuff } from '../../skb/index.js';
import { TCP_ACK, TCP_ECE, TCP_SYN, TcpOptions } from '../../wire/tcp.js';
import { MAX_TCP_HEADER, TCP_DEFAULT_MSS, TCP_MAX_WINDOW, TCP_SYN_RECV } from '../constants.js';
import { tcpApplySynOptions, tcpCreateChild, tcpSelectInitialWscale } from '../conn.js';
import { TCP_ECN_OK, tcpEcnRequestOk } from '../ecn.js';
import { TCP_HDR4, TCP_HDR6 } from '../icmp-err.js';
import { secureTcpTsOff } from '../isn.js';
import { tcpBuildAndSend } from '../output/builder.js';
import type { TcpProto } from '../proto.js';
import { TcpSock } from '../sock.js';
import { CookieTsOptions, cookieInitTimestamp, cookieTimestampDecode, synqNoRecentOverflow, synqOverflow } from '../syncookies.js';
import { tcpRcvStateProcess } from './established.js';

const synAckOpts = new TcpOptions();
const childOpts = new TcpOptions();
const tsDecoded = new CookieTsOptions();

/** `tcp_syncookies`: 0 off, 1 when the SYN queue is full, 2 always */
export function wantCookie(tcp: TcpProto, lp: TcpSock): boolean {
  const mode = tcp.sysctl.tcp_syncookies;
  return mode === 2 || (mode === 1 && lp.acceptQueue.length + lp.synQueueLen >= lp.backlog);
}

/**
 * Answers a SYN (its options in `tcp.opts`) on listener `lp` with a cookie SYN-ACK and keeps
 * nothing. `rt` is the route back to the peer. The caller frees the SYN.
 */
export function tcpSendCookieSynAck(
  tcp: TcpProto, lp: TcpSock, meta: RxMeta, sport: number, dport: number, seq: number, rt: Route, synFlags: number,
): void {
  const now = tcp.sched.now();
  const src = meta.src;
  const dst = meta.dst;
  lp.synqOverflowUs = synqOverflow(lp.synqOverflowUs, now);
  const peer = tcp.opts;
  const sys = tcp.sysctl;
  let peerMss = peer.mss > 0 ? peer.mss : TCP_DEFAULT_MSS;
  if (lp.userMss > 0 && lp.userMss < peerMss) peerMss = lp.userMss;
  const cookie = tcp.synCookies.initSequence(src, dst, sport, dport, seq, peerMss, now);
  const skb = tcp.skbs.alloc(MAX_TCP_HEADER, MAX_TCP_HEADER);
  if (skb === null) return;
  tcp.stats.syncookiesSent++;
  const o = synAckOpts;
  o.reset();
  let advMss = Math.max(rt.mtu - (isV4(src) ? TCP_HDR4 : TCP_HDR6), 88);
  if (lp.userMss > 0 && lp.userMss < advMss) advMss = lp.userMss;
  o.mss = advMss;
  // Linux tcp_ecn_create_request runs before the cookie decision: the SYN-ACK agrees to ECN as
  // for a request socket, and the TS cookie remembers it (without timestamps it is forgotten)
  const ecnOk = tcpEcnRequestOk(tcp, synFlags, meta.tos);
  if (peer.hasTimestamp && sys.tcp_timestamps) {
    // the options ride in the TSval's low bits; without timestamps they are lost
    const wsOk = peer.wscale >= 0 && sys.tcp_window_scaling;
    const sackOk = peer.sackPermitted && sys.tcp_sack;
    if (wsOk) o.wscale = tcpSelectInitialWscale(tcp, lp.rcvBuf, lp.rcvBufLocked);
    o.sackPermitted = sackOk;
    o.hasTimestamp = true;
    const tsOff = secureTcpTsOff(tcp.isnSecrets, dst, src, sys.tcp_timestamps);
    o.tsVal = (cookieInitTimestamp(Math.floor(now / 1000), wsOk ? Math.min(peer.wscale, 14) : -1, sackOk, ecnOk) + tsOff) | 0;
    o.tsEcr = peer.tsVal;
  }
  const f = tcp.txSeg;
  f.sport = dport;
  f.dport = sport;
  f.seq = cookie;
  f.ack = (seq + 1) | 0;
  f.flags = TCP_SYN | TCP_ACK | (ecnOk ? TCP_ECE : 0);
  f.window = Math.min(lp.rcvBuf >> 1, TCP_MAX_WINDOW);
  f.opts = o;
  f.syn = true;
  tcp.stats.outSegs++;
  tcpBuildAndSend(tcp.ip, tcp.txView, skb, f, dst, src);
}

/**
 * An ACK (options in `tcp.opts`) for listener `lp` that matches no request: when cookies may be
 * outstanding, checks it as a cookie ACK. true: it was valid and the new child took the skb (or
 * it was dropped for a full accept queue); false: not a cookie, the caller answers as before (RST)
 * and still owns the skb.
 */
export function tcpCookieCheck(
  tcp: TcpProto, lp: TcpSock, skb: SkBuff, meta: RxMeta, sport: number, dport: number, seq: number, ack: number,
  flags: number, win: number,
): boolean {
  const sys = tcp.sysctl;
  const now = tcp.sched.now();
  if (sys.tcp_syncookies === 0 || !(flags & TCP_ACK) || (flags & (TCP_SYN)) !== 0) return false;
  if (synqNoRecentOverflow(lp.synqOverflowUs, now)) return false;
  const src = meta.src;
  const dst = meta.dst;
  const mss = tcp.synCookies.check(src, dst, sport, dport, seq, ack, now);
  if (mss === 0) {
    tcp.stats.syncookiesFailed++;
    return false;
  }
  tcp.stats.syncookiesRecv++;
  const peer = tcp.opts;
  let tsecr = peer.tsEcr;
  if (peer.hasTimestamp && tsecr !== 0) tsecr = (tsecr - secureTcpTsOff(tcp.isnSecrets, dst, src, sys.tcp_timestamps)) | 0;
  if (!cookieTimestampDecode(peer.hasTimestamp, tsecr, tsDecoded, sys)) return false;
  const v4 = isV4(src);
  const oif = !v4 && isLinkLocal(src) && meta.dev !== null ? meta.dev.ifindex : 0;
  const rt = oif !== 0 ? tcp.ip.route(src, oif) : tcp.ip.route(src);
  if (rt === null) return false;
  if (lp.acceptQueue.length >= lp.backlog) {
    // Linux tcp_v4_syn_recv_sock: accept queue full → ListenOverflows, the ACK is dropped
    tcp.stats.listenDrops++;
    return true;
  }
  const child = tcpCreateChild(tcp, lp, src, dst, sport, oif, rt);
  // the SYN the cookie stands for: its MSS, and what the timestamp carried
  const o = childOpts;
  o.reset();
  o.mss = mss;
  o.wscale = tsDecoded.wscaleOk ? tsDecoded.sndWscale : -1;
  o.sackPermitted = tsDecoded.sackOk;
  o.hasTimestamp = peer.hasTimestamp;
  o.tsVal = peer.tsVal;
  tcpApplySynOptions(tcp, child, o);
  // Linux cookie_ecn_ok: ECN only when the TS cookie says the SYN-ACK agreed, and ECN is on
  child.ecnFlags = tsDecoded.ecnOk && sys.tcp_ecn !== 0 ? TCP_ECN_OK : 0;
  // our SYN-ACK (the cookie) is sent and its sequence number used
  const iss = (ack - 1) | 0;
  child.iss = iss;
  child.recover = iss;
  child.sndUna = iss;
  child.sndNxt = ack;
  child.sndMax = ack;
  child.sendBuf.reset(ack);
  child.irs = (seq - 1) | 0;
  child.rcvNxt = seq;
  child.copiedSeq = seq;
  child.rcvWup = seq;
  child.sndWnd = win;
  child.sndWl1 = child.irs;
  child.sndWl2 = iss;
  child.state = TCP_SYN_RECV;
  lp.synQueueLen++;
  tcp.ports.inherit(child, dport);
  child.portHeld = true;
  tcp.demux.insert(child);
  tcp.stats.passiveOpens++;
  // the ACK completes the handshake through the request checks (and may carry data)
  tcpRcvStateProcess(tcp, child, skb, seq, ack, flags, win);
  return true;
}
