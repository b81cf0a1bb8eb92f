/**
 * Sending on a connection (Linux tcp_output.c: tcp_transmit_skb, tcp_write_xmit,
 * tcp_xmit_size_goal): `tcpTransmit` fills the one segment builder from the control block (ports,
 * rcv_nxt, the window from `tcpSelectWindow`) and clears the pending-ACK state when the segment
 * carries an ACK; `tcpSendData` builds a segment whose payload is frags referencing the send
 * buffer; `tcpWriteXmit` sends new data as far as the peer's window and cwnd allow (Nagle, SWS
 * avoidance, TSO size goal, the FIN on the last segment).
 */
import { isV4 } from '../../inet/index.js';
import { PAGE_SIZE } from '../../mem/index.js';
import { skbFree, type SkBuff } from '../../skb/index.js';
import { seqGt } from '../../wire/seq.js';
import { TCP_ACK, TCP_FIN, TCP_PSH } from '../../wire/tcp.js';
import {
  MAX_TCP_HEADER, TCP_CLOSE_WAIT, TCP_CLOSING, TCP_ESTABLISHED, TCP_FIN_WAIT1, TCP_LAST_ACK, TCP_MAX_WINDOW, TCP_RTO_MIN,
} from '../constants.js';
import { TCP_HDR4, TCP_HDR6 } from '../icmp-err.js';
import { tcpCaXmitDone, tcpCaXmitStart } from '../input/fast-recovery.js';
import type { TcpProto } from '../proto.js';
import type { TcpSock } from '../sock.js';
import { tcpBuildAndSend } from './builder.js';
import { tcpEstablishedOptions } from './options.js';
import { tcpSelectWindow } from './window.js';

/**
 * Pushes the header of a segment of `tp` in front of `skb`'s payload and hands it to IP; takes
 * the skb. `syn`: a SYN or SYN-ACK whose options the caller put in `tcp.txOpts`, sent with the
 * unscaled initial window; any other segment carries the options the connection negotiated.
 */
export function tcpTransmit(tcp: TcpProto, tp: TcpSock, skb: SkBuff, seq: number, flags: number, syn: boolean): void {
  const f = tcp.txSeg;
  f.sport = tp.lport;
  f.dport = tp.rport;
  f.seq = seq;
  f.ack = flags & TCP_ACK ? tp.rcvNxt : 0;
  f.flags = flags;
  f.window = syn ? Math.min(tp.rcvWnd, TCP_MAX_WINDOW) : tcpSelectWindow(tp);
  f.opts = syn || tcpEstablishedOptions(tcp, tp, tcp.txOpts) ? tcp.txOpts : null;
  f.syn = syn;
  if (flags & TCP_ACK) {
    tp.ackPending = false;
    tp.unackedSegs = 0;
    if (tp.delackTimer.armed) tcp.sched.cancel(tp.delackTimer);
  }
  tp.stats.segsOut++;
  tcp.stats.outSegs++;
  tcpBuildAndSend(tcp.ip, tcp.txView, skb, f, tp.laddr, tp.raddr);
}

/** builds and sends one segment carrying [seq, seq+len) of the send buffer */
export function tcpSendData(tcp: TcpProto, tp: TcpSock, seq: number, len: number, flags: number): void {
  const skb = tcp.skbs.alloc(MAX_TCP_HEADER, MAX_TCP_HEADER);
  if (skb === null) return;
  if (len > 0) {
    const n = tp.sendBuf.attachFrags(skb, seq, len);
    if (n < len) {
      skbFree(skb);
      return;
    }
    if (len > tp.mss) skb.gsoSize = tp.mss;
    tp.stats.dataSegsOut += len > tp.mss ? Math.ceil(len / tp.mss) : 1;
    tp.stats.bytesSent += len;
  }
  tcpTransmit(tcp, tp, skb, seq, flags, false);
}

/** tcp_write_xmit: sends new data as far as the peer's window and cwnd allow */
export function tcpWriteXmit(tcp: TcpProto, tp: TcpSock, hold: boolean): void {
  const st = tp.state;
  if (st !== TCP_ESTABLISHED && st !== TCP_CLOSE_WAIT && st !== TCP_FIN_WAIT1 && st !== TCP_CLOSING && st !== TCP_LAST_ACK) return;
  const sched = tcp.sched;
  const mss = tp.mss;
  // with TSO one skb carries many MSS (tcp_xmit_size_goal)
  const dev = tp.routeDev;
  const maxLen = dev !== null && dev.tso ? tcpSizeGoal(tcp, tp, dev.gsoMaxSize) : mss;
  const segsBefore = tcpCaXmitStart(tp);
  for (;;) {
    const unsent = tp.unsent;
    if (unsent <= 0) break;
    const wndLeft = (tp.sndUna + tp.sndWnd - tp.sndNxt) | 0;
    const cwndLeft = tp.cwnd - tp.pipe;
    let len = unsent < maxLen ? unsent : maxLen;
    if (len > wndLeft) len = wndLeft;
    if (len > cwndLeft) len = cwndLeft;
    if (len <= 0) break;
    if (len > mss && len < unsent) len -= len % mss;
    if (len < mss) {
      // sender SWS avoidance / Nagle (RFC 9293 §3.8.6.2.1, Minshall-less)
      // window/cwnd-limited partial: wait for a full segment, unless it is at least half the
      // largest window the peer ever offered (a peer whose buffer is below one MSS)
      if (len < unsent && len < (tp.maxWindow >> 1)) break;
      if (hold) break;
      if (!tp.nodelay && tp.inFlight > 0) break;
    }
    const last = len === unsent;
    const withFin = last && tp.finQueued && !tp.finSent;
    tcpSendNew(tcp, tp, len, TCP_ACK | tcpPshFlag(tp, tp.sndNxt, len), withFin);
  }
  tcpCaXmitDone(tp, segsBefore);
  // data waits but nothing is in flight (window too small or zero): the probe timer
  // (Linux tcp_check_probe_timer) makes sure the connection does not stall
  // (held MSG_MORE / cork data too: Linux sends it when the probe timer fires)
  if (tp.unsent > 0 && tp.inFlight === 0 && !tp.rtoTimer.armed) {
    sched.arm(tp.rtoTimer, sched.now() + Math.max(tp.rto, TCP_RTO_MIN));
  }
  // a FIN alone once all data is out
  if (tp.finQueued && !tp.finSent && tp.unsent <= 0 && tp.sndNxt === tp.finSndSeq) {
    tcpSendNew(tcp, tp, 0, TCP_ACK, true);
  }
}

/**
 * PSH for a new-data segment [seq, seq+len): Linux puts it on the segment that ends a write
 * (tcp_mark_push at the end of sendmsg) and on every multi-segment (GSO) packet, to flush the
 * receiver's GRO (__tcp_transmit_skb); a lone MSS from inside a write goes without.
 */
export function tcpPshFlag(tp: TcpSock, seq: number, len: number): number {
  if (len <= 0) return 0;
  return len > tp.mss || ((seq + len) | 0) === tp.pushSeq ? TCP_PSH : 0;
}

/**
 * Sends `len` new bytes from snd_nxt (and our FIN after them when `withFin`) in one skb (TSO
 * when longer than the MSS), records each MSS of it in the retransmit queue, advances snd_nxt
 * and arms the retransmit timer.
 */
export function tcpSendNew(tcp: TcpProto, tp: TcpSock, len: number, flags: number, withFin: boolean): void {
  const sched = tcp.sched;
  const now = sched.now();
  const seq = tp.sndNxt;
  tcpSendData(tcp, tp, seq, len, flags | (withFin ? TCP_FIN : 0));
  const mss = tp.mss;
  const q = tp.rtx;
  let at = seq;
  let left = len;
  while (left > mss) {
    q.push(at, (at + mss) | 0, now, false);
    at = (at + mss) | 0;
    left -= mss;
  }
  q.push(at, (at + left + (withFin ? 1 : 0)) | 0, now, withFin, len > 0 && ((seq + len) | 0) === tp.pushSeq);
  tp.sndNxt = (seq + len + (withFin ? 1 : 0)) | 0;
  if (withFin) tp.finSent = true;
  if (seqGt(tp.sndNxt, tp.sndMax)) tp.sndMax = tp.sndNxt;
  if (!tp.rtoTimer.armed) sched.arm(tp.rtoTimer, now + tp.rto);
}

/**
 * Linux tcp_xmit_size_goal: the payload of one TSO skb, in whole MSS, up to the device's GSO
 * limit less the headers (sk_gso_max_size − 1 − IP − TCP header: 64 KiB − headers by default)
 * and to what the skb's frag slots hold at any page alignment ((maxFrags − 1) pages)
 */
export function tcpSizeGoal(tcp: TcpProto, tp: TcpSock, gsoMaxSize: number): number {
  const mss = tp.mss;
  let goal = gsoMaxSize - 1 - (isV4(tp.raddr) ? TCP_HDR4 : TCP_HDR6);
  const fragCap = (tcp.skbs.maxFrags - 1) * PAGE_SIZE;
  if (goal > fragCap) goal = fragCap;
  goal -= goal % mss;
  return goal > mss ? goal : mss;
}
