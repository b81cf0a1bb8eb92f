/**
 * Sending on a connection (Linux tcp_output.c: tcp_transmit_skb, tcp_write_xmit and its tests,
 * tso_fragment, tcp_grow_skb, tcp_tso_should_defer, tcp_xmit_size_goal, tcp_tso_autosize):
 * `tcpTransmit` fills the one segment builder from the control block (ports, rcv_nxt, the window
 * from `tcpSelectWindow`) and clears the pending-ACK state when the segment carries an ACK;
 * `tcpSendData` builds a segment whose payload is frags referencing the write queue;
 * `tcpWriteXmitNagle` sends the write queue's records as far as the peer's window and cwnd allow,
 * one record per packet (split where the packet ends, grown from the next record when short),
 * with Linux's cwnd quota (half the window per packet), TSO autosizing, Nagle/Minshall, cork and
 * TSO deferral; the FIN rides on the last record.
 *
 * PSH (Linux): a packet of more than one MSS always carries it (__tcp_transmit_skb, to flush
 * the receiver's GRO); a single MSS carries it when it ends a record marked by tcp_mark_push.
 * Allocation-free: records are pooled by the write queue, skbs by the host's cache.
 */
import { isV4 } from '../../inet/index.js';
import { FRAG_PAGE_SIZE } from '../../mem/index.js';
import type { OutputOptions } from '../../net/index.js';
import { skbFree, type SkBuff } from '../../skb/index.js';
import { seqGt, seqLt } from '../../wire/seq.js';
import { TCP_ACK, TCP_FIN, TCP_PSH } from '../../wire/tcp.js';
import {
  MAX_TCP_HEADER, TCP_CLOSE_WAIT, TCP_CLOSING, TCP_ESTABLISHED, TCP_FIN_WAIT1, TCP_LAST_ACK, TCP_MAX_WINDOW, TCP_RTO_MIN,
} from '../constants.js';
import { CaState } from '../cong/types.js';
import { tcpSlowStartAfterIdleCheck as cwndSlowStartAfterIdleCheck } from '../cong/cwnd.js';
import { tcpPacingRate } from '../cong/pacing.js';
import { TCP_CHRONO_UNSPEC, tcpChronoXmit } from '../chrono.js';
import { tcpEcnSend } from '../ecn.js';
import { TCP_HDR4, TCP_HDR6 } from '../icmp-err.js';
import { tcpCaXmitDone, tcpCaXmitStart } from '../input/fast-recovery.js';
import type { TcpProto } from '../proto.js';
import type { TcpSock } from '../sock.js';
import type { WqSkb } from '../write-queue/write-queue.js';
import { tcpBuildAndSend } from './builder.js';
import { tcpCurrentMss, tcpEstablishedOptions } from './options.js';
import { tcpSelectWindow } from './window.js';

/** Linux tp->nonagle bits: TCP_NODELAY, TCP_CORK / MSG_MORE, push now */
export const TCP_NAGLE_OFF = 1;
export const TCP_NAGLE_CORK = 2;
export const TCP_NAGLE_PUSH = 4;

/** Linux sk_pacing_shift: TSO packets hold about 1 ms of the pacing rate */
const SK_PACING_SHIFT = 10;
/** net.ipv4.tcp_tso_rtt_log: extra TSO budget of gso_max_size >> (min_rtt >> 9) */
const TCP_TSO_RTT_LOG = 9;
/** Linux tcp_max_tso_deferred_mss (tcp_tso_win_divisor = 0) */
const TCP_MAX_TSO_DEFERRED_MSS = 3;

/** the socket's Nagle mode (Linux tp->nonagle): TCP_CORK holds partial segments, TCP_NODELAY sends them */
export function tcpNonagle(tp: TcpSock): number {
  return (tp.cork ? TCP_NAGLE_CORK : 0) | (tp.nodelay ? TCP_NAGLE_OFF : 0) | (tp.nonaglePush ? TCP_NAGLE_PUSH : 0);
}

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
  // ECN (Linux tcp_ecn_send, non-SYN segments): ECE while we demand CWR, CWR / ECT(0) on new data
  let ipOpts: OutputOptions | null = null;
  if (tp.ecnFlags !== 0 && !syn) {
    flags |= tcpEcnSend(tcp, tp, skb.len > 0 && !seqLt(seq, tp.sndNxt));
    ipOpts = tcp.txIpOpts;
    ipOpts.tos = tcp.txEcn;
  }
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
  // SO_TIMESTAMPING: SCHED/SND stamps of a segment carrying a timestamp key (null when off)
  if (tp.txTstamp !== null && !syn && skb.len > 0) tp.txTstamp.xmit(seq, skb);
  tcpBuildAndSend(tcp.ip, tcp.txView, skb, f, tp.laddr, tp.raddr, ipOpts);
}

/**
 * builds and sends one segment carrying [seq, seq+len) of the write queue (new data or a
 * retransmission); nothing goes out when the range does not fit one skb (a hard boundary of
 * the write queue inside it: callers cut at `sendBuf.segLimit`)
 */
export function tcpSendData(tcp: TcpProto, tp: TcpSock, seq: number, len: number, flags: number): void {
  const skb = tcp.skbs.alloc(MAX_TCP_HEADER, MAX_TCP_HEADER);
  if (skb === null) return;
  if (len > 0) {
    const n = tp.sendBuf.attachFrags(skb, seq, len);
    if (n < len) {
      skbFree(skb);
      return;
    }
    const mss = tcpCurrentMss(tp);
    if (len > mss) {
      skb.gsoSize = mss;
      // Linux __tcp_transmit_skb: every GSO packet carries PSH (flushes the receiver's GRO),
      // retransmissions included
      flags |= TCP_PSH;
    }
    tp.stats.dataSegsOut += len > mss ? Math.ceil(len / mss) : 1;
    tp.stats.bytesSent += len;
  }
  tp.wstampUs = tcp.sched.now();
  tcpTransmit(tcp, tp, skb, seq, flags, false);
}

/** tcp_write_xmit with the socket's Nagle mode; `hold` (MSG_MORE, TCP_CORK) holds a partial segment */
export function tcpWriteXmit(tcp: TcpProto, tp: TcpSock, hold: boolean): void {
  tcpWriteXmitNagle(tcp, tp, hold && !tp.cork ? TCP_NAGLE_CORK : tcpNonagle(tp), false);
}

/**
 * Linux tcp_write_xmit: sends write-queue records from the send head while the congestion
 * window, the peer's window, Nagle / cork and TSO deferral allow; `pushOne` sends at most one
 * packet and never defers (tcp_push_one). Returns the packets sent.
 */
export function tcpWriteXmitNagle(tcp: TcpProto, tp: TcpSock, nonagle: number, pushOne: boolean): number {
  const st = tp.state;
  if (st !== TCP_ESTABLISHED && st !== TCP_CLOSE_WAIT && st !== TCP_FIN_WAIT1 && st !== TCP_CLOSING && st !== TCP_LAST_ACK) return 0;
  const q = tp.sendBuf;
  if (q.sendHead === null && tp.unsent <= 0 && !(tp.finQueued && !tp.finSent)) {
    // nothing to send (Linux tcp_push_pending_frames without a send head): what the full pass
    // below would do with an empty loop, and nothing else — the receive side takes this on
    // every segment it acknowledges
    if (tp.chronoType !== TCP_CHRONO_UNSPEC) tcpChronoXmit(tp, tcp.sched.now(), false);
    return 0;
  }
  const mss = tcpCurrentMss(tp);
  // TCP always builds GSO skbs (Linux sk_setup_caps forces NETIF_F_GSO for TCP): a device
  // without TSO gets them cut in software before its driver
  const dev = tp.routeDev;
  const tso = dev !== null;
  const maxSegs = tso ? tcpTsoSegs(tcp, tp, mss, dev.gsoMaxSize) : 1;
  const maxFrags = tcp.skbs.maxFrags;
  const segsBefore = tcpCaXmitStart(tp);
  let sent = 0;
  let rwndLimited = false;
  for (;;) {
    const r = q.sendHead;
    if (r === null || r.len === 0 || r.seq !== tp.sndNxt) break;
    let quota = tcpCwndTest(tp);
    if (quota === 0) break;
    if (quota > maxSegs) quota = maxSegs;
    if (tso && quota * mss > r.len) q.grow(r, quota * mss - r.len);
    const len = r.len;
    if (!tcpSndWndTest(tp, r, mss)) {
      rwndLimited = true;
      break;
    }
    const fin = tp.finQueued && !tp.finSent && r.endSeq === q.endSeq;
    if (len <= mss || !tso) {
      if (!tcpNagleTest(tp, len, mss, fin, r === q.tail ? nonagle : TCP_NAGLE_PUSH)) break;
    } else if (!pushOne && tcpTsoShouldDefer(tcp, tp, r, maxSegs, fin)) {
      break;
    }
    let limit = mss;
    if (len > mss && tso) limit = tcpMssSplitPoint(tp, r, mss, quota, nonagle);
    // one outgoing skb: no hard boundary of the queue inside, no more frags than it holds
    const fit = q.segLimit(r.seq, limit, maxFrags);
    if (fit < limit) limit = fit > mss ? fit - (fit % mss) : fit;
    if (len > limit) q.split(r, limit);
    q.advanceSendHead(r);
    tcpXmitRecord(tcp, tp, r, fin && r.endSeq === q.endSeq, mss);
    sent++;
    if (pushOne) break;
  }
  // a FIN alone once all data is out (before tcpCaXmitDone: it may schedule a loss probe)
  if (tp.finQueued && !tp.finSent && tp.unsent <= 0 && tp.sndNxt === tp.finSndSeq) {
    tcpSendNew(tcp, tp, 0, TCP_ACK, true);
  }
  tcpCaXmitDone(tp, segsBefore);
  const sched = tcp.sched;
  tcpChronoXmit(tp, sched.now(), rwndLimited);
  // data waits but nothing is in flight (window too small or zero, or Nagle / cork holds it):
  // the probe timer (Linux tcp_check_probe_timer) makes sure the connection does not stall
  if (tp.unsent > 0 && tp.inFlight === 0 && !tp.rtoTimer.armed) {
    sched.arm(tp.rtoTimer, sched.now() + Math.max(tp.rto, TCP_RTO_MIN));
  }
  return sent;
}

/** sends record `r` (already cut to the packet) and moves snd_nxt past it */
function tcpXmitRecord(tcp: TcpProto, tp: TcpSock, r: WqSkb, withFin: boolean, mss: number): void {
  const len = r.len;
  const psh = len > mss || r.psh ? TCP_PSH : 0;
  tcpXmitNew(tcp, tp, r.seq, len, TCP_ACK | psh, withFin, r.psh);
  // Linux tcp_minshall_update: the end of the last sub-MSS packet
  if (len % mss !== 0) tp.sndSml = r.endSeq;
}

/**
 * Sends `len` new bytes from snd_nxt (and our FIN after them when `withFin`) in one skb, as
 * the probe and loss-probe timers do: the range is cut at the write queue's next hard boundary;
 * PSH when `flags` asks for it (tcp_write_wakeup), on a multi-MSS skb, or when the range ends a
 * pushed record.
 */
export function tcpSendNew(tcp: TcpProto, tp: TcpSock, len: number, flags: number, withFin: boolean): void {
  const q = tp.sendBuf;
  let recPsh = false;
  if (len > 0) {
    const fit = q.segLimit(tp.sndNxt, len, tcp.skbs.maxFrags);
    if (fit < len) len = fit;
    if (len <= 0) return;
    let left = len;
    let r = q.sendHead;
    while (r !== null && left > 0 && r.seq === ((tp.sndNxt + len - left) | 0)) {
      if (r.len > left) q.split(r, left);
      left -= r.len;
      recPsh = r.psh;
      q.advanceSendHead(r);
      r = q.sendHead;
    }
    withFin = withFin && ((tp.sndNxt + len) | 0) === q.endSeq;
  }
  // a caller's PSH (tcp_write_wakeup marks the probe's skb) stays on the record for its retransmissions
  if (flags & TCP_PSH) recPsh = len > 0;
  const psh = len > tcpCurrentMss(tp) || recPsh ? TCP_PSH : 0;
  tcpXmitNew(tcp, tp, tp.sndNxt, len, flags | psh, withFin, recPsh);
}

/**
 * One new-data skb [seq, seq+len) (+FIN): transmitted, each MSS recorded in the retransmit
 * queue (`recPsh`: the last one ends a pushed record, its retransmission carries PSH), snd_nxt
 * advanced and the retransmit timer armed.
 */
function tcpXmitNew(tcp: TcpProto, tp: TcpSock, seq: number, len: number, flags: number, withFin: boolean, recPsh: boolean): void {
  const sched = tcp.sched;
  const now = sched.now();
  // Linux tcp_event_new_data_sent: the first packet out after none was in flight re-arms the
  // timer as the RTO (a pending zero-window probe timer must not fire on it)
  const idle = tp.inFlight === 0;
  tcpSendData(tcp, tp, seq, len, flags | (withFin ? TCP_FIN : 0));
  // one record per TSO packet (its MSS pieces stand for the segments; rtx-queue.ts)
  tp.rtx.pushPacket(seq, len, tcpCurrentMss(tp), now, withFin, recPsh);
  tp.sndNxt = (seq + len + (withFin ? 1 : 0)) | 0;
  if (withFin) tp.finSent = true;
  if (seqGt(tp.sndNxt, tp.sndMax)) tp.sndMax = tp.sndNxt;
  if (idle || !tp.rtoTimer.armed) sched.arm(tp.rtoTimer, now + tp.rto);
}

/**
 * Linux tcp_cwnd_test: segments cwnd allows now, at most half of it per packet so that at least
 * two GSO packets are in flight
 */
export function tcpCwndTest(tp: TcpSock): number {
  const inFlight = tp.packetsInFlight;
  const cwnd = tp.sndCwnd;
  if (inFlight >= cwnd) return 0;
  const half = Math.max(cwnd >>> 1, 1);
  return Math.min(half, cwnd - inFlight);
}

/** Linux tcp_snd_wnd_test: the record's first MSS fits the peer's window */
function tcpSndWndTest(tp: TcpSock, r: WqSkb, mss: number): boolean {
  const end = r.len > mss ? (r.seq + mss) | 0 : r.endSeq;
  return ((end - ((tp.sndUna + tp.sndWnd) | 0)) | 0) <= 0;
}

/** Linux tcp_minshall_check: a sub-MSS packet is in flight */
function tcpMinshallCheck(tp: TcpSock): boolean {
  return ((tp.sndSml - tp.sndUna) | 0) > 0 && ((tp.sndSml - tp.sndNxt) | 0) <= 0;
}

/** Linux tcp_nagle_check: a partial segment must wait (cork, or Nagle with a small one in flight) */
function tcpNagleCheck(partial: boolean, tp: TcpSock, nonagle: number): boolean {
  return partial && ((nonagle & TCP_NAGLE_CORK) !== 0 || (nonagle === 0 && tp.packetsOut > 0 && tcpMinshallCheck(tp)));
}

/** Linux tcp_nagle_test: a one-segment packet may go now */
function tcpNagleTest(tp: TcpSock, len: number, mss: number, fin: boolean, nonagle: number): boolean {
  if (nonagle & TCP_NAGLE_PUSH) return true;
  if (fin) return true;
  return !tcpNagleCheck(len < mss, tp, nonagle);
}

/**
 * Linux tcp_mss_split_point: the bytes of `r` one packet carries — `maxSegs` MSS, or up to the
 * window; a trailing partial MSS only when Nagle / cork let it go
 */
function tcpMssSplitPoint(tp: TcpSock, r: WqSkb, mss: number, maxSegs: number, nonagle: number): number {
  const window = (tp.sndUna + tp.sndWnd - r.seq) | 0;
  const maxLen = mss * maxSegs;
  if (maxLen <= window && r !== tp.sendBuf.tail) return maxLen;
  const needed = Math.min(r.len, window);
  if (maxLen <= needed) return maxLen;
  const partial = needed % mss;
  if (tcpNagleCheck(partial !== 0, tp, nonagle)) return needed - partial;
  return needed;
}

/**
 * Linux tcp_tso_should_defer: hold a TSO packet the windows cut short when an ACK is due within
 * min(1 ms, srtt/2) and the last transmission was under 1 ms ago (net.ipv4.tcp_tso_win_divisor)
 */
function tcpTsoShouldDefer(tcp: TcpProto, tp: TcpSock, r: WqSkb, maxSegs: number, fin: boolean): boolean {
  if (tp.caState >= CaState.Recovery) return false;
  const now = tcp.sched.now();
  // Linux sends now when the last transmission is more than 1 ms old; real time always moves a
  // little between two events, virtual time does not: exactly 1 ms counts as older
  if (now - tp.wstampUs - 1000 >= 0) return false;
  const mss = tp.mss;
  const inFlight = tp.packetsInFlight;
  const sendWin = (tp.sndUna + tp.sndWnd - r.seq) | 0;
  const congWin = (tp.sndCwnd - inFlight) * mss;
  const limit = Math.min(sendWin, congWin);
  if (limit >= maxSegs * mss) return false;
  if (r !== tp.sendBuf.tail && limit >= r.len) return false;
  const divisor = tcp.sysctl.tcp_tso_win_divisor;
  if (divisor > 0) {
    const chunk = Math.floor(Math.min(tp.sndWnd, tp.sndCwnd * mss) / divisor);
    if (limit >= chunk) return false;
  } else if (limit > TCP_MAX_TSO_DEFERRED_MSS * mss) {
    return false;
  }
  const head = tp.rtx.head;
  if (head === null) return false;
  const srtt = tp.srtt;
  const howFar = head.xmitUs + srtt - now;
  if (howFar - Math.min(srtt >> 1, 1000) > 0) return false;
  if (congWin < sendWin) {
    if (congWin <= r.len) return true;
  } else if (sendWin <= r.len) {
    return true;
  }
  if (fin || r.eor) return false;
  return true;
}

/**
 * Linux tcp_tso_segs / tcp_tso_autosize: MSS per TSO packet — about 1 ms at the pacing rate
 * (unlimited until the first ACK set one), more on short paths (gso_max_size >> (min_rtt >> 9)),
 * at least net.ipv4.tcp_min_tso_segs, at most the device's GSO size
 */
export function tcpTsoSegs(tcp: TcpProto, tp: TcpSock, mss: number, gsoMaxSize: number): number {
  const sys = tcp.sysctl;
  let bytes = tp.delivered > 0 ? tcpPacingRate(tp, sys.tcp_pacing_ss_ratio, sys.tcp_pacing_ca_ratio) / (1 << SK_PACING_SHIFT) : gsoMaxSize;
  const minRtt = tp.minRttUs;
  if (minRtt !== 0xffffffff) {
    const r = minRtt >>> TCP_TSO_RTT_LOG;
    if (r < 32) bytes += gsoMaxSize / 2 ** r;
  }
  if (bytes > gsoMaxSize) bytes = gsoMaxSize;
  const segs = Math.max(Math.floor(bytes / mss), sys.tcp_min_tso_segs, 1);
  // never more than the device's GSO limit carries (tcp_min_tso_segs would make two 64 KiB
  // segments at MTU 65535; Linux segments such a packet in software, our NIC model drops it)
  const cap = Math.floor((gsoMaxSize - 1 - (isV4(tp.raddr) ? TCP_HDR4 : TCP_HDR6)) / mss);
  return cap >= 1 && segs > cap ? cap : segs;
}

/**
 * Linux tcp_slow_start_after_idle_check before a new record is queued: with
 * net.ipv4.tcp_slow_start_after_idle and nothing in flight, an idle period longer than the RTO
 * restarts the window (tcp_cwnd_restart)
 */
export function tcpSlowStartAfterIdleCheck(tcp: TcpProto, tp: TcpSock): void {
  cwndSlowStartAfterIdleCheck(tp, tp.cwndUsage, tp.caOps, tcp.sysctl.tcp_slow_start_after_idle);
}

/**
 * Linux tcp_xmit_size_goal: the payload of one TSO skb, in whole MSS, up to the device's GSO
 * limit less the headers (sk_gso_max_size − 1 − IP − TCP header: 64 KiB − headers by default)
 * and to what the skb's frag slots hold at any alignment of the socket's 32 KiB frag pages
 * ((maxFrags − 1) × FRAG_PAGE_SIZE). A record built from 4 KiB pages (the order-0 fallback, pinned
 * user pages, net_iovs) ends earlier, when its frag slots are full (the write queue starts the
 * next record then, as tcp_sendmsg at sysctl_max_skb_frags).
 */
export function tcpSizeGoal(tcp: TcpProto, tp: TcpSock, gsoMaxSize: number): number {
  const mss = tp.mss;
  let goal = gsoMaxSize - 1 - (isV4(tp.raddr) ? TCP_HDR4 : TCP_HDR6);
  const fragCap = (tcp.skbs.maxFrags - 1) * FRAG_PAGE_SIZE;
  if (goal > fragCap) goal = fragCap;
  goal -= goal % mss;
  return goal > mss ? goal : mss;
}
